//! Answering a registry's `401` challenge: basic auth with the user's credentials, or a bearer
//! token for the scope asked of the token service the challenge names (RFC 6750, the
//! distribution spec's token flow), cached per scope for the client's life. Credentials and
//! tokens go to an HTTPS token service only, unless the registry itself is plain HTTP.

use std::collections::HashMap;
use std::io::Read;

use super::auth::{Challenge, Credentials, parse_challenge};
use super::body::{Body, BodyError, Deadline};
use super::client::{Client, explain};
use super::url::{encode, scheme, shown, shown_url};
use crate::error::remote::{Refused, Unauthorized};
use crate::error::{Error, Remote, Result, TooLarge};

/// The largest token answer: the token goes back in a header of every request, where servers
/// cap a header far lower (nginx: 8 KiB a line by default) and ureq cannot send one over its
/// 128 KiB output buffer (a 200 KiB token failed with "output too small to write output").
const TOKEN_LIMIT: u64 = 64 << 10;

/// The challenge a registry made, once it made one, and the tokens got for it.
#[derive(Default)]
pub(crate) struct AuthState {
    challenge: Option<Challenge>,
    /// Bearer tokens by scope (`repository:a/b:pull`).
    tokens: HashMap<String, String>,
}

/// A `401` from the registry at `url` that strata cannot get past, and why.
fn unauthorized(url: &str, why: Unauthorized) -> Error {
    Error::Remote {
        what: shown(url),
        why: Remote::Unauthorized(why),
    }
}

/// The token service's URL for `scope`: `realm?service=…&scope=…`.
fn token_url(realm: &str, service: Option<&str>, scope: &str) -> String {
    let mut url = realm.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    if let Some(s) = service {
        url.push_str(&format!("{sep}service={}", encode(s)));
        sep = '&';
    }
    url.push_str(&format!("{sep}scope={}", encode(scope)));
    url
}

impl Client {
    /// The `Authorization` for `scope`, once a challenge said which kind.
    pub(crate) fn authorization(&self, scope: &str) -> Option<String> {
        let state = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        match state.challenge.as_ref()? {
            Challenge::Basic => self.creds.as_ref().map(Credentials::basic),
            Challenge::Bearer { .. } => state.tokens.get(scope).map(|t| format!("Bearer {t}")),
        }
    }

    /// Answers a 401's challenge from the registry at `url`: remembers it and, for bearer,
    /// fetches a token for `scope` from the token service it names, which must be HTTPS
    /// unless the registry itself is plain HTTP.
    pub(crate) fn authenticate(
        &self,
        url: &str,
        header: Option<&str>,
        scope: &str,
        deadline: &Deadline,
    ) -> Result<()> {
        let challenge = header
            .and_then(parse_challenge)
            .ok_or_else(|| unauthorized(url, Unauthorized::UnknownScheme))?;
        match &challenge {
            Challenge::Basic => {
                if self.creds.is_none() {
                    return Err(unauthorized(url, Unauthorized::Required { said: None }));
                }
            }
            Challenge::Bearer {
                realm,
                service,
                scope: _,
            } => {
                let realm_scheme = scheme(realm);
                if realm_scheme != "https" && !(realm_scheme == "http" && scheme(url) == "http") {
                    let realm = shown_url(realm);
                    return Err(unauthorized(
                        url,
                        if realm_scheme == "http" {
                            Unauthorized::PlainHttpTokenService { realm }
                        } else {
                            Unauthorized::TokenServiceNotHttps { realm }
                        },
                    ));
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
        let url = token_url(realm, service, scope);
        let what = format!("token service {}", shown_url(&url));
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
            BodyError::from_io(&e).unwrap_or_else(|| Error::Remote {
                what: what.clone(),
                why: Remote::ReadAnswer { why: e.to_string() },
            })
        })?;
        if bytes.len() as u64 > TOKEN_LIMIT {
            return Err(Error::TooLarge {
                what,
                limit: TooLarge::TokenAnswer {
                    status: status.to_string(),
                    limit: TOKEN_LIMIT,
                },
            });
        }
        let body = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            let why = match status.as_u16() {
                401 if self.creds.is_some() => Refused::Credentials,
                401 => Refused::NoCredentials,
                _ => Refused::Said(explain(&body)),
            };
            return Err(Error::Remote {
                what,
                why: Remote::TokenRefused {
                    status: status.as_u16(),
                    why,
                },
            });
        }
        let value: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| Error::json(&what, e))?;
        value
            .get("token")
            .or_else(|| value.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or(Error::Remote {
                what,
                why: Remote::NoToken,
            })
    }
}
