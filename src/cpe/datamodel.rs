//! Parameter trees for the CPE simulator: loaded from GenieACS CSV exports, or built in.
//!
//! A [`DataModel`] is immutable once built and meant to be shared (`Arc<DataModel>`) by every
//! simulated device of one model; each device keeps only its own changes on top of it.
//!
//! Names follow TR-069: objects end with a `.` (`InternetGatewayDevice.LANDevice.1.`), parameters
//! do not. GenieACS exports objects without the trailing dot and with `Object` = `true`; the
//! loader adds the dot. Objects a parameter implies are added when a file lacks them.
//!
//! CSV layouts: the five columns `Parameter,Object,Writable,Value,Value type`, or the longer
//! GenieACS layout with `… timestamp` columns (and Notification / Access list) in between; the
//! columns are found by their header names. Values may be quoted, with `""` escapes, commas and
//! line breaks inside. Only rows under `InternetGatewayDevice.` or `Device.` form the tree; the
//! `DeviceID.*` rows give [`DataModel::device_id`]; other rows (`Events.*`, tags, virtual
//! parameters) are ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::cwmp::DeviceId;

pub const TR098_ROOT: &str = "InternetGatewayDevice.";
pub const TR181_ROOT: &str = "Device.";

/// The `xsi:type` of a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum XsdType {
    #[default]
    String,
    Int,
    UnsignedInt,
    Long,
    UnsignedLong,
    Boolean,
    DateTime,
    Base64,
    HexBinary,
    /// Anything else, as written (normalised to the `xsd:` prefix).
    Other(Box<str>),
}

impl XsdType {
    /// Reads `xsd:unsignedInt`, `unsignedint`, `xs:Int`, ... (case-insensitive, any prefix);
    /// empty gives [`XsdType::String`].
    pub fn parse(s: &str) -> XsdType {
        let s = s.trim();
        let local = s.rsplit(':').next().unwrap_or("").trim();
        match local.to_ascii_lowercase().as_str() {
            "" | "string" => XsdType::String,
            "int" => XsdType::Int,
            "unsignedint" => XsdType::UnsignedInt,
            "long" => XsdType::Long,
            "unsignedlong" => XsdType::UnsignedLong,
            "boolean" => XsdType::Boolean,
            "datetime" => XsdType::DateTime,
            "base64" | "base64binary" => XsdType::Base64,
            "hexbinary" => XsdType::HexBinary,
            _ => XsdType::Other(format!("xsd:{local}").into()),
        }
    }

    /// `"xsd:string"`, `"xsd:unsignedInt"`, ...
    pub fn as_str(&self) -> &str {
        match self {
            XsdType::String => "xsd:string",
            XsdType::Int => "xsd:int",
            XsdType::UnsignedInt => "xsd:unsignedInt",
            XsdType::Long => "xsd:long",
            XsdType::UnsignedLong => "xsd:unsignedLong",
            XsdType::Boolean => "xsd:boolean",
            XsdType::DateTime => "xsd:dateTime",
            XsdType::Base64 => "xsd:base64",
            XsdType::HexBinary => "xsd:hexBinary",
            XsdType::Other(s) => s,
        }
    }

    /// Whether `value` is a valid lexical value of this type (TR-069's rules: booleans are
    /// `0`/`1`/`true`/`false`, dateTimes may be the unknown time).
    pub fn accepts(&self, value: &str) -> bool {
        match self {
            XsdType::String | XsdType::Other(_) => true,
            XsdType::Int => value.parse::<i32>().is_ok(),
            XsdType::UnsignedInt => !value.starts_with('+') && value.parse::<u32>().is_ok(),
            XsdType::Long => value.parse::<i64>().is_ok(),
            XsdType::UnsignedLong => !value.starts_with('+') && value.parse::<u64>().is_ok(),
            XsdType::Boolean => {
                matches!(
                    value.to_ascii_lowercase().as_str(),
                    "0" | "1" | "true" | "false"
                )
            }
            XsdType::DateTime => {
                value.starts_with("0001-01-01T00:00:00")
                    || crate::cwmp::parse_datetime(value).is_some()
            }
            XsdType::Base64 => value.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r')
            }),
            XsdType::HexBinary => {
                value.len().is_multiple_of(2) && value.bytes().all(|b| b.is_ascii_hexdigit())
            }
        }
    }

    /// The value a fresh object instance gets.
    pub fn default_value(&self) -> &'static str {
        match self {
            XsdType::Int | XsdType::UnsignedInt | XsdType::Long | XsdType::UnsignedLong => "0",
            XsdType::Boolean => "false",
            XsdType::DateTime => crate::cwmp::UNKNOWN_TIME,
            _ => "",
        }
    }
}

