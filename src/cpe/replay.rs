//! The replay harness: acts as the CPE that sent a captured Inform. Each capture (raw XML, or an
//! HTTP request capture with its headers before a blank line) drives one full session against an
//! ACS: authentication on 401, the Inform sent as captured (optionally with its
//! `ManagementServer.ConnectionRequestURL` values rewritten), the empty POST, well-formed success
//! answers to whatever the ACS asks ([`SuccessResponder`] seeded with the Inform's values), up to
//! the ACS's 204. The [`Transcript`] says what the ACS asked.
//!
//! Captured Informs carry real-world ConnectionRequestURLs: replaying them against an ACS that
//! sends connection requests would make it contact those addresses. Rewrite them
//! ([`ReplayOptions::rewrite_connection_request_url`]) to an address you control.
//!
//! ```
//! use ferroacs::cpe::replay::rewrite_connection_request_url;
//!
//! let xml = b"<ParameterValueStruct><Name>Device.ManagementServer.ConnectionRequestURL</Name>\
//!             <Value xsi:type='xsd:string'>http://10.0.0.1:7547/</Value></ParameterValueStruct>";
//! let (out, n) = rewrite_connection_request_url(xml, "http://127.0.0.1:9/cr").unwrap();
//! assert_eq!(n, 1);
//! assert!(out.ends_with(b"<Value xsi:type='xsd:string'>http://127.0.0.1:9/cr</Value></ParameterValueStruct>"));
//! ```

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::client::{AuthMode, ClientError, ClientOptions, CpeClient};
use super::session::{SessionError, SuccessResponder, Transcript, run_session};
use crate::config::{ReplayArgs, ReplayAuth};
use crate::cwmp::{self, Body, CodecError, Inform, Limits};

/// The parameter whose value [`rewrite_connection_request_url`] replaces (any data model root).
pub const CONNECTION_REQUEST_URL: &str = "ManagementServer.ConnectionRequestURL";

/// How to replay: the CPE's HTTP side, and the optional ConnectionRequestURL rewrite.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub client: ClientOptions,
    /// Replaces the value of every `*ManagementServer.ConnectionRequestURL` in the Inform.
    pub rewrite_connection_request_url: Option<String>,
}

impl ReplayOptions {
    pub fn new(client: ClientOptions) -> ReplayOptions {
        ReplayOptions {
            client,
            rewrite_connection_request_url: None,
        }
    }

    /// Rewrites the ConnectionRequestURL values to `url` before sending.
    pub fn rewrite(mut self, url: impl Into<String>) -> ReplayOptions {
        self.rewrite_connection_request_url = Some(url.into());
        self
    }

    /// The options `ferroacs replay` flags describe (reads `--ca-cert`).
    pub fn from_args(args: &ReplayArgs) -> Result<ReplayOptions, ReplayError> {
        let mut client = ClientOptions::new(args.url.clone());
        match (&args.username, &args.password) {
            (Some(u), Some(p)) => client = client.credentials(u, p),
            (None, None) => {}
            _ => {
                return Err(ReplayError::Options(
                    "--username and --password go together".into(),
                ));
            }
        }
        client.auth = args.auth.into();
        client.echo_cookies = !args.no_cookies;
        client.new_connection_per_request = args.new_connection;
        client.auth_only_on_inform = args.auth_only_on_inform;
        if let Some(path) = &args.ca_cert {
            client.root_cert_pem =
                Some(std::fs::read(path).map_err(|source| ReplayError::Read {
                    path: path.clone(),
                    source,
                })?);
        }
        Ok(ReplayOptions {
            client,
            rewrite_connection_request_url: args.rewrite_connection_request_url.clone(),
        })
    }
}

