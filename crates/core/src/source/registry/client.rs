//! The registry's HTTP side: one agent per registry, the scheme (HTTPS, or plain HTTP with
//! `--insecure`), authentication on challenge (basic, or bearer tokens cached per scope),
//! redirects that never carry credentials to another host, and bounded retries on 5xx and 429.
//!
//! A registry is a stranger: nothing it sends may hold strata for ever or fill its memory.
//! - Time: every exchange but a blob's body (the `/v2/` probe, a manifest, a token, an error
//!   body) has one deadline, [`Limits::deadline`], across its redirects, retries and
//!   authentication; a blob has the same deadline until its headers arrive. A body (a blob's
//!   too) must keep the low-speed rule: at least [`MIN_SPEED`] on average over every
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

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::http::{Response, StatusCode};

use super::auth::{Challenge, Credentials, parse_challenge};
use crate::error::{Error, Result};

/// Tries per request on 5xx and 429 (the first included).
const TRIES: u32 = 4;
/// Redirects followed per request.
const MAX_REDIRECTS: usize = 5;
/// The most of an error body read to explain a status.
const ERROR_BODY_LIMIT: u64 = 64 << 10;
/// The largest token answer: the token goes back in a header of every request, where servers
/// cap a header far lower (nginx: 8 KiB a line by default) and ureq cannot send one over its
/// 128 KiB output buffer (a 200 KiB token failed with "output too small to write output").
const TOKEN_LIMIT: u64 = 64 << 10;
/// The largest manifest or index taken from a registry: containerd's limit
/// (`remotes.MaxManifestSize`, 4 MiB); real ones are a few KiB.
pub(crate) const MANIFEST_LIMIT: u64 = 4 << 20;
/// The least average speed of a body over a window of [`Limits::stall`]: a seventh of a 56k
/// modem, far above a drip. (Cargo's `http.low-speed-limit` is 10 B/s, which would let a
/// 4 MiB manifest take five days; strata's small answers also have the deadline, its blobs
/// only this.)
pub(crate) const MIN_SPEED: u64 = 1024;
/// The longest a URL is shown in a message (a hostile `Location` or realm can be 64 KiB).
const URL_SHOWN: usize = 256;

/// How long strata waits for a registry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The low-speed window: a body must bring [`MIN_SPEED`] on average over each such span
    /// of waiting, and no single read may wait longer. 30 s, Cargo's window for the same rule
    /// (`http.timeout`); `STRATA_REGISTRY_STALL_SECS` sets it (for tests, which cannot wait
    /// 30 s). A registry that is silent that long before a blob's headers fails too.
    pub stall: Duration,
    /// The deadline of a whole small exchange (probe, manifest, token, error), and of a blob
    /// request until its headers. 120 s; `STRATA_REGISTRY_DEADLINE_SECS` sets it.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stall: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
        }
    }
}

impl Limits {
    /// The defaults, or the test knobs when set to a positive number of seconds.
    pub(crate) fn from_env() -> Limits {
        let secs = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .filter(|d| !d.is_zero())
        };
        let default = Limits::default();
        Limits {
            stall: secs("STRATA_REGISTRY_STALL_SECS").unwrap_or(default.stall),
            deadline: secs("STRATA_REGISTRY_DEADLINE_SECS").unwrap_or(default.deadline),
        }
    }
}

/// `30 s`, `0.5 s`.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// `GET url`, the URL cut to [`URL_SHOWN`] characters.
pub(crate) fn shown(url: &str) -> String {
    if url.len() <= URL_SHOWN {
        return format!("GET {url}");
    }
    let mut end = URL_SHOWN;
    while !url.is_char_boundary(end) {
        end -= 1;
    }
    format!("GET {}…", &url[..end])
}

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

/// What an exchange may still spend.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    of: Duration,
}

