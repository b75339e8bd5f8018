//! The CWMP message model: one Rust value per SOAP envelope, in both directions.

use super::time::CwmpTime;

/// The CWMP namespace of an envelope, as seen on (or meant for) the wire.
///
/// CWMP 1.3 and 1.4 reuse the `urn:dslforum-org:cwmp-1-2` namespace and negotiate the protocol
/// version through the `SupportedCWMPVersions` / `UseCWMPVersion` headers; some CPEs nevertheless
/// send `urn:dslforum-org:cwmp-1-3` / `-1-4`. The parser reports the namespace literally used by
/// the peer ([`CwmpNs::from_uri`] of [`CwmpNs::wire_uri`]); the writer by default writes
/// [`CwmpNs::uri`] (`-1-2` for 1.3/1.4) and can write [`CwmpNs::wire_uri`] on request
/// ([`super::NsMode::Wire`]), e.g. to answer a CPE in exactly the namespace it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum CwmpNs {
    /// `urn:dslforum-org:cwmp-1-0` (TR-069 Amendment 1). The default for unprefixed or unknown.
    #[default]
    V1_0,
    /// `urn:dslforum-org:cwmp-1-1`
    V1_1,
    /// `urn:dslforum-org:cwmp-1-2`
    V1_2,
    /// CWMP 1.3: written as `urn:dslforum-org:cwmp-1-2`; parsed from a literal `-1-3`.
    V1_3,
    /// CWMP 1.4: written as `urn:dslforum-org:cwmp-1-2`; parsed from a literal `-1-4`.
    V1_4,
}

impl CwmpNs {
    /// Every namespace, oldest first.
    pub const ALL: [CwmpNs; 5] = [
        CwmpNs::V1_0,
        CwmpNs::V1_1,
        CwmpNs::V1_2,
        CwmpNs::V1_3,
        CwmpNs::V1_4,
    ];

    /// The namespace URI the writer uses by default: 1.3 and 1.4 share the `-1-2` namespace.
    pub fn uri(&self) -> &'static str {
        match self {
            CwmpNs::V1_0 => "urn:dslforum-org:cwmp-1-0",
            CwmpNs::V1_1 => "urn:dslforum-org:cwmp-1-1",
            CwmpNs::V1_2 | CwmpNs::V1_3 | CwmpNs::V1_4 => "urn:dslforum-org:cwmp-1-2",
        }
    }

    /// The literal namespace URI `urn:dslforum-org:cwmp-1-N` of this variant (what a CPE that
    /// sends `-1-3` / `-1-4` namespaces used).
    pub fn wire_uri(&self) -> &'static str {
        match self {
            CwmpNs::V1_0 => "urn:dslforum-org:cwmp-1-0",
            CwmpNs::V1_1 => "urn:dslforum-org:cwmp-1-1",
            CwmpNs::V1_2 => "urn:dslforum-org:cwmp-1-2",
            CwmpNs::V1_3 => "urn:dslforum-org:cwmp-1-3",
            CwmpNs::V1_4 => "urn:dslforum-org:cwmp-1-4",
        }
    }

    /// The protocol version string, as used in `SupportedCWMPVersions`: `"1.0"` .. `"1.4"`.
    pub fn version(&self) -> &'static str {
        match self {
            CwmpNs::V1_0 => "1.0",
            CwmpNs::V1_1 => "1.1",
            CwmpNs::V1_2 => "1.2",
            CwmpNs::V1_3 => "1.3",
            CwmpNs::V1_4 => "1.4",
        }
    }

    /// Maps a literal namespace URI to its variant (surrounding whitespace ignored);
    /// `None` for anything that is not `urn:dslforum-org:cwmp-1-0` .. `-1-4`.
    pub fn from_uri(uri: &str) -> Option<CwmpNs> {
        let rest = uri.trim().strip_prefix("urn:dslforum-org:cwmp-1-")?;
        match rest {
            "0" => Some(CwmpNs::V1_0),
            "1" => Some(CwmpNs::V1_1),
            "2" => Some(CwmpNs::V1_2),
            "3" => Some(CwmpNs::V1_3),
            "4" => Some(CwmpNs::V1_4),
            _ => None,
        }
    }
}

