//! Registry credentials and challenges: `WWW-Authenticate` parsing, `--creds`, Docker's
//! `config.json` (`auths`, `credHelpers`, `credsStore`) and containers' `auth.json`
//! (`REGISTRY_AUTH_FILE`). Secrets never reach a message or a `Debug` output.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use super::reference::DOCKER_HUB;
use crate::error::{self, Error, Result};

/// A user name and password (or token) for basic auth and token requests.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub user: String,
    pub secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, secret: <redacted> }}",
            self.user
        )
    }
}

impl Credentials {
    /// `--creds USER:PASS` (the password may contain colons).
    ///
    /// # Errors
    /// [`Error::Usage`] without a colon or a user; the value itself is not repeated.
    pub(crate) fn parse(text: &str) -> Result<Credentials> {
        match text.split_once(':') {
            Some((user, secret)) if !user.is_empty() => Ok(Credentials {
                user: user.to_string(),
                secret: secret.to_string(),
            }),
            _ => Err(Error::Usage(
                "--creds: expected USER:PASSWORD (the value is not shown)".to_string(),
            )),
        }
    }

    /// The `Authorization` header value for basic auth.
    pub(crate) fn basic(&self) -> String {
        let raw = format!("{}:{}", self.user, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `WWW-Authenticate` (RFC 7235: `scheme param="value", …`, several challenges
/// possible). Bearer is preferred when offered beside Basic; unknown schemes are skipped.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let mut challenges: Vec<(String, HashMap<String, String>)> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        // A token followed by a space (or the end) starts a challenge; `key=` is a parameter.
        let token_end = rest.find([' ', ',', '=']).unwrap_or(rest.len());
        let token = &rest[..token_end];
        let after = rest[token_end..].trim_start();
        if after.starts_with('=') && !challenges.is_empty() {
            let value_text = after[1..].trim_start();
            let (value, remaining) = if let Some(quoted) = value_text.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                value.push(e);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end.min(quoted.len())..])
            } else {
                let end = value_text.find(',').unwrap_or(value_text.len());
                (value_text[..end].trim().to_string(), &value_text[end..])
            };
            if let Some((_, params)) = challenges.last_mut() {
                params.insert(token.to_ascii_lowercase(), value);
            }
            rest = remaining.trim_start().trim_start_matches(',').trim_start();
        } else {
            if !token.is_empty() {
                challenges.push((token.to_ascii_lowercase(), HashMap::new()));
            }
            rest = after.trim_start_matches(',').trim_start();
            if token.is_empty() && !after.is_empty() && after == rest {
                // Nothing consumed: malformed; stop rather than loop.
                break;
            }
        }
    }
    let bearer = challenges.iter().find(|(s, _)| s == "bearer");
    if let Some((_, params)) = bearer {
        return Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        });
    }
    challenges
        .iter()
        .any(|(s, _)| s == "basic")
        .then_some(Challenge::Basic)
}

/// An auth file: Docker's `config.json` or containers' `auth.json` (the same shape).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry { <redacted> }")
    }
}

/// Where credentials for a registry come from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    Creds(Credentials),
    /// `docker-credential-<helper> get` must be asked.
    Helper(String),
}

/// The keys an `auths` entry for `registry` may have (`docker login` writes Docker Hub as
/// `https://index.docker.io/v1/`; others as `host` or `https://host`).
fn keys(registry: &str) -> Vec<String> {
    if registry == DOCKER_HUB {
        return [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "https://index.docker.io/v1",
            "registry-1.docker.io",
        ]
        .map(str::to_string)
        .to_vec();
    }
    vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
        format!("https://{registry}/v2/"),
    ]
}

