//! The teams writer's group commit, on a synchronous SQLite connection
//! (rusqlite) owned by the store and used only by the thread that commits.
//!
//! Why not sqlx here, as everywhere else in this crate: sqlx runs each
//! SQLite connection on a worker thread of its own and every statement is a
//! round trip to it. A group commit is about ten statements; on 2 cores
//! busy with HTTP each hand-off waits for the scheduler, and a commit of
//! ~100 messages took 6–10 ms of which SQLite's own work was a fraction
//! (measured with `cargo bench --bench teams_messages`, see BENCHMARKS.md).
//! The writer being a single serial loop, that wait bounded the whole teams
//! side's durable rate. Here the commit runs on the caller's thread, one
//! prepared statement per row kind, with no hand-off at all. Both crates
//! link the same `libsqlite3-sys`, so it is one SQLite library.

use super::batched_index::{Flush, Tails, read, write};
use super::{CONNECTION_PRAGMAS, err};
use coexist_core::StoreError;
use coexist_core::teams::model::{Message, Session, StoredEvent, Thread};
use coexist_core::teams::ports::{Row, pending_for_sfb};
use coexist_policy::Client;
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::{Duration, Instant};

/// Opens the commit connection on `path` (already created and migrated by
/// the sqlx pool) with the same settings ([`CONNECTION_PRAGMAS`]).
pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(err)?;
    // Another writer (the directory, on the sqlx pool) may hold the write
    // lock for a moment: wait for it rather than fail the commit.
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(err)?;
    // WAL is a property of the database file, set by the pool already.
    for (name, value) in CONNECTION_PRAGMAS {
        connection.pragma_update(None, name, value).map_err(err)?;
    }
    connection.set_prepared_statement_cache_capacity(16);
    Ok(connection)
}

/// Writes `rows` in one transaction (one fsync), with the tails' entries
/// for `message_index` and `event_index` when a flush is due; then tells the
/// tails.
pub(super) fn commit(
    connection: &mut Connection,
    tails: &Tails,
    rows: &[Row<'_>],
) -> Result<(), StoreError> {
    // Only this function changes the tails, and the caller holds the
    // connection's lock: they cannot move between here and the end.
    let now = Instant::now();
    let message_flush = read(&tails.messages).due(now);
    let event_flush = read(&tails.events).due(now);
    let transaction = connection.transaction().map_err(err)?;
    for row in rows {
        match *row {
            Row::Thread(thread) => put_thread(&transaction, thread)?,
            Row::Session(session) => put_session(&transaction, session)?,
            Row::Message(message) => put_message(&transaction, message)?,
            Row::Event(event) => put_event(&transaction, event)?,
        }
    }
    if let Some(flush) = &message_flush {
        put_index(&transaction, "message_index", "thread_id", flush)?;
    }
    if let Some(flush) = &event_flush {
        put_index(&transaction, "event_index", "upn", flush)?;
    }
    transaction.commit().map_err(err)?;
    let now = Instant::now();
    write(&tails.messages).committed(
        message_flush.map(|f| f.indexed_upto),
        rows.iter().filter_map(|row| match *row {
            Row::Message(m) => Some((m.id, m.chat_id.as_str(), m.from.as_str())),
            _ => None,
        }),
        now,
    );
    write(&tails.events).committed(
        event_flush.map(|f| f.indexed_upto),
        rows.iter().filter_map(|row| match *row {
            Row::Event(e) => Some((e.id, e.upn.as_str(), "")),
            _ => None,
        }),
        now,
    );
    Ok(())
}

/// A flush: the entries into `table` (sorted by key, so each page is written
/// once) and its new boundary.
fn put_index(
    connection: &Connection,
    table: &'static str,
    key: &'static str,
    flush: &Flush,
) -> Result<(), StoreError> {
    let mut insert = connection
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO {table} ({key}, id) VALUES (?, ?)"
        ))
        .map_err(err)?;
    for (key, id) in &flush.rows {
        insert.execute(params![key, id]).map_err(err)?;
    }
    connection
        .prepare_cached("UPDATE index_state SET indexed_upto = ? WHERE name = ?")
        .map_err(err)?
        .execute(params![flush.indexed_upto, table])
        .map_err(err)?;
    Ok(())
}

fn put_thread(connection: &Connection, thread: &Thread) -> Result<(), StoreError> {
    let members = serde_json::to_string(&thread.members).map_err(err)?;
    connection
        .prepare_cached(
            "INSERT INTO threads (id, kind, topic, method, members, created_by, created_at,
               state, disabled_reason, replaced_by, replaces)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET members = excluded.members,
               state = excluded.state, disabled_reason = excluded.disabled_reason,
               replaced_by = excluded.replaced_by, replaces = excluded.replaces,
               topic = excluded.topic",
        )
        .map_err(err)?
        .execute(params![
            thread.id,
            thread.kind.as_str(),
            thread.topic,
            thread.method.as_str(),
            members,
            thread.created_by,
            thread.created_at.millis(),
            super::conversations::state_str(thread),
            thread.disabled_reason,
            thread.replaced_by,
            thread.replaces,
        ])
        .map_err(err)?;
    Ok(())
}

fn put_session(connection: &Connection, session: &Session) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO sessions (digest, upn, created_at, expires_at, revoked)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (digest) DO UPDATE SET revoked = excluded.revoked,
               expires_at = excluded.expires_at",
        )
        .map_err(err)?
        .execute(params![
            session.digest,
            session.upn,
            session.created_at.millis(),
            session.expires_at.millis(),
            session.revoked,
        ])
        .map_err(err)?;
    Ok(())
}

/// A new or changed message, and the `sfb_pending` rows that follow its sfb
/// deliveries (a native message, with teams deliveries only, costs nothing
/// there).
fn put_message(connection: &Connection, message: &Message) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO messages (id, thread_id, sender, created_at, content_type, content,
               converted_from, attachments, deliveries)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET deliveries = excluded.deliveries",
        )
        .map_err(err)?
        .execute(params![
            message.id,
            message.chat_id,
            message.from,
            message.created_at.millis(),
            message.body.content_type.as_str(),
            message.body.content,
            message.converted_from.map(|c| c.as_str()),
            serde_json::to_string(&message.attachments).map_err(err)?,
            serde_json::to_string(&message.deliveries).map_err(err)?,
        ])
        .map_err(err)?;
    let mut to_sfb = message
        .deliveries
        .iter()
        .filter(|d| d.client == Client::Sfb)
        .peekable();
    if to_sfb.peek().is_none() {
        return Ok(());
    }
    connection
        .prepare_cached("DELETE FROM sfb_pending WHERE message_id = ?")
        .map_err(err)?
        .execute(params![message.id])
        .map_err(err)?;
    for delivery in to_sfb.filter(|d| pending_for_sfb(message, &d.upn)) {
        connection
            .prepare_cached("INSERT INTO sfb_pending (upn, message_id) VALUES (?, ?)")
            .map_err(err)?
            .execute(params![delivery.upn, message.id])
            .map_err(err)?;
    }
    Ok(())
}

fn put_event(connection: &Connection, event: &StoredEvent) -> Result<(), StoreError> {
    connection
        .prepare_cached("INSERT INTO events (id, upn, at, payload) VALUES (?, ?, ?, ?)")
        .map_err(err)?
        .execute(params![
            event.id,
            event.upn,
            event.at.millis(),
            event.payload
        ])
        .map_err(err)?;
    Ok(())
}