/// SOAP header entries CWMP defines. `None` = absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// `cwmp:ID` (mustUnderstand=1): pairs a request with its response. Kept exactly as sent.
    pub id: Option<String>,
    /// `cwmp:HoldRequests`: `1`/`true`/`0`/`false` on the wire.
    pub hold_requests: Option<bool>,
    /// `cwmp:NoMoreRequests` (deprecated since 1.1, still sent by old CPEs).
    pub no_more_requests: Option<bool>,
    /// `cwmp:SessionTimeout` (1.3), in seconds.
    pub session_timeout: Option<u32>,
    /// `cwmp:SupportedCWMPVersions` (1.4), e.g. `"1.0,1.1,1.2,1.3,1.4"`.
    pub supported_cwmp_versions: Option<String>,
    /// `cwmp:UseCWMPVersion` (1.4), e.g. `"1.4"`.
    pub use_cwmp_version: Option<String>,
}

impl Header {
    /// A header carrying only a `cwmp:ID`.
    pub fn with_id(id: impl Into<String>) -> Header {
        Header {
            id: Some(id.into()),
            ..Header::default()
        }
    }

    /// True when no header entry is present (the writer then omits `soap-env:Header`).
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.hold_requests.is_none()
            && self.no_more_requests.is_none()
            && self.session_timeout.is_none()
            && self.supported_cwmp_versions.is_none()
            && self.use_cwmp_version.is_none()
    }
}

/// One SOAP envelope carrying one CWMP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub ns: CwmpNs,
    pub header: Header,
    pub body: Body,
}

impl Envelope {
    pub fn new(ns: CwmpNs, header: Header, body: Body) -> Envelope {
        Envelope { ns, header, body }
    }
}

/// A `ParameterValueStruct`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ParameterValue {
    pub name: String,
    pub value: String,
    /// The `xsi:type` of `Value` as sent, normalised to the `xsd:` prefix (`"xsd:string"`,
    /// `"xsd:unsignedInt"`, `"xsd:boolean"`, `"xsd:dateTime"`, `"xsd:base64"`, ...);
    /// `None` when the peer sent no `xsi:type`. The writer omits `xsi:type` for `None`.
    pub xsd_type: Option<String>,
}

impl ParameterValue {
    /// An untyped value (no `xsi:type` on the wire).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> ParameterValue {
        ParameterValue {
            name: name.into(),
            value: value.into(),
            xsd_type: None,
        }
    }

    /// A typed value; `xsd_type` may be given with or without the `xsd:` prefix.
    pub fn typed(
        name: impl Into<String>,
        value: impl Into<String>,
        xsd_type: impl AsRef<str>,
    ) -> ParameterValue {
        ParameterValue {
            name: name.into(),
            value: value.into(),
            xsd_type: normalize_xsd_type(xsd_type.as_ref()),
        }
    }
}

/// Normalises an `xsi:type` value to the `xsd:` prefix: `"xs:string"`, `"string"`,
/// `" xsd:string "` all become `"xsd:string"`; empty gives `None`.
pub fn normalize_xsd_type(t: &str) -> Option<String> {
    let t = t.trim();
    let local = match t.rfind(':') {
        Some(i) => &t[i + 1..],
        None => t,
    };
    let local = local.trim();
    if local.is_empty() {
        None
    } else if t.len() == local.len() + 4 && t.starts_with("xsd:") {
        Some(t.to_owned())
    } else {
        let mut s = String::with_capacity(local.len() + 4);
        s.push_str("xsd:");
        s.push_str(local);
        Some(s)
    }
}

/// `DeviceIdStruct`. OUI-ProductClass-SerialNumber is the usual unique key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DeviceId {
    pub manufacturer: String,
    pub oui: String,
    pub product_class: String,
    pub serial_number: String,
}

/// `EventStruct`: e.g. `("1 BOOT", "")`, `("M Reboot", "key")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EventStruct {
    pub event_code: String,
    pub command_key: String,
}

impl EventStruct {
    pub fn new(event_code: impl Into<String>, command_key: impl Into<String>) -> EventStruct {
        EventStruct {
            event_code: event_code.into(),
            command_key: command_key.into(),
        }
    }
}

