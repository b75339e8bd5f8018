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
                 OR d.firmware_image_is_pending = TRUE)";
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

    /// The batched UPDATE of `apply_cwmp_writes`: one statement for many devices.
    pub fn cwmp_update(writes: &[&InformWrite]) -> Sql {
        let mut sql = Sql::new(
            "UPDATE devices SET \
             status_up = CASE WHEN v.column17 = 1 THEN TRUE ELSE devices.status_up END, \
             status_change = CASE WHEN v.column17 = 1 AND NOT devices.status_up THEN v.column3 ELSE devices.status_change END, \
             last_connection = CASE WHEN v.column17 = 1 THEN v.column3 ELSE devices.last_connection END, \
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
        for (i, w) in writes.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let text = |s: &Option<String>| Val::Text(s.clone());
            let cols: [(Val, &str); 17] = [
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
            ") AS v WHERE devices.id = v.column1 AND COALESCE(devices.ha1_sha256, '') = v.column2 RETURNING ",
        );
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
            sql.arg(Val::Text(Some(p.value.clone()))).push(", ");
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
macro_rules! sql_store {
    ($store:ident, $db:ty, $agg:expr) => {
        impl $store {
            fn query_as<'q, T>(sql: &'q $crate::store::sql::Sql) -> sqlx::query::QueryAs<'q, $db, T, <$db as sqlx::Database>::Arguments>
            where
                T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row>,
            {
                let mut q = sqlx::query_as::<$db, T>(sqlx::AssertSqlSafe(sql.text.as_str()));
                for v in &sql.args {
                    q = match v {
                        $crate::store::Val::Int(i) => q.bind(*i),
                        $crate::store::Val::IntIfNull(i) => q.bind(*i),
                        $crate::store::Val::Text(s) => q.bind(s.clone()),
                        $crate::store::Val::Bool(b) => q.bind(*b),
                    };
                }
                q
            }

            fn query<'q>(sql: &'q $crate::store::sql::Sql) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                let mut q = sqlx::query::<$db>(sqlx::AssertSqlSafe(sql.text.as_str()));
                for v in &sql.args {
                    q = match v {
                        $crate::store::Val::Int(i) => q.bind(*i),
                        $crate::store::Val::IntIfNull(i) => q.bind(*i),
                        $crate::store::Val::Text(s) => q.bind(s.clone()),
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
                let sql = $crate::store::sql::Sql::insert(table.name(), values);
                let (id,): (i64,) = Self::query_as(&sql)
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::store::sql::classify)?;
                Ok(id)
            }

            async fn update(&self, table: $crate::store::Table, id: i64, scope: &$crate::store::Scope, values: &$crate::store::Values) -> $crate::store::Result<bool> {
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

            async fn sweep_down(&self, now: i64, default_interval_s: i64, factor: i64, limit: i64) -> $crate::store::Result<u64> {
                // Conditional on status_up, so instances sweeping the same rows at once flip each
                // device (and move its status_change) only once.
                let mut sql = $crate::store::sql::Sql::new("UPDATE devices SET status_up = FALSE, status_change = ");
                sql.arg($crate::store::Val::Int(Some(now)));
                sql.push(" WHERE status_up = TRUE AND id IN (SELECT id FROM devices WHERE 1 = 1");
                sql.silent(now, default_interval_s, factor);
                sql.push(" LIMIT ").arg($crate::store::Val::Int(Some(limit))).push(")");
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
                if writes.is_empty() {
                    return Ok(Vec::new());
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
                let mut fresh: Vec<Option<$crate::store::CwmpDevice>> = vec![None; writes.len()];
                // One UPDATE per chunk; a device appears once per chunk (UPDATE ... FROM applies one
                // source row per target row).
                let mut pending: Vec<usize> = (0..writes.len()).collect();
                while !pending.is_empty() {
                    let mut seen = std::collections::HashSet::new();
                    let mut chunk = Vec::new();
                    let mut rest = Vec::new();
                    for i in pending {
                        if chunk.len() < 500 && seen.insert(writes[i].device_id) {
                            chunk.push(i);
                        } else {
                            rest.push(i);
                        }
                    }
                    let refs: Vec<&$crate::store::InformWrite> = chunk.iter().map(|i| &writes[*i]).collect();
                    let sql = $crate::store::sql::Sql::cwmp_update(&refs);
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
                for chunk in unique.chunks(4000) {
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

            async fn create_token(&self, name: &str, token_hash: &str, admin: bool, orgs: &[i64]) -> $crate::store::Result<i64> {
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
