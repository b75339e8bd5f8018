//! The CPE simulator: its answers to every ACS request, its Informs and after-session work,
//! fault injection, the connection-request listener, the GenieACS data models, and sessions
//! against a scripted ACS and against the real ferroacs endpoint (both back ends).

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use common::{Backend, TestApp};
use ferroacs::cpe::datamodel::{DataModel, XsdType};
use ferroacs::cpe::simulator::{Reachability, SessionEnd, Simulator, Step};
use ferroacs::cpe::{ClientOptions, CpeClient, Responder};
use ferroacs::cwmp::{
    self, Body, CwmpNs, Download, Envelope, Fault, Header, Limits, ParameterInfo, ParameterValue,
    SetParameterAttributesStruct, Upload,
};
use ferroacs::digest::{
    DigestServer, StoredCredentials, client_authorization, parse_authorization,
};
use serde_json::json;
use sha2::Digest as _;

const IGD: &str = "InternetGatewayDevice.";
const WLAN: &str = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.";

fn pv(name: &str, value: &str, ty: &str) -> ParameterValue {
    ParameterValue::typed(name, value, ty)
}

fn spv(list: Vec<ParameterValue>, key: &str) -> Body {
    Body::SetParameterValues {
        list,
        parameter_key: key.into(),
    }
}

#[track_caller]
fn fault_of(b: Body) -> Fault {
    match b {
        Body::Fault(f) => f,
        other => panic!("expected a fault, got {other:?}"),
    }
}

fn names(b: &Body) -> Vec<String> {
    match b {
        Body::GetParameterValuesResponse(v) => v.iter().map(|p| p.name.clone()).collect(),
        Body::GetParameterNamesResponse(v) => v.iter().map(|p| p.name.clone()).collect(),
        other => panic!("unexpected {other:?}"),
    }
}

fn event_codes(sim: &Simulator) -> Vec<(String, String)> {
    sim.peek_inform()
        .events
        .into_iter()
        .map(|e| (e.event_code, e.command_key))
        .collect()
}

