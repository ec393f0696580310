//! A streaming tar walker with hard limits: names and entry types come from the `tar` crate's
//! `Header`, numeric fields from our own byte parser (`numeric`), and the loop is ours, so extension headers are capped, content is never buffered, and every
//! error says at which byte offset the archive went wrong.

use std::io::{self, BufRead};

use tar::{EntryType, Header};

/// Largest PAX or GNU long-name extension header accepted. Real ones hold a path or two; a
/// hostile layer can claim gigabytes, which must not turn into an allocation.
pub const MAX_EXTENSION: u64 = 1 << 20;

const BLOCK: usize = 512;

/// What kind of filesystem object an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A hard link: `link` names the target, relative to the archive root.
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

impl Kind {
    /// A stable one-byte code (scans pack it; the layer cache stores it).
    pub fn code(self) -> u8 {
        match self {
            Kind::File => 0,
            Kind::Dir => 1,
            Kind::Symlink => 2,
            Kind::Hardlink => 3,
            Kind::CharDevice => 4,
            Kind::BlockDevice => 5,
            Kind::Fifo => 6,
        }
    }

    /// The kind of a [`Kind::code`].
    pub fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            3 => Kind::Hardlink,
            4 => Kind::CharDevice,
            5 => Kind::BlockDevice,
            6 => Kind::Fifo,
            _ => return None,
        })
    }

    /// One letter as `ls -l` shows it.
    pub fn letter(self) -> char {
        match self {
            Kind::File | Kind::Hardlink => '-',
            Kind::Dir => 'd',
            Kind::Symlink => 'l',
            Kind::CharDevice => 'c',
            Kind::BlockDevice => 'b',
            Kind::Fifo => 'p',
        }
    }
}

/// One entry's header, with PAX and GNU extensions applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// The name as stored (bytes, not always UTF-8), not yet normalised.
    pub path: Vec<u8>,
    /// Link target for symlinks and hard links.
    pub link: Option<Vec<u8>>,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    /// Bytes of content that follow the header (0 for everything but regular files).
    pub size: u64,
}

/// Why a tar stream could not be walked.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("bad tar header at byte {offset}: {message}")]
    Header { offset: u64, message: String },
    #[error("truncated tar: {0}")]
    Truncated(String),
}

/// Walks a tar stream entry by entry. Call [`TarWalker::next_entry`]; the content of the
/// entry it returned can then be read with [`TarWalker::read_content`], or is skipped by the
/// next call.
///
/// The stream is a [`BufRead`]: content is handed to the caller straight out of the reader's
/// buffer, and the decompressor behind it fills large buffers instead of answering one small
/// read per header and per file (which made zlib copy out of its window for every call).
pub struct TarWalker<R> {
    inner: R,
    /// Bytes consumed so far (for messages).
    offset: u64,
    /// Content bytes of the current entry not yet read, and padding after them.
    remaining: u64,
    padding: u64,
    done: bool,
    /// Entries whose type is not understood (skipped).
    pub skipped_unknown: u64,
}

impl<R: BufRead> TarWalker<R> {
    pub fn new(inner: R) -> Self {
        TarWalker {
            inner,
            offset: 0,
            remaining: 0,
            padding: 0,
            done: false,
            skipped_unknown: 0,
        }
    }

