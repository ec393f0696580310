//! The registry's HTTP side: one agent per registry, the scheme (HTTPS, or plain HTTP with
//! `--insecure`), redirects that never carry credentials to another host, bounded retries on
//! 5xx and 429, and a status that is not a success made one typed error naming the URL. The
//! challenge and its token are `token.rs`'s, the time rules `body.rs`'s, URLs `url.rs`'s.
//!
//! A registry is a stranger: nothing it sends may hold strata for ever or fill its memory.
//! - Time: every exchange but a blob's body (the `/v2/` probe, a manifest, a token, an error
//!   body) has one deadline, [`Limits::deadline`], across its redirects, retries and
//!   authentication; a blob has the same deadline until its headers arrive. A body (a blob's
//!   too) must keep the low-speed rule: at least [`MIN_SPEED`](super::body::MIN_SPEED) on average over every
//!   [`Limits::stall`] spent waiting for it, and no single wait longer than that window. Large
//!   layers over a slow link take minutes and are left alone; a byte every 5 s is cut. The
//!   window counts only time spent inside reads, so a consumer busy elsewhere (decompressing,
//!   applying) is never blamed on the server.
//! - Size: headers are ureq's 64 KiB at most, a token answer and an error body 64 KiB, a
//!   manifest or index [`MANIFEST_LIMIT`], and a blob stops at its descriptor's size (see
//!   [`Body`]).
//! - Credentials go over HTTPS only (or to a plain-HTTP registry the user named with
//!   `--insecure`), to the registry's own origin or the token service it names; an HTTPS
//!   registry's redirect to plain HTTP is refused.

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::http::{Response, StatusCode};

use super::auth::Credentials;
use super::body::{Body, Deadline, Limits};
use super::token::AuthState;
use super::url::{origin, resolve_location, scheme, shown, shown_url};
use crate::error::remote::Unauthorized;
use crate::error::{Error, Remote, Result, TooMany};

/// Tries per request on 5xx and 429 (the first included).
const TRIES: u32 = 4;
/// Redirects followed per request.
const MAX_REDIRECTS: usize = 5;
/// The most of an error body read to explain a status.
const ERROR_BODY_LIMIT: u64 = 64 << 10;
/// The largest manifest or index taken from a registry: containerd's limit
/// (`remotes.MaxManifestSize`, 4 MiB); real ones are a few KiB.
pub(crate) const MANIFEST_LIMIT: u64 = 4 << 20;
/// The longest a connection may take to set up (TCP and TLS), within the deadline.
const CONNECT: Duration = Duration::from_secs(30);

/// A server's words made one short line: control characters escaped, at most 200 characters.
fn one_line(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars().take(200) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The registry's own words from an error body (`{"errors":[{"message": …}]}`), or its first
/// line; one line of at most 200 characters either way.
pub(crate) fn explain(body: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let first = v.get("errors").and_then(|e| e.get(0));
        let message = first
            .and_then(|e| e.get("message"))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("details"))
            .and_then(|m| m.as_str());
        if let Some(m) = message.map(one_line).filter(|m| !m.is_empty()) {
            return Some(m);
        }
    }
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(one_line(line))
}

/// The error for a status that is neither a success nor a redirect, nor a 401 strata can
/// answer: `what` says what a 404 means, `said` is the registry's words, `creds` whether
/// credentials were given.
fn refused(url: &str, status: StatusCode, creds: bool, what: &str, said: Option<String>) -> Error {
    let shown = shown(url);
    let why = match status.as_u16() {
        401 if creds => Remote::Unauthorized(Unauthorized::Refused { said }),
        401 => Remote::Unauthorized(Unauthorized::Required { said }),
        403 => Remote::Forbidden { said },
        404 => {
            let said = said.map(|s| format!(" ({s})")).unwrap_or_default();
            return Error::NotFound(format!("{shown}: 404 Not Found: {what}{said}"));
        }
        status => Remote::Status { status, said },
    };
    Error::Remote { what: shown, why }
}

/// A registry's API, shared by the threads that read its blobs.
pub(crate) struct Client {
    agent: ureq::Agent,
    /// `host[:port]` of the API.
    host: String,
    insecure: bool,
    pub(super) creds: Option<Credentials>,
    pub(super) limits: Limits,
    /// `https` or `http`, once a first connection said which.
    scheme: Mutex<Option<&'static str>>,
    pub(super) auth: Mutex<AuthState>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.host)
            .field("insecure", &self.insecure)
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

