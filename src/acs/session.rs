//! CWMP sessions in memory: found by cookie, else by TCP connection, else by source address;
//! idle ones expire.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;

use super::facts::Facts;
use super::planner::{Context, RequestKind};
use crate::cwmp::CwmpNs;
use crate::store::{CwmpDevice, ParamWrite};

pub const COOKIE: &str = "ferroacs_session";

/// An ACS request waiting for the CPE's response.
#[derive(Debug, Clone)]
pub struct Outstanding {
    pub cwmp_id: String,
    pub kind: RequestKind,
}

#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub device: CwmpDevice,
    /// `OUI-ProductClass-SerialNumber`, for logs.
    pub label: String,
    pub cred_tag: String,
    pub ns: CwmpNs,
    pub events: Vec<String>,
    pub facts: Facts,
    pub outstanding: Option<Outstanding>,
    /// What this session already asked (answered or not).
    pub attempted: Vec<RequestKind>,
    /// The CPE asked the ACS not to send requests (HoldRequests).
    pub hold_requests: bool,
    /// The planner's view of settings and operations, loaded when there may be work.
    pub context: Option<Context>,
    pub context_loaded: bool,
    /// A sync in progress: names still to read, values read so far.
    pub sync_started: bool,
    pub sync_unread: Vec<String>,
    pub sync_writable: HashMap<String, bool>,
    pub sync_values: Vec<ParamWrite>,
    /// Scheme and authority the CPE reached the ACS at (for the URLs it is given).
    pub acs_base: String,
    /// The SOAP exchanges, kept for devices in debug mode.
    pub transcript: Option<Vec<String>>,
    pub started: i64,
    next_id: u32,
    pub last_seen: Instant,
    pub ended: bool,
}

impl Session {
    pub fn new(
        device: CwmpDevice,
        label: String,
        ns: CwmpNs,
        events: Vec<String>,
        facts: Facts,
        acs_base: String,
    ) -> Session {
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        Session {
            id: hex::encode(raw),
            cred_tag: device.cred_tag(),
            transcript: device.debug.then(Vec::new),
            device,
            label,
            ns,
            events,
            facts,
            outstanding: None,
            attempted: Vec::new(),
            hold_requests: false,
            context: None,
            context_loaded: false,
            sync_started: false,
            sync_unread: Vec::new(),
            sync_writable: HashMap::new(),
            sync_values: Vec::new(),
            acs_base,
            started: crate::time::now_micros(),
            next_id: 0,
            last_seen: Instant::now(),
            ended: false,
        }
    }

    /// A short, fresh `cwmp:ID` for the next ACS request (some CPEs choke on long ones).
    pub fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("acs{}", self.next_id)
    }

    pub fn has_event(&self, code: &str) -> bool {
        self.events
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(code))
    }

    /// Keeps a SOAP exchange for debug mode.
    pub fn record(&mut self, direction: &str, bytes: &[u8]) {
        if let Some(t) = &mut self.transcript {
            t.push(format!("{direction} {}", String::from_utf8_lossy(bytes)));
        }
    }
}

pub type SessionRef = Arc<tokio::sync::Mutex<Session>>;

struct Entry {
    session: SessionRef,
    device_id: i64,
    conn: u64,
    ip: IpAddr,
    last_seen: Instant,
}

#[derive(Default)]
struct Maps {
    by_id: HashMap<String, Entry>,
    by_conn: HashMap<u64, String>,
    by_device: HashMap<i64, String>,
    /// Sessions per source address, for CPEs that neither echo cookies nor keep their
    /// connection: without it every cookie-less request (every Inform) scanned all sessions.
    by_ip: HashMap<IpAddr, HashSet<String>>,
}

/// All live sessions of this instance.
#[derive(Default)]
pub struct SessionTable {
    maps: Mutex<Maps>,
}

impl SessionTable {
    /// Registers a session; a previous session of the same device is ended (a CPE that starts a
    /// new session has given up on the old one). Returns the ended session, if any.
    pub fn insert(
        &self,
        session: Session,
        conn: u64,
        ip: IpAddr,
    ) -> (SessionRef, Option<SessionRef>) {
        let id = session.id.clone();
        let device_id = session.device.id;
        let session = Arc::new(tokio::sync::Mutex::new(session));
        let mut m = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        // The previous session of the device stays reachable (its CPE may still answer the
        // request in flight, which is recorded), but it is no longer current: it sends nothing
        // more and ends at its next message.
        let replaced = m
            .by_device
            .insert(device_id, id.clone())
            .and_then(|old| m.by_id.get(&old).map(|e| e.session.clone()));
        m.by_conn.insert(conn, id.clone());
        m.by_ip.entry(ip).or_default().insert(id.clone());
        m.by_id.insert(
            id,
            Entry {
                session: session.clone(),
                device_id,
                conn,
                ip,
                last_seen: Instant::now(),
            },
        );
        (session, replaced)
    }

    fn remove_locked(m: &mut Maps, id: &str) -> Option<SessionRef> {
        let e = m.by_id.remove(id)?;
        if m.by_conn.get(&e.conn).is_some_and(|s| s == id) {
            m.by_conn.remove(&e.conn);
        }
        if m.by_device.get(&e.device_id).is_some_and(|s| s == id) {
            m.by_device.remove(&e.device_id);
        }
        if let Some(ids) = m.by_ip.get_mut(&e.ip) {
            ids.remove(id);
            if ids.is_empty() {
                m.by_ip.remove(&e.ip);
            }
        }
        Some(e.session)
    }

    /// Whether `id` is the latest session of its device.
    pub fn is_current(&self, id: &str, device_id: i64) -> bool {
        let m = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        m.by_device.get(&device_id).is_some_and(|s| s == id)
    }

