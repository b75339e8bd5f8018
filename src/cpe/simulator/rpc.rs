//! How the simulated CPE answers the ACS's requests.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::{Effect, FaultRule, Matcher, State};
use crate::cpe::datamodel::{Node, XsdType};
use crate::cwmp::{
    Body, Fault, ParameterAttributeStruct, ParameterInfo, ParameterValue, SetParameterValuesFault,
};

/// The standard FaultString of a CWMP fault code.
pub fn fault_string(code: u32) -> &'static str {
    match code {
        9000 => "Method not supported",
        9001 => "Request denied",
        9002 => "Internal error",
        9003 => "Invalid arguments",
        9004 => "Resources exceeded",
        9005 => "Invalid parameter name",
        9006 => "Invalid parameter type",
        9007 => "Invalid parameter value",
        9008 => "Attempt to set a non-writable parameter",
        9009 => "Notification request rejected",
        9010 => "Download failure",
        9011 => "Upload failure",
        9012 => "File transfer server authentication failure",
        9013 => "Unsupported protocol for file transfer",
        9014 => "Download failure: unable to join multicast group",
        9015 => "Download failure: unable to contact file server",
        9016 => "Download failure: unable to access file",
        9017 => "Download failure: unable to complete download",
        9018 => "Download failure: file corrupted",
        9019 => "Download failure: file authentication failure",
        _ => "Vendor fault",
    }
}

pub(crate) fn fault(code: u32) -> Body {
    Body::Fault(Fault::new(code, fault_string(code)))
}

fn fault_msg(code: u32, detail: impl AsRef<str>) -> Body {
    Body::Fault(Fault::new(
        code,
        format!("{}: {}", fault_string(code), detail.as_ref()),
    ))
}

/// Methods the simulator implements (GetRPCMethodsResponse).
pub const RPC_METHODS: [&str; 13] = [
    "GetRPCMethods",
    "SetParameterValues",
    "GetParameterValues",
    "GetParameterNames",
    "SetParameterAttributes",
    "GetParameterAttributes",
    "AddObject",
    "DeleteObject",
    "Reboot",
    "Download",
    "Upload",
    "FactoryReset",
    "ScheduleInform",
];

/// Parameter and object names a request refers to (for fault injection).
fn request_names(req: &Body) -> Vec<&str> {
    match req {
        Body::GetParameterValues(n) | Body::GetParameterAttributes(n) => {
            n.iter().map(String::as_str).collect()
        }
        Body::SetParameterValues { list, .. } => list.iter().map(|p| p.name.as_str()).collect(),
        Body::SetParameterAttributes(l) => l.iter().map(|p| p.name.as_str()).collect(),
        Body::GetParameterNames { path, .. } => vec![path.as_str()],
        Body::AddObject { object_name, .. } | Body::DeleteObject { object_name, .. } => {
            vec![object_name.as_str()]
        }
        _ => Vec::new(),
    }
}

impl Matcher {
    /// Does a request name (maybe a partial path) concern this parameter matcher?
    fn covers(pattern: &str, name: &str) -> bool {
        name == pattern
            || (pattern.ends_with('.') && name.starts_with(pattern))
            || (name.ends_with('.') && pattern.starts_with(name))
            || name.is_empty()
    }
}

