//! Decides what the ACS asks a CPE next, from the device's state and what this session already
//! did. Pure: the session engine loads the state and carries the answers back.
//!
//! Fixed order (README): identity refresh, factory reset, firmware, connection-request
//! credentials, update_frequency, setting groups, sync, reboot last; at most one disruptive
//! operation (factory reset, firmware, reboot) per session.

use std::collections::HashMap;

use crate::cwmp::{Body, Download, ParameterValue};
use crate::settings::{self, Groups};
use crate::store::{CwmpDevice, FirmwareImage, OpRow, ParamWrite, PlanData};

use super::facts::{self, MANAGED};

pub const ITEM_FACTORY: &str = "factory_reset";
pub const ITEM_FIRMWARE: &str = "firmware";
pub const ITEM_CR: &str = "connection_request_credentials";
pub const ITEM_FREQUENCY: &str = "update_frequency";
pub const ITEM_SYNC: &str = "sync";
pub const ITEM_REBOOT: &str = "reboot";

/// What an ACS request was for, so its response can be handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    /// GetParameterValues of management parameters the inventory lacks.
    Identity,
    FactoryReset,
    Download {
        image_id: i64,
        command_key: String,
    },
    /// A SetParameterValues tracked as `item` (a group, update_frequency, credentials).
    Set {
        item: String,
        hash: String,
        params: Vec<ParamWrite>,
    },
    SyncNames,
    SyncValues,
    Reboot,
}

impl RequestKind {
    /// The `device_ops` item a request works on.
    pub fn item(&self) -> Option<&str> {
        Some(match self {
            RequestKind::Identity => return None,
            RequestKind::FactoryReset => ITEM_FACTORY,
            RequestKind::Download { .. } => ITEM_FIRMWARE,
            RequestKind::Set { item, .. } => item,
            RequestKind::SyncNames | RequestKind::SyncValues => ITEM_SYNC,
            RequestKind::Reboot => ITEM_REBOOT,
        })
    }

    pub fn disruptive(&self) -> bool {
        matches!(
            self,
            RequestKind::FactoryReset | RequestKind::Download { .. } | RequestKind::Reboot
        )
    }
}

/// Timing policy of operations.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long a sent reboot / factory reset waits for the CPE to come back before resending.
    pub confirm_window_us: i64,
    pub sync_batch: usize,
}

/// The state the planner works from, loaded once per session when there may be work.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub groups: Groups,
    pub ops: HashMap<String, OpRow>,
    pub firmware: Option<FirmwareImage>,
    pub reported_types: HashMap<String, String>,
}

impl Context {
    pub fn from_data(data: PlanData) -> Context {
        Context {
            groups: settings::effective(&data.type_settings, &data.device_settings),
            ops: data.ops.into_iter().map(|o| (o.item.clone(), o)).collect(),
            firmware: data.firmware,
            reported_types: data
                .reported_types
                .into_iter()
                .filter_map(|(n, t)| t.map(|t| (n, t)))
                .collect(),
        }
    }

    /// Setting groups whose desired values the CPE has not confirmed.
    pub fn pending_groups(
        &self,
    ) -> impl Iterator<Item = (&String, &Vec<settings::Setting>, String)> {
        self.groups.iter().filter_map(|(g, params)| {
            let h = settings::hash(params);
            let item = format!("settings:{g}");
            let confirmed = self
                .ops
                .get(&item)
                .and_then(|o| o.confirmed_hash.as_deref());
            (confirmed != Some(h.as_str())).then_some((g, params, h))
        })
    }
}

/// What the planner needs to know about the session so far.
pub struct SessionView<'a> {
    pub device: &'a CwmpDevice,
    pub facts: &'a facts::Facts,
    pub events: &'a [String],
    pub attempted: &'a [RequestKind],
    pub hold_requests: bool,
    pub context: Option<&'a Context>,
    pub now: i64,
    /// Connection-request credentials the ACS derives for this device.
    pub cr_credentials: Option<(&'a str, &'a str)>,
    /// Signed URL of the firmware image for this device (when there is one to send).
    pub firmware_url: Option<&'a str>,
    /// Names discovered by a sync in this session, not yet read.
    pub sync_unread: &'a [String],
    pub sync_started: bool,
}