    /// Gives back the underlying reader (to drain it, for example).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes of the stream consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the rest of the current entry's content, passing each chunk to `sink`.
    pub fn read_content(&mut self, mut sink: impl FnMut(&[u8])) -> Result<(), TarError> {
        while self.remaining > 0 {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                return Err(TarError::Truncated(format!(
                    "stream ends at byte {} inside an entry's content ({} bytes missing)",
                    self.offset, self.remaining
                )));
            }
            let n = usize::try_from(self.remaining)
                .unwrap_or(usize::MAX)
                .min(avail.len());
            sink(&avail[..n]);
            self.inner.consume(n);
            self.offset += n as u64;
            self.remaining -= n as u64;
        }
        Ok(())
    }

    fn skip_rest(&mut self) -> Result<(), TarError> {
        self.read_content(|_| ())?;
        if self.padding > 0 {
            self.skip_padding()?;
        }
        Ok(())
    }

    fn skip_padding(&mut self) -> Result<(), TarError> {
        while self.padding > 0 {
            let avail = self.inner.fill_buf()?.len();
            if avail == 0 {
                return Err(TarError::Truncated(format!(
                    "stream ends at byte {} inside padding",
                    self.offset
                )));
            }
            let n = usize::try_from(self.padding).unwrap_or(BLOCK).min(avail);
            self.inner.consume(n);
            self.offset += n as u64;
            self.padding -= n as u64;
        }
        Ok(())
    }

    /// Reads one header block; `None` at a clean end of the stream.
    fn read_block(&mut self) -> Result<Option<[u8; BLOCK]>, TarError> {
        let mut block = [0u8; BLOCK];
        let mut got = 0;
        while got < BLOCK {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                if got == 0 {
                    return Ok(None);
                }
                return Err(TarError::Truncated(format!(
                    "stream ends at byte {} inside a header",
                    self.offset + got as u64
                )));
            }
            let n = (BLOCK - got).min(avail.len());
            block[got..got + n].copy_from_slice(&avail[..n]);
            self.inner.consume(n);
            got += n;
        }
        self.offset += BLOCK as u64;
        Ok(Some(block))
    }

    /// Reads an extension header's payload (PAX or GNU long name), capped.
    fn read_extension(&mut self, size: u64, what: &str) -> Result<Vec<u8>, TarError> {
        if size > MAX_EXTENSION {
            return Err(TarError::Header {
                offset: self.offset,
                message: format!("{what} claims {size} bytes, over the {MAX_EXTENSION}-byte limit"),
            });
        }
        // Bounded by MAX_EXTENSION above, so this allocation is not attacker-sized.
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.remaining = size;
        self.padding = pad_of(size);
        self.read_content(|chunk| data.extend_from_slice(chunk))?;
        self.skip_rest()?;
        Ok(data)
    }

    /// Advances to the next real entry, skipping the rest of the current one.
    pub fn next_entry(&mut self) -> Result<Option<TarEntry>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.skip_rest()?;
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax: Option<Vec<u8>> = None;
        loop {
            let header_offset = self.offset;
            let Some(block) = self.read_block()? else {
                // EOF without the two zero blocks: accepted, as GNU tar and runtimes do.
                self.done = true;
                return Ok(None);
            };
            if block.iter().all(|&b| b == 0) {
                self.done = true;
                return Ok(None);
            }
            let header = Header::from_byte_slice(&block);
            check_checksum(&block, header_offset)?;
            let bad = |message: String| TarError::Header {
                offset: header_offset,
                message,
            };
            let size = numeric(&block[124..136]).ok_or_else(|| {
                bad(format!(
                    "unreadable size: {:?}",
                    field_text(&block[124..136])
                ))
            })?;
            let entry_type = header.entry_type();
            match entry_type {
                EntryType::XHeader => {
                    pax = Some(self.read_extension(size, "PAX extended header")?);
                    continue;
                }
                EntryType::XGlobalHeader => {
                    // `git archive` writes one; it carries a comment, nothing about entries.
                    self.remaining = size;
                    self.padding = pad_of(size);
                    self.skip_rest()?;
                    continue;
                }
                EntryType::GNULongName => {
                    let mut name = self.read_extension(size, "GNU long name")?;
                    trim_nul(&mut name);
                    long_name = Some(name);
                    continue;
                }
                EntryType::GNULongLink => {
                    let mut name = self.read_extension(size, "GNU long link name")?;
                    trim_nul(&mut name);
                    long_link = Some(name);
                    continue;
                }
                _ => {}
            }

            let mut entry = TarEntry {
                path: long_name
                    .take()
                    .unwrap_or_else(|| header.path_bytes().into_owned()),
                link: long_link
                    .take()
                    .or_else(|| header.link_name_bytes().map(|l| l.into_owned())),
                kind: Kind::File,
                mode: numeric(&block[100..108]).map_or(0o644, |m| (m & 0o7777) as u32),
                uid: numeric(&block[108..116]).unwrap_or(0),
                gid: numeric(&block[116..124]).unwrap_or(0),
                mtime: numeric(&block[136..148])
                    .map(|t| i64::try_from(t).unwrap_or(i64::MAX))
                    .unwrap_or(0),
                size,
            };
            let mut data_size = size;
            if let Some(pax) = pax.take() {
                apply_pax(&mut entry, &mut data_size, &pax)
                    .map_err(|m| bad(format!("PAX header: {m}")))?;
            }
            self.remaining = data_size;
            self.padding = pad_of(data_size);
            entry.kind = match entry_type {
                EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => Kind::File,
                EntryType::Link => Kind::Hardlink,
                EntryType::Symlink => Kind::Symlink,
                EntryType::Directory => Kind::Dir,
                EntryType::Char => Kind::CharDevice,
                EntryType::Block => Kind::BlockDevice,
                EntryType::Fifo => Kind::Fifo,
                _ => {
                    self.skipped_unknown += 1;
                    continue;
                }
            };
            if entry.kind != Kind::File {
                // Only regular files have content; a size on anything else is data to skip.
                entry.size = 0;
            }
            if matches!(entry.kind, Kind::Symlink | Kind::Hardlink) && entry.link.is_none() {
                entry.link = Some(Vec::new());
            }
            if !matches!(entry.kind, Kind::Symlink | Kind::Hardlink) {
                entry.link = None;
            }
            return Ok(Some(entry));
        }
    }
}

