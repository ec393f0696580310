//! Tar archives written byte by byte, as an attacker would write them: header fields set by
//! hand (sizes on header-only types, blank size fields, signed checksums, ustar prefixes,
//! GNU long names and PAX records), and a deterministic generator of random such archives
//! with mutations, for the differential test against GNU tar and Python's tarfile.

/// A 512-byte tar block.
pub const BLOCK: usize = 512;

/// One header, field by field.
#[derive(Clone, Debug)]
pub struct Header {
    pub name: Vec<u8>,
    pub prefix: Vec<u8>,
    pub link: Vec<u8>,
    pub kind: u8,
    /// The size field; `None` writes it blank (NULs).
    pub size: Option<u64>,
    pub mode: u32,
    /// `ustar\0` `00` (POSIX) when true, GNU's `ustar  \0` otherwise.
    pub posix: bool,
    /// Write the signed byte sum as the checksum (old Sun tar).
    pub signed_checksum: bool,
}

impl Header {
    pub fn new(name: &[u8], kind: u8, size: u64) -> Header {
        Header {
            name: name.to_vec(),
            prefix: Vec::new(),
            link: Vec::new(),
            kind,
            size: Some(size),
            mode: 0o644,
            posix: true,
            signed_checksum: false,
        }
    }

    pub fn link(mut self, target: &[u8]) -> Header {
        self.link = target.to_vec();
        self
    }

    pub fn bytes(&self) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        let put = |b: &mut [u8; BLOCK], at: usize, width: usize, v: &[u8]| {
            let n = v.len().min(width);
            b[at..at + n].copy_from_slice(&v[..n]);
        };
        put(&mut b, 0, 100, &self.name);
        put(&mut b, 100, 8, format!("{:07o}\0", self.mode).as_bytes());
        put(&mut b, 108, 8, b"0000000\0");
        put(&mut b, 116, 8, b"0000000\0");
        if let Some(size) = self.size {
            if size < 0o77777777777 {
                put(&mut b, 124, 12, format!("{size:011o}\0").as_bytes());
            } else {
                // GNU base-256.
                b[124] = 0x80;
                b[128..136].copy_from_slice(&size.to_be_bytes());
            }
        }
        put(&mut b, 136, 12, b"00000000000\0");
        b[156] = self.kind;
        put(&mut b, 157, 100, &self.link);
        if self.posix {
            put(&mut b, 257, 8, b"ustar\x0000");
            put(&mut b, 345, 155, &self.prefix);
        } else {
            put(&mut b, 257, 8, b"ustar  \0");
        }
        b[148..156].fill(b' ');
        let sum: i64 = if self.signed_checksum {
            b.iter().map(|&x| i64::from(x as i8)).sum()
        } else {
            b.iter().map(|&x| i64::from(x)).sum()
        };
        put(
            &mut b,
            148,
            8,
            format!("{:06o}\0 ", sum & 0o777777).as_bytes(),
        );
        b
    }
}

/// `data` followed by zeros up to the next block.
pub fn padded(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
    v
}

/// One PAX record, `LEN KEY=VALUE\n`, its length counting itself.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
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

/// Appends a header and its (padded) data.
pub fn entry(out: &mut Vec<u8>, h: &Header, data: &[u8]) {
    out.extend_from_slice(&h.bytes());
    out.extend_from_slice(&padded(data));
}

/// The two zero blocks that end an archive.
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
}

/// A deterministic PRNG (xorshift64*), so that every run generates the same archives.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A random name: short components from a plain alphabet, sometimes long enough to need a
/// ustar prefix or a GNU long name.
fn name(rng: &mut Rng) -> Vec<u8> {
    let deep = rng.chance(10);
    let parts = 1 + rng.below(if deep { 30 } else { 3 });
    let mut n = Vec::new();
    for i in 0..parts {
        if i > 0 {
            n.push(b'/');
        }
        for _ in 0..1 + rng.below(8) {
            let c = *rng.pick(b"abcdefghijklmnopqrstuvwxyz0123456789._-");
            n.push(c);
        }
    }
    n
}