impl SessionView<'_> {
    fn has_event(&self, code: &str) -> bool {
        self.events
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(code))
    }

    fn tried(&self, item: &str) -> bool {
        self.attempted.iter().any(|k| k.item() == Some(item))
    }

    fn disruptive_sent(&self) -> bool {
        self.attempted.iter().any(RequestKind::disruptive)
    }

    /// An item may be attempted now: not given up, past its backoff, not tried this session.
    fn eligible(&self, ctx: &Context, item: &str) -> bool {
        if self.tried(item) {
            return false;
        }
        match ctx.ops.get(item) {
            None => true,
            Some(o) => !o.gave_up && o.next_attempt.is_none_or(|t| t <= self.now),
        }
    }

    /// A sent reboot/reset waits for the CPE to come back before it is sent again.
    fn awaiting(&self, ctx: &Context, item: &str, policy: &Policy) -> bool {
        ctx.ops
            .get(item)
            .and_then(|o| o.sent_at)
            .is_some_and(|t| self.now - t < policy.confirm_window_us)
    }

    fn root(&self) -> &'static str {
        self.facts
            .data_model
            .or_else(|| self.device.data_model.as_deref().and_then(facts::root_of))
            .unwrap_or(facts::TR098)
    }

    fn typed(&self, ctx: &Context, name: String, value: String, fallback: &str) -> ParamWrite {
        let ty = ctx
            .reported_types
            .get(&name)
            .cloned()
            .unwrap_or_else(|| fallback.to_string());
        ParamWrite {
            name,
            value,
            xsd_type: Some(ty),
            writable: None,
        }
    }
}

fn set_body(params: &[ParamWrite], key: &str) -> Body {
    Body::SetParameterValues {
        list: params
            .iter()
            .map(|p| {
                ParameterValue::typed(
                    p.name.clone(),
                    p.value.clone(),
                    p.xsd_type.as_deref().unwrap_or("xsd:string"),
                )
            })
            .collect(),
        parameter_key: key.to_string(),
    }
}

/// A short ParameterKey naming what was set (CPEs keep it in ManagementServer.ParameterKey).
fn parameter_key(item: &str, hash: &str) -> String {
    let short: String = item
        .trim_start_matches("settings:")
        .chars()
        .take(20)
        .collect();
    format!("{short}-{}", &hash[..8.min(hash.len())])
}

fn command_key(kind: &str, device: i64, now: i64) -> String {
    format!("{kind}-{device}-{}", now / 1_000_000)
}