impl fmt::Display for XsdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a tree: a parameter, or an object when its name ends with `.`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Empty for objects.
    pub value: Box<str>,
    /// [`XsdType::String`] for objects (unused).
    pub xsd_type: XsdType,
    /// Parameters: SetParameterValues allowed. Objects: AddObject allowed (a writable table)
    /// or, for an instance, DeleteObject allowed.
    pub writable: bool,
}

impl Node {
    pub fn param(value: impl Into<Box<str>>, xsd_type: XsdType, writable: bool) -> Node {
        Node {
            value: value.into(),
            xsd_type,
            writable,
        }
    }

    pub fn object(writable: bool) -> Node {
        Node {
            value: "".into(),
            xsd_type: XsdType::String,
            writable,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataModelError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("CSV header lacks the {0:?} column")]
    MissingColumn(&'static str),
    #[error("CSV: unterminated quoted value at the end of the file")]
    UnterminatedQuote,
    #[error("no InternetGatewayDevice. or Device. parameter in the data model")]
    Empty,
}

/// A whole parameter tree, immutable and shareable.
#[derive(Clone, PartialEq, Eq)]
pub struct DataModel {
    root: &'static str,
    entries: BTreeMap<Box<str>, Node>,
    device_id: Option<DeviceId>,
    source: String,
    wan_ip: Option<Box<str>>,
}

impl fmt::Debug for DataModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataModel")
            .field("source", &self.source)
            .field("root", &self.root)
            .field("entries", &self.entries.len())
            .field("device_id", &self.device_id)
            .finish()
    }
}

impl DataModel {
    /// A tree from `(name, node)` pairs; objects implied by parameter names are added
    /// (non-writable). `root` is taken from the names (`Device.` only when no name starts with
    /// `InternetGatewayDevice.`).
    pub fn from_entries<N: Into<String>>(
        source: impl Into<String>,
        entries: impl IntoIterator<Item = (N, Node)>,
        device_id: Option<DeviceId>,
    ) -> Result<DataModel, DataModelError> {
        let mut map: BTreeMap<Box<str>, Node> = BTreeMap::new();
        for (name, node) in entries {
            let name: String = name.into();
            if name.is_empty() {
                continue;
            }
            map.insert(name.into_boxed_str(), node);
        }
        // Implied objects.
        let mut missing = Vec::new();
        for name in map.keys() {
            let trimmed = name.strip_suffix('.').unwrap_or(name);
            for (i, _) in trimmed.match_indices('.') {
                let obj = &name[..=i];
                if !map.contains_key(obj) {
                    missing.push(obj.to_string());
                }
            }
        }
        for m in missing {
            map.entry(m.into_boxed_str())
                .or_insert_with(|| Node::object(false));
        }
        let tr098 = map.keys().any(|k| k.starts_with(TR098_ROOT));
        let tr181 = map.keys().any(|k| k.starts_with(TR181_ROOT));
        let root = match (tr098, tr181) {
            (true, _) => TR098_ROOT,
            (false, true) => TR181_ROOT,
            (false, false) => return Err(DataModelError::Empty),
        };
        let wan_ip = find_wan_ip(&map, root);
        Ok(DataModel {
            root,
            entries: map,
            device_id,
            source: source.into(),
            wan_ip,
        })
    }

