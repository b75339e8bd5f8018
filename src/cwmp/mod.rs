//! Pure CWMP (TR-069) SOAP codec: no HTTP, no SQL, no async.
//!
//! Used in both directions, symmetrically: the ACS parses what CPEs send and writes what the ACS
//! sends; the CPE simulator, replay tool and load generator do the reverse. Every [`Body`]
//! variant can be written by [`write()`] and read back by [`parse`].
//!
//! ```
//! use ferroacs::cwmp::{self, Body, CwmpNs, Envelope, Header, Limits};
//!
//! let env = Envelope::new(CwmpNs::V1_0, Header::with_id("42"), Body::InformResponse { max_envelopes: 1 });
//! let bytes = cwmp::to_vec(&env);
//! assert!(bytes.starts_with(b"<soap-env:Envelope "));
//! assert_eq!(cwmp::parse(&bytes, &Limits::default()).unwrap(), env);
//! ```
//!
//! # Parsing ([`parse`], [`parse_partial`])
//! Liberal in what it accepts (see `cwmp-notes.md`): any SOAP prefix or none, single quotes,
//! whitespace anywhere, UTF-8 BOM, ISO-8859-1 (declared, or as fallback for invalid UTF-8),
//! no Header, 1999 XMLSchema namespaces, `xsi:type` everywhere or nowhere, wrong `arrayType`
//! counts, zero-padded numbers, odd dateTimes ([`CwmpTime`]), duplicate parameters (kept, in
//! order), SOAP Fault details in odd places, vendor fault codes, booleans as `1`/`true`/`0`/`false`.
//! Strict where it matters for safety: DOCTYPEs are refused ([`CodecError::Dtd`]) so entities
//! are never expanded beyond the five predefined ones and character references, and input
//! size, nesting depth and list lengths are bounded by [`Limits`]. It never panics.
//!
//! Namespace: [`Envelope::ns`] is the namespace of the RPC element (else of the header
//! entries, else of a nested `cwmp:Fault`, else [`CwmpNs::V1_0`]), taken literally: a CPE
//! using `urn:dslforum-org:cwmp-1-3` yields [`CwmpNs::V1_3`], one using `-1-2` yields
//! [`CwmpNs::V1_2`] whatever version its headers negotiate.
//!
//! Optional times: `Option<CwmpTime>` fields are `None` when the element is absent, empty or
//! holds the unknown time `0001-01-01T00:00:00Z`; the writer writes `None` as that unknown time
//! (the schemas require a dateTime).
//!
//! # Writing ([`write()`], [`to_vec`], [`write_with`])
//! Plain and short, no XML declaration; see [`write()`] and [`NsMode`] for the
//! namespace written for 1.3/1.4 (`-1-2` by default, the literal one with [`NsMode::Wire`]:
//! use `Wire` when echoing the namespace parsed from a CPE).

mod error;
mod input;
mod parse;
mod time;
mod types;
mod write;

pub use error::{CodecError, Limits};
pub use parse::{Partial, parse, parse_partial};
pub use time::{CwmpTime, UNKNOWN_TIME, format_datetime, parse_datetime};
pub use types::*;
pub use write::{NsMode, WriteOptions, to_vec, to_vec_with, write, write_with};
