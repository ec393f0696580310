//! The registry's HTTP side: one agent per registry, the scheme (HTTPS, or plain HTTP with
//! `--insecure`), authentication on challenge (basic, or bearer tokens cached per scope),
//! redirects that never carry credentials to another host, and bounded retries on 5xx and 429.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use ureq::http::{Response, StatusCode};

use super::auth::{Challenge, Credentials, parse_challenge};
use crate::error::{Error, Result};

/// Tries per request on 5xx and 429 (the first included).
const TRIES: u32 = 4;
/// Redirects followed per request.
const MAX_REDIRECTS: usize = 5;
/// The most of an error body read to explain a status.
const ERROR_BODY_LIMIT: u64 = 64 << 10;

/// A registry's API, shared by the threads that read its blobs.
pub(crate) struct Client {
    agent: ureq::Agent,
    /// `host[:port]` of the API.
    host: String,
    insecure: bool,
    creds: Option<Credentials>,
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
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get(name)?.to_str().ok()
    }

    pub(crate) fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }
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
/// line.
fn explain(body: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let first = v.get("errors").and_then(|e| e.get(0));
        let message = first
            .and_then(|e| e.get("message"))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("details"))
            .and_then(|m| m.as_str());
        if let Some(m) = message {
            return Some(m.to_string());
        }
    }
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

impl Client {
    /// A client for the registry at `host` (`host[:port]`).
    ///
    /// `--insecure` turns off certificate verification (ureq's `TlsConfig::disable_verification`,
    /// which accepts any certificate) and allows falling back to plain HTTP.
    pub(crate) fn new(host: &str, insecure: bool, creds: Option<Credentials>) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(insecure)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by hand, to decide per hop whether credentials go along.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        Client {
            agent: config.into(),
            host: host.to_string(),
            insecure,
            creds,
            scheme: Mutex::new(None),
            auth: Mutex::new(AuthState::default()),
        }
    }

    /// `https://host`, or with `--insecure` `http://host` when HTTPS does not connect.
    fn base(&self) -> Result<String> {
        let mut scheme = self.scheme.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = *scheme {
            return Ok(format!("{s}://{}", self.host));
        }
        let https = format!("https://{}/v2/", self.host);
        let chosen = match self.agent.get(&https).call() {
            Ok(_) => "https",
            Err(_) if self.insecure => {
                let http = format!("http://{}/v2/", self.host);
                self.agent
                    .get(&http)
                    .call()
                    .map_err(|e| self.network_error(&http, &e))?;
                "http"
            }
            Err(e) => return Err(self.network_error(&https, &e)),
        };
        *scheme = Some(chosen);
        Ok(format!("{chosen}://{}", self.host))
    }

    fn network_error(&self, url: &str, e: &ureq::Error) -> Error {
        let hint = if self.insecure {
            ""
        } else {
            " (a plain-HTTP or self-signed registry needs --insecure)"
        };
        Error::format(format!("GET {url}"), format!("cannot connect: {e}{hint}"))
    }

    fn authorization(&self, scope: &str) -> Option<String> {
        let state = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        match state.challenge.as_ref()? {
            Challenge::Basic => self.creds.as_ref().map(Credentials::basic),
            Challenge::Bearer { .. } => state.tokens.get(scope).map(|t| format!("Bearer {t}")),
        }
    }

    /// Answers a 401's challenge: remembers it and, for bearer, fetches a token for `scope`.
    fn authenticate(&self, url: &str, header: Option<&str>, scope: &str) -> Result<()> {
        let unauthorized =
            |why: &str| Error::format(format!("GET {url}"), format!("401 Unauthorized: {why}"));
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
                let token = self.fetch_token(realm, service.as_deref(), scope)?;
                let mut state = self.auth.lock().unwrap_or_else(|p| p.into_inner());
                state.tokens.insert(scope.to_string(), token);
            }
        }
        let mut state = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        state.challenge = Some(challenge);
        Ok(())
    }

    /// Asks the token service named by a bearer challenge for a pull token.
    fn fetch_token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<String> {
        let mut url = realm.to_string();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(s) = service {
            url.push_str(&format!("{sep}service={}", encode(s)));
            sep = '&';
        }
        url.push_str(&format!("{sep}scope={}", encode(scope)));
        let what = format!("token service {url}");
        let mut response = self.with_retries(&url, || {
            let mut request = self.agent.get(&url);
            if let Some(c) = &self.creds {
                request = request.header("Authorization", c.basic());
            }
            request.call()
        })?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| Error::format(&what, format!("cannot read the answer: {e}")))?;
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

    /// Sends a request, again on 5xx and 429 (up to [`TRIES`], honouring `Retry-After`).
    fn with_retries(
        &self,
        url: &str,
        send: impl Fn() -> std::result::Result<Response<ureq::Body>, ureq::Error>,
    ) -> Result<Response<ureq::Body>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = send().map_err(|e| self.network_error(url, &e))?;
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
            std::thread::sleep(after.unwrap_or(Duration::from_millis(250 << attempt)));
        }
    }

    /// `GET` a path of the API (`/v2/…`) with `accept`, authenticating for `scope` when
    /// challenged and following redirects. Any status but 2xx is an error naming the URL;
    /// `what` says what a 404 means.
    pub(crate) fn get(&self, path: &str, accept: &str, scope: &str, what: &str) -> Result<Reply> {
        let base = self.base()?;
        let home = origin(&base);
        let mut url = format!("{base}{path}");
        let mut authenticated = false;
        let mut hops = 0;
        loop {
            // Credentials go to the registry's own origin only, never along a redirect to
            // blob storage elsewhere.
            let auth = (origin(&url) == home)
                .then(|| self.authorization(scope))
                .flatten();
            let mut response = self.with_retries(&url, || {
                let mut request = self.agent.get(&url).header("Accept", accept);
                if let Some(a) = &auth {
                    request = request.header("Authorization", a);
                }
                request.call()
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(Reply { url, response });
            }
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        Error::format(format!("GET {url}"), format!("{status} without a Location"))
                    })?;
                hops += 1;
                if hops > MAX_REDIRECTS {
                    return Err(Error::format(
                        format!("GET {url}"),
                        format!("more than {MAX_REDIRECTS} redirects"),
                    ));
                }
                url = resolve_location(&url, location);
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !authenticated && origin(&url) == home {
                authenticated = true;
                let header = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                self.authenticate(&url, header.as_deref(), scope)?;
                continue;
            }
            let mut body = String::new();
            let _ = response
                .body_mut()
                .as_reader()
                .take(ERROR_BODY_LIMIT)
                .read_to_string(&mut body);
            let said = explain(&body)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let shown = format!("GET {url}");
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
}
