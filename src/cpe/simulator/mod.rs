//! A simulated CPE: a parameter tree, the Informs a real CPE would send, answers to every ACS
//! request, the after-session effects (reboot, factory reset, download with TransferComplete),
//! a connection-request listener, fault injection and transcripts.
//!
//! A [`Simulator`] is a cheap handle (clone it freely): the device state sits behind a mutex,
//! so the connection-request listener, a test and one or several sessions can share it. The
//! parameter tree is a shared [`DataModel`] (`Arc`) plus the device's own values, so thousands
//! of simulated devices of one model cost little memory.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use ferroacs::cpe::{ClientOptions, CpeClient};
//! use ferroacs::cpe::simulator::Simulator;
//!
//! let sim = Simulator::tr098("SN0001");
//! sim.start_connection_request_server().await?;
//! let mut client = CpeClient::new(
//!     ClientOptions::new("http://127.0.0.1:7547/").credentials("cpe", "secret"),
//! )?;
//! // 0 BOOTSTRAP + 1 BOOT, then whatever the ACS asked for (reboots, downloads...).
//! let logs = sim.run_until_idle(&mut client).await?;
//! assert!(logs[0].has_event("0 BOOTSTRAP"));
//! // Serve connection requests until none comes for two seconds.
//! sim.serve_until_quiet(&mut client, Duration::from_secs(2)).await?;
//! # Ok(()) }
//! ```

mod conreq;
mod driver;
mod rpc;
mod transfer;
mod tree;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub use driver::{Exchange, OpenSession, SessionEnd, SessionLog, Step};
pub use rpc::{RPC_METHODS, fault_string};
pub use transfer::TransferRecord;

use self::tree::Tree;
use super::client::ClientOptions;
use super::datamodel::{DataModel, Node, XsdType};
use super::session::Responder;
use crate::cwmp::{
    AutonomousTransferComplete, Body, CwmpNs, DeviceId, Download, EventStruct, Inform,
    ParameterValue, TransferComplete, Upload,
};

/// What identifies a simulated device; the tree's `DeviceInfo.*` values follow it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub manufacturer: String,
    pub oui: String,
    pub product_class: String,
    pub serial_number: String,
    pub software_version: String,
    pub hardware_version: String,
}

/// Which requests an injected fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Every request of this method (`"SetParameterValues"`, `"Reboot"`...): the whole request
    /// is answered with the fault.
    Method(String),
    /// Requests naming this parameter (or, ending with `.`, anything under it; a partial path
    /// covering it counts too). In a SetParameterValues, the parameter gets the fault code in a
    /// 9003 fault's SetParameterValuesFault list; other requests get the fault whole.
    Param(String),
    /// Any request.
    Any,
}

impl From<&str> for Matcher {
    /// A name with a `.` is a parameter, `"*"` is any request, anything else a method.
    fn from(s: &str) -> Matcher {
        if s == "*" {
            Matcher::Any
        } else if s.contains('.') {
            Matcher::Param(s.to_string())
        } else {
            Matcher::Method(s.to_string())
        }
    }
}

impl From<String> for Matcher {
    fn from(s: String) -> Matcher {
        Matcher::from(s.as_str())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub(crate) matcher: Matcher,
    pub(crate) code: u32,
    /// `None`: forever.
    pub(crate) remaining: Option<u32>,
}

#[derive(Debug, Clone)]
struct DropRule {
    method: String,
    apply: bool,
    remaining: u32,
}

/// How the connection-request listener treats the ACS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reachability {
    #[default]
    Reachable,
    /// Accepts the TCP connection and closes it at once (the ACS sees a failed request).
    Refuse,
    /// Accepts the TCP connection and never answers (the ACS times out).
    Blackhole,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Attr {
    pub(crate) notification: i32,
    pub(crate) access_list: Vec<String>,
}

/// Work a CPE does after the session that asked for it.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    Reboot(String),
    FactoryReset,
    Download(Download),
    Upload(Upload),
}