/// One random entry (with whatever extension headers precede it) appended to `out`.
fn random_entry(rng: &mut Rng, out: &mut Vec<u8>) {
    let mut n = name(rng);
    let kind = *rng.pick(&[
        b'0', b'0', b'0', 0, b'7', b'5', b'5', b'2', b'1', b'3', b'4', b'6', b'D', b'Z',
    ]);
    let header_only = matches!(kind, b'1'..=b'6');
    if kind == 0 && rng.chance(40) {
        n.push(b'/'); // an old-style directory
    }
    if kind == b'5' && rng.chance(50) {
        n.push(b'/');
    }
    let mut data: Vec<u8> = if header_only || (kind == 0 && n.ends_with(b"/")) {
        if rng.chance(30) {
            // Bytes a careless reader skips: a whole hidden entry, or junk.
            let mut hidden = Vec::new();
            if rng.chance(70) {
                let h = Header::new(b"hidden-file", b'0', 5);
                entry(&mut hidden, &h, b"boo!\n");
            } else {
                hidden.extend((0..rng.below(1500)).map(|i| (i * 7) as u8));
            }
            hidden
        } else {
            Vec::new()
        }
    } else {
        (0..rng.below(1500)).map(|i| (i % 251) as u8).collect()
    };
    let mut h = Header::new(&n, kind, data.len() as u64);
    if matches!(kind, b'1' | b'2') {
        h.link = name(rng);
    }
    h.posix = rng.chance(60);
    let cut = h.name[..h.name.len().min(155)]
        .iter()
        .rposition(|&b| b == b'/');
    if let Some(cut) = cut
        && h.posix
        && h.name.len() > 100
        && h.name.len() - cut - 1 <= 100
        && cut > 0
    {
        h.prefix = h.name[..cut].to_vec();
        h.name = h.name[cut + 1..].to_vec();
    }
    if h.name.len() > 100 || (rng.chance(5) && !h.posix) {
        // A GNU long name (and sometimes a long link name) before the entry.
        let mut long = n.clone();
        long.push(0);
        entry(
            out,
            &Header::new(b"././@LongLink", b'L', long.len() as u64),
            &long,
        );
        h.name.truncate(100);
        if matches!(kind, b'1' | b'2') && rng.chance(50) {
            let mut link = h.link.clone();
            link.push(0);
            entry(
                out,
                &Header::new(b"././@LongLink", b'K', link.len() as u64),
                &link,
            );
        }
    }
    if rng.chance(15) {
        // A PAX header: a path, a size, a time.
        let mut records = Vec::new();
        if rng.chance(60) {
            records.extend(pax_record("path", &name(rng)));
        }
        if !header_only && rng.chance(40) {
            let size = rng.below(1200);
            records.extend(pax_record("size", size.to_string().as_bytes()));
            data = (0..size).map(|i| (i % 13) as u8).collect();
        }
        if rng.chance(40) {
            records.extend(pax_record("mtime", b"1700000000.25"));
        }
        entry(
            out,
            &Header::new(b"PaxHeaders/x", b'x', records.len() as u64),
            &records,
        );
    }
    if rng.chance(5) {
        let records = pax_record("comment", b"a global header");
        entry(
            out,
            &Header::new(b"pax_global_header", b'g', records.len() as u64),
            &records,
        );
    }
    if data.is_empty() && rng.chance(20) {
        h.size = None; // a blank size field
    }
    h.signed_checksum = rng.chance(10) && h.bytes().iter().any(|&b| b >= 0x80);
    entry(out, &h, &data);
}

/// A random archive for `seed`: a few entries, an ending, and for some seeds a mutation (a
/// flipped byte, a cut, a zero block inserted).
pub fn random_archive(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(8) {
        random_entry(&mut rng, &mut out);
    }
    match rng.below(10) {
        0 => {}                                         // no end blocks: EOF
        1 => out.extend_from_slice(&[0u8; 10 * BLOCK]), // padded to a record
        _ => end(&mut out),
    }
    match rng.below(10) {
        0 if !out.is_empty() => {
            let at = rng.below(out.len() as u64) as usize;
            out[at] ^= 1 << rng.below(8);
        }
        1 if !out.is_empty() => {
            let cut = rng.below(out.len() as u64) as usize;
            out.truncate(cut);
        }
        2 => {
            let blocks = (out.len() / BLOCK) as u64;
            let at = rng.below(blocks + 1) as usize * BLOCK;
            out.splice(at..at, [0u8; BLOCK]);
        }
        _ => {}
    }
    out
}