/// What a credential helper is asked for: Docker Hub's historical URL, else the host.
pub(crate) fn helper_server(registry: &str) -> String {
    if registry == DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

impl AuthFile {
    /// Parses an auth file; the message names the file.
    pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<AuthFile> {
        serde_json::from_slice(bytes).map_err(|e| Error::json(path.display().to_string(), e))
    }

    /// Credentials for `repository` on `registry`, Docker's order: a helper for the host, the
    /// default store, then `auths` (containers' repository-scoped keys, longest first).
    pub(crate) fn lookup(
        &self,
        registry: &str,
        repository: &str,
        path: &Path,
    ) -> Result<Option<Found>> {
        if let Some(helper) = keys(registry)
            .iter()
            .find_map(|k| self.cred_helpers.get(k.as_str()))
        {
            return Ok(Some(Found::Helper(helper.clone())));
        }
        if let Some(store) = self.creds_store.as_ref().filter(|s| !s.is_empty()) {
            return Ok(Some(Found::Helper(store.clone())));
        }
        // `host/namespace/repo` keys (containers-auth.json) beat `host`.
        let full = format!("{registry}/{repository}");
        let mut scoped: Vec<&String> = self
            .auths
            .keys()
            .filter(|k| {
                full.starts_with(k.as_str())
                    && k.len() > registry.len()
                    && (full.len() == k.len() || full.as_bytes()[k.len()] == b'/')
            })
            .collect();
        scoped.sort_by_key(|k| std::cmp::Reverse(k.len()));
        let entry = scoped
            .first()
            .and_then(|k| self.auths.get(k.as_str()))
            .or_else(|| keys(registry).iter().find_map(|k| self.auths.get(k)));
        let Some(entry) = entry else {
            return Ok(None);
        };
        let bad = |why| Error::Credentials {
            what: format!("{}: auths entry for {registry}", path.display()),
            why,
        };
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad(error::Credentials::AuthNotBase64))?;
            let text =
                String::from_utf8(decoded).map_err(|_| bad(error::Credentials::AuthNotUtf8))?;
            let (user, secret) = text
                .split_once(':')
                .ok_or_else(|| bad(error::Credentials::AuthNotUserPassword))?;
            return Ok(Some(Found::Creds(Credentials {
                user: user.to_string(),
                secret: secret.to_string(),
            })));
        }
        if let (Some(user), Some(secret)) = (&entry.username, &entry.password) {
            return Ok(Some(Found::Creds(Credentials {
                user: user.clone(),
                secret: secret.clone(),
            })));
        }
        Ok(None)
    }
}

/// The auth files to look in, first match wins: `REGISTRY_AUTH_FILE`, then Docker's
/// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
fn auth_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|p| !p.is_empty()) {
        files.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|p| !p.is_empty()) {
        files.push(PathBuf::from(dir).join("config.json"));
    } else if let Some(home) = std::env::var_os("HOME").filter(|p| !p.is_empty()) {
        files.push(PathBuf::from(home).join(".docker/config.json"));
    }
    files
}

