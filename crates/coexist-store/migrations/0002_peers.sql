-- Peer links of a tenant: its hybrid peer (onprem SIP server, R10.2),
-- federation peers (R3.4) and PSTN gateways (R6).

CREATE TABLE peers (
    tenant      TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
    kind        TEXT NOT NULL,              -- hybrid | federation | pstn
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,              -- host:port
    transport   TEXT NOT NULL,              -- udp | tcp
    domains     TEXT NOT NULL,              -- JSON array
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, kind, name)
);
