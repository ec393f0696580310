//! Writing into the cache's directory: temporary files nobody can guess nor plant a link at,
//! and the sweep of those a killed writer left.
//!
//! Every file is reached relative to the directory [`Cache::open`] opened and checked, so the
//! path being swapped after the check changes nothing.

use std::fs::File;
use std::hash::BuildHasher;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, Mode, OFlags};

use super::Cache;

/// The name every temporary file starts with.
pub(super) const TMP_PREFIX: &str = ".tmp-";

/// How old a temporary file must be to be taken for one a killed writer left: a write takes
/// well under a second (an entry is at most [`super::MAX_ENTRY`]), so an hour is never a live
/// one.
const STALE_TMP: Duration = Duration::from_secs(3600);

impl Cache {
    /// A new temporary file of this process alone: a name nobody can guess, created only if
    /// nothing (not even a dangling link) is there.
    pub(super) fn create_tmp(&self) -> io::Result<(String, File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            // SipHash under std's per-process random keys: 64 bits nobody else can predict.
            let n = std::hash::RandomState::new().hash_one((
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                SystemTime::now(),
            ));
            let name = format!("{TMP_PREFIX}{n:016x}");
            match self.create_exclusive(&name) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                r => return r.map(|f| (name, f)),
            }
        }
    }

    /// Creates `name` (mode 0600) unless anything is there; never follows a link.
    pub(super) fn create_exclusive(&self, name: &str) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &self.dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        Ok(File::from(fd))
    }

    /// Removes the temporary files last changed over [`STALE_TMP`] before `now` (best effort).
    pub(super) fn sweep(&self, now: SystemTime) {
        let Ok(dir) = rustix::fs::Dir::read_from(&self.dir) else {
            return;
        };
        let Some(limit) = now
            .checked_sub(STALE_TMP)
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        else {
            return;
        };
        for entry in dir.flatten() {
            let name = entry.file_name();
            if !name.to_bytes().starts_with(TMP_PREFIX.as_bytes()) {
                continue;
            }
            let stale = rustix::fs::statat(&self.dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| i128::from(st.st_mtime) < i128::from(limit.as_secs()));
            if stale {
                let _ = rustix::fs::unlinkat(&self.dir, name, AtFlags::empty());
            }
        }
    }
}
