//! Runs one CWMP session as a CPE: Inform, empty POST, answers to the ACS's requests until the
//! ACS ends the session with a 204.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::client::{ClientError, CpeClient};
use crate::cwmp::{
    self, Body, CodecError, Envelope, Header, Limits, ParameterAttributeStruct, ParameterInfo,
    ParameterValue,
};

/// Answers the ACS's requests.
pub trait Responder {
    fn answer(&mut self, request: &Body) -> Body;
}

/// Answers every request with a well-formed success, from a flat table of parameter values
/// (initially the Inform's). What the ACS sets is remembered.
#[derive(Debug, Default, Clone)]
pub struct SuccessResponder {
    pub values: BTreeMap<String, ParameterValue>,
}

impl SuccessResponder {
    pub fn new(values: &[ParameterValue]) -> SuccessResponder {
        SuccessResponder {
            values: values.iter().map(|p| (p.name.clone(), p.clone())).collect(),
        }
    }
}

impl Responder for SuccessResponder {
    fn answer(&mut self, request: &Body) -> Body {
        match request {
            Body::GetParameterValues(names) => Body::GetParameterValuesResponse(
                names
                    .iter()
                    .flat_map(|n| {
                        if n.ends_with('.') || n.is_empty() {
                            self.values
                                .range(n.clone()..)
                                .take_while(|(k, _)| k.starts_with(n.as_str()))
                                .map(|(_, v)| v.clone())
                                .collect::<Vec<_>>()
                        } else {
                            vec![self.values.get(n).cloned().unwrap_or_else(|| {
                                ParameterValue::typed(n.clone(), "", "xsd:string")
                            })]
                        }
                    })
                    .collect(),
            ),
            Body::SetParameterValues { list, .. } => {
                for p in list {
                    self.values.insert(p.name.clone(), p.clone());
                }
                Body::SetParameterValuesResponse { status: 0 }
            }
            Body::GetParameterNames { path, next_level } => Body::GetParameterNamesResponse(
                self.values
                    .keys()
                    .filter(|k| k.starts_with(path.as_str()))
                    .filter(|k| !next_level || !k[path.len()..].trim_end_matches('.').contains('.'))
                    .map(|k| ParameterInfo {
                        name: k.clone(),
                        writable: true,
                    })
                    .collect(),
            ),
            Body::GetParameterAttributes(names) => Body::GetParameterAttributesResponse(
                names
                    .iter()
                    .map(|n| ParameterAttributeStruct {
                        name: n.clone(),
                        notification: 0,
                        access_list: Vec::new(),
                    })
                    .collect(),
            ),
            Body::SetParameterAttributes(_) => Body::SetParameterAttributesResponse,
            Body::AddObject { .. } => Body::AddObjectResponse {
                instance_number: 1,
                status: 0,
            },
            Body::DeleteObject { .. } => Body::DeleteObjectResponse { status: 0 },
            Body::Reboot { .. } => Body::RebootResponse,
            Body::FactoryReset => Body::FactoryResetResponse,
            Body::Download(_) => Body::DownloadResponse {
                status: 1,
                start_time: None,
                complete_time: None,
            },
            Body::Upload(_) => Body::UploadResponse {
                status: 1,
                start_time: None,
                complete_time: None,
            },
            Body::ScheduleInform { .. } => Body::ScheduleInformResponse,
            Body::GetRPCMethods => Body::GetRPCMethodsResponse(
                [
                    "GetRPCMethods",
                    "SetParameterValues",
                    "GetParameterValues",
                    "GetParameterNames",
                    "SetParameterAttributes",
                    "GetParameterAttributes",
                    "AddObject",
                    "DeleteObject",
                    "Reboot",
                    "Download",
                    "FactoryReset",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ),
            other => Body::Fault(cwmp::Fault::new(
                9000,
                format!("Method not supported: {}", other.method_name()),
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("ACS answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("ACS sent an unreadable message: {0}")]
    Codec(#[from] CodecError),
    #[error("protocol: {0}")]
    Protocol(String),
}

/// What happened in a session.
#[derive(Debug, Default, Clone)]
pub struct Transcript {
    /// One line per exchange, for people.
    pub lines: Vec<String>,
    /// The ACS's requests, in order.
    pub requests: Vec<Body>,
    /// 401 challenges answered on the way.
    pub challenges: u32,
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
            format!("GetParameterNames {path} next_level={next_level}")
        }
        Body::Reboot { command_key } => format!("Reboot key={command_key:?}"),
        Body::Download(d) => format!(
            "Download {} {} bytes key={:?}",
            d.url, d.file_size, d.command_key
        ),
        Body::Fault(f) => format!("Fault {} {}", f.fault_code, f.fault_string),
        other => other.method_name().to_string(),
    }
}

/// Runs a session from an Inform given as raw XML (sent as it is, as a captured one would be).
pub async fn run_session(
    client: &mut CpeClient,
    inform_xml: impl Into<Bytes>,
    responder: &mut (dyn Responder + Send),
) -> Result<Transcript, SessionError> {
    let limits = Limits::default();
    let mut t = Transcript::default();
    client.end_session();
    let reply = client.post(inform_xml.into(), true).await?;
    t.challenges += reply.challenges;
    if reply.status != 200 {
        return Err(SessionError::Status {
            status: reply.status,
            body: String::from_utf8_lossy(&reply.body).into_owned(),
        });
    }
    let env = cwmp::parse(&reply.body, &limits)?;
    let Body::InformResponse { max_envelopes } = env.body else {
        return Err(SessionError::Protocol(format!(
            "expected InformResponse, got {}",
            env.body.method_name()
        )));
    };
    t.lines
        .push(format!("<- InformResponse MaxEnvelopes={max_envelopes}"));
    let mut next = Bytes::new();
    for _ in 0..10_000 {
        let reply = client.post(next.clone(), false).await?;
        t.challenges += reply.challenges;
        match reply.status {
            204 => {
                t.lines.push("<- 204 session end".to_string());
                return Ok(t);
            }
            200 if reply.body.iter().all(|b| b.is_ascii_whitespace()) => {
                t.lines.push("<- 200 empty: session end".to_string());
                return Ok(t);
            }
            200 => {}
            status => {
                return Err(SessionError::Status {
                    status,
                    body: String::from_utf8_lossy(&reply.body).into_owned(),
                });
            }
        }
        let req = cwmp::parse(&reply.body, &limits)?;
        t.lines.push(format!("<- {}", summary(&req.body)));
        let answer = responder.answer(&req.body);
        t.lines.push(format!("-> {}", summary(&answer)));
        t.requests.push(req.body);
        let out = Envelope::new(
            req.ns,
            Header {
                id: req.header.id,
                ..Header::default()
            },
            answer,
        );
        next = Bytes::from(cwmp::to_vec(&out));
    }
    Err(SessionError::Protocol(
        "the ACS never ended the session".into(),
    ))
}
