//! URLs as the registry client handles them: a request shown in a message (cut, since a
//! hostile `Location` or realm can be 64 KiB), the scheme and origin compared across redirects,
//! a `Location` resolved, a query value encoded. Plain string work: the URLs come from the
//! user's reference and the registry's headers, and only these few questions are asked of them.

/// The longest a URL is shown in a message.
pub(crate) const URL_SHOWN: usize = 256;

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

/// A URL as [`shown`] cuts it, without the `GET ` (every leading `GET `, as the messages
/// always had it, should a hostile URL begin with one).
pub(crate) fn shown_url(url: &str) -> String {
    shown(url).trim_start_matches("GET ").to_string()
}

/// The lowercased scheme of a URL (`https`), empty without one.
pub(crate) fn scheme(url: &str) -> String {
    url.split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default()
}

/// `scheme://host[:port]` of a URL, lowercased, to compare hosts across redirects.
pub(crate) fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{}", host.to_ascii_lowercase())
}

/// Resolves a `Location` header against the URL it answered.
pub(crate) fn resolve_location(base: &str, location: &str) -> String {
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
pub(crate) fn encode(value: &str) -> String {
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
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }

    #[test]
    fn long_urls_are_cut() {
        let long = format!("https://reg.io/{}", "a".repeat(1000));
        let s = shown(&long);
        assert!(
            s.starts_with("GET https://reg.io/aaa") && s.ends_with('…'),
            "{s}"
        );
        assert_eq!(s.chars().count(), "GET ".len() + URL_SHOWN + 1);
        assert_eq!(shown_url(&long), s["GET ".len()..]);
        assert_eq!(shown_url("http://x/"), "http://x/");
    }
}