impl Deadline {
    fn start(of: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + of,
            of,
        }
    }

    fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The time left, or the error naming the URL once there is none.
    fn remaining(&self, url: &str) -> Result<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.error(url));
        }
        Ok(left)
    }

    fn message(&self) -> String {
        format!(
            "no complete answer within the deadline of {}",
            secs(self.of)
        )
    }

    fn error(&self, url: &str) -> Error {
        Error::format(shown(url), self.message())
    }
}

/// A registry's API, shared by the threads that read its blobs.
pub(crate) struct Client {
    agent: ureq::Agent,
    /// `host[:port]` of the API.
    host: String,
    insecure: bool,
    creds: Option<Credentials>,
    limits: Limits,
    /// `https` or `http`, once a first connection said which.
    scheme: Mutex<Option<&'static str>>,
    auth: Mutex<AuthState>,
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

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    /// Bearer tokens by scope (`repository:a/b:pull`).
    tokens: HashMap<String, String>,
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

/// Why reading a body stopped: the request (`GET url`) and what happened.
#[derive(Debug, Clone)]
pub(crate) struct BodyError {
    pub shown: String,
    pub message: String,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.shown, self.message)
    }
}

impl std::error::Error for BodyError {}

impl BodyError {
    /// The one `e` carries, if it does.
    pub(crate) fn of(e: &io::Error) -> Option<&BodyError> {
        e.get_ref()?.downcast_ref::<BodyError>()
    }

    /// The library's error for it, when `e` is one.
    pub(crate) fn from_io(e: &io::Error) -> Option<Error> {
        BodyError::of(e).map(BodyError::to_error)
    }

    pub(crate) fn to_error(&self) -> Error {
        Error::format(&self.shown, &self.message)
    }
}

/// A response body read under the low-speed rule and, for a small answer, the exchange's
/// deadline; with a `size`, held to it: it never hands out more than `size + 1` bytes, fails
/// at the byte past `size`, and fails on an end before `size`. Every error is a [`BodyError`],
/// and once failed it stays failed.
pub(crate) struct Body<R> {
    inner: R,
    url: String,
    stall: Duration,
    deadline: Option<Deadline>,
    size: Option<u64>,
    total: u64,
    /// Time spent inside reads, and bytes got, since the low-speed window began.
    waited: Duration,
    got: u64,
    failed: Option<BodyError>,
}

impl<R: Read> Body<R> {
    fn new(
        inner: R,
        url: &str,
        stall: Duration,
        deadline: Option<Deadline>,
        size: Option<u64>,
    ) -> Body<R> {
        Body {
            inner,
            url: url.to_string(),
            stall,
            deadline,
            size,
            total: 0,
            waited: Duration::ZERO,
            got: 0,
            failed: None,
        }
    }

    fn fail(&mut self, message: String) -> io::Error {
        let e = BodyError {
            shown: shown(&self.url),
            message,
        };
        self.failed = Some(e.clone());
        io::Error::other(e)
    }

    /// What a read error from ureq means here.
    fn explain(&self, e: &io::Error) -> String {
        match e.get_ref().and_then(|x| x.downcast_ref::<ureq::Error>()) {
            Some(ureq::Error::Timeout(ureq::Timeout::PerRead)) => {
                format!("nothing received for {}", secs(self.stall))
            }
            Some(ureq::Error::Timeout(t)) => match &self.deadline {
                Some(d) => d.message(),
                None => format!("timed out ({t})"),
            },
            _ => format!("read failed: {e}"),
        }
    }
}

