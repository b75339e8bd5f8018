//! ferroacs: a TR-069/CWMP Auto-Configuration Server with an embedded device inventory.

pub mod cwmp;
pub mod digest;
