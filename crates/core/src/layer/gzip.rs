//! gzip (RFC 1952) around flate2's raw inflater.
//!
//! It reads what Go's `gzip.Reader` reads (containerd and moby unpack layers with it, and read
//! the stream to its end after the tar): members one after another, each header with its
//! optional fields (FEXTRA, FNAME, FCOMMENT, FHCRC, whose 16-bit CRC is checked), each
//! trailer's CRC-32 and ISIZE checked, and anything after a member that is not another whole
//! member is an error (trailing zeros too: Go refuses them, `gzip -d` only warns). The CRC is
//! checked even when the digests are: a blob whose digests are right but whose CRC is wrong is
//! one that runtimes refuse, so strata must too. It never allocates from a header: the
//! optional fields are skipped, not kept.

use std::io::{self, BufRead, Read};

use crc32fast::Hasher as Crc;
use flate2::{Decompress, FlushDecompress, Status};

const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xe0;

/// A multi-member gzip stream decoded from a buffered reader.
pub struct GzipReader<R> {
    inner: R,
    inflate: Decompress,
    /// The member's CRC-32 so far.
    crc: Crc,
    state: State,
    /// The member being read, from 1 (for errors).
    member: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Body,
    Trailer,
    End,
}

impl<R: BufRead> GzipReader<R> {
    /// Decodes `inner`.
    pub fn new(inner: R) -> Self {
        GzipReader {
            inner,
            inflate: Decompress::new(false),
            crc: Crc::new(),
            state: State::Header,
            member: 1,
        }
    }

