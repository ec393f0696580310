//! Registries and engines that refuse, fail or cannot be reached, and credentials that cannot
//! be used.
//!
//! The request is the error's `what` (`GET https://…` for a registry, the socket and its
//! request for an engine); these say what went wrong with it. A status is kept as its number
//! and rendered as HTTP spells it (`404 Not Found`), a server's own words as one line of at
//! most 200 characters (the registry code cuts them) shown in parentheses after the status.

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

/// What went wrong talking to a registry or an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// The connection could not be made; `why` is the system's reason and any hint.
    Connect { why: String },
    /// Nothing came for a whole low-speed window (`waited`).
    Stalled { waited: Duration },
    /// The exchange did not end within its deadline, `of` long.
    Deadline { of: Duration },
    /// A blob's request timed out some other way; `why` is the client's word for it.
    TimedOut { why: String },
    /// A body that brought `got` bytes in `waited`, under the `least` bytes a second needed.
    TooSlow {
        got: u64,
        waited: Duration,
        least: u64,
    },
    /// A body that went past the `size` its descriptor gives.
    PastSize { size: u64 },
    /// A body that ended after `got` of the `size` bytes its descriptor gives.
    Short { got: u64, size: u64 },
    /// A blob's `Content-Length` that is not its descriptor's `size`.
    BlobLength { length: u64, size: u64 },
    /// `401 Unauthorized`, and why strata could not get past it.
    Unauthorized(Unauthorized),
    /// `403 Forbidden`, with the registry's words.
    Forbidden { said: Option<String> },
    /// Any other status that is not a success, with the registry's words.
    Status { status: u16, said: Option<String> },
    /// A redirect without a `Location` to go to.
    NoLocation { status: u16 },
    /// A redirect from an HTTPS registry to plain HTTP (`to`, shown cut), refused.
    Downgrade { status: u16, to: String },
    /// A token service that refused to give a token.
    TokenRefused { status: u16, why: Refused },
    /// A token service's answer without a token in it.
    NoToken,
    /// An answer that could not be read; `why` is the system's reason.
    ReadAnswer { why: String },
    /// An engine's socket that does not answer in HTTP; `status_line`, when there was one.
    NotHttp { status_line: Option<String> },
    /// The engine socket's read timeout could not be set.
    SetTimeout { why: String },
    /// The request `GET path` could not be sent to the engine.
    Send { path: String, why: String },
    /// An engine's status that is not a success (nor a 404), with its words.
    EngineStatus {
        engine: String,
        status: u16,
        said: Option<String>,
    },
}

/// Why a `401 Unauthorized` stays one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unauthorized {
    /// A challenge of a scheme strata does not speak (neither Basic nor Bearer with a realm).
    UnknownScheme,
    /// No credentials were given.
    Required { said: Option<String> },
    /// The credentials given were refused.
    Refused { said: Option<String> },
    /// An HTTPS registry whose token service (`realm`, shown cut) is plain HTTP.
    PlainHttpTokenService { realm: String },
    /// A token service (`realm`, shown cut) whose URL is neither HTTPS nor HTTP.
    TokenServiceNotHttps { realm: String },
}

/// Why a token service gave no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A 401 to the credentials given.
    Credentials,
    /// A 401 without credentials.
    NoCredentials,
    /// Any other status, with the service's words (none when it gave none).
    Said(Option<String>),
}

/// `30 s`, `0.5 s`.
pub(crate) fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A status as HTTP spells it, `404 Not Found`.
fn status_line(status: u16) -> String {
    match ureq::http::StatusCode::from_u16(status) {
        Ok(s) => s.to_string(),
        Err(_) => status.to_string(),
    }
}

/// ` (the server's words)`, or nothing.
struct Said<'a>(&'a Option<String>);

