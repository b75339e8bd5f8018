//! Storage: one `Store` trait, implemented for SQLite (the embedded default) and PostgreSQL.
//!
//! Both implementations are generated from the same SQL by `sql_store!` (see `sql.rs`): the
//! schema keeps to types both back ends share (BIGINT, TEXT, BOOLEAN; timestamps as epoch
//! microseconds), so one body of queries serves both and one test suite covers both.

mod models;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use models::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A UNIQUE constraint refused the write; `column` names the field when it can be told.
    #[error("duplicate value for {column}")]
    Unique { column: String },
    /// A row is still referenced by others (or a reference points nowhere).
    #[error("referenced by other rows")]
    ForeignKey,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?} (expected sqlite:// or postgres://)")]
    BadUrl(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which rows a caller may see: everything (admin token) or some organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Orgs(Vec<i64>),
}

impl Scope {
    pub fn allows(&self, org: i64) -> bool {
        match self {
            Scope::All => true,
            Scope::Orgs(orgs) => orgs.contains(&org),
        }
    }
}

/// Tables written through the generic row operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Organizations,
    DeviceTypes,
    Locations,
    FirmwareImages,
    Devices,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Organizations => "organizations",
            Table::DeviceTypes => "device_types",
            Table::Locations => "locations",
            Table::FirmwareImages => "firmware_images",
            Table::Devices => "devices",
        }
    }

    /// The column that scopes a row to an organization, when the table has one.
    pub fn scope_column(self) -> Option<&'static str> {
        match self {
            Table::Organizations => Some("id"),
            Table::Locations | Table::Devices => Some("organization_id"),
            Table::DeviceTypes | Table::FirmwareImages => None,
        }
    }
}

/// A value bound into a generated INSERT/UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    /// `COALESCE(column, value)`: set only when the column is NULL (e.g. "requested since").
    IntIfNull(i64),
}

