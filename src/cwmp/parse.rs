//! Streaming, tolerant parser: bytes -> [`Envelope`].
//!
//! Elements are matched by local name, ASCII case-insensitively, whatever their prefix or
//! namespace; children may come in any order; unknown elements are skipped; whitespace, comments
//! and processing instructions are ignored between elements. Text is returned exactly as sent
//! (entity-decoded, line ends normalised), except numbers, booleans and dateTimes, which are
//! trimmed. The CWMP namespace is taken from the RPC element, else from the header entries, else
//! from a nested `cwmp:Fault`, else [`CwmpNs::V1_0`].

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::error::{CodecError, Limits};
use super::input;
use super::time::{CwmpTime, UNKNOWN_TIME};
use super::types::*;

/// What [`parse_partial`] could read: namespace and header always, the body if it made sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub ns: CwmpNs,
    pub header: Header,
    /// `Err` with [`CodecError::UnknownMethod`], [`CodecError::InvalidArguments`] or
    /// [`CodecError::Empty`] (Body without element).
    pub body: Result<Body, CodecError>,
}

/// Parses one CWMP SOAP envelope. See [`CodecError`] for the ways it can fail.
pub fn parse(xml: &[u8], limits: &Limits) -> Result<Envelope, CodecError> {
    let p = parse_partial(xml, limits)?;
    Ok(Envelope {
        ns: p.ns,
        header: p.header,
        body: p.body?,
    })
}

/// Like [`parse`], but a well-formed envelope whose body is unknown or invalid still yields its
/// namespace and header (the session layer needs the `cwmp:ID` to answer fault 8000 / 8003).
/// Errors in the outer `Result` are the fatal ones (size, depth, DTD, malformed, not SOAP, empty).
pub fn parse_partial(xml: &[u8], limits: &Limits) -> Result<Partial, CodecError> {
    if xml.len() > limits.max_bytes {
        return Err(CodecError::TooLarge);
    }
    let text = input::decode(xml);
    if text.trim_matches(is_xml_ws).is_empty() {
        return Err(CodecError::Empty);
    }
    let mut p = Parser::new(&text, limits);
    p.document()
}

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn invalid(msg: String) -> CodecError {
    CodecError::InvalidArguments(msg)
}

fn missing(what: &str, parent: &str) -> CodecError {
    invalid(format!("{parent}: missing {what}"))
}

fn malformed(e: impl std::fmt::Display) -> CodecError {
    CodecError::Malformed(e.to_string())
}

fn truncated() -> CodecError {
    CodecError::Malformed("unexpected end of input".to_owned())
}

/// A start (or empty) tag.
struct Elem<'i> {
    start: BytesStart<'i>,
    empty: bool,
    /// The element's namespace when it is one of the CWMP namespaces.
    cwmp_ns: Option<CwmpNs>,
    /// The element's namespace is the SOAP envelope namespace.
    soap_ns: bool,
}

impl Elem<'_> {
    fn local(&self) -> &str {
        self.start.local_name().into_inner()
    }

    fn is(&self, name: &str) -> bool {
        eq(self.local(), name)
    }
}

