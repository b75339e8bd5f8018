//! Parse limits and errors.

/// Resource limits applied by [`super::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes (before any charset conversion). Default 4 MiB.
    pub max_bytes: usize,
    /// Deepest accepted element nesting (the Envelope is depth 1). Default 32.
    pub max_depth: usize,
    /// Most list items accepted in one envelope, all lists together (parameters, names,
    /// events, attributes, ...). Default 100 000.
    pub max_parameters: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 32,
            max_parameters: 100_000,
        }
    }
}

/// Why an input is not a usable CWMP envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Empty or whitespace-only input (the CPE's "nothing more to say" POST), or an envelope
    /// whose Body holds no element. Not an envelope: the session layer handles it.
    #[error("empty message")]
    Empty,
    /// More bytes than [`Limits::max_bytes`] or more list items than [`Limits::max_parameters`].
    #[error("message exceeds size limits")]
    TooLarge,
    /// Elements nested deeper than [`Limits::max_depth`].
    #[error("message nested too deeply")]
    TooDeep,
    /// A DOCTYPE (and thus any entity declaration) was present: refused, never expanded.
    #[error("DTDs and entity declarations are refused")]
    Dtd,
    /// Not well-formed XML (including truncated input).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Well-formed XML, but not a SOAP envelope.
    #[error("not a SOAP envelope")]
    NotSoap,
    /// A well-formed envelope carrying an RPC this codec does not know (answer fault 8000).
    #[error("unknown CWMP method {0:?}")]
    UnknownMethod(String),
    /// A known RPC with a missing required element or an unparsable value (answer fault 8003).
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
}

impl CodecError {
    /// The CWMP fault code an ACS answers a CPE request with when parsing fails this way:
    /// 8000 for unknown methods, 8003 for invalid arguments, 8004 for oversized messages,
    /// 8002 otherwise. (A CPE would use the 9xxx equivalents: add 1000.)
    pub fn acs_fault_code(&self) -> u32 {
        match self {
            CodecError::UnknownMethod(_) => 8000,
            CodecError::InvalidArguments(_) => 8003,
            CodecError::TooLarge | CodecError::TooDeep => 8004,
            _ => 8002,
        }
    }
}
