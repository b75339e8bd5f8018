//! Pure CWMP SOAP codec: no HTTP, no SQL.