/// The `Inform` request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inform {
    pub device_id: DeviceId,
    pub events: Vec<EventStruct>,
    pub max_envelopes: u32,
    /// `None` when absent, empty or the "unknown time" `0001-01-01T00:00:00Z`; otherwise the
    /// raw value, whose `datetime` may still be `None` when it does not parse.
    pub current_time: Option<CwmpTime>,
    pub retry_count: u32,
    /// In wire order, duplicates kept.
    pub parameters: Vec<ParameterValue>,
}

/// `FaultStruct` of TransferComplete / AutonomousTransferComplete.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FaultStruct {
    pub code: u32,
    pub string: String,
}

/// The `TransferComplete` request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransferComplete {
    pub command_key: String,
    /// `None` when FaultCode is 0 (success) or the FaultStruct is absent.
    pub fault: Option<FaultStruct>,
    /// `None` when absent, empty or `0001-01-01T00:00:00Z` (written back as the latter).
    pub start_time: Option<CwmpTime>,
    pub complete_time: Option<CwmpTime>,
}

/// The `AutonomousTransferComplete` request (CWMP 1.1+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutonomousTransferComplete {
    pub announce_url: String,
    pub transfer_url: String,
    pub is_download: bool,
    pub file_type: String,
    pub file_size: u64,
    pub target_file_name: String,
    pub fault: Option<FaultStruct>,
    pub start_time: Option<CwmpTime>,
    pub complete_time: Option<CwmpTime>,
}

/// An `ArgStruct` of RequestDownload's `FileTypeArg`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ArgStruct {
    pub name: String,
    pub value: String,
}

/// The `RequestDownload` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RequestDownload {
    pub file_type: String,
    pub file_type_args: Vec<ArgStruct>,
}

/// The `Kicked` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Kicked {
    pub command: String,
    pub referer: String,
    pub arg: String,
    pub next: String,
}

/// The `Download` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Download {
    pub command_key: String,
    /// e.g. `"1 Firmware Upgrade Image"`, `"3 Vendor Configuration File"`.
    pub file_type: String,
    pub url: String,
    pub username: String,
    pub password: String,
    pub file_size: u64,
    pub target_file_name: String,
    pub delay_seconds: u32,
    pub success_url: String,
    pub failure_url: String,
}

/// The `Upload` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Upload {
    pub command_key: String,
    /// e.g. `"1 Vendor Configuration File"`, `"2 Vendor Log File"`.
    pub file_type: String,
    pub url: String,
    pub username: String,
    pub password: String,
    pub delay_seconds: u32,
}

/// A `ParameterInfoStruct` (GetParameterNamesResponse).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ParameterInfo {
    pub name: String,
    pub writable: bool,
}

/// A `SetParameterAttributesStruct`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SetParameterAttributesStruct {
    pub name: String,
    pub notification_change: bool,
    /// 0 off, 1 passive, 2 active (3..6 lightweight notification, 1.4).
    pub notification: i32,
    pub access_list_change: bool,
    /// e.g. `["Subscriber"]`.
    pub access_list: Vec<String>,
}

/// A `ParameterAttributeStruct` (GetParameterAttributesResponse).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ParameterAttributeStruct {
    pub name: String,
    pub notification: i32,
    pub access_list: Vec<String>,
}

/// One `SetParameterValuesFault` entry of a 9003 SetParameterValues fault.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SetParameterValuesFault {
    pub parameter_name: String,
    pub fault_code: u32,
    pub fault_string: String,
}

/// A SOAP Fault carrying a `cwmp:Fault` detail.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Fault {
    /// SOAP `faultcode`: `"Client"` or `"Server"` (any `soap-env:` prefix is stripped when parsing).
    pub faultcode: String,
    /// SOAP `faultstring`, conventionally `"CWMP fault"`.
    pub faultstring: String,
    /// cwmp `FaultCode` (8000-8899 ACS faults, 9000-9899 CPE faults); 0 when the peer sent no
    /// cwmp:Fault detail at all.
    pub fault_code: u32,
    /// cwmp `FaultString`.
    pub fault_string: String,
    /// `SetParameterValuesFault` entries, in wire order.
    pub set_parameter_values_faults: Vec<SetParameterValuesFault>,
}