#[derive(Debug, Clone)]
struct PendingTransfer {
    tc: TransferComplete,
    /// `"M Download"` / `"M Upload"`; empty for an autonomous report.
    event: &'static str,
    /// Set when the CPE reports this transfer as an AutonomousTransferComplete instead.
    autonomous: Option<AutonomousTransferComplete>,
}

#[derive(Debug, Default)]
struct ConReq {
    addr: Option<SocketAddr>,
    path: String,
    accepted: u64,
    attempts: u64,
    reach: Reachability,
}

pub(crate) struct State {
    pub(crate) tree: Tree,
    identity: Identity,
    ns: CwmpNs,
    pub(crate) strict_types: bool,
    events: Vec<EventStruct>,
    value_changes: Vec<String>,
    retry_count: u32,
    pub(crate) effects: Vec<Effect>,
    transfers: Vec<PendingTransfer>,
    /// Report ACS-requested downloads as AutonomousTransferComplete (some firmwares do).
    pub(crate) autonomous_reports: bool,
    pub(crate) scheduled: Vec<(Instant, String)>,
    pub(crate) boot: Instant,
    pub(crate) attrs: BTreeMap<String, Attr>,
    pub(crate) faults: Vec<FaultRule>,
    drops: Vec<DropRule>,
    firmware: HashMap<String, String>,
    transfer_log: Vec<TransferRecord>,
    cr: ConReq,
    logs: VecDeque<SessionLog>,
    keep_logs: usize,
    next_id: u64,
    sessions: u64,
    reboots: u64,
    factory_resets: u64,
}

struct Inner {
    state: Mutex<State>,
    notify: Notify,
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(h) = self
            .listener
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            h.abort();
        }
    }
}

/// A simulated CPE (a cheap, shareable handle).
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("Simulator")
            .field("identity", &st.identity)
            .field("model", &st.tree.base.source())
            .finish()
    }
}

/// Builds a [`Simulator`]; see [`Simulator::builder`].
#[derive(Debug, Clone)]
pub struct SimulatorBuilder {
    model: Arc<DataModel>,
    manufacturer: Option<String>,
    oui: Option<String>,
    product_class: Option<String>,
    serial: Option<String>,
    software_version: Option<String>,
    hardware_version: Option<String>,
    ns: CwmpNs,
    cr_credentials: Option<(String, String)>,
    acs: Option<(String, String, String)>,
    strict_types: bool,
    keep_transcripts: usize,
}