impl From<ReplayAuth> for AuthMode {
    fn from(a: ReplayAuth) -> AuthMode {
        match a {
            ReplayAuth::Digest => AuthMode::Digest,
            ReplayAuth::DigestMd5 => AuthMode::DigestMd5,
            ReplayAuth::Rfc2069 => AuthMode::Digest2069,
            ReplayAuth::Basic => AuthMode::Basic,
        }
    }
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Options(String),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unreadable HTTP capture: {0}")]
    Capture(String),
    #[error("the capture is not a CWMP message: {0}")]
    NotCwmp(CodecError),
    #[error("the capture holds a {0}, not an Inform")]
    NotInform(String),
    #[error("cannot rewrite the ConnectionRequestURL: {0}")]
    Rewrite(String),
    #[error("cannot connect to the ACS at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error(
        "authentication failed: the ACS still answers 401 after the challenges were answered \
         (check --username, --password and --auth)"
    )]
    Unauthorized,
    #[error("the ACS asked for credentials and none are configured (--username, --password)")]
    NoCredentials,
    #[error("the ACS refused the device (HTTP 403): {0}")]
    Forbidden(String),
    #[error("the ACS answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the ACS answered something that is not CWMP: {0}")]
    AcsNotCwmp(CodecError),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("CPE client: {0}")]
    Client(ClientError),
}

/// An error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

fn short(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

impl ReplayError {
    fn from_client(e: ClientError, url: &str) -> ReplayError {
        match e {
            ClientError::NoCredentials => ReplayError::NoCredentials,
            ClientError::Http(h) if h.is_connect() || h.is_timeout() => ReplayError::Connect {
                url: url.to_string(),
                detail: chain(&h),
            },
            other => ReplayError::Client(other),
        }
    }

    fn from_session(e: SessionError, url: &str) -> ReplayError {
        match e {
            SessionError::Client(c) => ReplayError::from_client(c, url),
            SessionError::Status { status: 401, .. } => ReplayError::Unauthorized,
            SessionError::Status { status: 403, body } => {
                ReplayError::Forbidden(short(body.as_bytes()))
            }
            SessionError::Status { status, body } => ReplayError::Status {
                status,
                body: short(body.as_bytes()),
            },
            SessionError::Codec(c) => ReplayError::AcsNotCwmp(c),
            SessionError::Protocol(p) => ReplayError::Protocol(p),
        }
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Whether `line` is an HTTP request line (`POST /path HTTP/1.1`).
fn is_request_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|c| *c == b' ').filter(|p| !p.is_empty());
    let (Some(method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !method.is_empty() && method.iter().all(u8::is_ascii_uppercase) && version.starts_with(b"HTTP/")
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, ReplayError> {
    let bad = |m: &str| ReplayError::Capture(format!("chunked body: {m}"));
    let mut out = Vec::with_capacity(b.len());
    loop {
        let eol = find(b, b"\n", 0).ok_or_else(|| bad("missing chunk size"))?;
        let line = String::from_utf8_lossy(&b[..eol]);
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
        b = &b[eol + 1..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            return Err(bad("truncated chunk"));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size..];
        b = b.strip_prefix(b"\r").unwrap_or(b);
        b = b.strip_prefix(b"\n").unwrap_or(b);
    }
}

/// The body of a capture: the bytes as they are for raw XML; for an HTTP request capture (a
/// request line, headers, a blank line), what follows the blank line, de-chunked, and cut to
/// `Content-Length` when the capture adds only trailing whitespace after it.
pub fn http_body(capture: &[u8]) -> Result<Cow<'_, [u8]>, ReplayError> {
    let first_eol = find(capture, b"\n", 0).unwrap_or(capture.len());
    if !is_request_line(&capture[..first_eol]) {
        return Ok(Cow::Borrowed(capture));
    }
    let mut pos = first_eol + 1;
    let mut content_length = None;
    let mut chunked = false;
    loop {
        if pos >= capture.len() {
            return Err(ReplayError::Capture(
                "no blank line after the HTTP headers".into(),
            ));
        }
        let eol = find(capture, b"\n", pos).unwrap_or(capture.len());
        let line = &capture[pos..eol];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos = eol + 1;
        if line.is_empty() {
            break;
        }
        let line = String::from_utf8_lossy(line);
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }
    let body = &capture[pos.min(capture.len())..];
    if chunked {
        return Ok(Cow::Owned(dechunk(body)?));
    }
    match content_length {
        Some(n) if n < body.len() && body[n..].iter().all(u8::is_ascii_whitespace) => {
            Ok(Cow::Borrowed(&body[..n]))
        }
        _ => Ok(Cow::Borrowed(body)),
    }
}

/// Parses `xml` as an Inform.
pub fn parse_inform(xml: &[u8]) -> Result<Inform, ReplayError> {
    match cwmp::parse(xml, &Limits::default()) {
        Ok(env) => match env.body {
            Body::Inform(i) => Ok(i),
            other => Err(ReplayError::NotInform(other.method_name().to_string())),
        },
        Err(e) => Err(ReplayError::NotCwmp(e)),
    }
}

/// The Inform of a capture file's contents, as bytes to send: HTTP headers stripped (see
/// [`http_body`]), otherwise unchanged. Fails when it is not a CWMP Inform.
pub fn load_inform(capture: &[u8]) -> Result<Vec<u8>, ReplayError> {
    let body = http_body(capture)?.into_owned();
    parse_inform(&body)?;
    Ok(body)
}

// --- the byte-level rewrite --------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Start,
    End,
    Empty,
}

/// One element tag of the input: `start..end` are its bytes (`<` to `>` inclusive).
#[derive(Debug, Clone, Copy)]
struct Tag {
    start: usize,
    end: usize,
    kind: TagKind,
    /// The qualified name (`soapenv:Value`).
    qname: (usize, usize),
}

impl Tag {
    fn local<'a>(&self, b: &'a [u8]) -> &'a [u8] {
        let q = &b[self.qname.0..self.qname.1];
        match q.iter().rposition(|c| *c == b':') {
            Some(i) => &q[i + 1..],
            None => q,
        }
    }

    fn is(&self, b: &[u8], local: &str) -> bool {
        self.local(b).eq_ignore_ascii_case(local.as_bytes())
    }
}

