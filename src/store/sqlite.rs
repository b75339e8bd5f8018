//! SQLite back end: the embedded default (one file, WAL, foreign keys on).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use super::Result;
use super::sql::sql_store;

pub struct SqliteStore {
    pub(crate) pool: Pool<Sqlite>,
    /// SQLite has one writer at a time; writers that collide sleep in its busy handler (a
    /// millisecond and more each). Queuing them here instead keeps writes back to back.
    write: tokio::sync::Mutex<()>,
}

impl SqliteStore {
    const BACKEND: &'static str = "sqlite";

    fn migrator() -> sqlx::migrate::Migrator {
        sqlx::migrate!("migrations/sqlite")
    }

    async fn write_lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        Some(self.write.lock().await)
    }

    /// SQLite's own advice on which statistics to refresh (ANALYZE of tables that grew or
    /// were never analyzed), under the write lock since it writes `sqlite_stat1`.
    async fn maintenance(&self) -> Result<Vec<String>> {
        let _write = self.write.lock().await;
        let mut conn = self.pool.acquire().await?;
        let before = Self::statistics(&mut conn).await;
        sqlx::query("PRAGMA optimize=0x10002")
            .execute(&mut *conn)
            .await?;
        let mut done: Vec<String> = Self::statistics(&mut conn)
            .await
            .into_iter()
            .filter(|s| !before.contains(s))
            .map(|(table, _)| table)
            .collect();
        done.dedup();
        Ok(done)
    }

    /// `sqlite_stat1` (absent before the first ANALYZE).
    async fn statistics(conn: &mut sqlx::SqliteConnection) -> Vec<(String, String)> {
        sqlx::query_as("SELECT tbl, stat FROM sqlite_stat1 ORDER BY tbl")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default()
    }

    pub async fn connect(url: &str) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose
            // the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        Ok(SqliteStore {
            pool,
            write: tokio::sync::Mutex::new(()),
        })
    }
}

sql_store!(SqliteStore, Sqlite, "group_concat(o.organization_id)", true);
