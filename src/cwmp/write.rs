//! Serialiser: [`Envelope`] -> bytes, written straight into a `Vec<u8>`.
//!
//! Output is plain and short: no XML declaration, no whitespace between elements, the prefixes
//! `soap-env`, `soap-enc`, `xsd`, `xsi` and `cwmp`, `cwmp:ID` with `soap-env:mustUnderstand="1"`,
//! `soap-enc:arrayType` with the real item count, `xsi:type` on `Value` when the parameter has a
//! type, booleans as `1`/`0`. Text is escaped (`&`, `<`, `>`, and `\r` as `&#13;` so it survives
//! line-end normalisation); characters XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF)
//! are replaced by U+FFFD.

use super::time::{CwmpTime, UNKNOWN_TIME};
use super::types::*;

/// Which namespace URI the writer puts on `xmlns:cwmp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NsMode {
    /// [`CwmpNs::uri`]: 1.3 and 1.4 are written in the `urn:dslforum-org:cwmp-1-2` namespace.
    #[default]
    Canonical,
    /// [`CwmpNs::wire_uri`]: exactly `urn:dslforum-org:cwmp-1-N`, e.g. to answer a CPE that itself
    /// used `-1-3`/`-1-4` in the namespace it used. Same as `Canonical` for 1.0 to 1.2.
    Wire,
}

/// Writer options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    pub ns_mode: NsMode,
}

/// Appends the envelope to `out` (canonical namespace, see [`NsMode`]).
pub fn write(env: &Envelope, out: &mut Vec<u8>) {
    write_with(env, &WriteOptions::default(), out)
}

/// Serialises the envelope into a new buffer.
pub fn to_vec(env: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint(&env.body));
    write(env, &mut out);
    out
}

/// Serialises the envelope into a new buffer with the given options.
pub fn to_vec_with(env: &Envelope, opts: &WriteOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint(&env.body));
    write_with(env, opts, &mut out);
    out
}

fn size_hint(body: &Body) -> usize {
    let items = match body {
        Body::Inform(i) => i.parameters.len(),
        Body::GetParameterValuesResponse(l) | Body::SetParameterValues { list: l, .. } => l.len(),
        Body::GetParameterNamesResponse(l) => l.len(),
        Body::GetParameterValues(l) => l.len(),
        _ => 0,
    };
    600 + items * 120
}

/// Appends the envelope to `out`.
pub fn write_with(env: &Envelope, opts: &WriteOptions, out: &mut Vec<u8>) {
    let ns = match opts.ns_mode {
        NsMode::Canonical => env.ns.uri(),
        NsMode::Wire => env.ns.wire_uri(),
    };
    let w = &mut W { out };
    w.raw(
        "<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:soap-enc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:cwmp=\"",
    );
    w.raw(ns);
    w.raw("\">");
    write_header(w, &env.header);
    w.raw("<soap-env:Body>");
    write_body(w, &env.body);
    w.raw("</soap-env:Body></soap-env:Envelope>");
}

struct W<'a> {
    out: &'a mut Vec<u8>,
}

/// Bytes that need attention when escaping: markup, control characters, and 0xEF (lead byte
/// of U+FFFE / U+FFFF).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = i != 0x09 && i != 0x0A;
        i += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t[0xEF] = true;
    t
};

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