/// A successful answer: the URL that gave it (after redirects) and the response.
pub(crate) struct Reply {
    pub url: String,
    pub response: Response<ureq::Body>,
    /// The exchange's deadline, which a small answer's body is read under.
    deadline: Option<Deadline>,
    stall: Duration,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get(name)?.to_str().ok()
    }

    pub(crate) fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    /// The body, read under the time rules; `size`, when given, is the exact length it must
    /// have (a blob's descriptor).
    pub(crate) fn into_body(self, size: Option<u64>) -> Body<ureq::BodyReader<'static>> {
        Body::new(
            self.response.into_body().into_reader(),
            &self.url,
            self.stall,
            self.deadline,
            size,
        )
    }
}

/// What [`Client::get`] asks, the same on every hop: the media types it accepts, the scope it
/// authenticates for, whether it is a blob's, its deadline, and the registry's origin.
struct Asked<'a> {
    accept: &'a str,
    scope: &'a str,
    blob: bool,
    deadline: Deadline,
    /// The registry's `scheme://host[:port]`, where credentials may go.
    home: String,
}

impl Client {
    /// A client for the registry at `host` (`host[:port]`).
    ///
    /// `--insecure` turns off certificate verification (ureq's `TlsConfig::disable_verification`,
    /// which accepts any certificate) and allows falling back to plain HTTP.
    pub(crate) fn new(host: &str, insecure: bool, creds: Option<Credentials>) -> Client {
        let limits = Limits::from_env();
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(insecure)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by hand, to decide per hop whether credentials go along.
            .max_redirects(0)
            .timeout_connect(Some(CONNECT))
            .timeout_recv_response(Some(limits.deadline))
            // No single wait longer than the low-speed window, headers and bodies alike; each
            // request also gets what is left of its deadline (`request`).
            .timeout_per_read(Some(limits.stall))
            .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        Client {
            agent: config.into(),
            host: host.to_string(),
            insecure,
            creds,
            limits,
            scheme: Mutex::new(None),
            auth: Mutex::new(AuthState::default()),
        }
    }

    /// A `GET` of `url` with what is left of `deadline`: for the whole exchange, body
    /// included, or (`blob`) until the headers arrive.
    pub(super) fn request(
        &self,
        url: &str,
        deadline: &Deadline,
        blob: bool,
    ) -> Result<ureq::RequestBuilder<ureq::typestate::WithoutBody>> {
        let left = deadline.remaining(url)?;
        let config = self.agent.get(url).config();
        let config = if blob {
            config
                .timeout_resolve(Some(left))
                .timeout_connect(Some(left.min(CONNECT)))
                .timeout_send_request(Some(left))
                .timeout_recv_response(Some(left))
        } else {
            config.timeout_global(Some(left))
        };
        Ok(config.build())
    }

    /// `https://host`, or with `--insecure` `http://host` when HTTPS does not connect.
    fn base(&self) -> Result<String> {
        let mut scheme = self.scheme.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = *scheme {
            return Ok(format!("{s}://{}", self.host));
        }
        let deadline = Deadline::start(self.limits.deadline);
        let https = format!("https://{}/v2/", self.host);
        let chosen = match self.request(&https, &deadline, false)?.call() {
            Ok(_) => "https",
            Err(_) if self.insecure => {
                let http = format!("http://{}/v2/", self.host);
                self.request(&http, &deadline, false)?
                    .call()
                    .map_err(|e| self.network_error(&http, &e, &deadline))?;
                "http"
            }
            Err(e) => return Err(self.network_error(&https, &e, &deadline)),
        };
        *scheme = Some(chosen);
        Ok(format!("{chosen}://{}", self.host))
    }

