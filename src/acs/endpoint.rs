//! The CWMP endpoint: HTTP POSTs from CPEs on any path, driving sessions through the flow of
//! TR-069 (Inform, CPE requests, empty POST, ACS requests one per response, 204).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body as HttpBody, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::Acs;
use super::auth::{AuthFailure, Principal};
use super::facts;
use super::planner::{self, RequestKind};
use super::session::{COOKIE, Outstanding, Session, SessionRef};
use crate::cwmp::{
    self, Body, CodecError, CwmpNs, Envelope, Fault, Header, Inform, Limits, NsMode, WriteOptions,
};
use crate::server::ConnInfo;
use crate::store::{CwmpDevice, InformWrite, Table, Val};
use crate::time::now_micros;

/// The RPC methods the ACS implements (answer to a CPE's GetRPCMethods).
const ACS_METHODS: [&str; 5] = [
    "Inform",
    "GetRPCMethods",
    "TransferComplete",
    "AutonomousTransferComplete",
    "RequestDownload",
];

pub fn router(acs: Arc<Acs>) -> Router {
    Router::new().fallback(handle).with_state(acs)
}

fn xml(env: &Envelope) -> Response {
    let body = cwmp::to_vec_with(
        env,
        &WriteOptions {
            ns_mode: NsMode::Wire,
        },
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=\"utf-8\""),
        )],
        body,
    )
        .into_response()
}

fn fault(ns: CwmpNs, id: Option<String>, code: u32, msg: &str) -> Response {
    xml(&Envelope::new(
        ns,
        Header {
            id,
            ..Header::default()
        },
        Body::Fault(Fault::new(code, msg)),
    ))
}

fn plain(status: StatusCode, msg: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg,
    )
        .into_response()
}

fn end_session() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn unavailable() -> Response {
    // CPEs retry after a 503; nothing of the session was recorded.
    let mut r = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "ACS temporarily unavailable\n",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
    r
}

fn cookie_of(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().find_map(|v| {
        v.to_str().ok()?.split(';').find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k.trim() == COOKIE).then(|| v.trim().trim_matches('"').to_string())
        })
    })
}

async fn read_body(body: HttpBody, limit: usize) -> Result<Bytes, Response> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large\n",
            ))
        }
        Err(_) => Err(plain(
            StatusCode::BAD_REQUEST,
            "could not read the request body\n",
        )),
    }
}

async fn handle(State(acs): State<Arc<Acs>>, req: Request) -> Response {
    let conn = req.extensions().get::<ConnInfo>().copied();
    let Some(conn) = conn else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "no connection info\n");
    };
    if req.method() != Method::POST {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "CWMP endpoint: POST only\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let (parts, body) = req.into_parts();
    let ip = conn.peer.ip();
    let cookie = cookie_of(&parts.headers);
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let found = acs.sessions.find(cookie.as_deref(), conn.id, ip);
    // A first POST without credentials is challenged before its body is even parsed.
    if found.is_none() && authorization.is_none() {
        let _ = read_body(body, acs.config.max_body_bytes).await;
        return challenge(&acs, false, conn.tls);
    }
    let bytes = match read_body(body, acs.config.max_body_bytes).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let limits = Limits {
        max_bytes: acs.config.max_body_bytes,
        ..Limits::default()
    };
    let parsed = match cwmp::parse_partial(&bytes, &limits) {
        Ok(p) => Some(p),
        Err(CodecError::Empty) => None,
        Err(e) => {
            let who = match &found {
                Some((s, _)) => s.lock().await.label.clone(),
                None => "unknown device".to_string(),
            };
            tracing::warn!(device = %who, peer = %conn.peer, error = %e, "refused a CWMP message");
            let status = if matches!(e, CodecError::TooLarge) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return plain(status, "malformed CWMP message\n");
        }
    };
    match parsed {
        Some(p) if matches!(p.body, Ok(Body::Inform(_))) => {
            let Ok(Body::Inform(inform)) = p.body else {
                unreachable!()
            };
            inform_session(&acs, conn, authorization.as_deref(), p.ns, p.header, inform).await
        }
        None => match found {
            Some((s, by_ip)) => {
                if by_ip && !same_device(&acs, &s, authorization.as_deref(), conn.tls).await {
                    // Only the source address ties it to a session: not enough to drive one.
                    return end_session();
                }
                let mut s = s.lock().await;
                next_request(&acs, &mut s).await
            }
            // Nothing to continue: end politely.
            None => end_session(),
        },
        Some(p) => {
            let Some((s, by_ip)) = found else {
                tracing::warn!(peer = %conn.peer, "CWMP message outside a session (expected an Inform)");
                return fault(p.ns, p.header.id, 8003, "Start the session with an Inform");
            };
            if by_ip && !same_device(&acs, &s, authorization.as_deref(), conn.tls).await {
                return challenge(&acs, false, conn.tls);
            }
            let mut s = s.lock().await;
            s.hold_requests = p.header.hold_requests.unwrap_or(false);
            match p.body {
                Err(CodecError::Empty) => next_request(&acs, &mut s).await,
                Err(e) => {
                    tracing::warn!(device = %s.label, error = %e, "CPE sent an RPC the ACS does not handle");
                    fault(s.ns, p.header.id, e.acs_fault_code(), &e.to_string())
                }
                Ok(body) if body.is_response() || body.is_fault() => {
                    on_response(&acs, &mut s, p.header.id, body).await;
                    next_request(&acs, &mut s).await
                }
                Ok(body) => cpe_request(&mut s, p.header.id, body),
            }
        }
    }
}

