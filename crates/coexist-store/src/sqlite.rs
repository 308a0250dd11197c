//! The SQLite engine.

use async_trait::async_trait;
use coexist_core::credentials::Credentials;
use coexist_core::{
    AuditEntry, AuditQuery, Change, DirectoryStore, Peer, Snapshot, StoreError, Tenant,
    TenantToken, Timestamp, User,
};
use coexist_policy::InteropPolicy;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

mod batched_index;
mod commit;
mod conversations;

/// Rows per multi-row INSERT in a bulk import (17 columns each; SQLite
/// allows 32 766 bound values per statement).
const BULK_ROWS: usize = 1500;

/// The schema, shared by every engine: `migrations/NNNN_name.sql`, embedded
/// in the binary (listed here rather than by `sqlx::migrate!`, which would
/// pull in sqlx's compile-time macro machinery).
fn migrator() -> Migrator {
    const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "directory",
            include_str!("../migrations/0001_directory.sql"),
        ),
        (2, "peers", include_str!("../migrations/0002_peers.sql")),
        (
            3,
            "conversations",
            include_str!("../migrations/0003_conversations.sql"),
        ),
        (
            4,
            "sfb_pending",
            include_str!("../migrations/0004_sfb_pending.sql"),
        ),
        (
            5,
            "preferred_calling_client",
            include_str!("../migrations/0005_preferred_calling_client.sql"),
        ),
        (
            6,
            "batched_indexes",
            include_str!("../migrations/0006_batched_indexes.sql"),
        ),
    ];
    Migrator {
        migrations: Cow::Owned(
            MIGRATIONS
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(name),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// Copies the WAL into the database file every second (PASSIVE: it never
/// blocks a writer), so a commit never pays for a checkpoint; stops when the
/// pool closes.
async fn checkpointer(pool: SqlitePool) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(1000));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}

/// Settings of every connection, the pool's and the group commit's
/// (`sqlite/commit.rs`), on top of WAL:
/// - `synchronous=FULL`: an acknowledged change survives power loss, not
///   only a crash of the process;
/// - a 64 MiB page cache: hot B-tree pages stay in memory;
/// - no automatic checkpoints: they run beside the writers, not inside
///   their commits (see `checkpointer`);
/// - statement journals (a multi-row statement inside a transaction keeps
///   one) in memory, not in a temporary file: they were a third of the
///   commit's `pwrite` time in a profile of `cargo bench --bench
///   teams_messages`.
pub(crate) const CONNECTION_PRAGMAS: [(&str, &str); 4] = [
    ("synchronous", "FULL"),
    ("cache_size", "-65536"),
    ("wal_autocheckpoint", "0"),
    ("temp_store", "MEMORY"),
];

/// The directory on SQLite (WAL).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection for the teams writer's group commits: its page cache
    /// stays warm (a pooled connection drops its cache whenever another one
    /// has written), which keeps a commit of hundreds of messages cheap.
    /// Synchronous (rusqlite), see `sqlite/commit.rs`.
    committer: Arc<Mutex<rusqlite::Connection>>,
    /// The messages not yet in `message_index` and the events not yet in
    /// `event_index` (see `sqlite/batched_index.rs`).
    tails: Arc<batched_index::Tails>,
}

fn err(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

fn parse<T: FromStr>(column: &str, value: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| StoreError(format!("column {column}: {e}")))
}

fn parse_opt<T: FromStr>(column: &str, value: Option<String>) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    value.map(|v| parse(column, &v)).transpose()
}

