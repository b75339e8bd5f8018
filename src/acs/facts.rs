//! What a device's reports say about it: identity, versions and management settings read from
//! an Inform or a GetParameterValuesResponse, in either data model (TR-098
//! `InternetGatewayDevice.` or TR-181 `Device.`). Pure: no I/O.

use sha2::{Digest, Sha256};

use crate::cwmp::{Inform, ParameterValue};
use crate::store::{InformWrite, ParamWrite};

pub const TR098: &str = "InternetGatewayDevice.";
pub const TR181: &str = "Device.";

/// The management parameters ferroacs keeps in the inventory, relative to the data model root.
pub const MANAGED: [&str; 4] = [
    "DeviceInfo.SoftwareVersion",
    "DeviceInfo.HardwareVersion",
    "ManagementServer.ConnectionRequestURL",
    "ManagementServer.PeriodicInformInterval",
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// `InternetGatewayDevice.` or `Device.` when the names tell.
    pub data_model: Option<&'static str>,
    pub software_version: Option<String>,
    pub hardware_version: Option<String>,
    pub connection_request_url: Option<String>,
    pub periodic_inform_interval: Option<i64>,
    /// Reported values, duplicates removed (the last one wins), in first-seen order.
    pub params: Vec<ParameterValue>,
}

/// The data model root of a parameter name, if it is one of the two.
pub fn root_of(name: &str) -> Option<&'static str> {
    if name.starts_with(TR098) {
        Some(TR098)
    } else if name.starts_with(TR181) {
        Some(TR181)
    } else {
        None
    }
}

/// Reads the managed parameters out of a list of values.
pub fn from_params(list: &[ParameterValue]) -> Facts {
    let mut facts = Facts::default();
    let mut index = std::collections::HashMap::with_capacity(list.len());
    for p in list {
        let name = p.name.trim();
        if name.is_empty() {
            continue;
        }
        match index.get(name) {
            Some(&i) => facts.params[i] = p.clone(),
            None => {
                index.insert(name.to_string(), facts.params.len());
                facts.params.push(p.clone());
            }
        }
    }
    for p in &facts.params {
        let Some(root) = root_of(&p.name) else {
            continue;
        };
        facts.data_model.get_or_insert(root);
        let value = p.value.trim();
        match &p.name[root.len()..] {
            "DeviceInfo.SoftwareVersion" if !value.is_empty() => {
                facts.software_version = Some(value.to_string())
            }
            "DeviceInfo.HardwareVersion" if !value.is_empty() => {
                facts.hardware_version = Some(value.to_string())
            }
            "ManagementServer.ConnectionRequestURL" if !value.is_empty() => {
                facts.connection_request_url = Some(value.to_string())
            }
            "ManagementServer.PeriodicInformInterval" => {
                facts.periodic_inform_interval = value.parse::<i64>().ok().filter(|v| *v > 0)
            }
            _ => {}
        }
    }
    facts
}

/// OUI-ProductClass-SerialNumber, the usual unique key of a CPE.
pub fn unique_identifier(inform: &Inform) -> String {
    let d = &inform.device_id;
    format!(
        "{}-{}-{}",
        d.oui.trim(),
        d.product_class.trim(),
        d.serial_number.trim()
    )
}