impl Fault {
    /// A CWMP fault with the SOAP `faultcode` TR-069 assigns to `code` ("Client" for invalid
    /// arguments / parameter faults, "Server" otherwise) and `faultstring` "CWMP fault".
    pub fn new(code: u32, string: impl Into<String>) -> Fault {
        let client = matches!(code, 8003 | 8005 | 9003 | 9005 | 9006 | 9007 | 9008);
        Fault {
            faultcode: if client { "Client" } else { "Server" }.to_owned(),
            faultstring: "CWMP fault".to_owned(),
            fault_code: code,
            fault_string: string.into(),
            set_parameter_values_faults: Vec::new(),
        }
    }
}

/// Who sends a message: [`Body::direction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the CPE (its requests and its responses to the ACS's requests).
    CpeToAcs,
    /// Sent by the ACS.
    AcsToCpe,
    /// `GetRPCMethods`, `GetRPCMethodsResponse` and SOAP faults go both ways.
    Both,
}

/// The one CWMP message of an envelope (the child of `soap-env:Body`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    // ---- CPE -> ACS requests ----
    Inform(Inform),
    TransferComplete(TransferComplete),
    AutonomousTransferComplete(AutonomousTransferComplete),
    /// Either direction: the ACS may ask the CPE too.
    GetRPCMethods,
    RequestDownload(RequestDownload),
    Kicked(Kicked),

    // ---- ACS -> CPE responses to those ----
    InformResponse {
        max_envelopes: u32,
    },
    TransferCompleteResponse,
    AutonomousTransferCompleteResponse,
    /// Either direction.
    GetRPCMethodsResponse(Vec<String>),
    RequestDownloadResponse,
    KickedResponse {
        next_url: String,
    },

    // ---- ACS -> CPE requests ----
    GetParameterValues(Vec<String>),
    SetParameterValues {
        list: Vec<ParameterValue>,
        parameter_key: String,
    },
    GetParameterNames {
        path: String,
        next_level: bool,
    },
    GetParameterAttributes(Vec<String>),
    SetParameterAttributes(Vec<SetParameterAttributesStruct>),
    AddObject {
        object_name: String,
        parameter_key: String,
    },
    DeleteObject {
        object_name: String,
        parameter_key: String,
    },
    Reboot {
        command_key: String,
    },
    FactoryReset,
    Download(Download),
    Upload(Upload),
    ScheduleInform {
        delay_seconds: u32,
        command_key: String,
    },

    // ---- CPE -> ACS responses ----
    GetParameterValuesResponse(Vec<ParameterValue>),
    SetParameterValuesResponse {
        status: i32,
    },
    GetParameterNamesResponse(Vec<ParameterInfo>),
    GetParameterAttributesResponse(Vec<ParameterAttributeStruct>),
    SetParameterAttributesResponse,
    AddObjectResponse {
        instance_number: u32,
        status: i32,
    },
    DeleteObjectResponse {
        status: i32,
    },
    RebootResponse,
    FactoryResetResponse,
    DownloadResponse {
        status: i32,
        start_time: Option<CwmpTime>,
        complete_time: Option<CwmpTime>,
    },
    UploadResponse {
        status: i32,
        start_time: Option<CwmpTime>,
        complete_time: Option<CwmpTime>,
    },
    ScheduleInformResponse,

    // ---- either direction ----
    /// A SOAP Fault (`soap-env:Fault`) with a `cwmp:Fault` detail.
    Fault(Fault),
}