fn ev(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// ---------------------------------------------------------------- the responder alone

#[test]
fn get_parameter_values_full_and_partial_paths() {
    let mut sim = Simulator::tr098("SN-GPV");
    let r = sim.answer(&Body::GetParameterValues(vec![
        format!("{IGD}DeviceInfo.SerialNumber"),
        format!("{IGD}ManagementServer."),
    ]));
    let Body::GetParameterValuesResponse(v) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(v[0].value, "SN-GPV");
    assert_eq!(v[0].xsd_type.as_deref(), Some("xsd:string"));
    let ms: Vec<&str> = v[1..].iter().map(|p| p.name.as_str()).collect();
    assert!(ms.contains(&"InternetGatewayDevice.ManagementServer.PeriodicInformInterval"));
    assert!(
        ms.iter()
            .all(|n| n.starts_with("InternetGatewayDevice.ManagementServer."))
    );
    assert!(
        !ms.iter().any(|n| n.ends_with('.')),
        "objects are not values"
    );
    let interval = v
        .iter()
        .find(|p| p.name.ends_with("PeriodicInformInterval"))
        .unwrap();
    assert_eq!(interval.xsd_type.as_deref(), Some("xsd:unsignedInt"));
    // Everything.
    let all = names(&sim.answer(&Body::GetParameterValues(vec![String::new()])));
    assert!(all.len() > 20);
    assert!(all.iter().any(|n| n.ends_with("ExternalIPAddress")));
    // Unknown names, objects without their dot, unknown partial paths: 9005.
    for bad in [
        "InternetGatewayDevice.DeviceInfo.Nope",
        "InternetGatewayDevice.DeviceInfo",
        "InternetGatewayDevice.Nope.",
    ] {
        let f = fault_of(sim.answer(&Body::GetParameterValues(vec![bad.into()])));
        assert_eq!(f.fault_code, 9005, "{bad}");
    }
}

#[test]
fn set_parameter_values_is_atomic_and_lists_every_fault() {
    let mut sim = Simulator::tr098("SN-SPV");
    let ssid = format!("{WLAN}SSID");
    let channel = format!("{WLAN}Channel");
    let enable = format!("{WLAN}Enable");
    let r = sim.answer(&spv(
        vec![
            pv(&ssid, "new-ssid", "xsd:string"),
            pv(&format!("{IGD}DeviceInfo.Nope"), "x", "xsd:string"),
            pv(&format!("{IGD}DeviceInfo.SerialNumber"), "X", "xsd:string"),
            pv(&channel, "eleven", "xsd:unsignedInt"),
            pv(&enable, "maybe", "xsd:boolean"),
            pv(
                &format!("{IGD}ManagementServer.PeriodicInformInterval"),
                "60",
                "xsd:string",
            ),
        ],
        "k1",
    ));
    let f = fault_of(r);
    assert_eq!(f.fault_code, 9003);
    assert_eq!(f.faultcode, "Client");
    let list: Vec<(String, u32)> = f
        .set_parameter_values_faults
        .iter()
        .map(|p| (p.parameter_name.clone(), p.fault_code))
        .collect();
    assert_eq!(
        list,
        vec![
            (format!("{IGD}DeviceInfo.Nope"), 9005),
            (format!("{IGD}DeviceInfo.SerialNumber"), 9008),
            (channel.clone(), 9007),
            (enable.clone(), 9007),
            (
                format!("{IGD}ManagementServer.PeriodicInformInterval"),
                9006
            ),
        ]
    );
    // Nothing was applied, not even the valid SSID, nor the key.
    assert_eq!(sim.value(&ssid).unwrap(), "ferroacs-sim");
    assert_eq!(
        sim.value(&format!("{IGD}ManagementServer.ParameterKey"))
            .unwrap(),
        ""
    );
    // A valid request is applied whole, with its ParameterKey.
    let r = sim.answer(&spv(
        vec![
            pv(&ssid, "new-ssid", "xsd:string"),
            pv(&channel, "11", "xsd:unsignedInt"),
            pv(&enable, "0", "xsd:boolean"),
        ],
        "k2",
    ));
    assert_eq!(r, Body::SetParameterValuesResponse { status: 0 });
    assert_eq!(sim.value(&ssid).unwrap(), "new-ssid");
    assert_eq!(sim.value(&channel).unwrap(), "11");
    assert_eq!(
        sim.value(&format!("{IGD}ManagementServer.ParameterKey"))
            .unwrap(),
        "k2"
    );
    // Untyped values are checked against the parameter's type.
    let f = fault_of(sim.answer(&spv(vec![ParameterValue::new(channel.clone(), "-3")], "k3")));
    assert_eq!(f.set_parameter_values_faults[0].fault_code, 9007);
    // A parameter twice: invalid arguments.
    let f = fault_of(sim.answer(&spv(
        vec![pv(&ssid, "a", "xsd:string"), pv(&ssid, "b", "xsd:string")],
        "k4",
    )));
    assert_eq!(f.fault_code, 9003);
    assert_eq!(sim.value(&ssid).unwrap(), "new-ssid");
    // Lenient types: only the value matters.
    let mut lax = Simulator::builder(DataModel::builtin_tr098())
        .strict_types(false)
        .build();
    let r = lax.answer(&spv(vec![pv(&channel, "3", "xsd:string")], ""));
    assert_eq!(r, Body::SetParameterValuesResponse { status: 0 });
}

#[test]
fn get_parameter_names_next_level() {
    let mut sim = Simulator::tr098("SN-GPN");
    let gpn = |sim: &mut Simulator, path: &str, next_level: bool| {
        sim.answer(&Body::GetParameterNames {
            path: path.into(),
            next_level,
        })
    };
    assert_eq!(
        gpn(&mut sim, "", true),
        Body::GetParameterNamesResponse(vec![ParameterInfo {
            name: IGD.into(),
            writable: false
        }])
    );
    let top = names(&gpn(&mut sim, IGD, true));
    assert!(top.contains(&format!("{IGD}DeviceInfo.")));
    assert!(top.contains(&format!("{IGD}DeviceSummary")));
    assert!(top.contains(&format!("{IGD}LANDevice.")));
    assert!(!top.contains(&IGD.to_string()));
    assert!(
        !top.iter()
            .any(|n| n[IGD.len()..].trim_end_matches('.').contains('.')),
        "only the next level: {top:?}"
    );
    // NextLevel=false: the object itself and everything below it.
    let r = gpn(
        &mut sim,
        "InternetGatewayDevice.LANDevice.1.WLANConfiguration.",
        false,
    );
    let Body::GetParameterNamesResponse(list) = &r else {
        panic!()
    };
    assert_eq!(
        list[0].name,
        "InternetGatewayDevice.LANDevice.1.WLANConfiguration."
    );
    assert!(list[0].writable, "a writable table");
    assert!(
        list.iter()
            .any(|p| p.name == format!("{WLAN}SSID") && p.writable)
    );
    assert!(
        list.iter()
            .any(|p| p.name == format!("{WLAN}Status") && !p.writable)
    );
    // A parameter: itself with NextLevel=false, 9003 with NextLevel=true.
    assert_eq!(
        names(&gpn(&mut sim, &format!("{WLAN}SSID"), false)),
        vec![format!("{WLAN}SSID")]
    );
    assert_eq!(
        fault_of(gpn(&mut sim, &format!("{WLAN}SSID"), true)).fault_code,
        9003
    );
    assert_eq!(fault_of(gpn(&mut sim, "Device.", true)).fault_code, 9005);
    // The whole tree.
    let all = names(&gpn(&mut sim, "", false));
    assert_eq!(all.len(), DataModel::builtin_tr098().len());
}

#[test]
fn parameter_attributes() {
    let mut sim = Simulator::tr098("SN-ATTR");
    let ssid = format!("{WLAN}SSID");
    let r = sim.answer(&Body::SetParameterAttributes(vec![
        SetParameterAttributesStruct {
            name: ssid.clone(),
            notification_change: true,
            notification: 2,
            access_list_change: true,
            access_list: vec!["Subscriber".into()],
        },
    ]));
    assert_eq!(r, Body::SetParameterAttributesResponse);
    let Body::GetParameterAttributesResponse(a) =
        sim.answer(&Body::GetParameterAttributes(vec![WLAN.into()]))
    else {
        panic!()
    };
    let s = a.iter().find(|p| p.name == ssid).unwrap();
    assert_eq!(s.notification, 2);
    assert_eq!(s.access_list, vec!["Subscriber".to_string()]);
    assert!(
        a.iter()
            .filter(|p| p.name != ssid)
            .all(|p| p.notification == 0)
    );
    let f = fault_of(sim.answer(&Body::GetParameterAttributes(vec!["X.Y".into()])));
    assert_eq!(f.fault_code, 9005);
}

#[test]
fn add_and_delete_objects() {
    let mut sim = Simulator::tr098("SN-OBJ");
    let table = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.";
    let r = sim.answer(&Body::AddObject {
        object_name: table.into(),
        parameter_key: "add-1".into(),
    });
    assert_eq!(
        r,
        Body::AddObjectResponse {
            instance_number: 2,
            status: 0
        }
    );
    // The new instance is shaped like instance 1, with default values.
    assert_eq!(sim.value(&format!("{table}2.SSID")).unwrap(), "");
    assert_eq!(sim.value(&format!("{table}2.Channel")).unwrap(), "0");
    assert_eq!(sim.value(&format!("{table}2.Enable")).unwrap(), "false");
    assert!(sim.node(&format!("{table}2.SSID")).unwrap().writable);
    assert_eq!(
        sim.value("InternetGatewayDevice.ManagementServer.ParameterKey")
            .unwrap(),
        "add-1"
    );
    let r = sim.answer(&spv(
        vec![pv(&format!("{table}2.SSID"), "guest", "xsd:string")],
        "",
    ));
    assert_eq!(r, Body::SetParameterValuesResponse { status: 0 });
    // Delete instance 1 (from the shared model) and 2 (the device's own).
    for n in [1, 2] {
        let r = sim.answer(&Body::DeleteObject {
            object_name: format!("{table}{n}."),
            parameter_key: format!("del-{n}"),
        });
        assert_eq!(r, Body::DeleteObjectResponse { status: 0 });
    }
    assert!(sim.value(&format!("{WLAN}SSID")).is_none());
    assert!(sim.entries(table).len() == 1, "only the table is left");
    let f = fault_of(sim.answer(&Body::GetParameterValues(vec![format!("{table}2.")])));
    assert_eq!(f.fault_code, 9005);
    // Instance numbers are not reused.
    let r = sim.answer(&Body::AddObject {
        object_name: table.into(),
        parameter_key: "".into(),
    });
    assert_eq!(
        r,
        Body::AddObjectResponse {
            instance_number: 3,
            status: 0
        }
    );
    // Not a writable table, not an object, unknown, deleting twice: 9005.
    for (add, name) in [
        (true, "InternetGatewayDevice.DeviceInfo."),
        (true, "InternetGatewayDevice.LANDevice.1.WLANConfiguration"),
        (true, "InternetGatewayDevice.Nope."),
        (
            false,
            "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.",
        ),
        (false, "InternetGatewayDevice.DeviceInfo."),
    ] {
        let req = if add {
            Body::AddObject {
                object_name: name.into(),
                parameter_key: "".into(),
            }
        } else {
            Body::DeleteObject {
                object_name: name.into(),
                parameter_key: "".into(),
            }
        };
        assert_eq!(fault_of(sim.answer(&req)).fault_code, 9005, "{name}");
    }
}

#[tokio::test]
async fn reboot_factory_reset_and_their_events() {
    let sim = Simulator::builder(DataModel::builtin_tr098())
        .serial("SN-RB")
        .connection_request_credentials("cr-user", "cr-pass")
        .build();
    assert_eq!(
        event_codes(&sim),
        ev(&[("0 BOOTSTRAP", ""), ("1 BOOT", "")]),
        "first contact"
    );
    sim.clear_events();
    assert_eq!(event_codes(&sim), ev(&[("2 PERIODIC", "")]));
    // Reboot: answered at once, effective after the session.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(sim.value(&format!("{IGD}DeviceInfo.UpTime")).unwrap() != "0");
    let r = sim.handle(&Body::Reboot {
        command_key: "reboot-42".into(),
    });
    assert_eq!(r, Body::RebootResponse);
    assert_eq!(sim.reboots(), 0);
    assert!(sim.is_due());
    sim.complete_pending().await;
    assert_eq!(sim.reboots(), 1);
    assert_eq!(sim.value(&format!("{IGD}DeviceInfo.UpTime")).unwrap(), "0");
    assert_eq!(
        event_codes(&sim),
        ev(&[("1 BOOT", ""), ("M Reboot", "reboot-42")])
    );
    // Local value change.
    sim.clear_events();
    assert!(sim.change_value(&format!("{WLAN}SSID"), "changed-on-the-web-ui"));
    let inform = sim.peek_inform();
    assert_eq!(inform.events[0].event_code, "4 VALUE CHANGE");
    assert!(
        inform
            .parameters
            .iter()
            .any(|p| p.name == format!("{WLAN}SSID") && p.value == "changed-on-the-web-ui")
    );
    // Factory reset: everything back to the factory values, identity kept.
    sim.clear_events();
    let ms = format!("{IGD}ManagementServer.");
    let r = sim.handle(&spv(
        vec![
            pv(
                &format!("{ms}ConnectionRequestUsername"),
                "acs-set",
                "xsd:string",
            ),
            pv(
                &format!("{ms}ConnectionRequestPassword"),
                "acs-pw",
                "xsd:string",
            ),
            pv(
                &format!("{ms}PeriodicInformInterval"),
                "60",
                "xsd:unsignedInt",
            ),
        ],
        "before-reset",
    ));
    assert_eq!(r, Body::SetParameterValuesResponse { status: 0 });
    sim.handle(&Body::AddObject {
        object_name: "InternetGatewayDevice.LANDevice.1.WLANConfiguration.".into(),
        parameter_key: "".into(),
    });
    assert_eq!(sim.handle(&Body::FactoryReset), Body::FactoryResetResponse);
    sim.complete_pending().await;
    assert_eq!(sim.factory_resets(), 1);
    assert_eq!(
        sim.value(&format!("{ms}ConnectionRequestUsername"))
            .unwrap(),
        "cr-user"
    );
    assert_eq!(
        sim.value(&format!("{ms}ConnectionRequestPassword"))
            .unwrap(),
        "cr-pass"
    );
    assert_eq!(sim.value(&format!("{ms}ParameterKey")).unwrap(), "");
    assert_eq!(
        sim.value(&format!("{ms}PeriodicInformInterval")).unwrap(),
        "300"
    );
    assert_eq!(sim.value(&format!("{WLAN}SSID")).unwrap(), "ferroacs-sim");
    assert!(
        sim.node("InternetGatewayDevice.LANDevice.1.WLANConfiguration.2.")
            .is_none()
    );
    assert_eq!(
        sim.value(&format!("{IGD}DeviceInfo.SerialNumber")).unwrap(),
        "SN-RB"
    );
    assert_eq!(
        event_codes(&sim),
        ev(&[("0 BOOTSTRAP", ""), ("1 BOOT", "")])
    );
    // ScheduleInform: 3 SCHEDULED + M ScheduleInform once due.
    sim.clear_events();
    assert_eq!(
        sim.handle(&Body::ScheduleInform {
            delay_seconds: 1,
            command_key: "sched".into()
        }),
        Body::ScheduleInformResponse
    );
    assert!(!sim.is_due());
    assert!(sim.wait_due(Duration::from_secs(3)).await);
    assert_eq!(
        event_codes(&sim),
        ev(&[("3 SCHEDULED", ""), ("M ScheduleInform", "sched")])
    );
    // GetRPCMethods and an unknown method.
    let Body::GetRPCMethodsResponse(m) = sim.handle(&Body::GetRPCMethods) else {
        panic!()
    };
    assert!(m.contains(&"Download".to_string()) && m.contains(&"FactoryReset".to_string()));
    assert_eq!(
        fault_of(sim.handle(&Body::InformResponse { max_envelopes: 1 })).fault_code,
        9000
    );
}

#[test]
fn identity_and_forced_inform_parameters() {
    let sim = Simulator::builder(DataModel::builtin_tr098())
        .manufacturer("Acme Networks")
        .oui("A1B2C3")
        .product_class("AX-1")
        .serial("SN-ID-1")
        .software_version("7.1.3")
        .build();
    let inform = sim.peek_inform();
    assert_eq!(inform.device_id.manufacturer, "Acme Networks");
    assert_eq!(inform.device_id.oui, "A1B2C3");
    assert_eq!(inform.device_id.product_class, "AX-1");
    assert_eq!(inform.device_id.serial_number, "SN-ID-1");
    assert_eq!(sim.unique_identifier(), "A1B2C3-AX-1-SN-ID-1");
    assert_eq!(
        sim.value(&format!("{IGD}DeviceInfo.Manufacturer")).unwrap(),
        "Acme Networks"
    );
    assert_eq!(
        sim.value(&format!("{IGD}DeviceInfo.ManufacturerOUI"))
            .unwrap(),
        "A1B2C3"
    );
    let names: Vec<&str> = inform.parameters.iter().map(|p| p.name.as_str()).collect();
    for n in [
        "InternetGatewayDevice.DeviceSummary",
        "InternetGatewayDevice.DeviceInfo.HardwareVersion",
        "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
        "InternetGatewayDevice.DeviceInfo.ProvisioningCode",
        "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
        "InternetGatewayDevice.ManagementServer.ParameterKey",
        "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let sw = inform
        .parameters
        .iter()
        .find(|p| p.name.ends_with("SoftwareVersion"))
        .unwrap();
    assert_eq!(sw.value, "7.1.3");
    // TR-181.
    let sim = Simulator::tr181("SN-181");
    let inform = sim.peek_inform();
    let names: Vec<&str> = inform.parameters.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"Device.RootDataModelVersion"));
    assert!(names.contains(&"Device.ManagementServer.ConnectionRequestURL"));
    assert!(names.contains(&"Device.IP.Interface.1.IPv4Address.1.IPAddress"));
    assert!(!names.iter().any(|n| n.starts_with(IGD)));
    assert_eq!(
        sim.value("Device.DeviceInfo.SerialNumber").unwrap(),
        "SN-181"
    );
    assert_eq!(
        sim.value("Device.WiFi.SSID.1.SSID").unwrap(),
        "ferroacs-sim"
    );
    assert_eq!(
        sim.value("Device.WiFi.AccessPoint.1.Security.KeyPassphrase")
            .unwrap(),
        ""
    );
}

