//! The SQL shared by both back ends, and the macro that turns it into a `Store` implementation
//! for a concrete sqlx database type.

use super::{DeviceFilter, InformWrite, ParamWrite, Scope, StoreError, Val};

/// SQL text with `$n` placeholders (both SQLite and PostgreSQL accept them) and its arguments.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Val>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `v`.
    pub fn arg(&mut self, v: Val) -> &mut Self {
        self.args.push(v);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// `AND <column> IN (...)` for a scoped caller; nothing for `Scope::All`.
    pub fn scope(&mut self, column: &str, scope: &Scope) -> &mut Self {
        if let Scope::Orgs(orgs) = scope {
            if orgs.is_empty() {
                self.push(" AND 1 = 0");
            } else {
                self.push(" AND ").push(column).push(" IN (");
                for (i, org) in orgs.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.arg(Val::Int(Some(*org)));
                }
                self.push(")");
            }
        }
        self
    }

    pub fn id_list(&mut self, column: &str, ids: &[i64]) -> &mut Self {
        self.push(column).push(" IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.arg(Val::Int(Some(*id)));
        }
        self.push(")");
        self
    }

    /// The WHERE clause (starting with `WHERE 1 = 1`) of a device list.
    pub fn device_where(filter: &DeviceFilter, scope: &Scope) -> Sql {
        let mut sql = Sql::new(" WHERE 1 = 1");
        sql.scope("d.organization_id", scope);
        if let Some(t) = filter.type_id {
            sql.push(" AND d.type_id = ").arg(Val::Int(Some(t)));
        }
        if let Some(up) = filter.status_up {
            sql.push(" AND d.status_up = ").arg(Val::Bool(up));
        }
        if let Some(from) = filter.status_change_from {
            sql.push(" AND d.status_change >= ")
                .arg(Val::Int(Some(from)));
        }
        if let Some(org) = filter.organization {
            sql.push(" AND d.organization_id = ")
                .arg(Val::Int(Some(org)));
        }
        if let Some(pending) = filter.has_pending {
            let cond = "(d.last_configuration IS NULL OR d.reboot_requested IS NOT NULL \
                 OR d.factory_requested IS NOT NULL OR d.sync_requested IS NOT NULL \
                 OR d.firmware_image_is_pending = TRUE OR d.settings_pending = TRUE \
                 OR (d.update_frequency IS NOT NULL AND d.update_frequency <> COALESCE(d.periodic_inform_interval, 0)))";
            sql.push(if pending { " AND " } else { " AND NOT " })
                .push(cond);
        }
        sql
    }

    /// `AND <silent>`: an Up device whose last Inform is older than `factor` intervals.
    pub fn silent(&mut self, now: i64, default_interval_s: i64, factor: i64) -> &mut Self {
        self.push(" AND status_up = TRUE AND (last_connection IS NULL OR last_connection < ");
        self.arg(Val::Int(Some(now)));
        self.push(" - COALESCE(update_frequency, periodic_inform_interval, ");
        self.arg(Val::Int(Some(default_interval_s)));
        self.push(") * ");
        self.arg(Val::Int(Some(factor * 1_000_000)));
        self.push(")")
    }

    /// The batched UPDATE of `apply_cwmp_writes`: one statement for many devices. With
    /// `keep_status` the status columns are not assigned — assigning even an unchanged value
    /// rewrites every index on them (on SQLite: 43 -> 27 us per row at 10,000 devices) — and a
    /// contact row applies only to a device that is Up already.
    pub fn cwmp_update(writes: &[&InformWrite], keep_status: bool) -> Sql {
        let mut sql = Sql::new(if keep_status {
            "UPDATE devices SET "
        } else {
            "UPDATE devices SET \
             status_up = CASE WHEN v.column17 = 1 THEN TRUE ELSE devices.status_up END, \
             status_change = CASE WHEN v.column17 = 1 AND NOT devices.status_up THEN v.column3 ELSE devices.status_change END, "
        });
        sql.push(
            "last_connection = CASE WHEN v.column17 = 1 THEN v.column3 ELSE devices.last_connection END, \
             address = COALESCE(v.column4, devices.address), \
             manufacturer = COALESCE(v.column5, devices.manufacturer), \
             oui = COALESCE(v.column6, devices.oui), \
             product_class = COALESCE(v.column7, devices.product_class), \
             unique_identifier = COALESCE(v.column8, devices.unique_identifier), \
             software_version = COALESCE(v.column9, devices.software_version), \
             hardware_version = COALESCE(v.column10, devices.hardware_version), \
             connection_request_url = COALESCE(v.column11, devices.connection_request_url), \
             periodic_inform_interval = COALESCE(v.column12, devices.periodic_inform_interval), \
             data_model = COALESCE(v.column13, devices.data_model), \
             last_inform_events = COALESCE(v.column14, devices.last_inform_events), \
             inform_params_hash = COALESCE(v.column15, devices.inform_params_hash), \
             cwmp_version = COALESCE(v.column16, devices.cwmp_version) \
             FROM (VALUES ",
        );
        // Padded to a few fixed sizes with rows that match nothing (id -1): the database keeps
        // a handful of prepared statements instead of one per batch size (each one large).
        let padded = [1usize, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
            .into_iter()
            .find(|n| *n >= writes.len())
            .unwrap_or(writes.len());
        let filler = InformWrite {
            device_id: -1,
            ..InformWrite::default()
        };
        let rows = writes
            .iter()
            .copied()
            .chain(std::iter::repeat_n(&filler, padded - writes.len()));
        for (i, w) in rows.enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let text = |s: &Option<String>| Val::Text(s.clone());
            let cols: [(Val, &str); 18] = [
                (Val::Int(Some(w.device_id)), "BIGINT"),
                (Val::Text(Some(w.cred_tag.clone())), "TEXT"),
                (Val::Int(Some(w.now)), "BIGINT"),
                (text(&w.address), "TEXT"),
                (text(&w.manufacturer), "TEXT"),
                (text(&w.oui), "TEXT"),
                (text(&w.product_class), "TEXT"),
                (text(&w.unique_identifier), "TEXT"),
                (text(&w.software_version), "TEXT"),
                (text(&w.hardware_version), "TEXT"),
                (text(&w.connection_request_url), "TEXT"),
                (Val::Int(w.periodic_inform_interval), "BIGINT"),
                (text(&w.data_model), "TEXT"),
                (text(&w.events), "TEXT"),
                (text(&w.params_hash), "TEXT"),
                (text(&w.cwmp_version), "TEXT"),
                (Val::Int(Some(i64::from(w.contact))), "BIGINT"),
                (text(&w.params_hash_seen), "TEXT"),
            ];
            sql.push("(");
            for (j, (v, ty)) in cols.into_iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.push("CAST(").arg(v).push(" AS ").push(ty).push(")");
            }
            sql.push(")");
        }
        sql.push(
            ") AS v WHERE devices.id = v.column1 AND COALESCE(devices.ha1_sha256, '') = v.column2 \
             AND (v.column18 IS NULL OR devices.inform_params_hash = v.column18)",
        );
        if keep_status {
            sql.push(" AND (v.column17 = 0 OR devices.status_up)");
        }
        sql.push(" RETURNING ");
        sql.push(super::models::CWMP_COLUMNS);
        sql
    }

    /// A multi-row upsert of reported parameter values.
    pub fn parameter_upsert(rows: &[(i64, &ParamWrite)], now: i64) -> Sql {
        let mut sql = Sql::new(
            "INSERT INTO device_parameters (device_id, name, value, xsd_type, writable, updated) VALUES ",
        );
        for (i, (device, p)) in rows.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").arg(Val::Int(Some(*device))).push(", ");
            sql.arg(Val::Text(Some(p.name.clone()))).push(", ");
            // Secrets are never stored; the group's confirmation hash records that they were set.
            let value = if crate::settings::is_secret(&p.name) {
                String::new()
            } else {
                p.value.clone()
            };
            sql.arg(Val::Text(Some(value))).push(", ");
            sql.arg(Val::Text(p.xsd_type.clone())).push(", ");
            match p.writable {
                Some(b) => sql.arg(Val::Bool(b)),
                None => sql.push("NULL"),
            };
            sql.push(", ").arg(Val::Int(Some(now))).push(")");
        }
        sql.push(
            " ON CONFLICT (device_id, name) DO UPDATE SET value = excluded.value, \
             xsd_type = COALESCE(excluded.xsd_type, device_parameters.xsd_type), \
             writable = COALESCE(excluded.writable, device_parameters.writable), updated = excluded.updated",
        );
        sql
    }

    pub fn insert(table: &str, values: &[(&'static str, Val)]) -> Sql {
        let mut sql = Sql::new("INSERT INTO ");
        sql.push(table).push(" (");
        for (i, (col, _)) in values.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(col);
        }
        sql.push(") VALUES (");
        for (i, (_, v)) in values.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let v = match v {
                Val::IntIfNull(x) => Val::Int(Some(*x)),
                other => other.clone(),
            };
            sql.arg(v);
        }
        sql.push(") RETURNING id");
        sql
    }

    pub fn update(
        table: &str,
        id: i64,
        scope_col: Option<&str>,
        scope: &Scope,
        values: &[(&'static str, Val)],
    ) -> Sql {
        let mut sql = Sql::new("UPDATE ");
        sql.push(table).push(" SET ");
        for (i, (col, v)) in values.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(col).push(" = ");
            match v {
                Val::IntIfNull(x) => {
                    sql.push("COALESCE(").push(col).push(", ");
                    sql.arg(Val::Int(Some(*x))).push(")");
                }
                other => {
                    sql.arg(other.clone());
                }
            }
        }
        sql.push(" WHERE id = ").arg(Val::Int(Some(id)));
        if let Some(col) = scope_col {
            sql.scope(col, scope);
        }
        sql
    }
}

