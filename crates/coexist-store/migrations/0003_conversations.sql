-- The teams side: persistent threads (R4.4), their messages, the durable
-- per-user event stream the WebSocket serves, and log-in sessions.

CREATE TABLE threads (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,            -- oneOnOne | group
    topic            TEXT,
    method           TEXT NOT NULL,            -- native | interop | federated (R4.1)
    members          TEXT NOT NULL,            -- JSON [{upn, client}]
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    state            TEXT NOT NULL,            -- active | disabled (R4.2)
    disabled_reason  TEXT,
    replaced_by      TEXT,
    replaces         TEXT
);

CREATE TABLE messages (
    id              BIGINT PRIMARY KEY,
    thread_id       TEXT NOT NULL,
    sender          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    content_type    TEXT NOT NULL,
    content         TEXT NOT NULL,
    converted_from  TEXT,                      -- R5.1 marker
    attachments     TEXT NOT NULL,             -- JSON array
    deliveries      TEXT NOT NULL              -- JSON [{upn, client, state}]
);
CREATE INDEX messages_by_thread ON messages (thread_id, id);

CREATE TABLE events (
    id       BIGINT PRIMARY KEY,
    upn      TEXT NOT NULL,
    at       BIGINT NOT NULL,
    payload  TEXT NOT NULL                     -- the JSON sent on the WebSocket
);
CREATE INDEX events_by_user ON events (upn, id);

CREATE TABLE sessions (
    digest      TEXT PRIMARY KEY,              -- SHA-256 of the bearer token
    upn         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked     BOOLEAN NOT NULL
);
