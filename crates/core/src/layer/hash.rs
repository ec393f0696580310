//! Hashing a stream as it is read, without copying it, on the reading thread or on a thread of
//! its own once the stream proves long.
//!
//! SHA-256 runs at ~1.5 GB/s even with the CPU's SHA extensions (SHA-512 at about half that):
//! slower than inflating most layers, so a large layer's two digests (the blob's and the tar
//! stream's) would otherwise serialise behind its decompression on one core. The two streams of
//! one layer share one hash thread (a [`HashPool`]): on two cores, one thread inflates and walks
//! the tar while the other hashes both streams, and a layer never takes more than one extra
//! thread, however its two streams cross [`OFFLOAD_AFTER`].

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::decode::{Algorithm, hex};

/// A hash in progress. One match per buffer (256 KiB) is all the dispatch costs: SHA-256 runs
/// the same code as before it had siblings.
#[derive(Clone)]
pub(super) enum State {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl State {
    pub(super) fn new(algorithm: Algorithm) -> State {
        match algorithm {
            Algorithm::Sha256 => State::Sha256(Sha256::new()),
            Algorithm::Sha384 => State::Sha384(Sha384::new()),
            Algorithm::Sha512 => State::Sha512(Sha512::new()),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha384(_) => Algorithm::Sha384,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        match self {
            State::Sha256(h) => h.update(bytes),
            State::Sha384(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    /// `alg:hex`.
    pub(super) fn finish(self) -> String {
        let alg = self.algorithm().name();
        let hash = match self {
            State::Sha256(h) => hex(&h.finalize()),
            State::Sha384(h) => hex(&h.finalize()),
            State::Sha512(h) => hex(&h.finalize()),
        };
        format!("{alg}:{hash}")
    }
}

/// A read buffer, shared with the hash thread while it hashes it.
type Chunk = Arc<Vec<u8>>;

/// Bytes hashed inline before a stream moves to a hash thread (small layers never do).
pub const OFFLOAD_AFTER: u64 = 4 << 20;
/// Chunks in flight to a hash thread (8 MiB of 256 KiB buffers, made only as the thread falls
/// behind). A deep queue lets the reader and the hash thread each run long stretches: with 4,
/// on two cores shared with the applier, they woke each other ~2,500 times on a million-path
/// layer and left a core idle 15% of the time; with 32, ~700 wakeups and 10% less wall time.
const IN_FLIGHT: usize = 32;
/// Buffers a layer's streams may make between them once hashed on a thread: a layer holds no
/// more than one stream did when each had a thread of its own.
const BUFFERS: usize = IN_FLIGHT + 2;

/// Threads busy reading layers or hashing, across the process: a layer moves its hashing to a
/// thread of its own only while a core is idle, so that several layers read in parallel do not
/// pay for context switches that buy nothing.
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// Counts one busy thread while alive.
pub struct Busy(());

impl Busy {
    pub fn start() -> Busy {
        BUSY.fetch_add(1, Ordering::Relaxed);
        Busy(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::Relaxed);
    }
}

fn core_idle() -> bool {
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    BUSY.load(Ordering::Relaxed) < cores
}

/// What a stream asks of the hash thread. Jobs run in the order sent, so each stream's chunks
/// are hashed in its order, and its `Finish` comes after its last chunk.
enum Job {
    /// A stream moves its hash here (`slot` is its number), with the buffers' way back.
    Start {
        slot: usize,
        state: Box<State>,
        back: mpsc::Sender<Chunk>,
    },
    /// The stream's next chunks, each with the length filled.
    Chunks {
        slot: usize,
        chunks: Vec<(Chunk, usize)>,
    },
    /// The stream's end: its hash comes back through `reply`.
    Finish {
        slot: usize,
        reply: mpsc::SyncSender<State>,
    },
}

/// The hash thread of one layer, once one of its streams moved there.
struct Worker {
    jobs: mpsc::SyncSender<Job>,
    handle: std::thread::JoinHandle<()>,
    streams: usize,
    /// Buffers made by the layer's streams so far (bounded by [`BUFFERS`]).
    buffers: Arc<AtomicUsize>,
}

/// The hash thread one layer's streams share: made by the first stream that grows long while a
/// core is idle, joined by the other without asking for another core. It is joined when the
/// last stream holding the pool is gone, so no thread outlives the reader that started it (the
/// count of busy threads stays true, and libFuzzer's leak check once caught a detached one).
#[derive(Default)]
pub struct HashPool {
    worker: Mutex<Option<Worker>>,
}

impl HashPool {
    pub fn new() -> Arc<HashPool> {
        Arc::new(HashPool::default())
    }

    /// Moves a stream's hash to the pool's thread (starting it if a core is idle): the
    /// stream's handle, or the state back when it stays inline (`None` only if the state was
    /// lost to a thread that is gone: the digest is then unavailable, never a wrong one).
    fn offload(&self, state: Box<State>) -> Result<Offloaded, Option<Box<State>>> {
        let Ok(mut worker) = self.worker.lock() else {
            return Err(Some(state));
        };
        if worker.is_none() {
            if !core_idle() {
                return Err(Some(state));
            }
            *worker = Worker::spawn();
        }
        let Some(w) = worker.as_mut() else {
            return Err(Some(state));
        };
        let slot = w.streams;
        let (back, spare) = mpsc::channel();
        match w.jobs.send(Job::Start { slot, state, back }) {
            Ok(()) => {}
            Err(mpsc::SendError(Job::Start { state, .. })) => return Err(Some(state)),
            Err(_) => return Err(None),
        }
        w.streams += 1;
        w.buffers.fetch_add(1, Ordering::Relaxed);
        Ok(Offloaded {
            jobs: w.jobs.clone(),
            pending: Vec::with_capacity(BATCH),
            slot,
            spare,
            buffers: Arc::clone(&w.buffers),
        })
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        let worker = match self.worker.get_mut() {
            Ok(w) => w.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(Worker { jobs, handle, .. }) = worker {
            drop(jobs); // with every stream's sender gone, the thread ends
            let _ = handle.join();
        }
    }
}

impl Worker {
    fn spawn() -> Option<Worker> {
        let (jobs, rx) = mpsc::sync_channel::<Job>(IN_FLIGHT);
        let handle = std::thread::Builder::new()
            .name("strata-hash".into())
            .spawn(move || Worker::run(rx))
            .ok()?;
        Some(Worker {
            jobs,
            handle,
            streams: 0,
            buffers: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn run(rx: mpsc::Receiver<Job>) {
        let _busy = Busy::start();
        let span = crate::trace::Span::start();
        let mut streams: Vec<Option<(Box<State>, mpsc::Sender<Chunk>)>> = Vec::new();
        let mut hashed = 0u64;
        for job in rx {
            match job {
                Job::Start { slot, state, back } => {
                    if streams.len() <= slot {
                        streams.resize_with(slot + 1, || None);
                    }
                    streams[slot] = Some((state, back));
                }
                Job::Chunks { slot, chunks } => {
                    let Some(Some((state, back))) = streams.get_mut(slot) else {
                        continue;
                    };
                    for (chunk, len) in chunks {
                        let bytes = &chunk[..len.min(chunk.len())];
                        hashed += bytes.len() as u64;
                        state.update(bytes);
                        // The stream may be gone already (an error path): nothing to give back.
                        let _ = back.send(chunk);
                    }
                }
                Job::Finish { slot, reply } => {
                    if let Some((state, _)) = streams.get_mut(slot).and_then(Option::take) {
                        let _ = reply.send(*state);
                    }
                }
            }
        }
        span.end(|| format!("hash {hashed} bytes of {} streams", streams.len()));
    }
}

/// Chunks a stream sends to the hash thread at once. The thread hashes faster than a layer
/// inflates, so it empties its queue and sleeps: sent one by one, every 256 KiB chunk woke it
/// (perf on the 1 GiB layer: 2.3% of the reading thread in `try_to_wake_up`, 2% of the hash
/// thread in task switches).
const BATCH: usize = 4;

/// A stream whose hash runs on its layer's hash thread.
struct Offloaded {
    jobs: mpsc::SyncSender<Job>,
    /// Filled chunks not sent yet (fewer than [`BATCH`]).
    pending: Vec<(Chunk, usize)>,
    slot: usize,
    spare: mpsc::Receiver<Chunk>,
    /// Buffers the layer's streams made so far, shared with the other stream.
    buffers: Arc<AtomicUsize>,
}

impl Offloaded {
    fn send(&mut self, chunk: &Chunk, len: usize) -> bool {
        self.pending.push((Arc::clone(chunk), len));
        self.pending.len() < BATCH || self.flush()
    }

    /// Sends the pending chunks.
    fn flush(&mut self) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let chunks = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        let job = Job::Chunks {
            slot: self.slot,
            chunks,
        };
        self.jobs.send(job).is_ok()
    }

    /// A buffer to fill next: one the thread has hashed, or a new one while the layer's
    /// streams have made fewer than [`BUFFERS`], or else the next one the thread gives back
    /// (this stream has one there: the buffer it could not write to).
    fn next_buffer(&mut self, capacity: usize) -> Chunk {
        if let Ok(chunk) = self.spare.try_recv() {
            return chunk;
        }
        let made = self
            .buffers
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < BUFFERS).then_some(n + 1)
            });
        if made.is_ok() {
            return Arc::new(vec![0; capacity]);
        }
        // The buffer to wait for may be among the pending ones: the thread must have them.
        self.flush();
        self.spare
            .recv()
            .unwrap_or_else(|_| Arc::new(vec![0; capacity]))
    }

    fn finish(mut self) -> Option<State> {
        if !self.flush() {
            return None;
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job::Finish {
            slot: self.slot,
            reply,
        };
        self.jobs.send(job).ok()?;
        answer.recv().ok()
    }
}

/// The digest of a stream, computed on the reading thread at first and, once the stream proves
/// long, on its layer's hash thread.
enum Hasher {
    /// Boxed: SHA-512's state would make every reader 200 bytes larger.
    Inline(Box<State>),
    Offloaded(Offloaded),
    /// The hash thread ended without an answer (it cannot panic on bytes; kept for safety).
    Failed,
}

impl Hasher {
    /// Hashes `chunk[..len]`, the next bytes of the stream after `hashed_before` others.
    fn update(&mut self, chunk: &Chunk, len: usize, hashed_before: u64, pool: Option<&HashPool>) {
        let bytes = &chunk[..len.min(chunk.len())];
        match self {
            // Not for the empty read at a stream's end: a thread to hash nothing.
            Hasher::Inline(_)
                if !bytes.is_empty() && hashed_before + bytes.len() as u64 > OFFLOAD_AFTER =>
            {
                let Some(pool) = pool else {
                    return self.inline(bytes);
                };
                let Hasher::Inline(state) = std::mem::replace(self, Hasher::Failed) else {
                    return;
                };
                *self = match pool.offload(state) {
                    Ok(mut t) => {
                        if t.send(chunk, len) {
                            Hasher::Offloaded(t)
                        } else {
                            Hasher::Failed
                        }
                    }
                    Err(Some(mut state)) => {
                        state.update(bytes);
                        Hasher::Inline(state)
                    }
                    Err(None) => Hasher::Failed,
                };
            }
            Hasher::Inline(state) => state.update(bytes),
            Hasher::Offloaded(t) => {
                if !t.send(chunk, len) {
                    *self = Hasher::Failed;
                }
            }
            Hasher::Failed => {}
        }
    }

    fn inline(&mut self, bytes: &[u8]) {
        if let Hasher::Inline(state) = self {
            state.update(bytes);
        }
    }

    fn finish(self) -> Option<State> {
        match self {
            Hasher::Inline(state) => Some(*state),
            Hasher::Offloaded(t) => t.finish(),
            Hasher::Failed => None,
        }
    }
}

/// A buffered reader that counts, optionally hashes (with one [`Algorithm`]), and adds to a
/// shared progress counter every byte it buffers. It hashes its buffer as it fills it, so that
/// bytes are never copied for hashing: once a stream is long, the buffer itself is handed to
/// the hash thread of its [`HashPool`] and the next one filled meanwhile.
pub struct HashBuf<R> {
    inner: R,
    buf: Chunk,
    pos: usize,
    filled: usize,
    capacity: usize,
    /// The algorithm `hasher` computes.
    hash: Option<Algorithm>,
    hasher: Option<Hasher>,
    count: u64,
    progress: Option<Arc<AtomicU64>>,
    /// Where the hash goes once the stream is long; none: it stays on the reading thread.
    /// Declared after `hasher`, so a stream's sender is gone before the pool may join.
    pool: Option<Arc<HashPool>>,
}

impl<R: Read> HashBuf<R> {
    /// A reader hashing with SHA-256 (when `hash`), on a thread of its own once long.
    pub fn new(inner: R, capacity: usize, hash: bool, progress: Option<Arc<AtomicU64>>) -> Self {
        let hash = hash.then_some(Algorithm::Sha256);
        Self::with_algorithm(inner, capacity, hash, progress).pooled(HashPool::new())
    }

    /// A reader hashing with `hash` (when given) on the reading thread; see [`Self::pooled`].
    pub fn with_algorithm(
        inner: R,
        capacity: usize,
        hash: Option<Algorithm>,
        progress: Option<Arc<AtomicU64>>,
    ) -> Self {
        let capacity = capacity.max(1);
        HashBuf {
            inner,
            buf: Arc::new(vec![0; capacity]),
            pos: 0,
            filled: 0,
            capacity,
            hash,
            hasher: hash.map(|alg| Hasher::Inline(Box::new(State::new(alg)))),
            count: 0,
            progress,
            pool: None,
        }
    }

    /// Hashes on `pool`'s thread once the stream is long (the streams of one layer share one).
    pub fn pooled(mut self, pool: Arc<HashPool>) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The inner reader, the bytes read from it so far and the `alg:hex` digest of them (if
    /// hashing). Bytes buffered but not consumed are counted and hashed already. The digest is
    /// `alg:unavailable` in the one case the hash thread could not deliver it, so that it
    /// never matches and verification fails loudly rather than passing silently.
    pub fn into_parts(self) -> (R, u64, Option<String>) {
        let digest = match (self.hasher, self.hash) {
            (Some(h), Some(alg)) => Some(match h.finish() {
                Some(state) => state.finish(),
                None => format!("{}:unavailable", alg.name()),
            }),
            _ => None,
        };
        (self.inner, self.count, digest)
    }
}

/// A buffer to fill that nobody else reads: the current one unless the hash thread still holds
/// it.
fn writable<'a>(
    buf: &'a mut Chunk,
    hasher: &mut Option<Hasher>,
    capacity: usize,
) -> &'a mut Vec<u8> {
    if Arc::strong_count(buf) > 1 {
        *buf = match hasher {
            Some(Hasher::Offloaded(t)) => t.next_buffer(capacity),
            _ => Arc::new(vec![0; capacity]),
        };
    }
    // The thread gives a buffer back only after hashing it, so it is ours alone now; were it
    // not, this would copy it rather than write under the thread.
    Arc::make_mut(buf)
}

impl<R: Read> BufRead for HashBuf<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            let target = writable(&mut self.buf, &mut self.hasher, self.capacity);
            let n = loop {
                match self.inner.read(target) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            let n = n.min(self.buf.len());
            if let Some(h) = &mut self.hasher {
                h.update(&self.buf, n, self.count, self.pool.as_deref());
            }
            self.count += n as u64;
            if let Some(p) = &self.progress {
                p.fetch_add(n as u64, Ordering::Relaxed);
            }
            self.pos = 0;
            self.filled = n;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

impl<R: Read> Read for HashBuf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    impl HashPool {
        /// A pool whose thread runs already, whatever the cores are doing.
        fn with_thread() -> Arc<HashPool> {
            Arc::new(HashPool {
                worker: Mutex::new(Worker::spawn()),
            })
        }

        fn streams(&self) -> usize {
            self.worker
                .lock()
                .unwrap()
                .as_ref()
                .map_or(0, |w| w.streams)
        }
    }

    use sha2::{Sha256, Sha384, Sha512};

    struct Uneven<'a> {
        data: &'a [u8],
        lens: &'a [usize],
        i: usize,
    }

    impl Read for Uneven<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let want = self.lens[self.i % self.lens.len()];
            self.i += 1;
            let n = want.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// `alg:hex` straight from the sha2 crate, without the reader's machinery.
    fn reference(alg: Algorithm, bytes: &[u8]) -> String {
        let hash = match alg {
            Algorithm::Sha256 => hex(Sha256::digest(bytes).as_slice()),
            Algorithm::Sha384 => hex(Sha384::digest(bytes).as_slice()),
            Algorithm::Sha512 => hex(Sha512::digest(bytes).as_slice()),
        };
        format!("{}:{hash}", alg.name())
    }

    const ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha256, Algorithm::Sha384, Algorithm::Sha512];

    #[test]
    fn hashing_on_a_thread_gives_the_inline_digest_with_bounded_buffers() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let lens = [1usize, 4095, 65536, 300_000, 7];
        for alg in ALGORITHMS {
            let mut r = HashBuf::with_algorithm(
                Uneven {
                    data: &data,
                    lens: &lens,
                    i: 0,
                },
                100_000,
                Some(alg),
                None,
            );
            // On a thread from the first byte, whatever the cores are doing.
            let pool = HashPool::with_thread();
            let Ok(t) = pool.offload(Box::new(State::new(alg))) else {
                panic!("no hash thread");
            };
            r.hasher = Some(Hasher::Offloaded(t));
            let mut seen = Vec::new();
            loop {
                let chunk = r.fill_buf().unwrap();
                if chunk.is_empty() {
                    break;
                }
                // Consume unevenly too: a buffer is refilled only once it is used up.
                let n = chunk.len().min(seen.len() % 50_000 + 1);
                seen.extend_from_slice(&chunk[..n]);
                r.consume(n);
            }
            assert_eq!(seen, data);
            let Some(Hasher::Offloaded(t)) = &r.hasher else {
                panic!("the hash thread was dropped");
            };
            let made = t.buffers.load(Ordering::Relaxed);
            assert!(made <= BUFFERS, "{made} buffers");
            let (_, count, digest) = r.into_parts();
            assert_eq!(count, data.len() as u64);
            assert_eq!(digest.unwrap(), reference(alg, &data));
        }
    }

    #[test]
    fn a_long_stream_is_hashed_whole_across_the_switch_to_a_thread() {
        let data: Vec<u8> = (0..(OFFLOAD_AFTER as usize * 2 + 12345))
            .map(|i| (i % 253) as u8)
            .collect();
        for alg in ALGORITHMS {
            let mut r = HashBuf::with_algorithm(&data[..], 100_000, Some(alg), None)
                .pooled(HashPool::new());
            let mut buf = vec![0u8; 70_000];
            while r.read(&mut buf).unwrap() > 0 {}
            let (_, count, digest) = r.into_parts();
            assert_eq!(count, data.len() as u64);
            assert_eq!(digest.unwrap(), reference(alg, &data));
        }
    }

    /// The two streams of a layer take one thread between them: the second to grow long joins
    /// the thread the first started, and each digest is its own stream's, though their chunks
    /// interleave on the thread.
    #[test]
    fn two_streams_share_one_hash_thread_and_keep_their_digests() {
        let a: Vec<u8> = (0..(OFFLOAD_AFTER as usize * 3))
            .map(|i| (i % 251) as u8)
            .collect();
        let b: Vec<u8> = (0..(OFFLOAD_AFTER as usize * 2 + 999))
            .map(|i| (i % 241) as u8)
            .collect();
        let pool = HashPool::with_thread();
        let mut ra = HashBuf::with_algorithm(&a[..], 65_536, Some(Algorithm::Sha256), None)
            .pooled(Arc::clone(&pool));
        let mut rb = HashBuf::with_algorithm(&b[..], 100_000, Some(Algorithm::Sha512), None)
            .pooled(Arc::clone(&pool));
        let mut buf = vec![0u8; 30_000];
        let (mut done_a, mut done_b) = (false, false);
        while !(done_a && done_b) {
            done_a = done_a || ra.read(&mut buf).unwrap() == 0;
            done_b = done_b || rb.read(&mut buf).unwrap() == 0;
        }
        assert_eq!(pool.streams(), 2, "both streams moved to the one thread");
        let made = pool
            .worker
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .buffers
            .load(Ordering::Relaxed);
        assert!(made <= BUFFERS, "{made} buffers for two streams");
        let (_, _, da) = ra.into_parts();
        let (_, _, db) = rb.into_parts();
        assert_eq!(da.unwrap(), reference(Algorithm::Sha256, &a));
        assert_eq!(db.unwrap(), reference(Algorithm::Sha512, &b));
    }
}
