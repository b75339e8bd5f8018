//! Setting groups: named maps of parameter path to desired value, defaulted on the device type
//! and overridden per device. Pure: parsing, validation, merging, hashing, typing.
//!
//! JSON shape, on a device type or a device:
//! `{"wifi_config": {"InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID": "Office",
//!   "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Enable": true,
//!   "InternetGatewayDevice.ManagementServer.PeriodicInformInterval": {"value": 300, "type": "xsd:unsignedInt"}}}`.
//! A device's group replaces nothing wholesale: its parameters override the type's one by one,
//! and `null` removes a parameter (or, for a whole group, the group) inherited from the type.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One desired parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: String,
    pub value: String,
    /// Explicit `xsd:` type, or the one inferred from the JSON value.
    pub xsd_type: Option<String>,
    pub explicit_type: bool,
}

/// The effective settings of a device: group name to its parameters, sorted by name.
pub type Groups = BTreeMap<String, Vec<Setting>>;

const XSD_TYPES: [&str; 8] = [
    "xsd:string",
    "xsd:int",
    "xsd:unsignedInt",
    "xsd:long",
    "xsd:unsignedLong",
    "xsd:boolean",
    "xsd:dateTime",
    "xsd:base64",
];

fn valid_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_path(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && !s.ends_with('.')
        && !s.starts_with('.')
        && !s.contains("..")
        && !s.contains('*')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Checks a settings document; returns messages for a 400 (empty when valid).
pub fn validate(doc: &Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    for (group, params) in doc {
        if !valid_group_name(group) {
            errors.push(format!(
                "\"{group}\" is not a valid group name (letters, digits, '_' and '-', at most 64)."
            ));
            continue;
        }
        let params = match params {
            Value::Null => continue,
            Value::Object(p) => p,
            _ => {
                errors.push(format!(
                    "Group \"{group}\" must be an object of parameter paths to values."
                ));
                continue;
            }
        };
        for (path, v) in params {
            if !valid_path(path) {
                errors.push(format!(
                    "\"{path}\" in group \"{group}\" is not a valid parameter path."
                ));
                continue;
            }
            let (value, ty) = match v {
                Value::Object(o) => {
                    let unknown: Vec<&String> =
                        o.keys().filter(|k| *k != "value" && *k != "type").collect();
                    if !unknown.is_empty() || !o.contains_key("value") {
                        errors.push(format!("\"{path}\": an object needs \"value\" and optionally \"type\", nothing else."));
                        continue;
                    }
                    (&o["value"], o.get("type"))
                }
                other => (other, None),
            };
            if !matches!(
                value,
                Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
            ) {
                errors.push(format!(
                    "\"{path}\": the value must be a string, number, boolean or null."
                ));
            }
            if let Some(t) = ty {
                match t.as_str() {
                    Some(t) if XSD_TYPES.contains(&t) => {
                        if let Some(msg) = check_typed(path, value, t) {
                            errors.push(msg);
                        }
                    }
                    _ => errors.push(format!(
                        "\"{path}\": type must be one of {}.",
                        XSD_TYPES.join(", ")
                    )),
                }
            }
        }
    }
    errors
}

fn check_typed(path: &str, value: &Value, ty: &str) -> Option<String> {
    let text = scalar_text(value)?;
    let ok = match ty {
        "xsd:int" | "xsd:long" => text.parse::<i64>().is_ok(),
        "xsd:unsignedInt" | "xsd:unsignedLong" => text.parse::<u64>().is_ok(),
        "xsd:boolean" => matches!(text.as_str(), "true" | "false" | "1" | "0"),
        _ => true,
    };
    (!ok).then(|| format!("\"{path}\": {text:?} is not a valid {ty}."))
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn inferred_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::Bool(_) => Some("xsd:boolean"),
        Value::Number(n) if n.as_u64().is_some() => Some("xsd:unsignedInt"),
        Value::Number(n) if n.as_i64().is_some() => Some("xsd:int"),
        Value::Number(_) | Value::String(_) => Some("xsd:string"),
        _ => None,
    }
}

fn setting(name: &str, v: &Value) -> Option<Setting> {
    let (value, ty) = match v {
        Value::Object(o) => (o.get("value")?, o.get("type").and_then(Value::as_str)),
        other => (other, None),
    };
    let text = scalar_text(value)?;
    Some(Setting {
        name: name.to_string(),
        value: text,
        xsd_type: ty
            .map(str::to_string)
            .or_else(|| inferred_type(value).map(str::to_string)),
        explicit_type: ty.is_some(),
    })
}