/// Splits rows into chunks of a few fixed sizes (1024, 256, 64, 16, 4, 1), so multi-row
/// statements come in a handful of shapes the database can keep prepared.
pub(crate) fn bucketed<T>(mut items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    for size in [1024usize, 256, 64, 16, 4, 1] {
        while items.len() >= size {
            let (head, tail) = items.split_at(size);
            out.push(head);
            items = tail;
        }
    }
    out
}

/// Tells unique and foreign-key violations apart from other database failures.
pub(crate) fn classify(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                let hint = format!("{} {}", db.constraint().unwrap_or(""), db.message());
                let column = ["serial_number", "username", "token_hash", "uuid", "name"]
                    .into_iter()
                    .find(|c| hint.contains(c))
                    .unwrap_or("unknown");
                return StoreError::Unique {
                    column: column.to_string(),
                };
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => return StoreError::ForeignKey,
            // SQLite reports foreign-key failures with a generic constraint code.
            _ if db.message().contains("FOREIGN KEY constraint failed") => {
                return StoreError::ForeignKey;
            }
            _ => {}
        }
    }
    StoreError::Db(err)
}

/// Generates `impl Store for $store` over `sqlx::Pool<$db>` with `$agg` as the SQL that joins a
/// token's organization ids into one comma-separated string.
/// SQLite binds `$N` parameters by name, and looking a name up scans the statement's parameter
/// list: binding a batch of thousands of parameters is quadratic. Anonymous `?` parameters are
/// bound by position; the builder numbers its parameters in order of appearance, so they map 1:1.
pub(crate) fn positional(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            while chars.peek().is_some_and(|n| n.is_ascii_digit()) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! sql_store {
    ($store:ident, $db:ty, $agg:expr, $positional:expr) => {
        impl $store {
            fn query_as<'q, T>(sql: &'q $crate::store::sql::Sql) -> sqlx::query::QueryAs<'q, $db, T, <$db as sqlx::Database>::Arguments>
            where
                T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>,
            {
                let text = if $positional { $crate::store::sql::positional(&sql.text) } else { sql.text.clone() };
                let mut q = sqlx::query_as::<$db, T>(sqlx::AssertSqlSafe(text));
                for v in &sql.args {
                    q = match v {
                        $crate::store::Val::Int(i) => q.bind(*i),
                        $crate::store::Val::IntIfNull(i) => q.bind(*i),
                        $crate::store::Val::Text(s) => q.bind(s.as_deref()),
                        $crate::store::Val::Bool(b) => q.bind(*b),
                    };
                }
                q
            }

            fn query<'q>(sql: &'q $crate::store::sql::Sql) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                let text = if $positional { $crate::store::sql::positional(&sql.text) } else { sql.text.clone() };
                let mut q = sqlx::query::<$db>(sqlx::AssertSqlSafe(text));
                for v in &sql.args {
                    q = match v {
                        $crate::store::Val::Int(i) => q.bind(*i),
                        $crate::store::Val::IntIfNull(i) => q.bind(*i),
                        $crate::store::Val::Text(s) => q.bind(s.as_deref()),
                        $crate::store::Val::Bool(b) => q.bind(*b),
                    };
                }
                q
            }

            async fn fetch_page<T>(&self, from_where: $crate::store::sql::Sql, columns: &str, order: &str, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<T>)>
            where
                T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
            {
                let mut count = $crate::store::sql::Sql::new("SELECT COUNT(*) FROM ");
                count.push(&from_where.text);
                count.args = from_where.args.clone();
                let (total,): (i64,) = Self::query_as(&count).fetch_one(&self.pool).await?;
                let mut rows = $crate::store::sql::Sql::new("SELECT ");
                rows.push(columns).push(" FROM ").push(&from_where.text);
                rows.args = from_where.args;
                rows.push(" ORDER BY ").push(order).push(" LIMIT ");
                rows.arg($crate::store::Val::Int(Some(page.limit)));
                rows.push(" OFFSET ").arg($crate::store::Val::Int(Some(page.offset)));
                let items = Self::query_as::<T>(&rows).fetch_all(&self.pool).await?;
                Ok((total, items))
            }

            async fn fetch_by_id<T>(&self, table: &str, id: i64, scope_col: Option<&str>, scope: &$crate::store::Scope) -> $crate::store::Result<Option<T>>
            where
                T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
            {
                let mut sql = $crate::store::sql::Sql::new("SELECT * FROM ");
                sql.push(table).push(" WHERE id = ").arg($crate::store::Val::Int(Some(id)));
                if let Some(col) = scope_col {
                    sql.scope(col, scope);
                }
                Ok(Self::query_as::<T>(&sql).fetch_optional(&self.pool).await?)
            }

            fn table_page(table: &str, scope_col: Option<&str>, scope: &$crate::store::Scope) -> $crate::store::sql::Sql {
                let mut sql = $crate::store::sql::Sql::new(table);
                sql.push(" WHERE 1 = 1");
                if let Some(col) = scope_col {
                    sql.scope(col, scope);
                }
                sql
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn migrate(&self) -> $crate::store::Result<()> {
                Self::migrator().run(&self.pool).await?;
                Ok(())
            }

            async fn insert(&self, table: $crate::store::Table, values: &$crate::store::Values) -> $crate::store::Result<i64> {
                let _write = self.write_lock().await;
                let sql = $crate::store::sql::Sql::insert(table.name(), values);
                let (id,): (i64,) = Self::query_as(&sql)
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::store::sql::classify)?;
                Ok(id)
            }

            async fn insert_many(&self, table: $crate::store::Table, rows: &[$crate::store::Values]) -> $crate::store::Result<Vec<i64>> {
                let _write = self.write_lock().await;
                let mut tx = self.pool.begin().await?;
                let mut ids = Vec::with_capacity(rows.len());
                for values in rows {
                    let sql = $crate::store::sql::Sql::insert(table.name(), values);
                    let (id,): (i64,) = Self::query_as(&sql)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::store::sql::classify)?;
                    ids.push(id);
                }
                tx.commit().await?;
                Ok(ids)
            }

            async fn existing_serials(&self, serials: &[String]) -> $crate::store::Result<Vec<(String, i64)>> {
                let mut found = Vec::new();
                for chunk in serials.chunks(1000) {
                    let mut sql = $crate::store::sql::Sql::new("SELECT serial_number, id FROM devices WHERE serial_number IN (");
                    for (i, s) in chunk.iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.arg($crate::store::Val::Text(Some(s.clone())));
                    }
                    sql.push(")");
                    let rows: Vec<(String, i64)> = Self::query_as(&sql).fetch_all(&self.pool).await?;
                    found.extend(rows);
                }
                Ok(found)
            }

            async fn update(&self, table: $crate::store::Table, id: i64, scope: &$crate::store::Scope, values: &$crate::store::Values) -> $crate::store::Result<bool> {
                let _write = self.write_lock().await;
                if values.is_empty() {
                    return self.fetch_by_id::<(i64,)>(table.name(), id, table.scope_column(), scope).await.map(|r| r.is_some());
                }
                let sql = $crate::store::sql::Sql::update(table.name(), id, table.scope_column(), scope, values);
                let done = Self::query(&sql)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::store::sql::classify)?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete(&self, table: $crate::store::Table, id: i64, scope: &$crate::store::Scope) -> $crate::store::Result<bool> {
                let _write = self.write_lock().await;
                let mut sql = $crate::store::sql::Sql::new("DELETE FROM ");
                sql.push(table.name()).push(" WHERE id = ").arg($crate::store::Val::Int(Some(id)));
                if let Some(col) = table.scope_column() {
                    sql.scope(col, scope);
                }
                let done = Self::query(&sql)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::store::sql::classify)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_organizations(&self, scope: &$crate::store::Scope, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<$crate::store::Organization>)> {
                self.fetch_page(Self::table_page("organizations", Some("id"), scope), "*", "id", page).await
            }

            async fn get_organization(&self, id: i64, scope: &$crate::store::Scope) -> $crate::store::Result<Option<$crate::store::Organization>> {
                self.fetch_by_id("organizations", id, Some("id"), scope).await
            }

            async fn list_device_types(&self, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<$crate::store::DeviceType>)> {
                self.fetch_page(Self::table_page("device_types", None, &$crate::store::Scope::All), "*", "id", page).await
            }

            async fn get_device_type(&self, id: i64) -> $crate::store::Result<Option<$crate::store::DeviceType>> {
                self.fetch_by_id("device_types", id, None, &$crate::store::Scope::All).await
            }

            async fn list_locations(&self, scope: &$crate::store::Scope, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<$crate::store::Location>)> {
                self.fetch_page(Self::table_page("locations", Some("organization_id"), scope), "*", "id", page).await
            }

            async fn get_location(&self, id: i64, scope: &$crate::store::Scope) -> $crate::store::Result<Option<$crate::store::Location>> {
                self.fetch_by_id("locations", id, Some("organization_id"), scope).await
            }

            async fn list_firmware_images(&self, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<$crate::store::FirmwareImage>)> {
                self.fetch_page(Self::table_page("firmware_images", None, &$crate::store::Scope::All), "*", "id", page).await
            }

            async fn get_firmware_image(&self, id: i64) -> $crate::store::Result<Option<$crate::store::FirmwareImage>> {
                self.fetch_by_id("firmware_images", id, None, &$crate::store::Scope::All).await
            }

            async fn list_devices(&self, filter: &$crate::store::DeviceFilter, scope: &$crate::store::Scope, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<$crate::store::Device>)> {
                let cond = $crate::store::sql::Sql::device_where(filter, scope);
                // Count and page over the bare table so the filter indexes cover them; join the
                // type and location names only for the page's rows (a deep OFFSET then skips
                // index entries, not joined rows).
                let mut count = $crate::store::sql::Sql::new("SELECT COUNT(*) FROM devices d");
                count.push(&cond.text);
                count.args = cond.args.clone();
                let (total,): (i64,) = Self::query_as(&count).fetch_one(&self.pool).await?;
                let mut rows = $crate::store::sql::Sql::new("SELECT ");
                rows.push($crate::store::models::DEVICE_COLUMNS)
                    .push(" FROM ")
                    .push($crate::store::models::DEVICE_FROM)
                    .push(" WHERE d.id IN (SELECT d.id FROM devices d")
                    .push(&cond.text);
                rows.args = cond.args;
                rows.push(" ORDER BY d.id LIMIT ").arg($crate::store::Val::Int(Some(page.limit)));
                rows.push(" OFFSET ").arg($crate::store::Val::Int(Some(page.offset)));
                rows.push(") ORDER BY d.id");
                let items = Self::query_as(&rows).fetch_all(&self.pool).await?;
                Ok((total, items))
            }

            async fn get_device(&self, id: i64, scope: &$crate::store::Scope) -> $crate::store::Result<Option<$crate::store::Device>> {
                let mut sql = $crate::store::sql::Sql::new("SELECT ");
                sql.push($crate::store::models::DEVICE_COLUMNS)
                    .push(" FROM ")
                    .push($crate::store::models::DEVICE_FROM)
                    .push(" WHERE d.id = ")
                    .arg($crate::store::Val::Int(Some(id)));
                sql.scope("d.organization_id", scope);
                Ok(Self::query_as(&sql).fetch_optional(&self.pool).await?)
            }

            async fn device_id_by_serial(&self, serial: &str) -> $crate::store::Result<Option<i64>> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM devices WHERE serial_number = $1")
                    .bind(serial)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.0))
            }

            async fn refresh_status(&self, ids: &[i64], now: i64, default_interval_s: i64, grace_factor: i64) -> $crate::store::Result<u64> {
                let _write = self.write_lock().await;
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut sql = $crate::store::sql::Sql::new("UPDATE devices SET status_up = FALSE, status_change = ");
                sql.arg($crate::store::Val::Int(Some(now)));
                sql.push(" WHERE 1 = 1");
                sql.silent(now, default_interval_s, grace_factor);
                sql.push(" AND ");
                sql.id_list("id", ids);
                Ok(Self::query(&sql).execute(&self.pool).await?.rows_affected())
            }

            async fn maintain(&self) -> $crate::store::Result<Vec<String>> {
                self.maintenance().await
            }

            async fn sweep_down(&self, now: i64, default_interval_s: i64, factor: i64, limit: i64) -> $crate::store::Result<u64> {
                // The candidates are read outside the write lock: finding them scans every Up
                // device (the threshold is each device's own interval), which at a million
                // devices would hold up every CWMP write on SQLite.
                let mut find = $crate::store::sql::Sql::new("SELECT id FROM devices WHERE 1 = 1");
                find.silent(now, default_interval_s, factor);
                find.push(" LIMIT ").arg($crate::store::Val::Int(Some(limit)));
                let ids: Vec<(i64,)> = Self::query_as(&find).fetch_all(&self.pool).await?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
                let _write = self.write_lock().await;
                // The condition is checked again: a device that informed since stays Up, and
                // instances sweeping the same rows at once flip each device (and move its
                // status_change) only once.
                let mut sql = $crate::store::sql::Sql::new("UPDATE devices SET status_up = FALSE, status_change = ");
                sql.arg($crate::store::Val::Int(Some(now)));
                sql.push(" WHERE ").id_list("id", &ids);
                sql.silent(now, default_interval_s, factor);
                Ok(Self::query(&sql).execute(&self.pool).await?.rows_affected())
            }

            async fn cwmp_device_by_username(&self, username: &str) -> $crate::store::Result<Option<$crate::store::CwmpDevice>> {
                let sql = format!("SELECT {} FROM devices WHERE username = $1", $crate::store::models::CWMP_COLUMNS);
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(&self.pool).await?)
            }

            async fn cwmp_device_by_serial(&self, serial: &str) -> $crate::store::Result<Option<$crate::store::CwmpDevice>> {
                let sql = format!("SELECT {} FROM devices WHERE serial_number = $1", $crate::store::models::CWMP_COLUMNS);
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(serial).fetch_optional(&self.pool).await?)
            }

            async fn apply_cwmp_writes(&self, writes: &[$crate::store::InformWrite]) -> $crate::store::Result<Vec<Option<$crate::store::CwmpDevice>>> {
                let _write = self.write_lock().await;
                if writes.is_empty() {
                    return Ok(Vec::new());
                }
                // The common case — periodic Informs of distinct devices with nothing else to
                // record — is one statement: no explicit transaction, one round trip.
                let simple = writes.len() <= 256
                    && writes.iter().all(|w| w.fill_serial.is_none() && !w.bootstrap && !w.booted && w.params.is_empty())
                    && writes.iter().map(|w| w.device_id).collect::<std::collections::HashSet<_>>().len() == writes.len();
                if simple {
                    // Devices known Up first (the status columns untouched); contacts of devices
                    // the database has Down after all (the sweep marked them), and of devices
                    // not known Up, get the full statement.
                    let (cheap, mut full): (Vec<&$crate::store::InformWrite>, Vec<&$crate::store::InformWrite>) =
                        writes.iter().partition(|w| w.known_up || !w.contact);
                    let update = async |batch: &[&$crate::store::InformWrite], keep_status: bool| -> $crate::store::Result<Vec<$crate::store::CwmpDevice>> {
                        let sql = $crate::store::sql::Sql::cwmp_update(batch, keep_status);
                        Self::query_as(&sql).fetch_all(&self.pool).await.map_err($crate::store::sql::classify)
                    };
                    let mut by_id: std::collections::HashMap<i64, $crate::store::CwmpDevice> = std::collections::HashMap::with_capacity(writes.len());
                    if !cheap.is_empty() {
                        by_id.extend(update(&cheap, true).await?.into_iter().map(|r| (r.id, r)));
                        full.extend(cheap.into_iter().filter(|w| w.contact && !by_id.contains_key(&w.device_id)));
                    }
                    if !full.is_empty() {
                        by_id.extend(update(&full, false).await?.into_iter().map(|r| (r.id, r)));
                    }
                    return Ok(writes.iter().map(|w| by_id.remove(&w.device_id)).collect());
                }
                let mut tx = self.pool.begin().await?;
                for w in writes {
                    if let Some(serial) = &w.fill_serial {
                        sqlx::query(
                            "UPDATE devices SET serial_number = $1 WHERE id = $2 AND serial_number IS NULL \
                             AND NOT EXISTS (SELECT 1 FROM devices d2 WHERE d2.serial_number = $1)",
                        )
                        .bind(serial)
                        .bind(w.device_id)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::store::sql::classify)?;
                    }
                }
                for w in writes {
                    if w.bootstrap {
                        // The CPE lost its configuration: what it held is unknown again.
                        sqlx::query("DELETE FROM device_parameters WHERE device_id = $1 AND EXISTS (SELECT 1 FROM devices WHERE id = $1 AND COALESCE(ha1_sha256, '') = $2)")
                            .bind(w.device_id).bind(&w.cred_tag).execute(&mut *tx).await?;
                        sqlx::query("UPDATE device_ops SET confirmed_hash = NULL, confirmed_at = NULL WHERE device_id = $1")
                            .bind(w.device_id).execute(&mut *tx).await?;
                        sqlx::query("UPDATE devices SET cr_configured = FALSE, settings_pending = TRUE, inform_params_hash = NULL, \
                                     factory_requested = CASE WHEN EXISTS (SELECT 1 FROM device_ops o WHERE o.device_id = devices.id AND o.item = 'factory_reset' AND o.sent_at IS NOT NULL) THEN NULL ELSE factory_requested END \
                                     WHERE id = $1 AND COALESCE(ha1_sha256, '') = $2")
                            .bind(w.device_id).bind(&w.cred_tag).execute(&mut *tx).await?;
                        sqlx::query("DELETE FROM device_ops WHERE device_id = $1 AND item = 'factory_reset' AND sent_at IS NOT NULL")
                            .bind(w.device_id).execute(&mut *tx).await?;
                    }
                    if w.booted || w.bootstrap {
                        sqlx::query("UPDATE devices SET reboot_requested = NULL WHERE id = $1 AND EXISTS \
                                     (SELECT 1 FROM device_ops o WHERE o.device_id = $1 AND o.item = 'reboot' AND o.sent_at IS NOT NULL)")
                            .bind(w.device_id).execute(&mut *tx).await?;
                        sqlx::query("DELETE FROM device_ops WHERE device_id = $1 AND item = 'reboot' AND sent_at IS NOT NULL")
                            .bind(w.device_id).execute(&mut *tx).await?;
                    }
                }
                let mut fresh: Vec<Option<$crate::store::CwmpDevice>> = vec![None; writes.len()];
                // One UPDATE per chunk; a device appears once per chunk (UPDATE ... FROM applies one
                // source row per target row).
                let mut pending: Vec<usize> = (0..writes.len()).collect();
                while !pending.is_empty() {
                    let mut seen = std::collections::HashSet::new();
                    let mut chunk = Vec::new();
                    let mut rest = Vec::new();
                    for i in pending {
                        if chunk.len() < 256 && seen.insert(writes[i].device_id) {
                            chunk.push(i);
                        } else {
                            rest.push(i);
                        }
                    }
                    let refs: Vec<&$crate::store::InformWrite> = chunk.iter().map(|i| &writes[*i]).collect();
                    let sql = $crate::store::sql::Sql::cwmp_update(&refs, false);
                    let rows: Vec<$crate::store::CwmpDevice> = Self::query_as(&sql)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err($crate::store::sql::classify)?;
                    for row in rows {
                        for i in &chunk {
                            if writes[*i].device_id == row.id {
                                fresh[*i] = Some(row.clone());
                            }
                        }
                    }
                    pending = rest;
                }
                let mut params: Vec<(i64, &$crate::store::ParamWrite)> = Vec::new();
                let mut now = 0;
                for (w, f) in writes.iter().zip(&fresh) {
                    if f.is_some() {
                        now = now.max(w.now);
                        params.extend(w.params.iter().map(|p| (w.device_id, p)));
                    }
                }
                // Last value wins for a name reported twice (an upsert may touch a row once).
                let mut index = std::collections::HashMap::new();
                let mut unique: Vec<(i64, &$crate::store::ParamWrite)> = Vec::with_capacity(params.len());
                for (dev, p) in params {
                    match index.entry((dev, p.name.as_str())) {
                        std::collections::hash_map::Entry::Occupied(e) => unique[*e.get()] = (dev, p),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(unique.len());
                            unique.push((dev, p));
                        }
                    }
                }
                for chunk in $crate::store::sql::bucketed(&unique) {
                    let sql = $crate::store::sql::Sql::parameter_upsert(chunk, now);
                    Self::query(&sql).execute(&mut *tx).await.map_err($crate::store::sql::classify)?;
                }
                tx.commit().await?;
                Ok(fresh)
            }

            async fn list_parameters(&self, device_id: i64, prefix: &str, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<$crate::store::DeviceParameter>)> {
                let mut from = $crate::store::sql::Sql::new("device_parameters WHERE device_id = ");
                from.arg($crate::store::Val::Int(Some(device_id)));
                if !prefix.is_empty() {
                    from.push(" AND substr(name, 1, CAST(").arg($crate::store::Val::Int(Some(prefix.chars().count() as i64)));
                    from.push(" AS INTEGER)) = ").arg($crate::store::Val::Text(Some(prefix.to_string())));
                }
                self.fetch_page(from, "name, value, xsd_type, writable, updated", "name", page).await
            }

            async fn device_type_for(&self, manufacturer: &str, product_class: &str) -> $crate::store::Result<i64> {
                let _write = self.write_lock().await;
                let found: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM device_types WHERE manufacturer = $1 AND product_class = $2 ORDER BY id LIMIT 1",
                )
                .bind(manufacturer)
                .bind(product_class)
                .fetch_optional(&self.pool)
                .await?;
                if let Some((id,)) = found {
                    return Ok(id);
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO device_types (name, short_name, manufacturer, product_class, created) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(format!("{manufacturer} {product_class}"))
                .bind(product_class)
                .bind(manufacturer)
                .bind(product_class)
                .bind($crate::time::now_micros())
                .fetch_one(&self.pool)
                .await?;
                Ok(id)
            }

            async fn ops_for(&self, device_ids: &[i64]) -> $crate::store::Result<Vec<$crate::store::OpRow>> {
                if device_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut sql = $crate::store::sql::Sql::new("SELECT * FROM device_ops WHERE ");
                sql.id_list("device_id", device_ids);
                sql.push(" ORDER BY device_id, item");
                Ok(Self::query_as(&sql).fetch_all(&self.pool).await?)
            }

            async fn plan_data(&self, device_id: i64) -> $crate::store::Result<$crate::store::PlanData> {
                let mut conn = self.pool.acquire().await?;
                let row: Option<(String, String, Option<i64>, bool)> = sqlx::query_as(
                    "SELECT t.settings, d.settings, d.firmware_image_id, d.firmware_image_is_pending \
                     FROM devices d JOIN device_types t ON t.id = d.type_id WHERE d.id = $1",
                )
                .bind(device_id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some((type_settings, device_settings, fw, fw_pending)) = row else {
                    return Ok($crate::store::PlanData::default());
                };
                let ops = sqlx::query_as("SELECT * FROM device_ops WHERE device_id = $1 ORDER BY item")
                    .bind(device_id)
                    .fetch_all(&mut *conn)
                    .await?;
                let firmware = match (fw, fw_pending) {
                    (Some(id), true) => sqlx::query_as("SELECT * FROM firmware_images WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?,
                    _ => None,
                };
                // Types the device reported for the parameters its settings name.
                let names: Vec<String> = $crate::settings::effective(&type_settings, &device_settings)
                    .into_values()
                    .flatten()
                    .map(|s| s.name)
                    .collect();
                let mut reported_types = Vec::new();
                for chunk in names.chunks(500) {
                    let mut sql = $crate::store::sql::Sql::new("SELECT name, xsd_type FROM device_parameters WHERE device_id = ");
                    sql.arg($crate::store::Val::Int(Some(device_id))).push(" AND name IN (");
                    for (i, n) in chunk.iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.arg($crate::store::Val::Text(Some(n.clone())));
                    }
                    sql.push(")");
                    let rows: Vec<(String, Option<String>)> = Self::query_as(&sql).fetch_all(&mut *conn).await?;
                    reported_types.extend(rows);
                }
                Ok($crate::store::PlanData { type_settings, device_settings, ops, firmware, reported_types })
            }

            async fn op_sent(&self, device_id: i64, item: &str, command_key: Option<&str>, now: i64) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                sqlx::query(
                    "INSERT INTO device_ops (device_id, item, attempts, last_attempt, command_key, sent_at) VALUES ($1, $2, 1, $3, $4, $3) \
                     ON CONFLICT (device_id, item) DO UPDATE SET attempts = device_ops.attempts + 1, last_attempt = $3, \
                     command_key = COALESCE($4, device_ops.command_key), sent_at = $3",
                )
                .bind(device_id)
                .bind(item)
                .bind(now)
                .bind(command_key)
                .execute(&self.pool)
                .await
                .map_err($crate::store::sql::classify)?;
                Ok(())
            }

            async fn op_fault(&self, device_id: i64, item: &str, fault: &str, next_attempt: Option<i64>, gave_up: bool) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                sqlx::query(
                    "INSERT INTO device_ops (device_id, item, attempts, last_fault, next_attempt, gave_up) VALUES ($1, $2, 1, $3, $4, $5) \
                     ON CONFLICT (device_id, item) DO UPDATE SET last_fault = $3, next_attempt = $4, gave_up = $5, sent_at = NULL, \
                     attempts = CASE WHEN device_ops.sent_at IS NULL THEN device_ops.attempts + 1 ELSE device_ops.attempts END",
                )
                .bind(device_id)
                .bind(item)
                .bind(fault)
                .bind(next_attempt)
                .bind(gave_up)
                .execute(&self.pool)
                .await
                .map_err($crate::store::sql::classify)?;
                Ok(())
            }

            async fn op_confirmed(&self, device_id: i64, item: &str, hash: &str, params: &[$crate::store::ParamWrite], now: i64, settings_done: bool) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO device_ops (device_id, item, attempts, confirmed_hash, confirmed_at) VALUES ($1, $2, 0, $3, $4) \
                     ON CONFLICT (device_id, item) DO UPDATE SET attempts = 0, last_fault = NULL, next_attempt = NULL, \
                     gave_up = FALSE, sent_at = NULL, confirmed_hash = $3, confirmed_at = $4",
                )
                .bind(device_id)
                .bind(item)
                .bind(hash)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::sql::classify)?;
                let cr = if item == "connection_request_credentials" { ", cr_configured = TRUE" } else { "" };
                let done = if settings_done { ", settings_pending = FALSE" } else { "" };
                sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE devices SET last_configuration = $1{cr}{done} WHERE id = $2")))
                    .bind(now)
                    .bind(device_id)
                    .execute(&mut *tx)
                    .await?;
                let rows: Vec<(i64, &$crate::store::ParamWrite)> = params.iter().map(|p| (device_id, p)).collect();
                for chunk in $crate::store::sql::bucketed(&rows) {
                    let sql = $crate::store::sql::Sql::parameter_upsert(chunk, now);
                    Self::query(&sql).execute(&mut *tx).await.map_err($crate::store::sql::classify)?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn op_done(&self, device_id: i64, item: &str, now: i64) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                let mut tx = self.pool.begin().await?;
                let flag = match item {
                    "reboot" => Some("reboot_requested = NULL"),
                    "factory_reset" => Some("factory_requested = NULL"),
                    "sync" => Some("sync_requested = NULL, last_configuration = $2"),
                    "firmware" => Some("firmware_image_is_pending = FALSE"),
                    _ => None,
                };
                if let Some(flag) = flag {
                    sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE devices SET {flag} WHERE id = $1 AND $2 = $2")))
                        .bind(device_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM device_ops WHERE device_id = $1 AND item = $2")
                    .bind(device_id)
                    .bind(item)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn transfer_complete(&self, device_id: i64, command_key: &str, fault: Option<&str>, now: i64) -> $crate::store::Result<bool> {
                let _write = self.write_lock().await;
                let mut tx = self.pool.begin().await?;
                let found: Option<(i64,)> = sqlx::query_as(
                    "SELECT device_id FROM device_ops WHERE device_id = $1 AND item = 'firmware' AND command_key = $2",
                )
                .bind(device_id)
                .bind(command_key)
                .fetch_optional(&mut *tx)
                .await?;
                if found.is_none() {
                    return Ok(false);
                }
                match fault {
                    None => {
                        sqlx::query("UPDATE devices SET firmware_image_is_pending = FALSE, last_configuration = $2 WHERE id = $1")
                            .bind(device_id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM device_ops WHERE device_id = $1 AND item = 'firmware'")
                            .bind(device_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Some(f) => {
                        sqlx::query("UPDATE device_ops SET last_fault = $2, gave_up = TRUE, sent_at = NULL WHERE device_id = $1 AND item = 'firmware'")
                            .bind(device_id)
                            .bind(f)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn expire_downloads(&self, now: i64, timeout_us: i64) -> $crate::store::Result<u64> {
                let _write = self.write_lock().await;
                let done = sqlx::query(
                    "UPDATE device_ops SET gave_up = TRUE, sent_at = NULL, \
                     last_fault = 'timeout: the CPE never confirmed the download (no TransferComplete)' \
                     WHERE item = 'firmware' AND gave_up = FALSE AND sent_at IS NOT NULL AND sent_at < $1",
                )
                .bind(now - timeout_us)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn set_settings_pending(&self, device_id: i64, pending: bool, now: i64) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                sqlx::query(
                    "UPDATE devices SET settings_pending = $1, \
                     last_configuration = CASE WHEN $1 = FALSE AND last_configuration IS NULL THEN $3 ELSE last_configuration END \
                     WHERE id = $2",
                )
                .bind(pending)
                .bind(device_id)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn mark_type_settings_pending(&self, type_id: i64) -> $crate::store::Result<u64> {
                let _write = self.write_lock().await;
                let done = sqlx::query("UPDATE devices SET settings_pending = TRUE WHERE type_id = $1 AND settings_pending = FALSE")
                    .bind(type_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn store_tree(&self, device_id: i64, params: &[$crate::store::ParamWrite], now: i64) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                let mut tx = self.pool.begin().await?;
                let rows: Vec<(i64, &$crate::store::ParamWrite)> = params.iter().map(|p| (device_id, p)).collect();
                for chunk in $crate::store::sql::bucketed(&rows) {
                    let sql = $crate::store::sql::Sql::parameter_upsert(chunk, now);
                    Self::query(&sql).execute(&mut *tx).await.map_err($crate::store::sql::classify)?;
                }
                sqlx::query("DELETE FROM device_parameters WHERE device_id = $1 AND updated < $2")
                    .bind(device_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn save_session_log(&self, device_id: i64, started: i64, ended: i64, transcript: &str, keep: i64) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                let mut tx = self.pool.begin().await?;
                sqlx::query("INSERT INTO device_sessions (device_id, started, ended, transcript) VALUES ($1, $2, $3, $4)")
                    .bind(device_id)
                    .bind(started)
                    .bind(ended)
                    .bind(transcript)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::sql::classify)?;
                sqlx::query(
                    "DELETE FROM device_sessions WHERE device_id = $1 AND id NOT IN \
                     (SELECT id FROM device_sessions WHERE device_id = $1 ORDER BY id DESC LIMIT $2)",
                )
                .bind(device_id)
                .bind(keep)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_session_logs(&self, device_id: i64, page: $crate::store::Page) -> $crate::store::Result<(i64, Vec<$crate::store::SessionLog>)> {
                let mut from = $crate::store::sql::Sql::new("device_sessions WHERE device_id = ");
                from.arg($crate::store::Val::Int(Some(device_id)));
                self.fetch_page(from, "*", "id DESC", page).await
            }

            async fn secret(&self, name: &str, fresh: &str) -> $crate::store::Result<String> {
                let _write = self.write_lock().await;
                // Every instance inserts its candidate; the first one wins for all.
                sqlx::query("INSERT INTO acs_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(fresh)
                    .execute(&self.pool)
                    .await?;
                let (v,): (String,) = sqlx::query_as("SELECT value FROM acs_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(v)
            }

            async fn device_ids(&self, filter: &$crate::store::DeviceFilter, scope: &$crate::store::Scope, limit: i64) -> $crate::store::Result<Vec<i64>> {
                let cond = $crate::store::sql::Sql::device_where(filter, scope);
                let mut sql = $crate::store::sql::Sql::new("SELECT d.id FROM devices d");
                sql.push(&cond.text);
                sql.args = cond.args;
                sql.push(" ORDER BY d.id LIMIT ").arg($crate::store::Val::Int(Some(limit)));
                let rows: Vec<(i64,)> = Self::query_as(&sql).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }

            async fn record_connection_request(&self, device_id: i64, now: i64, result: &str, up: bool) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                let sql = if up {
                    "UPDATE devices SET cr_last_attempt = $1, cr_last_result = $2, \
                     status_change = CASE WHEN status_up THEN status_change ELSE $1 END, status_up = TRUE WHERE id = $3"
                } else {
                    "UPDATE devices SET cr_last_attempt = $1, cr_last_result = $2 WHERE id = $3"
                };
                sqlx::query(sql).bind(now).bind(result).bind(device_id).execute(&self.pool).await?;
                Ok(())
            }

            async fn op_reset(&self, device_id: i64, item: &str) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                sqlx::query("DELETE FROM device_ops WHERE device_id = $1 AND item = $2")
                    .bind(device_id)
                    .bind(item)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn reset_settings_faults(&self, device_id: Option<i64>, type_id: Option<i64>) -> $crate::store::Result<()> {
                let _write = self.write_lock().await;
                // Only rows that carry a fault state are touched (most have none).
                const FAULTED: &str = "(item LIKE 'settings:%' OR item = 'update_frequency') \
                    AND (attempts > 0 OR gave_up = TRUE OR last_fault IS NOT NULL OR next_attempt IS NOT NULL)";
                const RESET: &str = "UPDATE device_ops SET attempts = 0, last_fault = NULL, next_attempt = NULL, gave_up = FALSE WHERE ";
                if let Some(d) = device_id {
                    sqlx::query(sqlx::AssertSqlSafe(format!("{RESET}device_id = $1 AND {FAULTED}")))
                        .bind(d)
                        .execute(&self.pool)
                        .await?;
                }
                if let Some(t) = type_id {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "{RESET}device_id IN (SELECT id FROM devices WHERE type_id = $1) AND {FAULTED}"
                    )))
                    .bind(t)
                    .execute(&self.pool)
                    .await?;
                }
                Ok(())
            }

            async fn update_devices(&self, ids: &[i64], scope: &$crate::store::Scope, values: &$crate::store::Values) -> $crate::store::Result<u64> {
                let _write = self.write_lock().await;
                let mut total = 0;
                let mut tx = self.pool.begin().await?;
                for chunk in ids.chunks(1000) {
                    let mut sql = $crate::store::sql::Sql::update("devices", 0, None, scope, values);
                    // Sql::update ends with "WHERE id = $n": widen it to the chunk.
                    let cut = sql.text.rfind(" WHERE id = ").unwrap_or(sql.text.len());
                    sql.text.truncate(cut);
                    sql.args.pop();
                    sql.push(" WHERE ");
                    sql.id_list("id", chunk);
                    sql.scope("organization_id", scope);
                    total += Self::query(&sql).execute(&mut *tx).await.map_err($crate::store::sql::classify)?.rows_affected();
                }
                tx.commit().await?;
                Ok(total)
            }

            async fn create_token(&self, name: &str, token_hash: &str, admin: bool, orgs: &[i64]) -> $crate::store::Result<i64> {
                let _write = self.write_lock().await;
                let mut tx = self.pool.begin().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO api_tokens (name, token_hash, admin, created) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(name)
                .bind(token_hash)
                .bind(admin)
                .bind($crate::time::now_micros())
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::store::sql::classify)?;
                for org in orgs {
                    sqlx::query("INSERT INTO api_token_organizations (token_id, organization_id) VALUES ($1, $2)")
                        .bind(id)
                        .bind(*org)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::store::sql::classify)?;
                }
                tx.commit().await?;
                Ok(id)
            }

            async fn list_tokens(&self) -> $crate::store::Result<Vec<$crate::store::ApiToken>> {
                let sql = format!(
                    "SELECT t.id, t.name, t.token_hash, t.admin, t.created, t.revoked, \
                     (SELECT {} FROM api_token_organizations o WHERE o.token_id = t.id) AS organizations \
                     FROM api_tokens t ORDER BY t.id",
                    $agg
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?)
            }

            async fn revoke_token(&self, name: &str, now: i64) -> $crate::store::Result<bool> {
                let _write = self.write_lock().await;
                let done = sqlx::query("UPDATE api_tokens SET revoked = $1 WHERE name = $2 AND revoked IS NULL")
                    .bind(now)
                    .bind(name)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn find_token(&self, token_hash: &str) -> $crate::store::Result<Option<$crate::store::ApiToken>> {
                let sql = format!(
                    "SELECT t.id, t.name, t.token_hash, t.admin, t.created, t.revoked, \
                     (SELECT {} FROM api_token_organizations o WHERE o.token_id = t.id) AS organizations \
                     FROM api_tokens t WHERE t.token_hash = $1",
                    $agg
                );
                Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(&self.pool).await?)
            }
        }
    };
}

pub(crate) use sql_store;

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_cover_everything_in_few_shapes() {
        let v: Vec<u32> = (0..1337).collect();
        let chunks = super::bucketed(&v);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [1024, 256, 16, 16, 16, 4, 4, 1]);
        assert_eq!(chunks.concat(), v);
        assert!(super::bucketed::<u8>(&[]).is_empty());
    }

    #[test]
    fn positional_parameters_keep_their_order() {
        assert_eq!(
            super::positional("UPDATE t SET a = $1, b = '$x' WHERE id IN ($2, $13) AND c = $3"),
            "UPDATE t SET a = ?, b = '$x' WHERE id IN (?, ?) AND c = ?"
        );
    }
}