/// Element tags in document order, skipping comments, CDATA sections, processing instructions
/// and declarations. Works on the bytes of any ASCII-compatible encoding (UTF-8, Latin-1).
struct Tags<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Iterator for Tags<'_> {
    type Item = Result<Tag, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        loop {
            let start = find(b, b"<", self.pos)?;
            let rest = &b[start..];
            let skip_to = |end: &[u8], what: &str| {
                find(b, end, start + 1)
                    .map(|e| e + end.len())
                    .ok_or_else(|| format!("unterminated {what}"))
            };
            let skipped = if rest.starts_with(b"<!--") {
                Some(skip_to(b"-->", "comment"))
            } else if rest.starts_with(b"<![CDATA[") {
                Some(skip_to(b"]]>", "CDATA section"))
            } else if rest.starts_with(b"<?") {
                Some(skip_to(b"?>", "processing instruction"))
            } else if rest.starts_with(b"<!") {
                Some(skip_to(b">", "declaration"))
            } else {
                None
            };
            if let Some(s) = skipped {
                match s {
                    Ok(p) => {
                        self.pos = p;
                        continue;
                    }
                    Err(e) => {
                        self.pos = b.len();
                        return Some(Err(e));
                    }
                }
            }
            let end_tag = rest.starts_with(b"</");
            let name_start = start + if end_tag { 2 } else { 1 };
            let name_end = b[name_start..]
                .iter()
                .position(|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'))
                .map_or(b.len(), |p| p + name_start);
            // The closing '>', outside attribute values.
            let mut i = name_end;
            let mut quote = None;
            let close = loop {
                let Some(&c) = b.get(i) else {
                    self.pos = b.len();
                    return Some(Err("unterminated tag".into()));
                };
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(c),
                    (None, b'>') => break i,
                    (None, _) => {}
                }
                i += 1;
            };
            self.pos = close + 1;
            if name_end == name_start {
                return Some(Err(format!("tag without a name at byte {start}")));
            }
            let kind = if end_tag {
                TagKind::End
            } else if b[name_end..close].trim_ascii_end().ends_with(b"/") {
                TagKind::Empty
            } else {
                TagKind::Start
            };
            return Some(Ok(Tag {
                start,
                end: close + 1,
                kind,
                qname: (name_start, name_end),
            }));
        }
    }
}

/// Where the Value of a ParameterValueStruct is.
#[derive(Debug, Clone, Copy)]
enum ValueAt {
    /// Its content, between the start and the end tag.
    Content(usize, usize),
    /// A self-closing `<Value/>` tag.
    Empty(Tag),
}