    /// Loads a GenieACS CSV export.
    pub fn load_csv(path: impl AsRef<Path>) -> Result<DataModel, DataModelError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| DataModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let source = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        DataModel::parse_csv(&text, source)
    }

    /// Parses the text of a GenieACS CSV export (either header layout).
    pub fn parse_csv(text: &str, source: impl Into<String>) -> Result<DataModel, DataModelError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut records = CsvRecords::new(text);
        let header = match records.next() {
            Some(r) => r?,
            None => return Err(DataModelError::MissingColumn("Parameter")),
        };
        let col = |name: &'static str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or(DataModelError::MissingColumn(name))
        };
        let c_param = col("Parameter")?;
        let c_object = col("Object")?;
        let c_writable = col("Writable")?;
        let c_value = col("Value")?;
        let c_type = col("Value type")?;
        let mut entries = Vec::new();
        let mut id = DeviceId::default();
        let mut has_id = false;
        for record in records {
            let record = record?;
            let field = |i: usize| record.get(i).map(String::as_str).unwrap_or("");
            let name = field(c_param).trim();
            let truthy = |s: &str| s.trim().eq_ignore_ascii_case("true");
            if let Some(k) = name.strip_prefix("DeviceID.") {
                let v = field(c_value).to_string();
                has_id = true;
                match k {
                    "Manufacturer" => id.manufacturer = v,
                    "OUI" => id.oui = v,
                    "ProductClass" => id.product_class = v,
                    "SerialNumber" => id.serial_number = v,
                    _ => {}
                }
                continue;
            }
            let in_tree = |root: &str| {
                let bare = &root[..root.len() - 1];
                name == bare || name.starts_with(root)
            };
            if !(in_tree(TR098_ROOT) || in_tree(TR181_ROOT)) {
                continue;
            }
            let writable = truthy(field(c_writable));
            if truthy(field(c_object)) || name.ends_with('.') {
                let mut n = name.trim_end_matches('.').to_string();
                n.push('.');
                entries.push((n, Node::object(writable)));
            } else {
                entries.push((
                    name.to_string(),
                    Node::param(field(c_value), XsdType::parse(field(c_type)), writable),
                ));
            }
        }
        DataModel::from_entries(source, entries, has_id.then_some(id))
    }

    /// The built-in small TR-098 tree (shared).
    pub fn builtin_tr098() -> Arc<DataModel> {
        static M: OnceLock<Arc<DataModel>> = OnceLock::new();
        M.get_or_init(|| Arc::new(builtin(TR098_ROOT))).clone()
    }

    /// The built-in small TR-181 tree (shared).
    pub fn builtin_tr181() -> Arc<DataModel> {
        static M: OnceLock<Arc<DataModel>> = OnceLock::new();
        M.get_or_init(|| Arc::new(builtin(TR181_ROOT))).clone()
    }

    /// `"InternetGatewayDevice."` or `"Device."`.
    pub fn root(&self) -> &'static str {
        self.root
    }

    pub fn is_tr098(&self) -> bool {
        self.root == TR098_ROOT
    }

    /// File name, or `"builtin TR-098"` / `"builtin TR-181"`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The `DeviceID.*` rows of the export, when present.
    pub fn device_id(&self) -> Option<&DeviceId> {
        self.device_id.as_ref()
    }

    /// The parameter reported as the WAN address in Informs: the first
    /// `…WAN{IP,PPP}Connection.N.ExternalIPAddress` (TR-098) or `Device.IP.Interface.N.IPv4Address.N.IPAddress`
    /// (TR-181), preferring a public address, then any set address.
    pub fn wan_ip_param(&self) -> Option<&str> {
        self.wan_ip.as_deref()
    }

    /// Number of entries (objects and parameters).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn objects_count(&self) -> usize {
        self.entries.keys().filter(|k| k.ends_with('.')).count()
    }

    pub fn params_count(&self) -> usize {
        self.entries.keys().filter(|k| !k.ends_with('.')).count()
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entries.get(name)
    }

    /// A parameter's value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|n| &*n.value)
    }

    /// Every entry, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// Entries whose names start with `prefix`, in name order.
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a Node)> {
        self.entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (&**k, v))
    }
}

