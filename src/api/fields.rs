//! Request-body validation with Django REST Framework's semantics and messages.
//!
//! Each accessor reads one field of a JSON object and returns `None` when the field is to be
//! left as it is (absent in a PATCH), or `Some(value)`; absent fields of a POST/PUT yield their
//! default. Problems are collected per field so one response reports all of them.

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldErrors};

pub const REQUIRED: &str = "This field is required.";
pub const NOT_NULL: &str = "This field may not be null.";

pub struct Validator<'a> {
    body: &'a Map<String, Value>,
    partial: bool,
    errors: FieldErrors,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl<'a> Validator<'a> {
    /// `partial` is PATCH: absent fields stay as they are and nothing is required.
    pub fn new(body: &'a Map<String, Value>, partial: bool) -> Self {
        Validator {
            body,
            partial,
            errors: FieldErrors::new(),
        }
    }

    pub fn error(&mut self, field: &str, msg: impl Into<String>) {
        self.errors
            .entry(field.to_string())
            .or_default()
            .push(msg.into());
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }

    pub fn present(&self, field: &str) -> bool {
        self.body.contains_key(field)
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    /// Resolves presence: `Err(default)` means "use this", `Ok(v)` means a non-null value to check.
    fn raw(
        &mut self,
        field: &str,
        required: bool,
        nullable: bool,
    ) -> Result<&'a Value, Option<()>> {
        match self.body.get(field) {
            None if self.partial => Err(None),
            None if required => {
                self.error(field, REQUIRED);
                Err(None)
            }
            None => Err(Some(())),
            Some(Value::Null) if nullable => Err(Some(())),
            Some(Value::Null) => {
                self.error(field, NOT_NULL);
                Err(None)
            }
            Some(v) => Ok(v),
        }
    }

    /// A string of at most `max_len` characters; blank becomes NULL for nullable fields
    /// (how DRF treats `allow_blank` + `allow_null` model fields in practice).
    pub fn text(&mut self, field: &str, required: bool, max_len: usize) -> Option<Option<String>> {
        let v = match self.raw(field, required, !required) {
            Ok(v) => v,
            Err(Some(())) => return Some(None),
            Err(None) => return None,
        };
        let s = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                self.error(field, "Not a valid string.");
                return None;
            }
        };
        if s.chars().count() > max_len {
            self.error(
                field,
                format!("Ensure this field has no more than {max_len} characters."),
            );
            return None;
        }
        if s.is_empty() {
            if required {
                self.error(field, "This field may not be blank.");
                return None;
            }
            return Some(None);
        }
        Some(Some(s))
    }

    /// A required, non-blank string.
    pub fn required_text(&mut self, field: &str, max_len: usize) -> Option<String> {
        self.text(field, true, max_len).flatten()
    }

    /// An integer (DRF accepts integral numbers and numeric strings).
    pub fn int(&mut self, field: &str, required: bool, min: Option<i64>) -> Option<Option<i64>> {
        let v = match self.raw(field, required, !required) {
            Ok(v) => v,
            Err(Some(())) => return Some(None),
            Err(None) => return None,
        };
        let parsed = match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let Some(i) = parsed else {
            self.error(field, "A valid integer is required.");
            return None;
        };
        if let Some(min) = min.filter(|m| i < *m) {
            self.error(
                field,
                format!("Ensure this value is greater than or equal to {min}."),
            );
            return None;
        }
        Some(Some(i))
    }

    /// A primary key of a related object (type checked here; existence checked by the caller).
    pub fn pk(&mut self, field: &str, required: bool) -> Option<Option<i64>> {
        let v = match self.raw(field, required, !required) {
            Ok(v) => v,
            Err(Some(())) => return Some(None),
            Err(None) => return None,
        };
        let parsed = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(i) => Some(Some(i)),
            None => {
                let msg = match v {
                    Value::String(s) => format!("Invalid pk \"{s}\" - object does not exist."),
                    other => format!(
                        "Incorrect type. Expected pk value, received {}.",
                        type_name(other)
                    ),
                };
                self.error(field, msg);
                None
            }
        }
    }

    pub fn bool(&mut self, field: &str, default: bool) -> Option<bool> {
        let v = match self.raw(field, false, false) {
            Ok(v) => v,
            Err(Some(())) => return Some(default),
            Err(None) => return None,
        };
        let parsed = match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            Value::String(s) => parse_bool(s),
            _ => None,
        };
        if parsed.is_none() {
            self.error(field, "Must be a valid boolean.");
        }
        parsed
    }

    /// A decimal given as a JSON number or string, within `[min, max]` and with at most
    /// `places` decimal places; returned as its canonical decimal string.
    pub fn decimal(
        &mut self,
        field: &str,
        min: f64,
        max: f64,
        places: usize,
    ) -> Option<Option<String>> {
        let v = match self.raw(field, false, true) {
            Ok(v) => v,
            Err(Some(())) => return Some(None),
            Err(None) => return None,
        };
        let text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) if s.trim().is_empty() => return Some(None),
            Value::String(s) => s.trim().to_string(),
            _ => {
                self.error(field, "A valid number is required.");
                return None;
            }
        };
        match canonical_decimal(&text) {
            None => {
                self.error(field, "A valid number is required.");
                None
            }
            Some((canon, value, decimals)) => {
                if decimals > places {
                    self.error(
                        field,
                        format!("Ensure that there are no more than {places} decimal places."),
                    );
                    None
                } else if value < min {
                    self.error(
                        field,
                        format!("Ensure this value is greater than or equal to {min}."),
                    );
                    None
                } else if value > max {
                    self.error(
                        field,
                        format!("Ensure this value is less than or equal to {max}."),
                    );
                    None
                } else {
                    Some(Some(canon))
                }
            }
        }
    }

    /// Any JSON value of the given shape (e.g. a settings object).
    pub fn json_object(&mut self, field: &str) -> Option<Option<&'a Map<String, Value>>> {
        let v = match self.raw(field, false, true) {
            Ok(v) => v,
            Err(Some(())) => return Some(None),
            Err(None) => return None,
        };
        match v {
            Value::Object(m) => Some(Some(m)),
            other => {
                self.error(
                    field,
                    format!(
                        "Expected a dictionary of items but got type \"{}\".",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }
}

/// DRF's BooleanField vocabulary.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "True" | "TRUE" | "1" | "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "on"
        | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "0" | "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "off"
        | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Parses a plain decimal (`-122.3321`, `47`, `1e2` refused) into (canonical text, value,
/// decimal places). Canonical keeps the given places and drops a leading `+` and extra zeros.
pub fn canonical_decimal(s: &str) -> Option<(String, f64, usize)> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || int_part.len() > 15
    {
        return None;
    }
    let int_trim = int_part.trim_start_matches('0');
    let int_canon = if int_trim.is_empty() { "0" } else { int_trim };
    let mut canon = String::with_capacity(s.len() + 1);
    let is_zero = int_canon == "0" && frac_part.bytes().all(|b| b == b'0');
    if neg && !is_zero {
        canon.push('-');
    }
    canon.push_str(int_canon);
    if !frac_part.is_empty() {
        canon.push('.');
        canon.push_str(frac_part);
    }
    let value: f64 = canon.parse().ok()?;
    Some((canon, value, frac_part.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn decimals_are_canonical_and_bounded() {
        assert_eq!(canonical_decimal("-074.0060").unwrap().0, "-74.0060");
        assert_eq!(canonical_decimal("+47.6062").unwrap().0, "47.6062");
        assert_eq!(canonical_decimal("-0.000").unwrap().0, "0.000");
        assert!(canonical_decimal("1e5").is_none());
        assert!(canonical_decimal("abc").is_none());
        assert!(canonical_decimal(".").is_none());
        let body = obj(json!({"latitude": "91", "longitude": -74.006}));
        let mut v = Validator::new(&body, false);
        assert_eq!(v.decimal("latitude", -90.0, 90.0, 10), None);
        assert_eq!(
            v.decimal("longitude", -180.0, 180.0, 10),
            Some(Some("-74.006".into()))
        );
        assert!(v.has_error("latitude"));
    }

    #[test]
    fn required_null_blank_and_types() {
        let body = obj(json!({"name": "", "type": "x", "flag": "maybe", "n": 1.5, "org": null}));
        let mut v = Validator::new(&body, false);
        assert_eq!(v.required_text("name", 10), None);
        assert_eq!(v.pk("type", true), None);
        assert_eq!(v.bool("flag", false), None);
        assert_eq!(v.int("n", false, None), None);
        assert_eq!(v.pk("org", true), None);
        assert_eq!(v.required_text("missing", 10), None);
        let Err(ApiError::Validation(errs)) = v.finish() else {
            panic!("expected errors")
        };
        assert_eq!(errs["name"], vec!["This field may not be blank."]);
        assert_eq!(
            errs["type"],
            vec!["Invalid pk \"x\" - object does not exist."]
        );
        assert_eq!(errs["flag"], vec!["Must be a valid boolean."]);
        assert_eq!(errs["n"], vec!["A valid integer is required."]);
        assert_eq!(errs["org"], vec![NOT_NULL]);
        assert_eq!(errs["missing"], vec![REQUIRED]);
    }

    #[test]
    fn partial_leaves_absent_fields_alone() {
        let body = obj(json!({"debug": "true"}));
        let mut v = Validator::new(&body, true);
        assert_eq!(v.required_text("name", 10), None);
        assert_eq!(v.bool("debug", false), Some(true));
        assert_eq!(v.bool("reboot", false), None);
        assert!(v.finish().is_ok());
        let mut v = Validator::new(&body, false);
        assert_eq!(v.bool("reboot", false), Some(false));
        assert_eq!(v.text("description", false, 10), Some(None));
    }
}