impl State {
    /// The injected fault for `req`, if a rule fires (consuming one use): either a whole-request
    /// fault, or per-parameter SetParameterValues faults.
    fn injected(&mut self, req: &Body) -> Option<Injected> {
        let method = req.method_name();
        let names = request_names(req);
        let idx = self.faults.iter().position(|r| match &r.matcher {
            Matcher::Any => true,
            Matcher::Method(m) => m == method,
            Matcher::Param(p) => names.iter().any(|n| Matcher::covers(p, n)),
        })?;
        let rule: FaultRule = self.faults[idx].clone();
        if let Some(n) = &mut self.faults[idx].remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.faults.remove(idx);
            }
        }
        match (&rule.matcher, req) {
            (Matcher::Param(p), Body::SetParameterValues { list, .. }) => Some(Injected::Params(
                list.iter()
                    .filter(|v| Matcher::covers(p, &v.name))
                    .map(|v| (v.name.clone(), rule.code))
                    .collect(),
            )),
            _ => Some(Injected::Whole(rule.code)),
        }
    }

    pub(crate) fn answer(&mut self, req: &Body) -> Body {
        let mut param_faults = Vec::new();
        match self.injected(req) {
            Some(Injected::Whole(code)) => return fault(code),
            Some(Injected::Params(p)) => param_faults = p,
            None => {}
        }
        match req {
            Body::GetParameterValues(names) => self.gpv(names),
            Body::SetParameterValues {
                list,
                parameter_key,
            } => self.spv(list, parameter_key, param_faults),
            Body::GetParameterNames { path, next_level } => self.gpn(path, *next_level),
            Body::GetParameterAttributes(names) => self.gpa(names),
            Body::SetParameterAttributes(list) => {
                let mut resolved = Vec::new();
                for s in list {
                    let Some(names) = self.resolve_params(&s.name) else {
                        return fault_msg(9005, &s.name);
                    };
                    if s.notification_change && !(0..=6).contains(&s.notification) {
                        return fault_msg(9003, format!("Notification {}", s.notification));
                    }
                    resolved.push((names, s));
                }
                for (names, s) in resolved {
                    for n in names {
                        let a = self.attrs.entry(n).or_default();
                        if s.notification_change {
                            a.notification = s.notification;
                        }
                        if s.access_list_change {
                            a.access_list = s.access_list.clone();
                        }
                    }
                }
                self.attrs
                    .retain(|_, a| a.notification != 0 || !a.access_list.is_empty());
                Body::SetParameterAttributesResponse
            }
            Body::AddObject {
                object_name,
                parameter_key,
            } => {
                let ok = object_name.ends_with('.')
                    && self.tree.get(object_name).is_some_and(|n| n.writable);
                if !ok {
                    return fault_msg(9005, object_name);
                }
                let n = self.tree.add_instance(object_name);
                self.set_parameter_key(parameter_key);
                Body::AddObjectResponse {
                    instance_number: n,
                    status: 0,
                }
            }
            Body::DeleteObject {
                object_name,
                parameter_key,
            } => {
                let trimmed = object_name.trim_end_matches('.');
                let table_writable = trimmed
                    .rsplit_once('.')
                    .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|(t, _)| self.tree.get(&format!("{t}.")))
                    .is_some_and(|n| n.writable);
                if !object_name.ends_with('.')
                    || !self.tree.contains(object_name)
                    || !table_writable
                {
                    return fault_msg(9005, object_name);
                }
                self.tree.delete_instance(object_name);
                self.attrs
                    .retain(|k, _| !k.starts_with(object_name.as_str()));
                self.set_parameter_key(parameter_key);
                Body::DeleteObjectResponse { status: 0 }
            }
            Body::Reboot { command_key } => {
                self.effects.push(Effect::Reboot(command_key.clone()));
                Body::RebootResponse
            }
            Body::FactoryReset => {
                self.effects.push(Effect::FactoryReset);
                Body::FactoryResetResponse
            }
            Body::Download(d) => {
                let scheme = url::Url::parse(&d.url).map(|u| u.scheme().to_string());
                match scheme.as_deref() {
                    Ok("http") => {}
                    Ok(s) => return fault_msg(9013, s),
                    Err(e) => return fault_msg(9003, format!("URL {:?}: {e}", d.url)),
                }
                self.effects.push(Effect::Download(d.clone()));
                Body::DownloadResponse {
                    status: 1,
                    start_time: None,
                    complete_time: None,
                }
            }
            Body::Upload(u) => {
                let scheme = url::Url::parse(&u.url).map(|u| u.scheme().to_string());
                match scheme.as_deref() {
                    Ok("http") => {}
                    Ok(s) => return fault_msg(9013, s),
                    Err(e) => return fault_msg(9003, format!("URL {:?}: {e}", u.url)),
                }
                self.effects.push(Effect::Upload(u.clone()));
                Body::UploadResponse {
                    status: 1,
                    start_time: None,
                    complete_time: None,
                }
            }
            Body::ScheduleInform {
                delay_seconds,
                command_key,
            } => {
                if *delay_seconds == 0 {
                    return fault_msg(9003, "DelaySeconds must be greater than 0");
                }
                self.scheduled.push((
                    Instant::now() + Duration::from_secs(u64::from(*delay_seconds)),
                    command_key.clone(),
                ));
                Body::ScheduleInformResponse
            }
            Body::GetRPCMethods => {
                Body::GetRPCMethodsResponse(RPC_METHODS.iter().map(|s| s.to_string()).collect())
            }
            other => fault_msg(9000, other.method_name()),
        }
    }

    fn set_parameter_key(&mut self, key: &str) {
        let name = format!("{}ManagementServer.ParameterKey", self.tree.root());
        if self.tree.contains(&name) {
            self.tree.set_value(&name, key);
        }
    }

    /// The parameter value as the device reports it now (live UpTime).
    pub(crate) fn report(&self, name: &str, node: &Node) -> ParameterValue {
        let value = if name.len() == self.tree.root().len() + "DeviceInfo.UpTime".len()
            && name.ends_with("DeviceInfo.UpTime")
            && name.starts_with(self.tree.root())
        {
            self.boot.elapsed().as_secs().to_string()
        } else {
            node.value.to_string()
        };
        ParameterValue::typed(name, value, node.xsd_type.as_str())
    }

    /// Parameters named by a name or partial path (`""` = all); `None` when unknown.
    fn resolve_params(&self, name: &str) -> Option<Vec<String>> {
        if name.is_empty() || name.ends_with('.') {
            if !name.is_empty() && !self.tree.contains(name) {
                return None;
            }
            Some(
                self.tree
                    .prefixed(name)
                    .into_iter()
                    .filter(|(k, _)| !k.ends_with('.'))
                    .map(|(k, _)| k)
                    .collect(),
            )
        } else {
            self.tree.contains(name).then(|| vec![name.to_string()])
        }
    }

    fn gpv(&self, names: &[String]) -> Body {
        let mut out = Vec::new();
        for n in names {
            if n.is_empty() || n.ends_with('.') {
                if !n.is_empty() && !self.tree.contains(n) {
                    return fault_msg(9005, n);
                }
                for (k, node) in self.tree.prefixed(n) {
                    if !k.ends_with('.') {
                        out.push(self.report(&k, &node));
                    }
                }
            } else {
                match self.tree.get(n) {
                    Some(node) => out.push(self.report(n, node)),
                    None => return fault_msg(9005, n),
                }
            }
        }
        Body::GetParameterValuesResponse(out)
    }

    fn spv(&mut self, list: &[ParameterValue], key: &str, injected: Vec<(String, u32)>) -> Body {
        let mut seen = HashSet::new();
        for p in list {
            if !seen.insert(p.name.as_str()) {
                return fault_msg(9003, format!("{} appears more than once", p.name));
            }
        }
        let mut faults: Vec<SetParameterValuesFault> = Vec::new();
        let mut push = |name: &str, code: u32| {
            faults.push(SetParameterValuesFault {
                parameter_name: name.to_string(),
                fault_code: code,
                fault_string: fault_string(code).to_string(),
            })
        };
        for p in list {
            let code = match self.tree.get(&p.name) {
                _ if p.name.ends_with('.') || p.name.is_empty() => Some(9005),
                None => Some(9005),
                Some(node) if !node.writable => Some(9008),
                Some(node) => {
                    let given = p.xsd_type.as_deref().map(XsdType::parse);
                    match given {
                        Some(t) if self.strict_types && t != node.xsd_type => Some(9006),
                        _ if !node.xsd_type.accepts(&p.value) => Some(9007),
                        _ => None,
                    }
                }
            };
            let code =
                code.or_else(|| injected.iter().find(|(n, _)| *n == p.name).map(|(_, c)| *c));
            if let Some(code) = code {
                push(&p.name, code);
            }
        }
        if !faults.is_empty() {
            let mut f = Fault::new(9003, fault_string(9003));
            f.set_parameter_values_faults = faults;
            return Body::Fault(f);
        }
        for p in list {
            self.tree.set_value(&p.name, &p.value);
        }
        self.set_parameter_key(key);
        Body::SetParameterValuesResponse { status: 0 }
    }

    fn gpn(&self, path: &str, next_level: bool) -> Body {
        let info = |name: &str, node: &Node| ParameterInfo {
            name: name.to_string(),
            writable: node.writable,
        };
        if path.is_empty() {
            let root = self.tree.root();
            if next_level {
                let node = self.tree.get(root).cloned().unwrap_or_default();
                return Body::GetParameterNamesResponse(vec![info(root, &node)]);
            }
            return Body::GetParameterNamesResponse(
                self.tree
                    .prefixed("")
                    .iter()
                    .map(|(k, n)| info(k, n))
                    .collect(),
            );
        }
        let Some(node) = self.tree.get(path) else {
            return fault_msg(9005, path);
        };
        if !path.ends_with('.') {
            if next_level {
                return fault_msg(9003, "NextLevel must be false for a parameter");
            }
            return Body::GetParameterNamesResponse(vec![info(path, node)]);
        }
        let all = self.tree.prefixed(path);
        let list = all
            .iter()
            .filter(|(k, _)| {
                if !next_level {
                    return true;
                }
                let rel = &k[path.len()..];
                !rel.is_empty() && !rel.trim_end_matches('.').contains('.')
            })
            .map(|(k, n)| info(k, n))
            .collect();
        Body::GetParameterNamesResponse(list)
    }

    fn gpa(&self, names: &[String]) -> Body {
        let mut out = Vec::new();
        for n in names {
            let Some(params) = self.resolve_params(n) else {
                return fault_msg(9005, n);
            };
            for p in params {
                let a = self.attrs.get(&p).cloned().unwrap_or_default();
                out.push(ParameterAttributeStruct {
                    name: p,
                    notification: a.notification,
                    access_list: a.access_list,
                });
            }
        }
        Body::GetParameterAttributesResponse(out)
    }
}

enum Injected {
    Whole(u32),
    Params(Vec<(String, u32)>),
}