impl Body {
    /// The element name on the wire (`"Inform"`, `"GetParameterValuesResponse"`, ...);
    /// `"Fault"` for a SOAP fault.
    pub fn method_name(&self) -> &'static str {
        match self {
            Body::Inform(_) => "Inform",
            Body::TransferComplete(_) => "TransferComplete",
            Body::AutonomousTransferComplete(_) => "AutonomousTransferComplete",
            Body::GetRPCMethods => "GetRPCMethods",
            Body::RequestDownload(_) => "RequestDownload",
            Body::Kicked(_) => "Kicked",
            Body::InformResponse { .. } => "InformResponse",
            Body::TransferCompleteResponse => "TransferCompleteResponse",
            Body::AutonomousTransferCompleteResponse => "AutonomousTransferCompleteResponse",
            Body::GetRPCMethodsResponse(_) => "GetRPCMethodsResponse",
            Body::RequestDownloadResponse => "RequestDownloadResponse",
            Body::KickedResponse { .. } => "KickedResponse",
            Body::GetParameterValues(_) => "GetParameterValues",
            Body::SetParameterValues { .. } => "SetParameterValues",
            Body::GetParameterNames { .. } => "GetParameterNames",
            Body::GetParameterAttributes(_) => "GetParameterAttributes",
            Body::SetParameterAttributes(_) => "SetParameterAttributes",
            Body::AddObject { .. } => "AddObject",
            Body::DeleteObject { .. } => "DeleteObject",
            Body::Reboot { .. } => "Reboot",
            Body::FactoryReset => "FactoryReset",
            Body::Download(_) => "Download",
            Body::Upload(_) => "Upload",
            Body::ScheduleInform { .. } => "ScheduleInform",
            Body::GetParameterValuesResponse(_) => "GetParameterValuesResponse",
            Body::SetParameterValuesResponse { .. } => "SetParameterValuesResponse",
            Body::GetParameterNamesResponse(_) => "GetParameterNamesResponse",
            Body::GetParameterAttributesResponse(_) => "GetParameterAttributesResponse",
            Body::SetParameterAttributesResponse => "SetParameterAttributesResponse",
            Body::AddObjectResponse { .. } => "AddObjectResponse",
            Body::DeleteObjectResponse { .. } => "DeleteObjectResponse",
            Body::RebootResponse => "RebootResponse",
            Body::FactoryResetResponse => "FactoryResetResponse",
            Body::DownloadResponse { .. } => "DownloadResponse",
            Body::UploadResponse { .. } => "UploadResponse",
            Body::ScheduleInformResponse => "ScheduleInformResponse",
            Body::Fault(_) => "Fault",
        }
    }

    /// Who sends this message.
    pub fn direction(&self) -> Direction {
        match self {
            Body::GetRPCMethods | Body::GetRPCMethodsResponse(_) | Body::Fault(_) => {
                Direction::Both
            }
            Body::Inform(_)
            | Body::TransferComplete(_)
            | Body::AutonomousTransferComplete(_)
            | Body::RequestDownload(_)
            | Body::Kicked(_)
            | Body::GetParameterValuesResponse(_)
            | Body::SetParameterValuesResponse { .. }
            | Body::GetParameterNamesResponse(_)
            | Body::GetParameterAttributesResponse(_)
            | Body::SetParameterAttributesResponse
            | Body::AddObjectResponse { .. }
            | Body::DeleteObjectResponse { .. }
            | Body::RebootResponse
            | Body::FactoryResetResponse
            | Body::DownloadResponse { .. }
            | Body::UploadResponse { .. }
            | Body::ScheduleInformResponse => Direction::CpeToAcs,
            Body::InformResponse { .. }
            | Body::TransferCompleteResponse
            | Body::AutonomousTransferCompleteResponse
            | Body::RequestDownloadResponse
            | Body::KickedResponse { .. }
            | Body::GetParameterValues(_)
            | Body::SetParameterValues { .. }
            | Body::GetParameterNames { .. }
            | Body::GetParameterAttributes(_)
            | Body::SetParameterAttributes(_)
            | Body::AddObject { .. }
            | Body::DeleteObject { .. }
            | Body::Reboot { .. }
            | Body::FactoryReset
            | Body::Download(_)
            | Body::Upload(_)
            | Body::ScheduleInform { .. } => Direction::AcsToCpe,
        }
    }

    /// True for the `...Response` messages.
    pub fn is_response(&self) -> bool {
        self.method_name().ends_with("Response")
    }

    /// True for SOAP faults.
    pub fn is_fault(&self) -> bool {
        matches!(self, Body::Fault(_))
    }
}
