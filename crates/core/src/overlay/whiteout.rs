//! The one place that knows the `.wh.` naming rules of the OCI image spec (`layer.md`).

/// What a name means to the overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker<'a> {
    /// An ordinary name.
    None,
    /// `.wh..wh..opq`: hide every lower-layer child of the directory it sits in.
    Opaque,
    /// `.wh.NAME`: remove NAME (and its subtree) from lower layers.
    Remove(&'a [u8]),
    /// Other `.wh..wh.` names: aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`), not files.
    AufsMeta,
    /// A bare `.wh.`, which names nothing.
    Invalid,
}

pub const PREFIX: &[u8] = b".wh.";
pub const OPAQUE: &[u8] = b".wh..wh..opq";

/// Classifies the last component of a path.
pub fn classify(name: &[u8]) -> Marker<'_> {
    if name == OPAQUE {
        return Marker::Opaque;
    }
    match name.strip_prefix(PREFIX) {
        None => Marker::None,
        Some(b"") => Marker::Invalid,
        Some(rest) if rest.starts_with(PREFIX) => Marker::AufsMeta,
        Some(rest) => Marker::Remove(rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        assert_eq!(classify(b"file"), Marker::None);
        assert_eq!(classify(b".wh.file"), Marker::Remove(b"file"));
        assert_eq!(classify(b".wh..wh..opq"), Marker::Opaque);
        assert_eq!(classify(b".wh..wh.plnk"), Marker::AufsMeta);
        assert_eq!(classify(b".wh."), Marker::Invalid);
        assert_eq!(classify(b".whatever"), Marker::None);
        assert_eq!(classify(b".wh..hidden"), Marker::Remove(b".hidden"));
    }
}