fn is_instance_segment(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn find_wan_ip(map: &BTreeMap<Box<str>, Node>, root: &str) -> Option<Box<str>> {
    let matches = |name: &str| -> bool {
        let Some(rest) = name.strip_prefix(root) else {
            return false;
        };
        let seg: Vec<&str> = rest.split('.').collect();
        if root == TR098_ROOT {
            seg.len() == 7
                && seg[0] == "WANDevice"
                && is_instance_segment(seg[1])
                && seg[2] == "WANConnectionDevice"
                && is_instance_segment(seg[3])
                && (seg[4] == "WANIPConnection" || seg[4] == "WANPPPConnection")
                && is_instance_segment(seg[5])
                && seg[6] == "ExternalIPAddress"
        } else {
            seg.len() == 6
                && seg[0] == "IP"
                && seg[1] == "Interface"
                && is_instance_segment(seg[2])
                && seg[3] == "IPv4Address"
                && is_instance_segment(seg[4])
                && seg[5] == "IPAddress"
        }
    };
    let candidates: Vec<(&str, &str)> = map
        .iter()
        .filter(|(k, _)| matches(k))
        .map(|(k, v)| (&**k, &*v.value))
        .collect();
    let set = |v: &str| !v.is_empty() && v != "0.0.0.0";
    let public = |v: &str| {
        v.parse::<std::net::Ipv4Addr>()
            .map(|ip| {
                !(ip.is_private() || ip.is_loopback() || ip.is_unspecified() || ip.is_link_local())
            })
            .unwrap_or(false)
    };
    candidates
        .iter()
        .find(|(_, v)| public(v))
        .or_else(|| candidates.iter().find(|(_, v)| set(v)))
        .or_else(|| candidates.first())
        .map(|(k, _)| (*k).into())
}

fn builtin(root: &'static str) -> DataModel {
    use XsdType as T;
    let s = |v: &str, w: bool| Node::param(v, T::String, w);
    let mut e: Vec<(String, Node)> = Vec::new();
    let mut add = |name: &str, node: Node| e.push((format!("{root}{name}"), node));
    let tr098 = root == TR098_ROOT;
    add("", Node::object(false));
    if tr098 {
        add(
            "DeviceSummary",
            s(
                "InternetGatewayDevice:1.4[](Baseline:1, EthernetLAN:1, WiFiLAN:1, Time:1)",
                false,
            ),
        );
    } else {
        add("RootDataModelVersion", s("2.12", false));
    }
    add("DeviceInfo.", Node::object(false));
    add("DeviceInfo.Manufacturer", s("Ferroacs Simulated", false));
    add("DeviceInfo.ManufacturerOUI", s("0AC5E1", false));
    add(
        "DeviceInfo.ProductClass",
        s(if tr098 { "SimGW-098" } else { "SimGW-181" }, false),
    );
    add("DeviceInfo.SerialNumber", s("SIM0000001", false));
    add("DeviceInfo.HardwareVersion", s("HW-1", false));
    add("DeviceInfo.SoftwareVersion", s("1.0.0", false));
    add("DeviceInfo.SpecVersion", s("1.0", false));
    add("DeviceInfo.ProvisioningCode", s("", true));
    add("DeviceInfo.UpTime", Node::param("0", T::UnsignedInt, false));
    add("ManagementServer.", Node::object(false));
    add("ManagementServer.URL", s("", true));
    add("ManagementServer.Username", s("", true));
    add("ManagementServer.Password", s("", true));
    add(
        "ManagementServer.PeriodicInformEnable",
        Node::param("true", T::Boolean, true),
    );
    add(
        "ManagementServer.PeriodicInformInterval",
        Node::param("300", T::UnsignedInt, true),
    );
    add(
        "ManagementServer.PeriodicInformTime",
        Node::param(crate::cwmp::UNKNOWN_TIME, T::DateTime, true),
    );
    add(
        "ManagementServer.ConnectionRequestURL",
        s("http://127.0.0.1:7547/cr", false),
    );
    add("ManagementServer.ConnectionRequestUsername", s("", true));
    add("ManagementServer.ConnectionRequestPassword", s("", true));
    add("ManagementServer.ParameterKey", s("", false));
    add("Time.", Node::object(false));
    add("Time.NTPServer1", s("pool.ntp.org", true));
    if tr098 {
        add("LANDevice.", Node::object(false));
        add("LANDevice.1.", Node::object(false));
        add("LANDevice.1.WLANConfiguration.", Node::object(true));
        let w = "LANDevice.1.WLANConfiguration.1.";
        add(w, Node::object(true));
        add(&format!("{w}Enable"), Node::param("true", T::Boolean, true));
        add(&format!("{w}SSID"), s("ferroacs-sim", true));
        add(&format!("{w}KeyPassphrase"), s("", true));
        add(
            &format!("{w}Channel"),
            Node::param("6", T::UnsignedInt, true),
        );
        add(&format!("{w}Status"), s("Up", false));
        add("WANDevice.", Node::object(false));
        add("WANDevice.1.", Node::object(false));
        add("WANDevice.1.WANConnectionDevice.", Node::object(false));
        add("WANDevice.1.WANConnectionDevice.1.", Node::object(false));
        let c = "WANDevice.1.WANConnectionDevice.1.WANIPConnection.";
        add(c, Node::object(false));
        add(&format!("{c}1."), Node::object(false));
        add(
            &format!("{c}1.Enable"),
            Node::param("true", T::Boolean, true),
        );
        add(&format!("{c}1.ConnectionStatus"), s("Connected", false));
        add(&format!("{c}1.ExternalIPAddress"), s("203.0.113.10", false));
        add(&format!("{c}1.PortMapping."), Node::object(true));
        add(
            &format!("{c}1.PortMappingNumberOfEntries"),
            Node::param("0", T::UnsignedInt, false),
        );
    } else {
        add("WiFi.", Node::object(false));
        add("WiFi.Radio.", Node::object(false));
        add("WiFi.Radio.1.", Node::object(false));
        add(
            "WiFi.Radio.1.Channel",
            Node::param("6", T::UnsignedInt, true),
        );
        add("WiFi.SSID.", Node::object(true));
        add("WiFi.SSID.1.", Node::object(true));
        add("WiFi.SSID.1.Enable", Node::param("true", T::Boolean, true));
        add("WiFi.SSID.1.SSID", s("ferroacs-sim", true));
        add("WiFi.SSID.1.Status", s("Up", false));
        add("WiFi.AccessPoint.", Node::object(true));
        add("WiFi.AccessPoint.1.", Node::object(true));
        add(
            "WiFi.AccessPoint.1.Enable",
            Node::param("true", T::Boolean, true),
        );
        add(
            "WiFi.AccessPoint.1.SSIDReference",
            s("Device.WiFi.SSID.1", true),
        );
        add("WiFi.AccessPoint.1.Security.", Node::object(false));
        add("WiFi.AccessPoint.1.Security.KeyPassphrase", s("", true));
        add("IP.", Node::object(false));
        add("IP.Interface.", Node::object(true));
        add("IP.Interface.1.", Node::object(true));
        add(
            "IP.Interface.1.Enable",
            Node::param("true", T::Boolean, true),
        );
        add("IP.Interface.1.IPv4Address.", Node::object(true));
        add("IP.Interface.1.IPv4Address.1.", Node::object(true));
        add(
            "IP.Interface.1.IPv4Address.1.IPAddress",
            s("203.0.113.11", true),
        );
    }
    let source = if tr098 {
        "builtin TR-098"
    } else {
        "builtin TR-181"
    };
    DataModel::from_entries(source, e, None).expect("the built-in tree is valid")
}

/// RFC 4180 records: `,` separators, `"` quoting with `""` escapes, CRLF or LF line ends,
/// line breaks inside quotes kept.
struct CsvRecords<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> CsvRecords<'a> {
    fn new(text: &'a str) -> Self {
        CsvRecords { text, pos: 0 }
    }
}