#[test]
fn injected_faults() {
    let mut sim = Simulator::tr098("SN-FAULT");
    let ssid = format!("{WLAN}SSID");
    let set = |v: &str| spv(vec![pv(&ssid, v, "xsd:string")], "k");
    sim.fail_next(ssid.as_str(), 9007, 2);
    for _ in 0..2 {
        let f = fault_of(sim.answer(&set("x")));
        assert_eq!(f.fault_code, 9003);
        assert_eq!(f.set_parameter_values_faults[0].parameter_name, ssid);
        assert_eq!(f.set_parameter_values_faults[0].fault_code, 9007);
    }
    assert_eq!(
        sim.answer(&set("third time")),
        Body::SetParameterValuesResponse { status: 0 }
    );
    // A whole method.
    sim.fail_next("GetParameterValues", 9002, 1);
    assert_eq!(
        fault_of(sim.answer(&Body::GetParameterValues(vec![ssid.clone()]))).fault_code,
        9002
    );
    assert!(matches!(
        sim.answer(&Body::GetParameterValues(vec![ssid.clone()])),
        Body::GetParameterValuesResponse(_)
    ));
    // Forever, until cleared.
    sim.fail_always("Reboot", 9001);
    for _ in 0..3 {
        assert_eq!(
            fault_of(sim.answer(&Body::Reboot {
                command_key: "".into()
            }))
            .fault_code,
            9001
        );
    }
    sim.clear_faults();
    assert_eq!(
        sim.answer(&Body::Reboot {
            command_key: "".into()
        }),
        Body::RebootResponse
    );
    // A parameter made read-only for good.
    assert!(sim.set_writable(&ssid, false));
    for _ in 0..2 {
        let f = fault_of(sim.answer(&set("y")));
        assert_eq!(f.set_parameter_values_faults[0].fault_code, 9008);
    }
    assert_eq!(sim.value(&ssid).unwrap(), "third time");
}

