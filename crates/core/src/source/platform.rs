//! Platforms: parsing `os/arch[/variant]`, the host's platform in OCI terms, and matching.

use crate::error::{Error, Result};
use crate::image::Platform;

/// OCI's name for an architecture, from Rust's, Debian's or uname's spelling.
fn oci_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "x86" | "i386" | "i686" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips" if cfg!(target_endian = "little") => "mipsle",
        other => other,
    }
}

impl Platform {
    /// Parses `os/arch[/variant]`; a lone `arch` means `linux/arch`.
    ///
    /// # Errors
    /// [`Error::Usage`] for an empty part or more than three.
    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let bad = || {
            Error::Usage(format!(
                "invalid platform {text:?}: expected os/arch[/variant], e.g. linux/arm64"
            ))
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let (os, arch, variant) = match parts.as_slice() {
            [arch] => ("linux", *arch, None),
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some((*variant).to_string())),
            _ => return Err(bad()),
        };
        Ok(Platform {
            os: os.to_ascii_lowercase(),
            architecture: oci_arch(&arch.to_ascii_lowercase()).to_string(),
            variant,
        })
    }

    /// The platform images for this machine are built for: Linux on every host but Windows
    /// (Docker Desktop runs Linux images on macOS), with Rust's architecture named as OCI does.
    #[must_use]
    pub fn host() -> Platform {
        let os = if cfg!(windows) { "windows" } else { "linux" };
        Platform {
            os: os.to_string(),
            architecture: oci_arch(std::env::consts::ARCH).to_string(),
            variant: None,
        }
    }

    /// Whether an image for `self` satisfies a request for `wanted`. A request without a
    /// variant takes any variant; `arm64` without a variant is `arm64/v8`.
    #[must_use]
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        if !self.os.eq_ignore_ascii_case(&wanted.os)
            || oci_arch(&self.architecture) != oci_arch(&wanted.architecture)
        {
            return false;
        }
        let Some(want) = &wanted.variant else {
            return true;
        };
        let default = (oci_arch(&self.architecture) == "arm64").then_some("v8");
        self.variant.as_deref().or(default) == Some(want.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn parse_forms() {
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
        assert_eq!(p("linux/arm/v7").variant.as_deref(), Some("v7"));
        assert_eq!(p("arm64").to_string(), "linux/arm64");
        assert_eq!(p("linux/x86_64").architecture, "amd64");
        for bad in ["", "linux/", "a/b/c/d", "/amd64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_is_oci_named() {
        let host = Platform::host();
        assert_eq!(host.os, "linux");
        assert_ne!(host.architecture, "x86_64");
        assert_ne!(host.architecture, "aarch64");
    }

    #[test]
    fn matching_rules() {
        assert!(p("linux/arm/v7").satisfies(&p("linux/arm")));
        assert!(!p("linux/arm/v6").satisfies(&p("linux/arm/v7")));
        assert!(p("linux/arm64").satisfies(&p("linux/arm64/v8")));
        assert!(!p("linux/amd64").satisfies(&p("linux/arm64")));
        assert!(!p("windows/amd64").satisfies(&p("linux/amd64")));
    }
}