/// Merges a type's settings and a device's overrides into the effective groups. Invalid JSON
/// (which validation keeps out) counts as empty.
pub fn effective(type_settings: &str, device_settings: &str) -> Groups {
    let parse = |s: &str| serde_json::from_str::<Map<String, Value>>(s).unwrap_or_default();
    let (base, over) = (parse(type_settings), parse(device_settings));
    let mut merged: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for (g, params) in base {
        if let Value::Object(p) = params {
            merged.insert(g, p.into_iter().collect());
        }
    }
    for (g, params) in over {
        match params {
            Value::Null => {
                merged.remove(&g);
            }
            Value::Object(p) => {
                let entry = merged.entry(g).or_default();
                for (name, v) in p {
                    if v.is_null() {
                        entry.remove(&name);
                    } else {
                        entry.insert(name, v);
                    }
                }
            }
            _ => {}
        }
    }
    merged
        .into_iter()
        .map(|(g, params)| {
            (
                g,
                params
                    .iter()
                    .filter_map(|(n, v)| setting(n, v))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

/// The effective settings as JSON (for the API).
pub fn to_json(groups: &Groups) -> Value {
    let mut out = Map::new();
    for (g, params) in groups {
        let mut m = Map::new();
        for s in params {
            m.insert(
                s.name.clone(),
                serde_json::json!({ "value": s.value, "type": s.xsd_type }),
            );
        }
        out.insert(g.clone(), Value::Object(m));
    }
    Value::Object(out)
}

/// Parameters whose values are secrets (passwords, keys): the ACS sends them but never stores
/// or shows them.
pub fn is_secret(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    ["password", "passphrase", "presharedkey", "wepkey", "secret"]
        .iter()
        .any(|k| last.contains(k))
}

/// Identifies a group's desired values: what a confirmation is recorded against.
pub fn hash(params: &[Setting]) -> String {
    let mut h = Sha256::new();
    for s in params {
        h.update(s.name.as_bytes());
        h.update([0]);
        h.update(s.value.as_bytes());
        h.update([1]);
    }
    hex::encode(&h.finalize()[..12])
}

/// The type to send a value with: what the CPE reported for it, else the explicit or inferred one.
pub fn wire_type(s: &Setting, reported: Option<&str>) -> String {
    if s.explicit_type {
        return s.xsd_type.clone().unwrap_or_else(|| "xsd:string".into());
    }
    reported
        .map(str::to_string)
        .or_else(|| s.xsd_type.clone())
        .unwrap_or_else(|| "xsd:string".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn validates() {
        assert!(validate(&obj(json!({"wifi": {"A.B.SSID": "x", "A.B.Enable": true, "A.B.N": {"value": 5, "type": "xsd:unsignedInt"}}}))).is_empty());
        let e = validate(&obj(json!({
            "bad name!": {},
            "g": {"A..B": 1, "A.B.": 1, "A.*.C": 1, "A.B": [1], "A.C": {"value": "x", "type": "xsd:unsignedInt"}, "A.D": {"type": "xsd:string"}},
            "h": 5
        })));
        assert_eq!(e.len(), 8, "{e:?}");
    }

    #[test]
    fn merges_and_hashes() {
        let t = r#"{"wifi": {"X.SSID": "Type", "X.Enable": true}, "pf": {"Y.Port": 80}}"#;
        let d = r#"{"wifi": {"X.SSID": "Mine", "X.Enable": null}, "pf": null, "extra": {"Z.V": {"value": "7", "type": "xsd:int"}}}"#;
        let g = effective(t, d);
        assert_eq!(g.keys().collect::<Vec<_>>(), ["extra", "wifi"]);
        assert_eq!(
            g["wifi"],
            vec![Setting {
                name: "X.SSID".into(),
                value: "Mine".into(),
                xsd_type: Some("xsd:string".into()),
                explicit_type: false
            }]
        );
        assert_eq!(g["extra"][0].xsd_type.as_deref(), Some("xsd:int"));
        let only_type = effective(t, "{}");
        assert_eq!(only_type["pf"][0].value, "80");
        assert_eq!(
            only_type["pf"][0].xsd_type.as_deref(),
            Some("xsd:unsignedInt")
        );
        assert_eq!(only_type["wifi"][0].value, "true");
        assert_ne!(hash(&g["wifi"]), hash(&only_type["wifi"]));
        assert_eq!(hash(&g["wifi"]), hash(&effective(t, d)["wifi"]));
        // A reported type wins over an inferred one, never over an explicit one.
        assert_eq!(wire_type(&only_type["pf"][0], Some("xsd:int")), "xsd:int");
        assert_eq!(wire_type(&g["extra"][0], Some("xsd:string")), "xsd:int");
    }
}
