//! The time rules of a registry's answers and the reader that keeps them: the deadline of an
//! exchange ([`Deadline`]), the low-speed rule and a descriptor's size for a body ([`Body`]),
//! and why a body stopped ([`BodyError`]), which a blob store remembers and a layer's error
//! carries.
//!
//! See `client.rs` for why the rules are what they are.

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::url::shown;
use crate::error::{Error, Remote};

/// The least average speed of a body over a window of [`Limits::stall`]: a seventh of a 56k
/// modem, far above a drip. (Cargo's `http.low-speed-limit` is 10 B/s, which would let a
/// 4 MiB manifest take five days; strata's small answers also have the deadline, its blobs
/// only this.)
pub(crate) const MIN_SPEED: u64 = 1024;

/// How long strata waits for a registry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The low-speed window: a body must bring [`MIN_SPEED`] on average over each such span
    /// of waiting, and no single read may wait longer. 30 s, Cargo's window for the same rule
    /// (`http.timeout`); `STRATA_REGISTRY_STALL_SECS` sets it (for tests, which cannot wait
    /// 30 s). A registry that is silent that long before a blob's headers fails too.
    pub stall: Duration,
    /// The deadline of a whole small exchange (probe, manifest, token, error), and of a blob
    /// request until its headers. 120 s; `STRATA_REGISTRY_DEADLINE_SECS` sets it.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stall: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
        }
    }
}

impl Limits {
    /// The defaults, or the test knobs when set to a positive number of seconds.
    pub(crate) fn from_env() -> Limits {
        let secs = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .filter(|d| !d.is_zero())
        };
        let default = Limits::default();
        Limits {
            stall: secs("STRATA_REGISTRY_STALL_SECS").unwrap_or(default.stall),
            deadline: secs("STRATA_REGISTRY_DEADLINE_SECS").unwrap_or(default.deadline),
        }
    }
}

/// What an exchange may still spend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub at: Instant,
    of: Duration,
}

impl Deadline {
    pub(crate) fn start(of: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + of,
            of,
        }
    }

    fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The time left, or the error naming the URL once there is none.
    pub(crate) fn remaining(&self, url: &str) -> Result<Duration, Error> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.error(url));
        }
        Ok(left)
    }

    /// That it passed.
    fn why(&self) -> Remote {
        Remote::Deadline { of: self.of }
    }

    /// That it passed, for the request to `url`.
    pub(crate) fn error(&self, url: &str) -> Error {
        Error::Remote {
            what: shown(url),
            why: self.why(),
        }
    }
}

/// Why reading a body stopped: the request (`GET url`) and what happened.
#[derive(Debug, Clone)]
pub(crate) struct BodyError {
    pub shown: String,
    pub why: Stopped,
}

/// What stopped a body: a rule the registry broke, or the connection's own failure.
#[derive(Debug)]
pub(crate) enum Stopped {
    Remote(Remote),
    Read(io::Error),
}

impl Clone for Stopped {
    fn clone(&self) -> Self {
        match self {
            Stopped::Remote(r) => Stopped::Remote(r.clone()),
            // The same kind and words; the source chain below them is not kept.
            Stopped::Read(e) => Stopped::Read(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The words of `to_error`'s `Error`, which a layer's error shows through its io::Error.
        self.to_error().fmt(f)
    }
}

impl std::error::Error for BodyError {}

impl BodyError {
    /// The one `e` carries, if it does.
    pub(crate) fn of(e: &io::Error) -> Option<&BodyError> {
        e.get_ref()?.downcast_ref::<BodyError>()
    }

    /// The library's error for it, when `e` is one.
    pub(crate) fn from_io(e: &io::Error) -> Option<Error> {
        BodyError::of(e).map(BodyError::to_error)
    }

    pub(crate) fn to_error(&self) -> Error {
        match self.why.clone() {
            Stopped::Remote(why) => Error::Remote {
                what: self.shown.clone(),
                why,
            },
            Stopped::Read(source) => Error::Read {
                what: self.shown.clone(),
                source,
            },
        }
    }
}

/// A response body read under the low-speed rule and, for a small answer, the exchange's
/// deadline; with a `size`, held to it: it never hands out more than `size + 1` bytes, fails
/// at the byte past `size`, and fails on an end before `size`. Every error is a [`BodyError`],
/// and once failed it stays failed.
pub(crate) struct Body<R> {
    inner: R,
    url: String,
    stall: Duration,
    deadline: Option<Deadline>,
    size: Option<u64>,
    total: u64,
    /// Time spent inside reads, and bytes got, since the low-speed window began.
    waited: Duration,
    got: u64,
    failed: Option<BodyError>,
}

impl<R: Read> Body<R> {
    pub(crate) fn new(
        inner: R,
        url: &str,
        stall: Duration,
        deadline: Option<Deadline>,
        size: Option<u64>,
    ) -> Body<R> {
        Body {
            inner,
            url: url.to_string(),
            stall,
            deadline,
            size,
            total: 0,
            waited: Duration::ZERO,
            got: 0,
            failed: None,
        }
    }

    fn fail(&mut self, why: Stopped) -> io::Error {
        let e = BodyError {
            shown: shown(&self.url),
            why,
        };
        self.failed = Some(e.clone());
        io::Error::other(e)
    }

    /// What a read error from ureq means here.
    fn explain(&self, e: io::Error) -> Stopped {
        match e.get_ref().and_then(|x| x.downcast_ref::<ureq::Error>()) {
            Some(ureq::Error::Timeout(ureq::Timeout::PerRead)) => {
                Stopped::Remote(Remote::Stalled { waited: self.stall })
            }
            Some(ureq::Error::Timeout(t)) => Stopped::Remote(match &self.deadline {
                Some(d) => d.why(),
                None => Remote::TimedOut { why: t.to_string() },
            }),
            _ => Stopped::Read(e),
        }
    }

    /// At most `buf`, or (with a size) one byte past the size: enough to know the server
    /// sends too much.
    fn room<'b>(&self, buf: &'b mut [u8]) -> &'b mut [u8] {
        match self.size {
            Some(size) => {
                let room = (size + 1).saturating_sub(self.total);
                let n = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
                &mut buf[..n]
            }
            None => buf,
        }
    }