    pub(super) fn network_error(&self, url: &str, e: &ureq::Error, deadline: &Deadline) -> Error {
        let why = match e {
            ureq::Error::Timeout(ureq::Timeout::PerRead) => Remote::Stalled {
                waited: self.limits.stall,
            },
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
                Remote::Connect { why: e.to_string() }
            }
            ureq::Error::Timeout(_) => return deadline.error(url),
            _ => {
                let hint = if self.insecure {
                    ""
                } else {
                    " (a plain-HTTP or self-signed registry needs --insecure)"
                };
                Remote::Connect {
                    why: format!("{e}{hint}"),
                }
            }
        };
        Error::Remote {
            what: shown(url),
            why,
        }
    }

    /// Sends a request, again on 5xx and 429 (up to [`TRIES`], honouring `Retry-After` up to
    /// 10 s), while the deadline leaves time to wait; else the last answer is the result.
    pub(super) fn with_retries(
        &self,
        deadline: &Deadline,
        send: impl Fn() -> Result<Response<ureq::Body>>,
    ) -> Result<Response<ureq::Body>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = send()?;
            let status = response.status();
            let retry = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if !retry || attempt >= TRIES {
                return Ok(response);
            }
            let after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(10)));
            let wait = after.unwrap_or(Duration::from_millis(250 << attempt));
            if Instant::now() + wait >= deadline.at {
                return Ok(response);
            }
            std::thread::sleep(wait);
        }
    }

    /// `GET` a path of the API (`/v2/…`) with `accept`, authenticating for `scope` when
    /// challenged and following redirects, all within one deadline; a `blob`'s body is then
    /// free of it (the low-speed rule still holds). Any status but 2xx is an error naming the
    /// URL; `what` says what a 404 means.
    pub(crate) fn get(
        &self,
        path: &str,
        accept: &str,
        scope: &str,
        what: &str,
        blob: bool,
    ) -> Result<Reply> {
        let base = self.base()?;
        let asked = Asked {
            accept,
            scope,
            blob,
            deadline: Deadline::start(self.limits.deadline),
            home: origin(&base),
        };
        let mut url = format!("{base}{path}");
        let mut authenticated = false;
        let mut hops = 0;
        loop {
            let response = self.send(&url, &asked)?;
            let status = response.status();
            if status.is_success() {
                return Ok(Reply {
                    url,
                    response,
                    deadline: (!blob).then_some(asked.deadline),
                    stall: self.limits.stall,
                });
            }
            if status.is_redirection() {
                hops += 1;
                url = redirect(&url, &response, hops, &asked.home)?;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !authenticated && origin(&url) == asked.home {
                authenticated = true;
                let header = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok());
                self.authenticate(&url, header, scope, &asked.deadline)?;
                continue;
            }
            return Err(self.refusal(&url, response, &asked.deadline, what));
        }
    }

    /// One request of [`Client::get`] to `url`, retried as [`Client::with_retries`] says.
    fn send(&self, url: &str, asked: &Asked<'_>) -> Result<Response<ureq::Body>> {
        // Credentials go to the registry's own origin only, never along a redirect to blob
        // storage elsewhere.
        let auth = (origin(url) == asked.home)
            .then(|| self.authorization(asked.scope))
            .flatten();
        self.with_retries(&asked.deadline, || {
            let mut request = self
                .request(url, &asked.deadline, asked.blob)?
                .header("Accept", asked.accept);
            if let Some(a) = &auth {
                request = request.header("Authorization", a);
            }
            request
                .call()
                .map_err(|e| self.network_error(url, &e, &asked.deadline))
        })
    }

    /// The error for an answer that is not a success: the registry's words read from its
    /// body (at most [`ERROR_BODY_LIMIT`], within the deadline) and made one line.
    fn refusal(
        &self,
        url: &str,
        response: Response<ureq::Body>,
        deadline: &Deadline,
        what: &str,
    ) -> Error {
        let status = response.status();
        let mut body = Vec::new();
        let _ = Body::new(
            response.into_body().into_reader(),
            url,
            self.limits.stall,
            Some(*deadline),
            None,
        )
        .take(ERROR_BODY_LIMIT)
        .read_to_end(&mut body);
        let said = explain(&String::from_utf8_lossy(&body));
        refused(url, status, self.creds.is_some(), what, said)
    }
}