impl W<'_> {
    #[inline]
    fn raw(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    /// Escapes `s` for element content (`attr == false`) or a double-quoted attribute value.
    fn escaped(&mut self, s: &str, attr: bool) {
        let b = s.as_bytes();
        let mut last = 0;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if !SPECIAL[usize::from(c)] && !(attr && (c == b'\t' || c == b'\n')) {
                i += 1;
                continue;
            }
            let (rep, len): (&[u8], usize) = match c {
                b'&' => (b"&amp;", 1),
                b'<' => (b"&lt;", 1),
                b'>' => (b"&gt;", 1),
                b'\r' => (b"&#13;", 1),
                b'"' if attr => (b"&quot;", 1),
                b'\'' if attr => (b"&apos;", 1),
                b'\t' => (b"&#9;", 1),
                b'\n' => (b"&#10;", 1),
                b'"' | b'\'' => {
                    i += 1;
                    continue;
                }
                0xEF => {
                    if i + 2 < b.len() && b[i + 1] == 0xBF && (b[i + 2] == 0xBE || b[i + 2] == 0xBF)
                    {
                        (REPLACEMENT, 3)
                    } else {
                        i += 1;
                        continue;
                    }
                }
                _ => (REPLACEMENT, 1), // C0 control not allowed in XML 1.0
            };
            self.out.extend_from_slice(&b[last..i]);
            self.out.extend_from_slice(rep);
            i += len;
            last = i;
        }
        self.out.extend_from_slice(&b[last..]);
    }

    #[inline]
    fn text(&mut self, s: &str) {
        self.escaped(s, false)
    }

    fn u64(&mut self, mut n: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&buf[i..]);
    }

    fn i64(&mut self, n: i64) {
        if n < 0 {
            self.out.push(b'-');
        }
        self.u64(n.unsigned_abs());
    }

    fn open(&mut self, tag: &str) {
        self.out.push(b'<');
        self.raw(tag);
        self.out.push(b'>');
    }

    fn close(&mut self, tag: &str) {
        self.raw("</");
        self.raw(tag);
        self.out.push(b'>');
    }

    fn elem_str(&mut self, tag: &str, s: &str) {
        self.open(tag);
        self.text(s);
        self.close(tag);
    }

    fn elem_u64(&mut self, tag: &str, n: u64) {
        self.open(tag);
        self.u64(n);
        self.close(tag);
    }

    fn elem_i64(&mut self, tag: &str, n: i64) {
        self.open(tag);
        self.i64(n);
        self.close(tag);
    }

    fn elem_bool(&mut self, tag: &str, b: bool) {
        self.open(tag);
        self.raw(if b { "1" } else { "0" });
        self.close(tag);
    }

    fn elem_time(&mut self, tag: &str, t: &Option<CwmpTime>) {
        match t {
            Some(t) => self.elem_str(tag, &t.raw),
            None => self.elem_str(tag, UNKNOWN_TIME),
        }
    }

    /// `<tag soap-enc:arrayType="item_type[n]">`
    fn open_array(&mut self, tag: &str, item_type: &str, n: usize) {
        self.out.push(b'<');
        self.raw(tag);
        self.raw(" soap-enc:arrayType=\"");
        self.raw(item_type);
        self.out.push(b'[');
        self.u64(n as u64);
        self.raw("]\">");
    }

    /// An `<rpc></rpc>` pair for argument-less messages.
    fn empty_rpc(&mut self, tag: &str) {
        self.open(tag);
        self.close(tag);
    }

    fn string_array(&mut self, tag: &str, items: &[String]) {
        self.open_array(tag, "xsd:string", items.len());
        for s in items {
            self.elem_str("string", s);
        }
        self.close(tag);
    }

    fn parameter_value_list(&mut self, list: &[ParameterValue]) {
        self.open_array("ParameterList", "cwmp:ParameterValueStruct", list.len());
        for p in list {
            self.raw("<ParameterValueStruct><Name>");
            self.text(&p.name);
            match p.xsd_type.as_deref() {
                Some(t) => {
                    let local = t.rsplit(':').next().unwrap_or(t).trim();
                    self.raw("</Name><Value xsi:type=\"xsd:");
                    self.escaped(local, true);
                    self.raw("\">");
                }
                None => self.raw("</Name><Value>"),
            }
            self.text(&p.value);
            self.raw("</Value></ParameterValueStruct>");
        }
        self.close("ParameterList");
    }

    fn fault_struct(&mut self, f: &Option<FaultStruct>) {
        self.open("FaultStruct");
        match f {
            Some(f) => {
                self.elem_u64("FaultCode", u64::from(f.code));
                self.elem_str("FaultString", &f.string);
            }
            None => self.raw("<FaultCode>0</FaultCode><FaultString></FaultString>"),
        }
        self.close("FaultStruct");
    }
}

