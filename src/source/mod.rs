//! Where images come from: recognise the input by its content and resolve it to an [`Image`].

use crate::error::Result;
use crate::image::Image;

/// What the user asked for beyond the input itself.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// `os/arch[/variant]`; `None` means the host's platform.
    pub platform: Option<String>,
    /// A tag (`repo:tag`) or reference name to pick among several images in one input.
    pub tag: Option<String>,
}

/// Opens an image from a path with an optional skopeo-style prefix (`oci:DIR[:REF]`,
/// `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REPO:TAG]`), or a plain path recognised by
/// its content.
pub fn open(spec: &str, options: &OpenOptions) -> Result<Image> {
    let _ = (spec, options);
    todo!("source::open")
}
