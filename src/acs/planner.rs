//! Decides what the ACS asks a CPE next, from the device's state and what this session already
//! did. Pure: the session engine carries the answers back.

use crate::cwmp::Body;

use super::facts::{self, MANAGED};
use super::session::Session;

/// What an ACS request was for, so its response can be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// GetParameterValues of management parameters the inventory lacks.
    Identity,
}

/// The next request, or `None` when the session can end.
pub fn next(session: &Session) -> Option<(RequestKind, Body)> {
    if session.hold_requests || !session.device.is_active {
        return None;
    }
    if !session.attempted.contains(&RequestKind::Identity) {
        let names = missing_identity(session);
        if !names.is_empty() {
            return Some((RequestKind::Identity, Body::GetParameterValues(names)));
        }
    }
    None
}

/// Management parameters neither the Inform nor the inventory knows (all of them again after a
/// boot or bootstrap, when they may have changed).
pub fn missing_identity(session: &Session) -> Vec<String> {
    let d = &session.device;
    let f = &session.facts;
    let root = f
        .data_model
        .or_else(|| d.data_model.as_deref().and_then(facts::root_of))
        .unwrap_or(facts::TR098);
    let rebooted = session.has_event("0 BOOTSTRAP") || session.has_event("1 BOOT");
    let known = [
        f.software_version.is_some() || (!rebooted && d.software_version.is_some()),
        f.hardware_version.is_some() || (!rebooted && d.hardware_version.is_some()),
        f.connection_request_url.is_some() || (!rebooted && d.connection_request_url.is_some()),
        f.periodic_inform_interval.is_some() || (!rebooted && d.periodic_inform_interval.is_some()),
    ];
    MANAGED
        .iter()
        .zip(known)
        .filter(|(_, k)| !k)
        .map(|(n, _)| format!("{root}{n}"))
        .collect()
}
