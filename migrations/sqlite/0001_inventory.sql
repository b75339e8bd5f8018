-- Timestamps are stored as microseconds since the Unix epoch (INTEGER) in both back ends so the
-- store code and its comparisons are identical; the API renders them as RFC 3339 UTC.

CREATE TABLE organizations (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE device_types (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    short_name    TEXT NOT NULL,
    manufacturer  TEXT,
    product_class TEXT,
    settings      TEXT NOT NULL DEFAULT '{}',
    created       INTEGER NOT NULL
);

CREATE TABLE locations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    short_name      TEXT,
    latitude        TEXT,
    longitude       TEXT,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE RESTRICT,
    created         INTEGER NOT NULL
);
CREATE INDEX locations_org ON locations(organization_id, id);

CREATE TABLE firmware_images (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    manufacturer  TEXT,
    product_class TEXT,
    size          INTEGER,
    sha256        TEXT,
    created       INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    admin      BOOLEAN NOT NULL,
    created    INTEGER NOT NULL,
    revoked    INTEGER
);

CREATE TABLE api_token_organizations (
    token_id        INTEGER NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, organization_id)
);

CREATE TABLE devices (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                      TEXT NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    customer_id               TEXT,
    is_active                 BOOLEAN NOT NULL DEFAULT TRUE,
    status_up                 BOOLEAN NOT NULL DEFAULT FALSE,
    status_change             INTEGER NOT NULL,
    type_id                   INTEGER NOT NULL REFERENCES device_types(id) ON DELETE RESTRICT,
    software_version          TEXT,
    hardware_version          TEXT,
    manufacturer              TEXT,
    oui                       TEXT,
    unique_identifier         TEXT,
    product_class             TEXT,
    serial_number             TEXT UNIQUE,
    serial_number_alt         TEXT,
    description               TEXT,
    organization_id           INTEGER NOT NULL REFERENCES organizations(id) ON DELETE RESTRICT,
    firmware_image_id         INTEGER REFERENCES firmware_images(id) ON DELETE RESTRICT,
    firmware_image_is_pending BOOLEAN NOT NULL DEFAULT FALSE,
    location_name             TEXT,
    location_id               INTEGER REFERENCES locations(id) ON DELETE RESTRICT,
    latitude                  TEXT,
    longitude                 TEXT,
    username                  TEXT UNIQUE,
    ha1_md5                   TEXT,
    ha1_sha256                TEXT,
    basic_hash                TEXT,
    update_frequency          INTEGER,
    address                   TEXT,
    last_connection           INTEGER,
    last_configuration        INTEGER,
    last_change               INTEGER NOT NULL,
    created                   INTEGER NOT NULL,
    debug                     BOOLEAN NOT NULL DEFAULT FALSE,
    reboot_requested          INTEGER,
    factory_requested         INTEGER,
    sync_requested            INTEGER,
    last_fault                TEXT
);
CREATE INDEX devices_org_status ON devices(organization_id, status_up, id);
CREATE INDEX devices_status ON devices(status_up, id);
CREATE INDEX devices_type ON devices(type_id, id);
CREATE INDEX devices_status_change ON devices(status_change);
CREATE INDEX devices_location ON devices(location_id);
CREATE INDEX devices_firmware ON devices(firmware_image_id);