    pub fn remove(&self, id: &str) {
        let mut m = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        Self::remove_locked(&mut m, id);
    }

    /// Finds the session of a request: by cookie, else by connection, else the only session from
    /// that source address. The second value says whether the match was by address only.
    pub fn find(&self, cookie: Option<&str>, conn: u64, ip: IpAddr) -> Option<(SessionRef, bool)> {
        let mut m = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let id = cookie
            .filter(|c| m.by_id.contains_key(*c))
            .map(str::to_string)
            .or_else(|| m.by_conn.get(&conn).cloned());
        let (id, by_ip) = match id {
            Some(id) => (id, false),
            // A CPE that echoes cookies and names a finished session has no session.
            None if cookie.is_some() => return None,
            None => match m.by_ip.get(&ip) {
                Some(ids) if ids.len() == 1 => (ids.iter().next()?.clone(), true),
                _ => return None,
            },
        };
        let e = m.by_id.get_mut(&id)?;
        e.last_seen = Instant::now();
        let session = e.session.clone();
        if !by_ip && e.conn != conn {
            // The session moved to a new connection: forget the old one's mapping, so a CPE
            // that opens a connection per request does not grow the table.
            let old = std::mem::replace(&mut e.conn, conn);
            if m.by_conn.get(&old).is_some_and(|s| *s == id) {
                m.by_conn.remove(&old);
            }
            m.by_conn.insert(conn, id);
        }
        Some((session, by_ip))
    }

    /// Drops sessions idle longer than `timeout`; returns how many.
    pub fn expire(&self, timeout: Duration) -> usize {
        let now = Instant::now();
        let mut m = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let stale: Vec<String> = m
            .by_id
            .iter()
            .filter(|(_, e)| now.duration_since(e.last_seen) > timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &stale {
            Self::remove_locked(&mut m, id);
        }
        // Connections whose session is gone (a keep-alive connection that moved on to a newer
        // session of another device, say) are forgotten too.
        let Maps { by_id, by_conn, .. } = &mut *m;
        by_conn.retain(|_, id| by_id.contains_key(id));
        let live = by_id.len();
        by_conn.shrink_to(live * 2);
        stale.len()
    }

    /// Connections mapped to sessions (for tests: it must not outgrow the sessions).
    pub fn connections(&self) -> usize {
        self.maps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_conn
            .len()
    }

    /// Source addresses with sessions (for tests: it must not outlive the sessions).
    pub fn addresses(&self) -> usize {
        self.maps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_ip
            .len()
    }

    pub fn len(&self) -> usize {
        self.maps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(device_id: i64) -> Session {
        let device = CwmpDevice {
            id: device_id,
            ..CwmpDevice::default()
        };
        Session::new(
            device,
            "t".into(),
            CwmpNs::V1_0,
            Vec::new(),
            Facts::default(),
            "http://x".into(),
        )
    }

    #[test]
    fn a_session_on_many_connections_keeps_one_mapping() {
        let t = SessionTable::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let s = session(1);
        let id = s.id.clone();
        t.insert(s, 1, ip);
        for conn in 2..100 {
            assert!(t.find(Some(&id), conn, ip).is_some());
        }
        assert_eq!(t.connections(), 1);
        // Found by its latest connection without the cookie; not by an old one.
        assert!(t.find(None, 99, ip).is_some_and(|(_, by_ip)| !by_ip));
        t.remove(&id);
        assert_eq!((t.len(), t.connections()), (0, 0));
    }

    #[test]
    fn the_only_session_of_an_address_is_found_without_cookie_or_connection() {
        let t = SessionTable::default();
        let ips: Vec<IpAddr> = (1..=200u8).map(|i| IpAddr::from([10, 0, 0, i])).collect();
        let mut ids = Vec::new();
        for (n, ip) in ips.iter().enumerate() {
            let s = session(n as i64);
            ids.push(s.id.clone());
            t.insert(s, n as u64, *ip);
        }
        // A second session from the first address (two CPEs behind one NAT): ambiguous.
        let nat = session(1000);
        let nat_id = nat.id.clone();
        t.insert(nat, 5000, ips[0]);
        assert_eq!(t.addresses(), 200);
        assert!(t.find(None, 9999, ips[0]).is_none());
        let (found, by_ip) = t.find(None, 9999, ips[7]).unwrap();
        assert!(by_ip);
        assert_eq!(found.try_lock().unwrap().id, ids[7]);
        // Once one of the two is gone, the other is the address's only session again.
        t.remove(&nat_id);
        let (found, _) = t.find(None, 9999, ips[0]).unwrap();
        assert_eq!(found.try_lock().unwrap().id, ids[0]);
        for id in &ids {
            t.remove(id);
        }
        assert_eq!((t.len(), t.connections(), t.addresses()), (0, 0, 0));
    }

    #[test]
    fn a_newer_session_of_the_device_supersedes_and_expiry_cleans_up() {
        let t = SessionTable::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let (a, b) = (session(7), session(7));
        let (ida, idb) = (a.id.clone(), b.id.clone());
        t.insert(a, 1, ip);
        let (_, replaced) = t.insert(b, 2, ip);
        assert!(replaced.is_some());
        assert!(!t.is_current(&ida, 7));
        assert!(t.is_current(&idb, 7));
        assert!(
            t.find(Some(&ida), 1, ip).is_some(),
            "the old one still gets its last answer"
        );
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(t.expire(Duration::from_millis(10)), 2);
        assert_eq!((t.len(), t.connections()), (0, 0));
        assert!(t.find(Some(&idb), 2, ip).is_none());
    }
}
