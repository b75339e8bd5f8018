//! HTTP Digest (RFC 7616 / RFC 2069) and Basic authentication.
