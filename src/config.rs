//! Command line and environment (`FERROACS_<NAME>`) configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ferroacs",
    version,
    about = "TR-069/CWMP Auto-Configuration Server with a device inventory"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the inventory API and the CWMP endpoint.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Act as a CPE: replay captured Informs against an ACS and print what it asked.
    Replay(ReplayArgs),
    /// Run a simulated CPE against an ACS (for trying ferroacs out, and for tests by hand).
    Simulate(SimulateArgs),
    /// Load-test a running ferroacs with many simulated CPEs (and admins).
    Loadgen(Box<LoadgenArgs>),
    /// Serve the bare-HTTP ceiling the benchmarks compare against (canned InformResponse).
    Ceiling {
        #[arg(long, default_value = "127.0.0.1:7548")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// `sqlite://FILE` (created on first start) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "FERROACS_DATABASE_URL",
        default_value = "sqlite://ferroacs.db"
    )]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address of the REST API.
    #[arg(long, env = "FERROACS_API_LISTEN", default_value = "127.0.0.1:8000")]
    pub api_listen: SocketAddr,
    /// Address of the CWMP endpoint CPEs connect to.
    #[arg(long, env = "FERROACS_CWMP_LISTEN", default_value = "0.0.0.0:7547")]
    pub cwmp_listen: SocketAddr,
    /// PEM certificate chain: with --tls-key, both listeners speak HTTPS.
    #[arg(long, env = "FERROACS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "FERROACS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where firmware images are kept.
    #[arg(long, env = "FERROACS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Base URL for absolute links in API responses (default: from the Host header).
    #[arg(long, env = "FERROACS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// HTTP Digest realm; device password digests are computed for it, so changing it
    /// requires setting the device passwords again.
    #[arg(long, env = "FERROACS_REALM", default_value = "ferroacs")]
    pub realm: String,
    /// Largest JSON request body accepted by the API, in bytes.
    #[arg(long, env = "FERROACS_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Largest firmware image accepted, in bytes.
    #[arg(long, env = "FERROACS_MAX_FIRMWARE_BYTES", default_value_t = 1 << 30)]
    pub max_firmware_bytes: u64,
    /// Page size when a list request gives no `limit`.
    #[arg(long, env = "FERROACS_DEFAULT_LIMIT", default_value_t = 100)]
    pub default_limit: i64,
    /// Largest `limit` honoured.
    #[arg(long, env = "FERROACS_MAX_LIMIT", default_value_t = 1000)]
    pub max_limit: i64,
    /// Inform interval assumed for devices without `update_frequency`, in seconds.
    #[arg(
        long,
        env = "FERROACS_DEFAULT_INFORM_INTERVAL",
        default_value_t = 86_400
    )]
    pub default_inform_interval: i64,
    /// A device turns Down after this many Inform intervals without contact.
    #[arg(long, env = "FERROACS_DOWN_AFTER_INTERVALS", default_value_t = 3)]
    pub down_after_intervals: i64,
    /// Seconds in-flight requests get to finish on shutdown.
    #[arg(long, env = "FERROACS_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Seconds a CWMP session may stay idle before it is dropped.
    #[arg(long, env = "FERROACS_SESSION_TIMEOUT", default_value_t = 30)]
    pub session_timeout: u64,
    /// Largest CWMP message accepted, in bytes.
    #[arg(long, env = "FERROACS_CWMP_MAX_BODY_BYTES", default_value_t = 4 << 20)]
    pub cwmp_max_body_bytes: usize,
    /// 64 hex digits signing Digest nonces; give every instance behind one load balancer the
    /// same value (default: random at each start).
    #[arg(long, env = "FERROACS_NONCE_SECRET", value_parser = parse_secret)]
    pub nonce_secret: Option<Secret>,
    /// Accept HTTP Basic from CPEs over plain HTTP (always accepted over TLS).
    #[arg(long, env = "FERROACS_ALLOW_BASIC_OVER_HTTP")]
    pub allow_basic_over_http: bool,
    /// Create unknown CPEs that authenticate with the bootstrap credentials in this organization.
    #[arg(
        long,
        env = "FERROACS_AUTO_REGISTER",
        value_name = "ORGANIZATION_ID",
        requires = "bootstrap_username"
    )]
    pub auto_register: Option<i64>,
    /// Shared username CPEs without credentials of their own use (with --bootstrap-password).
    #[arg(
        long,
        env = "FERROACS_BOOTSTRAP_USERNAME",
        requires = "bootstrap_password"
    )]
    pub bootstrap_username: Option<String>,
    #[arg(
        long,
        env = "FERROACS_BOOTSTRAP_PASSWORD",
        requires = "bootstrap_username",
        hide_env_values = true
    )]
    pub bootstrap_password: Option<String>,
    /// Seconds a CPE's credentials may be served from memory.
    #[arg(long, env = "FERROACS_AUTH_CACHE_TTL", default_value_t = 5)]
    pub auth_cache_ttl: u64,
    /// Tasks writing CWMP results (0: one on SQLite, two on PostgreSQL).
    #[arg(long, env = "FERROACS_WRITERS", default_value_t = 0)]
    pub writers: usize,
    /// Most sessions' writes committed in one transaction.
    #[arg(long, env = "FERROACS_WRITE_BATCH", default_value_t = 256)]
    pub write_batch: usize,
    /// Seconds between sweeps marking silent devices Down.
    #[arg(long, env = "FERROACS_SWEEP_INTERVAL", default_value_t = 30)]
    pub sweep_interval: u64,
    /// Networks connection requests may be sent to (repeatable, comma-separated; default any).
    #[arg(
        long,
        env = "FERROACS_CONNECTION_REQUEST_ALLOW",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub connection_request_allow: Vec<ipnet::IpNet>,
    /// Seconds a connection request may take.
    #[arg(long, env = "FERROACS_CONNECTION_REQUEST_TIMEOUT", default_value_t = 5)]
    pub connection_request_timeout: u64,
    /// Seconds before the same device is sent another connection request.
    #[arg(
        long,
        env = "FERROACS_CONNECTION_REQUEST_INTERVAL",
        default_value_t = 10
    )]
    pub connection_request_interval: u64,
    /// Seconds an update_status probe waits for each device.
    #[arg(long, env = "FERROACS_PROBE_TIMEOUT", default_value_t = 2)]
    pub probe_timeout: u64,
    /// Seconds before a faulted item is retried (doubling per attempt, capped at an hour).
    #[arg(long, env = "FERROACS_RETRY_BACKOFF", default_value_t = 60)]
    pub retry_backoff: u64,
    /// Seconds a sent reboot or factory reset waits for the CPE to come back before resending.
    #[arg(long, env = "FERROACS_OPERATION_TIMEOUT", default_value_t = 300)]
    pub operation_timeout: u64,
    /// Seconds a sent firmware Download waits for its TransferComplete before it has failed.
    #[arg(long, env = "FERROACS_DOWNLOAD_TIMEOUT", default_value_t = 3600)]
    pub download_timeout: u64,
    /// Parameter values read per GetParameterValues during a sync.
    #[arg(long, env = "FERROACS_SYNC_BATCH", default_value_t = 100)]
    pub sync_batch: usize,
    /// Base URL CPEs reach the CWMP listener at, for firmware URLs (default: the Host they used).
    #[arg(long, env = "FERROACS_CWMP_PUBLIC_URL")]
    pub cwmp_public_url: Option<String>,
    /// Debug-mode session transcripts kept per device.
    #[arg(long, env = "FERROACS_KEEP_SESSION_LOGS", default_value_t = 10)]
    pub keep_session_logs: i64,
}