impl SimulatorBuilder {
    pub fn manufacturer(mut self, v: impl Into<String>) -> Self {
        self.manufacturer = Some(v.into());
        self
    }
    pub fn oui(mut self, v: impl Into<String>) -> Self {
        self.oui = Some(v.into());
        self
    }
    pub fn product_class(mut self, v: impl Into<String>) -> Self {
        self.product_class = Some(v.into());
        self
    }
    pub fn serial(mut self, v: impl Into<String>) -> Self {
        self.serial = Some(v.into());
        self
    }
    pub fn software_version(mut self, v: impl Into<String>) -> Self {
        self.software_version = Some(v.into());
        self
    }
    pub fn hardware_version(mut self, v: impl Into<String>) -> Self {
        self.hardware_version = Some(v.into());
        self
    }
    /// The namespace of the CPE's own messages (answers echo the ACS's). Default `cwmp-1-0`.
    pub fn cwmp_ns(mut self, ns: CwmpNs) -> Self {
        self.ns = ns;
        self
    }
    /// Factory values of `ManagementServer.ConnectionRequestUsername/Password`.
    pub fn connection_request_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.cr_credentials = Some((username.into(), password.into()));
        self
    }
    /// Factory values of `ManagementServer.URL/Username/Password` (see
    /// [`Simulator::client_options`]).
    pub fn acs(
        mut self,
        url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.acs = Some((url.into(), username.into(), password.into()));
        self
    }
    /// With strict types (the default) a SetParameterValues whose `xsi:type` differs from the
    /// parameter's type faults 9006; otherwise only the value is checked.
    pub fn strict_types(mut self, strict: bool) -> Self {
        self.strict_types = strict;
        self
    }
    /// How many session transcripts to keep (oldest dropped first). Default 1000.
    pub fn keep_transcripts(mut self, n: usize) -> Self {
        self.keep_transcripts = n;
        self
    }

    pub fn build(self) -> Simulator {
        let m = &self.model;
        let root = m.root();
        let info = |k: &str| {
            m.value(&format!("{root}DeviceInfo.{k}"))
                .map(str::to_string)
        };
        let id = m.device_id().cloned().unwrap_or_default();
        let pick = |given: Option<String>, from_id: &str, key: &str| {
            given
                .or_else(|| (!from_id.is_empty()).then(|| from_id.to_string()))
                .or_else(|| info(key))
                .unwrap_or_default()
        };
        let identity = Identity {
            manufacturer: pick(self.manufacturer, &id.manufacturer, "Manufacturer"),
            oui: pick(self.oui, &id.oui, "ManufacturerOUI"),
            product_class: pick(self.product_class, &id.product_class, "ProductClass"),
            serial_number: pick(self.serial, &id.serial_number, "SerialNumber"),
            software_version: pick(self.software_version, "", "SoftwareVersion"),
            hardware_version: pick(self.hardware_version, "", "HardwareVersion"),
        };
        let mut st = State {
            tree: Tree::new(self.model.clone()),
            identity,
            ns: self.ns,
            strict_types: self.strict_types,
            events: vec![
                EventStruct::new("0 BOOTSTRAP", ""),
                EventStruct::new("1 BOOT", ""),
            ],
            value_changes: Vec::new(),
            retry_count: 0,
            effects: Vec::new(),
            transfers: Vec::new(),
            autonomous_reports: false,
            scheduled: Vec::new(),
            boot: Instant::now(),
            attrs: BTreeMap::new(),
            faults: Vec::new(),
            drops: Vec::new(),
            firmware: HashMap::new(),
            transfer_log: Vec::new(),
            cr: ConReq::default(),
            logs: VecDeque::new(),
            keep_logs: self.keep_transcripts,
            next_id: 0,
            sessions: 0,
            reboots: 0,
            factory_resets: 0,
        };
        st.apply_identity();
        let ms = format!("{root}ManagementServer.");
        if let Some((u, p)) = &self.cr_credentials {
            st.set_fixed_value(&format!("{ms}ConnectionRequestUsername"), u);
            st.set_fixed_value(&format!("{ms}ConnectionRequestPassword"), p);
        }
        if let Some((url, u, p)) = &self.acs {
            st.set_fixed_value(&format!("{ms}URL"), url);
            st.set_fixed_value(&format!("{ms}Username"), u);
            st.set_fixed_value(&format!("{ms}Password"), p);
        }
        Simulator {
            inner: Arc::new(Inner {
                state: Mutex::new(st),
                notify: Notify::new(),
                listener: Mutex::new(None),
            }),
        }
    }
}

impl State {
    /// Sets a factory value, keeping the type and writability the tree has (a non-writable
    /// string when the parameter is new).
    fn set_fixed_value(&mut self, name: &str, value: &str) {
        let node = match self.tree.get(name) {
            Some(n) => Node::param(value, n.xsd_type.clone(), n.writable),
            None => Node::param(value, XsdType::String, false),
        };
        self.tree.set_fixed(name, node);
    }

    fn apply_identity(&mut self) {
        let root = self.tree.root();
        let id = self.identity.clone();
        for (k, v) in [
            ("Manufacturer", &id.manufacturer),
            ("ManufacturerOUI", &id.oui),
            ("ProductClass", &id.product_class),
            ("SerialNumber", &id.serial_number),
            ("SoftwareVersion", &id.software_version),
            ("HardwareVersion", &id.hardware_version),
        ] {
            self.set_fixed_value(&format!("{root}DeviceInfo.{k}"), v);
        }
    }

    fn push_event(&mut self, code: &str, key: &str) {
        let single = !code.starts_with('M') && !code.starts_with('X');
        if single && self.events.iter().any(|e| e.event_code == code) {
            return;
        }
        self.events.push(EventStruct::new(code, key));
    }