enum Ev<'i> {
    Start(Elem<'i>),
    End,
    /// Character data, final.
    Text(Cow<'i, str>),
    /// Character data before line-end normalisation (done lazily: most text between
    /// elements is discarded whitespace).
    Raw(BytesText<'i>),
    Eof,
}

const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

struct Parser<'i, 'l> {
    r: NsReader<&'i [u8]>,
    limits: &'l Limits,
    max_depth: usize,
    depth: usize,
    items: usize,
}

impl<'i, 'l> Parser<'i, 'l> {
    fn new(text: &'i str, limits: &'l Limits) -> Self {
        let mut r = NsReader::from_str(text);
        let cfg = r.config_mut();
        // Tolerate a lone '&' (e.g. unescaped in a URL) as literal text.
        cfg.allow_dangling_amp = true;
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        Parser {
            r,
            limits,
            // quick-xml counts nesting in a u16.
            max_depth: limits.max_depth.min(usize::from(u16::MAX) - 1),
            depth: 0,
            items: 0,
        }
    }

    // ------------------------------------------------------------------ low level

    fn next(&mut self) -> Result<Ev<'i>, CodecError> {
        loop {
            let ev = self.r.read_event().map_err(malformed)?;
            return Ok(match ev {
                Event::Start(e) => {
                    self.depth += 1;
                    if self.depth > self.max_depth {
                        return Err(CodecError::TooDeep);
                    }
                    Ev::Start(self.elem(e, false))
                }
                Event::Empty(e) => {
                    if self.depth + 1 > self.max_depth {
                        return Err(CodecError::TooDeep);
                    }
                    Ev::Start(self.elem(e, true))
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    Ev::End
                }
                Event::Text(t) => Ev::Raw(t),
                Event::CData(t) => Ev::Text(t.xml10_content()),
                Event::GeneralRef(r) => {
                    if r.is_char_ref() {
                        match r.resolve_char_ref().map_err(malformed)? {
                            Some(c) => Ev::Text(Cow::Owned(c.to_string())),
                            None => Ev::Text(Cow::Borrowed("")),
                        }
                    } else {
                        let name: &str = &r;
                        let s = match name {
                            "lt" => "<",
                            "gt" => ">",
                            "amp" => "&",
                            "apos" => "'",
                            "quot" => "\"",
                            // Undeclared entity: never expanded, kept as literal text.
                            other => return Ok(Ev::Text(Cow::Owned(format!("&{other};")))),
                        };
                        Ev::Text(Cow::Borrowed(s))
                    }
                }
                Event::DocType(_) => return Err(CodecError::Dtd),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
                Event::Eof => Ev::Eof,
            });
        }
    }

    fn elem(&self, start: BytesStart<'i>, empty: bool) -> Elem<'i> {
        let (res, _) = self.r.resolver().resolve_element(start.name());
        let (cwmp_ns, soap_ns) = match res {
            ResolveResult::Bound(ns) => (CwmpNs::from_uri(ns.0), ns.0 == SOAP_ENV_NS),
            _ => (None, false),
        };
        Elem {
            start,
            empty,
            cwmp_ns,
            soap_ns,
        }
    }

    /// The next child element of `parent`, or `None` once `parent` is closed.
    /// Must be called until it returns `None` (or an error) for each opened parent.
    fn child(&mut self, parent: &Elem<'i>) -> Result<Option<Elem<'i>>, CodecError> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            match self.next()? {
                Ev::Start(e) => return Ok(Some(e)),
                Ev::End => return Ok(None),
                Ev::Text(_) | Ev::Raw(_) => continue,
                Ev::Eof => return Err(truncated()),
            }
        }
    }

    /// Skips the content of `e` up to and including its end tag.
    fn skip(&mut self, e: &Elem<'i>) -> Result<(), CodecError> {
        if e.empty {
            return Ok(());
        }
        let mut level = 1usize;
        loop {
            match self.next()? {
                Ev::Start(c) if !c.empty => level += 1,
                Ev::End => {
                    level -= 1;
                    if level == 0 {
                        return Ok(());
                    }
                }
                Ev::Eof => return Err(truncated()),
                _ => {}
            }
        }
    }

    /// Reads events until the nesting depth is back to `depth`.
    fn unwind(&mut self, depth: usize) -> Result<(), CodecError> {
        while self.depth > depth {
            if let Ev::Eof = self.next()? {
                return Err(truncated());
            }
        }
        Ok(())
    }

    /// The text content of `e` (nested elements are skipped), consuming its end tag.
    fn text(&mut self, e: &Elem<'i>) -> Result<Cow<'i, str>, CodecError> {
        if e.empty {
            return Ok(Cow::Borrowed(""));
        }
        let mut acc: Option<Cow<'i, str>> = None;
        loop {
            let t = match self.next()? {
                Ev::Text(t) => t,
                Ev::Raw(t) => t.xml10_content(),
                Ev::Start(c) => {
                    self.skip(&c)?;
                    continue;
                }
                Ev::End => return Ok(acc.unwrap_or(Cow::Borrowed(""))),
                Ev::Eof => return Err(truncated()),
            };
            acc = Some(match acc {
                None => t,
                Some(prev) => {
                    let mut s = prev.into_owned();
                    s.push_str(&t);
                    Cow::Owned(s)
                }
            });
        }
    }

    fn string(&mut self, e: &Elem<'i>) -> Result<String, CodecError> {
        Ok(self.text(e)?.into_owned())
    }

    fn number<T: std::str::FromStr>(&mut self, e: &Elem<'i>) -> Result<T, CodecError> {
        let t = self.text(e)?;
        let s = t.trim_matches(is_xml_ws);
        s.parse::<T>()
            .map_err(|_| invalid(format!("{}: not a valid number: {s:?}", e.local())))
    }

    fn boolean(&mut self, e: &Elem<'i>) -> Result<bool, CodecError> {
        let t = self.text(e)?;
        parse_bool(&t).ok_or_else(|| invalid(format!("{}: not a valid boolean: {t:?}", e.local())))
    }

    /// `None` when empty or the unknown time.
    fn time(&mut self, e: &Elem<'i>) -> Result<Option<CwmpTime>, CodecError> {
        let t = self.text(e)?;
        let trimmed = t.trim_matches(is_xml_ws);
        if trimmed.is_empty() || trimmed == UNKNOWN_TIME {
            return Ok(None);
        }
        Ok(Some(CwmpTime::parse(t.into_owned())))
    }

    fn count_item(&mut self) -> Result<(), CodecError> {
        self.items += 1;
        if self.items > self.limits.max_parameters {
            return Err(CodecError::TooLarge);
        }
        Ok(())
    }

    /// A SOAP-encoded array of strings (`<string>` items, or any item element name).
    fn string_list(&mut self, e: &Elem<'i>) -> Result<Vec<String>, CodecError> {
        let mut v = Vec::new();
        while let Some(item) = self.child(e)? {
            self.count_item()?;
            v.push(self.string(&item)?);
        }
        Ok(v)
    }

    /// A SOAP-encoded array of structs; `f` parses one item.
    fn list<T>(
        &mut self,
        e: &Elem<'i>,
        mut f: impl FnMut(&mut Self, &Elem<'i>) -> Result<T, CodecError>,
    ) -> Result<Vec<T>, CodecError> {
        let mut v = Vec::new();
        while let Some(item) = self.child(e)? {
            self.count_item()?;
            v.push(f(self, &item)?);
        }
        Ok(v)
    }

    // ------------------------------------------------------------------ document

    fn document(&mut self) -> Result<Partial, CodecError> {
        let root = loop {
            match self.next()? {
                Ev::Start(e) => break e,
                Ev::Text(_) => {
                    return Err(CodecError::Malformed(
                        "text outside the root element".to_owned(),
                    ));
                }
                Ev::Raw(t) => {
                    if !t.trim_matches(is_xml_ws).is_empty() {
                        return Err(CodecError::Malformed(
                            "text outside the root element".to_owned(),
                        ));
                    }
                }
                Ev::End => return Err(CodecError::Malformed("unexpected end tag".to_owned())),
                Ev::Eof => return Err(CodecError::Malformed("no root element".to_owned())),
            }
        };
        if !root.is("Envelope") {
            // Still insist on well-formedness before calling it "not SOAP".
            self.skip(&root)?;
            return Err(CodecError::NotSoap);
        }
        let mut header = Header::default();
        let mut header_ns: Option<CwmpNs> = None;
        let mut body: Option<(Result<Body, CodecError>, Option<CwmpNs>)> = None;
        while let Some(c) = self.child(&root)? {
            if c.is("Header") {
                self.header(&c, &mut header, &mut header_ns)?;
            } else if c.is("Body") && body.is_none() {
                body = Some(self.body(&c)?);
            } else {
                self.skip(&c)?;
            }
        }
        // Anything after the root element is ignored.
        let (body, body_ns) = match body {
            Some(b) => b,
            None => return Err(CodecError::NotSoap),
        };
        Ok(Partial {
            ns: body_ns.or(header_ns).unwrap_or_default(),
            header,
            body,
        })
    }

    fn header(
        &mut self,
        e: &Elem<'i>,
        h: &mut Header,
        ns: &mut Option<CwmpNs>,
    ) -> Result<(), CodecError> {
        while let Some(c) = self.child(e)? {
            let prefer_id = c.is("ID");
            if let Some(n) = c.cwmp_ns
                && (ns.is_none() || prefer_id)
            {
                *ns = Some(n);
            }
            if c.is("ID") {
                h.id = Some(self.string(&c)?);
            } else if c.is("HoldRequests") {
                h.hold_requests = parse_bool(&self.text(&c)?);
            } else if c.is("NoMoreRequests") {
                h.no_more_requests = parse_bool(&self.text(&c)?);
            } else if c.is("SessionTimeout") {
                h.session_timeout = self.text(&c)?.trim_matches(is_xml_ws).parse().ok();
            } else if c.is("SupportedCWMPVersions") {
                h.supported_cwmp_versions = Some(self.string(&c)?);
            } else if c.is("UseCWMPVersion") {
                h.use_cwmp_version = Some(self.string(&c)?);
            } else {
                self.skip(&c)?;
            }
        }
        Ok(())
    }

    /// Returns the body (or its semantic error) and the namespace it revealed. Fatal errors
    /// (malformed, limits) go to the outer `Result`.
    #[allow(clippy::type_complexity)]
    fn body(
        &mut self,
        e: &Elem<'i>,
    ) -> Result<(Result<Body, CodecError>, Option<CwmpNs>), CodecError> {
        let mut result: Option<(Result<Body, CodecError>, Option<CwmpNs>)> = None;
        let body_depth = self.depth;
        while let Some(c) = self.child(e)? {
            if result.is_some() {
                self.skip(&c)?;
                continue;
            }
            let mut ns = c.cwmp_ns;
            let r = if c.is("Fault") {
                self.soap_fault(&c, &mut ns)
            } else {
                self.rpc(&c)
            };
            match r {
                Ok(b) => result = Some((Ok(b), ns)),
                Err(
                    err @ (CodecError::UnknownMethod(_)
                    | CodecError::InvalidArguments(_)
                    | CodecError::Empty),
                ) => {
                    // Resynchronise: finish the RPC element, then carry on reading.
                    self.unwind(body_depth)?;
                    result = Some((Err(err), ns));
                }
                Err(fatal) => return Err(fatal),
            }
        }
        Ok(result.unwrap_or((Err(CodecError::Empty), None)))
    }

    // ------------------------------------------------------------------ RPCs

    fn rpc(&mut self, e: &Elem<'i>) -> Result<Body, CodecError> {
        let name = e.local();
        let body = match name {
            _ if eq(name, "Inform") => Body::Inform(self.inform(e)?),
            _ if eq(name, "InformResponse") => {
                let mut max_envelopes = 1;
                while let Some(c) = self.child(e)? {
                    if c.is("MaxEnvelopes") {
                        max_envelopes = self.number(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::InformResponse { max_envelopes }
            }
            _ if eq(name, "TransferComplete") => Body::TransferComplete(self.transfer_complete(e)?),
            _ if eq(name, "TransferCompleteResponse") => {
                self.skip(e)?;
                Body::TransferCompleteResponse
            }
            _ if eq(name, "AutonomousTransferComplete") => {
                Body::AutonomousTransferComplete(self.autonomous_transfer_complete(e)?)
            }
            _ if eq(name, "AutonomousTransferCompleteResponse") => {
                self.skip(e)?;
                Body::AutonomousTransferCompleteResponse
            }
            _ if eq(name, "GetRPCMethods") => {
                self.skip(e)?;
                Body::GetRPCMethods
            }
            _ if eq(name, "GetRPCMethodsResponse") => {
                let mut methods = Vec::new();
                while let Some(c) = self.child(e)? {
                    if c.is("MethodList") {
                        methods = self.string_list(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::GetRPCMethodsResponse(methods)
            }
            _ if eq(name, "RequestDownload") => Body::RequestDownload(self.request_download(e)?),
            _ if eq(name, "RequestDownloadResponse") => {
                self.skip(e)?;
                Body::RequestDownloadResponse
            }
            _ if eq(name, "Kicked") => {
                let mut k = Kicked::default();
                while let Some(c) = self.child(e)? {
                    if c.is("Command") {
                        k.command = self.string(&c)?;
                    } else if c.is("Referer") {
                        k.referer = self.string(&c)?;
                    } else if c.is("Arg") {
                        k.arg = self.string(&c)?;
                    } else if c.is("Next") {
                        k.next = self.string(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::Kicked(k)
            }
            _ if eq(name, "KickedResponse") => {
                let mut next_url = String::new();
                while let Some(c) = self.child(e)? {
                    if c.is("NextURL") {
                        next_url = self.string(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::KickedResponse { next_url }
            }
            _ if eq(name, "GetParameterValues") => {
                Body::GetParameterValues(self.names_request(e, "GetParameterValues")?)
            }
            _ if eq(name, "SetParameterValues") => {
                let mut list = None;
                let mut parameter_key = String::new();
                while let Some(c) = self.child(e)? {
                    if c.is("ParameterList") {
                        list = Some(self.list(&c, Self::parameter_value)?);
                    } else if c.is("ParameterKey") {
                        parameter_key = self.string(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::SetParameterValues {
                    list: list.ok_or_else(|| missing("ParameterList", "SetParameterValues"))?,
                    parameter_key,
                }
            }
            _ if eq(name, "GetParameterNames") => {
                let mut path = String::new();
                let mut next_level = None;
                while let Some(c) = self.child(e)? {
                    if c.is("ParameterPath") {
                        path = self.string(&c)?;
                    } else if c.is("NextLevel") {
                        next_level = Some(self.boolean(&c)?);
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::GetParameterNames {
                    path,
                    next_level: next_level
                        .ok_or_else(|| missing("NextLevel", "GetParameterNames"))?,
                }
            }
            _ if eq(name, "GetParameterAttributes") => {
                Body::GetParameterAttributes(self.names_request(e, "GetParameterAttributes")?)
            }
            _ if eq(name, "SetParameterAttributes") => {
                let mut list = None;
                while let Some(c) = self.child(e)? {
                    if c.is("ParameterList") {
                        list = Some(self.list(&c, Self::set_attributes_struct)?);
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::SetParameterAttributes(
                    list.ok_or_else(|| missing("ParameterList", "SetParameterAttributes"))?,
                )
            }
            _ if eq(name, "AddObject") || eq(name, "DeleteObject") => {
                let add = eq(name, "AddObject");
                let mut object_name = None;
                let mut parameter_key = String::new();
                while let Some(c) = self.child(e)? {
                    if c.is("ObjectName") {
                        object_name = Some(self.string(&c)?);
                    } else if c.is("ParameterKey") {
                        parameter_key = self.string(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                let object_name = object_name.ok_or_else(|| {
                    missing("ObjectName", if add { "AddObject" } else { "DeleteObject" })
                })?;
                if add {
                    Body::AddObject {
                        object_name,
                        parameter_key,
                    }
                } else {
                    Body::DeleteObject {
                        object_name,
                        parameter_key,
                    }
                }
            }
            _ if eq(name, "Reboot") => Body::Reboot {
                command_key: self.command_key_only(e)?,
            },
            _ if eq(name, "FactoryReset") => {
                self.skip(e)?;
                Body::FactoryReset
            }
            _ if eq(name, "Download") => Body::Download(self.download(e)?),
            _ if eq(name, "Upload") => Body::Upload(self.upload(e)?),
            _ if eq(name, "ScheduleInform") => {
                let mut delay_seconds = None;
                let mut command_key = String::new();
                while let Some(c) = self.child(e)? {
                    if c.is("DelaySeconds") {
                        delay_seconds = Some(self.number(&c)?);
                    } else if c.is("CommandKey") {
                        command_key = self.string(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::ScheduleInform {
                    delay_seconds: delay_seconds
                        .ok_or_else(|| missing("DelaySeconds", "ScheduleInform"))?,
                    command_key,
                }
            }
            _ if eq(name, "GetParameterValuesResponse") => {
                let mut list = Vec::new();
                while let Some(c) = self.child(e)? {
                    if c.is("ParameterList") {
                        list = self.list(&c, Self::parameter_value)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::GetParameterValuesResponse(list)
            }
            _ if eq(name, "SetParameterValuesResponse") => Body::SetParameterValuesResponse {
                status: self.status_only(e)?,
            },
            _ if eq(name, "GetParameterNamesResponse") => {
                let mut list = Vec::new();
                while let Some(c) = self.child(e)? {
                    if c.is("ParameterList") {
                        list = self.list(&c, Self::parameter_info)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::GetParameterNamesResponse(list)
            }
            _ if eq(name, "GetParameterAttributesResponse") => {
                let mut list = Vec::new();
                while let Some(c) = self.child(e)? {
                    if c.is("ParameterList") {
                        list = self.list(&c, Self::attribute_struct)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::GetParameterAttributesResponse(list)
            }
            _ if eq(name, "SetParameterAttributesResponse") => {
                self.skip(e)?;
                Body::SetParameterAttributesResponse
            }
            _ if eq(name, "AddObjectResponse") => {
                let mut instance_number = None;
                let mut status = 0;
                while let Some(c) = self.child(e)? {
                    if c.is("InstanceNumber") {
                        instance_number = Some(self.number(&c)?);
                    } else if c.is("Status") {
                        status = self.number(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                Body::AddObjectResponse {
                    instance_number: instance_number
                        .ok_or_else(|| missing("InstanceNumber", "AddObjectResponse"))?,
                    status,
                }
            }
            _ if eq(name, "DeleteObjectResponse") => Body::DeleteObjectResponse {
                status: self.status_only(e)?,
            },
            _ if eq(name, "RebootResponse") => {
                self.skip(e)?;
                Body::RebootResponse
            }
            _ if eq(name, "FactoryResetResponse") => {
                self.skip(e)?;
                Body::FactoryResetResponse
            }
            _ if eq(name, "DownloadResponse") || eq(name, "UploadResponse") => {
                let mut status = 0;
                let mut start_time = None;
                let mut complete_time = None;
                while let Some(c) = self.child(e)? {
                    if c.is("Status") {
                        status = self.number(&c)?;
                    } else if c.is("StartTime") {
                        start_time = self.time(&c)?;
                    } else if c.is("CompleteTime") {
                        complete_time = self.time(&c)?;
                    } else {
                        self.skip(&c)?;
                    }
                }
                if eq(name, "DownloadResponse") {
                    Body::DownloadResponse {
                        status,
                        start_time,
                        complete_time,
                    }
                } else {
                    Body::UploadResponse {
                        status,
                        start_time,
                        complete_time,
                    }
                }
            }
            _ if eq(name, "ScheduleInformResponse") => {
                self.skip(e)?;
                Body::ScheduleInformResponse
            }
            _ => return Err(CodecError::UnknownMethod(name.to_owned())),
        };
        Ok(body)
    }

    fn inform(&mut self, e: &Elem<'i>) -> Result<Inform, CodecError> {
        let mut device_id = None;
        let mut inf = Inform {
            max_envelopes: 1,
            ..Inform::default()
        };
        while let Some(c) = self.child(e)? {
            if c.is("DeviceId") {
                device_id = Some(self.device_id(&c)?);
            } else if c.is("Event") {
                inf.events = self.list(&c, Self::event_struct)?;
            } else if c.is("MaxEnvelopes") {
                inf.max_envelopes = self.number(&c)?;
            } else if c.is("CurrentTime") {
                inf.current_time = self.time(&c)?;
            } else if c.is("RetryCount") {
                inf.retry_count = self.number(&c)?;
            } else if c.is("ParameterList") {
                inf.parameters = self.list(&c, Self::parameter_value)?;
            } else {
                self.skip(&c)?;
            }
        }
        inf.device_id = device_id.ok_or_else(|| missing("DeviceId", "Inform"))?;
        Ok(inf)
    }

    fn device_id(&mut self, e: &Elem<'i>) -> Result<DeviceId, CodecError> {
        let mut d = DeviceId::default();
        let (mut oui, mut serial) = (false, false);
        while let Some(c) = self.child(e)? {
            if c.is("Manufacturer") {
                d.manufacturer = self.string(&c)?;
            } else if c.is("OUI") {
                d.oui = self.string(&c)?;
                oui = true;
            } else if c.is("ProductClass") {
                d.product_class = self.string(&c)?;
            } else if c.is("SerialNumber") {
                d.serial_number = self.string(&c)?;
                serial = true;
            } else {
                self.skip(&c)?;
            }
        }
        if !oui {
            return Err(missing("OUI", "DeviceId"));
        }
        if !serial {
            return Err(missing("SerialNumber", "DeviceId"));
        }
        Ok(d)
    }

    fn event_struct(&mut self, e: &Elem<'i>) -> Result<EventStruct, CodecError> {
        let mut ev = EventStruct::default();
        let mut code = false;
        while let Some(c) = self.child(e)? {
            if c.is("EventCode") {
                ev.event_code = self.string(&c)?;
                code = true;
            } else if c.is("CommandKey") {
                ev.command_key = self.string(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        if !code {
            return Err(missing("EventCode", "EventStruct"));
        }
        Ok(ev)
    }

    fn parameter_value(&mut self, e: &Elem<'i>) -> Result<ParameterValue, CodecError> {
        let mut name = None;
        let mut pv = ParameterValue::default();
        while let Some(c) = self.child(e)? {
            if c.is("Name") {
                name = Some(self.string(&c)?);
            } else if c.is("Value") {
                pv.xsd_type = value_type(&c.start);
                pv.value = self.string(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        pv.name = name.ok_or_else(|| missing("Name", "ParameterValueStruct"))?;
        Ok(pv)
    }

    fn parameter_info(&mut self, e: &Elem<'i>) -> Result<ParameterInfo, CodecError> {
        let mut name = None;
        let mut writable = false;
        while let Some(c) = self.child(e)? {
            if c.is("Name") {
                name = Some(self.string(&c)?);
            } else if c.is("Writable") {
                writable = self.boolean(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        Ok(ParameterInfo {
            name: name.ok_or_else(|| missing("Name", "ParameterInfoStruct"))?,
            writable,
        })
    }

    fn set_attributes_struct(
        &mut self,
        e: &Elem<'i>,
    ) -> Result<SetParameterAttributesStruct, CodecError> {
        let mut name = None;
        let mut s = SetParameterAttributesStruct::default();
        while let Some(c) = self.child(e)? {
            if c.is("Name") {
                name = Some(self.string(&c)?);
            } else if c.is("NotificationChange") {
                s.notification_change = self.boolean(&c)?;
            } else if c.is("Notification") {
                s.notification = self.number(&c)?;
            } else if c.is("AccessListChange") {
                s.access_list_change = self.boolean(&c)?;
            } else if c.is("AccessList") {
                s.access_list = self.string_list(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        s.name = name.ok_or_else(|| missing("Name", "SetParameterAttributesStruct"))?;
        Ok(s)
    }

    fn attribute_struct(&mut self, e: &Elem<'i>) -> Result<ParameterAttributeStruct, CodecError> {
        let mut name = None;
        let mut s = ParameterAttributeStruct::default();
        while let Some(c) = self.child(e)? {
            if c.is("Name") {
                name = Some(self.string(&c)?);
            } else if c.is("Notification") {
                s.notification = self.number(&c)?;
            } else if c.is("AccessList") {
                s.access_list = self.string_list(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        s.name = name.ok_or_else(|| missing("Name", "ParameterAttributeStruct"))?;
        Ok(s)
    }

    /// `GetParameterValues` / `GetParameterAttributes`: a required `ParameterNames` array.
    fn names_request(&mut self, e: &Elem<'i>, what: &str) -> Result<Vec<String>, CodecError> {
        let mut names = None;
        while let Some(c) = self.child(e)? {
            if c.is("ParameterNames") {
                names = Some(self.string_list(&c)?);
            } else {
                self.skip(&c)?;
            }
        }
        names.ok_or_else(|| missing("ParameterNames", what))
    }

    fn command_key_only(&mut self, e: &Elem<'i>) -> Result<String, CodecError> {
        let mut key = String::new();
        while let Some(c) = self.child(e)? {
            if c.is("CommandKey") {
                key = self.string(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        Ok(key)
    }

    fn status_only(&mut self, e: &Elem<'i>) -> Result<i32, CodecError> {
        let mut status = 0;
        while let Some(c) = self.child(e)? {
            if c.is("Status") {
                status = self.number(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        Ok(status)
    }

    /// A `FaultStruct`; `None` for FaultCode 0.
    fn fault_struct(&mut self, e: &Elem<'i>) -> Result<Option<FaultStruct>, CodecError> {
        let mut f = FaultStruct::default();
        while let Some(c) = self.child(e)? {
            if c.is("FaultCode") {
                let t = self.text(&c)?;
                let s = t.trim_matches(is_xml_ws);
                f.code = if s.is_empty() {
                    0
                } else {
                    s.parse()
                        .map_err(|_| invalid(format!("FaultCode: not a valid number: {s:?}")))?
                };
            } else if c.is("FaultString") {
                f.string = self.string(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        Ok(if f.code == 0 { None } else { Some(f) })
    }

    fn transfer_complete(&mut self, e: &Elem<'i>) -> Result<TransferComplete, CodecError> {
        let mut t = TransferComplete::default();
        while let Some(c) = self.child(e)? {
            if c.is("CommandKey") {
                t.command_key = self.string(&c)?;
            } else if c.is("FaultStruct") {
                t.fault = self.fault_struct(&c)?;
            } else if c.is("StartTime") {
                t.start_time = self.time(&c)?;
            } else if c.is("CompleteTime") {
                t.complete_time = self.time(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        Ok(t)
    }

    fn autonomous_transfer_complete(
        &mut self,
        e: &Elem<'i>,
    ) -> Result<AutonomousTransferComplete, CodecError> {
        let mut t = AutonomousTransferComplete::default();
        let mut is_download = None;
        while let Some(c) = self.child(e)? {
            if c.is("AnnounceURL") {
                t.announce_url = self.string(&c)?;
            } else if c.is("TransferURL") {
                t.transfer_url = self.string(&c)?;
            } else if c.is("IsDownload") {
                is_download = Some(self.boolean(&c)?);
            } else if c.is("FileType") {
                t.file_type = self.string(&c)?;
            } else if c.is("FileSize") {
                t.file_size = self.number(&c)?;
            } else if c.is("TargetFileName") {
                t.target_file_name = self.string(&c)?;
            } else if c.is("FaultStruct") {
                t.fault = self.fault_struct(&c)?;
            } else if c.is("StartTime") {
                t.start_time = self.time(&c)?;
            } else if c.is("CompleteTime") {
                t.complete_time = self.time(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        t.is_download =
            is_download.ok_or_else(|| missing("IsDownload", "AutonomousTransferComplete"))?;
        Ok(t)
    }

    fn request_download(&mut self, e: &Elem<'i>) -> Result<RequestDownload, CodecError> {
        let mut file_type = None;
        let mut args = Vec::new();
        while let Some(c) = self.child(e)? {
            if c.is("FileType") {
                file_type = Some(self.string(&c)?);
            } else if c.is("FileTypeArg") {
                args = self.list(&c, |p, item| {
                    let mut a = ArgStruct::default();
                    while let Some(f) = p.child(item)? {
                        if f.is("Name") {
                            a.name = p.string(&f)?;
                        } else if f.is("Value") {
                            a.value = p.string(&f)?;
                        } else {
                            p.skip(&f)?;
                        }
                    }
                    Ok(a)
                })?;
            } else {
                self.skip(&c)?;
            }
        }
        Ok(RequestDownload {
            file_type: file_type.ok_or_else(|| missing("FileType", "RequestDownload"))?,
            file_type_args: args,
        })
    }

    fn download(&mut self, e: &Elem<'i>) -> Result<Download, CodecError> {
        let mut d = Download::default();
        let (mut file_type, mut url) = (false, false);
        while let Some(c) = self.child(e)? {
            if c.is("CommandKey") {
                d.command_key = self.string(&c)?;
            } else if c.is("FileType") {
                d.file_type = self.string(&c)?;
                file_type = true;
            } else if c.is("URL") {
                d.url = self.string(&c)?;
                url = true;
            } else if c.is("Username") {
                d.username = self.string(&c)?;
            } else if c.is("Password") {
                d.password = self.string(&c)?;
            } else if c.is("FileSize") {
                d.file_size = self.number(&c)?;
            } else if c.is("TargetFileName") {
                d.target_file_name = self.string(&c)?;
            } else if c.is("DelaySeconds") {
                d.delay_seconds = self.number(&c)?;
            } else if c.is("SuccessURL") {
                d.success_url = self.string(&c)?;
            } else if c.is("FailureURL") {
                d.failure_url = self.string(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        if !file_type {
            return Err(missing("FileType", "Download"));
        }
        if !url {
            return Err(missing("URL", "Download"));
        }
        Ok(d)
    }

    fn upload(&mut self, e: &Elem<'i>) -> Result<Upload, CodecError> {
        let mut u = Upload::default();
        let (mut file_type, mut url) = (false, false);
        while let Some(c) = self.child(e)? {
            if c.is("CommandKey") {
                u.command_key = self.string(&c)?;
            } else if c.is("FileType") {
                u.file_type = self.string(&c)?;
                file_type = true;
            } else if c.is("URL") {
                u.url = self.string(&c)?;
                url = true;
            } else if c.is("Username") {
                u.username = self.string(&c)?;
            } else if c.is("Password") {
                u.password = self.string(&c)?;
            } else if c.is("DelaySeconds") {
                u.delay_seconds = self.number(&c)?;
            } else {
                self.skip(&c)?;
            }
        }
        if !file_type {
            return Err(missing("FileType", "Upload"));
        }
        if !url {
            return Err(missing("URL", "Upload"));
        }
        Ok(u)
    }

    // ------------------------------------------------------------------ faults

    /// A Body child named `Fault`: normally `soap-env:Fault` with `faultcode`, `faultstring` and
    /// a `detail`/`Detail` holding `cwmp:Fault`; the cwmp:Fault is searched at any depth. A bare
    /// `cwmp:Fault` directly in the Body is accepted too.
    fn soap_fault(&mut self, e: &Elem<'i>, ns: &mut Option<CwmpNs>) -> Result<Body, CodecError> {
        let mut f = Fault::default();
        if e.cwmp_ns.is_some() && !e.soap_ns {
            f.faultcode = "Client".to_owned();
            f.faultstring = "CWMP fault".to_owned();
            self.cwmp_fault(e, &mut f)?;
            return Ok(Body::Fault(f));
        }
        let mut found = false;
        while let Some(c) = self.child(e)? {
            // SOAP's `faultcode`/`faultstring` vs cwmp's `FaultCode`/`FaultString` (which some
            // CPEs put straight into the SOAP Fault): only the exact cwmp spelling is cwmp's.
            let local = c.local();
            if local != "FaultCode" && eq(local, "faultcode") {
                let t = self.text(&c)?;
                let t = t.trim_matches(is_xml_ws);
                // Strip a QName prefix: "SOAP-ENV:Client" -> "Client".
                f.faultcode = t.rsplit(':').next().unwrap_or(t).to_owned();
            } else if local != "FaultString" && eq(local, "faultstring") {
                f.faultstring = self.string(&c)?;
            } else if local == "faultactor" {
                self.skip(&c)?;
            } else {
                self.find_cwmp_fault(&c, &mut f, &mut found, ns, 0)?;
            }
        }
        Ok(Body::Fault(f))
    }

    /// Looks for the cwmp `Fault` element inside `e` (a `detail`, or anything else), at any
    /// depth. `FaultCode`/`FaultString`/`SetParameterValuesFault` sitting in a detail without
    /// the `Fault` wrapper are accepted too.
    fn find_cwmp_fault(
        &mut self,
        e: &Elem<'i>,
        f: &mut Fault,
        found: &mut bool,
        ns: &mut Option<CwmpNs>,
        level: usize,
    ) -> Result<(), CodecError> {
        if e.is("Fault") && !*found {
            *found = true;
            if ns.is_none() {
                *ns = e.cwmp_ns;
            }
            return self.cwmp_fault(e, f);
        }
        if e.is("FaultCode") || e.is("FaultString") || e.is("SetParameterValuesFault") {
            if !*found && ns.is_none() {
                *ns = e.cwmp_ns;
            }
            return self.cwmp_fault_field(e, f);
        }
        if level > 8 {
            return self.skip(e);
        }
        while let Some(c) = self.child(e)? {
            self.find_cwmp_fault(&c, f, found, ns, level + 1)?;
        }
        Ok(())
    }

    fn cwmp_fault(&mut self, e: &Elem<'i>, f: &mut Fault) -> Result<(), CodecError> {
        while let Some(c) = self.child(e)? {
            self.cwmp_fault_field(&c, f)?;
        }
        Ok(())
    }

    fn cwmp_fault_field(&mut self, c: &Elem<'i>, f: &mut Fault) -> Result<(), CodecError> {
        if c.is("FaultCode") {
            f.fault_code = self.number(c)?;
        } else if c.is("FaultString") {
            f.fault_string = self.string(c)?;
        } else if c.is("SetParameterValuesFault") {
            self.count_item()?;
            let mut s = SetParameterValuesFault::default();
            while let Some(g) = self.child(c)? {
                if g.is("ParameterName") {
                    s.parameter_name = self.string(&g)?;
                } else if g.is("FaultCode") {
                    s.fault_code = self.number(&g)?;
                } else if g.is("FaultString") {
                    s.fault_string = self.string(&g)?;
                } else {
                    self.skip(&g)?;
                }
            }
            f.set_parameter_values_faults.push(s);
        } else {
            self.skip(c)?;
        }
        Ok(())
    }
}

/// `1`/`true`/`0`/`false`, any case, surrounding whitespace ignored.
fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim_matches(is_xml_ws);
    if s == "1" || eq(s, "true") {
        Some(true)
    } else if s == "0" || eq(s, "false") {
        Some(false)
    } else {
        None
    }
}

/// The `xsi:type` (any prefix, any XMLSchema-instance namespace version, or none) of a
/// `Value` element, normalised to `xsd:`.
fn value_type(start: &BytesStart<'_>) -> Option<String> {
    for attr in start.attributes().with_checks(false).flatten() {
        let key = attr.key;
        let local = key.local_name().into_inner();
        if local != "type" {
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .unwrap_or(Cow::Borrowed(&*attr.value));
        return normalize_xsd_type(&value);
    }
    None
}
