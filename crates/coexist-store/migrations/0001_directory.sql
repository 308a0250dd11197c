-- The directory: tenants, users, legacy interop policies, tenant tokens and
-- the audit log. TEXT, BIGINT, BOOLEAN, JSON kept as TEXT: SQL that
-- PostgreSQL also speaks, except the audit id (AUTOINCREMENT; an identity
-- column there). Timestamps are Unix milliseconds.

CREATE TABLE tenants (
    name            TEXT PRIMARY KEY,
    domains         TEXT NOT NULL,          -- JSON array, primary first
    topology        TEXT NOT NULL,          -- online | hybrid | onprem (R10.2)
    cloud           TEXT NOT NULL,          -- R3.4
    upgrade_policy  TEXT,                   -- tenant-wide grant (R1.3)
    federation      TEXT NOT NULL,          -- JSON FederationSettings (R3.4)
    created_at      BIGINT NOT NULL
);

CREATE TABLE users (
    upn                  TEXT PRIMARY KEY,
    tenant               TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
    display_name         TEXT NOT NULL,
    sfb_homing           TEXT NOT NULL,
    teams_enabled        BOOLEAN NOT NULL,
    sfb_enabled          BOOLEAN NOT NULL,
    voice                TEXT NOT NULL,
    phone_number         TEXT UNIQUE,
    specialized_workflow BOOLEAN NOT NULL,
    upgrade_policy       TEXT,              -- the user's own grant (R1.3)
    interop_policy       TEXT,              -- legacy policy name (R9)
    password_hash        TEXT,              -- argon2id PHC; NULL until first log-in after import
    ha1_md5              TEXT,              -- SIP digest HA1 (RFC 2617)
    ha1_sha256           TEXT,              -- SIP digest HA1 (RFC 8760)
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);

CREATE INDEX users_by_tenant ON users (tenant);

CREATE TABLE interop_policies (
    name                           TEXT PRIMARY KEY,
    chat_default_client            TEXT NOT NULL,
    calling_default_client         TEXT NOT NULL,
    allow_end_user_client_override BOOLEAN NOT NULL
);

CREATE TABLE tenant_tokens (
    digest      TEXT PRIMARY KEY,           -- SHA-256 of the bearer token
    tenant      TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Kept when tenants go: no foreign key.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    tenant  TEXT,
    target  TEXT NOT NULL,
    before  TEXT NOT NULL,                  -- JSON
    after   TEXT NOT NULL                   -- JSON
);

CREATE INDEX audit_by_tenant ON audit (tenant, id);
