-- The messages of each thread (for listing and for resume) move from a
-- SQLite index on `messages`, which every commit updated (one random index
-- page per message: the largest part of a group commit's cost), to a table
-- of their own that the writer fills in batches sorted by thread, so a page
-- takes many entries at once. Messages with an id above
-- `message_index_state.indexed_upto` are not in it yet; the store keeps
-- those in memory and rebuilds that list from `messages` at start
-- (coexist-store/src/sqlite/message_index.rs).
CREATE TABLE message_index (
    thread_id  TEXT NOT NULL,
    id         BIGINT NOT NULL,
    PRIMARY KEY (thread_id, id)
);
INSERT INTO message_index (thread_id, id) SELECT thread_id, id FROM messages;
DROP INDEX messages_by_thread;

CREATE TABLE message_index_state (
    indexed_upto BIGINT NOT NULL
);
INSERT INTO message_index_state (indexed_upto) SELECT COALESCE(MAX(id), 0) FROM messages;
