//! A repository's tags, as the distribution API lists them: `GET /v2/<name>/tags/list`, in
//! pages (`?n=`, then the `Link: <…>; rel="next"` the registry answers with). Everything the
//! registry says is bounded: the pages, each page's bytes, the tags kept.

use std::io::Read as _;

use super::auth;
use super::body::BodyError;
use super::client::Client;
use super::url::{resolve_location, shown};
use super::{Reference, RegistryOptions};
use crate::error::{Error, Result, TooLarge, TooMany};

/// The most tags kept of a repository (Docker Hub's busiest repositories hold tens of
/// thousands; `strata history` reads a few of them).
pub const MAX_TAGS: usize = 100_000;
/// The most pages followed.
const MAX_PAGES: usize = 1_000;
/// The most bytes of one page (a page of 1,000 tags of 128 bytes is 130 KB).
const PAGE_LIMIT: u64 = 16 << 20;
/// Tags asked for per page.
const PAGE: usize = 1_000;

#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// The tags of `reference`'s repository (its tag and digest are not looked at), in the order
/// the registry lists them.
///
/// # Errors
/// One line naming the URL: the registry cannot be reached or refuses, a page is no JSON, too
/// large, or the pages do not end.
pub(crate) fn list(reference: &Reference, options: &RegistryOptions<'_>) -> Result<Vec<String>> {
    let creds = auth::credentials(&reference.registry, &reference.repository, options.creds)?;
    let client = Client::new(reference.api_host(), options.insecure, creds);
    let scope = format!("repository:{}:pull", reference.repository);
    let what = format!(
        "no repository {} in {}",
        reference.repository, reference.registry
    );
    let mut path = format!("/v2/{}/tags/list?n={PAGE}", reference.repository);
    let mut tags = Vec::new();
    for _ in 0..MAX_PAGES {
        let reply = client.get(&path, "application/json", &scope, &what, false)?;
        let url = reply.url.clone();
        let next = reply
            .header("link")
            .and_then(next_link)
            .map(|l| resolve_location(&url, &l));
        let mut bytes = Vec::new();
        reply
            .into_body(None)
            .take(PAGE_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| BodyError::from_io(&e).unwrap_or_else(|| Error::read(shown(&url), e)))?;
        if bytes.len() as u64 > PAGE_LIMIT {
            return Err(Error::TooLarge {
                what: shown(&url),
                limit: TooLarge::JsonDocument {
                    size: None,
                    limit: PAGE_LIMIT,
                },
            });
        }
        let page: Page = serde_json::from_slice(&bytes).map_err(|e| Error::Json {
            what: shown(&url),
            source: e,
        })?;
        for tag in page.tags.unwrap_or_default() {
            if tags.len() >= MAX_TAGS {
                return Ok(tags);
            }
            tags.push(tag);
        }
        match next {
            // Only the path and query are followed: the registry answered for this host.
            Some(next) => match next.find("/v2/") {
                Some(at) => path = next[at..].to_string(),
                None => return Ok(tags),
            },
            None => return Ok(tags),
        }
    }
    Err(Error::TooMany {
        what: format!("{}/{}: tags", reference.registry, reference.repository),
        limit: TooMany::TagPages { limit: MAX_PAGES },
    })
}

/// The target of a `Link` header's `rel="next"` entry (RFC 8288: `<URL>; rel="next"`).
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let rel_next = params.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        rel_next.then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn the_next_page_is_the_link_marked_next() {
        assert_eq!(
            next_link("</v2/r/tags/list?n=2&last=b>; rel=\"next\"").as_deref(),
            Some("/v2/r/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link("<https://x/prev>; rel=\"prev\", </v2/r/tags/list?last=c>; rel=next")
                .as_deref(),
            Some("/v2/r/tags/list?last=c")
        );
        assert_eq!(next_link("</v2/r/tags/list>; rel=\"prev\""), None);
        assert_eq!(next_link("garbage"), None);
    }
}