    /// Gives back the compressed stream, positioned after what was decoded.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn error(&self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("member {}: {what}", self.member),
        )
    }

    /// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
    fn read_up_to(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            let input = self.inner.fill_buf()?;
            if input.is_empty() {
                break;
            }
            let n = input.len().min(buf.len() - got);
            buf[got..got + n].copy_from_slice(&input[..n]);
            self.inner.consume(n);
            got += n;
        }
        Ok(got)
    }

    /// Reads exactly `buf.len()` bytes of a header or trailer.
    fn fill(&mut self, buf: &mut [u8], header_crc: &mut Option<Crc>) -> io::Result<()> {
        if self.read_up_to(buf)? < buf.len() {
            let what = if self.state == State::Header {
                "header"
            } else {
                "trailer"
            };
            return Err(self.error(&format!("truncated {what}")));
        }
        if let Some(crc) = header_crc {
            crc.update(buf);
        }
        Ok(())
    }

    /// Skips `n` header bytes.
    fn skip(&mut self, mut n: usize, header_crc: &mut Option<Crc>) -> io::Result<()> {
        while n > 0 {
            let input = self.inner.fill_buf()?;
            if input.is_empty() {
                return Err(self.error("truncated header"));
            }
            let take = input.len().min(n);
            if let Some(crc) = header_crc {
                crc.update(&input[..take]);
            }
            self.inner.consume(take);
            n -= take;
        }
        Ok(())
    }

    /// Skips a zero-terminated header field (a file name or a comment), of any length.
    fn skip_zero_terminated(&mut self, header_crc: &mut Option<Crc>) -> io::Result<()> {
        loop {
            let input = self.inner.fill_buf()?;
            if input.is_empty() {
                return Err(self.error("truncated header"));
            }
            let (take, done) = match memchr::memchr(0, input) {
                Some(at) => (at + 1, true),
                None => (input.len(), false),
            };
            if let Some(crc) = header_crc {
                crc.update(&input[..take]);
            }
            self.inner.consume(take);
            if done {
                return Ok(());
            }
        }
    }

    fn read_header(&mut self) -> io::Result<()> {
        let mut fixed = [0u8; 10];
        let got = self.read_up_to(&mut fixed)?;
        if fixed[..got.min(2)] != [0x1f, 0x8b][..got.min(2)] {
            return Err(self.error("not a gzip header"));
        }
        if got < fixed.len() {
            return Err(self.error("truncated header"));
        }
        if fixed[2] != 8 {
            return Err(self.error(&format!("unknown compression method {}", fixed[2])));
        }
        let flags = fixed[3];
        if flags & FRESERVED != 0 {
            return Err(self.error("reserved header flags set"));
        }
        let mut header_crc = (flags & FHCRC != 0).then(|| {
            let mut crc = Crc::new();
            crc.update(&fixed);
            crc
        });
        if flags & FEXTRA != 0 {
            let mut len = [0u8; 2];
            self.fill(&mut len, &mut header_crc)?;
            self.skip(usize::from(u16::from_le_bytes(len)), &mut header_crc)?;
        }
        if flags & FNAME != 0 {
            self.skip_zero_terminated(&mut header_crc)?;
        }
        if flags & FCOMMENT != 0 {
            self.skip_zero_terminated(&mut header_crc)?;
        }
        if let Some(crc) = header_crc {
            let mut stored = [0u8; 2];
            self.fill(&mut stored, &mut None)?;
            if u16::from_le_bytes(stored) != crc.finalize() as u16 {
                return Err(self.error("header CRC-16 mismatch"));
            }
        }
        Ok(())
    }

    fn read_trailer(&mut self) -> io::Result<()> {
        let mut trailer = [0u8; 8];
        self.fill(&mut trailer, &mut None)?;
        let [c0, c1, c2, c3, s0, s1, s2, s3] = trailer;
        if self.crc.clone().finalize() != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Err(self.error("CRC-32 checksum mismatch"));
        }
        // ISIZE is the member's length modulo 2^32.
        if u32::from_le_bytes([s0, s1, s2, s3]) != self.inflate.total_out() as u32 {
            return Err(self.error("length (ISIZE) mismatch"));
        }
        Ok(())
    }

    /// Inflates into `out`; `Ok(0)` at the end of the member's deflate stream.
    fn inflate(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let input = self.inner.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            let flush = if eof {
                FlushDecompress::Finish
            } else {
                FlushDecompress::None
            };
            let status = self
                .inflate
                .decompress(input, out, flush)
                .map_err(|_| self.error("corrupt deflate stream"))?;
            let read = (self.inflate.total_out() - before_out) as usize;
            let consumed = (self.inflate.total_in() - before_in) as usize;
            self.inner.consume(consumed);
            self.crc.update(&out[..read]);
            match status {
                Status::StreamEnd => {
                    self.state = State::Trailer;
                    return Ok(read);
                }
                _ if read > 0 => return Ok(read),
                _ if eof => return Err(self.error("truncated deflate stream")),
                // No output yet and more input: ask for it.
                _ => {}
            }
        }
    }
}

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Header => {
                    self.read_header()?;
                    self.state = State::Body;
                }
                State::Body => {
                    let n = self.inflate(out)?;
                    if n > 0 {
                        return Ok(n);
                    }
                }
                State::Trailer => {
                    self.read_trailer()?;
                    if self.inner.fill_buf()?.is_empty() {
                        self.state = State::End;
                    } else {
                        // Another member follows (pigz and parallel compressors write many).
                        self.inflate.reset(false);
                        self.crc.reset();
                        self.member += 1;
                        self.state = State::Header;
                    }
                }
                State::End => return Ok(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;
    use std::io::Write;

    fn member(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut e = builder.write(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Ours against flate2's `MultiGzDecoder`, read in `chunk`-byte reads through a
    /// `chunk`-byte buffer: the same bytes, or both an error.
    fn agree(blob: &[u8], chunk: usize) -> Result<Vec<u8>, String> {
        let theirs = {
            let mut d = flate2::bufread::MultiGzDecoder::new(blob);
            let mut out = Vec::new();
            d.read_to_end(&mut out).map(|_| out)
        };
        let inner = io::BufReader::with_capacity(chunk, blob);
        let mut d = GzipReader::new(inner);
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        let ours = loop {
            match d.read(&mut buf) {
                Ok(0) => break Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e.to_string()),
            }
        };
        match &theirs {
            Ok(out) => assert_eq!(ours.as_ref().ok(), Some(out), "chunk {chunk}"),
            Err(e) => assert!(ours.is_err(), "flate2 failed ({e}), ours did not"),
        }
        ours
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i * 7 % 251) as u8 ^ (i / 1000) as u8)
            .collect()
    }

    #[test]
    fn reads_every_header_field() {
        let body = data(70_000);
        let builders = [
            ("plain", flate2::GzBuilder::new()),
            ("FNAME", flate2::GzBuilder::new().filename("layer.tar")),
            ("FCOMMENT", flate2::GzBuilder::new().comment("a comment")),
            ("FEXTRA", flate2::GzBuilder::new().extra(vec![7u8; 300])),
            (
                "all + FHCRC",
                flate2::GzBuilder::new()
                    .filename("f")
                    .comment("c")
                    .extra(vec![1, 2, 3])
                    .mtime(42)
                    .operating_system(3),
            ),
        ];
        for (name, builder) in builders {
            let mut blob = member(&body, builder);
            if name == "all + FHCRC" {
                // flate2's builder writes no FHCRC: add one by hand and check it is checked.
                let header_len = blob.len() - member(&body, flate2::GzBuilder::new()).len() + 10;
                // zlib-rs's CRC through flate2, not the one under test.
                let mut crc = flate2::Crc::new();
                blob[3] |= FHCRC;
                crc.update(&blob[..header_len]);
                let sum = (crc.sum() as u16).to_le_bytes();
                blob.splice(header_len..header_len, sum);
                for chunk in [1, 3, 4096] {
                    assert_eq!(agree(&blob, chunk).unwrap(), body, "{name}");
                }
                blob[header_len] ^= 1;
                let e = agree(&blob, 4096).unwrap_err();
                assert!(e.contains("header CRC-16"), "{e}");
                continue;
            }
            for chunk in [1, 2, 7, 4096, 1 << 20] {
                assert_eq!(agree(&blob, chunk).unwrap(), body, "{name}, chunk {chunk}");
            }
        }
    }

    #[test]
    fn reads_members_one_after_another() {
        let (a, b) = (data(5000), data(123_456));
        let mut blob = gz(&a);
        blob.extend(gz(b""));
        blob.extend(gz(&b));
        let mut both = a.clone();
        both.extend(&b);
        for chunk in [1, 5, 512, 1 << 20] {
            assert_eq!(agree(&blob, chunk).unwrap(), both);
        }
    }

    #[test]
    fn rejects_what_multigz_rejects() {
        let body = data(10_000);
        let good = gz(&body);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "trailing garbage",
                [good.clone(), b"garbage!".to_vec()].concat(),
                "not a gzip header",
            ),
            (
                "trailing zeros",
                [good.clone(), vec![0; 1024]].concat(),
                "not a gzip header",
            ),
            (
                "truncated trailer",
                good[..good.len() - 3].to_vec(),
                "truncated trailer",
            ),
            (
                "truncated body",
                good[..good.len() / 2].to_vec(),
                "truncated deflate",
            ),
            ("truncated header", good[..6].to_vec(), "truncated header"),
            (
                "half a second member",
                [good.clone(), good[..5].to_vec()].concat(),
                "member 2: truncated header",
            ),
            (
                "method 7",
                {
                    let mut b = good.clone();
                    b[2] = 7;
                    b
                },
                "compression method",
            ),
            (
                "reserved flag",
                {
                    let mut b = good.clone();
                    b[3] |= 0x80;
                    b
                },
                "reserved",
            ),
            (
                "ISIZE",
                {
                    let mut b = good.clone();
                    let n = b.len();
                    b[n - 1] ^= 1;
                    b
                },
                "ISIZE",
            ),
        ];
        for (name, blob, expect) in cases {
            let e = agree(&blob, 4096).expect_err(name);
            assert!(e.contains(expect), "{name}: {e}");
        }
    }

    #[test]
    fn checks_the_crc_of_every_member() {
        // Each member's CRC-32 flipped in turn, the last one included: the inflated bytes are
        // right, only the checksum says they are not.
        let (first, second) = (gz(&data(10_000)), gz(&data(20_000)));
        let good = [first.clone(), second].concat();
        for at in [first.len() - 8, good.len() - 8] {
            let mut blob = good.clone();
            blob[at] ^= 1;
            let e = agree(&blob, 4096).unwrap_err();
            assert!(e.contains("CRC-32"), "{e}");
        }
    }

    #[test]
    fn leaves_the_stream_after_the_last_member() {
        let blob = gz(&data(3000));
        let mut d = GzipReader::new(&blob[..]);
        io::copy(&mut d, &mut io::sink()).unwrap();
        assert!(d.into_inner().is_empty());
    }

    proptest! {
        /// Any bytes after a valid member, and any damage to a member: the same bytes as
        /// flate2, or an error where flate2 errs.
        #[test]
        fn agrees_with_multigz(
            sizes in prop::collection::vec(0usize..3000, 1..4),
            damage in prop::option::of((any::<prop::sample::Index>(), 1u8..=255)),
            tail in prop::collection::vec(any::<u8>(), 0..12),
            chunk in 1usize..600,
        ) {
            let mut blob = Vec::new();
            for (i, n) in sizes.iter().enumerate() {
                blob.extend(gz(&data(*n + i)));
            }
            if let Some((at, x)) = damage {
                let at = at.index(blob.len());
                blob[at] ^= x;
            }
            blob.extend(tail);
            let _ = agree(&blob, chunk);
        }
    }
}
