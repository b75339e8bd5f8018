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
use super::planner::{self, Context, Policy, RequestKind, SessionView};
use super::session::{COOKIE, Outstanding, Session, SessionRef};
use crate::cwmp::{
    self, Body, CodecError, CwmpNs, Envelope, Fault, Header, Inform, Limits, NsMode, WriteOptions,
};
use crate::server::ConnInfo;
use crate::store::{CwmpDevice, InformWrite, ParamWrite, Table, Val};
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
    Router::new()
        .route(
            "/firmware/{*rest}",
            axum::routing::get(super::downloads::serve),
        )
        .fallback(handle)
        .with_state(acs)
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

/// Waits for a processing slot with a small future (thousands of CPEs may be waiting), then
/// handles the request in a boxed one.
async fn handle(State(acs): State<Arc<Acs>>, req: Request) -> Response {
    let Ok(_permit) = acs.inflight.acquire().await else {
        return unavailable();
    };
    Box::pin(process(&acs, req)).await
}

async fn process(acs: &Arc<Acs>, req: Request) -> Response {
    let acs = acs.clone();
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
    let acs_base = match &acs.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
                .map(str::to_string)
                .unwrap_or_else(|| conn.local.to_string());
            format!("{}://{host}", if conn.tls { "https" } else { "http" })
        }
    };
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
            inform_session(
                &acs,
                conn,
                authorization.as_deref(),
                p.ns,
                p.header,
                inform,
                acs_base,
                &bytes,
            )
            .await
        }
        None => match found {
            Some((s, by_ip)) => {
                if by_ip && !same_device(&acs, &s, authorization.as_deref(), conn.tls).await {
                    // Only the source address ties it to a session: not enough to drive one.
                    return end_session();
                }
                let mut s = s.lock().await;
                s.record("->", b"(empty POST)");
                next_request(&acs, &mut s).await
            }
            // Nothing to continue: end politely.
            None => end_session(),
        },
        Some(p) => {
            let Some((s, by_ip)) = found else {
                // No session (never started, expired, or superseded by a newer one of the same
                // device): ending it makes the CPE start over with an Inform; anything it wanted
                // to report (a TransferComplete) it sends again then.
                tracing::warn!(peer = %conn.peer, method = p.body.as_ref().map(|b| b.method_name()).unwrap_or("?"), "CWMP message outside a session: ending it");
                return end_session();
            };
            if by_ip && !same_device(&acs, &s, authorization.as_deref(), conn.tls).await {
                return challenge(&acs, false, conn.tls);
            }
            let mut s = s.lock().await;
            s.record("->", &bytes);
            s.hold_requests = p.header.hold_requests.unwrap_or(false);
            let reply = match p.body {
                Err(CodecError::Empty) => return next_request(&acs, &mut s).await,
                Err(e) => {
                    tracing::warn!(device = %s.label, error = %e, "CPE sent an RPC the ACS does not handle");
                    fault(s.ns, p.header.id, e.acs_fault_code(), &e.to_string())
                }
                Ok(body) if body.is_response() || body.is_fault() => {
                    on_response(&acs, &mut s, p.header.id, body).await;
                    return next_request(&acs, &mut s).await;
                }
                Ok(body) => cpe_request(&acs, &mut s, p.header.id, body).await,
            };
            record_reply(&mut s, &reply);
            reply
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

#[allow(clippy::too_many_arguments)]
async fn inform_session(
    acs: &Acs,
    conn: ConnInfo,
    authorization: Option<&str>,
    ns: CwmpNs,
    header: Header,
    inform: Inform,
    acs_base: String,
    raw: &[u8],
) -> Response {
    let label = facts::unique_identifier(&inform);
    let principal = match acs.auth.authenticate(authorization, conn.tls).await {
        Ok(p) => p,
        Err(AuthFailure::Challenge { stale, reason }) => {
            // The first POST of a session normally comes without credentials: not news.
            if authorization.is_some() {
                tracing::info!(device = %label, peer = %conn.peer, reason, "CPE authentication failed");
            } else {
                tracing::debug!(device = %label, peer = %conn.peer, "challenging");
            }
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
    if device.serial_number.is_none() && !serial.is_empty() {
        // First contact of a device registered without a serial number: the serial must not be
        // another device's.
        match acs.store.cwmp_device_by_serial(&serial).await {
            Ok(Some(other)) if other.id != device.id => {
                tracing::warn!(device = %label, other_device = other.id, "serial number belongs to another device: refused");
                return plain(
                    StatusCode::FORBIDDEN,
                    "DeviceId belongs to another device\n",
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(device = %label, error = %e, "device lookup failed");
                return unavailable();
            }
        }
    }
    let mut f = facts::from_params(&inform.parameters);
    let codes: Vec<String> = inform
        .events
        .iter()
        .map(|e| e.event_code.trim().to_string())
        .collect();
    let has = |c: &str| codes.iter().any(|e| e.eq_ignore_ascii_case(c));
    let bootstrap = has("0 BOOTSTRAP");
    let stored_hash = if bootstrap {
        None
    } else {
        device.inform_params_hash.as_deref()
    };
    let mut write = facts::inform_write(&inform, &f, stored_hash);
    write.bootstrap = bootstrap;
    write.booted = has("1 BOOT") || has("M Reboot");
    write.device_id = device.id;
    write.cred_tag = device.cred_tag();
    write.known_up = device.status_up;
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
            // Deleted, or its credentials or stored parameters changed (another instance)
            // since they were read: the CPE's next attempt reads them afresh.
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
    acs.auth.remember(&fresh);
    tracing::debug!(device = %label, device_id = fresh.id, events = ?codes, "Inform");
    // The session keeps what the planner reads, not the reported values (stored already).
    f.params = Vec::new();
    let mut session = Session::new(fresh, label, ns, codes, f, acs_base);
    session.record("->", raw);
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
    let mut r = xml(&Envelope::new(
        ns,
        out_header,
        Body::InformResponse { max_envelopes: 1 },
    ));
    if let Some(t) = &mut session.transcript {
        t.push("<- InformResponse".to_string());
    }
    let (_, replaced) = acs.sessions.insert(session, conn.id, conn.peer.ip());
    if let Some(old) = replaced
        && let Ok(mut old) = old.try_lock()
    {
        old.ended = true;
    }
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

/// How a transfer's fault is recorded on its operation.
fn transfer_fault(f: &crate::cwmp::FaultStruct) -> String {
    format!("{}: {}", f.code, f.string.trim())
}

/// Some CPEs report the download the ACS asked for as an AutonomousTransferComplete (no
/// CommandKey). It closes the pending firmware operation when it names this device's image URL.
async fn autonomous_transfer_complete(
    acs: &Acs,
    s: &Session,
    atc: &crate::cwmp::AutonomousTransferComplete,
) -> crate::store::Result<()> {
    let ours = format!("/firmware/{}/", s.device.id);
    if !atc.is_download || !atc.file_type.starts_with('1') || !atc.transfer_url.contains(&ours) {
        return Ok(());
    }
    let ops = acs.store.ops_for(&[s.device.id]).await?;
    let Some(key) = ops
        .into_iter()
        .find(|o| o.item == "firmware" && o.sent_at.is_some() && !o.gave_up)
        .and_then(|o| o.command_key)
    else {
        return Ok(());
    };
    let fault = atc.fault.as_ref().map(transfer_fault);
    if acs
        .store
        .transfer_complete(s.device.id, &key, fault.as_deref(), now_micros())
        .await?
    {
        tracing::info!(device = %s.label, command_key = %key, fault = ?fault, "firmware download finished (autonomous report)");
    }
    Ok(())
}

/// Answers a request the CPE makes inside its session.
async fn cpe_request(acs: &Acs, s: &mut Session, id: Option<String>, body: Body) -> Response {
    let reply = match body {
        Body::TransferComplete(tc) => {
            let fault = tc.fault.as_ref().map(transfer_fault);
            match acs
                .store
                .transfer_complete(s.device.id, &tc.command_key, fault.as_deref(), now_micros())
                .await
            {
                Ok(true) => {
                    tracing::info!(device = %s.label, command_key = %tc.command_key, fault = ?fault, "firmware download finished")
                }
                Ok(false) => {
                    tracing::info!(device = %s.label, command_key = %tc.command_key, fault = ?fault, "TransferComplete for no pending download")
                }
                Err(e) => {
                    // Not acknowledged: the CPE keeps it and sends it again.
                    tracing::error!(device = %s.label, error = %e, "recording TransferComplete failed");
                    return unavailable();
                }
            }
            Body::TransferCompleteResponse
        }
        Body::AutonomousTransferComplete(atc) => {
            tracing::info!(device = %s.label, url = %atc.transfer_url, fault = ?atc.fault, "AutonomousTransferComplete");
            if let Err(e) = autonomous_transfer_complete(acs, s, &atc).await {
                // Not acknowledged: the CPE keeps it and sends it again.
                tracing::error!(device = %s.label, error = %e, "recording AutonomousTransferComplete failed");
                return unavailable();
            }
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

fn record_reply(s: &mut Session, r: &Response) {
    if s.transcript.is_some() {
        let status = r.status();
        s.record("<-", format!("HTTP {status}").as_bytes());
    }
}

/// Loads what the planner needs, once per session, when the device may have work.
async fn load_context(acs: &Acs, s: &mut Session) {
    if s.context_loaded || !s.device.may_have_work() {
        return;
    }
    s.context_loaded = true;
    match acs.store.plan_data(s.device.id).await {
        Ok(data) => s.context = Some(Context::from_data(data)),
        Err(e) => {
            tracing::warn!(device = %s.label, error = %e, "loading pending work failed; trying next session")
        }
    }
}

fn policy(acs: &Acs) -> Policy {
    Policy {
        confirm_window_us: acs.config.operation_timeout.as_micros() as i64,
        sync_batch: acs.config.sync_batch,
    }
}

/// Sends the planner's next request, or ends the session.
async fn next_request(acs: &Acs, s: &mut Session) -> Response {
    if s.ended {
        acs.sessions.remove(&s.id);
        return end_session();
    }
    if !acs.sessions.is_current(&s.id, s.device.id) {
        tracing::info!(device = %s.label, "a newer session of the device started: ending this one");
        return finish(acs, s).await;
    }
    if s.outstanding.is_some() {
        // An empty POST while a request is unanswered: the CPE dropped it; it stays to do.
        s.outstanding = None;
    }
    load_context(acs, s).await;
    let now = now_micros();
    // Derived only while the CPE does not hold them yet (an HMAC per request otherwise).
    let cr =
        (!s.device.cr_configured).then(|| acs.keys.connection_request_credentials(s.device.id));
    let firmware_url = s
        .context
        .as_ref()
        .and_then(|c| c.firmware.as_ref())
        .map(|img| {
            let expires = now / 1_000_000 + acs.config.download_timeout.as_secs() as i64;
            let name = format!("{}-{}.bin", img.name, img.version);
            format!(
                "{}{}",
                s.acs_base,
                acs.keys.download_path(s.device.id, img.id, expires, &name)
            )
        });
    let planned = {
        let view = SessionView {
            device: &s.device,
            facts: &s.facts,
            events: &s.events,
            attempted: &s.attempted,
            hold_requests: s.hold_requests,
            context: s.context.as_ref(),
            now,
            cr_credentials: cr.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
            firmware_url: firmware_url.as_deref(),
            sync_unread: &s.sync_unread,
            sync_started: s.sync_started,
        };
        planner::next(&view, &policy(acs))
    };
    match planned {
        Some((kind, body)) => {
            // Recorded before sending: a CPE that acts and drops the connection is not asked
            // again until the confirmation window has passed.
            // Settings need no record before they are sent: a lost answer just sends them
            // again. Sync and disruptive operations are recorded first.
            if let Some(item) = kind.item()
                && !matches!(kind, RequestKind::SyncValues | RequestKind::Set { .. })
            {
                let key = match (&kind, &body) {
                    (RequestKind::Download { command_key, .. }, _) => Some(command_key.as_str()),
                    (_, Body::Reboot { command_key }) => Some(command_key.as_str()),
                    _ => None,
                };
                if let Err(e) = acs.store.op_sent(s.device.id, item, key, now).await {
                    tracing::warn!(device = %s.label, error = %e, "recording an operation failed; ending the session");
                    return finish(acs, s).await;
                }
            }
            tracing::debug!(device = %s.label, method = body.method_name(), ?kind, "ACS request");
            s.attempted.push(kind.clone());
            let id = s.fresh_id();
            s.outstanding = Some(Outstanding {
                cwmp_id: id.clone(),
                kind,
            });
            let env = Envelope::new(s.ns, Header::with_id(id), body);
            let bytes = cwmp::to_vec_with(
                &env,
                &WriteOptions {
                    ns_mode: NsMode::Wire,
                },
            );
            s.record("<-", &bytes);
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/xml; charset=\"utf-8\""),
                )],
                bytes,
            )
                .into_response()
        }
        None => finish(acs, s).await,
    }
}

/// Ends a session: the exact settings state is stored, a debug transcript kept.
async fn finish(acs: &Acs, s: &mut Session) -> Response {
    s.ended = true;
    acs.sessions.remove(&s.id);
    let now = now_micros();
    if let Some(ctx) = &s.context {
        let pending = ctx.pending_groups().any(|(g, _, _)| {
            ctx.ops
                .get(&format!("settings:{g}"))
                .is_none_or(|o| !o.gave_up)
        });
        let changed = pending != s.device.settings_pending
            || (!pending && s.device.last_configuration.is_none());
        if changed
            && let Err(e) = acs
                .store
                .set_settings_pending(s.device.id, pending, now)
                .await
        {
            tracing::warn!(device = %s.label, error = %e, "storing the settings state failed");
        }
    }
    if let Some(t) = s.transcript.take() {
        let mut text = t.join("\n");
        text.push_str("\n<- 204 (session end)");
        tracing::info!(device = %s.label, device_id = s.device.id, transcript = %text, "debug: CWMP session");
        if let Err(e) = acs
            .store
            .save_session_log(
                s.device.id,
                s.started,
                now,
                &text,
                acs.config.keep_session_logs,
            )
            .await
        {
            tracing::warn!(device = %s.label, error = %e, "saving the session transcript failed");
        }
    }
    end_session()
}

/// SetParameterValues faults that will not go away by retrying.
fn permanent(f: &Fault) -> bool {
    let codes: Vec<u32> = if f.set_parameter_values_faults.is_empty() {
        vec![f.fault_code]
    } else {
        f.set_parameter_values_faults
            .iter()
            .map(|p| p.fault_code)
            .collect()
    };
    codes.iter().all(|c| matches!(c, 9005..=9008))
}

fn fault_text(f: &Fault) -> String {
    let mut t = format!("{} {}", f.fault_code, f.fault_string.trim());
    for p in &f.set_parameter_values_faults {
        t.push_str(&format!(
            "; {}: {} {}",
            p.parameter_name,
            p.fault_code,
            p.fault_string.trim()
        ));
    }
    t
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
    let now = now_micros();
    let dev = s.device.id;
    let result = match (out.kind, body) {
        (RequestKind::Identity, Body::GetParameterValuesResponse(list)) => {
            let f = facts::from_params(&list);
            let mut write = InformWrite {
                device_id: dev,
                cred_tag: s.cred_tag.clone(),
                now,
                ..InformWrite::default()
            };
            facts::apply_facts(&mut write, &f, None);
            write.params_hash = None;
            match acs.writer.submit(write).await {
                Ok(Some(fresh)) => {
                    s.device = fresh;
                    Ok(())
                }
                Ok(None) => {
                    s.ended = true;
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        (RequestKind::Set { item, hash, params }, Body::SetParameterValuesResponse { status }) => {
            tracing::info!(device = %s.label, item = %item, status, "settings confirmed");
            if let Some(ctx) = &mut s.context {
                let row = ctx.ops.entry(item.clone()).or_default();
                row.confirmed_hash = Some(hash.clone());
                row.gave_up = false;
            }
            // Whether this confirmation settles the device's settings (saves a write at the end).
            let settings_done = s.device.settings_pending
                && s.context.as_ref().is_some_and(|c| {
                    !c.pending_groups().any(|(g, _, _)| {
                        c.ops
                            .get(&format!("settings:{g}"))
                            .is_none_or(|o| !o.gave_up)
                    })
                });
            let r = acs
                .store
                .op_confirmed(dev, &item, &hash, &params, now, settings_done)
                .await
                .map_err(|e| e.to_string());
            if r.is_ok() {
                s.device.last_configuration = Some(now);
                if settings_done {
                    s.device.settings_pending = false;
                }
            }
            if item == planner::ITEM_CR {
                s.device.cr_configured = true;
            }
            if item == planner::ITEM_FREQUENCY {
                let interval = params.first().and_then(|p| p.value.parse().ok());
                let write = InformWrite {
                    device_id: dev,
                    cred_tag: s.cred_tag.clone(),
                    now,
                    periodic_inform_interval: interval,
                    ..InformWrite::default()
                };
                if let Ok(Some(fresh)) = acs.writer.submit(write).await {
                    s.device = fresh;
                }
            }
            r
        }
        (RequestKind::SyncNames, Body::GetParameterNamesResponse(list)) => {
            s.sync_started = true;
            for p in &list {
                if !p.name.ends_with('.') {
                    s.sync_unread.push(p.name.clone());
                }
                s.sync_writable.insert(p.name.clone(), p.writable);
            }
            tracing::info!(device = %s.label, names = list.len(), "sync: parameter names discovered");
            if s.sync_unread.is_empty() {
                finish_sync(acs, s, now).await
            } else {
                Ok(())
            }
        }
        (RequestKind::SyncValues, Body::GetParameterValuesResponse(list)) => {
            let n = acs.config.sync_batch.max(1).min(s.sync_unread.len());
            s.sync_unread.drain(..n);
            for p in list {
                let writable = s.sync_writable.get(&p.name).copied();
                s.sync_values.push(ParamWrite {
                    name: p.name,
                    value: p.value,
                    xsd_type: p.xsd_type,
                    writable,
                });
            }
            if s.sync_unread.is_empty() {
                finish_sync(acs, s, now).await
            } else {
                Ok(())
            }
        }
        (RequestKind::Download { .. }, Body::DownloadResponse { status: 0, .. }) => {
            // Completed already: no TransferComplete will follow.
            acs.store
                .op_done(dev, planner::ITEM_FIRMWARE, now)
                .await
                .map_err(|e| e.to_string())
        }
        (RequestKind::Download { command_key, .. }, Body::DownloadResponse { .. }) => {
            tracing::info!(device = %s.label, command_key = %command_key, "download accepted; waiting for TransferComplete");
            Ok(())
        }
        (RequestKind::FactoryReset, Body::FactoryResetResponse) => {
            tracing::info!(device = %s.label, "factory reset accepted; done at the next 0 BOOTSTRAP");
            Ok(())
        }
        (RequestKind::Reboot, Body::RebootResponse) => {
            tracing::info!(device = %s.label, "reboot accepted; done when the CPE comes back");
            Ok(())
        }
        (kind, Body::Fault(f)) => {
            let text = fault_text(&f);
            tracing::info!(device = %s.label, ?kind, fault = %text, "CPE fault");
            if matches!(kind, RequestKind::SyncNames | RequestKind::SyncValues) {
                s.sync_started = false;
                s.sync_unread.clear();
            }
            match kind.item() {
                Some(item) => {
                    let attempts = s
                        .context
                        .as_ref()
                        .and_then(|c| c.ops.get(item))
                        .map(|o| o.attempts)
                        .unwrap_or(0)
                        + 1;
                    let give_up = matches!(kind, RequestKind::Download { .. })
                        || (matches!(kind, RequestKind::Set { .. }) && permanent(&f));
                    let backoff = acs.config.retry_backoff.as_micros() as i64;
                    let delay = backoff
                        .saturating_mul(1 << attempts.clamp(1, 16).saturating_sub(1))
                        .min(3_600_000_000);
                    let next = (!give_up).then_some(now + delay);
                    let text = if give_up {
                        format!("{text} (not retried: fix the request)")
                    } else {
                        text
                    };
                    let r = acs
                        .store
                        .op_fault(dev, item, &text, next, give_up)
                        .await
                        .map_err(|e| e.to_string());
                    if let Some(ctx) = &mut s.context {
                        let row = ctx.ops.entry(item.to_string()).or_default();
                        row.gave_up = give_up;
                        row.next_attempt = next;
                        row.attempts = attempts;
                    }
                    r
                }
                None => Ok(()),
            }
        }
        (kind, other) => {
            tracing::warn!(device = %s.label, ?kind, method = other.method_name(), "unexpected response");
            Ok(())
        }
    };
    if let Err(e) = result {
        tracing::warn!(device = %s.label, error = %e, "recording an outcome failed; it will be redone");
    }
}

async fn finish_sync(acs: &Acs, s: &mut Session, now: i64) -> Result<(), String> {
    s.sync_started = false;
    let values = std::mem::take(&mut s.sync_values);
    tracing::info!(device = %s.label, values = values.len(), "sync: parameter tree stored");
    acs.store
        .store_tree(s.device.id, &values, now)
        .await
        .map_err(|e| e.to_string())?;
    acs.store
        .op_done(s.device.id, planner::ITEM_SYNC, now)
        .await
        .map_err(|e| e.to_string())
}
