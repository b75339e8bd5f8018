//! PostgreSQL back end: for several ferroacs instances sharing one database.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

use super::Result;
use super::sql::sql_store;

pub struct PgStore {
    pub(crate) pool: Pool<Postgres>,
}

impl PgStore {
    const BACKEND: &'static str = "postgres";

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("migrations/postgres")
    }

    /// PostgreSQL takes concurrent writers (row locks): nothing to queue.
    async fn write_lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        None
    }

    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(PgStore { pool })
    }
}

sql_store!(
    PgStore,
    Postgres,
    "string_agg(o.organization_id::text, ',')",
    false
);
