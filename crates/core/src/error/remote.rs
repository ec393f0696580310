//! Registries and engines that refuse, fail or cannot be reached, and credentials that cannot
//! be used.

use std::fmt;

/// What went wrong talking to a registry or an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// The connection could not be made; `why` is the system's reason and any hint.
    Connect { why: String },
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Connect { why } => write!(f, "cannot connect: {why}"),
        }
    }
}

/// Why stored credentials could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A docker config's `auth` that is not base64.
    AuthNotBase64,
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::AuthNotBase64 => f.write_str("`auth` is not base64"),
        }
    }
}
