//! CWMP codec benchmarks: parse and write a 16-parameter Inform and a 1,000-parameter
//! GetParameterValuesResponse.
//!
//! Run: `cargo bench --bench codec` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferroacs::cwmp::{
    self, Body, CwmpNs, CwmpTime, DeviceId, Envelope, EventStruct, Header, Inform, Limits,
    ParameterValue,
};

fn inform_16() -> Envelope {
    let names = [
        (
            "InternetGatewayDevice.DeviceSummary",
            "InternetGatewayDevice:1.4[](Baseline:1, EthernetLAN:1, WiFiLAN:1, Time:1)",
            "string",
        ),
        (
            "InternetGatewayDevice.DeviceInfo.SpecVersion",
            "1.0",
            "string",
        ),
        (
            "InternetGatewayDevice.DeviceInfo.HardwareVersion",
            "HW_1.0",
            "string",
        ),
        (
            "InternetGatewayDevice.DeviceInfo.SoftwareVersion",
            "V1.00(AAQU.1)b20",
            "string",
        ),
        (
            "InternetGatewayDevice.DeviceInfo.ProvisioningCode",
            "",
            "string",
        ),
        (
            "InternetGatewayDevice.DeviceInfo.UpTime",
            "86400",
            "unsignedInt",
        ),
        (
            "InternetGatewayDevice.ManagementServer.ConnectionRequestURL",
            "http://198.51.100.7:7547/abcdef0123456789",
            "string",
        ),
        (
            "InternetGatewayDevice.ManagementServer.ParameterKey",
            "fd2cc42d07adccccbf39052325a85f11",
            "string",
        ),
        (
            "InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
            "3600",
            "unsignedInt",
        ),
        (
            "InternetGatewayDevice.ManagementServer.PeriodicInformEnable",
            "1",
            "boolean",
        ),
        (
            "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress",
            "198.51.100.7",
            "string",
        ),
        (
            "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.MACAddress",
            "4C:9E:FF:01:02:03",
            "string",
        ),
        (
            "InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceIPAddress",
            "192.168.1.1",
            "string",
        ),
        (
            "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID",
            "Home & Garden <5G>",
            "string",
        ),
        (
            "InternetGatewayDevice.Time.CurrentLocalTime",
            "2024-01-02T03:04:05Z",
            "dateTime",
        ),
        (".ExternalIPAddress", "198.51.100.7", "string"),
    ];
    Envelope::new(
        CwmpNs::V1_0,
        Header::with_id("844317904"),
        Body::Inform(Inform {
            device_id: DeviceId {
                manufacturer: "ZyXEL".into(),
                oui: "4C9EFF".into(),
                product_class: "VMG8924-B10A".into(),
                serial_number: "S140Y24025829".into(),
            },
            events: vec![
                EventStruct::new("1 BOOT", ""),
                EventStruct::new("4 VALUE CHANGE", ""),
            ],
            max_envelopes: 1,
            current_time: Some(CwmpTime::parse("2016-01-30T13:20:27+01:00")),
            retry_count: 0,
            parameters: names
                .iter()
                .map(|(n, v, t)| ParameterValue::typed(*n, *v, t))
                .collect(),
        }),
    )
}

fn gpv_response_1000() -> Envelope {
    let list = (0..1000)
        .map(|i| {
            let (suffix, value, ty) = match i % 4 {
                0 => ("SSID", format!("network-{i}"), "string"),
                1 => ("Channel", format!("{}", i % 13 + 1), "unsignedInt"),
                2 => ("Enable", "true".to_owned(), "boolean"),
                _ => ("BeaconType", "11i".to_owned(), "string"),
            };
            ParameterValue::typed(
                format!(
                    "InternetGatewayDevice.LANDevice.1.WLANConfiguration.{}.{suffix}",
                    i / 4 + 1
                ),
                value,
                ty,
            )
        })
        .collect();
    Envelope::new(
        CwmpNs::V1_0,
        Header::with_id("ferroacs-17"),
        Body::GetParameterValuesResponse(list),
    )
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, env) in [
        ("inform_16", inform_16()),
        ("gpv_response_1000", gpv_response_1000()),
    ] {
        let bytes = cwmp::to_vec(&env);
        assert_eq!(cwmp::parse(&bytes, &limits).as_ref(), Ok(&env));
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("parse", |b| {
            b.iter(|| cwmp::parse(black_box(&bytes), &limits).unwrap())
        });
        let mut out = Vec::with_capacity(bytes.len());
        g.bench_function("write", |b| {
            b.iter(|| {
                out.clear();
                cwmp::write(black_box(&env), &mut out);
                out.len()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
