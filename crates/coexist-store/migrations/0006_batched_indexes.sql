-- The messages of each thread (for listing and resume) and the events of
-- each user (for resume) move from SQLite indexes, which every commit
-- updated (one random index page per message or event: the largest part of
-- a group commit's cost), to tables of their own that the writer fills in
-- batches sorted by key, so a page takes many entries at once. Rows with an
-- id above their index's `index_state.indexed_upto` are not in it yet; the
-- store keeps those in memory and rebuilds that list at start
-- (coexist-store/src/sqlite/batched_index.rs).
CREATE TABLE message_index (
    thread_id  TEXT NOT NULL,
    id         BIGINT NOT NULL,
    PRIMARY KEY (thread_id, id)
);
INSERT INTO message_index (thread_id, id) SELECT thread_id, id FROM messages;
DROP INDEX messages_by_thread;

CREATE TABLE event_index (
    upn  TEXT NOT NULL,
    id   BIGINT NOT NULL,
    PRIMARY KEY (upn, id)
);
INSERT INTO event_index (upn, id) SELECT upn, id FROM events;
DROP INDEX events_by_user;

CREATE TABLE index_state (
    name          TEXT PRIMARY KEY,           -- message_index | event_index
    indexed_upto  BIGINT NOT NULL
);
INSERT INTO index_state (name, indexed_upto)
    SELECT 'message_index', COALESCE(MAX(id), 0) FROM messages;
INSERT INTO index_state (name, indexed_upto)
    SELECT 'event_index', COALESCE(MAX(id), 0) FROM events;
