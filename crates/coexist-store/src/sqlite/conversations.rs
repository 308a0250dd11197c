//! The teams side's storage port on SQLite: threads, messages, the event
//! stream and sessions. Reads go through the sqlx pool; the writer's group
//! commits through `commit.rs`, one transaction (one fsync) each.

use super::batched_index::{Entry, Tail, Tails, read};
use super::{SqliteStore, err, parse, parse_opt};
use async_trait::async_trait;
use coexist_core::StoreError;
use coexist_core::Timestamp;
use coexist_core::teams::model::{Body, Message, Session, StoredEvent, Thread};
use coexist_core::teams::ports::{ConversationSnapshot, ConversationStore, Row};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row as _, Sqlite};
use std::collections::HashSet;
use std::sync::RwLock;
use std::time::Instant;

fn thread_from(row: &SqliteRow) -> Result<Thread, StoreError> {
    let kind: String = row.try_get("kind").map_err(err)?;
    let state: String = row.try_get("state").map_err(err)?;
    let members: String = row.try_get("members").map_err(err)?;
    Ok(Thread {
        id: row.try_get("id").map_err(err)?,
        kind: serde_json::from_value(serde_json::Value::String(kind)).map_err(err)?,
        topic: row.try_get("topic").map_err(err)?,
        method: parse("method", &row.try_get::<String, _>("method").map_err(err)?)?,
        members: serde_json::from_str(&members).map_err(err)?,
        created_by: row.try_get("created_by").map_err(err)?,
        created_at: Timestamp(row.try_get("created_at").map_err(err)?),
        state: serde_json::from_value(serde_json::Value::String(state)).map_err(err)?,
        disabled_reason: row.try_get("disabled_reason").map_err(err)?,
        replaced_by: row.try_get("replaced_by").map_err(err)?,
        replaces: row.try_get("replaces").map_err(err)?,
    })
}

fn message_from(row: &SqliteRow) -> Result<Message, StoreError> {
    let attachments: String = row.try_get("attachments").map_err(err)?;
    let deliveries: String = row.try_get("deliveries").map_err(err)?;
    Ok(Message {
        id: row.try_get("id").map_err(err)?,
        chat_id: row.try_get("thread_id").map_err(err)?,
        from: row.try_get("sender").map_err(err)?,
        created_at: Timestamp(row.try_get("created_at").map_err(err)?),
        body: Body {
            content_type: parse(
                "content_type",
                &row.try_get::<String, _>("content_type").map_err(err)?,
            )?,
            content: row.try_get("content").map_err(err)?,
        },
        converted_from: parse_opt(
            "converted_from",
            row.try_get("converted_from").map_err(err)?,
        )?,
        attachments: serde_json::from_str(&attachments).map_err(err)?,
        deliveries: serde_json::from_str(&deliveries).map_err(err)?,
    })
}

