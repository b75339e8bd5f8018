-- Device operations: settings groups, reboot / factory reset / sync / firmware progress,
-- connection requests, debug transcripts, and the ACS's own secrets.

-- Per-device setting overrides ({"group": {"Param.Path": value | {"value": v, "type": "xsd:..."}}}).
ALTER TABLE devices ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
-- Something in the settings may be pending (conservative; the planner recomputes it exactly).
ALTER TABLE devices ADD COLUMN settings_pending BOOLEAN NOT NULL DEFAULT TRUE;
-- When firmware_image_is_pending last became true.
ALTER TABLE devices ADD COLUMN firmware_requested INTEGER;
-- The CPE holds the connection-request credentials the ACS derives for it.
ALTER TABLE devices ADD COLUMN cr_configured BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE devices ADD COLUMN cr_last_attempt INTEGER;
ALTER TABLE devices ADD COLUMN cr_last_result TEXT;
CREATE INDEX devices_type_settings ON devices(type_id, settings_pending);

-- Progress of each pending item of a device ('factory_reset', 'firmware', 'settings:<group>',
-- 'update_frequency', 'connection_request_credentials', 'sync', 'reboot').
CREATE TABLE device_ops (
    device_id      INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    item           TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_attempt   INTEGER,
    next_attempt   INTEGER,
    last_fault     TEXT,
    gave_up        BOOLEAN NOT NULL DEFAULT FALSE,
    command_key    TEXT,
    sent_at        INTEGER,
    confirmed_hash TEXT,
    confirmed_at   INTEGER,
    PRIMARY KEY (device_id, item)
);

-- Transcripts of the last sessions of devices in debug mode.
CREATE TABLE device_sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id  INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    started    INTEGER NOT NULL,
    ended      INTEGER NOT NULL,
    transcript TEXT NOT NULL
);
CREATE INDEX device_sessions_device ON device_sessions(device_id, id);

-- Keys the ACS generates once and every instance shares (signing, derived credentials).
CREATE TABLE acs_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