pub type Values = Vec<(&'static str, Val)>;

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    pub type_id: Option<i64>,
    pub status_up: Option<bool>,
    pub status_change_from: Option<i64>,
    pub organization: Option<i64>,
    pub has_pending: Option<bool>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> Result<()>;

    async fn insert(&self, table: Table, values: &Values) -> Result<i64>;
    /// Inserts rows in one transaction: all or none.
    async fn insert_many(&self, table: Table, rows: &[Values]) -> Result<Vec<i64>>;
    /// Which of these serial numbers some device already has, with that device's id.
    async fn existing_serials(&self, serials: &[String]) -> Result<Vec<(String, i64)>>;
    /// Updates a row inside `scope`; false when no such row is visible.
    async fn update(&self, table: Table, id: i64, scope: &Scope, values: &Values) -> Result<bool>;
    async fn delete(&self, table: Table, id: i64, scope: &Scope) -> Result<bool>;

    async fn list_organizations(
        &self,
        scope: &Scope,
        page: Page,
    ) -> Result<(i64, Vec<Organization>)>;
    async fn get_organization(&self, id: i64, scope: &Scope) -> Result<Option<Organization>>;
    async fn list_device_types(&self, page: Page) -> Result<(i64, Vec<DeviceType>)>;
    async fn get_device_type(&self, id: i64) -> Result<Option<DeviceType>>;
    async fn list_locations(&self, scope: &Scope, page: Page) -> Result<(i64, Vec<Location>)>;
    async fn get_location(&self, id: i64, scope: &Scope) -> Result<Option<Location>>;
    async fn list_firmware_images(&self, page: Page) -> Result<(i64, Vec<FirmwareImage>)>;
    async fn get_firmware_image(&self, id: i64) -> Result<Option<FirmwareImage>>;

    async fn list_devices(
        &self,
        filter: &DeviceFilter,
        scope: &Scope,
        page: Page,
    ) -> Result<(i64, Vec<Device>)>;
    async fn get_device(&self, id: i64, scope: &Scope) -> Result<Option<Device>>;
    /// The id of the device with this serial number, in any organization.
    async fn device_id_by_serial(&self, serial: &str) -> Result<Option<i64>>;
    /// Marks Down the given devices whose last contact is older than their allowed silence.
    async fn refresh_status(
        &self,
        ids: &[i64],
        now: i64,
        default_interval_s: i64,
        grace_factor: i64,
    ) -> Result<u64>;

    /// CWMP: the device a username authenticates, and the device with a serial number.
    async fn cwmp_device_by_username(&self, username: &str) -> Result<Option<CwmpDevice>>;
    async fn cwmp_device_by_serial(&self, serial: &str) -> Result<Option<CwmpDevice>>;
    /// Applies CWMP writes in one transaction; returns each device's fresh state, or `None`
    /// where the device is gone or its credentials changed (nothing written for it).
    async fn apply_cwmp_writes(&self, writes: &[InformWrite]) -> Result<Vec<Option<CwmpDevice>>>;
    /// Housekeeping the database would otherwise lack: planner statistics, and on PostgreSQL
    /// without autovacuum the visibility map that index-only scans need. Returns the tables it
    /// maintained. Safe to call from several instances at once.
    async fn maintain(&self) -> Result<Vec<String>>;
    /// Marks Down up to `limit` Up devices silent for `factor` Inform intervals; returns how many.
    async fn sweep_down(
        &self,
        now: i64,
        default_interval_s: i64,
        factor: i64,
        limit: i64,
    ) -> Result<u64>;
    async fn list_parameters(
        &self,
        device_id: i64,
        prefix: &str,
        page: Page,
    ) -> Result<(i64, Vec<DeviceParameter>)>;
    /// A device type matching a CPE's manufacturer and product class, created when missing.
    async fn device_type_for(&self, manufacturer: &str, product_class: &str) -> Result<i64>;

    /// Progress rows of the given devices' pending items.
    async fn ops_for(&self, device_ids: &[i64]) -> Result<Vec<OpRow>>;
    async fn plan_data(&self, device_id: i64) -> Result<PlanData>;
    /// Records that an item's request is being sent (attempt counted, command key kept).
    async fn op_sent(
        &self,
        device_id: i64,
        item: &str,
        command_key: Option<&str>,
        now: i64,
    ) -> Result<()>;
    /// Records a fault; `next_attempt` None with `gave_up` stops retrying.
    async fn op_fault(
        &self,
        device_id: i64,
        item: &str,
        fault: &str,
        next_attempt: Option<i64>,
        gave_up: bool,
    ) -> Result<()>;
    /// A settings-like item confirmed by the CPE: remembers the hash and the values set;
    /// `settings_done` (no other setting group pending) settles the device's settings too.
    async fn op_confirmed(
        &self,
        device_id: i64,
        item: &str,
        hash: &str,
        params: &[ParamWrite],
        now: i64,
        settings_done: bool,
    ) -> Result<()>;
    /// An operation finished: its row goes and the device's flag clears.
    async fn op_done(&self, device_id: i64, item: &str, now: i64) -> Result<()>;
    /// Closes the firmware download with this command key; false when none matches.
    async fn transfer_complete(
        &self,
        device_id: i64,
        command_key: &str,
        fault: Option<&str>,
        now: i64,
    ) -> Result<bool>;
    /// Records downloads never confirmed within `timeout_us` as failed; returns how many.
    async fn expire_downloads(&self, now: i64, timeout_us: i64) -> Result<u64>;
    /// Stores whether settings are pending; when none are, the device counts as configured
    /// (its first configuration is done).
    async fn set_settings_pending(&self, device_id: i64, pending: bool, now: i64) -> Result<()>;
    /// After a device type's settings changed: its devices may have something pending.
    async fn mark_type_settings_pending(&self, type_id: i64) -> Result<u64>;
    /// Stores a whole discovered tree (values not seen in it are dropped).
    async fn store_tree(&self, device_id: i64, params: &[ParamWrite], now: i64) -> Result<()>;
    async fn save_session_log(
        &self,
        device_id: i64,
        started: i64,
        ended: i64,
        transcript: &str,
        keep: i64,
    ) -> Result<()>;
    async fn list_session_logs(&self, device_id: i64, page: Page)
    -> Result<(i64, Vec<SessionLog>)>;
    /// A named secret shared by every instance, generated on first use.
    async fn secret(&self, name: &str, fresh: &str) -> Result<String>;
    /// Ids of the devices a filter selects in a scope (bulk operations), at most `limit`.
    async fn device_ids(
        &self,
        filter: &DeviceFilter,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<i64>>;
    /// Connection-request bookkeeping; `up` also marks the device Up (it answered).
    async fn record_connection_request(
        &self,
        device_id: i64,
        now: i64,
        result: &str,
        up: bool,
    ) -> Result<()>;

    /// Forgets an item's progress (a new request, or a cancelled one).
    async fn op_reset(&self, device_id: i64, item: &str) -> Result<()>;
    /// Clears the fault state of setting groups (their desired values changed), for one device
    /// or every device of a type.
    async fn reset_settings_faults(
        &self,
        device_id: Option<i64>,
        type_id: Option<i64>,
    ) -> Result<()>;
    /// Applies the same column values to many devices inside `scope`; returns how many changed.
    async fn update_devices(&self, ids: &[i64], scope: &Scope, values: &Values) -> Result<u64>;

    async fn create_token(
        &self,
        name: &str,
        token_hash: &str,
        admin: bool,
        orgs: &[i64],
    ) -> Result<i64>;
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    async fn revoke_token(&self, name: &str, now: i64) -> Result<bool>;
    async fn find_token(&self, token_hash: &str) -> Result<Option<ApiToken>>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens (creating a SQLite file when needed) the store a database URL names.
pub async fn open(url: &str) -> Result<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::BadUrl(url.to_string()))
    }
}