impl Iterator for CsvRecords<'_> {
    type Item = Result<Vec<String>, DataModelError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        // Skip blank lines.
        while self.pos < bytes.len() && matches!(bytes[self.pos], b'\n' | b'\r') {
            self.pos += 1;
        }
        if self.pos >= bytes.len() {
            return None;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut i = self.pos;
        loop {
            if i >= bytes.len() {
                fields.push(std::mem::take(&mut field));
                self.pos = i;
                return Some(Ok(fields));
            }
            match bytes[i] {
                b'"' if field.is_empty() => {
                    // Quoted field.
                    i += 1;
                    let mut start = i;
                    loop {
                        let Some(q) = self.text[i..].find('"') else {
                            self.pos = bytes.len();
                            return Some(Err(DataModelError::UnterminatedQuote));
                        };
                        i += q;
                        field.push_str(&self.text[start..i]);
                        if bytes.get(i + 1) == Some(&b'"') {
                            field.push('"');
                            i += 2;
                            start = i;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    // Anything up to the separator after the closing quote is kept as is.
                    let end = self.text[i..]
                        .find([',', '\n', '\r'])
                        .map_or(bytes.len(), |p| i + p);
                    field.push_str(&self.text[i..end]);
                    i = end;
                }
                b',' => {
                    fields.push(std::mem::take(&mut field));
                    i += 1;
                }
                b'\r' | b'\n' => {
                    fields.push(std::mem::take(&mut field));
                    if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    self.pos = i + 1;
                    return Some(Ok(fields));
                }
                _ => {
                    let end = self.text[i..]
                        .find([',', '\n', '\r'])
                        .map_or(bytes.len(), |p| i + p);
                    field.push_str(&self.text[i..end]);
                    i = end;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_and_line_breaks() {
        let text = "Parameter,Object,Writable,Value,Value type\r\n\
            DeviceID.Manufacturer,false,false,\"Acme, Inc.\",xsd:string\r\n\
            InternetGatewayDevice.A,true,true,,\r\n\
            InternetGatewayDevice.A.B,false,true,\"line1\nline \"\"2\"\"\",xsd:unsignedint\n\
            InternetGatewayDevice.C.D,false,false,7,xsd:Int\n\
            Events.Inform,false,false,x,xsd:dateTime\n";
        let m = DataModel::parse_csv(text, "t").unwrap();
        assert_eq!(m.device_id().unwrap().manufacturer, "Acme, Inc.");
        assert_eq!(m.root(), TR098_ROOT);
        assert!(m.get("InternetGatewayDevice.").is_some(), "implied root");
        assert!(m.get("InternetGatewayDevice.A.").unwrap().writable);
        let b = m.get("InternetGatewayDevice.A.B").unwrap();
        assert_eq!(&*b.value, "line1\nline \"2\"");
        assert_eq!(b.xsd_type, XsdType::UnsignedInt);
        assert_eq!(
            m.get("InternetGatewayDevice.C.D").unwrap().xsd_type,
            XsdType::Int
        );
        assert!(
            m.get("InternetGatewayDevice.C.").is_some(),
            "implied object"
        );
        assert_eq!(m.len(), 5);
        assert_eq!(m.params_count(), 2);
    }

    #[test]
    fn timestamp_layout() {
        let text = "Parameter,Object,Object timestamp,Writable,Writable timestamp,Value,Value type,Value timestamp\n\
            Device,true,2023,false,2023,\"\",,,\n\
            Device.X,false,2023,true,2023,\"a,b\",xsd:string,2023\n";
        let m = DataModel::parse_csv(text, "t").unwrap();
        assert_eq!(m.root(), TR181_ROOT);
        assert_eq!(m.value("Device.X"), Some("a,b"));
        assert!(m.get("Device.X").unwrap().writable);
    }

    #[test]
    fn missing_column_and_unterminated_quote() {
        assert!(matches!(
            DataModel::parse_csv("Parameter,Object,Value\n", "t"),
            Err(DataModelError::MissingColumn("Writable"))
        ));
        assert!(matches!(
            DataModel::parse_csv(
                "Parameter,Object,Writable,Value,Value type\nDevice.X,false,false,\"abc\n",
                "t"
            ),
            Err(DataModelError::UnterminatedQuote)
        ));
    }

    #[test]
    fn builtins() {
        let a = DataModel::builtin_tr098();
        assert_eq!(
            a.wan_ip_param(),
            Some(
                "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"
            )
        );
        let b = DataModel::builtin_tr181();
        assert_eq!(b.root(), TR181_ROOT);
        assert_eq!(
            b.wan_ip_param(),
            Some("Device.IP.Interface.1.IPv4Address.1.IPAddress")
        );
        assert!(Arc::ptr_eq(&a, &DataModel::builtin_tr098()));
    }

    #[test]
    fn types() {
        assert!(XsdType::UnsignedInt.accepts("42"));
        assert!(!XsdType::UnsignedInt.accepts("-1"));
        assert!(!XsdType::UnsignedInt.accepts("abc"));
        assert!(XsdType::Boolean.accepts("TRUE"));
        assert!(!XsdType::Boolean.accepts("yes"));
        assert!(XsdType::DateTime.accepts("2024-01-01T00:00:00Z"));
        assert!(!XsdType::DateTime.accepts("soon"));
        assert_eq!(XsdType::parse("xsd:unsignedint"), XsdType::UnsignedInt);
        assert_eq!(XsdType::parse("xsd:Foo").as_str(), "xsd:Foo");
    }
}