    fn promote_scheduled(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.scheduled.drain(..).partition(|(t, _)| *t <= now);
        self.scheduled = later;
        for (_, key) in due {
            self.push_event("3 SCHEDULED", "");
            self.push_event("M ScheduleInform", &key);
        }
    }

    fn is_due(&self) -> bool {
        let now = Instant::now();
        !self.events.is_empty()
            || !self.transfers.is_empty()
            || !self.effects.is_empty()
            || self.scheduled.iter().any(|(t, _)| *t <= now)
    }

    fn forced_params(&self) -> Vec<String> {
        let r = self.tree.root();
        let mut names = Vec::new();
        if self.tree.base.is_tr098() {
            names.push(format!("{r}DeviceSummary"));
            names.push(format!("{r}DeviceInfo.SpecVersion"));
        } else {
            names.push(format!("{r}RootDataModelVersion"));
        }
        for k in [
            "DeviceInfo.HardwareVersion",
            "DeviceInfo.SoftwareVersion",
            "DeviceInfo.ProvisioningCode",
            "ManagementServer.ConnectionRequestURL",
            "ManagementServer.ParameterKey",
        ] {
            names.push(format!("{r}{k}"));
        }
        if let Some(w) = self.tree.base.wan_ip_param() {
            names.push(w.to_string());
        }
        names
    }

    fn build_inform(&self) -> Inform {
        let mut events = self.events.clone();
        for t in &self.transfers {
            let code = if t.autonomous.is_some() {
                "10 AUTONOMOUS TRANSFER COMPLETE"
            } else {
                "7 TRANSFER COMPLETE"
            };
            if !events.iter().any(|e| e.event_code == code) {
                events.push(EventStruct::new(code, ""));
            }
        }
        for t in self.transfers.iter().filter(|t| t.autonomous.is_none()) {
            let e = EventStruct::new(t.event, t.tc.command_key.clone());
            if !events.contains(&e) {
                events.push(e);
            }
        }
        if events.is_empty() {
            events.push(EventStruct::new("2 PERIODIC", ""));
        }
        let rank = |e: &EventStruct| -> (u8, u32) {
            let head = e.event_code.split(' ').next().unwrap_or("");
            match head.parse::<u32>() {
                Ok(n) => (0, n),
                Err(_) if head == "M" => (1, 0),
                Err(_) => (2, 0),
            }
        };
        events.sort_by_key(rank);
        let mut parameters: Vec<ParameterValue> = Vec::new();
        let mut names = self.forced_params();
        names.extend(self.value_changes.iter().cloned());
        for n in names {
            if parameters.iter().any(|p| p.name == n) {
                continue;
            }
            if let Some(node) = self.tree.get(&n)
                && !n.ends_with('.')
            {
                parameters.push(self.report(&n, node));
            }
        }
        Inform {
            device_id: DeviceId {
                manufacturer: self.identity.manufacturer.clone(),
                oui: self.identity.oui.clone(),
                product_class: self.identity.product_class.clone(),
                serial_number: self.identity.serial_number.clone(),
            },
            events,
            max_envelopes: 1,
            current_time: Some(crate::cwmp::CwmpTime::now()),
            retry_count: self.retry_count,
            parameters,
        }
    }

    /// The InformResponse came: these events and value changes are delivered.
    fn delivered(&mut self, inform: &Inform) {
        for e in &inform.events {
            if let Some(i) = self.events.iter().position(|x| x == e) {
                self.events.remove(i);
            }
        }
        self.value_changes
            .retain(|n| !inform.parameters.iter().any(|p| &p.name == n));
        self.retry_count = 0;
        self.sessions += 1;
    }

    fn reboot(&mut self, key: Option<&str>) {
        self.boot = Instant::now();
        self.reboots += 1;
        self.push_event("1 BOOT", "");
        if let Some(k) = key {
            self.push_event("M Reboot", k);
        }
    }