/// Credentials for a repository: `--creds` first, then the auth files. An unreadable or
/// invalid file that exists is an error naming it; a missing one is skipped.
pub(crate) fn credentials(
    registry: &str,
    repository: &str,
    creds: Option<&str>,
) -> Result<Option<Credentials>> {
    if let Some(text) = creds {
        return Credentials::parse(text).map(Some);
    }
    for path in auth_files() {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        match AuthFile::parse(&bytes, &path)?.lookup(registry, repository, &path)? {
            Some(Found::Creds(c)) => return Ok(Some(c)),
            Some(Found::Helper(helper)) => return run_helper(&helper, registry),
            None => {}
        }
    }
    Ok(None)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// `docker-credential-<helper> get` with the server on stdin; "not found" means anonymous.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let fail = |why| Error::Credentials {
        what: format!("{program} (for {registry})"),
        why,
    };
    let not_run = |e: std::io::Error| fail(error::Credentials::HelperNotRun { why: e.to_string() });
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(not_run)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits early closes its stdin; its exit status says why.
        let _ = stdin.write_all(helper_server(registry).as_bytes());
    }
    let out = child.wait_with_output().map_err(not_run)?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout);
        let said = said.trim();
        if said.contains("credentials not found") {
            return Ok(None);
        }
        // Helpers print their error on stdout; it holds no secret.
        return Err(fail(error::Credentials::HelperFailed {
            status: out.status,
            said: said.lines().next().unwrap_or_default().to_string(),
        }));
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&out.stdout).map_err(|_| fail(error::Credentials::HelperAnswer))?;
    Ok(Some(Credentials {
        user: answer.username,
        secret: answer.secret,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/alpine:pull".into()),
            })
        );
    }

    #[test]
    fn challenge_variants() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("basic"), Some(Challenge::Basic));
        // Spaces after commas, unquoted values, escaped quotes, a comma inside quotes.
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="http://127.0.0.1:1/token?a=1,b" , service=reg , scope="repository:a/b:pull,push" "#
            ),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/token?a=1,b".into(),
                service: Some("reg".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="a\"b""#),
            Some(Challenge::Bearer {
                realm: "a\"b".into(),
                service: None,
                scope: None
            })
        );
        // Bearer wins over Basic in one header; Bearer without a realm is unusable.
        assert!(matches!(
            parse_challenge(r#"Basic realm="x", Bearer realm="https://t/token""#),
            Some(Challenge::Bearer { .. })
        ));
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge(""), None);
        assert_eq!(parse_challenge(",,=,"), None);
    }

    #[test]
    fn creds_flag() {
        let c = Credentials::parse("me:p:a:ss").unwrap();
        assert_eq!((c.user.as_str(), c.secret.as_str()), ("me", "p:a:ss"));
        assert_eq!(c.basic(), "Basic bWU6cDphOnNz");
        for bad in ["nocolon", ":pass"] {
            let e = Credentials::parse(bad).unwrap_err().to_string();
            assert!(!e.contains(bad), "{e}");
        }
        assert!(!format!("{c:?}").contains("p:a:ss"));
    }

    fn file(json: &str) -> AuthFile {
        AuthFile::parse(json.as_bytes(), Path::new("config.json")).unwrap()
    }

    fn creds(user: &str, secret: &str) -> Option<Found> {
        Some(Found::Creds(Credentials {
            user: user.into(),
            secret: secret.into(),
        }))
    }

    #[test]
    fn docker_config_auths() {
        // "me:secret" and "hub:pw" in base64.
        let f = file(
            r#"{"auths": {"127.0.0.1:5000": {"auth": "bWU6c2VjcmV0"},
                          "https://index.docker.io/v1/": {"auth": "aHViOnB3"},
                          "https://ghcr.io": {"username": "u", "password": "p"},
                          "quay.io/team": {"auth": "bWU6c2VjcmV0"},
                          "empty.io": {}},
                "HttpHeaders": {"User-Agent": "x"}}"#,
        );
        let p = Path::new("config.json");
        assert_eq!(
            f.lookup("127.0.0.1:5000", "a/b", p).unwrap(),
            creds("me", "secret")
        );
        assert_eq!(
            f.lookup("docker.io", "library/alpine", p).unwrap(),
            creds("hub", "pw")
        );
        assert_eq!(f.lookup("ghcr.io", "o/app", p).unwrap(), creds("u", "p"));
        assert_eq!(
            f.lookup("quay.io", "team/app", p).unwrap(),
            creds("me", "secret")
        );
        assert_eq!(f.lookup("quay.io", "teamx/app", p).unwrap(), None);
        assert_eq!(f.lookup("empty.io", "a", p).unwrap(), None);
        assert_eq!(f.lookup("other.io", "a", p).unwrap(), None);
    }

    #[test]
    fn docker_config_helpers() {
        let f = file(
            r#"{"auths": {"ghcr.io": {"auth": "bWU6c2VjcmV0"}},
                "credHelpers": {"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"},
                "credsStore": "desktop"}"#,
        );
        let p = Path::new("config.json");
        assert_eq!(
            f.lookup("123.dkr.ecr.us-east-1.amazonaws.com", "a", p)
                .unwrap(),
            Some(Found::Helper("ecr-login".into()))
        );
        assert_eq!(
            f.lookup("ghcr.io", "a", p).unwrap(),
            Some(Found::Helper("desktop".into()))
        );
        assert_eq!(helper_server("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(helper_server("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn bad_auth_files_name_the_file_not_the_secret() {
        let e = AuthFile::parse(b"{", Path::new("/x/config.json")).unwrap_err();
        assert!(
            matches!(&e, Error::Json { what, .. } if what == "/x/config.json"),
            "{e:?}"
        );
        let why = |auth: &str, path: &str| {
            let f = file(&format!(r#"{{"auths": {{"h.io": {{"auth": "{auth}"}}}}}}"#));
            match f.lookup("h.io", "a", Path::new(path)).unwrap_err() {
                Error::Credentials { what, why } => {
                    assert_eq!(what, format!("{path}: auths entry for h.io"));
                    why
                }
                e => panic!("{e:?}"),
            }
        };
        let engine = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            why("!!!", "/x/config.json"),
            error::Credentials::AuthNotBase64
        );
        assert_eq!(
            why(&engine.encode([0xff, b':', b'x']), "c.json"),
            error::Credentials::AuthNotUtf8
        );
        let e = why(&engine.encode("nocolon"), "c.json");
        assert_eq!(e, error::Credentials::AuthNotUserPassword);
        assert!(!e.to_string().contains("nocolon"), "{e}");
    }

    #[test]
    fn a_helper_that_cannot_run_says_why() {
        let helper = "strata-test-no-such-helper";
        let program = format!("docker-credential-{helper}");
        // What the system says when asked to run it.
        let expected = Command::new(&program).spawn().unwrap_err().to_string();
        match run_helper(helper, "h.io").unwrap_err() {
            Error::Credentials { what, why } => {
                assert_eq!(what, format!("{program} (for h.io)"));
                assert_eq!(why, error::Credentials::HelperNotRun { why: expected });
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn huge_challenges_parse_in_linear_time() {
        // ureq lets a header reach 64 KiB: every shape of it parses at once, without a
        // quadratic rescan.
        let n = 64 << 10;
        let shapes = [
            ",".repeat(n),
            "a ".repeat(n / 2),
            format!("Bearer {}", "k=v,".repeat(n / 4)),
            format!("Bearer realm=\"{}", "\\\"".repeat(n / 3)),
            format!("Bearer {}", "=".repeat(n)),
            format!("Bearer realm=\"https://t/\"{}", " x".repeat(n / 2)),
            "a".repeat(n),
        ];
        for shape in &shapes {
            let began = std::time::Instant::now();
            let _ = parse_challenge(shape);
            let took = began.elapsed();
            assert!(
                took < std::time::Duration::from_millis(500),
                "{took:?}: {}",
                &shape[..20]
            );
        }
    }
}