/// A 32-byte secret given as hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret(pub [u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    let bytes = hex::decode(s.trim()).map_err(|e| format!("not hex: {e}"))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "expected 64 hex digits (32 bytes)".to_string())?;
    Ok(Secret(arr))
}

impl ServeArgs {
    /// Parses `serve` flags (without the subcommand name), e.g. for tests and benchmarks.
    pub fn from_flags<I, S>(flags: I) -> Result<ServeArgs, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        let mut argv: Vec<std::ffi::OsString> = vec!["ferroacs".into(), "serve".into()];
        argv.extend(flags.into_iter().map(Into::into));
        match Cli::try_parse_from(argv)?.command {
            Command::Serve(args) => Ok(*args),
            _ => Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand)),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once, alone on the last line.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        /// Sees and manages everything.
        #[arg(
            long,
            conflicts_with = "organization",
            required_unless_present = "organization"
        )]
        admin: bool,
        /// Limits the token to these organizations (repeatable).
        #[arg(long = "organization", value_name = "ID")]
        organization: Vec<i64>,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a token by name.
    Revoke {
        #[command(flatten)]
        db: DbArgs,
        name: String,
    },
}

/// `ferroacs replay`: one CWMP session per FILE, as the CPE that sent the captured Inform.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The ACS's CWMP URL, e.g. `http://127.0.0.1:7547/`.
    #[arg(long)]
    pub url: String,
    /// The CPE's username (with --password).
    #[arg(long)]
    pub username: Option<String>,
    /// The CPE's password (with --username).
    #[arg(long, env = "FERROACS_REPLAY_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// How to answer a 401: the strongest Digest offered, MD5 Digest, RFC 2069 Digest, Basic.
    #[arg(long, value_enum, default_value_t = ReplayAuth::Digest)]
    pub auth: ReplayAuth,
    /// Never send back the session cookie.
    #[arg(long)]
    pub no_cookies: bool,
    /// Open a new TCP connection for every request.
    #[arg(long)]
    pub new_connection: bool,
    /// Send Authorization only on the Inform, not on the later requests of a session.
    #[arg(long)]
    pub auth_only_on_inform: bool,
    /// Replace the value of every `*ManagementServer.ConnectionRequestURL` in the Inform.
    #[arg(long, value_name = "URL")]
    pub rewrite_connection_request_url: Option<String>,
    /// Extra root certificate (PEM) trusted for an https:// URL.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Captured Informs: raw XML, or HTTP request captures (headers, blank line, body).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Work the load generator queues for a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkKind {
    Settings,
    Reboot,
    Firmware,
}