    fn factory_reset(&mut self) {
        self.tree.factory_reset();
        self.attrs.clear();
        self.events = vec![
            EventStruct::new("0 BOOTSTRAP", ""),
            EventStruct::new("1 BOOT", ""),
        ];
        self.value_changes.clear();
        self.scheduled.clear();
        self.transfers.clear();
        self.boot = Instant::now();
        self.factory_resets += 1;
    }

    fn record(&mut self, log: SessionLog) {
        if self.keep_logs == 0 {
            return;
        }
        while self.logs.len() >= self.keep_logs {
            self.logs.pop_front();
        }
        self.logs.push_back(log);
    }

    fn next_id(&mut self) -> String {
        self.next_id += 1;
        format!("c{}", self.next_id)
    }

    /// The drop rule for `method`, consuming one use: `Some(apply)`.
    fn take_drop(&mut self, method: &str) -> Option<bool> {
        let i = self.drops.iter().position(|d| d.method == method)?;
        let apply = self.drops[i].apply;
        self.drops[i].remaining = self.drops[i].remaining.saturating_sub(1);
        if self.drops[i].remaining == 0 {
            self.drops.remove(i);
        }
        Some(apply)
    }

    fn config_dump(&self) -> Vec<u8> {
        let mut out = String::new();
        for (k, n) in self.tree.prefixed("") {
            if !k.ends_with('.') {
                out.push_str(&k);
                out.push('=');
                out.push_str(&n.value);
                out.push('\n');
            }
        }
        out.into_bytes()
    }
}

impl Simulator {
    /// A builder over a data model (a loaded CSV or [`DataModel::builtin_tr098`] /
    /// [`DataModel::builtin_tr181`]). Identity defaults come from the model (its `DeviceID`
    /// rows, else its `DeviceInfo` values).
    pub fn builder(model: Arc<DataModel>) -> SimulatorBuilder {
        SimulatorBuilder {
            model,
            manufacturer: None,
            oui: None,
            product_class: None,
            serial: None,
            software_version: None,
            hardware_version: None,
            ns: CwmpNs::V1_0,
            cr_credentials: None,
            acs: None,
            strict_types: true,
            keep_transcripts: 1000,
        }
    }

    /// A device with the built-in TR-098 tree and this serial number.
    pub fn tr098(serial: &str) -> Simulator {
        Simulator::builder(DataModel::builtin_tr098())
            .serial(serial)
            .build()
    }

    /// A device with the built-in TR-181 tree and this serial number (cwmp-1-2 namespace).
    pub fn tr181(serial: &str) -> Simulator {
        Simulator::builder(DataModel::builtin_tr181())
            .serial(serial)
            .cwmp_ns(CwmpNs::V1_2)
            .build()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake(&self) {
        self.inner.notify.notify_waiters();
    }

    // ---- the tree ----

    pub fn model(&self) -> Arc<DataModel> {
        self.lock().tree.base.clone()
    }

    /// `"InternetGatewayDevice."` or `"Device."`.
    pub fn root(&self) -> &'static str {
        self.lock().tree.root()
    }

    pub fn identity(&self) -> Identity {
        self.lock().identity.clone()
    }

    pub fn device_id(&self) -> DeviceId {
        self.lock().build_inform().device_id
    }

    /// OUI-ProductClass-SerialNumber.
    pub fn unique_identifier(&self) -> String {
        let i = self.identity();
        format!("{}-{}-{}", i.oui, i.product_class, i.serial_number)
    }

    /// A parameter's current value (live UpTime).
    pub fn value(&self, name: &str) -> Option<String> {
        self.parameter(name).map(|p| p.value)
    }

    /// A parameter as GetParameterValues reports it.
    pub fn parameter(&self, name: &str) -> Option<ParameterValue> {
        let st = self.lock();
        let node = st.tree.get(name)?;
        (!name.ends_with('.')).then(|| st.report(name, node))
    }

    /// A parameter or object (name ending with `.`) as the tree holds it.
    pub fn node(&self, name: &str) -> Option<Node> {
        self.lock().tree.get(name).cloned()
    }