fn pad_of(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn trim_nul(name: &mut Vec<u8>) {
    while name.last() == Some(&0) {
        name.pop();
    }
}

/// A numeric header field: octal digits, space- or NUL-padded on either side, or GNU's base-256
/// (high bit of the first byte set) for values octal cannot hold. Parsed from the bytes, since
/// the tar crate's parser goes through UTF-8 and string trimming (10% of a million-entry read).
fn numeric(field: &[u8]) -> Option<u64> {
    let (&first, rest) = field.split_first()?;
    if first & 0x80 != 0 {
        if first & 0x40 != 0 {
            // Negative base-256 (0xff…): no size, id or time here can be negative.
            return None;
        }
        let mut value = u64::from(first & 0x3f);
        for &b in rest {
            value = value.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(value);
    }
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let digits = field[..end].trim_ascii();
    if digits.is_empty() {
        return None;
    }
    let mut value = 0u64;
    for &b in digits {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// A numeric field as text, for an error message.
fn field_text(field: &[u8]) -> String {
    String::from_utf8_lossy(field)
        .trim_end_matches('\0')
        .to_string()
}

fn check_checksum(block: &[u8; BLOCK], offset: u64) -> Result<(), TarError> {
    let stored = numeric(&block[148..156])
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| TarError::Header {
            offset,
            message: "not a tar header (unreadable checksum field)".into(),
        })?;
    // The checksum is computed with its own 8-byte field read as spaces.
    let all: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let field: u32 = block[148..156].iter().map(|&b| u32::from(b)).sum();
    let sum = all - field + 8 * u32::from(b' ');
    if sum != stored {
        return Err(TarError::Header {
            offset,
            message: format!("checksum {stored} does not match the header's bytes ({sum})"),
        });
    }
    Ok(())
}

fn apply_pax(entry: &mut TarEntry, data_size: &mut u64, pax: &[u8]) -> Result<(), String> {
    for ext in tar::PaxExtensions::new(pax) {
        let ext = ext.map_err(|e| e.to_string())?;
        let value = ext.value_bytes();
        let number = || -> Result<u64, String> {
            let s = std::str::from_utf8(value).map_err(|e| e.to_string())?;
            // mtime may carry a fraction: keep the whole seconds.
            let whole = s.split('.').next().unwrap_or(s);
            whole
                .parse::<u64>()
                .map_err(|_| format!("{} is not a number: {s:?}", key_str(ext.key_bytes())))
        };
        match ext.key_bytes() {
            b"path" => entry.path = value.to_vec(),
            b"linkpath" => entry.link = Some(value.to_vec()),
            b"size" => {
                let n = number()?;
                entry.size = n;
                *data_size = n;
            }
            b"uid" => entry.uid = number()?,
            b"gid" => entry.gid = number()?,
            b"mtime" => {
                entry.mtime = i64::try_from(number().unwrap_or(0)).unwrap_or(i64::MAX);
            }
            _ => {}
        }
    }
    Ok(())
}

fn key_str(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o640);
            h.set_entry_type(EntryType::Regular);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn walk(bytes: &[u8]) -> Result<Vec<(TarEntry, Vec<u8>)>, TarError> {
        let mut w = TarWalker::new(bytes);
        let mut out = Vec::new();
        while let Some(e) = w.next_entry()? {
            let mut data = Vec::new();
            if e.kind == Kind::File {
                w.read_content(|c| data.extend_from_slice(c))?;
            }
            out.push((e, data));
        }
        Ok(out)
    }

    #[test]
    fn reads_names_sizes_modes_and_content() {
        let tar = build(&[("a/b.txt", b"hello"), ("c", b"")]);
        let got = walk(&tar).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.path, b"a/b.txt");
        assert_eq!(got[0].0.size, 5);
        assert_eq!(got[0].0.mode, 0o640);
        assert_eq!(got[0].1, b"hello");
        assert_eq!(got[1].0.path, b"c");
    }

    #[test]
    fn long_names_through_gnu_and_pax() {
        let long = "d/".repeat(80) + "file";
        let tar = build(&[(long.as_str(), b"x")]);
        let got = walk(&tar).unwrap();
        assert_eq!(got[0].0.path, long.as_bytes());

        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("path", b"pax/name".as_slice()), ("size", b"3".as_slice())])
            .unwrap();
        let mut h = Header::new_ustar();
        h.set_size(3);
        h.set_path("short").unwrap();
        h.set_cksum();
        b.append(&h, &b"abc"[..]).unwrap();
        let got = walk(&b.into_inner().unwrap()).unwrap();
        assert_eq!(got[0].0.path, b"pax/name");
        assert_eq!(got[0].1, b"abc");
    }

    #[test]
    fn global_pax_header_is_skipped() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::XGlobalHeader);
        h.set_size(20);
        h.set_path("pax_global_header").unwrap();
        h.set_cksum();
        b.append(&h, &b"20 comment=abcdefgh\n"[..]).unwrap();
        let mut h = Header::new_ustar();
        h.set_size(1);
        h.set_path("f").unwrap();
        h.set_cksum();
        b.append(&h, &b"z"[..]).unwrap();
        let got = walk(&b.into_inner().unwrap()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.path, b"f");
    }

    #[test]
    fn huge_extension_header_is_refused_without_allocating() {
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::XHeader);
        h.set_size(5 << 30);
        h.set_path("pax").unwrap();
        h.set_cksum();
        let bytes = h.as_bytes().to_vec();
        let err = walk(&bytes).unwrap_err();
        assert!(
            err.to_string().contains("over the 1048576-byte limit"),
            "{err}"
        );
    }

    #[test]
    fn truncated_content_is_an_error() {
        let tar = build(&[("f", &[7u8; 2000])]);
        let err = walk(&tar[..1024]).unwrap_err();
        assert!(matches!(err, TarError::Truncated(_)), "{err}");
    }

    #[test]
    fn corrupt_header_checksum_names_the_offset() {
        let mut tar = build(&[("f", b"1"), ("g", b"2")]);
        tar[1024 + 10] ^= 0x55;
        let err = walk(&tar).unwrap_err();
        assert!(err.to_string().contains("byte 1024"), "{err}");
    }

    #[test]
    fn not_a_tar_is_an_error() {
        let junk = vec![b'A'; 1024];
        assert!(walk(&junk).is_err());
    }

    #[test]
    fn links_keep_targets_and_lose_sizes() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "s", "target/x").unwrap();
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "h", "a/b").unwrap();
        let got = walk(&b.into_inner().unwrap()).unwrap();
        assert_eq!(got[0].0.kind, Kind::Symlink);
        assert_eq!(got[0].0.link.as_deref(), Some(&b"target/x"[..]));
        assert_eq!(got[1].0.kind, Kind::Hardlink);
        assert_eq!(got[1].0.link.as_deref(), Some(&b"a/b"[..]));
    }

    #[test]
    fn numeric_fields_read_as_the_tar_crate_writes_them() {
        // Octal as GNU and ustar headers write it, and GNU base-256 past octal's reach.
        for value in [
            0u64,
            1,
            0o755,
            0o7777777,
            8 << 30,
            (1 << 40) + 3,
            u64::MAX >> 8,
        ] {
            for mut h in [Header::new_gnu(), Header::new_ustar()] {
                h.set_size(value);
                h.set_mtime(value.min(0o77777777777));
                let block = h.as_bytes();
                if value < 8 << 30 || block[124] & 0x80 != 0 {
                    assert_eq!(numeric(&block[124..136]), Some(value), "{value}");
                    assert_eq!(
                        numeric(&block[124..136]).ok_or(()),
                        h.size().map_err(|_| ())
                    );
                }
                assert_eq!(numeric(&block[136..148]), h.mtime().ok());
            }
        }
    }

    #[test]
    fn numeric_fields_tolerate_padding_and_refuse_junk() {
        assert_eq!(numeric(b"0000644\0"), Some(0o644));
        assert_eq!(numeric(b"   644 \0"), Some(0o644));
        assert_eq!(numeric(b"644\0\0\0\0\0"), Some(0o644));
        assert_eq!(numeric(b"0012345\0 "), Some(0o12345));
        assert_eq!(numeric(b"00000000000"), Some(0));
        assert_eq!(numeric(b"\0\0\0\0"), None);
        assert_eq!(numeric(b"        "), None);
        assert_eq!(numeric(b"0008"), None);
        assert_eq!(numeric(b"12 34"), None);
        assert_eq!(numeric(b""), None);
        // Base-256: positive, negative (refused), and past u64 (refused).
        assert_eq!(numeric(&[0x80, 0, 0, 0, 0, 0, 0, 1, 2]), Some(258));
        assert_eq!(numeric(&[0xff; 8]), None);
        assert_eq!(numeric(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        // Octal past u64.
        assert_eq!(numeric(b"7777777777777777777777777"), None);
    }
}
