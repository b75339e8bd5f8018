-- Every Inform sets last_connection, so an index on it was rewritten for every session, and it
-- never served the silent-device sweep: the threshold is per device (its own interval), so only
-- the status_up prefix was used, which devices_status (status_up, id) provides. Without it a
-- periodic Inform changes no indexed column and PostgreSQL can update the row in place (HOT),
-- given free room on its page: hence the fill factor (new pages; existing ones as rewritten).
DROP INDEX IF EXISTS devices_silent;
ALTER TABLE devices SET (fillfactor = 85);