    /// Every parameter and object under `prefix` (`""` = all), in name order.
    pub fn entries(&self, prefix: &str) -> Vec<(String, Node)> {
        self.lock().tree.prefixed(prefix)
    }

    /// Changes a value locally without telling the ACS (like a setting changed through the web
    /// UI of a parameter without notification). False when the parameter does not exist.
    pub fn set_value(&self, name: &str, value: &str) -> bool {
        self.lock().tree.set_value(name, value)
    }

    /// Changes a value locally and queues `4 VALUE CHANGE` with the parameter in the next
    /// Inform. False when the parameter does not exist.
    pub fn change_value(&self, name: &str, value: &str) -> bool {
        let mut st = self.lock();
        if !st.tree.set_value(name, value) {
            return false;
        }
        st.push_event("4 VALUE CHANGE", "");
        if !st.value_changes.iter().any(|n| n == name) {
            st.value_changes.push(name.to_string());
        }
        drop(st);
        self.wake();
        true
    }

    /// Sets (or adds, as a typed parameter) a factory value of this device: it survives a
    /// factory reset.
    pub fn set_factory_value(&self, name: &str, value: &str, xsd_type: &str, writable: bool) {
        self.lock()
            .tree
            .set_fixed(name, Node::param(value, XsdType::parse(xsd_type), writable));
    }

    /// Makes a parameter (non-)writable for good (SetParameterValues then faults 9008).
    pub fn set_writable(&self, name: &str, writable: bool) -> bool {
        self.lock().tree.set_writable(name, writable)
    }

    /// Entries this device keeps on top of the shared model (memory footprint check).
    pub fn own_entries(&self) -> usize {
        self.lock().tree.own_entries()
    }

    /// How long since the last (simulated) boot.
    pub fn uptime(&self) -> Duration {
        self.lock().boot.elapsed()
    }

    /// Reboots applied so far (ACS Reboots, firmware installs, [`Simulator::reboot_now`]).
    pub fn reboots(&self) -> u64 {
        self.lock().reboots
    }

    pub fn factory_resets(&self) -> u64 {
        self.lock().factory_resets
    }

    /// Sessions that got an InformResponse.
    pub fn sessions(&self) -> u64 {
        self.lock().sessions
    }

    /// A power cycle: `1 BOOT` next time (no `M Reboot`).
    pub fn reboot_now(&self) {
        self.lock().reboot(None);
        self.wake();
    }

    /// A factory reset from the button: tree back to factory values, `0 BOOTSTRAP` next time.
    pub fn factory_reset_now(&self) {
        self.lock().factory_reset();
        self.wake();
    }

    /// Queues an event for the next Inform (e.g. `"8 DIAGNOSTICS COMPLETE"`).
    pub fn queue_event(&self, code: &str, command_key: &str) {
        self.lock().push_event(code, command_key);
        self.wake();
    }

    /// Forgets queued events (e.g. to start with a plain `2 PERIODIC` session).
    pub fn clear_events(&self) {
        let mut st = self.lock();
        st.events.clear();
        st.value_changes.clear();
    }

    /// The events queued for the next Inform (without the derived ones).
    pub fn queued_events(&self) -> Vec<EventStruct> {
        self.lock().events.clone()
    }

    /// The Inform the next session would send now (nothing is consumed; after-session effects
    /// still pending are not applied: see [`Simulator::complete_pending`]).
    pub fn peek_inform(&self) -> Inform {
        let mut st = self.lock();
        st.promote_scheduled();
        st.build_inform()
    }

    /// Whether a session is due: queued events (boot, bootstrap, connection request, value
    /// change, due scheduled inform), an undelivered TransferComplete or after-session work.
    pub fn is_due(&self) -> bool {
        self.lock().is_due()
    }

    /// TransferCompletes waiting for the next session.
    pub fn pending_transfer_completes(&self) -> Vec<TransferComplete> {
        self.lock().transfers.iter().map(|t| t.tc.clone()).collect()
    }