fn challenge(acs: &Acs, stale: bool, tls: bool) -> Response {
    let mut r = plain(StatusCode::UNAUTHORIZED, "authentication required\n");
    for c in acs.auth.challenges(stale, tls) {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    r
}

/// A request tied to a session only by its source address must authenticate as its device.
async fn same_device(acs: &Acs, s: &SessionRef, authorization: Option<&str>, tls: bool) -> bool {
    let device_id = s.lock().await.device.id;
    match acs.auth.authenticate(authorization, tls).await {
        Ok(Principal::Device(d)) => d.id == device_id,
        _ => false,
    }
}

/// The version both sides speak (CWMP 1.4 negotiation), from the CPE's SupportedCWMPVersions.
fn negotiate(supported: &str) -> Option<String> {
    supported
        .split(',')
        .filter_map(|v| {
            let (maj, min) = v.trim().split_once('.')?;
            Some((maj.parse::<u32>().ok()?, min.parse::<u32>().ok()?))
        })
        .filter(|(maj, min)| *maj == 1 && *min <= 4)
        .max()
        .map(|(maj, min)| format!("{maj}.{min}"))
}

async fn inform_session(
    acs: &Acs,
    conn: ConnInfo,
    authorization: Option<&str>,
    ns: CwmpNs,
    header: Header,
    inform: Inform,
) -> Response {
    let label = facts::unique_identifier(&inform);
    let principal = match acs.auth.authenticate(authorization, conn.tls).await {
        Ok(p) => p,
        Err(AuthFailure::Challenge { stale, reason }) => {
            tracing::info!(device = %label, peer = %conn.peer, reason, "CPE authentication failed");
            return challenge(acs, stale, conn.tls);
        }
        Err(AuthFailure::Store(e)) => {
            tracing::error!(device = %label, error = %e, "credential lookup failed");
            return unavailable();
        }
    };
    let serial = inform.device_id.serial_number.trim().to_string();
    let device = match principal {
        Principal::Device(d) => {
            if let Some(known) = d.serial_number.as_deref()
                && known != serial
            {
                tracing::warn!(device = %label, inventory_serial = known, username = ?d.username, "DeviceId does not match the authenticated device: refused");
                return plain(
                    StatusCode::FORBIDDEN,
                    "DeviceId does not match the authenticated device\n",
                );
            }
            *d
        }
        Principal::Bootstrap => match bootstrap_device(acs, &inform, &label).await {
            Ok(d) => d,
            Err(r) => return r,
        },
    };
    let f = facts::from_params(&inform.parameters);
    let mut write = facts::inform_write(&inform, &f, device.inform_params_hash.as_deref());
    write.device_id = device.id;
    write.cred_tag = device.cred_tag();
    write.now = now_micros();
    write.address = Some(conn.peer.ip().to_string());
    write.cwmp_version = Some(
        header
            .supported_cwmp_versions
            .as_deref()
            .and_then(negotiate)
            .unwrap_or_else(|| ns.version().to_string()),
    );
    if device.serial_number.is_none() && !serial.is_empty() {
        write.fill_serial = Some(serial);
    }
    let fresh = match acs.writer.submit(write).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            // Deleted, or its credentials changed since they were checked.
            if let Some(u) = &device.username {
                acs.auth.evict(u);
            }
            tracing::info!(device = %label, "device changed during authentication; challenging again");
            return challenge(acs, false, conn.tls);
        }
        Err(e) => {
            tracing::error!(device = %label, error = %e, "recording the Inform failed");
            return unavailable();
        }
    };
    let events: Vec<&str> = inform
        .events
        .iter()
        .map(|e| e.event_code.as_str())
        .collect();
    tracing::debug!(device = %label, device_id = fresh.id, ?events, "Inform");
    let session = Session::new(fresh, label, ns, inform.events, f);
    let mut out_header = Header {
        id: header.id.clone(),
        ..Header::default()
    };
    if let Some(v) = header
        .supported_cwmp_versions
        .as_deref()
        .and_then(negotiate)
    {
        out_header.use_cwmp_version = Some(v);
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/{}",
        session.id,
        if conn.tls { "; Secure" } else { "" }
    );
    let (_, replaced) = acs.sessions.insert(session, conn.id, conn.peer.ip());
    if let Some(old) = replaced
        && let Ok(mut old) = old.try_lock()
    {
        old.ended = true;
    }
    let mut r = xml(&Envelope::new(
        ns,
        out_header,
        Body::InformResponse { max_envelopes: 1 },
    ));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The device a bootstrap-authenticated CPE is: the inventory's device with its serial number