#[test]
fn devices_share_the_model() {
    let model = DataModel::builtin_tr098();
    let before = Arc::strong_count(&model);
    let sims: Vec<Simulator> = (0..1000)
        .map(|i| {
            Simulator::builder(model.clone())
                .serial(format!("SN{i:06}"))
                .build()
        })
        .collect();
    assert_eq!(Arc::strong_count(&model), before + 1000);
    assert!(
        sims.iter().all(|s| s.own_entries() <= 8),
        "{}",
        sims[0].own_entries()
    );
    assert_eq!(
        sims[999]
            .value(&format!("{IGD}DeviceInfo.SerialNumber"))
            .unwrap(),
        "SN000999"
    );
}

// ---------------------------------------------------------------- GenieACS data models

fn datamodels_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/datamodels");
    dir.is_dir().then_some(dir)
}

#[test]
fn every_reference_datamodel_loads() {
    let Some(dir) = datamodels_dir() else {
        eprintln!("skipped: ../shared/reference/datamodels is absent");
        return;
    };
    // file, entries, objects, root, serial, software version, OUI
    let expected = [
        (
            "anlix_huawei-EG8145V5_TR098.csv",
            3790,
            643,
            IGD,
            "48575443A94196A5",
            "V5R020C00S280",
            "00259E",
        ),
        (
            "anlix_intelbras-W5-2100G_TR098.csv",
            752,
            112,
            IGD,
            "D8365F659C6E",
            "1.23.7",
            "00E04C",
        ),
        (
            "anlix_nokia-ALCL-G-1425G-A_TR098.csv",
            3751,
            563,
            IGD,
            "ALCLFC265D6F",
            "3FE49568IJIJ23",
            "9075BC",
        ),
        (
            "anlix_tplink-EC220-G5v3_TR181.csv",
            935,
            182,
            "Device.",
            "22275K2000315",
            "1.12.0 Build 220820 Rel.52419n(4252)",
            "9CA2F4",
        ),
        (
            "anlix_zte-ZXHN-H199A_TR098.csv",
            1741,
            284,
            IGD,
            "ZTEYH86LCN10105",
            "V9.1.0P4N3_MUL",
            "C0B101",
        ),
        (
            "genieacs-sim_huawei-BM632w_TR098.csv",
            1002,
            210,
            IGD,
            "8KA8WA1151100043",
            "V100R001IRQC56B017",
            "202BC1",
        ),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let model = Arc::new(DataModel::load_csv(&path).unwrap_or_else(|e| panic!("{file}: {e}")));
        let Some(&(_, len, objects, root, serial, sw, oui)) = expected.iter().find(|e| e.0 == file)
        else {
            // A file added later: it loads and forms a tree.
            assert!(model.len() > 10, "{file}");
            continue;
        };
        seen += 1;
        assert_eq!(model.len(), len, "{file}");
        assert_eq!(model.objects_count(), objects, "{file}");
        assert_eq!(model.root(), root, "{file}");
        let id = model.device_id().unwrap();
        assert_eq!(id.serial_number, serial, "{file}");
        assert_eq!(id.oui, oui, "{file}");
        assert_eq!(
            model.value(&format!("{root}DeviceInfo.SoftwareVersion")),
            Some(sw),
            "{file}"
        );
        assert!(model.wan_ip_param().is_some(), "{file}");
        // A simulator on it answers like that device.
        let mut sim = Simulator::builder(model.clone()).build();
        assert_eq!(sim.identity().serial_number, serial);
        let inform = sim.peek_inform();
        assert_eq!(inform.device_id.oui, oui);
        assert!(
            inform
                .parameters
                .iter()
                .any(|p| p.name == format!("{root}DeviceInfo.SoftwareVersion") && p.value == sw),
            "{file}"
        );
        let all = names(&sim.answer(&Body::GetParameterNames {
            path: String::new(),
            next_level: false,
        }));
        assert_eq!(all.len(), len, "{file}");
        let r = sim.answer(&Body::GetParameterValues(vec![format!(
            "{root}ManagementServer."
        )]));
        assert!(names(&r).len() >= 5, "{file}");
        assert_eq!(
            sim.own_entries(),
            6,
            "{file}: only the identity is the device's own"
        );
    }
    assert_eq!(seen, expected.len(), "every known file is present");
    // Known values: a quoted value with commas, a multi-line value, a redacted secret,
    // lower-case type names.
    let huawei = DataModel::load_csv(dir.join("anlix_huawei-EG8145V5_TR098.csv")).unwrap();
    assert_eq!(
        huawei.device_id().unwrap().manufacturer,
        "Huawei Technologies Co., Ltd"
    );
    assert!(
        huawei
            .value("InternetGatewayDevice.DeviceSummary")
            .unwrap()
            .contains("Baseline:1, EthernetLAN:1")
    );
    assert!(
        huawei
            .value("InternetGatewayDevice.DeviceInfo.DeviceLog")
            .unwrap()
            .contains('\n')
    );
    assert_eq!(
        huawei.value("InternetGatewayDevice.ManagementServer.ConnectionRequestPassword"),
        Some("")
    );
    let nokia = DataModel::load_csv(dir.join("anlix_nokia-ALCL-G-1425G-A_TR098.csv")).unwrap();
    assert!(
        nokia
            .iter()
            .all(|(_, n)| !matches!(n.xsd_type, XsdType::Other(_))
                || n.xsd_type.as_str() == "xsd:base64"),
        "xsd:unsignedint / xsd:Int are normalised"
    );
    // AddObject on a writable table of a real tree: instance 5, shaped like instance 1.
    let bm =
        Arc::new(DataModel::load_csv(dir.join("genieacs-sim_huawei-BM632w_TR098.csv")).unwrap());
    let pool =
        "InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPConditionalServingPool.";
    assert_eq!(bm.get(pool).map(|n| n.writable), Some(true));
    let mut sim = Simulator::builder(bm).build();
    let r = sim.answer(&Body::AddObject {
        object_name: pool.into(),
        parameter_key: "".into(),
    });
    assert_eq!(
        r,
        Body::AddObjectResponse {
            instance_number: 5,
            status: 0
        }
    );
    assert_eq!(sim.value(&format!("{pool}5.Enable")).unwrap(), "false");
    assert_eq!(sim.value(&format!("{pool}5.VendorClassID")).unwrap(), "");
    assert_eq!(sim.value(&format!("{pool}1.VendorClassID")).unwrap(), "STB");
}

