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

/// What is wrong with a reference, said after `TEXT: invalid image reference: `.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Invalid {
    /// `@` without `ALG:HEX`.
    DigestForm,
    /// A digest whose hex is not lowercase hex, or not 64 digits for sha256.
    DigestHex,
    Tag,
    /// A port of digits outside 1 to 65535.
    PortRange(String),
    /// A port that is not digits.
    PortNumber(String),
    NoRepository,
    /// A path component with other characters than the grammar allows.
    Component(String),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::DigestForm => f.write_str("a digest is ALG:HEX, e.g. sha256:…"),
            Invalid::DigestHex => {
                f.write_str("a digest is ALG:HEX with lowercase hex (sha256: 64 digits)")
            }
            Invalid::Tag => f.write_str("a tag is up to 128 letters, digits, `_`, `.` or `-`"),
            Invalid::PortRange(port) => write!(f, "port {port} is outside 1 to 65535"),
            Invalid::PortNumber(port) => write!(f, "port {port:?} is not a number from 1 to 65535"),
            Invalid::NoRepository => f.write_str("no repository name"),
            Invalid::Component(component) => write!(
                f,
                "repository component {component:?} must be lowercase letters, digits and \
                 separators (`.`, `_`, `-`)"
            ),
        }
    }
}

/// `REST@ALG:HEX` split at the `@`, the digest checked: lowercase hex, 64 digits for sha256.
fn split_digest(text: &str) -> Result<(&str, Option<String>), Invalid> {
    let Some((rest, digest)) = text.split_once('@') else {
        return Ok((text, None));
    };
    let (alg, hex) = digest.split_once(':').ok_or(Invalid::DigestForm)?;
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
        return Err(Invalid::DigestHex);
    }
    Ok((rest, Some(digest.to_string())))
}

/// `NAME[:TAG]` split, the tag checked. The tag is after the last colon that follows the last
/// slash (a port's colon is before a slash).
fn split_tag(rest: &str) -> Result<(&str, Option<String>), Invalid> {
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
        return Err(Invalid::Tag);
    }
    Ok((name, tag))
}

/// `[HOST[:PORT]/]REPO` split: the first component is a host when it has a `.` or a `:` or is
/// `localhost`, else the name is Docker Hub's.
fn split_registry(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    }
}

/// The port, after the host (a bracketed IPv6 address has colons of its own): a TCP port is
/// 1 to 65535, and one outside would only fail later, as a refused connection.
fn check_port(registry: &str) -> Result<(), Invalid> {
    let port = match registry.strip_prefix('[') {
        Some(v6) => v6.split_once("]:").map(|(_, port)| port),
        None => registry.split_once(':').map(|(_, port)| port),
    };
    match port {
        Some(port) if !port.parse::<u16>().is_ok_and(|p| p != 0) => Err(
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                Invalid::PortRange(port.to_string())
            } else {
                Invalid::PortNumber(port.to_string())
            },
        ),
        _ => Ok(()),
    }
}

/// A repository of `/`-separated components of lowercase letters, digits and separators, each
/// beginning and ending with a letter or digit.
fn check_repository(repository: &str) -> Result<(), Invalid> {
    if repository.is_empty() {
        return Err(Invalid::NoRepository);
    }
    for component in repository.split('/') {
        let ok = !component.is_empty()
            && component
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(Invalid::Component(component.to_string()));
        }
    }
    Ok(())
}

impl Reference {
    /// Parses a reference; the tag defaults to `latest` unless a digest pins the image.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the reference and the part that is wrong.
    pub(crate) fn parse(text: &str) -> Result<Reference> {
        Reference::parse_parts(text)
            .map_err(|why| Error::Usage(format!("{text}: invalid image reference: {why}")))
    }

    fn parse_parts(text: &str) -> Result<Reference, Invalid> {
        let (rest, digest) = split_digest(text)?;
        let (name, tag) = split_tag(rest)?;
        let (registry, repository) = split_registry(name);
        check_port(&registry)?;
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        check_repository(&repository)?;
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
        // What Docker's reference grammar (distribution/reference) finds wrong in each.
        for (bad, why) in [
            ("", Invalid::NoRepository),
            ("ghcr.io/", Invalid::NoRepository),
            ("UPPER/case", Invalid::Component("UPPER".into())),
            ("ghcr.io//app", Invalid::Component("".into())),
            ("ghcr.io/o/-app", Invalid::Component("-app".into())),
            ("ghcr.io/o/app:", Invalid::Tag),
            ("ghcr.io/o/app:bad tag", Invalid::Tag),
            ("ghcr.io/o/app:.x", Invalid::Tag),
            ("ghcr.io/o/app@sha256:xyz", Invalid::DigestHex),
            ("ghcr.io/o/app@sha256", Invalid::DigestForm),
        ] {
            assert_eq!(Reference::parse_parts(bad), Err(why.clone()), "{bad}");
            let e = Reference::parse(bad).unwrap_err().to_string();
            assert_eq!(e, format!("{bad}: invalid image reference: {why}"));
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