/// The text of a Name element's raw content: CDATA unwrapped, whitespace trimmed.
fn name_text(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = find(rest, b"<![CDATA[", 0) {
        out.extend_from_slice(&rest[..i]);
        let inner = &rest[i + 9..];
        let e = find(inner, b"]]>", 0).unwrap_or(inner.len());
        out.extend_from_slice(&inner[..e]);
        rest = &inner[(e + 3).min(inner.len())..];
    }
    out.extend_from_slice(rest);
    out.trim_ascii().to_vec()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces the Value of every `ParameterValueStruct` whose Name ends with
/// `ManagementServer.ConnectionRequestURL` by `url`, leaving every other byte as it was (so a
/// Latin-1 or UTF-8 document stays one). Returns the new document and how many values were
/// replaced. `url` must be an absolute http(s) URL in ASCII. The result is checked with the
/// codec: every ConnectionRequestURL it reads must be `url`.
pub fn rewrite_connection_request_url(
    xml: &[u8],
    url: &str,
) -> Result<(Vec<u8>, usize), ReplayError> {
    let parsed = url::Url::parse(url).map_err(|e| ReplayError::Rewrite(format!("{url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || !url.is_ascii() {
        return Err(ReplayError::Rewrite(format!(
            "{url:?}: expected an ASCII http:// or https:// URL"
        )));
    }
    if xml.starts_with(&[0xFE, 0xFF]) || xml.starts_with(&[0xFF, 0xFE]) {
        return Err(ReplayError::Rewrite(
            "UTF-16 documents are not supported".into(),
        ));
    }
    let replacement = xml_escape(url);
    let mut edits: Vec<(ValueAt, Vec<u8>)> = Vec::new();
    let mut depth = 0usize;
    // (depth of the ParameterValueStruct's children, Name, Value)
    let mut pvs: Option<(usize, Option<Vec<u8>>, Option<ValueAt>)> = None;
    let mut open: Option<(Tag, usize)> = None; // a Name or Value child being read
    for tag in (Tags { b: xml, pos: 0 }) {
        let tag = tag.map_err(ReplayError::Rewrite)?;
        match tag.kind {
            TagKind::Start | TagKind::Empty => {
                if let Some((child_depth, name, value)) = &mut pvs
                    && depth == *child_depth
                {
                    if tag.is(xml, "Name") {
                        match tag.kind {
                            TagKind::Empty => *name = Some(Vec::new()),
                            _ => open = Some((tag, depth)),
                        }
                    } else if tag.is(xml, "Value") {
                        match tag.kind {
                            TagKind::Empty => *value = Some(ValueAt::Empty(tag)),
                            _ => open = Some((tag, depth)),
                        }
                    }
                }
                if tag.kind == TagKind::Start {
                    if tag.is(xml, "ParameterValueStruct") {
                        pvs = Some((depth + 1, None, None));
                    }
                    depth += 1;
                }
            }
            TagKind::End => {
                depth = depth.saturating_sub(1);
                if let Some((o, d)) = open
                    && d == depth
                {
                    open = None;
                    if let Some((_, name, value)) = &mut pvs {
                        if o.is(xml, "Name") {
                            *name = Some(name_text(&xml[o.end..tag.start]));
                        } else {
                            *value = Some(ValueAt::Content(o.end, tag.start));
                        }
                    }
                }
                if tag.is(xml, "ParameterValueStruct")
                    && let Some((child_depth, name, value)) = pvs.take()
                {
                    if child_depth != depth + 1 {
                        pvs = Some((child_depth, name, value));
                        continue;
                    }
                    let is_url = name
                        .as_deref()
                        .is_some_and(|n| n.ends_with(CONNECTION_REQUEST_URL.as_bytes()));
                    if is_url {
                        let Some(at) = value else {
                            return Err(ReplayError::Rewrite(
                                "a ConnectionRequestURL without a Value".into(),
                            ));
                        };
                        let bytes = match at {
                            ValueAt::Content(..) => replacement.as_bytes().to_vec(),
                            ValueAt::Empty(t) => {
                                let inner = xml[t.start..t.end - 1].trim_ascii_end();
                                let inner =
                                    inner.strip_suffix(b"/").unwrap_or(inner).trim_ascii_end();
                                let mut v = inner.to_vec();
                                v.push(b'>');
                                v.extend_from_slice(replacement.as_bytes());
                                v.extend_from_slice(b"</");
                                v.extend_from_slice(&xml[t.qname.0..t.qname.1]);
                                v.push(b'>');
                                v
                            }
                        };
                        edits.push((at, bytes));
                    }
                }
            }
        }
    }
    let mut out = Vec::with_capacity(xml.len() + edits.len() * replacement.len());
    let mut from = 0;
    for (at, bytes) in &edits {
        let (s, e) = match at {
            ValueAt::Content(s, e) => (*s, *e),
            ValueAt::Empty(t) => (t.start, t.end),
        };
        out.extend_from_slice(&xml[from..s]);
        out.extend_from_slice(bytes);
        from = e;
    }
    out.extend_from_slice(&xml[from..]);
    // What the codec reads must agree: no ConnectionRequestURL may escape the rewrite.
    if let Ok(inform) = parse_inform(&out) {
        let urls: Vec<&str> = inform
            .parameters
            .iter()
            .filter(|p| p.name.trim().ends_with(CONNECTION_REQUEST_URL))
            .map(|p| p.value.as_str())
            .collect();
        if urls.len() != edits.len() || urls.iter().any(|u| *u != url) {
            return Err(ReplayError::Rewrite(format!(
                "rewrote {} value(s) but the Inform reads {urls:?}",
                edits.len()
            )));
        }
    }
    Ok((out, edits.len()))
}

// --- sessions ----------------------------------------------------------------------------------

/// A CPE replaying captures one session after another (keeping the last Digest challenge between
/// sessions, as a CPE does).
pub struct Replayer {
    client: CpeClient,
    url: String,
    rewrite: Option<String>,
}

impl Replayer {
    pub fn new(opts: ReplayOptions) -> Result<Replayer, ReplayError> {
        if let Some(u) = &opts.rewrite_connection_request_url {
            // Fail before any traffic when the rewrite URL is unusable.
            rewrite_connection_request_url(b"", u)?;
        }
        let url = opts.client.url.clone();
        let client = CpeClient::new(opts.client).map_err(|e| ReplayError::from_client(e, &url))?;
        Ok(Replayer {
            client,
            url,
            rewrite: opts.rewrite_connection_request_url,
        })
    }

    /// One session from a capture's contents (raw XML or an HTTP capture).
    pub async fn replay(&mut self, capture: &[u8]) -> Result<Transcript, ReplayError> {
        let mut xml = load_inform(capture)?;
        let mut rewritten = 0;
        if let Some(u) = &self.rewrite {
            (xml, rewritten) = rewrite_connection_request_url(&xml, u)?;
        }
        let inform = parse_inform(&xml)?;
        let mut responder = SuccessResponder::new(&inform.parameters);
        let mut t = run_session(&mut self.client, xml, &mut responder)
            .await
            .map_err(|e| ReplayError::from_session(e, &self.url))?;
        let d = &inform.device_id;
        let events: Vec<&str> = inform.events.iter().map(|e| e.event_code.trim()).collect();
        let mut first = format!(
            "-> Inform {}-{}-{} [{}]",
            d.oui.trim(),
            d.product_class.trim(),
            d.serial_number.trim(),
            events.join(", ")
        );
        if self.rewrite.is_some() {
            first.push_str(&format!(" ConnectionRequestURL rewritten x{rewritten}"));
        }
        t.lines.insert(0, first);
        Ok(t)
    }

    /// One session from a capture file.
    pub async fn replay_file(&mut self, path: impl AsRef<Path>) -> Result<Transcript, ReplayError> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| ReplayError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        self.replay(&bytes).await
    }
}

/// Replays one capture file with a fresh CPE client.
pub async fn replay_file(
    opts: &ReplayOptions,
    path: impl AsRef<Path>,
) -> Result<Transcript, ReplayError> {
    Replayer::new(opts.clone())?.replay_file(path).await
}

/// Replays one capture's contents with a fresh CPE client.
pub async fn replay_bytes(opts: &ReplayOptions, capture: &[u8]) -> Result<Transcript, ReplayError> {
    Replayer::new(opts.clone())?.replay(capture).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:9/cr?a=1&b=2";

    fn rw(xml: &str) -> (String, usize) {
        let (out, n) = rewrite_connection_request_url(xml.as_bytes(), URL).unwrap();
        (String::from_utf8(out).unwrap(), n)
    }

    #[test]
    fn rewrites_values_in_any_shape() {
        // Prefixed, Value before Name, a comment, CDATA in the Name, an untouched neighbour.
        let xml = "<p:ParameterList><p:ParameterValueStruct><!-- <Value>x</Value> --><p:Value \
                   t='a>b'>old</p:Value><p:Name><![CDATA[Device.ManagementServer.ConnectionRequestURL]]></p:Name>\
                   </p:ParameterValueStruct><ParameterValueStruct><Name>Device.ManagementServer.URL</Name>\
                   <Value>http://acs/</Value></ParameterValueStruct></p:ParameterList>";
        let (out, n) = rw(xml);
        assert_eq!(n, 1);
        assert_eq!(
            out,
            xml.replace(">old<", ">http://127.0.0.1:9/cr?a=1&amp;b=2<")
        );
        // Empty and self-closing values.
        let (out, n) = rw(
            "<ParameterValueStruct><Name> X.ManagementServer.ConnectionRequestURL </Name><Value/></ParameterValueStruct>\
             <ParameterValueStruct><Name>Y.ManagementServer.ConnectionRequestURL</Name><Value xsi:type=\"xsd:string\" /></ParameterValueStruct>\
             <ParameterValueStruct><Name>Z.ManagementServer.ConnectionRequestURL</Name><Value></Value></ParameterValueStruct>",
        );
        assert_eq!(n, 3);
        assert_eq!(
            out.matches(">http://127.0.0.1:9/cr?a=1&amp;b=2</Value>")
                .count(),
            3
        );
        assert!(out.contains("<Value xsi:type=\"xsd:string\">http://"));
        // A Value outside a ParameterValueStruct is left alone.
        let xml = "<Name>A.ManagementServer.ConnectionRequestURL</Name><Value>keep</Value>";
        assert_eq!(rw(xml), (xml.to_string(), 0));
    }

    #[test]
    fn bytes_outside_the_value_are_untouched() {
        let mut xml = b"<?xml version='1.0' encoding='ISO-8859-1'?><ParameterValueStruct><Name>Caf\xE9</Name>\
                        <Value>\xE0</Value></ParameterValueStruct><ParameterValueStruct>\r\n<Name>InternetGatewayDevice.ManagementServer.ConnectionRequestURL</Name>\
                        <Value>http://10.0.0.1/</Value></ParameterValueStruct>"
            .to_vec();
        let (out, n) = rewrite_connection_request_url(&xml, "http://127.0.0.1:1/").unwrap();
        assert_eq!(n, 1);
        let at = find(&xml, b"http://10.0.0.1/", 0).unwrap();
        xml.splice(at..at + 16, b"http://127.0.0.1:1/".iter().copied());
        assert_eq!(out, xml);
    }

    #[test]
    fn bad_inputs() {
        assert!(rewrite_connection_request_url(b"<a>", "ftp://x/").is_err());
        assert!(rewrite_connection_request_url(b"<a>", "not a url").is_err());
        assert!(rewrite_connection_request_url(b"<a", "http://127.0.0.1/").is_err());
        assert!(rewrite_connection_request_url(b"\xFF\xFE<\0", "http://127.0.0.1/").is_err());
    }

    #[test]
    fn http_captures() {
        let raw = b"<a/>";
        assert_eq!(&*http_body(raw).unwrap(), raw);
        let cap = b"POST / HTTP/1.1\nHost: x\nContent-Length: 4\n\n<a/>\n";
        assert_eq!(&*http_body(cap).unwrap(), b"<a/>");
        let cap = b"POST /acs HTTP/1.1\r\nContent-Length: 2\r\n\r\n<a/>";
        assert_eq!(
            &*http_body(cap).unwrap(),
            b"<a/>",
            "a wrong length is ignored"
        );
        let cap = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n<a\r\n2;x=y\r\n/>\r\n0\r\n\r\n";
        assert_eq!(&*http_body(cap).unwrap(), b"<a/>");
        assert!(http_body(b"POST / HTTP/1.1\r\nHost: x\r\n").is_err());
    }
}