impl<R: Read> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(io::Error::other(e.clone()));
        }
        if let Some(d) = self.deadline
            && d.passed()
        {
            return Err(self.fail(d.message()));
        }
        let buf = match self.size {
            // One byte past the size is enough to know the server sends too much.
            Some(size) => {
                let room = (size + 1).saturating_sub(self.total);
                let n = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
                &mut buf[..n]
            }
            None => buf,
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let began = Instant::now();
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let message = self.explain(&e);
                return Err(self.fail(message));
            }
        };
        self.waited += began.elapsed();
        self.got += n as u64;
        self.total += n as u64;
        if let Some(size) = self.size {
            if self.total > size {
                return Err(self.fail(format!(
                    "sent more than the {size} bytes its descriptor gives"
                )));
            }
            if n == 0 && self.total < size {
                let message = format!(
                    "ended after {} of the {size} bytes its descriptor gives",
                    self.total
                );
                return Err(self.fail(message));
            }
        }
        if self.waited >= self.stall {
            if (self.got as f64) < MIN_SPEED as f64 * self.waited.as_secs_f64() {
                let message = format!(
                    "too slow: {} bytes in {} (at least {} KiB/s is needed)",
                    self.got,
                    secs(self.waited),
                    MIN_SPEED >> 10
                );
                return Err(self.fail(message));
            }
            self.waited = Duration::ZERO;
            self.got = 0;
        }
        Ok(n)
    }
}

/// The lowercased scheme of a URL (`https`), empty without one.
fn scheme(url: &str) -> String {
    url.split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default()
}

/// `scheme://host[:port]` of a URL, lowercased, to compare hosts across redirects.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{}", host.to_ascii_lowercase())
}

