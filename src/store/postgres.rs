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

    /// With autovacuum off (some managed and test servers) nothing refreshes the planner's
    /// statistics or the visibility map: after a bulk registration the device list then reads
    /// every heap page of an organization instead of its index (418 ms instead of 2 ms for a
    /// count over 10,000 of 1,000,000 devices). Done here for tables that changed by a fifth.
    async fn maintenance(&self) -> Result<Vec<String>> {
        const LOCK: i64 = 0x6665_7272_6f61_6373; // "ferroacs": one instance at a time
        let mut conn = self.pool.acquire().await?;
        let (autovacuum,): (String,) = sqlx::query_as("SELECT current_setting('autovacuum')")
            .fetch_one(&mut *conn)
            .await?;
        if autovacuum == "on" {
            return Ok(Vec::new());
        }
        let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Ok(Vec::new());
        }
        let result = async {
            let tables: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
                "SELECT relname::text, n_live_tup, n_mod_since_analyze, n_ins_since_vacuum, n_dead_tup \
                 FROM pg_stat_user_tables WHERE schemaname = current_schema()",
            )
            .fetch_all(&mut *conn)
            .await?;
            let mut done = Vec::new();
            for (table, live, modified, inserted, dead) in tables {
                let floor = live / 5 + 1000;
                if modified > floor || inserted > floor || dead > floor {
                    // VACUUM cannot be prepared: the simple query protocol.
                    let sql = format!("VACUUM (ANALYZE) \"{}\"", table.replace('"', "\"\""));
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *conn)
                        .await?;
                    done.push(table);
                }
            }
            Ok(done)
        }
        .await;
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK)
            .execute(&mut *conn)
            .await;
        result
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
