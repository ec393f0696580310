//! A streaming tar walker with hard limits. Headers are decoded where they lie in the reader's
//! buffer by our own field readers (`header_path`, `numeric`), which read what the `tar`
//! crate's `Header` reads; the loop is ours, so extension headers are capped, content is never
//! buffered, and every error says at which byte offset the archive went wrong.

use std::io::{self, BufRead, Read};

use tar::EntryType;

pub use crate::error::layer::{Extension, HeaderFault, PaxFault, TarError};

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

impl Default for TarEntry {
    fn default() -> Self {
        TarEntry {
            path: Vec::new(),
            link: None,
            kind: Kind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            size: 0,
        }
    }
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
    raw_type: u8,
}

/// The content of a [`TarWalker`]'s current entry, as a reader.
pub struct Content<'a, R> {
    walker: &'a mut TarWalker<R>,
}

impl<R: BufRead> Read for Content<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let w = &mut *self.walker;
        if w.remaining == 0 || out.is_empty() {
            return Ok(0);
        }
        let avail = w.inner.fill_buf()?;
        if avail.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive ends at byte {} inside an entry's content ({} bytes missing)",
                    w.offset, w.remaining
                ),
            ));
        }
        let n = usize::try_from(w.remaining)
            .unwrap_or(usize::MAX)
            .min(avail.len())
            .min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        w.inner.consume(n);
        w.offset += n as u64;
        w.remaining -= n as u64;
        Ok(n)
    }
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
            raw_type: 0,
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
                return Err(TarError::TruncatedContent {
                    offset: self.offset,
                    missing: self.remaining,
                });
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

    /// The current entry's content as a reader, which ends where the content ends (a layer
    /// inside a streamed `docker save` is read this way).
    pub fn content(&mut self) -> Content<'_, R> {
        Content { walker: self }
    }

    /// Skips the rest of the current entry and its padding with `seek`, which must advance
    /// the reader by the number of bytes it is given (a file read through a `BufReader`:
    /// `seek_relative`), so that indexing a large archive reads only its headers.
    pub fn skip_by(
        &mut self,
        seek: impl FnOnce(&mut R, u64) -> io::Result<()>,
    ) -> Result<(), TarError> {
        let n = self.remaining + self.padding;
        if n > 0 {
            seek(&mut self.inner, n)?;
            self.offset += n;
            (self.remaining, self.padding) = (0, 0);
        }
        Ok(())
    }

    /// The type byte of the last entry's own header (`b'S'` for an old GNU sparse file, which
    /// reads as [`Kind::File`] but whose data is not the file's content).
    pub fn raw_type(&self) -> u8 {
        self.raw_type
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
                // The end of the stream inside padding ends the archive cleanly for Go's
                // archive/tar (containerd, moby), so it does here; the next header read
                // finds the end.
                self.padding = 0;
                return Ok(());
            }
            let n = usize::try_from(self.padding).unwrap_or(BLOCK).min(avail);
            self.inner.consume(n);
            self.offset += n as u64;
            self.padding -= n as u64;
        }
        Ok(())
    }

    /// Reads one header block across buffer refills; `None` at a clean end of the stream.
    /// [`TarWalker::header`] reads headers in place instead whenever the reader's buffer
    /// holds a whole block, which is nearly always.
    fn read_block(&mut self) -> Result<Option<[u8; BLOCK]>, TarError> {
        let mut block = [0u8; BLOCK];
        let mut got = 0;
        while got < BLOCK {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                if got == 0 {
                    return Ok(None);
                }
                return Err(TarError::TruncatedHeader {
                    offset: self.offset + got as u64,
                });
            }
            let n = (BLOCK - got).min(avail.len());
            block[got..got + n].copy_from_slice(&avail[..n]);
            self.inner.consume(n);
            got += n;
        }
        Ok(Some(block))
    }

    /// Reads an extension header's payload (PAX or GNU long name), capped.
    fn read_extension(&mut self, size: u64, extension: Extension) -> Result<Vec<u8>, TarError> {
        if size > MAX_EXTENSION {
            return Err(TarError::Header {
                // The header is the block just read: the offset has passed it.
                offset: self.offset.saturating_sub(BLOCK as u64),
                fault: HeaderFault::ExtensionTooLarge {
                    extension,
                    size,
                    limit: MAX_EXTENSION,
                },
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

    /// After a zero block: the archive ends, unless a header follows, which Go's archive/tar
    /// (containerd, moby) refuses; GNU tar and Python stop at the zero block, so the entries
    /// after it would be read by no one and are reported instead of ignored.
    fn end_of_archive(&mut self, zero_at: u64) -> Result<(), TarError> {
        self.done = true;
        let Some(block) = self.read_block()? else {
            return Ok(());
        };
        self.offset += BLOCK as u64;
        if block.iter().all(|&b| b == 0) {
            return Ok(());
        }
        Err(TarError::Header {
            offset: zero_at,
            fault: HeaderFault::LoneZeroBlock,
        })
    }

    /// Advances to the next real entry, skipping the rest of the current one.
    pub fn next_entry(&mut self) -> Result<Option<TarEntry>, TarError> {
        let mut entry = TarEntry::default();
        Ok(self.next_into(&mut entry)?.then_some(entry))
    }

    /// [`TarWalker::next_entry`] into `entry`, whose buffers are reused (a million-entry layer
    /// would otherwise allocate and free a name per entry). Returns false at the end.
    pub fn next_into(&mut self, entry: &mut TarEntry) -> Result<bool, TarError> {
        if self.done {
            return Ok(false);
        }
        self.skip_rest()?;
        let mut pending = Pending::default();
        loop {
            let header_offset = self.offset;
            // Go's archive/tar lets GNU long names win over PAX `path` and `linkpath`.
            let gnu_names = (pending.long_name.is_some(), pending.long_link.is_some());
            let Some((raw_type, size)) = self.header(entry, &mut pending)? else {
                return Ok(false);
            };
            let entry_type = EntryType::new(raw_type);
            self.raw_type = raw_type;
            if self.extension(entry_type, size, &mut pending)? {
                continue;
            }
            let mut data_size = size;
            if let Some(pax) = pending.pax.take() {
                apply_pax(entry, &mut data_size, &pax, gnu_names).map_err(|fault| {
                    TarError::Header {
                        offset: header_offset,
                        fault: HeaderFault::Pax(fault),
                    }
                })?;
            }
            let Some(kind) = kind_of(entry_type, raw_type, &entry.path) else {
                // A type strata does not model (GNU dumpdir `D`, a vendor letter) carries
                // `size` bytes of data, which are skipped, never read as headers.
                self.skipped_unknown += 1;
                self.remaining = data_size;
                self.padding = pad_of(data_size);
                self.skip_rest()?;
                continue;
            };
            self.start_entry(entry, kind, data_size);
            return Ok(true);
        }
    }

    /// Reads and decodes the next header block: its type byte and size field, or `None` at
    /// the end of the archive. The header is decoded straight out of the reader's buffer, and
    /// copied only when it straddles a refill.
    #[inline]
    fn header(
        &mut self,
        entry: &mut TarEntry,
        pending: &mut Pending,
    ) -> Result<Option<(u8, u64)>, TarError> {
        let header_offset = self.offset;
        let names = Names {
            long_name: &mut pending.long_name,
            long_link: &mut pending.long_link,
        };
        let avail = self.inner.fill_buf()?;
        let block = if avail.len() >= BLOCK {
            let block = decode_header(&avail[..BLOCK], header_offset, entry, names);
            self.inner.consume(BLOCK);
            block
        } else {
            match self.read_block()? {
                Some(block) => decode_header(&block, header_offset, entry, names),
                None => {
                    // EOF without the two zero blocks: accepted, as GNU tar and runtimes do.
                    self.done = true;
                    return Ok(None);
                }
            }
        };
        self.offset += BLOCK as u64;
        match block? {
            Block::End => {
                self.end_of_archive(header_offset)?;
                Ok(None)
            }
            Block::Entry(raw_type, size) => Ok(Some((raw_type, size))),
        }
    }

    /// Reads the payload of an extension header (PAX, GNU long names) into `pending`, for the
    /// entry after it; false when `entry_type` is not one.
    #[inline]
    fn extension(
        &mut self,
        entry_type: EntryType,
        size: u64,
        pending: &mut Pending,
    ) -> Result<bool, TarError> {
        match entry_type {
            EntryType::XHeader => pending.pax = Some(self.read_extension(size, Extension::Pax)?),
            EntryType::XGlobalHeader => {
                // `git archive` writes one; it carries a comment, nothing about entries.
                // Go's archive/tar returns it as an entry of its own (runtimes ignore it),
                // so the extension headers before it apply to it, not to the next entry.
                self.read_extension(size, Extension::PaxGlobal)?;
                *pending = Pending::default();
            }
            EntryType::GNULongName => {
                let name = self.read_extension(size, Extension::GnuLongName)?;
                pending.long_name = Some(until_nul(&name).to_vec());
            }
            EntryType::GNULongLink => {
                let name = self.read_extension(size, Extension::GnuLongLink)?;
                pending.long_link = Some(until_nul(&name).to_vec());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Makes `entry` one of `kind` whose data (`data_size` bytes, for regular files only)
    /// follows.
    #[inline]
    fn start_entry(&mut self, entry: &mut TarEntry, kind: Kind, data_size: u64) {
        entry.kind = kind;
        if kind == Kind::File {
            self.remaining = data_size;
            self.padding = pad_of(data_size);
        } else {
            // Header-only types (directories, links, devices, FIFOs) carry no data whatever
            // their size field says: Go's archive/tar (containerd, moby) and Python read
            // the next header right after them. Skipping `size` bytes here would hide
            // from strata whatever an attacker put in them. (GNU tar 1.34 agrees for
            // directories and hard links, but skips `size` bytes after symlinks, devices
            // and FIFOs; runtimes read with Go.)
            entry.size = 0;
        }
        if matches!(kind, Kind::Symlink | Kind::Hardlink) {
            if entry.link.is_none() {
                entry.link = Some(Vec::new());
            }
        } else {
            entry.link = None;
        }
    }
}

/// The extension headers read before an entry's own header, which apply to it.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

/// The kind of an entry of type `entry_type` (`raw_type` its byte) named `path`; `None` for a
/// type strata does not model.
#[inline]
fn kind_of(entry_type: EntryType, raw_type: u8, path: &[u8]) -> Option<Kind> {
    Some(match entry_type {
        // Type `\0` (old tars) with a name ending in `/` is a directory, as Go's archive/tar,
        // GNU tar and Python read it: no data follows it.
        EntryType::Regular if raw_type == 0 && path.last() == Some(&b'/') => Kind::Dir,
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => Kind::File,
        EntryType::Link => Kind::Hardlink,
        EntryType::Symlink => Kind::Symlink,
        EntryType::Directory => Kind::Dir,
        EntryType::Char => Kind::CharDevice,
        EntryType::Block => Kind::BlockDevice,
        EntryType::Fifo => Kind::Fifo,
        _ => return None,
    })
}

/// What one header block holds.
enum Block {
    /// A zero block: the end of the archive.
    End,
    /// An entry of this type (the raw type byte) with this size field. For types other than
    /// extension headers, the entry's fields are filled in.
    Entry(u8, u64),
}

/// The GNU long names read before an entry's own header, taken by it.
struct Names<'a> {
    long_name: &'a mut Option<Vec<u8>>,
    long_link: &'a mut Option<Vec<u8>>,
}

/// Checks and decodes one header block in place. Extension headers (PAX, GNU long names) only
/// give their type and size; an entry's header fills `entry`, its name and link taken from
/// `names` when GNU long names preceded it.
fn decode_header(
    block: &[u8],
    offset: u64,
    entry: &mut TarEntry,
    names: Names<'_>,
) -> Result<Block, TarError> {
    let block: &[u8; BLOCK] = block.try_into().map_err(|_| TarError::Header {
        offset,
        fault: HeaderFault::Short,
    })?;
    // One pass gives the checksum and tells a zero block (the end) from a header.
    let sum = byte_sum(block);
    if sum == 0 {
        return Ok(Block::End);
    }
    check_checksum(block, sum, offset)?;
    let size_field = &block[124..136];
    let size = match numeric(size_field) {
        Some(size) => size,
        // A blank field reads as 0 in Go's archive/tar, Python and GNU tar.
        None if size_field.iter().all(|&b| b == 0 || b == b' ') => 0,
        None => {
            let mut field = [0; 12];
            field.copy_from_slice(size_field);
            return Err(TarError::Header {
                offset,
                fault: HeaderFault::UnreadableSize(field),
            });
        }
    };
    let entry_type = EntryType::new(block[156]);
    if matches!(
        entry_type,
        EntryType::XHeader
            | EntryType::XGlobalHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink
    ) {
        return Ok(Block::Entry(block[156], size));
    }
    entry.path.clear();
    match names.long_name.take() {
        Some(name) => entry.path = name,
        None => header_path(block, &mut entry.path),
    }
    entry.link = names.long_link.take().or_else(|| {
        let link = until_nul(&block[157..257]);
        (!link.is_empty()).then(|| link.to_vec())
    });
    entry.kind = Kind::File;
    entry.mode = numeric(&block[100..108]).map_or(0o644, |m| (m & 0o7777) as u32);
    entry.uid = numeric(&block[108..116]).unwrap_or(0);
    entry.gid = numeric(&block[116..124]).unwrap_or(0);
    entry.mtime = numeric(&block[136..148])
        .map(|t| i64::try_from(t).unwrap_or(i64::MAX))
        .unwrap_or(0);
    entry.size = size;
    Ok(Block::Entry(block[156], size))
}

/// Σ of a block's bytes, eight at a time: each 64-bit word is split into four 16-bit lanes of
/// byte pairs, which 64 words cannot overflow (64 × 2 × 255 < 65536).
fn byte_sum(block: &[u8; BLOCK]) -> u32 {
    const LOW: u64 = 0x00ff_00ff_00ff_00ff;
    let mut lanes = 0u64;
    for word in block.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        lanes += (w & LOW) + ((w >> 8) & LOW);
    }
    (0..4).map(|i| ((lanes >> (16 * i)) & 0xffff) as u32).sum()
}

/// A header's name field up to its first NUL.
fn until_nul(field: &[u8]) -> &[u8] {
    memchr::memchr(0, field).map_or(field, |end| &field[..end])
}

/// Appends the entry's path as the tar crate's `Header::path_bytes` reads it: a POSIX ustar
/// header (magic `ustar\0`, version `00`) joins its prefix and its name with a `/`; a GNU or
/// v7 header has the name alone (GNU keeps times where ustar keeps the prefix).
fn header_path(block: &[u8; BLOCK], out: &mut Vec<u8>) {
    if &block[257..263] == b"ustar\0" && &block[263..265] == b"00" {
        let prefix = until_nul(&block[345..500]);
        if !prefix.is_empty() {
            out.extend_from_slice(prefix);
            out.push(b'/');
        }
    }
    out.extend_from_slice(until_nul(&block[..100]));
}

fn pad_of(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// A numeric header field: octal digits, space- or NUL-padded on either side, or GNU's base-256
/// (high bit of the first byte set) for values octal cannot hold. Parsed from the bytes, since
/// the tar crate's parser goes through UTF-8 and string trimming (10% of a million-entry read).
fn numeric(field: &[u8]) -> Option<u64> {
    // What writers write: octal digits from the first byte, then NULs or spaces, in the
    // 8-byte (mode, ids, checksum) and 12-byte (size, mtime) fields; read eight bytes at once.
    let word = |bytes: &[u8]| {
        let mut w = [0u8; 8];
        w[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    };
    let fast = match field.len() {
        8 => match octal_prefix(word(field)) {
            (1..=8, value, true) => Some(value),
            _ => None,
        },
        12 => match octal_prefix(word(&field[..8])) {
            (1..=7, value, true) if word(&field[8..]) & PADDING == 0 => Some(value),
            (8, high, _) => match octal_prefix(word(&field[8..])) {
                (n, low, true) => Some(high << (3 * n) | low),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    fast.or_else(|| numeric_any(field))
}

const ONES: u64 = 0x0101_0101_0101_0101;
/// The bits a NUL or a space leaves clear in each byte.
const PADDING: u64 = 0xdf * ONES;

/// Reads eight bytes (the first at the lowest address) as octal digits up to the first byte
/// that is not one: how many there are, their value, and whether only NULs and spaces follow.
fn octal_prefix(word: u64) -> (u32, u64, bool) {
    let values = word ^ (0x30 * ONES);
    // A byte is a digit iff its value has no bit above the lowest three.
    let high = values & (0xf8 * ONES);
    let not_digit = (((high & (0x7f * ONES)) + 0x7f * ONES) | high) & (0x80 * ONES);
    let n = not_digit.trailing_zeros() / 8;
    if n == 0 {
        return (0, 0, false);
    }
    // The digits to the top bytes, the last in the most significant: then pairs, quads and
    // the two halves combine, most significant digit first.
    let mut v = values << (8 * (8 - n));
    v = ((v & 0x00ff_00ff_00ff_00ff) << 3) + ((v >> 8) & 0x00ff_00ff_00ff_00ff);
    v = ((v & 0x0000_ffff_0000_ffff) << 6) + ((v >> 16) & 0x0000_ffff_0000_ffff);
    v = ((v & 0xffff_ffff) << 12) + (v >> 32);
    let padded = n == 8 || (word >> (8 * n)) & PADDING == 0;
    (n, v, padded)
}

/// [`numeric`] for every form: leading padding, base-256, and text after a NUL.
fn numeric_any(field: &[u8]) -> Option<u64> {
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

/// Checks the header's checksum against `all`, the sum of its bytes.
fn check_checksum(block: &[u8; BLOCK], all: u32, offset: u64) -> Result<(), TarError> {
    let stored = numeric(&block[148..156])
        .and_then(|c| u32::try_from(c).ok())
        .ok_or(TarError::Header {
            offset,
            fault: HeaderFault::NoChecksum,
        })?;
    // The checksum is computed with its own 8-byte field read as spaces.
    let field: u32 = block[148..156].iter().map(|&b| u32::from(b)).sum();
    let sum = all - field + 8 * u32::from(b' ');
    if sum == stored || signed_sum(block) == i64::from(stored) {
        return Ok(());
    }
    Err(TarError::Header {
        offset,
        fault: HeaderFault::Checksum { stored, sum },
    })
}

/// The checksum as old Sun and some other tars computed it: bytes taken as signed. Go's
/// archive/tar, GNU tar and Python accept it beside the unsigned one; only a header whose
/// unsigned sum failed pays for it.
fn signed_sum(block: &[u8; BLOCK]) -> i64 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                i64::from(b' ')
            } else {
                i64::from(b.cast_signed())
            }
        })
        .sum()
}

/// Applies a PAX header's records to the entry after it. `(long_name, long_link)` say whether
/// GNU long names named it too: those win over `path` and `linkpath`, as in Go's archive/tar.
fn apply_pax(
    entry: &mut TarEntry,
    data_size: &mut u64,
    pax: &[u8],
    (long_name, long_link): (bool, bool),
) -> Result<(), PaxFault> {
    for ext in tar::PaxExtensions::new(pax) {
        let ext = ext.map_err(PaxFault::Record)?;
        let value = ext.value_bytes();
        // Decimal digits only, as Go's archive/tar parses `size`, `uid` and `gid`.
        let number = |key: &'static str| -> Result<u64, PaxFault> {
            let s = std::str::from_utf8(value).map_err(PaxFault::NotUtf8)?;
            s.parse::<u64>().map_err(|_| PaxFault::NotANumber {
                key,
                value: s.to_string(),
            })
        };
        match ext.key_bytes() {
            // Go's archive/tar refuses these (a name cannot hold a NUL).
            b"path" if value.contains(&0) => return Err(PaxFault::Nul { key: "path" }),
            b"linkpath" if value.contains(&0) => return Err(PaxFault::Nul { key: "linkpath" }),
            b"path" if !long_name => entry.path = value.to_vec(),
            b"linkpath" if !long_link => entry.link = Some(value.to_vec()),
            b"size" => {
                let n = number("size")?;
                entry.size = n;
                *data_size = n;
            }
            b"uid" => entry.uid = number("uid")?,
            b"gid" => entry.gid = number("gid")?,
            b"mtime" => {
                // A time may carry a fraction and a sign: keep the whole seconds.
                let text = String::from_utf8_lossy(value);
                let whole = text.split('.').next().unwrap_or_default();
                entry.mtime = whole.parse::<i64>().unwrap_or(0);
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;
    use tar::Header;

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
            matches!(
                err,
                TarError::Header {
                    offset: 0,
                    fault: HeaderFault::ExtensionTooLarge {
                        extension: Extension::Pax,
                        size,
                        limit: 1048576,
                    },
                } if size == 5 << 30
            ),
            "{err}"
        );
        // The error names the offset of the header that claims it: after a file of one
        // byte (its header and one block of data), that is byte 1024.
        let mut after = build(&[("a", b"x")]);
        after.truncate(1024);
        after.extend_from_slice(&bytes);
        let err = walk(&after).unwrap_err();
        assert!(
            matches!(err, TarError::Header { offset: 1024, .. }),
            "{err}"
        );
    }

    #[test]
    fn truncated_content_is_an_error() {
        let tar = build(&[("f", &[7u8; 2000])]);
        let err = walk(&tar[..1024]).unwrap_err();
        // The header and 512 of the 2000 content bytes are there.
        assert!(
            matches!(
                err,
                TarError::TruncatedContent {
                    offset: 1024,
                    missing: 1488
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn corrupt_header_checksum_names_the_offset() {
        let mut tar = build(&[("f", b"1"), ("g", b"2")]);
        tar[1024 + 10] ^= 0x55;
        let err = walk(&tar).unwrap_err();
        assert!(
            matches!(
                err,
                TarError::Header {
                    offset: 1024,
                    fault: HeaderFault::Checksum { .. }
                }
            ),
            "{err}"
        );
    }

    /// A tar with every kind of header: GNU long names and links, PAX, symlinks, hard links,
    /// directories, a global header, entries of odd sizes.
    fn varied_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let long = "deep/".repeat(40) + "name.txt";
        let mut h = Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o600);
        b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "s", "target/".repeat(30) + "x")
            .unwrap();
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, "dir/", std::io::empty()).unwrap();
        b.append_pax_extensions([("path", b"pax/named".as_slice())])
            .unwrap();
        let mut h = Header::new_ustar();
        h.set_size(700);
        h.set_path("ustar").unwrap();
        h.set_cksum();
        b.append(&h, &[7u8; 700][..]).unwrap();
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "hl", "ustar").unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn headers_split_across_refills_read_as_whole() {
        let tar = varied_tar();
        let whole = walk(&tar).unwrap();
        assert_eq!(whole.len(), 5);
        assert_eq!(whole[3].0.path, b"pax/named");
        assert_eq!(whole[3].1, vec![7u8; 700]);
        // Buffers smaller than a block, and sizes that never line up with one.
        for cap in [1, 7, 100, 511, 513, 1000] {
            let mut w = TarWalker::new(std::io::BufReader::with_capacity(cap, &tar[..]));
            let mut got = Vec::new();
            while let Some(e) = w.next_entry().unwrap() {
                let mut data = Vec::new();
                w.read_content(|c| data.extend_from_slice(c)).unwrap();
                got.push((e, data));
            }
            assert_eq!(got, whole, "buffer of {cap} bytes");
        }
    }

    #[test]
    fn a_reused_entry_keeps_nothing_of_the_one_before() {
        let tar = varied_tar();
        let fresh = walk(&tar).unwrap();
        let mut w = TarWalker::new(&tar[..]);
        let mut entry = TarEntry::default();
        let mut i = 0;
        while w.next_into(&mut entry).unwrap() {
            assert_eq!(entry, fresh[i].0, "entry {i}");
            i += 1;
        }
        assert_eq!(i, fresh.len());
    }

    #[test]
    fn a_tar_of_zero_blocks_is_empty_not_missing() {
        let zeros = vec![0u8; 1024];
        let mut w = TarWalker::new(&zeros[..]);
        assert!(w.next_entry().unwrap().is_none());
        assert_eq!(w.offset(), 1024);
        // One zero block then the end of the stream is an end too.
        let mut w = TarWalker::new(&zeros[..512]);
        assert!(w.next_entry().unwrap().is_none());
    }

    /// A raw header block: `name`, type byte, size field and checksum, as a hand-made attack
    /// would write it (the tar crate refuses to write some of these).
    fn raw_header(name: &[u8], kind: u8, size: u64) -> [u8; BLOCK] {
        let mut h = Header::new_ustar();
        h.set_path("x").unwrap();
        h.set_size(size);
        h.set_mode(0o644);
        let mut block = [0u8; BLOCK];
        block.copy_from_slice(h.as_bytes());
        block[..100].fill(0);
        block[..name.len()].copy_from_slice(name);
        block[156] = kind;
        set_checksum(&mut block);
        block
    }

    fn set_checksum(block: &mut [u8; BLOCK]) {
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    /// One PAX record, `LEN KEY=VALUE\n`, its length counting itself.
    fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
        let body = key.len() + value.len() + 3;
        let mut len = body + 1;
        while len != body + len.to_string().len() {
            len = body + len.to_string().len();
        }
        let mut r = format!("{len} {key}=").into_bytes();
        r.extend_from_slice(value);
        r.push(b'\n');
        r
    }

    fn padded(data: &[u8]) -> Vec<u8> {
        let mut v = data.to_vec();
        v.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
        v
    }

    /// A file hidden in the "data" of a header-only entry: every runtime reads the next header
    /// right after a directory, link, device or FIFO header, whatever its size says.
    #[test]
    fn header_only_types_carry_no_data_whatever_their_size() {
        let hidden = build(&[("hidden.bin", &[9u8; 1000])]);
        let hidden = &hidden[..hidden.len() - 1024]; // its entry, without the end blocks
        for kind in [b'5', b'2', b'1', b'3', b'4', b'6'] {
            let mut tar = raw_header(b"outer", kind, hidden.len() as u64).to_vec();
            if matches!(kind, b'1' | b'2') {
                tar[157] = b't'; // a link target
                let mut block: [u8; BLOCK] = tar[..BLOCK].try_into().unwrap();
                set_checksum(&mut block);
                tar[..BLOCK].copy_from_slice(&block);
            }
            tar.extend_from_slice(hidden);
            tar.extend_from_slice(&[0u8; 1024]);
            let got = walk(&tar).unwrap();
            let names: Vec<&[u8]> = got.iter().map(|(e, _)| e.path.as_slice()).collect();
            assert_eq!(
                names,
                [&b"outer"[..], b"hidden.bin"],
                "type {}",
                kind as char
            );
            assert_eq!(got[0].0.size, 0);
            assert_eq!(got[1].1, vec![9u8; 1000]);
        }
    }

    /// Type `\0` with a trailing slash is an old-style directory: no data either.
    #[test]
    fn an_old_style_directory_carries_no_data() {
        let hidden = build(&[("hidden.bin", b"abc")]);
        let hidden = &hidden[..hidden.len() - 1024];
        let mut tar = raw_header(b"dir/", 0, hidden.len() as u64).to_vec();
        tar.extend_from_slice(hidden);
        let got = walk(&tar).unwrap();
        assert_eq!(got[0].0.kind, Kind::Dir);
        assert_eq!(got[1].0.path, b"hidden.bin");
        // Type `0` keeps its data, as in Go: a file named `dir/` (which a runtime refuses).
        let mut tar = raw_header(b"file/", b'0', 3).to_vec();
        tar.extend_from_slice(&padded(b"xyz"));
        let got = walk(&tar).unwrap();
        assert_eq!((got[0].0.kind, &got[0].1[..]), (Kind::File, &b"xyz"[..]));
    }

    /// Unknown types (a GNU dumpdir `D`, a vendor letter) carry data: it is skipped, never
    /// read as headers, and the entry is counted as skipped.
    #[test]
    fn unknown_types_have_their_data_skipped() {
        let inner = build(&[("inside-the-data", b"zz")]);
        let mut tar = raw_header(b"dumpdir", b'D', inner.len() as u64).to_vec();
        tar.extend_from_slice(&inner);
        tar.extend_from_slice(&build(&[("after", b"ok")]));
        let mut w = TarWalker::new(&tar[..]);
        let mut names = Vec::new();
        while let Some(e) = w.next_entry().unwrap() {
            names.push(e.path);
        }
        assert_eq!(names, [b"after".to_vec()]);
        assert_eq!(w.skipped_unknown, 1);
    }

    /// The checksum may be the signed byte sum (old Sun tar), as Go, GNU tar and Python accept.
    #[test]
    fn a_signed_checksum_is_valid() {
        let mut block = raw_header(b"caf\xe9", b'0', 0);
        block[..5].copy_from_slice(b"caf\xe9\xff");
        block[148..156].fill(b' ');
        let signed: i64 = block.iter().map(|&b| i64::from(b as i8)).sum();
        let unsigned: i64 = block.iter().map(|&b| i64::from(b)).sum();
        assert_ne!(signed, unsigned);
        block[148..156].copy_from_slice(format!("{signed:06o}\0 ").as_bytes());
        let got = walk(&block).unwrap();
        assert_eq!(got[0].0.path, b"caf\xe9\xff");
        block[148..156].copy_from_slice(format!("{:06o}\0 ", signed + 1).as_bytes());
        assert!(walk(&block).is_err());
    }

    /// A zero block followed by a header: Go's reader refuses it, so strata does not stop
    /// silently before entries a reader might see.
    #[test]
    fn a_lone_zero_block_before_more_headers_is_refused() {
        let mut tar = build(&[("a", b"1")]);
        tar.truncate(1024); // header + data block, no end blocks
        tar.extend_from_slice(&[0u8; BLOCK]);
        tar.extend_from_slice(&build(&[("b", b"2")]));
        let err = walk(&tar).unwrap_err();
        assert!(
            matches!(
                err,
                TarError::Header {
                    offset: 1024,
                    fault: HeaderFault::LoneZeroBlock
                }
            ),
            "{err}"
        );
    }

    /// GNU long names win over PAX paths (Go's rule), and end at their first NUL.
    #[test]
    fn gnu_long_names_win_over_pax_and_stop_at_nul() {
        let mut tar = Vec::new();
        let mut long = b"gnu/name\0ignored".to_vec();
        long.push(0);
        tar.extend_from_slice(&raw_header(b"././@LongLink", b'L', long.len() as u64));
        tar.extend_from_slice(&padded(&long));
        let pax = pax_record("path", b"pax/name");
        tar.extend_from_slice(&raw_header(b"pax", b'x', pax.len() as u64));
        tar.extend_from_slice(&padded(&pax));
        tar.extend_from_slice(&raw_header(b"short", b'0', 0));
        let got = walk(&tar).unwrap();
        assert_eq!(got[0].0.path, b"gnu/name");
    }

    /// Extension headers before a PAX global header belong to it, not to the next entry; the
    /// global header's own data is capped like every extension header.
    #[test]
    fn a_global_header_takes_the_extensions_before_it() {
        let mut tar = Vec::new();
        let pax = pax_record("path", b"evil/x");
        tar.extend_from_slice(&raw_header(b"pax", b'x', pax.len() as u64));
        tar.extend_from_slice(&padded(&pax));
        let global = b"20 comment=abcdefgh\n";
        tar.extend_from_slice(&raw_header(b"g", b'g', global.len() as u64));
        tar.extend_from_slice(&padded(global));
        tar.extend_from_slice(&raw_header(b"plain", b'0', 0));
        let got = walk(&tar).unwrap();
        assert_eq!(got[0].0.path, b"plain");
        let huge = raw_header(b"g", b'g', 2 << 30);
        let err = walk(&huge).unwrap_err();
        assert!(
            matches!(
                err,
                TarError::Header {
                    fault: HeaderFault::ExtensionTooLarge {
                        extension: Extension::PaxGlobal,
                        ..
                    },
                    ..
                }
            ),
            "{err}"
        );
    }

    /// PAX numbers are decimal digits (a fraction only in times); names hold no NUL.
    #[test]
    fn pax_records_are_read_as_go_reads_them() {
        let entry = |records: &[u8]| {
            let mut tar = raw_header(b"pax", b'x', records.len() as u64).to_vec();
            tar.extend_from_slice(&padded(records));
            tar.extend_from_slice(&raw_header(b"f", b'0', 0));
            walk(&tar)
        };
        assert!(entry(&pax_record("size", b"0")).is_ok());
        // The fault is the entry's, whose header follows the PAX header and its one block.
        let pax_fault = |records: &[u8]| match entry(records) {
            Err(TarError::Header {
                offset: 1024,
                fault: HeaderFault::Pax(fault),
            }) => fault,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            pax_fault(&pax_record("size", b"0.0")),
            PaxFault::NotANumber { key: "size", value } if value == "0.0"
        ));
        assert!(entry(&pax_record("path", b"a/b")).is_ok());
        assert!(matches!(
            pax_fault(&pax_record("path", b"a\0b/c")),
            PaxFault::Nul { key: "path" }
        ));
        let got = entry(&pax_record("mtime", b"1700000000.5")).unwrap();
        assert_eq!(got[0].0.mtime, 1_700_000_000);
    }

    /// A blank size field reads as 0, as in Go, GNU tar and Python.
    #[test]
    fn a_blank_size_field_is_zero() {
        let mut block = raw_header(b"empty", b'0', 0);
        block[124..136].fill(0);
        set_checksum(&mut block);
        let got = walk(&block).unwrap();
        assert_eq!(got[0].0.size, 0);
    }

    /// A layer inside a streamed archive is read through `content`, which ends with the
    /// entry; `skip_by` passes over content without reading it.
    #[test]
    fn content_reader_and_skip_by() {
        let tar = build(&[("a", &[1u8; 700]), ("b", b"second")]);
        let mut w = TarWalker::new(&tar[..]);
        assert_eq!(w.next_entry().unwrap().unwrap().path, b"a");
        let mut got = Vec::new();
        w.content().read_to_end(&mut got).unwrap();
        assert_eq!(got, vec![1u8; 700]);
        assert_eq!(w.next_entry().unwrap().unwrap().path, b"b");
        let mut w = TarWalker::new(std::io::Cursor::new(&tar[..]));
        w.next_entry().unwrap();
        w.skip_by(|r, n| {
            r.set_position(r.position() + n);
            Ok(())
        })
        .unwrap();
        assert_eq!(w.offset(), 512 + 1024);
        assert_eq!(w.next_entry().unwrap().unwrap().path, b"b");
    }

    #[test]
    fn byte_sum_is_the_sum_of_the_bytes() {
        let mut block = [0u8; BLOCK];
        assert_eq!(byte_sum(&block), 0);
        block.fill(0xff);
        assert_eq!(byte_sum(&block), 255 * 512);
        for (i, b) in block.iter_mut().enumerate() {
            *b = (i * 37 % 256) as u8;
        }
        let naive: u32 = block.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(byte_sum(&block), naive);
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

    proptest::proptest! {
        /// The fast path of `numeric` reads what the general one reads, on fields made of the
        /// bytes that matter (digits, 8 and 9, padding, junk, base-256 markers).
        #[test]
        fn numeric_fast_path_agrees(
            field in proptest::prop_oneof![
                proptest::strategy::Just(8usize),
                proptest::strategy::Just(12usize),
                0..26usize,
            ].prop_flat_map(|len| proptest::collection::vec(
                proptest::sample::select(vec![b'0', b'1', b'3', b'7', b'8', b' ', 0, b'x', 0x80]),
                len,
            )),
        ) {
            proptest::prop_assert_eq!(numeric(&field), numeric_any(&field));
        }

        /// Our path and link readers agree with the tar crate's on headers of every kind
        /// (ustar with and without a prefix, GNU, v7), names of any length and content.
        #[test]
        fn header_names_read_as_the_tar_crate_reads_them(
            name in proptest::collection::vec(proptest::sample::select(vec![b'a', b'/', b'\\', 0, 0xff]), 0..101),
            prefix in proptest::collection::vec(proptest::sample::select(vec![b'p', b'/', 0]), 0..156),
            link in proptest::collection::vec(proptest::sample::select(vec![b'l', 0]), 0..101),
            kind in 0..4usize,
        ) {
            let mut h = match kind {
                0 | 1 => Header::new_ustar(),
                2 => Header::new_gnu(),
                _ => Header::new_old(),
            };
            let block = h.as_mut_bytes();
            block[..name.len()].copy_from_slice(&name);
            block[157..157 + link.len()].copy_from_slice(&link);
            if kind == 0 {
                block[345..345 + prefix.len()].copy_from_slice(&prefix);
            }
            let mut path = Vec::new();
            header_path(h.as_bytes(), &mut path);
            proptest::prop_assert_eq!(&path[..], &h.path_bytes()[..]);
            let ours = until_nul(&h.as_bytes()[157..257]);
            let theirs = h.link_name_bytes();
            proptest::prop_assert_eq!((!ours.is_empty()).then_some(ours), theirs.as_deref());
        }
    }

    #[test]
    fn numeric_fields_tolerate_padding_and_refuse_junk() {
        assert_eq!(numeric(b"0000644\0"), Some(0o644));
        // The eight-at-a-time reader, on both field widths and every split of the digits.
        for text in [
            "7",
            "0755",
            "1234567",
            "12345670",
            "01234567012",
            "012345670123",
        ] {
            let value = u64::from_str_radix(text, 8).unwrap();
            for width in [8, 12] {
                for pad in [0u8, b' '] {
                    if text.len() <= width {
                        let mut field = text.as_bytes().to_vec();
                        field.resize(width, pad);
                        assert_eq!(numeric(&field), Some(value), "{text:?} in {width}");
                        assert_eq!(
                            octal_prefix(u64::from_le_bytes(field[..8].try_into().unwrap())).0,
                            text.len().min(8) as u32
                        );
                    }
                }
            }
        }
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