/// Resolves a `Location` header against the URL it answered.
fn resolve_location(base: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        let scheme = base.split_once("://").map_or("https", |(s, _)| s);
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        let path_end = base.find(['?', '#']).unwrap_or(base.len());
        let dir_end = base[..path_end].rfind('/').map_or(path_end, |i| i + 1);
        format!("{}{location}", &base[..dir_end])
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The registry's own words from an error body (`{"errors":[{"message": …}]}`), or its first
/// line; one line of at most 200 characters either way.
fn explain(body: &str) -> Option<String> {
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

/// The longest a connection may take to set up (TCP and TLS), within the deadline.
const CONNECT: Duration = Duration::from_secs(30);

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
    fn request(
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

    fn network_error(&self, url: &str, e: &ureq::Error, deadline: &Deadline) -> Error {
        match e {
            ureq::Error::Timeout(ureq::Timeout::PerRead) => Error::format(
                shown(url),
                format!("nothing received for {}", secs(self.limits.stall)),
            ),
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
                Error::format(shown(url), format!("cannot connect: {e}"))
            }
            ureq::Error::Timeout(_) => deadline.error(url),
            _ => {
                let hint = if self.insecure {
                    ""
                } else {
                    " (a plain-HTTP or self-signed registry needs --insecure)"
                };
                Error::format(shown(url), format!("cannot connect: {e}{hint}"))
            }
        }
    }

    fn authorization(&self, scope: &str) -> Option<String> {
        let state = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        match state.challenge.as_ref()? {
            Challenge::Basic => self.creds.as_ref().map(Credentials::basic),
            Challenge::Bearer { .. } => state.tokens.get(scope).map(|t| format!("Bearer {t}")),
        }
    }

    /// Answers a 401's challenge from the registry at `url`: remembers it and, for bearer,
    /// fetches a token for `scope` from the token service it names, which must be HTTPS
    /// unless the registry itself is plain HTTP.
    fn authenticate(
        &self,
        url: &str,
        header: Option<&str>,
        scope: &str,
        deadline: &Deadline,
    ) -> Result<()> {
        let unauthorized =
            |why: &str| Error::format(shown(url), format!("401 Unauthorized: {why}"));
        let challenge = header.and_then(parse_challenge).ok_or_else(|| {
            unauthorized("the registry asks for authentication strata does not speak")
        })?;
        match &challenge {
            Challenge::Basic => {
                if self.creds.is_none() {
                    return Err(unauthorized(
                        "authentication required (pass --creds USER:PASSWORD, or log in with \
                         docker login or podman login)",
                    ));
                }
            }
            Challenge::Bearer {
                realm,
                service,
                scope: _,
            } => {
                let realm_scheme = scheme(realm);
                if realm_scheme != "https" && !(realm_scheme == "http" && scheme(url) == "http") {
                    let realm = shown(realm);
                    let realm = realm.trim_start_matches("GET ");
                    return Err(unauthorized(&if realm_scheme == "http" {
                        format!(
                            "the HTTPS registry names a plain-HTTP token service {realm}: \
                             refused, credentials and tokens never go over plain HTTP"
                        )
                    } else {
                        format!("the token service {realm} is not an HTTPS URL")
                    }));
                }
                let token = self.fetch_token(realm, service.as_deref(), scope, deadline)?;
                let mut state = self.auth.lock().unwrap_or_else(|p| p.into_inner());
                state.tokens.insert(scope.to_string(), token);
            }
        }
        let mut state = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        state.challenge = Some(challenge);
        Ok(())
    }

    /// Asks the token service named by a bearer challenge for a pull token.
    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        deadline: &Deadline,
    ) -> Result<String> {
        let mut url = realm.to_string();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(s) = service {
            url.push_str(&format!("{sep}service={}", encode(s)));
            sep = '&';
        }
        url.push_str(&format!("{sep}scope={}", encode(scope)));
        let what = format!("token service {}", shown(&url).trim_start_matches("GET "));
        let response = self.with_retries(deadline, || {
            let mut request = self.request(&url, deadline, false)?;
            if let Some(c) = &self.creds {
                request = request.header("Authorization", c.basic());
            }
            request
                .call()
                .map_err(|e| self.network_error(&url, &e, deadline))
        })?;
        let status = response.status();
        let mut bytes = Vec::new();
        Body::new(
            response.into_body().into_reader(),
            &url,
            self.limits.stall,
            Some(*deadline),
            None,
        )
        .take(TOKEN_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            BodyError::from_io(&e)
                .unwrap_or_else(|| Error::format(&what, format!("cannot read the answer: {e}")))
        })?;
        if bytes.len() as u64 > TOKEN_LIMIT {
            return Err(Error::format(
                what,
                format!("{status}: an answer over {} KiB", TOKEN_LIMIT >> 10),
            ));
        }
        let body = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            let why = match status.as_u16() {
                401 if self.creds.is_some() => "the credentials were refused".to_string(),
                401 => "authentication required (pass --creds USER:PASSWORD)".to_string(),
                _ => explain(&body).unwrap_or_default(),
            };
            return Err(Error::format(what, format!("{status}: {why}")));
        }
        let value: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| Error::format(&what, format!("invalid JSON: {e}")))?;
        value
            .get("token")
            .or_else(|| value.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| Error::format(what, "the answer has no token"))
    }

    /// Sends a request, again on 5xx and 429 (up to [`TRIES`], honouring `Retry-After` up to
    /// 10 s), while the deadline leaves time to wait; else the last answer is the result.
    fn with_retries(
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
        let deadline = Deadline::start(self.limits.deadline);
        let home = origin(&base);
        let home_scheme = scheme(&base);
        let mut url = format!("{base}{path}");
        let mut authenticated = false;
        let mut hops = 0;
        loop {
            // Credentials go to the registry's own origin only, never along a redirect to
            // blob storage elsewhere.
            let auth = (origin(&url) == home)
                .then(|| self.authorization(scope))
                .flatten();
            let mut response = self.with_retries(&deadline, || {
                let mut request = self
                    .request(&url, &deadline, blob)?
                    .header("Accept", accept);
                if let Some(a) = &auth {
                    request = request.header("Authorization", a);
                }
                request
                    .call()
                    .map_err(|e| self.network_error(&url, &e, &deadline))
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(Reply {
                    url,
                    response,
                    deadline: (!blob).then_some(deadline),
                    stall: self.limits.stall,
                });
            }
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        Error::format(shown(&url), format!("{status} without a Location"))
                    })?;
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(Error::format(
                        shown(&url),
                        format!("more than {MAX_REDIRECTS} redirects"),
                    ));
                }
                let next = resolve_location(&url, location);
                // An HTTPS registry's answer must not be fetched over plain HTTP, where anyone
                // on the way can change it (a manifest by tag has no digest to check).
                let next_scheme = scheme(&next);
                if next_scheme != "https" && !(next_scheme == "http" && home_scheme == "http") {
                    let to = shown(&next);
                    return Err(Error::format(
                        shown(&url),
                        format!(
                            "{status} to {}: refused, an HTTPS registry's content is never \
                             fetched over plain HTTP",
                            to.trim_start_matches("GET ")
                        ),
                    ));
                }
                url = next;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !authenticated && origin(&url) == home {
                authenticated = true;
                let header = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                self.authenticate(&url, header.as_deref(), scope, &deadline)?;
                continue;
            }
            let mut body = Vec::new();
            let _ = Body::new(
                response.body_mut().as_reader(),
                &url,
                self.limits.stall,
                Some(deadline),
                None,
            )
            .take(ERROR_BODY_LIMIT)
            .read_to_end(&mut body);
            let said = explain(&String::from_utf8_lossy(&body))
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let shown = shown(&url);
            return Err(match status.as_u16() {
                401 if self.creds.is_some() => Error::format(
                    shown,
                    format!("401 Unauthorized: the registry refused the credentials{said}"),
                ),
                401 => Error::format(
                    shown,
                    format!(
                        "401 Unauthorized: authentication required (pass --creds USER:PASSWORD, \
                         or log in with docker login or podman login){said}"
                    ),
                ),
                403 => Error::format(shown, format!("403 Forbidden: access denied{said}")),
                404 => Error::NotFound(format!("{shown}: 404 Not Found: {what}{said}")),
                _ => Error::format(shown, format!("{status}{said}")),
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_url() {
        let base = "https://reg.io:5000/v2/a/blobs/sha256:ab?x=1";
        assert_eq!(
            resolve_location(base, "https://s3.io/b?sig=1"),
            "https://s3.io/b?sig=1"
        );
        assert_eq!(resolve_location(base, "//cdn.io/b"), "https://cdn.io/b");
        assert_eq!(resolve_location(base, "/v2/x"), "https://reg.io:5000/v2/x");
        assert_eq!(
            resolve_location(base, "c"),
            "https://reg.io:5000/v2/a/blobs/c"
        );
        assert_eq!(origin("HTTP://Reg.io:1/x"), "HTTP://reg.io:1");
    }

    #[test]
    fn registry_error_bodies() {
        assert_eq!(
            explain(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#)
                .as_deref(),
            Some("manifest unknown")
        );
        assert_eq!(explain("\n  oops\nmore").as_deref(), Some("oops"));
        assert_eq!(explain(""), None);
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }

    /// A reader of `data` that waits `delay` before each read of at most `chunk` bytes, and
    /// counts what it gave.
    struct Slow {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
        delay: Duration,
    }

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.delay);
            let n = buf.len().min(self.chunk).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn slow(len: usize, chunk: usize, delay_ms: u64) -> Slow {
        Slow {
            data: (0..len).map(|i| i as u8).collect(),
            at: 0,
            chunk,
            delay: Duration::from_millis(delay_ms),
        }
    }

    fn body(inner: Slow, stall_ms: u64, size: Option<u64>) -> Body<Slow> {
        let url = "https://reg.io/v2/a/blobs/sha256:ab";
        Body::new(inner, url, Duration::from_millis(stall_ms), None, size)
    }

    fn read_all(b: &mut Body<Slow>) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        let e = b.read_to_end(&mut out).err().map(|e| e.to_string());
        (out, e)
    }

    #[test]
    fn a_blob_stops_at_its_size() {
        // 1 MiB behind a descriptor of 180 bytes: the read that brings the 181st byte fails,
        // nothing past the size is handed out, and not one byte more is taken from the server.
        let mut b = body(slow(1 << 20, 64 << 10, 0), 10_000, Some(180));
        let (got, e) = read_all(&mut b);
        assert!(got.len() <= 180 && got.iter().enumerate().all(|(i, &v)| v == i as u8));
        let e = e.unwrap();
        assert_eq!(
            e,
            "GET https://reg.io/v2/a/blobs/sha256:ab: sent more than the 180 bytes its \
             descriptor gives"
        );
        assert_eq!(b.inner.at, 181);
        // Failed stays failed.
        assert_eq!(b.read(&mut [0u8; 8]).unwrap_err().to_string(), e);
        // Exactly the size: read whole, then the end.
        let mut b = body(slow(180, 7, 0), 10_000, Some(180));
        assert_eq!(
            read_all(&mut b),
            ((0..180).map(|i| i as u8).collect(), None)
        );
        // Short.
        let mut b = body(slow(100, 64, 0), 10_000, Some(180));
        let (got, e) = read_all(&mut b);
        assert_eq!(got.len(), 100);
        assert!(
            e.unwrap()
                .ends_with("ended after 100 of the 180 bytes its descriptor gives")
        );
    }

    #[test]
    fn a_drip_is_cut_by_the_low_speed_rule() {
        // One byte every 20 ms (50 B/s) against a 200 ms window: cut after the first window.
        let began = Instant::now();
        let mut b = body(slow(1000, 1, 20), 200, None);
        let (got, e) = read_all(&mut b);
        let e = e.unwrap();
        assert!(e.contains(": too slow: "), "{e}");
        assert!(e.ends_with("(at least 1 KiB/s is needed)"), "{e}");
        // Cut within the first window: at most 200 ms / 20 ms reads (sleeps only overshoot).
        assert!((1..=10).contains(&got.len()), "{}", got.len());
        assert!(began.elapsed() < Duration::from_secs(2));
        // 8 KiB every 20 ms (400 KiB/s) keeps the rule.
        let mut b = body(slow(200 << 10, 8 << 10, 20), 200, Some(200 << 10));
        let (got, e) = read_all(&mut b);
        assert_eq!((got.len(), e), (200 << 10, None));
    }

    #[test]
    fn the_consumer_s_time_is_not_the_server_s() {
        // The consumer sleeps 300 ms between reads, longer than the 200 ms window, while the
        // server answers at once: no fault of the server.
        let mut b = body(slow(64, 1, 0), 200, None);
        let mut byte = [0u8; 1];
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(b.read(&mut byte).unwrap(), 1);
        }
    }

    #[test]
    fn a_deadline_ends_a_small_answer() {
        let deadline = Deadline::start(Duration::from_millis(150));
        let mut b = Body::new(
            slow(1 << 20, 8 << 10, 20),
            "https://reg.io/v2/a/manifests/latest",
            Duration::from_secs(30),
            Some(deadline),
            None,
        );
        let mut out = Vec::new();
        let e = b.read_to_end(&mut out).unwrap_err().to_string();
        assert_eq!(
            e,
            "GET https://reg.io/v2/a/manifests/latest: no complete answer within the deadline \
             of 0.1 s"
        );
        assert!(out.len() < 1 << 20);
    }

    #[test]
    fn messages_stay_one_short_line() {
        let said = explain(
            r#"{"errors":[{"message":"gone\n\u001b]0;x\u0007\u001b[2Jall checks passed"}]}"#,
        )
        .unwrap();
        assert_eq!(said, r"gone\n\u{1b}]0;x\u{7}\u{1b}[2Jall checks passed");
        assert_eq!(explain(&"x".repeat(10_000)).unwrap().len(), 200);
        let long = format!("https://reg.io/{}", "a".repeat(1000));
        let s = shown(&long);
        assert!(
            s.starts_with("GET https://reg.io/aaa") && s.ends_with('…'),
            "{s}"
        );
        assert_eq!(s.chars().count(), "GET ".len() + URL_SHOWN + 1);
        assert_eq!(secs(Duration::from_secs(30)), "30 s");
        assert_eq!(secs(Duration::from_millis(500)), "0.5 s");
    }
}