fn write_header(w: &mut W<'_>, h: &Header) {
    if h.is_empty() {
        return;
    }
    w.raw("<soap-env:Header>");
    if let Some(id) = &h.id {
        w.raw("<cwmp:ID soap-env:mustUnderstand=\"1\">");
        w.text(id);
        w.raw("</cwmp:ID>");
    }
    if let Some(b) = h.hold_requests {
        w.raw("<cwmp:HoldRequests soap-env:mustUnderstand=\"1\">");
        w.raw(if b { "1" } else { "0" });
        w.raw("</cwmp:HoldRequests>");
    }
    if let Some(b) = h.no_more_requests {
        w.elem_bool("cwmp:NoMoreRequests", b);
    }
    if let Some(t) = h.session_timeout {
        w.elem_u64("cwmp:SessionTimeout", u64::from(t));
    }
    if let Some(v) = &h.supported_cwmp_versions {
        w.elem_str("cwmp:SupportedCWMPVersions", v);
    }
    if let Some(v) = &h.use_cwmp_version {
        w.raw("<cwmp:UseCWMPVersion soap-env:mustUnderstand=\"1\">");
        w.text(v);
        w.raw("</cwmp:UseCWMPVersion>");
    }
    w.raw("</soap-env:Header>");
}

fn write_body(w: &mut W<'_>, body: &Body) {
    match body {
        Body::Inform(i) => {
            w.open("cwmp:Inform");
            w.open("DeviceId");
            w.elem_str("Manufacturer", &i.device_id.manufacturer);
            w.elem_str("OUI", &i.device_id.oui);
            w.elem_str("ProductClass", &i.device_id.product_class);
            w.elem_str("SerialNumber", &i.device_id.serial_number);
            w.close("DeviceId");
            w.open_array("Event", "cwmp:EventStruct", i.events.len());
            for e in &i.events {
                w.open("EventStruct");
                w.elem_str("EventCode", &e.event_code);
                w.elem_str("CommandKey", &e.command_key);
                w.close("EventStruct");
            }
            w.close("Event");
            w.elem_u64("MaxEnvelopes", u64::from(i.max_envelopes));
            w.elem_time("CurrentTime", &i.current_time);
            w.elem_u64("RetryCount", u64::from(i.retry_count));
            w.parameter_value_list(&i.parameters);
            w.close("cwmp:Inform");
        }
        Body::TransferComplete(t) => {
            w.open("cwmp:TransferComplete");
            w.elem_str("CommandKey", &t.command_key);
            w.fault_struct(&t.fault);
            w.elem_time("StartTime", &t.start_time);
            w.elem_time("CompleteTime", &t.complete_time);
            w.close("cwmp:TransferComplete");
        }
        Body::AutonomousTransferComplete(t) => {
            w.open("cwmp:AutonomousTransferComplete");
            w.elem_str("AnnounceURL", &t.announce_url);
            w.elem_str("TransferURL", &t.transfer_url);
            w.elem_bool("IsDownload", t.is_download);
            w.elem_str("FileType", &t.file_type);
            w.elem_u64("FileSize", t.file_size);
            w.elem_str("TargetFileName", &t.target_file_name);
            w.fault_struct(&t.fault);
            w.elem_time("StartTime", &t.start_time);
            w.elem_time("CompleteTime", &t.complete_time);
            w.close("cwmp:AutonomousTransferComplete");
        }
        Body::GetRPCMethods => w.empty_rpc("cwmp:GetRPCMethods"),
        Body::RequestDownload(r) => {
            w.open("cwmp:RequestDownload");
            w.elem_str("FileType", &r.file_type);
            w.open_array("FileTypeArg", "cwmp:ArgStruct", r.file_type_args.len());
            for a in &r.file_type_args {
                w.open("ArgStruct");
                w.elem_str("Name", &a.name);
                w.elem_str("Value", &a.value);
                w.close("ArgStruct");
            }
            w.close("FileTypeArg");
            w.close("cwmp:RequestDownload");
        }
        Body::Kicked(k) => {
            w.open("cwmp:Kicked");
            w.elem_str("Command", &k.command);
            w.elem_str("Referer", &k.referer);
            w.elem_str("Arg", &k.arg);
            w.elem_str("Next", &k.next);
            w.close("cwmp:Kicked");
        }
        Body::InformResponse { max_envelopes } => {
            w.open("cwmp:InformResponse");
            w.elem_u64("MaxEnvelopes", u64::from(*max_envelopes));
            w.close("cwmp:InformResponse");
        }
        Body::TransferCompleteResponse => w.empty_rpc("cwmp:TransferCompleteResponse"),
        Body::AutonomousTransferCompleteResponse => {
            w.empty_rpc("cwmp:AutonomousTransferCompleteResponse")
        }
        Body::GetRPCMethodsResponse(methods) => {
            w.open("cwmp:GetRPCMethodsResponse");
            w.string_array("MethodList", methods);
            w.close("cwmp:GetRPCMethodsResponse");
        }
        Body::RequestDownloadResponse => w.empty_rpc("cwmp:RequestDownloadResponse"),
        Body::KickedResponse { next_url } => {
            w.open("cwmp:KickedResponse");
            w.elem_str("NextURL", next_url);
            w.close("cwmp:KickedResponse");
        }
        Body::GetParameterValues(names) => {
            w.open("cwmp:GetParameterValues");
            w.string_array("ParameterNames", names);
            w.close("cwmp:GetParameterValues");
        }
        Body::SetParameterValues {
            list,
            parameter_key,
        } => {
            w.open("cwmp:SetParameterValues");
            w.parameter_value_list(list);
            w.elem_str("ParameterKey", parameter_key);
            w.close("cwmp:SetParameterValues");
        }
        Body::GetParameterNames { path, next_level } => {
            w.open("cwmp:GetParameterNames");
            w.elem_str("ParameterPath", path);
            w.elem_bool("NextLevel", *next_level);
            w.close("cwmp:GetParameterNames");
        }
        Body::GetParameterAttributes(names) => {
            w.open("cwmp:GetParameterAttributes");
            w.string_array("ParameterNames", names);
            w.close("cwmp:GetParameterAttributes");
        }
        Body::SetParameterAttributes(list) => {
            w.open("cwmp:SetParameterAttributes");
            w.open_array(
                "ParameterList",
                "cwmp:SetParameterAttributesStruct",
                list.len(),
            );
            for s in list {
                w.open("SetParameterAttributesStruct");
                w.elem_str("Name", &s.name);
                w.elem_bool("NotificationChange", s.notification_change);
                w.elem_i64("Notification", i64::from(s.notification));
                w.elem_bool("AccessListChange", s.access_list_change);
                w.string_array("AccessList", &s.access_list);
                w.close("SetParameterAttributesStruct");
            }
            w.close("ParameterList");
            w.close("cwmp:SetParameterAttributes");
        }
        Body::AddObject {
            object_name,
            parameter_key,
        } => {
            w.open("cwmp:AddObject");
            w.elem_str("ObjectName", object_name);
            w.elem_str("ParameterKey", parameter_key);
            w.close("cwmp:AddObject");
        }
        Body::DeleteObject {
            object_name,
            parameter_key,
        } => {
            w.open("cwmp:DeleteObject");
            w.elem_str("ObjectName", object_name);
            w.elem_str("ParameterKey", parameter_key);
            w.close("cwmp:DeleteObject");
        }
        Body::Reboot { command_key } => {
            w.open("cwmp:Reboot");
            w.elem_str("CommandKey", command_key);
            w.close("cwmp:Reboot");
        }
        Body::FactoryReset => w.empty_rpc("cwmp:FactoryReset"),
        Body::Download(d) => {
            w.open("cwmp:Download");
            w.elem_str("CommandKey", &d.command_key);
            w.elem_str("FileType", &d.file_type);
            w.elem_str("URL", &d.url);
            w.elem_str("Username", &d.username);
            w.elem_str("Password", &d.password);
            w.elem_u64("FileSize", d.file_size);
            w.elem_str("TargetFileName", &d.target_file_name);
            w.elem_u64("DelaySeconds", u64::from(d.delay_seconds));
            w.elem_str("SuccessURL", &d.success_url);
            w.elem_str("FailureURL", &d.failure_url);
            w.close("cwmp:Download");
        }
        Body::Upload(u) => {
            w.open("cwmp:Upload");
            w.elem_str("CommandKey", &u.command_key);
            w.elem_str("FileType", &u.file_type);
            w.elem_str("URL", &u.url);
            w.elem_str("Username", &u.username);
            w.elem_str("Password", &u.password);
            w.elem_u64("DelaySeconds", u64::from(u.delay_seconds));
            w.close("cwmp:Upload");
        }
        Body::ScheduleInform {
            delay_seconds,
            command_key,
        } => {
            w.open("cwmp:ScheduleInform");
            w.elem_u64("DelaySeconds", u64::from(*delay_seconds));
            w.elem_str("CommandKey", command_key);
            w.close("cwmp:ScheduleInform");
        }
        Body::GetParameterValuesResponse(list) => {
            w.open("cwmp:GetParameterValuesResponse");
            w.parameter_value_list(list);
            w.close("cwmp:GetParameterValuesResponse");
        }
        Body::SetParameterValuesResponse { status } => {
            w.open("cwmp:SetParameterValuesResponse");
            w.elem_i64("Status", i64::from(*status));
            w.close("cwmp:SetParameterValuesResponse");
        }
        Body::GetParameterNamesResponse(list) => {
            w.open("cwmp:GetParameterNamesResponse");
            w.open_array("ParameterList", "cwmp:ParameterInfoStruct", list.len());
            for p in list {
                w.open("ParameterInfoStruct");
                w.elem_str("Name", &p.name);
                w.elem_bool("Writable", p.writable);
                w.close("ParameterInfoStruct");
            }
            w.close("ParameterList");
            w.close("cwmp:GetParameterNamesResponse");
        }
        Body::GetParameterAttributesResponse(list) => {
            w.open("cwmp:GetParameterAttributesResponse");
            w.open_array("ParameterList", "cwmp:ParameterAttributeStruct", list.len());
            for p in list {
                w.open("ParameterAttributeStruct");
                w.elem_str("Name", &p.name);
                w.elem_i64("Notification", i64::from(p.notification));
                w.string_array("AccessList", &p.access_list);
                w.close("ParameterAttributeStruct");
            }
            w.close("ParameterList");
            w.close("cwmp:GetParameterAttributesResponse");
        }
        Body::SetParameterAttributesResponse => w.empty_rpc("cwmp:SetParameterAttributesResponse"),
        Body::AddObjectResponse {
            instance_number,
            status,
        } => {
            w.open("cwmp:AddObjectResponse");
            w.elem_u64("InstanceNumber", u64::from(*instance_number));
            w.elem_i64("Status", i64::from(*status));
            w.close("cwmp:AddObjectResponse");
        }
        Body::DeleteObjectResponse { status } => {
            w.open("cwmp:DeleteObjectResponse");
            w.elem_i64("Status", i64::from(*status));
            w.close("cwmp:DeleteObjectResponse");
        }
        Body::RebootResponse => w.empty_rpc("cwmp:RebootResponse"),
        Body::FactoryResetResponse => w.empty_rpc("cwmp:FactoryResetResponse"),
        Body::DownloadResponse {
            status,
            start_time,
            complete_time,
        } => {
            w.open("cwmp:DownloadResponse");
            w.elem_i64("Status", i64::from(*status));
            w.elem_time("StartTime", start_time);
            w.elem_time("CompleteTime", complete_time);
            w.close("cwmp:DownloadResponse");
        }
        Body::UploadResponse {
            status,
            start_time,
            complete_time,
        } => {
            w.open("cwmp:UploadResponse");
            w.elem_i64("Status", i64::from(*status));
            w.elem_time("StartTime", start_time);
            w.elem_time("CompleteTime", complete_time);
            w.close("cwmp:UploadResponse");
        }
        Body::ScheduleInformResponse => w.empty_rpc("cwmp:ScheduleInformResponse"),
        Body::Fault(f) => {
            w.open("soap-env:Fault");
            w.elem_str("faultcode", &f.faultcode);
            w.elem_str("faultstring", &f.faultstring);
            w.raw("<detail><cwmp:Fault>");
            w.elem_u64("FaultCode", u64::from(f.fault_code));
            w.elem_str("FaultString", &f.fault_string);
            for s in &f.set_parameter_values_faults {
                w.open("SetParameterValuesFault");
                w.elem_str("ParameterName", &s.parameter_name);
                w.elem_u64("FaultCode", u64::from(s.fault_code));
                w.elem_str("FaultString", &s.fault_string);
                w.close("SetParameterValuesFault");
            }
            w.raw("</cwmp:Fault></detail>");
            w.close("soap-env:Fault");
        }
    }
}