/// (when it has no credentials of its own), or a new one when auto-registration is on.
async fn bootstrap_device(acs: &Acs, inform: &Inform, label: &str) -> Result<CwmpDevice, Response> {
    let serial = inform.device_id.serial_number.trim();
    if serial.is_empty() {
        return Err(plain(
            StatusCode::FORBIDDEN,
            "DeviceId has no serial number\n",
        ));
    }
    match acs.store.cwmp_device_by_serial(serial).await {
        Ok(Some(d)) if d.username.is_none() => return Ok(d),
        Ok(Some(_)) => {
            tracing::warn!(device = %label, "bootstrap credentials used by a device that has its own: refused");
            return Err(plain(
                StatusCode::FORBIDDEN,
                "this device must use its own credentials\n",
            ));
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(device = %label, error = %e, "device lookup failed");
            return Err(unavailable());
        }
    }
    let Some(org) = acs.config.auto_register else {
        tracing::warn!(device = %label, "unknown device refused (auto-registration is off)");
        return Err(plain(StatusCode::FORBIDDEN, "unknown device\n"));
    };
    match auto_register(acs, org, inform, label).await {
        Ok(d) => {
            tracing::info!(device = %label, device_id = d.id, organization = org, "auto-registered a new device");
            Ok(d)
        }
        Err(e) => {
            tracing::error!(device = %label, error = %e, "auto-registration failed");
            Err(unavailable())
        }
    }
}

async fn auto_register(
    acs: &Acs,
    org: i64,
    inform: &Inform,
    label: &str,
) -> Result<CwmpDevice, crate::store::StoreError> {
    let d = &inform.device_id;
    let manufacturer = if d.manufacturer.trim().is_empty() {
        "unknown"
    } else {
        d.manufacturer.trim()
    };
    let product_class = if d.product_class.trim().is_empty() {
        "unknown"
    } else {
        d.product_class.trim()
    };
    let type_id = acs
        .store
        .device_type_for(manufacturer, product_class)
        .await?;
    let now = now_micros();
    let values = vec![
        ("uuid", Val::Text(Some(uuid::Uuid::new_v4().to_string()))),
        ("name", Val::Text(Some(label.to_string()))),
        ("status_up", Val::Bool(false)),
        ("status_change", Val::Int(Some(now))),
        ("type_id", Val::Int(Some(type_id))),
        ("organization_id", Val::Int(Some(org))),
        (
            "serial_number",
            Val::Text(Some(d.serial_number.trim().to_string())),
        ),
        ("last_change", Val::Int(Some(now))),
        ("created", Val::Int(Some(now))),
    ];
    match acs.store.insert(Table::Devices, &values).await {
        Ok(_) | Err(crate::store::StoreError::Unique { .. }) => {}
        Err(e) => return Err(e),
    }
    // Registered now (or concurrently by another session/instance).
    acs.store
        .cwmp_device_by_serial(d.serial_number.trim())
        .await?
        .ok_or(crate::store::StoreError::ForeignKey)
}