/// A short digest of the reported values, to skip rewriting unchanged parameters.
pub fn params_hash(params: &[ParameterValue]) -> String {
    let mut h = Sha256::new();
    for p in params {
        h.update(p.name.as_bytes());
        h.update([0]);
        h.update(p.value.as_bytes());
        h.update([0]);
        h.update(p.xsd_type.as_deref().unwrap_or("").as_bytes());
        h.update([1]);
    }
    hex::encode(&h.finalize()[..12])
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Turns reported facts into the columns and parameter rows to write; parameters only when
/// they differ from what was last stored (`stored_hash`).
pub fn apply_facts(write: &mut InformWrite, facts: &Facts, stored_hash: Option<&str>) {
    write.software_version = facts.software_version.clone();
    write.hardware_version = facts.hardware_version.clone();
    write.connection_request_url = facts.connection_request_url.clone();
    write.periodic_inform_interval = facts.periodic_inform_interval;
    write.data_model = facts.data_model.map(str::to_string);
    if facts.params.is_empty() {
        return;
    }
    let hash = params_hash(&facts.params);
    if stored_hash == Some(hash.as_str()) {
        write.params_hash_seen = Some(hash);
    } else {
        write.params = facts
            .params
            .iter()
            .map(|p| ParamWrite {
                name: p.name.clone(),
                value: p.value.clone(),
                xsd_type: p.xsd_type.clone(),
                writable: None,
            })
            .collect();
        write.params_hash = Some(hash);
    }
}

/// The write an Inform makes: identity from the DeviceId, the rest from its parameters.
pub fn inform_write(inform: &Inform, facts: &Facts, stored_hash: Option<&str>) -> InformWrite {
    let d = &inform.device_id;
    let mut w = InformWrite {
        contact: true,
        manufacturer: non_empty(&d.manufacturer),
        oui: non_empty(&d.oui),
        product_class: non_empty(&d.product_class),
        unique_identifier: Some(unique_identifier(inform)),
        events: Some(
            inform
                .events
                .iter()
                .map(|e| e.event_code.trim())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ..InformWrite::default()
    };
    apply_facts(&mut w, facts, stored_hash);
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cwmp::{DeviceId, EventStruct};

    fn pv(n: &str, v: &str) -> ParameterValue {
        ParameterValue::typed(n, v, "xsd:string")
    }

    #[test]
    fn reads_both_data_models() {
        let f = from_params(&[
            pv(
                "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
                " V1.00(AACB.3) ",
            ),
            pv(
                "InternetGatewayDevice.DeviceInfo.HardwareVersion",
                "P-2601HN-F1",
            ),
            pv(
                "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
                "http://2.110.157.83:7676/CWMP/ConnectionRequest",
            ),
        ]);
        assert_eq!(f.data_model, Some(TR098));
        assert_eq!(f.software_version.as_deref(), Some("V1.00(AACB.3)"));
        assert_eq!(f.hardware_version.as_deref(), Some("P-2601HN-F1"));
        assert!(
            f.connection_request_url
                .unwrap()
                .ends_with("ConnectionRequest")
        );
        let f = from_params(&[
            pv("Device.DeviceInfo.SoftwareVersion", "2.0"),
            pv("Device.ManagementServer.PeriodicInformInterval", "600"),
        ]);
        assert_eq!(f.data_model, Some(TR181));
        assert_eq!(f.periodic_inform_interval, Some(600));
    }

    #[test]
    fn duplicates_and_oddities() {
        let f = from_params(&[
            pv("Device.ManagementServer.ConnectionRequestURL", "http://a/"),
            pv(".ExternalIPAddress", "1.2.3.4"),
            pv("Device.ManagementServer.ConnectionRequestURL", "http://b/"),
            pv("", "x"),
            pv("Device.DeviceInfo.SoftwareVersion", ""),
        ]);
        assert_eq!(f.connection_request_url.as_deref(), Some("http://b/"));
        assert_eq!(f.params.len(), 3);
        assert_eq!(f.params[0].value, "http://b/");
        assert_eq!(f.software_version, None, "an empty version is no version");
    }

    #[test]
    fn unchanged_parameters_are_not_rewritten() {
        let inform = Inform {
            device_id: DeviceId {
                manufacturer: "ZyXEL".into(),
                oui: "EC43F6".into(),
                product_class: "P-2601HN-F1".into(),
                serial_number: "EC43F69AF408".into(),
            },
            events: vec![
                EventStruct::new("0 BOOTSTRAP", ""),
                EventStruct::new("1 BOOT", ""),
            ],
            parameters: vec![pv("InternetGatewayDevice.DeviceInfo.SoftwareVersion", "1")],
            ..Inform::default()
        };
        let facts = from_params(&inform.parameters);
        let w = inform_write(&inform, &facts, None);
        assert_eq!(
            w.unique_identifier.as_deref(),
            Some("EC43F6-P-2601HN-F1-EC43F69AF408")
        );
        assert_eq!(w.events.as_deref(), Some("0 BOOTSTRAP,1 BOOT"));
        assert_eq!(w.params.len(), 1);
        let hash = w.params_hash.clone().unwrap();
        let again = inform_write(&inform, &facts, Some(&hash));
        assert!(again.params.is_empty());
        assert_eq!(again.params_hash, None);
        assert_eq!(again.params_hash_seen.as_deref(), Some(hash.as_str()));
        assert_eq!(again.software_version.as_deref(), Some("1"));
    }
}