    /// Every download and upload attempted, in order.
    pub fn transfers(&self) -> Vec<TransferRecord> {
        self.lock().transfer_log.clone()
    }

    /// `DeviceInfo.SoftwareVersion` becomes `version` when a firmware image with this SHA-256
    /// (hex, any case) is downloaded.
    pub fn register_firmware(&self, sha256_hex: &str, version: &str) {
        self.lock()
            .firmware
            .insert(sha256_hex.to_ascii_lowercase(), version.to_string());
    }

    /// From now on, downloads the ACS asked for are reported as AutonomousTransferComplete
    /// (event `10 AUTONOMOUS TRANSFER COMPLETE`, no CommandKey) instead of TransferComplete.
    pub fn report_downloads_autonomously(&self, on: bool) {
        self.lock().autonomous_reports = on;
    }

    // ---- faults ----

    /// The next `times` requests matching `matcher` fault with `code` (see [`Matcher`]: a name
    /// with a `.` is a parameter, else a method), then requests succeed again.
    pub fn fail_next(&self, matcher: impl Into<Matcher>, code: u32, times: u32) {
        if times == 0 {
            return;
        }
        self.lock().faults.push(FaultRule {
            matcher: matcher.into(),
            code,
            remaining: Some(times),
        });
    }

    /// Every request matching `matcher` faults with `code`, until [`Simulator::clear_faults`].
    pub fn fail_always(&self, matcher: impl Into<Matcher>, code: u32) {
        self.lock().faults.push(FaultRule {
            matcher: matcher.into(),
            code,
            remaining: None,
        });
    }

    pub fn clear_faults(&self) {
        let mut st = self.lock();
        st.faults.clear();
        st.drops.clear();
    }

    /// The next time the ACS sends `method`, the CPE applies it (a Reboot reboots, a
    /// SetParameterValues sets the values) but closes the connection without answering, like
    /// a CPE crashing mid-session. The next session proceeds normally.
    pub fn drop_after(&self, method: &str) {
        self.drop_rule(method, true, 1);
    }

    /// [`Simulator::drop_after`] for the next `times` such requests.
    pub fn drop_after_n(&self, method: &str, times: u32) {
        self.drop_rule(method, true, times);
    }

    /// The next time the ACS sends `method`, the CPE closes the connection without applying
    /// or answering it.
    pub fn drop_before(&self, method: &str) {
        self.drop_rule(method, false, 1);
    }

    /// The CPE reboots on the next Reboot without sending RebootResponse (the connection just
    /// closes); the next Inform carries `1 BOOT` + `M Reboot`.
    pub fn no_response_to_reboot(&self) {
        self.drop_after("Reboot");
    }

    fn drop_rule(&self, method: &str, apply: bool, times: u32) {
        if times == 0 {
            return;
        }
        self.lock().drops.push(DropRule {
            method: method.to_string(),
            apply,
            remaining: times,
        });
    }

    // ---- answering ----

    /// Answers one ACS request (as [`Responder::answer`]). Reboot, FactoryReset, Download and
    /// Upload take effect at the end of the session ([`Simulator::complete_pending`]).
    pub fn handle(&self, request: &Body) -> Body {
        self.lock().answer(request)
    }

    /// Applies what the CPE does after a session: reboot, factory reset, downloads (a real
    /// HTTP GET, loopback only) and uploads. Sessions call it at their end and before their
    /// Inform; call it yourself after feeding requests to [`Simulator::handle`].
    pub async fn complete_pending(&self) {
        loop {
            let effects = std::mem::take(&mut self.lock().effects);
            if effects.is_empty() {
                break;
            }
            for e in effects {
                match e {
                    Effect::Reboot(key) => self.lock().reboot(Some(&key)),
                    Effect::FactoryReset => self.lock().factory_reset(),
                    Effect::Download(d) => {
                        let start = crate::cwmp::CwmpTime::now();
                        let result = transfer::download(&d).await;
                        let complete = crate::cwmp::CwmpTime::now();
                        self.lock().downloaded(&d, result, start, complete);
                    }
                    Effect::Upload(u) => {
                        let body = self.lock().config_dump();
                        let start = crate::cwmp::CwmpTime::now();
                        let result = transfer::upload(&u, body).await;
                        let complete = crate::cwmp::CwmpTime::now();
                        self.lock().uploaded(&u, result, start, complete);
                    }
                }
            }
        }
    }