impl fmt::Display for Said<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " ({s})"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Connect { why } => write!(f, "cannot connect: {why}"),
            Remote::Stalled { waited } => write!(f, "nothing received for {}", secs(*waited)),
            Remote::Deadline { of } => {
                write!(f, "no complete answer within the deadline of {}", secs(*of))
            }
            Remote::TimedOut { why } => write!(f, "timed out ({why})"),
            Remote::TooSlow { got, waited, least } => write!(
                f,
                "too slow: {got} bytes in {} (at least {} KiB/s is needed)",
                secs(*waited),
                least >> 10
            ),
            Remote::PastSize { size } => {
                write!(f, "sent more than the {size} bytes its descriptor gives")
            }
            Remote::Short { got, size } => write!(
                f,
                "ended after {got} of the {size} bytes its descriptor gives"
            ),
            Remote::BlobLength { length, size } => write!(
                f,
                "Content-Length {length}, but the blob's descriptor gives {size} bytes"
            ),
            Remote::Unauthorized(why) => write!(f, "401 Unauthorized: {why}"),
            Remote::Forbidden { said } => write!(f, "403 Forbidden: access denied{}", Said(said)),
            Remote::Status { status, said } => {
                write!(f, "{}{}", status_line(*status), Said(said))
            }
            Remote::NoLocation { status } => {
                write!(f, "{} without a Location", status_line(*status))
            }
            Remote::Downgrade { status, to } => write!(
                f,
                "{} to {to}: refused, an HTTPS registry's content is never fetched over plain \
                 HTTP",
                status_line(*status)
            ),
            Remote::TokenRefused { status, why } => write!(f, "{}: {why}", status_line(*status)),
            Remote::NoToken => f.write_str("the answer has no token"),
            Remote::ReadAnswer { why } => write!(f, "cannot read the answer: {why}"),
            Remote::NotHttp { status_line: None } => f.write_str("not an HTTP answer"),
            Remote::NotHttp {
                status_line: Some(line),
            } => write!(f, "not an HTTP answer: {line:?}"),
            Remote::SetTimeout { why } => write!(f, "cannot set a timeout: {why}"),
            Remote::Send { path, why } => write!(f, "cannot send GET {path}: {why}"),
            Remote::EngineStatus {
                engine,
                status,
                said,
            } => write!(f, "the {engine} engine answered {status}{}", Said(said)),
        }
    }
}

/// How `docker login` or `podman login` is suggested.
const LOG_IN: &str = "pass --creds USER:PASSWORD, or log in with docker login or podman login";

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unauthorized::UnknownScheme => {
                f.write_str("the registry asks for authentication strata does not speak")
            }
            Unauthorized::Required { said } => {
                write!(f, "authentication required ({LOG_IN}){}", Said(said))
            }
            Unauthorized::Refused { said } => {
                write!(f, "the registry refused the credentials{}", Said(said))
            }
            Unauthorized::PlainHttpTokenService { realm } => write!(
                f,
                "the HTTPS registry names a plain-HTTP token service {realm}: refused, \
                 credentials and tokens never go over plain HTTP"
            ),
            Unauthorized::TokenServiceNotHttps { realm } => {
                write!(f, "the token service {realm} is not an HTTPS URL")
            }
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Credentials => f.write_str("the credentials were refused"),
            Refused::NoCredentials => {
                f.write_str("authentication required (pass --creds USER:PASSWORD)")
            }
            Refused::Said(said) => f.write_str(said.as_deref().unwrap_or_default()),
        }
    }
}

/// Why stored credentials could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A docker config's `auth` that is not base64.
    AuthNotBase64,
    /// A docker config's `auth` whose decoded bytes are not UTF-8.
    AuthNotUtf8,
    /// A docker config's `auth` that decodes to no `USER:PASSWORD`.
    AuthNotUserPassword,
    /// The credential helper could not be started or waited for; `why` is the system's reason.
    HelperNotRun { why: String },
    /// The credential helper failed; `said` is the first line of its output (helpers print
    /// their errors on stdout, which then holds no secret).
    HelperFailed { status: ExitStatus, said: String },
    /// The credential helper's answer is not `{"Username", "Secret"}`.
    HelperAnswer,
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::AuthNotBase64 => f.write_str("`auth` is not base64"),
            Credentials::AuthNotUtf8 => f.write_str("`auth` is not UTF-8 once decoded"),
            Credentials::AuthNotUserPassword => {
                f.write_str("`auth` is not base64 of USER:PASSWORD")
            }
            Credentials::HelperNotRun { why } => {
                write!(f, "cannot run the credential helper: {why}")
            }
            Credentials::HelperFailed { status, said } => write!(f, "failed ({status}): {said}"),
            Credentials::HelperAnswer => {
                f.write_str("answered something other than {\"Username\", \"Secret\"}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_spelled_as_http_does() {
        // RFC 9110's reason phrases.
        let teapot = Remote::Status {
            status: 418,
            said: Some("short and stout".into()),
        };
        assert_eq!(teapot.to_string(), "418 I'm a teapot (short and stout)");
        let no_words = Remote::Status {
            status: 503,
            said: None,
        };
        assert_eq!(no_words.to_string(), "503 Service Unavailable");
        let token = Remote::TokenRefused {
            status: 500,
            why: Refused::Said(None),
        };
        assert_eq!(token.to_string(), "500 Internal Server Error: ");
        assert_eq!(secs(Duration::from_secs(30)), "30 s");
        assert_eq!(secs(Duration::from_millis(500)), "0.5 s");
    }
}
