//! Sessions of a simulated CPE: Inform, pending TransferCompletes, empty POST, answers to the
//! ACS's requests until the ACS ends the session; transcripts of all of it.

use std::time::Duration;

use bytes::Bytes;

use super::Simulator;
use crate::cpe::client::CpeClient;
use crate::cpe::session::SessionError;
use crate::cwmp::{self, Body, Envelope, Header, Inform, Limits, TransferComplete};

/// One ACS request and the CPE's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub request: Body,
    /// What the CPE answered, or would have answered before dropping the connection; `None`
    /// when it dropped the connection without applying the request.
    pub answer: Option<Body>,
    /// Whether the answer was sent.
    pub sent: bool,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionEnd {
    /// Still open (only seen on an [`OpenSession`]'s log).
    #[default]
    Open,
    /// The ACS ended it (204, or an empty 200).
    Completed,
    /// The CPE closed the connection on receiving `method` (fault injection), after applying
    /// it when `applied`.
    Dropped { method: String, applied: bool },
    /// Left by the test ([`OpenSession::abandon`]).
    Abandoned,
    /// An HTTP, codec or protocol error.
    Failed(String),
}

/// The transcript of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionLog {
    pub inform: Inform,
    /// Whether the ACS accepted the Inform.
    pub informed: bool,
    /// The CPE's own requests after the Inform (TransferComplete) and the ACS's answers.
    pub cpe_requests: Vec<(Body, Body)>,
    /// The ACS's requests and the CPE's answers, in order.
    pub exchanges: Vec<Exchange>,
    /// One line per message, for people.
    pub lines: Vec<String>,
    /// 401 challenges answered.
    pub challenges: u32,
    pub end: SessionEnd,
}

impl SessionLog {
    fn new(inform: Inform) -> SessionLog {
        let events: Vec<String> = inform
            .events
            .iter()
            .map(|e| {
                if e.command_key.is_empty() {
                    e.event_code.clone()
                } else {
                    format!("{} [{}]", e.event_code, e.command_key)
                }
            })
            .collect();
        SessionLog {
            lines: vec![format!("-> Inform {}", events.join(", "))],
            inform,
            ..SessionLog::default()
        }
    }

    /// The Inform's event codes.
    pub fn events(&self) -> Vec<&str> {
        self.inform
            .events
            .iter()
            .map(|e| e.event_code.as_str())
            .collect()
    }

    pub fn has_event(&self, code: &str) -> bool {
        self.inform.events.iter().any(|e| e.event_code == code)
    }

    /// The command key of an event of the Inform.
    pub fn command_key(&self, code: &str) -> Option<&str> {
        self.inform
            .events
            .iter()
            .find(|e| e.event_code == code)
            .map(|e| e.command_key.as_str())
    }

    /// The ACS's requests, in order.
    pub fn requests(&self) -> Vec<&Body> {
        self.exchanges.iter().map(|e| &e.request).collect()
    }

    /// The method names of the ACS's requests.
    pub fn methods(&self) -> Vec<&'static str> {
        self.exchanges
            .iter()
            .map(|e| e.request.method_name())
            .collect()
    }

    /// TransferCompletes sent in this session.
    pub fn transfer_completes(&self) -> Vec<&TransferComplete> {
        self.cpe_requests
            .iter()
            .filter_map(|(r, _)| match r {
                Body::TransferComplete(t) => Some(t),
                _ => None,
            })
            .collect()
    }
}