/// Where the redirect `response` to a request of `url` goes: its `Location`, resolved, when
/// this is hop `hops` of at most [`MAX_REDIRECTS`] and it does not take the content of an
/// HTTPS registry (at `home`) to plain HTTP.
fn redirect(url: &str, response: &Response<ureq::Body>, hops: usize, home: &str) -> Result<String> {
    let status = response.status().as_u16();
    let fail = |why| Error::Remote {
        what: shown(url),
        why,
    };
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| fail(Remote::NoLocation { status }))?;
    if hops > MAX_REDIRECTS {
        return Err(Error::TooMany {
            what: shown(url),
            limit: TooMany::Redirects {
                limit: MAX_REDIRECTS,
            },
        });
    }
    let next = resolve_location(url, location);
    // An HTTPS registry's answer must not be fetched over plain HTTP, where anyone on the way
    // can change it (a manifest by tag has no digest to check).
    let next_scheme = scheme(&next);
    if next_scheme != "https" && !(next_scheme == "http" && scheme(home) == "http") {
        let to = shown_url(&next);
        return Err(fail(Remote::Downgrade { status, to }));
    }
    Ok(next)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_bodies() {
        assert_eq!(
            explain(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#)
                .as_deref(),
            Some("manifest unknown")
        );
        assert_eq!(explain("\n  oops\nmore").as_deref(), Some("oops"));
        assert_eq!(explain(""), None);
    }

    #[test]
    fn messages_stay_one_short_line() {
        let said = explain(
            r#"{"errors":[{"message":"gone\n\u001b]0;x\u0007\u001b[2Jall checks passed"}]}"#,
        )
        .unwrap();
        assert_eq!(said, r"gone\n\u{1b}]0;x\u{7}\u{1b}[2Jall checks passed");
        assert_eq!(explain(&"x".repeat(10_000)).unwrap().len(), 200);
    }

    /// A plain-HTTP registry on a local port that gives every request `answer` (a whole
    /// HTTP/1.1 response) and closes; a TLS hello is closed at once, so that `--insecure`
    /// falls back to HTTP. Its thread lives as long as the tests.
    fn serve(answer: String) -> String {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(|s| s.ok()) {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                    if head == [0x16] {
                        break;
                    }
                }
                if head != [0x16] {
                    let _ = stream.write_all(answer.as_bytes());
                }
            }
        });
        host
    }

    /// What `get` of a manifest gives when the registry answers `status` with `headers` and
    /// `body`, and the URL it names.
    fn answered(status: &str, headers: &str, body: &str) -> (Error, String) {
        let answer = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n\
             {body}",
            body.len()
        );
        let host = serve(answer);
        let client = Client::new(&host, true, None);
        let path = "/v2/a/manifests/latest";
        let e = client
            .get(path, "*/*", "repository:a:pull", "no manifest", false)
            .err()
            .unwrap();
        (e, format!("GET http://{host}{path}"))
    }

    #[test]
    fn a_403_is_forbidden_in_the_registry_s_words() {
        let message = "requested access to the resource is denied";
        let body = format!(r#"{{"errors":[{{"code":"DENIED","message":"{message}"}}]}}"#);
        let (e, url) = answered("403 Forbidden", "Content-Type: application/json\r\n", &body);
        let Error::Remote { what, why } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(what, &url);
        assert_eq!(
            why,
            &Remote::Forbidden {
                said: Some(message.to_string())
            }
        );
        assert_eq!(
            e.to_string(),
            format!("{url}: 403 Forbidden: access denied ({message})")
        );
    }

    #[test]
    fn refusals_say_which() {
        let remote = |status: &str, headers: &str, body: &str| match answered(status, headers, body)
        {
            (Error::Remote { why, what }, url) if what == url => why,
            (e, _) => panic!("{e:?}"),
        };
        assert_eq!(
            remote("401 Unauthorized", "WWW-Authenticate: Negotiate\r\n", ""),
            Remote::Unauthorized(Unauthorized::UnknownScheme)
        );
        assert_eq!(
            remote(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"r\"\r\n",
                ""
            ),
            Remote::Unauthorized(Unauthorized::Required { said: None })
        );
        assert_eq!(
            remote("302 Found", "", ""),
            Remote::NoLocation { status: 302 }
        );
        assert_eq!(
            remote("410 Gone", "", "upstream moved\nmore"),
            Remote::Status {
                status: 410,
                said: Some("upstream moved".to_string())
            }
        );
        // A redirect to itself: followed MAX_REDIRECTS times, then refused.
        match answered(
            "307 Temporary Redirect",
            "Location: /v2/a/manifests/latest\r\n",
            "",
        ) {
            (Error::TooMany { what, limit }, url) => {
                assert_eq!((what, limit), (url, TooMany::Redirects { limit: 5 }));
            }
            (e, _) => panic!("{e:?}"),
        }
    }
}
