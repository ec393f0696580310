//! Phase timings for performance work. With `STRATA_TRACE` set in the environment, each phase
//! boundary — a layer read or applied, the filesystem finished, each analysis pass, the output —
//! prints one line to standard error: milliseconds since the first mark, the thread, the phase.
//!
//! ```text
//! $ STRATA_TRACE=1 strata analyze IMAGE --quiet >/dev/null
//!      0.0 ms main       open
//!      0.6 ms ThreadId(3) read 1 start
//!    395.2 ms main       apply layer 0 start
//! ```
//!
//! Unset, a mark costs one load of a flag; the line is never formatted.
//!
//! A [`Span`] marks the end of one thread's piece of work with the CPU time the thread spent on
//! it and the wall time it took (`read 1 busy 812.3 ms of 1203.0 ms`): where the two differ, the
//! thread waited (for a core, for bytes, for a full channel), which is how an idle core shows.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn start() -> Option<Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    *START.get_or_init(|| std::env::var_os("STRATA_TRACE").map(|_| Instant::now()))
}

/// Marks a phase boundary; `what` is called only when tracing.
pub fn mark(what: impl FnOnce() -> String) {
    if let Some(t0) = start() {
        let thread = std::thread::current();
        let who = thread
            .name()
            .map_or_else(|| format!("{:?}", thread.id()), str::to_string);
        eprintln!(
            "{:8.1} ms {who:10} {}",
            t0.elapsed().as_secs_f64() * 1e3,
            what()
        );
    }
}

/// The CPU time the calling thread has used so far.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// One thread's piece of work, timed in CPU and in wall time while tracing.
pub struct Span(Option<(Instant, Duration)>);

impl Span {
    /// Starts timing on the calling thread (nothing when not tracing).
    pub fn start() -> Span {
        Span(start().map(|_| (Instant::now(), thread_cpu())))
    }

    /// Marks `what busy CPU ms of WALL ms`; call it on the thread that started the span.
    pub fn end(self, what: impl FnOnce() -> String) {
        if let Some((wall, cpu)) = self.0 {
            let busy = thread_cpu().saturating_sub(cpu);
            mark(|| {
                format!(
                    "{} busy {:.1} ms of {:.1} ms",
                    what(),
                    busy.as_secs_f64() * 1e3,
                    wall.elapsed().as_secs_f64() * 1e3
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread clock counts this thread's work and not its sleep: spinning for 30 ms of
    /// wall time costs about 30 ms of CPU, sleeping 30 ms almost none.
    #[test]
    fn the_thread_clock_counts_work_not_sleep() {
        let cpu = thread_cpu();
        std::thread::sleep(Duration::from_millis(30));
        let slept = thread_cpu() - cpu;
        let cpu = thread_cpu();
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let spun = thread_cpu() - cpu;
        assert!(
            slept < Duration::from_millis(10),
            "sleeping cost {slept:?} of CPU"
        );
        assert!(
            spun > Duration::from_millis(10),
            "spinning cost only {spun:?} of CPU"
        );
    }
}