    // ---- transcripts ----

    /// Every recorded session, oldest first.
    pub fn transcripts(&self) -> Vec<SessionLog> {
        self.lock().logs.iter().cloned().collect()
    }

    pub fn last_transcript(&self) -> Option<SessionLog> {
        self.lock().logs.back().cloned()
    }

    pub fn clear_transcripts(&self) {
        self.lock().logs.clear();
    }

    // ---- client ----

    /// Client options from the tree's `ManagementServer.URL/Username/Password`.
    pub fn client_options(&self) -> ClientOptions {
        let st = self.lock();
        let ms = format!("{}ManagementServer.", st.tree.root());
        let get = |k: &str| {
            st.tree
                .get(&format!("{ms}{k}"))
                .map(|n| n.value.to_string())
                .unwrap_or_default()
        };
        let mut o = ClientOptions::new(get("URL"));
        let (u, p) = (get("Username"), get("Password"));
        if !u.is_empty() || !p.is_empty() {
            o = o.credentials(&u, &p);
        }
        o
    }

    // ---- connection requests ----

    /// Binds 127.0.0.1:0 and serves connection requests (HTTP GET on a random path, Digest
    /// with the tree's `ConnectionRequestUsername/Password`, no authentication when both are
    /// empty). `ManagementServer.ConnectionRequestURL` then points at it. Idempotent.
    pub async fn start_connection_request_server(&self) -> std::io::Result<SocketAddr> {
        conreq::start(self).await
    }

    /// The listener's URL, once started.
    pub fn connection_request_url(&self) -> Option<String> {
        let st = self.lock();
        st.cr.addr.map(|a| format!("http://{a}{}", st.cr.path))
    }

    /// Connection requests accepted (authenticated).
    pub fn connection_requests(&self) -> u64 {
        self.lock().cr.accepted
    }

    /// HTTP requests the listener received (including challenged and refused ones).
    pub fn connection_request_attempts(&self) -> u64 {
        self.lock().cr.attempts
    }

    /// The listener refuses (closes) every connection while `true`.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.set_reachability(if unreachable {
            Reachability::Refuse
        } else {
            Reachability::Reachable
        });
    }

    pub fn set_reachability(&self, r: Reachability) {
        self.lock().cr.reach = r;
    }

    /// Whether an accepted connection request still waits for its session.
    pub fn connection_request_due(&self) -> bool {
        self.lock()
            .events
            .iter()
            .any(|e| e.event_code == "6 CONNECTION REQUEST")
    }

    /// Waits until a connection request is due (true) or `timeout` passes (false).
    pub async fn wait_connection_request(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| s.connection_request_due()).await
    }

    /// Waits until any session is due (true) or `timeout` passes (false).
    pub async fn wait_due(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| s.is_due()).await
    }

    async fn wait_for(&self, timeout: Duration, cond: impl Fn(&Simulator) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cond(self) {
                return true;
            }
            // Scheduled informs fall due without a notification: look again now and then.
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return cond(self);
            }
            let wake = deadline.min(now + Duration::from_millis(100));
            let _ = tokio::time::timeout_at(wake, notified).await;
        }
    }
}

impl Responder for Simulator {
    fn answer(&mut self, request: &Body) -> Body {
        self.handle(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpe::client::CpeClient;

    fn is_send<T: Send>(_: &T) {}

    #[allow(dead_code)]
    fn futures_are_send(sim: Simulator, c: &mut CpeClient) {
        is_send(&sim.run_session(c));
        is_send(&sim.run_until_idle(c));
        is_send(&sim.complete_pending());
        is_send(&sim.start_connection_request_server());
        is_send(&sim.wait_connection_request(Duration::from_secs(1)));
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Simulator>();
    }
}
