//! A CPE's side of CWMP, for the replay harness, the tests and the load generator: an HTTP
//! client with real CPEs' quirks and a session runner that answers the ACS's requests.

pub mod client;
pub mod datamodel;
pub mod replay;
pub mod session;
pub mod simulator;

pub use client::{AuthMode, ClientError, ClientOptions, CpeClient, Reply};
pub use datamodel::DataModel;
pub use session::{Responder, SessionError, SuccessResponder, Transcript, run_session};
pub use simulator::Simulator;
