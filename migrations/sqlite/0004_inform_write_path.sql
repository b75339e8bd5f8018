-- Every Inform sets last_connection, so an index on it was rewritten for every session, and it
-- never served the silent-device sweep: the threshold is per device (its own interval), so only
-- the status_up prefix was used, which devices_status (status_up, id) provides.
DROP INDEX IF EXISTS devices_silent;
