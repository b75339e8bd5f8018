-- What CWMP sessions learn about a device.
ALTER TABLE devices ADD COLUMN connection_request_url TEXT;
ALTER TABLE devices ADD COLUMN periodic_inform_interval INTEGER;
ALTER TABLE devices ADD COLUMN data_model TEXT;
ALTER TABLE devices ADD COLUMN last_inform_events TEXT;
ALTER TABLE devices ADD COLUMN inform_params_hash TEXT;
ALTER TABLE devices ADD COLUMN cwmp_version TEXT;
CREATE INDEX devices_silent ON devices(status_up, last_connection);

-- Parameter values reported by the device (Inform, GetParameterValues, sync).
CREATE TABLE device_parameters (
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    xsd_type  TEXT,
    writable  BOOLEAN,
    updated   INTEGER NOT NULL,
    PRIMARY KEY (device_id, name)
);
