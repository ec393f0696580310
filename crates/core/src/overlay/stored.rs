//! A path's state as the filesystem keeps it: 24 bytes. A million paths keep a million or more
//! of these (a directory repeated by a layer keeps one more), so the public [`Meta`] — which
//! repeats its object's size and content hash and spells out every flag — is built on demand.

use super::{Meta, NONE, Object, ObjectId};
use crate::layer::Kind;

/// The permission bits (tar's mode field is masked to them when read).
const MODE: u32 = 0o7777;
const KIND_SHIFT: u32 = 12;
const KIND_MASK: u32 = 0b111 << KIND_SHIFT;
const HARDLINK: u32 = 1 << 15;
const IMPLICIT: u32 = 1 << 16;

/// One state, packed: mode, kind and flags in one word; the object (regular files) or the
/// interned link target (symlinks) in another, as no state has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stored {
    bits: u32,
    uid: u32,
    gid: u32,
    /// The object of a regular file, the link target of a symlink, else `NONE`.
    refer: u32,
    mtime: i64,
}

const _: () = assert!(std::mem::size_of::<Stored>() == 24);

impl Stored {
    /// Packs `meta`: its size and hash are its object's, and it names an object or a link
    /// target as its kind says.
    pub(super) fn pack(meta: &Meta) -> Stored {
        let refer = match meta.kind {
            Kind::File => meta.object,
            Kind::Symlink => meta.link,
            _ => NONE,
        };
        debug_assert!(
            meta.object == NONE || meta.kind == Kind::File,
            "only regular files have objects"
        );
        debug_assert!(
            meta.link == NONE || meta.kind == Kind::Symlink,
            "only symlinks have targets"
        );
        Stored {
            bits: (meta.mode & MODE)
                | u32::from(meta.kind.code()) << KIND_SHIFT
                | if meta.hardlink { HARDLINK } else { 0 }
                | if meta.implicit { IMPLICIT } else { 0 },
            uid: meta.uid,
            gid: meta.gid,
            refer,
            mtime: meta.mtime,
        }
    }

    /// The public view, the size and hash read from the object.
    pub(super) fn view(&self, objects: &[Object]) -> Meta {
        let kind = self.kind();
        let object = self.object();
        let (size, hash) = object.map_or((0, 0), |o| {
            let o = &objects[o as usize];
            (o.size, o.hash)
        });
        Meta {
            kind,
            hardlink: self.bits & HARDLINK != 0,
            implicit: self.bits & IMPLICIT != 0,
            mode: self.bits & MODE,
            uid: self.uid,
            gid: self.gid,
            mtime: self.mtime,
            size,
            hash,
            object: object.unwrap_or(NONE),
            link: self.link().unwrap_or(NONE),
        }
    }

    pub(super) fn kind(&self) -> Kind {
        // Only `pack` writes the bits, from a valid code.
        Kind::from_code(((self.bits & KIND_MASK) >> KIND_SHIFT) as u8).unwrap_or(Kind::File)
    }

    pub(super) fn is_dir(&self) -> bool {
        self.kind() == Kind::Dir
    }

    pub(super) fn hardlink(&self) -> bool {
        self.bits & HARDLINK != 0
    }

    pub(super) fn object(&self) -> Option<ObjectId> {
        (self.kind() == Kind::File && self.refer != NONE).then_some(self.refer)
    }

    pub(super) fn link(&self) -> Option<u32> {
        (self.kind() == Kind::Symlink && self.refer != NONE).then_some(self.refer)
    }

    /// Mode, owner and group differ.
    pub(super) fn owner_mode_differs(&self, other: &Stored) -> bool {
        (self.bits & MODE) != (other.bits & MODE) || self.uid != other.uid || self.gid != other.gid
    }

    pub(super) fn mtime(&self) -> i64 {
        self.mtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: Kind, object: u32, link: u32) -> Meta {
        Meta {
            kind,
            hardlink: true,
            implicit: false,
            mode: 0o4755,
            uid: u32::MAX,
            gid: 7,
            mtime: -5,
            size: 0,
            hash: 0,
            object,
            link,
        }
    }

    #[test]
    fn packing_keeps_every_field() {
        let objects = [Object {
            size: 11,
            hash: 0xfeed,
            layer: 0,
            node: 3,
            refs: 1,
            killed_by: u16::MAX,
        }];
        let cases = [
            (meta(Kind::File, 0, NONE), 11, 0xfeed),
            (meta(Kind::Symlink, NONE, 42), 0, 0),
            (meta(Kind::Dir, NONE, NONE), 0, 0),
            (meta(Kind::Fifo, NONE, NONE), 0, 0),
            (meta(Kind::BlockDevice, NONE, NONE), 0, 0),
        ];
        for (m, size, hash) in cases {
            let back = Stored::pack(&m).view(&objects);
            assert_eq!(back, Meta { size, hash, ..m }, "{:?}", m.kind);
        }
        let plain = Meta {
            hardlink: false,
            implicit: true,
            mode: 0o7777,
            ..meta(Kind::Dir, NONE, NONE)
        };
        assert_eq!(Stored::pack(&plain).view(&objects), plain);
    }
}