/// `--auth` of `ferroacs replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayAuth {
    Digest,
    DigestMd5,
    Rfc2069,
    Basic,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The ACS's CWMP URL.
    #[arg(long, default_value = "http://127.0.0.1:7547/")]
    pub url: String,
    #[arg(long)]
    pub username: String,
    #[arg(long, env = "FERROACS_SIMULATE_PASSWORD", hide_env_values = true)]
    pub password: String,
    #[arg(long)]
    pub serial: String,
    /// `tr098`, `tr181`, or a GenieACS CSV export of a real device's parameter tree.
    #[arg(long, default_value = "tr098")]
    pub model: String,
    #[arg(long)]
    pub manufacturer: Option<String>,
    #[arg(long)]
    pub oui: Option<String>,
    #[arg(long)]
    pub product_class: Option<String>,
    #[arg(long)]
    pub software_version: Option<String>,
    /// Seconds between periodic Informs (default: the tree's PeriodicInformInterval, as the ACS
    /// sets it).
    #[arg(long)]
    pub periodic: Option<u64>,
    /// Stop after this many sessions (0: run until interrupted).
    #[arg(long, default_value_t = 0)]
    pub sessions: u64,
}

#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// The REST API base (for registering devices, queueing work and REST load).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    pub api: String,
    /// The CWMP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:7547/")]
    pub cwmp: String,
    /// An admin API token.
    #[arg(long, env = "FERROACS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Simulated CPEs (registered first, skipping those already there).
    #[arg(long, default_value_t = 10_000)]
    pub devices: u64,
    /// Concurrent sessions (one connection each).
    #[arg(long, default_value_t = 64)]
    pub cpes: u64,
    /// Seconds measured (after a one-second ramp).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Target sessions per second (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Share of sessions after which the connection is closed.
    #[arg(long, default_value_t = 0.0)]
    pub close_share: f64,
    /// Share of sessions that first queue work through the REST API (and must carry it).
    #[arg(long, default_value_t = 0.0)]
    pub work_share: f64,
    /// Kinds of work queued, picked at random per work session: a setting change, a reboot
    /// (confirmed by the CPE's `M Reboot` session), a firmware upgrade (the CPE fetches the
    /// image and reports a TransferComplete).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "settings,reboot,firmware"
    )]
    pub work_kinds: Vec<WorkKind>,
    /// REST requests per second alongside (list with filters, detail GETs, PATCHes).
    #[arg(long, default_value_t = 0.0)]
    pub rest_rate: f64,
    /// Parameters per Inform (10-50).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(10..=50))]
    pub params_count: u64,
    #[arg(skip)]
    pub params: usize,
    /// Serial-number prefix of the simulated devices.
    #[arg(long, default_value = "LG")]
    pub prefix: String,
    /// Password of every simulated device.
    #[arg(long, default_value = "loadgen-pw")]
    pub device_password: String,
    /// Organization to register the devices in (default: ones named "loadgen...").
    #[arg(long)]
    pub organization: Option<i64>,
    /// Spread the devices over this many organizations (created as loadgen-0, loadgen-1, ...).
    #[arg(long, default_value_t = 1)]
    pub organizations: u64,
    /// Skip the warm-up pass (one first session per device before measuring).
    #[arg(long = "no-warmup", action = clap::ArgAction::SetFalse)]
    pub warmup: bool,
    /// ferroacs's process id, to report its resident memory.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}