// ---------------------------------------------------------------- a scripted ACS

/// An ACS that answers Informs and TransferCompletes and sends a script of requests.
#[derive(Clone, Default)]
struct MockAcs {
    script: Arc<Mutex<VecDeque<Body>>>,
    /// What the CPE posted, in order ("empty" for empty POSTs).
    received: Arc<Mutex<Vec<String>>>,
    bodies: Arc<Mutex<Vec<Body>>>,
}

async fn mock_post(State(acs): State<MockAcs>, body: Bytes) -> impl IntoResponse {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        acs.received.lock().unwrap().push("empty".into());
    } else {
        let env = cwmp::parse(&body, &Limits::default()).unwrap();
        acs.received
            .lock()
            .unwrap()
            .push(env.body.method_name().to_string());
        acs.bodies.lock().unwrap().push(env.body.clone());
        let reply = match &env.body {
            Body::Inform(_) => Some(Body::InformResponse { max_envelopes: 1 }),
            Body::TransferComplete(_) => Some(Body::TransferCompleteResponse),
            _ => None,
        };
        if let Some(r) = reply {
            let out = Envelope::new(
                env.ns,
                Header {
                    id: env.header.id,
                    ..Header::default()
                },
                r,
            );
            return (StatusCode::OK, cwmp::to_vec(&out)).into_response();
        }
    }
    let next = acs.script.lock().unwrap().pop_front();
    match next {
        Some(req) => {
            let out = Envelope::new(CwmpNs::V1_0, Header::with_id("a1"), req);
            (StatusCode::OK, cwmp::to_vec(&out)).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

async fn mock_acs(script: Vec<Body>) -> (MockAcs, CpeClient) {
    let acs = MockAcs::default();
    acs.script.lock().unwrap().extend(script);
    let router = axum::Router::new()
        .route("/", axum::routing::post(mock_post))
        .with_state(acs.clone());
    let addr = serve(router).await;
    let client = CpeClient::new(ClientOptions::new(format!("http://{addr}/"))).unwrap();
    (acs, client)
}

#[tokio::test]
async fn sessions_with_a_scripted_acs() {
    let sim = Simulator::tr098("SN-MOCK");
    let ssid = format!("{WLAN}SSID");
    let (acs, mut c) = mock_acs(vec![
        Body::GetParameterValues(vec![ssid.clone()]),
        spv(vec![pv(&ssid, "from-acs", "xsd:string")], "pk-1"),
        Body::Reboot {
            command_key: "rb-7".into(),
        },
    ])
    .await;
    let logs = sim.run_until_idle(&mut c).await.unwrap();
    assert_eq!(logs.len(), 2, "{logs:#?}");
    assert_eq!(logs[0].events(), vec!["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(
        logs[0].methods(),
        vec!["GetParameterValues", "SetParameterValues", "Reboot"]
    );
    assert_eq!(logs[0].end, SessionEnd::Completed);
    assert_eq!(logs[0].exchanges[2].answer, Some(Body::RebootResponse));
    // The reboot happened after the session: the next session says so.
    assert_eq!(logs[1].events(), vec!["1 BOOT", "M Reboot"]);
    assert_eq!(logs[1].command_key("M Reboot"), Some("rb-7"));
    assert!(logs[1].exchanges.is_empty());
    assert_eq!(sim.value(&ssid).unwrap(), "from-acs");
    let inform = match &acs.bodies.lock().unwrap()[4] {
        Body::Inform(i) => i.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        inform
            .parameters
            .iter()
            .any(|p| p.name.ends_with("ParameterKey") && p.value == "pk-1")
    );
    assert_eq!(
        *acs.received.lock().unwrap(),
        vec![
            "Inform",
            "empty",
            "GetParameterValuesResponse",
            "SetParameterValuesResponse",
            "RebootResponse",
            "Inform",
            "empty"
        ]
    );
    assert_eq!(sim.transcripts().len(), 2);
    assert!(!sim.is_due());
    // Nothing due: run_until_idle runs nothing; run_session runs a periodic one.
    assert!(sim.run_until_idle(&mut c).await.unwrap().is_empty());
    let log = sim.run_session(&mut c).await.unwrap();
    assert_eq!(log.events(), vec!["2 PERIODIC"]);
}

#[tokio::test]
async fn dropped_connections() {
    let sim = Simulator::tr098("SN-DROP");
    sim.clear_events();
    let ssid = format!("{WLAN}SSID");
    let (acs, mut c) = mock_acs(vec![
        spv(
            vec![pv(&ssid, "applied-then-crashed", "xsd:string")],
            "pk-d",
        ),
        Body::Reboot {
            command_key: "no-answer".into(),
        },
        Body::GetParameterValues(vec![ssid.clone()]),
    ])
    .await;
    // The CPE applies the SPV but never answers it.
    sim.drop_after("SetParameterValues");
    let log = sim.run_session(&mut c).await.unwrap();
    assert_eq!(
        log.end,
        SessionEnd::Dropped {
            method: "SetParameterValues".into(),
            applied: true
        }
    );
    assert!(!log.exchanges[0].sent);
    assert_eq!(sim.value(&ssid).unwrap(), "applied-then-crashed");
    assert_eq!(
        sim.value(&format!("{IGD}ManagementServer.ParameterKey"))
            .unwrap(),
        "pk-d"
    );
    // A Reboot without RebootResponse: the CPE still reboots.
    sim.no_response_to_reboot();
    let log = sim.run_session(&mut c).await.unwrap();
    assert_eq!(log.events(), vec!["2 PERIODIC"]);
    assert!(matches!(log.end, SessionEnd::Dropped { applied: true, .. }));
    assert_eq!(sim.reboots(), 1);
    // The next session proceeds normally.
    let log = sim.run_session(&mut c).await.unwrap();
    assert_eq!(log.events(), vec!["1 BOOT", "M Reboot"]);
    assert_eq!(log.methods(), vec!["GetParameterValues"]);
    assert_eq!(log.end, SessionEnd::Completed);
    assert_eq!(
        *acs.received.lock().unwrap(),
        vec![
            "Inform",
            "empty",
            "Inform",
            "empty",
            "Inform",
            "empty",
            "GetParameterValuesResponse"
        ]
    );
    // drop_before: not applied.
    acs.script
        .lock()
        .unwrap()
        .push_back(spv(vec![pv(&ssid, "never", "xsd:string")], ""));
    sim.drop_before("SetParameterValues");
    let log = sim.run_session(&mut c).await.unwrap();
    assert!(matches!(
        log.end,
        SessionEnd::Dropped { applied: false, .. }
    ));
    assert_eq!(sim.value(&ssid).unwrap(), "applied-then-crashed");
}

#[tokio::test]
async fn step_by_step_and_abandon() {
    let sim = Simulator::tr181("SN-STEP");
    let (acs, mut c) = mock_acs(vec![Body::GetParameterValues(vec![
        "Device.DeviceInfo.SerialNumber".into(),
    ])])
    .await;
    let mut s = sim.begin_session(&mut c).await.unwrap();
    assert_eq!(s.inform().events[0].event_code, "0 BOOTSTRAP");
    assert!(
        !sim.is_due(),
        "events are delivered with the InformResponse"
    );
    match s.step(&mut c).await.unwrap() {
        Step::Request { request, answer } => {
            assert!(matches!(*request, Body::GetParameterValues(_)));
            assert!(matches!(*answer, Body::GetParameterValuesResponse(_)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.step(&mut c).await.unwrap(), Step::Ended);
    let log = s.finish(&mut c).await.unwrap();
    assert_eq!(log.end, SessionEnd::Completed);
    // A session whose Inform fails keeps its events and counts a retry.
    let mut bad = CpeClient::new(ClientOptions::new("http://127.0.0.1:9/")).unwrap();
    sim.queue_event("8 DIAGNOSTICS COMPLETE", "");
    assert!(sim.run_session(&mut bad).await.is_err());
    assert!(matches!(
        sim.last_transcript().unwrap().end,
        SessionEnd::Failed(_)
    ));
    let inform = sim.peek_inform();
    assert_eq!(inform.retry_count, 1);
    assert_eq!(inform.events[0].event_code, "8 DIAGNOSTICS COMPLETE");
    let s = sim.begin_session(&mut c).await.unwrap();
    let log = s.abandon(&mut c).await;
    assert_eq!(log.end, SessionEnd::Abandoned);
    assert_eq!(log.inform.retry_count, 1);
    assert_eq!(sim.peek_inform().retry_count, 0);
    assert_eq!(acs.received.lock().unwrap().last().unwrap(), "Inform");
}

// ---------------------------------------------------------------- downloads

const FIRMWARE_LEN: usize = 40_000;

fn firmware() -> Vec<u8> {
    (0..FIRMWARE_LEN).map(|i| (i * 7 % 251) as u8).collect()
}

#[derive(Clone)]
struct FileServer {
    digest: Arc<DigestServer>,
    uploads: Arc<Mutex<Vec<Vec<u8>>>>,
}

async fn file(
    State(fs): State<FileServer>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
) -> axum::response::Response {
    match name.as_str() {
        "fw.bin" => firmware().into_response(),
        "forbidden.bin" => StatusCode::FORBIDDEN.into_response(),
        "protected.bin" => {
            let stored = StoredCredentials::derive("dl-user", "dl-pass", fs.digest.realm());
            let ok = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|h| parse_authorization(h).ok())
                .is_some_and(|c| fs.digest.verify(&c, "GET", &stored).is_ok());
            if ok {
                firmware().into_response()
            } else {
                let mut r = StatusCode::UNAUTHORIZED.into_response();
                for ch in fs.digest.challenge(false) {
                    r.headers_mut()
                        .append("www-authenticate", ch.parse().unwrap());
                }
                r
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn upload(State(fs): State<FileServer>, body: Bytes) -> StatusCode {
    fs.uploads.lock().unwrap().push(body.to_vec());
    StatusCode::CREATED
}

async fn file_server() -> (String, FileServer) {
    let fs = FileServer {
        digest: Arc::new(DigestServer::new("files", DigestServer::generate_secret())),
        uploads: Arc::default(),
    };
    let router = axum::Router::new()
        .route("/files/{name}", axum::routing::get(file))
        .route("/upload/{name}", axum::routing::put(upload))
        .with_state(fs.clone());
    let addr = serve(router).await;
    (format!("http://{addr}"), fs)
}

fn download(key: &str, url: String, size: u64) -> Body {
    Body::Download(Download {
        command_key: key.into(),
        file_type: "1 Firmware Upgrade Image".into(),
        url,
        file_size: size,
        ..Download::default()
    })
}

#[tokio::test]
async fn downloads_and_transfer_complete() {
    let (base, fs) = file_server().await;
    let sha = hex::encode(sha2::Sha256::digest(firmware()));
    let sim = Simulator::builder(DataModel::builtin_tr098())
        .serial("SN-DL")
        .software_version("1.0.0")
        .build();
    sim.clear_events();
    sim.register_firmware(&sha.to_uppercase(), "2.0.0");
    let r = sim.handle(&download(
        "dl-1",
        format!("{base}/files/fw.bin"),
        FIRMWARE_LEN as u64,
    ));
    let Body::DownloadResponse { status, .. } = r else {
        panic!("{r:?}")
    };
    assert_eq!(status, 1);
    sim.complete_pending().await;
    let tcs = sim.pending_transfer_completes();
    assert_eq!(tcs.len(), 1);
    assert_eq!(tcs[0].command_key, "dl-1");
    assert_eq!(tcs[0].fault, None);
    assert!(tcs[0].start_time.is_some() && tcs[0].complete_time.is_some());
    assert_eq!(sim.identity().software_version, "2.0.0");
    assert_eq!(
        sim.value(&format!("{IGD}DeviceInfo.SoftwareVersion"))
            .unwrap(),
        "2.0.0"
    );
    assert_eq!(sim.transfers()[0].sha256, sha);
    assert_eq!(
        sim.transfers()[0].installed_version.as_deref(),
        Some("2.0.0")
    );
    assert_eq!(
        event_codes(&sim),
        ev(&[
            ("1 BOOT", ""),
            ("7 TRANSFER COMPLETE", ""),
            ("M Download", "dl-1")
        ])
    );
    // The next session sends the TransferComplete right after the InformResponse.
    let (acs, mut c) = mock_acs(vec![]).await;
    let log = sim.run_session(&mut c).await.unwrap();
    assert_eq!(
        *acs.received.lock().unwrap(),
        vec!["Inform", "TransferComplete", "empty"]
    );
    assert_eq!(log.transfer_completes()[0].command_key, "dl-1");
    assert_eq!(log.cpe_requests[0].1, Body::TransferCompleteResponse);
    assert!(sim.pending_transfer_completes().is_empty());
    assert!(!sim.is_due());
    // The software version survives a factory reset.
    sim.handle(&Body::FactoryReset);
    sim.complete_pending().await;
    assert_eq!(
        sim.value(&format!("{IGD}DeviceInfo.SoftwareVersion"))
            .unwrap(),
        "2.0.0"
    );
    sim.clear_events();

    // Failures: each in its own TransferComplete, version unchanged.
    let cases = [
        ("size", format!("{base}/files/fw.bin"), 1234, 9018),
        ("404", format!("{base}/files/missing.bin"), 0, 9010),
        ("403", format!("{base}/files/forbidden.bin"), 0, 9010),
        (
            "auth-missing",
            format!("{base}/files/protected.bin"),
            0,
            9012,
        ),
        (
            "not-loopback",
            "http://192.0.2.1/fw.bin".to_string(),
            0,
            9010,
        ),
    ];
    for (key, url, size, _) in &cases {
        sim.handle(&download(key, url.clone(), *size));
    }
    sim.complete_pending().await;
    let tcs = sim.pending_transfer_completes();
    assert_eq!(tcs.len(), cases.len());
    for ((key, _, _, code), tc) in cases.iter().zip(&tcs) {
        assert_eq!(tc.command_key, *key);
        let f = tc
            .fault
            .as_ref()
            .unwrap_or_else(|| panic!("{key}: no fault"));
        assert_eq!(f.code, *code, "{key}: {}", f.string);
        assert!(!f.string.is_empty());
    }
    assert!(tcs[0].fault.as_ref().unwrap().string.contains("1234"));
    assert!(tcs[4].fault.as_ref().unwrap().string.contains("loopback"));
    assert_eq!(sim.identity().software_version, "2.0.0");
    assert!(
        !event_codes(&sim).iter().any(|(c, _)| c == "1 BOOT"),
        "no install, no boot"
    );
    let log = sim.run_session(&mut c).await.unwrap();
    assert_eq!(log.transfer_completes().len(), cases.len());
    assert!(sim.pending_transfer_completes().is_empty());

    // With Digest credentials; an unknown image keeps the version.
    sim.register_firmware(&sha, "3.0.0");
    let Body::Download(mut d) = download("auth", format!("{base}/files/protected.bin"), 0) else {
        unreachable!()
    };
    d.username = "dl-user".into();
    d.password = "dl-pass".into();
    sim.handle(&Body::Download(d));
    sim.complete_pending().await;
    assert_eq!(sim.pending_transfer_completes()[0].fault, None);
    assert_eq!(sim.identity().software_version, "3.0.0");
    let other = Simulator::tr098("SN-DL2");
    other.handle(&download("unknown", format!("{base}/files/fw.bin"), 0));
    other.complete_pending().await;
    assert_eq!(other.pending_transfer_completes()[0].fault, None);
    assert_eq!(other.identity().software_version, "1.0.0");
    // Unsupported protocols fault at once.
    let f = fault_of(other.handle(&download("ftp", "ftp://127.0.0.1/x".into(), 0)));
    assert_eq!(f.fault_code, 9013);
    // Upload: the configuration is PUT to the URL, then TransferComplete + M Upload.
    other.clear_events();
    other.handle(&Body::Upload(Upload {
        command_key: "up-1".into(),
        file_type: "1 Vendor Configuration File".into(),
        url: format!("{base}/upload/cfg"),
        ..Upload::default()
    }));
    other.complete_pending().await;
    assert_eq!(other.pending_transfer_completes()[0].fault, None);
    let uploads = fs.uploads.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&uploads[0])
            .contains("InternetGatewayDevice.DeviceInfo.SerialNumber=SN-DL2")
    );
    let codes: Vec<String> = other
        .peek_inform()
        .events
        .into_iter()
        .map(|e| e.event_code)
        .collect();
    assert!(codes.contains(&"M Upload".to_string()));
}

// ---------------------------------------------------------------- connection requests

/// A connection request as an ACS sends it: GET, answering a Digest challenge.
async fn connection_request(url: &str, user: &str, pass: &str) -> Result<u16, reqwest::Error> {
    ferroacs::install_crypto_provider();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http.get(url).send().await?;
    if r.status() != 401 {
        return Ok(r.status().as_u16());
    }
    let ch: Vec<String> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let refs: Vec<&str> = ch.iter().map(String::as_str).collect();
    let path = url::Url::parse(url).unwrap().path().to_string();
    let auth = client_authorization(&refs, "GET", &path, user, pass, 1, None).unwrap();
    Ok(http
        .get(url)
        .header("authorization", auth)
        .send()
        .await?
        .status()
        .as_u16())
}

#[tokio::test]
async fn connection_request_listener() {
    ferroacs::install_crypto_provider();
    let sim = Simulator::builder(DataModel::builtin_tr098())
        .connection_request_credentials("cr-user", "cr-pass")
        .build();
    sim.clear_events();
    let addr = sim.start_connection_request_server().await.unwrap();
    assert!(addr.ip().is_loopback());
    let url = sim.connection_request_url().unwrap();
    assert_eq!(
        sim.value(&format!("{IGD}ManagementServer.ConnectionRequestURL"))
            .unwrap(),
        url
    );
    assert!(
        sim.peek_inform()
            .parameters
            .iter()
            .any(|p| p.name.ends_with("ConnectionRequestURL") && p.value == url)
    );
    assert_eq!(sim.start_connection_request_server().await.unwrap(), addr);
    // No credentials, wrong password, wrong path: refused.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers().get_all("www-authenticate").iter().count(), 2);
    assert_eq!(
        connection_request(&url, "cr-user", "wrong").await.unwrap(),
        401
    );
    assert_eq!(
        connection_request(&format!("http://{addr}/other"), "cr-user", "cr-pass")
            .await
            .unwrap(),
        404
    );
    assert_eq!(sim.connection_requests(), 0);
    assert!(!sim.wait_connection_request(Duration::from_millis(50)).await);
    // The right credentials wake the CPE.
    let waiter = {
        let sim = sim.clone();
        tokio::spawn(async move { sim.wait_connection_request(Duration::from_secs(5)).await })
    };
    assert_eq!(
        connection_request(&url, "cr-user", "cr-pass")
            .await
            .unwrap(),
        200
    );
    assert!(waiter.await.unwrap());
    assert_eq!(sim.connection_requests(), 1);
    assert!(sim.connection_request_attempts() >= 5);
    assert_eq!(event_codes(&sim), ev(&[("6 CONNECTION REQUEST", "")]));
    // Credentials set by the ACS take effect at once.
    let ms = format!("{IGD}ManagementServer.");
    sim.handle(&spv(
        vec![
            pv(&format!("{ms}ConnectionRequestUsername"), "", "xsd:string"),
            pv(&format!("{ms}ConnectionRequestPassword"), "", "xsd:string"),
        ],
        "",
    ));
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        200,
        "no credentials, no challenge"
    );
    assert_eq!(sim.connection_requests(), 2);
    // Unreachable: the connection is closed without an answer.
    sim.set_unreachable(true);
    assert!(connection_request(&url, "", "").await.is_err());
    sim.set_reachability(Reachability::Blackhole);
    let quick = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(quick.get(&url).send().await.unwrap_err().is_timeout());
    sim.set_unreachable(false);
    assert_eq!(connection_request(&url, "", "").await.unwrap(), 200);
    assert_eq!(sim.connection_requests(), 3);
}

// ---------------------------------------------------------------- against ferroacs

async fn register(app: &TestApp, username: &str, password: &str) -> i64 {
    let org = app.create_org(&format!("org-{username}")).await;
    let ty = app.create_type(&format!("type-{username}"), username).await;
    app.create_device(json!({
        "name": username, "type": ty, "organization_id": org,
        "username": username, "password": password,
    }))
    .await["id"]
        .as_i64()
        .unwrap()
}

fn sim_for(
    app: &TestApp,
    model: Arc<DataModel>,
    serial: &str,
    user: &str,
    pass: &str,
) -> Simulator {
    Simulator::builder(model)
        .manufacturer("Acme Networks")
        .oui("A1B2C3")
        .product_class("AX-1")
        .serial(serial)
        .software_version("4.2.0")
        .hardware_version("rev-B")
        .connection_request_credentials("cr-user", "cr-pass")
        .acs(format!("http://{}/", app.cwmp_addr), user, pass)
        .build()
}

async fn first_contact(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (model, serial, user) in [
        (DataModel::builtin_tr098(), "SIM-098-1", "sim-098"),
        (DataModel::builtin_tr181(), "SIM-181-1", "sim-181"),
    ] {
        let id = register(&app, user, "pw-sim").await;
        let sim = sim_for(&app, model, serial, user, "pw-sim");
        sim.start_connection_request_server().await.unwrap();
        let mut c = CpeClient::new(sim.client_options()).unwrap();
        let logs = sim.run_until_idle(&mut c).await.unwrap();
        assert!(!logs.is_empty());
        assert_eq!(logs[0].events(), vec!["0 BOOTSTRAP", "1 BOOT"]);
        assert_eq!(logs[0].challenges, 1);
        assert!(
            logs.iter().all(|l| l.end == SessionEnd::Completed),
            "{logs:#?}"
        );
        assert!(!sim.is_due());
        let d = app
            .get(&format!("/api/v1/inventory_device/{id}/"))
            .await
            .expect(200)
            .body;
        assert_eq!(d["status"], "Up", "{d}");
        assert_eq!(d["manufacturer"], "Acme Networks");
        assert_eq!(d["product_class"], "AX-1");
        assert_eq!(d["serial_number"], serial);
        assert_eq!(d["software_version"], "4.2.0");
        assert_eq!(d["hardware_version"], "rev-B");
        assert_eq!(d["unique_identifier"], sim.unique_identifier());
        // A periodic session later.
        let log = sim.run_session(&mut c).await.unwrap();
        assert_eq!(log.events(), vec!["2 PERIODIC"]);
        assert_eq!(log.end, SessionEnd::Completed);
    }
    app.stop().await;
}

async fn connection_request_wakes_the_simulator(b: Backend) {
    let app = TestApp::spawn(b).await;
    register(&app, "sim-cr", "pw-cr").await;
    let sim = sim_for(
        &app,
        DataModel::builtin_tr098(),
        "SIM-CR-1",
        "sim-cr",
        "pw-cr",
    );
    let url = format!(
        "http://{}",
        sim.start_connection_request_server().await.unwrap()
    );
    let mut c = CpeClient::new(sim.client_options()).unwrap();
    sim.run_until_idle(&mut c).await.unwrap();
    let before = sim.transcripts().len();
    // Whatever credentials the tree holds now (the ACS may have set its own).
    let ms = format!("{IGD}ManagementServer.");
    let user = sim
        .value(&format!("{ms}ConnectionRequestUsername"))
        .unwrap();
    let pass = sim
        .value(&format!("{ms}ConnectionRequestPassword"))
        .unwrap();
    let cr_url = sim.connection_request_url().unwrap();
    assert!(cr_url.starts_with(&url));
    let kicker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        connection_request(&cr_url, &user, &pass).await.unwrap()
    });
    let logs = sim
        .serve_until_quiet(&mut c, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(kicker.await.unwrap(), 200);
    assert_eq!(sim.connection_requests(), 1);
    assert!(!logs.is_empty());
    assert_eq!(logs[0].events(), vec!["6 CONNECTION REQUEST"]);
    assert_eq!(logs[0].end, SessionEnd::Completed);
    assert_eq!(sim.transcripts().len(), before + logs.len());
    app.stop().await;
}

async fn two_sessions_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    register(&app, "sim-2s", "pw-2s").await;
    let sim = sim_for(
        &app,
        DataModel::builtin_tr098(),
        "SIM-2S-1",
        "sim-2s",
        "pw-2s",
    );
    let mut c1 = CpeClient::new(sim.client_options()).unwrap();
    let mut c2 = CpeClient::new(sim.client_options()).unwrap();
    sim.run_until_idle(&mut c1).await.unwrap();
    // A second session opens while the first is still open.
    sim.reboot_now();
    let s1 = sim.begin_session(&mut c1).await.unwrap();
    assert_eq!(s1.inform().events[0].event_code, "1 BOOT");
    sim.queue_event("6 CONNECTION REQUEST", "");
    let s2 = sim.begin_session(&mut c2).await.unwrap();
    assert_eq!(s2.inform().events[0].event_code, "6 CONNECTION REQUEST");
    let l1 = s1.finish(&mut c1).await.unwrap();
    let l2 = s2.finish(&mut c2).await.unwrap();
    assert_eq!(l1.end, SessionEnd::Completed);
    assert_eq!(l2.end, SessionEnd::Completed);
    assert!(!sim.is_due());
    app.stop().await;
}

both_backends!(
    first_contact,
    connection_request_wakes_the_simulator,
    two_sessions_at_once,
);