impl SqliteStore {
    /// Opens (creating if needed) `DIR/coexist.db` and migrates it.
    pub async fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(err)?;
        let options = CONNECTION_PRAGMAS.iter().fold(
            SqliteConnectOptions::new()
                .filename(dir.join("coexist.db"))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true),
            |options, (name, value)| options.pragma(*name, *value),
        );
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(err)?;
        migrator().run(&pool).await.map_err(err)?;
        let committer = Arc::new(Mutex::new(commit::open(&dir.join("coexist.db"))?));
        let tails = Arc::new(conversations::load_tails(&pool).await?);
        tokio::spawn(checkpointer(pool.clone()));
        Ok(SqliteStore {
            pool,
            committer,
            tails,
        })
    }

    fn tenant_from(row: &SqliteRow) -> Result<Tenant, StoreError> {
        let domains: String = row.try_get("domains").map_err(err)?;
        let federation: String = row.try_get("federation").map_err(err)?;
        Ok(Tenant {
            name: row.try_get("name").map_err(err)?,
            domains: serde_json::from_str(&domains).map_err(err)?,
            topology: parse(
                "topology",
                &row.try_get::<String, _>("topology").map_err(err)?,
            )?,
            cloud: parse("cloud", &row.try_get::<String, _>("cloud").map_err(err)?)?,
            upgrade_policy: parse_opt(
                "upgrade_policy",
                row.try_get("upgrade_policy").map_err(err)?,
            )?,
            federation: serde_json::from_str(&federation).map_err(err)?,
            created_at: Timestamp(row.try_get("created_at").map_err(err)?),
        })
    }

    fn user_from(row: &SqliteRow) -> Result<User, StoreError> {
        let ha1_md5: Option<String> = row.try_get("ha1_md5").map_err(err)?;
        let ha1_sha256: Option<String> = row.try_get("ha1_sha256").map_err(err)?;
        let credentials = match (ha1_md5, ha1_sha256) {
            (Some(ha1_md5), Some(ha1_sha256)) => Some(Credentials {
                password_hash: row.try_get("password_hash").map_err(err)?,
                ha1_md5,
                ha1_sha256,
            }),
            _ => None,
        };
        Ok(User {
            upn: row.try_get("upn").map_err(err)?,
            tenant: row.try_get("tenant").map_err(err)?,
            display_name: row.try_get("display_name").map_err(err)?,
            sfb_homing: parse(
                "sfb_homing",
                &row.try_get::<String, _>("sfb_homing").map_err(err)?,
            )?,
            teams_enabled: row.try_get("teams_enabled").map_err(err)?,
            sfb_enabled: row.try_get("sfb_enabled").map_err(err)?,
            voice: parse("voice", &row.try_get::<String, _>("voice").map_err(err)?)?,
            phone_number: row.try_get("phone_number").map_err(err)?,
            specialized_workflow: row.try_get("specialized_workflow").map_err(err)?,
            upgrade_policy: parse_opt(
                "upgrade_policy",
                row.try_get("upgrade_policy").map_err(err)?,
            )?,
            interop_policy: row.try_get("interop_policy").map_err(err)?,
            preferred_calling_client: parse_opt(
                "preferred_calling_client",
                row.try_get("preferred_calling_client").map_err(err)?,
            )?,
            credentials,
            created_at: Timestamp(row.try_get("created_at").map_err(err)?),
            updated_at: Timestamp(row.try_get("updated_at").map_err(err)?),
        })
    }

    async fn put_tenant(
        tx: &mut Transaction<'_, Sqlite>,
        tenant: &Tenant,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tenants (name, domains, topology, cloud, upgrade_policy, federation, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET domains = excluded.domains,
               topology = excluded.topology, cloud = excluded.cloud,
               upgrade_policy = excluded.upgrade_policy, federation = excluded.federation",
        )
        .bind(&tenant.name)
        .bind(serde_json::to_string(&tenant.domains).map_err(err)?)
        .bind(tenant.topology.as_str())
        .bind(tenant.cloud.as_str())
        .bind(tenant.upgrade_policy.map(|p| p.as_str()))
        .bind(serde_json::to_string(&tenant.federation).map_err(err)?)
        .bind(tenant.created_at.millis())
        .execute(&mut **tx)
        .await
        .map_err(err)?;
        Ok(())
    }

    async fn put_users(tx: &mut Transaction<'_, Sqlite>, users: &[User]) -> Result<(), StoreError> {
        for chunk in users.chunks(BULK_ROWS) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO users (upn, tenant, display_name, sfb_homing, teams_enabled,
                 sfb_enabled, voice, phone_number, specialized_workflow, upgrade_policy,
                 interop_policy, preferred_calling_client, password_hash, ha1_md5, ha1_sha256,
                 created_at, updated_at) ",
            );
            query.push_values(chunk, |mut row, user| {
                let credentials = user.credentials.as_ref();
                row.push_bind(&user.upn)
                    .push_bind(&user.tenant)
                    .push_bind(&user.display_name)
                    .push_bind(user.sfb_homing.as_str())
                    .push_bind(user.teams_enabled)
                    .push_bind(user.sfb_enabled)
                    .push_bind(user.voice.as_str())
                    .push_bind(&user.phone_number)
                    .push_bind(user.specialized_workflow)
                    .push_bind(user.upgrade_policy.map(|p| p.as_str()))
                    .push_bind(&user.interop_policy)
                    .push_bind(user.preferred_calling_client.map(|c| c.as_str()))
                    .push_bind(credentials.and_then(|c| c.password_hash.clone()))
                    .push_bind(credentials.map(|c| c.ha1_md5.clone()))
                    .push_bind(credentials.map(|c| c.ha1_sha256.clone()))
                    .push_bind(user.created_at.millis())
                    .push_bind(user.updated_at.millis());
            });
            query.push(
                " ON CONFLICT (upn) DO UPDATE SET display_name = excluded.display_name,
                  sfb_homing = excluded.sfb_homing, teams_enabled = excluded.teams_enabled,
                  sfb_enabled = excluded.sfb_enabled, voice = excluded.voice,
                  phone_number = excluded.phone_number,
                  specialized_workflow = excluded.specialized_workflow,
                  upgrade_policy = excluded.upgrade_policy,
                  interop_policy = excluded.interop_policy,
                  preferred_calling_client = excluded.preferred_calling_client,
                  password_hash = excluded.password_hash, ha1_md5 = excluded.ha1_md5,
                  ha1_sha256 = excluded.ha1_sha256, updated_at = excluded.updated_at",
            );
            query.build().execute(&mut **tx).await.map_err(err)?;
        }
        Ok(())
    }

    async fn apply(
        tx: &mut Transaction<'_, Sqlite>,
        change: &Change<'_>,
    ) -> Result<(), StoreError> {
        match *change {
            Change::PutTenant(tenant) => Self::put_tenant(tx, tenant).await?,
            Change::DeleteTenant(name) => {
                for table in ["peers", "tenant_tokens", "users"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE tenant = ?"))
                        .bind(name)
                        .execute(&mut **tx)
                        .await
                        .map_err(err)?;
                }
                sqlx::query("DELETE FROM tenants WHERE name = ?")
                    .bind(name)
                    .execute(&mut **tx)
                    .await
                    .map_err(err)?;
            }
            Change::PutUser(user) => Self::put_users(tx, std::slice::from_ref(user)).await?,
            Change::PutUsers(users) => Self::put_users(tx, users).await?,
            Change::DeleteUser(upn) => {
                sqlx::query("DELETE FROM users WHERE upn = ?")
                    .bind(upn)
                    .execute(&mut **tx)
                    .await
                    .map_err(err)?;
            }
            Change::PutInteropPolicy(name, policy) => {
                sqlx::query(
                    "INSERT INTO interop_policies (name, chat_default_client,
                       calling_default_client, allow_end_user_client_override)
                     VALUES (?, ?, ?, ?)
                     ON CONFLICT (name) DO UPDATE SET
                       chat_default_client = excluded.chat_default_client,
                       calling_default_client = excluded.calling_default_client,
                       allow_end_user_client_override = excluded.allow_end_user_client_override",
                )
                .bind(name)
                .bind(policy.chat_default_client.as_str())
                .bind(policy.calling_default_client.as_str())
                .bind(policy.allow_end_user_client_override)
                .execute(&mut **tx)
                .await
                .map_err(err)?;
            }
            Change::PutPeer(peer) => {
                sqlx::query(
                    "INSERT INTO peers (tenant, kind, name, address, transport, domains, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (tenant, kind, name) DO UPDATE SET address = excluded.address,
                       transport = excluded.transport, domains = excluded.domains,
                       updated_at = excluded.updated_at",
                )
                .bind(&peer.tenant)
                .bind(peer.kind.as_str())
                .bind(&peer.name)
                .bind(&peer.address)
                .bind(&peer.transport)
                .bind(serde_json::to_string(&peer.domains).map_err(err)?)
                .bind(peer.updated_at.millis())
                .execute(&mut **tx)
                .await
                .map_err(err)?;
            }
            Change::DeletePeer(tenant, kind, name) => {
                sqlx::query("DELETE FROM peers WHERE tenant = ? AND kind = ? AND name = ?")
                    .bind(tenant)
                    .bind(kind.as_str())
                    .bind(name)
                    .execute(&mut **tx)
                    .await
                    .map_err(err)?;
            }
            Change::PutToken(token) => {
                sqlx::query(
                    "INSERT INTO tenant_tokens (digest, tenant, label, created_at) VALUES (?, ?, ?, ?)",
                )
                .bind(&token.digest)
                .bind(&token.tenant)
                .bind(&token.label)
                .bind(token.created_at.millis())
                .execute(&mut **tx)
                .await
                .map_err(err)?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn load(&self) -> Result<Snapshot, StoreError> {
        let mut snapshot = Snapshot::default();
        for row in sqlx::query("SELECT * FROM tenants ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
        {
            snapshot.tenants.push(Self::tenant_from(&row)?);
        }
        for row in sqlx::query("SELECT * FROM users")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
        {
            snapshot.users.push(Self::user_from(&row)?);
        }
        for row in sqlx::query("SELECT * FROM interop_policies")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
        {
            let policy = InteropPolicy {
                chat_default_client: parse(
                    "chat_default_client",
                    &row.try_get::<String, _>("chat_default_client")
                        .map_err(err)?,
                )?,
                calling_default_client: parse(
                    "calling_default_client",
                    &row.try_get::<String, _>("calling_default_client")
                        .map_err(err)?,
                )?,
                allow_end_user_client_override: row
                    .try_get("allow_end_user_client_override")
                    .map_err(err)?,
            };
            snapshot
                .interop_policies
                .push((row.try_get("name").map_err(err)?, policy));
        }
        for row in sqlx::query("SELECT * FROM tenant_tokens")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
        {
            snapshot.tokens.push(TenantToken {
                digest: row.try_get("digest").map_err(err)?,
                tenant: row.try_get("tenant").map_err(err)?,
                label: row.try_get("label").map_err(err)?,
                created_at: Timestamp(row.try_get("created_at").map_err(err)?),
            });
        }
        for row in sqlx::query("SELECT * FROM peers")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
        {
            let domains: String = row.try_get("domains").map_err(err)?;
            snapshot.peers.push(Peer {
                tenant: row.try_get("tenant").map_err(err)?,
                kind: parse("kind", &row.try_get::<String, _>("kind").map_err(err)?)?,
                name: row.try_get("name").map_err(err)?,
                address: row.try_get("address").map_err(err)?,
                transport: row.try_get("transport").map_err(err)?,
                domains: serde_json::from_str(&domains).map_err(err)?,
                // Resolved again at every start (R6), never stored.
                resolved: Vec::new(),
                updated_at: Timestamp(row.try_get("updated_at").map_err(err)?),
            });
        }
        Ok(snapshot)
    }

    async fn commit(&self, changes: &[Change<'_>], audit: &[AuditEntry]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        for change in changes {
            Self::apply(&mut tx, change).await?;
        }
        for entry in audit {
            sqlx::query(
                "INSERT INTO audit (at, actor, action, tenant, target, before, after)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(entry.at.millis())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.tenant)
            .bind(&entry.target)
            .bind(entry.before.to_string())
            .bind(entry.after.to_string())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM audit WHERE 1 = 1");
        if let Some(tenant) = &query.tenant {
            sql.push(" AND tenant = ").push_bind(tenant);
        }
        if let Some(target) = &query.target {
            sql.push(" AND target = ").push_bind(target);
        }
        match query.after_id {
            Some(after) => {
                sql.push(" AND id > ")
                    .push_bind(after)
                    .push(" ORDER BY id ASC");
            }
            None => {
                sql.push(" ORDER BY id DESC");
            }
        }
        sql.push(" LIMIT ").push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(err)?;
        let mut entries = rows
            .iter()
            .map(|row| {
                let before: String = row.try_get("before").map_err(err)?;
                let after: String = row.try_get("after").map_err(err)?;
                Ok(AuditEntry {
                    id: row.try_get("id").map_err(err)?,
                    at: Timestamp(row.try_get("at").map_err(err)?),
                    actor: row.try_get("actor").map_err(err)?,
                    action: row.try_get("action").map_err(err)?,
                    tenant: row.try_get("tenant").map_err(err)?,
                    target: row.try_get("target").map_err(err)?,
                    before: serde_json::from_str(&before).map_err(err)?,
                    after: serde_json::from_str(&after).map_err(err)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    async fn close(&self) {
        // Checkpoint the WAL into the main file so a clean stop leaves one
        // file behind.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint at close failed");
        }
        self.pool.close().await;
    }
}
