//! Image references as Docker spells them: `[HOST[:PORT]/]REPO[:TAG][@ALG:HEX]`, with Docker
//! Hub's defaults (`alpine` is `docker.io/library/alpine:latest`).

use std::fmt;

use crate::error::{Error, Result};

/// Docker Hub's name in references and credentials.
pub(crate) const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API answers.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed reference to an image in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]` as written (`docker.io` for Docker Hub).
    pub registry: String,
    /// `library/alpine`, `strata/overlay`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:…`, when pinned.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses a reference; the tag defaults to `latest` unless a digest pins the image.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the reference and the part that is wrong.
    pub(crate) fn parse(text: &str) -> Result<Reference> {
        let bad = |why: &str| Error::Usage(format!("{text}: invalid image reference: {why}"));
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let (alg, hex) = digest
                    .split_once(':')
                    .ok_or_else(|| bad("a digest is ALG:HEX, e.g. sha256:…"))?;
                let hex_ok = if alg == "sha256" {
                    hex.len() == 64
                } else {
                    !hex.is_empty()
                };
                if alg.is_empty()
                    || !hex_ok
                    || !hex
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                {
                    return Err(bad(
                        "a digest is ALG:HEX with lowercase hex (sha256: 64 digits)",
                    ));
                }
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        // The tag is after the last colon that follows the last slash (a port's colon is
        // before a slash).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if let Some(t) = &tag
            && (t.is_empty()
                || t.len() > 128
                || t.starts_with(['.', '-'])
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)))
        {
            return Err(bad("a tag is up to 128 letters, digits, `_`, `.` or `-`"));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        // The port, after the host (a bracketed IPv6 address has colons of its own): a TCP
        // port is 1 to 65535, and one outside would only fail later, as a refused connection.
        let port = match registry.strip_prefix('[') {
            Some(v6) => v6.split_once("]:").map(|(_, port)| port),
            None => registry.split_once(':').map(|(_, port)| port),
        };
        if let Some(port) = port
            && !port.parse::<u16>().is_ok_and(|p| p != 0)
        {
            return Err(bad(
                &if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                    format!("port {port} is outside 1 to 65535")
                } else {
                    format!("port {port:?} is not a number from 1 to 65535")
                },
            ));
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        if repository.is_empty() {
            return Err(bad("no repository name"));
        }
        for component in repository.split('/') {
            let ok = !component.is_empty()
                && component
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && component.starts_with(|c: char| c.is_ascii_alphanumeric())
                && component.ends_with(|c: char| c.is_ascii_alphanumeric());
            if !ok {
                return Err(bad(&format!(
                    "repository component {component:?} must be lowercase letters, digits and \
                     separators (`.`, `_`, `-`)"
                )));
            }
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The host (and port) the registry API answers on.
    pub(crate) fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to ask `/v2/<repo>/manifests/<…>` for: the digest when pinned, else the tag.
    pub(crate) fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn r(text: &str) -> Reference {
        Reference::parse(text).unwrap()
    }

    #[test]
    fn host_port_repo_tag() {
        let x = r("127.0.0.1:5000/strata/overlay:v1");
        assert_eq!(x.registry, "127.0.0.1:5000");
        assert_eq!(x.repository, "strata/overlay");
        assert_eq!(x.tag.as_deref(), Some("v1"));
        assert_eq!(x.digest, None);
        assert_eq!(x.api_host(), "127.0.0.1:5000");
        assert_eq!(x.to_string(), "127.0.0.1:5000/strata/overlay:v1");
        let x = r("localhost/a/b/c");
        assert_eq!(
            (x.registry.as_str(), x.repository.as_str()),
            ("localhost", "a/b/c")
        );
    }

    #[test]
    fn default_tag_is_latest_unless_pinned() {
        assert_eq!(r("ghcr.io/o/app").tag.as_deref(), Some("latest"));
        assert_eq!(r("localhost:5000/app").tag.as_deref(), Some("latest"));
        let hex = "a".repeat(64);
        let x = r(&format!("ghcr.io/o/app@sha256:{hex}"));
        assert_eq!(x.tag, None);
        assert_eq!(x.manifest_reference(), format!("sha256:{hex}"));
        let x = r(&format!("ghcr.io/o/app:1.0@sha256:{hex}"));
        assert_eq!(x.tag.as_deref(), Some("1.0"));
        assert_eq!(x.manifest_reference(), format!("sha256:{hex}"));
    }

    #[test]
    fn docker_hub_names() {
        let x = r("alpine");
        assert_eq!(x.registry, "docker.io");
        assert_eq!(x.repository, "library/alpine");
        assert_eq!(x.api_host(), "registry-1.docker.io");
        assert_eq!(x.to_string(), "docker.io/library/alpine:latest");
        assert_eq!(r("bitnami/redis:7").repository, "bitnami/redis");
        assert_eq!(r("docker.io/alpine:3").repository, "library/alpine");
        assert_eq!(r("index.docker.io/library/alpine").registry, "docker.io");
    }

    #[test]
    fn invalid_references_say_why() {
        for bad in [
            "",
            "UPPER/case",
            "ghcr.io/o/app:",
            "ghcr.io/o/app@sha256:xyz",
            "ghcr.io/o/app@sha256",
            "ghcr.io//app",
            "ghcr.io/o/app:bad tag",
            "ghcr.io/",
        ] {
            let e = Reference::parse(bad).unwrap_err().to_string();
            assert!(e.contains("invalid image reference"), "{bad}: {e}");
        }
    }

    #[test]
    fn ports_are_1_to_65535() {
        // TCP ports are 16-bit (RFC 9293), and 0 is no port to connect to.
        for good in [
            "localhost:1/a",
            "localhost:65535/a",
            "[::1]:5000/a",
            "[::1]/a",
        ] {
            assert!(Reference::parse(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("localhost:99999/a", "port 99999 is outside 1 to 65535"),
            ("localhost:65536/a", "port 65536 is outside 1 to 65535"),
            ("localhost:0/a", "port 0 is outside 1 to 65535"),
            ("[::1]:70000/a", "port 70000 is outside 1 to 65535"),
            ("localhost:/a", "port \"\" is not a number"),
            ("localhost:http/a", "port \"http\" is not a number"),
        ] {
            let e = Reference::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
