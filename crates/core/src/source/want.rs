//! Which image of an input the user wants ([`Want`]), and the wording every loader shares to
//! say what else there is: lists cut short, image names compared as Docker compares them.

use crate::image::Platform;

/// Which image of an input the user wants, and how strictly its documents are checked.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Want<'a> {
    /// A tag or reference name among several images.
    pub reference: Option<&'a str>,
    /// An explicit platform (`None`: the host's, by the platform rules).
    pub platform: Option<&'a Platform>,
    /// See [`OpenOptions::lenient`](super::OpenOptions::lenient).
    pub lenient: bool,
}

/// The most items a message lists before it says how many more there are.
const LISTED: usize = 12;

/// Items joined with `, ` for a message, cut after the first [`LISTED`] with "… and N more":
/// an index of 70,000 platforms must not make a 1 MB error line.
pub(crate) fn list_cut<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = items
        .iter()
        .take(LISTED)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LISTED {
        out.push_str(&format!(", … and {} more", items.len() - LISTED));
    }
    out
}

/// Whether two image names are the same, with Docker Hub's defaults applied
/// (`docker.io/library/alpine:latest` is `alpine`).
pub(crate) fn same_image_name(a: &str, b: &str) -> bool {
    fn canonical(name: &str) -> String {
        let mut n = name;
        for prefix in [
            "docker.io/library/",
            "index.docker.io/library/",
            "docker.io/",
            "index.docker.io/",
        ] {
            if let Some(rest) = n.strip_prefix(prefix) {
                n = rest;
                break;
            }
        }
        let last = n.rsplit('/').next().unwrap_or(n);
        if last.contains(':') || last.contains('@') {
            n.to_string()
        } else {
            format!("{n}:latest")
        }
    }
    a == b || canonical(a) == canonical(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_compare_with_docker_hub_defaults() {
        assert!(same_image_name("docker.io/library/alpine:latest", "alpine"));
        assert!(same_image_name(
            "alpine:3.19",
            "docker.io/library/alpine:3.19"
        ));
        assert!(same_image_name("docker.io/me/app:1", "me/app:1"));
        assert!(!same_image_name("alpine:3.19", "alpine"));
        assert!(!same_image_name("quay.io/alpine:1", "alpine:1"));
    }
}