/// Answers a request the CPE makes inside its session.
fn cpe_request(s: &mut Session, id: Option<String>, body: Body) -> Response {
    let reply = match body {
        Body::TransferComplete(tc) => {
            tracing::info!(device = %s.label, command_key = %tc.command_key, fault = ?tc.fault, "TransferComplete");
            Body::TransferCompleteResponse
        }
        Body::AutonomousTransferComplete(atc) => {
            tracing::info!(device = %s.label, url = %atc.transfer_url, fault = ?atc.fault, "AutonomousTransferComplete");
            Body::AutonomousTransferCompleteResponse
        }
        Body::GetRPCMethods => {
            Body::GetRPCMethodsResponse(ACS_METHODS.iter().map(|m| m.to_string()).collect())
        }
        Body::RequestDownload(rd) => {
            tracing::info!(device = %s.label, file_type = %rd.file_type, "RequestDownload (no file offered)");
            Body::RequestDownloadResponse
        }
        other => {
            tracing::warn!(device = %s.label, method = other.method_name(), "CPE sent a method the ACS does not implement");
            return fault(s.ns, id, 8000, "Method not supported");
        }
    };
    xml(&Envelope::new(
        s.ns,
        Header {
            id,
            ..Header::default()
        },
        reply,
    ))
}

/// Sends the planner's next request, or ends the session.
async fn next_request(acs: &Acs, s: &mut Session) -> Response {
    if s.ended {
        return end_session();
    }
    if s.outstanding.is_some() {
        // An empty POST while a request is unanswered: the CPE dropped it; it stays to do.
        s.outstanding = None;
    }
    match planner::next(s) {
        Some((kind, body)) => {
            let id = s.fresh_id();
            s.outstanding = Some(Outstanding {
                cwmp_id: id.clone(),
                kind,
            });
            xml(&Envelope::new(s.ns, Header::with_id(id), body))
        }
        None => {
            s.ended = true;
            acs.sessions.remove(&s.id);
            end_session()
        }
    }
}

/// Handles the CPE's response (or fault) to the outstanding ACS request.
async fn on_response(acs: &Acs, s: &mut Session, id: Option<String>, body: Body) {
    let Some(out) = s.outstanding.take() else {
        tracing::warn!(device = %s.label, method = body.method_name(), "response without an outstanding request: ignored");
        return;
    };
    if let Some(id) = &id
        && *id != out.cwmp_id
    {
        tracing::warn!(device = %s.label, expected = %out.cwmp_id, got = %id, "cwmp:ID of the response does not match the request");
    }
    s.attempted.push(out.kind.clone());
    match (out.kind, body) {
        (RequestKind::Identity, Body::GetParameterValuesResponse(list)) => {
            let f = facts::from_params(&list);
            let mut write = InformWrite {
                device_id: s.device.id,
                cred_tag: s.cred_tag.clone(),
                now: now_micros(),
                ..InformWrite::default()
            };
            facts::apply_facts(&mut write, &f, None);
            write.params_hash = None;
            match acs.writer.submit(write).await {
                Ok(Some(fresh)) => s.device = fresh,
                Ok(None) => s.ended = true,
                Err(e) => {
                    tracing::warn!(device = %s.label, error = %e, "recording parameter values failed")
                }
            }
        }
        (kind, Body::Fault(f)) => {
            tracing::info!(device = %s.label, ?kind, code = f.fault_code, fault = %f.fault_string, "CPE fault");
        }
        (kind, other) => {
            tracing::warn!(device = %s.label, ?kind, method = other.method_name(), "unexpected response");
        }
    }
}
