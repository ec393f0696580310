//! Choosing among an index's entries: by reference name (or the first image), then by
//! platform; and, when the wanted one is not there, the line that says what there is.

use std::collections::HashSet;

use super::document::Descriptor;
use super::walk::Candidate;
use crate::error::{Error, Result};
use crate::image::Platform;
use crate::source::want::{list_cut, same_image_name};

/// The annotation naming an image in a layout; it counts only on `index.json`'s own entries.
pub(super) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's (and Docker 25's) full image name, next to the short `REF_NAME`.
pub(super) const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The `index.json` entries for `reference`, or for the first image when there is none.
/// Without a reference, the entries sharing the first entry's name make the image: several
/// unnamed entries are one image's platforms; several names are several images.
/// `artifact[i]` says whether `top[i]` is known to be an artifact: those are not counted as
/// images, nor taken as the first image.
pub(super) fn select_reference<'a>(
    top: &'a [Descriptor],
    artifact: &[bool],
    reference: Option<&str>,
    store: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<&'a Descriptor>> {
    let is_image = |i: usize| !artifact.get(i).copied().unwrap_or(false);
    let mut names: Vec<&str> = Vec::new();
    let mut images: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for (i, d) in top.iter().enumerate() {
        if let Some(n) = d.annotation(REF_NAME)
            && seen.insert(n)
        {
            names.push(n);
            if is_image(i) {
                images.push(n);
            }
        }
    }
    let Some(reference) = reference else {
        let first = (0..top.len())
            .find(|&i| is_image(i))
            .map_or(top.first(), |i| top.get(i))
            .and_then(|d| d.annotation(REF_NAME));
        if images.len() > 1 {
            warnings.push(format!(
                "{store} holds {} images ({}); showing the first — name another as {store}:REF",
                images.len(),
                list_cut(&images)
            ));
        }
        return Ok(top
            .iter()
            .filter(|d| d.annotation(REF_NAME) == first)
            .collect());
    };
    let chosen: Vec<&Descriptor> = top
        .iter()
        .filter(|d| {
            d.digest == reference
                || d.annotation(REF_NAME) == Some(reference)
                || d.annotation(CONTAINERD_NAME)
                    .is_some_and(|n| same_image_name(n, reference))
        })
        .collect();
    if chosen.is_empty() {
        let present = if names.is_empty() {
            "index.json names no images".to_string()
        } else {
            format!("references present: {}", list_cut(&names))
        };
        return Err(Error::NotFound(format!(
            "{store}: no image named {reference:?}; {present}"
        )));
    }
    Ok(chosen)
}

/// Chooses among the candidate manifests by platform.
///
/// A lone manifest is taken whatever its platform (checked later against an explicit
/// request). Otherwise the first present manifest for the wanted platform (explicit, or the
/// host's) wins; without an explicit request, a single present manifest also wins, since the
/// others' blobs are absent (`docker save` from the containerd store lists every platform).
pub(super) fn choose(
    candidates: &[Candidate],
    explicit: Option<&Platform>,
    host: &Platform,
    store: &str,
) -> Result<usize> {
    if candidates.len() == 1 {
        return Ok(0);
    }
    let present: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].present)
        .collect();
    if explicit.is_none() && present.len() == 1 {
        return Ok(present[0]);
    }
    let wanted = explicit.unwrap_or(host);
    let fits = |c: &Candidate| c.desc.platform().is_some_and(|p| p.satisfies(wanted));
    if let Some(&i) = present.iter().find(|&&i| fits(&candidates[i])) {
        return Ok(i);
    }
    // A manifest without a platform in its descriptor may still be the one (its config says).
    if let Some(&i) = present
        .iter()
        .find(|&&i| candidates[i].desc.platform().is_none())
    {
        return Ok(i);
    }
    let mut listed: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for c in candidates {
        if let Some(p) = c.desc.platform() {
            let p = if c.present {
                p.to_string()
            } else {
                format!("{p} (blobs absent)")
            };
            if seen.insert(p.clone()) {
                listed.push(p);
            }
        }
    }
    let listed_absent = candidates.iter().any(|c| !c.present && fits(c));
    let why = if listed_absent {
        "is listed but its blobs are not here"
    } else {
        "is not in the index"
    };
    Err(Error::NotFound(format!(
        "{store}: platform {wanted} {why}; platforms present: {} (choose one with --platform)",
        if listed.is_empty() {
            "none named".to_string()
        } else {
            list_cut(&listed)
        }
    )))
}
