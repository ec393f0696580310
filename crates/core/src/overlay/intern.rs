//! Interning: every distinct byte string is stored once and named by a 4-byte symbol. Symlink
//! targets repeat (`/bin/busybox`, `../lib/libc.so.6`), so a state names its target by symbol.
//! Also the 32-bit stored hashes the overlay's tables keep.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::layer::ApplyError;

/// A component name's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

impl Sym {
    pub(crate) fn from_raw(raw: u32) -> Sym {
        Sym(raw)
    }

    pub(crate) fn raw(self) -> u32 {
        self.0
    }
}

/// Stores each distinct byte string once.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    bytes: Vec<u8>,
    /// Start of each symbol in `bytes`; the end is the next start (or `bytes.len()`).
    starts: Vec<u32>,
    /// Each symbol with 32 bits of its name's hash, so growing the table re-hashes nothing.
    table: HashTable<(Sym, u32)>,
    hasher: DefaultHashBuilder,
}

/// 32 bits of a hash, kept beside a table entry.
pub(crate) fn short_hash(h: u64) -> u32 {
    (h >> 32) as u32
}

/// The full table hash of a kept [`short_hash`]: its bits twice, so hashbrown's bucket bits
/// (low) and tag bits (top 7) both come from it.
pub(crate) fn table_hash(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

impl Interner {
    /// The symbol for `name`, adding it if new.
    ///
    /// # Panics
    /// Never on real input; past 4 GiB of distinct names it returns an error instead.
    pub fn intern(&mut self, name: &[u8]) -> Result<Sym, ApplyError> {
        let h = short_hash(self.hasher.hash_one(name));
        let Interner {
            bytes,
            starts,
            table,
            ..
        } = self;
        if let Some(&(sym, _)) = table.find(table_hash(h), |&(s, sh)| {
            sh == h && get(bytes, starts, s) == name
        }) {
            return Ok(sym);
        }
        let start = u32::try_from(bytes.len()).map_err(|_| ApplyError::NamesOver4GiB)?;
        let sym = Sym(u32::try_from(starts.len()).map_err(|_| ApplyError::TooManyNames)?);
        bytes.extend_from_slice(name);
        starts.push(start);
        table.insert_unique(table_hash(h), (sym, h), |&(_, sh)| table_hash(sh));
        Ok(sym)
    }

    /// The bytes of a symbol.
    pub fn get(&self, sym: Sym) -> &[u8] {
        get(&self.bytes, &self.starts, sym)
    }

    /// Bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.starts.capacity() * 4 + self.table.capacity() * 9
    }
}

fn get<'a>(bytes: &'a [u8], starts: &[u32], sym: Sym) -> &'a [u8] {
    let i = sym.0 as usize;
    let start = starts[i] as usize;
    let end = starts.get(i + 1).map_or(bytes.len(), |&e| e as usize);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_symbol() {
        let mut i = Interner::default();
        let a = i.intern(b"lib").unwrap();
        let b = i.intern(b"usr").unwrap();
        let e = i.intern(b"").unwrap();
        assert_eq!(i.intern(b"lib").unwrap(), a);
        assert_ne!(a, b);
        assert_eq!(i.get(a), b"lib");
        assert_eq!(i.get(b), b"usr");
        assert_eq!(i.get(e), b"");
        assert_eq!(i.intern(b"usr").unwrap(), b);
        let bin = i.intern(&[0xff, 0xfe]).unwrap();
        assert_eq!(i.get(bin), &[0xff, 0xfe]);
    }
}