pub(super) fn state_str(thread: &Thread) -> &'static str {
    match thread.state {
        coexist_core::teams::model::ThreadState::Active => "active",
        coexist_core::teams::model::ThreadState::Disabled => "disabled",
    }
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn load_conversations(&self, now: Timestamp) -> Result<ConversationSnapshot, StoreError> {
        let threads = sqlx::query("SELECT * FROM threads")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
            .iter()
            .map(thread_from)
            .collect::<Result<Vec<_>, _>>()?;
        let sessions =
            sqlx::query("SELECT * FROM sessions WHERE revoked = FALSE AND expires_at > ?")
                .bind(now.millis())
                .fetch_all(&self.pool)
                .await
                .map_err(err)?
                .iter()
                .map(|row| {
                    Ok(Session {
                        digest: row.try_get("digest").map_err(err)?,
                        upn: row.try_get("upn").map_err(err)?,
                        created_at: Timestamp(row.try_get("created_at").map_err(err)?),
                        expires_at: Timestamp(row.try_get("expires_at").map_err(err)?),
                        revoked: row.try_get("revoked").map_err(err)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
        let last = |table: &'static str| {
            let pool = self.pool.clone();
            async move {
                sqlx::query(&format!("SELECT COALESCE(MAX(id), 0) AS last FROM {table}"))
                    .fetch_one(&pool)
                    .await
                    .and_then(|row| row.try_get::<i64, _>("last"))
                    .map_err(err)
            }
        };
        let sfb_pending = sqlx::query_scalar("SELECT DISTINCT upn FROM sfb_pending")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        Ok(ConversationSnapshot {
            threads,
            sessions,
            last_message_id: last("messages").await?,
            last_event_id: last("events").await?,
            sfb_pending,
        })
    }

    /// Runs on the caller's thread and blocks it for the commit (an fsync):
    /// the teams writer, its only caller, has a thread of its own for that
    /// (see `commit.rs` for why this is not a sqlx statement).
    async fn commit_conversations(&self, rows: &[Row<'_>]) -> Result<(), StoreError> {
        let mut connection = self
            .committer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        super::commit::commit(&mut connection, &self.tails, rows)
    }

    async fn messages(
        &self,
        thread: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let before = before.unwrap_or(i64::MAX);
        let (recent, indexed_upto) =
            read(&self.tails.messages).of_key_before(thread, before, limit as usize);
        let mut found = self.by_ids(&recent).await?;
        found.sort_by_key(|m| std::cmp::Reverse(m.id));
        let rest = i64::from(limit) - found.len() as i64;
        if rest > 0 {
            let older = sqlx::query(
                "SELECT m.* FROM message_index i JOIN messages m ON m.id = i.id
                 WHERE i.thread_id = ? AND i.id < ? ORDER BY i.id DESC LIMIT ?",
            )
            .bind(thread)
            .bind(before.min(indexed_upto.saturating_add(1)))
            .bind(rest)
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
            for row in &older {
                found.push(message_from(row)?);
            }
        }
        Ok(found)
    }

    async fn message(&self, id: i64) -> Result<Option<Message>, StoreError> {
        Ok(self.by_ids(&[id]).await?.pop())
    }

    async fn messages_after(
        &self,
        threads: &[String],
        not_from: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let (recent, indexed_upto) = {
            let set: HashSet<&str> = threads.iter().map(String::as_str).collect();
            read(&self.tails.messages).of_keys_after(&set, Some(not_from), after, limit as usize)
        };
        let mut found = self.by_ids(&recent).await?;
        // SQLite takes at most 32 766 bound values: ask by chunks of threads
        // and keep the oldest `limit`.
        if after < indexed_upto {
            for chunk in threads.chunks(10_000) {
                let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                    "SELECT m.* FROM message_index i JOIN messages m ON m.id = i.id
                     WHERE i.thread_id IN (",
                );
                let mut list = query.separated(", ");
                for thread in chunk {
                    list.push_bind(thread);
                }
                query
                    .push(") AND i.id > ")
                    .push_bind(after)
                    .push(" AND i.id <= ")
                    .push_bind(indexed_upto)
                    .push(" AND m.sender <> ")
                    .push_bind(not_from)
                    .push(" ORDER BY i.id LIMIT ")
                    .push_bind(i64::from(limit));
                let rows = query.build().fetch_all(&self.pool).await.map_err(err)?;
                for row in &rows {
                    found.push(message_from(row)?);
                }
            }
        }
        found.sort_by_key(|m| m.id);
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn events(
        &self,
        upn: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let (recent, indexed_upto) = {
            let key: HashSet<&str> = [upn].into();
            read(&self.tails.events).of_keys_after(&key, None, after, limit as usize)
        };
        let mut found = if after < indexed_upto {
            sqlx::query(
                "SELECT e.id, e.upn, e.at, e.payload FROM event_index i JOIN events e ON e.id = i.id
                 WHERE i.upn = ? AND i.id > ? AND i.id <= ? ORDER BY i.id LIMIT ?",
            )
            .bind(upn)
            .bind(after)
            .bind(indexed_upto)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(err)?
            .iter()
            .map(event_from)
            .collect::<Result<Vec<_>, StoreError>>()?
        } else {
            Vec::new()
        };
        let rest = (limit as usize)
            .saturating_sub(found.len())
            .min(recent.len());
        let mut newer: Vec<StoredEvent> = self
            .rows_by_ids("events", &recent[..rest])
            .await?
            .iter()
            .map(event_from)
            .collect::<Result<_, _>>()?;
        newer.sort_by_key(|e| e.id);
        found.append(&mut newer);
        Ok(found)
    }

    async fn pending_sfb(&self, upn: &str, limit: u32) -> Result<Vec<Message>, StoreError> {
        sqlx::query(
            "SELECT m.* FROM sfb_pending p JOIN messages m ON m.id = p.message_id
             WHERE p.upn = ? ORDER BY m.id LIMIT ?",
        )
        .bind(upn)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(message_from)
        .collect()
    }
}

impl SqliteStore {
    /// The messages with these ids (those that exist), in no order.
    async fn by_ids(&self, ids: &[i64]) -> Result<Vec<Message>, StoreError> {
        self.rows_by_ids("messages", ids)
            .await?
            .iter()
            .map(message_from)
            .collect()
    }

    /// The rows of `table` with these ids (those that exist), in no order.
    async fn rows_by_ids(&self, table: &str, ids: &[i64]) -> Result<Vec<SqliteRow>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new(format!("SELECT * FROM {table} WHERE id IN ("));
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            found.extend(query.build().fetch_all(&self.pool).await.map_err(err)?);
        }
        Ok(found)
    }
}

fn event_from(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        id: row.try_get("id").map_err(err)?,
        upn: row.try_get("upn").map_err(err)?,
        at: Timestamp(row.try_get("at").map_err(err)?),
        payload: row.try_get("payload").map_err(err)?,
    })
}

/// The rows not yet in `message_index` and `event_index`, as the database
/// has them.
pub(super) async fn load_tails(pool: &SqlitePool) -> Result<Tails, StoreError> {
    Ok(Tails {
        messages: RwLock::new(
            load_tail(pool, "message_index", "messages", "thread_id", "sender").await?,
        ),
        events: RwLock::new(load_tail(pool, "event_index", "events", "upn", "''").await?),
    })
}

/// One tail: the rows of `table` above `index`'s `indexed_upto`.
async fn load_tail(
    pool: &SqlitePool,
    index: &str,
    table: &str,
    key: &str,
    sender: &str,
) -> Result<Tail, StoreError> {
    let indexed_upto: i64 = sqlx::query("SELECT indexed_upto FROM index_state WHERE name = ?")
        .bind(index)
        .fetch_one(pool)
        .await
        .and_then(|row| row.try_get("indexed_upto"))
        .map_err(err)?;
    let entries = sqlx::query(&format!(
        "SELECT id, {key} AS key, {sender} AS sender FROM {table} WHERE id > ? ORDER BY id"
    ))
    .bind(indexed_upto)
    .fetch_all(pool)
    .await
    .map_err(err)?
    .iter()
    .map(|row| {
        Ok(Entry {
            id: row.try_get("id").map_err(err)?,
            key: row.try_get("key").map_err(err)?,
            sender: row.try_get("sender").map_err(err)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Tail::new(indexed_upto, entries, Instant::now()))
}