fn summary(body: &Body) -> String {
    match body {
        Body::GetParameterValues(n) => format!("GetParameterValues {}", n.join(" ")),
        Body::SetParameterValues {
            list,
            parameter_key,
        } => format!(
            "SetParameterValues key={parameter_key:?} {}",
            list.iter()
                .map(|p| format!("{}={:?}", p.name, p.value))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Body::GetParameterNames { path, next_level } => {
            format!("GetParameterNames {path:?} next_level={next_level}")
        }
        Body::AddObject { object_name, .. } => format!("AddObject {object_name}"),
        Body::DeleteObject { object_name, .. } => format!("DeleteObject {object_name}"),
        Body::AddObjectResponse {
            instance_number, ..
        } => format!("AddObjectResponse {instance_number}"),
        Body::Reboot { command_key } => format!("Reboot key={command_key:?}"),
        Body::Download(d) => format!(
            "Download {} {} bytes key={:?}",
            d.url, d.file_size, d.command_key
        ),
        Body::TransferComplete(t) => format!(
            "TransferComplete key={:?} fault={}",
            t.command_key,
            t.fault
                .as_ref()
                .map_or("0".to_string(), |f| format!("{} {}", f.code, f.string))
        ),
        Body::GetParameterValuesResponse(v) => format!(
            "GetParameterValuesResponse {}",
            v.iter()
                .map(|p| format!("{}={:?}", p.name, p.value))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Body::Fault(f) => {
            let mut s = format!("Fault {} {}", f.fault_code, f.fault_string);
            for p in &f.set_parameter_values_faults {
                s.push_str(&format!(" [{} {}]", p.parameter_name, p.fault_code));
            }
            s
        }
        other => other.method_name().to_string(),
    }
}

/// What one [`OpenSession::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The ACS sent a request; the answer goes out with the next step.
    Request {
        request: Box<Body>,
        answer: Box<Body>,
    },
    /// The ACS ended the session.
    Ended,
    /// The CPE dropped the connection on this request (fault injection).
    Dropped { request: Box<Body> },
}

/// A session past its Inform (and TransferCompletes), driven step by step or to its end.
/// Several may be open at once for one device, each on its own [`CpeClient`].
pub struct OpenSession {
    sim: Simulator,
    log: SessionLog,
    next: Bytes,
    closed: bool,
}

impl Simulator {
    /// Opens a session: applies leftover after-session work, sends the Inform built from what
    /// happened, and the pending TransferCompletes. The events become delivered when the ACS
    /// answers InformResponse; on failure they stay queued and RetryCount grows.
    pub async fn begin_session(&self, client: &mut CpeClient) -> Result<OpenSession, SessionError> {
        self.complete_pending().await;
        let (inform, ns, id) = {
            let mut st = self.lock();
            st.promote_scheduled();
            let inform = st.build_inform();
            (inform, st.ns, st.next_id())
        };
        let mut log = SessionLog::new(inform.clone());
        client.end_session();
        let env = Envelope::new(ns, Header::with_id(id), Body::Inform(inform.clone()));
        let result = async {
            let reply = client.post(cwmp::to_vec(&env), true).await?;
            log.challenges += reply.challenges;
            if reply.status != 200 {
                return Err(SessionError::Status {
                    status: reply.status,
                    body: String::from_utf8_lossy(&reply.body).into_owned(),
                });
            }
            let resp = cwmp::parse(&reply.body, &Limits::default())?;
            match resp.body {
                Body::InformResponse { max_envelopes } => {
                    log.lines
                        .push(format!("<- InformResponse MaxEnvelopes={max_envelopes}"));
                    Ok(())
                }
                other => Err(SessionError::Protocol(format!(
                    "expected InformResponse, got {}",
                    summary(&other)
                ))),
            }
        }
        .await;
        if let Err(e) = result {
            let mut st = self.lock();
            st.retry_count += 1;
            log.end = SessionEnd::Failed(e.to_string());
            log.lines.push(format!("!! {e}"));
            st.record(log);
            return Err(e);
        }
        log.informed = true;
        let transfers = {
            let mut st = self.lock();
            st.delivered(&inform);
            st.transfers.clone()
        };
        let mut session = OpenSession {
            sim: self.clone(),
            log,
            next: Bytes::new(),
            closed: false,
        };
        for t in transfers {
            let id = self.lock().next_id();
            let body = match &t.autonomous {
                Some(a) => Body::AutonomousTransferComplete(a.clone()),
                None => Body::TransferComplete(t.tc.clone()),
            };
            session.log.lines.push(format!("-> {}", summary(&body)));
            let env = Envelope::new(ns, Header::with_id(id), body.clone());
            let reply = match client.post(cwmp::to_vec(&env), false).await {
                Ok(r) => r,
                Err(e) => return Err(session.fail(e.into()).await),
            };
            session.log.challenges += reply.challenges;
            if reply.status != 200 {
                let e = SessionError::Status {
                    status: reply.status,
                    body: String::from_utf8_lossy(&reply.body).into_owned(),
                };
                return Err(session.fail(e).await);
            }
            let answer = match cwmp::parse(&reply.body, &Limits::default()) {
                Ok(env) => env.body,
                Err(e) => return Err(session.fail(e.into()).await),
            };
            session.log.lines.push(format!("<- {}", summary(&answer)));
            // Delivered unless the ACS asks for a retry.
            let retry = matches!(&answer, Body::Fault(f) if f.fault_code == 8005);
            if !retry {
                let mut st = self.lock();
                if let Some(i) = st
                    .transfers
                    .iter()
                    .position(|p| p.tc == t.tc && p.event == t.event)
                {
                    st.transfers.remove(i);
                }
            }
            session.log.cpe_requests.push((body, answer));
        }
        Ok(session)
    }

    /// One whole session. Returns its transcript also when the CPE dropped the connection
    /// (see [`SessionLog::end`]); HTTP and protocol errors are errors (the transcript is still
    /// recorded: [`Simulator::last_transcript`]).
    pub async fn run_session(&self, client: &mut CpeClient) -> Result<SessionLog, SessionError> {
        let s = self.begin_session(client).await?;
        s.finish(client).await
    }

    /// Runs sessions while one is due ([`Simulator::is_due`]): first contact, reboots, factory
    /// resets, downloads and their TransferCompletes, connection requests. At most 32.
    pub async fn run_until_idle(
        &self,
        client: &mut CpeClient,
    ) -> Result<Vec<SessionLog>, SessionError> {
        let mut logs = Vec::new();
        for _ in 0..32 {
            self.complete_pending().await;
            if !self.is_due() {
                break;
            }
            logs.push(self.run_session(client).await?);
        }
        Ok(logs)
    }

    /// "Serve until quiet": [`Simulator::run_until_idle`], then again whenever a session
    /// becomes due (a connection request, a value change) within `quiet`; returns once nothing
    /// came for `quiet`.
    pub async fn serve_until_quiet(
        &self,
        client: &mut CpeClient,
        quiet: Duration,
    ) -> Result<Vec<SessionLog>, SessionError> {
        let mut logs = self.run_until_idle(client).await?;
        while self.wait_due(quiet).await {
            logs.extend(self.run_until_idle(client).await?);
        }
        Ok(logs)
    }
}

impl OpenSession {
    /// The Inform this session sent.
    pub fn inform(&self) -> &Inform {
        &self.log.inform
    }

    /// The transcript so far.
    pub fn log(&self) -> &SessionLog {
        &self.log
    }

    async fn close(&mut self, end: SessionEnd) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.log.end = end;
        self.sim.complete_pending().await;
        self.sim.lock().record(self.log.clone());
    }

    async fn fail(&mut self, e: SessionError) -> SessionError {
        self.log.lines.push(format!("!! {e}"));
        self.close(SessionEnd::Failed(e.to_string())).await;
        e
    }

    /// Sends the pending answer (or the empty POST) and handles what the ACS sends back.
    pub async fn step(&mut self, client: &mut CpeClient) -> Result<Step, SessionError> {
        if self.closed {
            return Ok(Step::Ended);
        }
        let reply = match client.post(self.next.clone(), false).await {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e.into()).await),
        };
        self.log.challenges += reply.challenges;
        let empty = reply.body.iter().all(|b| b.is_ascii_whitespace());
        match reply.status {
            204 => {
                self.log.lines.push("<- 204 session end".into());
                self.close(SessionEnd::Completed).await;
                return Ok(Step::Ended);
            }
            200 if empty => {
                self.log.lines.push("<- 200 empty: session end".into());
                self.close(SessionEnd::Completed).await;
                return Ok(Step::Ended);
            }
            200 => {}
            status => {
                let e = SessionError::Status {
                    status,
                    body: String::from_utf8_lossy(&reply.body).into_owned(),
                };
                return Err(self.fail(e).await);
            }
        }
        let req = match cwmp::parse(&reply.body, &Limits::default()) {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e.into()).await),
        };
        self.log.lines.push(format!("<- {}", summary(&req.body)));
        let method = req.body.method_name();
        let drop = self.sim.lock().take_drop(method);
        if let Some(apply) = drop {
            let answer = apply.then(|| self.sim.handle(&req.body));
            self.log.lines.push(format!(
                "xx connection dropped on {method} ({})",
                if apply { "applied" } else { "not applied" }
            ));
            self.log.exchanges.push(Exchange {
                request: req.body.clone(),
                answer,
                sent: false,
            });
            client.drop_connection();
            self.close(SessionEnd::Dropped {
                method: method.to_string(),
                applied: apply,
            })
            .await;
            return Ok(Step::Dropped {
                request: Box::new(req.body),
            });
        }
        let answer = self.sim.handle(&req.body);
        self.log.lines.push(format!("-> {}", summary(&answer)));
        self.log.exchanges.push(Exchange {
            request: req.body.clone(),
            answer: Some(answer.clone()),
            sent: true,
        });
        let out = Envelope::new(
            req.ns,
            Header {
                id: req.header.id.clone(),
                ..Header::default()
            },
            answer.clone(),
        );
        self.next = Bytes::from(cwmp::to_vec(&out));
        Ok(Step::Request {
            request: Box::new(req.body),
            answer: Box::new(answer),
        })
    }

    /// Runs the session to its end.
    pub async fn finish(mut self, client: &mut CpeClient) -> Result<SessionLog, SessionError> {
        for _ in 0..10_000 {
            match self.step(client).await? {
                Step::Request { .. } => {}
                Step::Ended | Step::Dropped { .. } => return Ok(self.log),
            }
        }
        let e = SessionError::Protocol("the ACS never ended the session".into());
        Err(self.fail(e).await)
    }

    /// Leaves the session without another POST and closes the connection (a CPE that vanishes
    /// mid-session); the after-session work still happens.
    pub async fn abandon(mut self, client: &mut CpeClient) -> SessionLog {
        client.drop_connection();
        self.log.lines.push("xx session abandoned".into());
        self.close(SessionEnd::Abandoned).await;
        self.log
    }
}