    /// The rules after a read of `n` bytes: the size, then the low-speed window.
    fn check(&mut self, n: usize) -> Option<Remote> {
        if let Some(size) = self.size {
            if self.total > size {
                return Some(Remote::PastSize { size });
            }
            if n == 0 && self.total < size {
                return Some(Remote::Short {
                    got: self.total,
                    size,
                });
            }
        }
        if self.waited >= self.stall {
            if (self.got as f64) < MIN_SPEED as f64 * self.waited.as_secs_f64() {
                return Some(Remote::TooSlow {
                    got: self.got,
                    waited: self.waited,
                    least: MIN_SPEED,
                });
            }
            self.waited = Duration::ZERO;
            self.got = 0;
        }
        None
    }
}

impl<R: Read> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(io::Error::other(e.clone()));
        }
        if let Some(d) = self.deadline
            && d.passed()
        {
            return Err(self.fail(Stopped::Remote(d.why())));
        }
        let buf = self.room(buf);
        if buf.is_empty() {
            return Ok(0);
        }
        let began = Instant::now();
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let why = self.explain(e);
                return Err(self.fail(why));
            }
        };
        self.waited += began.elapsed();
        self.got += n as u64;
        self.total += n as u64;
        match self.check(n) {
            Some(why) => Err(self.fail(Stopped::Remote(why))),
            None => Ok(n),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A reader of `data` that waits `delay` before each read of at most `chunk` bytes, and
    /// counts what it gave.
    struct Slow {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
        delay: Duration,
    }

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            std::thread::sleep(self.delay);
            let n = buf.len().min(self.chunk).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn slow(len: usize, chunk: usize, delay_ms: u64) -> Slow {
        Slow {
            data: (0..len).map(|i| i as u8).collect(),
            at: 0,
            chunk,
            delay: Duration::from_millis(delay_ms),
        }
    }

    fn body(inner: Slow, stall_ms: u64, size: Option<u64>) -> Body<Slow> {
        let url = "https://reg.io/v2/a/blobs/sha256:ab";
        Body::new(inner, url, Duration::from_millis(stall_ms), None, size)
    }

    fn read_all(b: &mut Body<Slow>) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        let e = b.read_to_end(&mut out).err().map(|e| e.to_string());
        (out, e)
    }

    /// The rule a failed read broke, as the library's error gives it.
    fn broken(e: &io::Error) -> Option<Remote> {
        match BodyError::from_io(e)? {
            Error::Remote { why, .. } => Some(why),
            _ => None,
        }
    }

    #[test]
    fn a_blob_stops_at_its_size() {
        // 1 MiB behind a descriptor of 180 bytes: the read that brings the 181st byte fails,
        // nothing past the size is handed out, and not one byte more is taken from the server.
        let mut b = body(slow(1 << 20, 64 << 10, 0), 10_000, Some(180));
        let (got, e) = read_all(&mut b);
        assert!(got.len() <= 180 && got.iter().enumerate().all(|(i, &v)| v == i as u8));
        let e = e.unwrap();
        assert_eq!(
            e,
            "GET https://reg.io/v2/a/blobs/sha256:ab: sent more than the 180 bytes its \
             descriptor gives"
        );
        assert_eq!(b.inner.at, 181);
        // Failed stays failed, with the same rule.
        let again = b.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(again.to_string(), e);
        assert_eq!(broken(&again), Some(Remote::PastSize { size: 180 }));
        // Exactly the size: read whole, then the end.
        let mut b = body(slow(180, 7, 0), 10_000, Some(180));
        assert_eq!(
            read_all(&mut b),
            ((0..180).map(|i| i as u8).collect(), None)
        );
        // Short.
        let mut b = body(slow(100, 64, 0), 10_000, Some(180));
        let mut got = Vec::new();
        let e = b.read_to_end(&mut got).unwrap_err();
        assert_eq!(got.len(), 100);
        assert_eq!(
            broken(&e),
            Some(Remote::Short {
                got: 100,
                size: 180
            })
        );
        assert!(
            e.to_string()
                .ends_with("ended after 100 of the 180 bytes its descriptor gives")
        );
    }

    #[test]
    fn a_drip_is_cut_by_the_low_speed_rule() {
        // One byte every 20 ms (50 B/s) against a 200 ms window: cut after the first window.
        let began = Instant::now();
        let mut b = body(slow(1000, 1, 20), 200, None);
        let mut got = Vec::new();
        let e = b.read_to_end(&mut got).unwrap_err();
        let Some(Remote::TooSlow {
            got: counted,
            waited,
            least,
        }) = broken(&e)
        else {
            panic!("{e}");
        };
        // The window's bytes are all the server gave (the last read's too, which failed),
        // over at least the window.
        assert_eq!((counted, least), (b.inner.at as u64, 1024));
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        let e = e.to_string();
        assert!(e.contains(": too slow: "), "{e}");
        assert!(e.ends_with("(at least 1 KiB/s is needed)"), "{e}");
        // Cut within the first window: at most 200 ms / 20 ms reads (sleeps only overshoot).
        assert!((1..=10).contains(&got.len()), "{}", got.len());
        assert!(began.elapsed() < Duration::from_secs(2));
        // 8 KiB every 20 ms (400 KiB/s) keeps the rule.
        let mut b = body(slow(200 << 10, 8 << 10, 20), 200, Some(200 << 10));
        let (got, e) = read_all(&mut b);
        assert_eq!((got.len(), e), (200 << 10, None));
    }

    #[test]
    fn the_consumer_s_time_is_not_the_server_s() {
        // The consumer sleeps 300 ms between reads, longer than the 200 ms window, while the
        // server answers at once: no fault of the server.
        let mut b = body(slow(64, 1, 0), 200, None);
        let mut byte = [0u8; 1];
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(b.read(&mut byte).unwrap(), 1);
        }
    }

    #[test]
    fn a_deadline_ends_a_small_answer() {
        let deadline = Deadline::start(Duration::from_millis(150));
        let mut b = Body::new(
            slow(1 << 20, 8 << 10, 20),
            "https://reg.io/v2/a/manifests/latest",
            Duration::from_secs(30),
            Some(deadline),
            None,
        );
        let mut out = Vec::new();
        let e = b.read_to_end(&mut out).unwrap_err();
        assert_eq!(
            broken(&e),
            Some(Remote::Deadline {
                of: Duration::from_millis(150)
            })
        );
        assert_eq!(
            e.to_string(),
            "GET https://reg.io/v2/a/manifests/latest: no complete answer within the deadline \
             of 0.1 s"
        );
        assert!(out.len() < 1 << 20);
    }

    #[test]
    fn a_failed_read_is_a_read_error() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "reset by peer",
                ))
            }
        }
        let mut b = Body::new(
            Broken,
            "https://reg.io/x",
            Duration::from_secs(1),
            None,
            None,
        );
        let e = b.read(&mut [0u8; 4]).unwrap_err();
        let error = BodyError::from_io(&e).unwrap();
        assert!(
            matches!(&error, Error::Read { what, source }
                if what == "GET https://reg.io/x"
                    && source.kind() == io::ErrorKind::ConnectionReset),
            "{error:?}"
        );
        assert_eq!(
            e.to_string(),
            "GET https://reg.io/x: read failed: reset by peer"
        );
        // Remembered, it keeps its kind and words.
        let again = BodyError::of(&e).unwrap().clone().to_error();
        assert_eq!(again.to_string(), error.to_string());
    }
}
