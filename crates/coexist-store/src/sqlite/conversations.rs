//! The teams side's storage port on SQLite: threads, messages, the event
//! stream and sessions. A commit is one transaction with multi-row inserts,
//! so the writer's group commits cost one fsync each.

use super::{SqliteStore, err, parse, parse_opt};
use async_trait::async_trait;
use coexist_core::StoreError;
use coexist_core::Timestamp;
use coexist_core::teams::model::{Body, Message, Session, StoredEvent, Thread};
use coexist_core::teams::ports::{ConversationSnapshot, ConversationStore, Row, pending_for_sfb};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row as _, Sqlite};

/// Rows per multi-row INSERT, largest first (9 columns at most; SQLite
/// allows 32 766 bound values per statement). A group commit of any size is
/// cut into these few sizes, so the statements stay in the connection's
/// prepared-statement cache instead of being parsed anew for each batch.
const CHUNKS: [usize; 4] = [256, 32, 4, 1];

/// `rows` cut into slices of the [`CHUNKS`] sizes.
fn fixed_chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        let size = CHUNKS.into_iter().find(|size| *size <= rest.len())?;
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

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

fn state_str(thread: &Thread) -> &'static str {
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
        Ok(ConversationSnapshot {
            threads,
            sessions,
            last_message_id: last("messages").await?,
            last_event_id: last("events").await?,
        })
    }

    async fn commit_conversations(&self, rows: &[Row<'_>]) -> Result<(), StoreError> {
        let mut threads = Vec::new();
        let mut messages = Vec::new();
        let mut events = Vec::new();
        let mut sessions = Vec::new();
        for row in rows {
            match *row {
                Row::Thread(t) => threads.push(t),
                Row::Message(m) => messages.push(m),
                Row::Event(e) => events.push(e),
                Row::Session(s) => sessions.push(s),
            }
        }
        let mut tx = self.writer.begin().await.map_err(err)?;
        for thread in threads {
            sqlx::query(
                "INSERT INTO threads (id, kind, topic, method, members, created_by, created_at,
                   state, disabled_reason, replaced_by, replaces)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET members = excluded.members,
                   state = excluded.state, disabled_reason = excluded.disabled_reason,
                   replaced_by = excluded.replaced_by, replaces = excluded.replaces,
                   topic = excluded.topic",
            )
            .bind(&thread.id)
            .bind(thread.kind.as_str())
            .bind(&thread.topic)
            .bind(thread.method.as_str())
            .bind(serde_json::to_string(&thread.members).map_err(err)?)
            .bind(&thread.created_by)
            .bind(thread.created_at.millis())
            .bind(state_str(thread))
            .bind(&thread.disabled_reason)
            .bind(&thread.replaced_by)
            .bind(&thread.replaces)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        for session in sessions {
            sqlx::query(
                "INSERT INTO sessions (digest, upn, created_at, expires_at, revoked)
                 VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (digest) DO UPDATE SET revoked = excluded.revoked,
                   expires_at = excluded.expires_at",
            )
            .bind(&session.digest)
            .bind(&session.upn)
            .bind(session.created_at.millis())
            .bind(session.expires_at.millis())
            .bind(session.revoked)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        let encoded: Vec<(String, String)> = messages
            .iter()
            .map(|m| {
                Ok((
                    serde_json::to_string(&m.attachments).map_err(err)?,
                    serde_json::to_string(&m.deliveries).map_err(err)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let messages: Vec<(&&Message, &(String, String))> = messages.iter().zip(&encoded).collect();
        for chunk in fixed_chunks(&messages) {
            let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO messages (id, thread_id, sender, created_at, content_type, content,
                 converted_from, attachments, deliveries) ",
            );
            query.push_values(chunk, |mut row, (m, (attachments, deliveries))| {
                row.push_bind(m.id)
                    .push_bind(&m.chat_id)
                    .push_bind(&m.from)
                    .push_bind(m.created_at.millis())
                    .push_bind(m.body.content_type.as_str())
                    .push_bind(&m.body.content)
                    .push_bind(m.converted_from.map(|c| c.as_str()))
                    .push_bind(attachments)
                    .push_bind(deliveries);
            });
            query.push(" ON CONFLICT (id) DO UPDATE SET deliveries = excluded.deliveries");
            query.build().execute(&mut *tx).await.map_err(err)?;
        }
        // `sfb_pending` follows the sfb deliveries (native messages, with
        // teams deliveries only, cost nothing here). One statement per
        // chunk, not two per message: each statement is a round trip to the
        // SQLite worker thread. (Measured with `cargo bench --bench interop`:
        // keeping `sfb_pending` at all costs the teams → sfb path about 8 %.)
        let with_sfb: Vec<i64> = messages
            .iter()
            .filter(|(m, _)| {
                m.deliveries
                    .iter()
                    .any(|d| d.client == coexist_policy::Client::Sfb)
            })
            .map(|(m, _)| m.id)
            .collect();
        let pending: Vec<(&str, i64)> = messages
            .iter()
            .flat_map(|(m, _)| {
                m.deliveries
                    .iter()
                    .filter(|d| {
                        d.client == coexist_policy::Client::Sfb && pending_for_sfb(m, &d.upn)
                    })
                    .map(|d| (d.upn.as_str(), m.id))
            })
            .collect();
        for chunk in fixed_chunks(&with_sfb) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("DELETE FROM sfb_pending WHERE message_id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(")");
            query.build().execute(&mut *tx).await.map_err(err)?;
        }
        for chunk in fixed_chunks(&pending) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO sfb_pending (upn, message_id) ");
            query.push_values(chunk, |mut row, (upn, id)| {
                row.push_bind(*upn).push_bind(*id);
            });
            query.build().execute(&mut *tx).await.map_err(err)?;
        }
        for chunk in fixed_chunks(&events) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("INSERT INTO events (id, upn, at, payload) ");
            query.push_values(chunk, |mut row, e| {
                row.push_bind(e.id)
                    .push_bind(&e.upn)
                    .push_bind(e.at.millis())
                    .push_bind(&e.payload);
            });
            query.build().execute(&mut *tx).await.map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn messages(
        &self,
        thread: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        sqlx::query(
            "SELECT * FROM messages WHERE thread_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(thread)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(message_from)
        .collect()
    }

    async fn message(&self, id: i64) -> Result<Option<Message>, StoreError> {
        sqlx::query("SELECT * FROM messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?
            .as_ref()
            .map(message_from)
            .transpose()
    }

    async fn messages_after(
        &self,
        threads: &[String],
        not_from: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        // SQLite takes at most 32 766 bound values: ask by chunks of threads
        // and keep the oldest `limit`.
        let mut found = Vec::new();
        for chunk in threads.chunks(10_000) {
            let mut query: QueryBuilder<Sqlite> =
                QueryBuilder::new("SELECT * FROM messages WHERE thread_id IN (");
            let mut list = query.separated(", ");
            for thread in chunk {
                list.push_bind(thread);
            }
            query
                .push(") AND id > ")
                .push_bind(after)
                .push(" AND sender <> ")
                .push_bind(not_from)
                .push(" ORDER BY id LIMIT ")
                .push_bind(i64::from(limit));
            let rows = query.build().fetch_all(&self.pool).await.map_err(err)?;
            for row in &rows {
                found.push(message_from(row)?);
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
        sqlx::query(
            "SELECT id, upn, at, payload FROM events WHERE upn = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(upn)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(|row| {
            Ok(StoredEvent {
                id: row.try_get("id").map_err(err)?,
                upn: row.try_get("upn").map_err(err)?,
                at: Timestamp(row.try_get("at").map_err(err)?),
                payload: row.try_get("payload").map_err(err)?,
            })
        })
        .collect()
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