/// The next request, or `None` when the session can end.
pub fn next(v: &SessionView<'_>, policy: &Policy) -> Option<(RequestKind, Body)> {
    if v.hold_requests || !v.device.is_active {
        return None;
    }
    if !v.attempted.contains(&RequestKind::Identity) {
        let names = missing_identity(v);
        if !names.is_empty() {
            return Some((RequestKind::Identity, Body::GetParameterValues(names)));
        }
    }
    // A sync in progress continues before anything else.
    if v.sync_started {
        if !v.sync_unread.is_empty() {
            let batch: Vec<String> = v
                .sync_unread
                .iter()
                .take(policy.sync_batch.max(1))
                .cloned()
                .collect();
            return Some((RequestKind::SyncValues, Body::GetParameterValues(batch)));
        }
        return None;
    }
    let ctx = v.context?;
    let d = v.device;
    if d.factory_requested.is_some()
        && !v.disruptive_sent()
        && v.eligible(ctx, ITEM_FACTORY)
        && !v.awaiting(ctx, ITEM_FACTORY, policy)
    {
        return Some((RequestKind::FactoryReset, Body::FactoryReset));
    }
    if d.firmware_image_is_pending
        && !v.disruptive_sent()
        && v.eligible(ctx, ITEM_FIRMWARE)
        && ctx
            .ops
            .get(ITEM_FIRMWARE)
            .is_none_or(|o| o.sent_at.is_none())
        && let (Some(img), Some(url)) = (&ctx.firmware, v.firmware_url)
        && let Some(size) = img.size
    {
        let key = command_key("fw", d.id, v.now);
        let body = Body::Download(Download {
            command_key: key.clone(),
            file_type: "1 Firmware Upgrade Image".into(),
            url: url.to_string(),
            username: String::new(),
            password: String::new(),
            file_size: size.max(0) as u64,
            target_file_name: format!(
                "{}-{}.bin",
                img.name.replace(char::is_whitespace, "_"),
                img.version
            ),
            delay_seconds: 0,
            success_url: String::new(),
            failure_url: String::new(),
        });
        return Some((
            RequestKind::Download {
                image_id: img.id,
                command_key: key,
            },
            body,
        ));
    }
    let root = v.root();
    if !d.cr_configured
        && v.eligible(ctx, ITEM_CR)
        && let Some((user, pass)) = v.cr_credentials
    {
        let params = vec![
            v.typed(
                ctx,
                format!("{root}ManagementServer.ConnectionRequestUsername"),
                user.to_string(),
                "xsd:string",
            ),
            v.typed(
                ctx,
                format!("{root}ManagementServer.ConnectionRequestPassword"),
                pass.to_string(),
                "xsd:string",
            ),
        ];
        let hash = settings::hash(&[]);
        let body = set_body(&params, &parameter_key("cr", &hash));
        return Some((
            RequestKind::Set {
                item: ITEM_CR.into(),
                hash,
                params,
            },
            body,
        ));
    }
    if let Some(freq) = d.update_frequency
        && d.periodic_inform_interval != Some(freq)
        && v.eligible(ctx, ITEM_FREQUENCY)
    {
        let params = vec![v.typed(
            ctx,
            format!("{root}ManagementServer.PeriodicInformInterval"),
            freq.to_string(),
            "xsd:unsignedInt",
        )];
        let hash = freq.to_string();
        let body = set_body(&params, &parameter_key("interval", &format!("{freq:08}")));
        return Some((
            RequestKind::Set {
                item: ITEM_FREQUENCY.into(),
                hash,
                params,
            },
            body,
        ));
    }
    for (group, params, hash) in ctx.pending_groups() {
        let item = format!("settings:{group}");
        if !v.eligible(ctx, &item) {
            continue;
        }
        let params: Vec<ParamWrite> = params
            .iter()
            .map(|s| ParamWrite {
                name: s.name.clone(),
                value: s.value.clone(),
                xsd_type: Some(settings::wire_type(
                    s,
                    ctx.reported_types.get(&s.name).map(String::as_str),
                )),
                writable: None,
            })
            .collect();
        let body = set_body(&params, &parameter_key(&item, &hash));
        return Some((RequestKind::Set { item, hash, params }, body));
    }
    if d.sync_requested.is_some() && v.eligible(ctx, ITEM_SYNC) {
        return Some((
            RequestKind::SyncNames,
            Body::GetParameterNames {
                path: root.to_string(),
                next_level: false,
            },
        ));
    }
    if d.reboot_requested.is_some()
        && !v.disruptive_sent()
        && v.eligible(ctx, ITEM_REBOOT)
        && !v.awaiting(ctx, ITEM_REBOOT, policy)
    {
        let key = command_key("reboot", d.id, v.now);
        return Some((RequestKind::Reboot, Body::Reboot { command_key: key }));
    }
    None
}

/// Management parameters neither the Inform nor the inventory knows (all of them again after a
/// boot or bootstrap, when they may have changed).
pub fn missing_identity(v: &SessionView<'_>) -> Vec<String> {
    let d = v.device;
    let f = v.facts;
    let root = v.root();
    let rebooted = v.has_event("0 BOOTSTRAP") || v.has_event("1 BOOT");
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
