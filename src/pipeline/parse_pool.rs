//! The threads that parse and score fetched feeds: one per core, at a lower
//! CPU priority than the rest of the process.
//!
//! Parsing and scoring are the cycle's bulk CPU work. The writer, by
//! contrast, is a chain of short turns between its task and its SQLite
//! connection's thread, each waiting for a wake-up; with parsing at the same
//! priority, every wake-up waited for a parser to be preempted, and the
//! writer's connection thread was preempted about 20,000 times in a cold
//! cycle of 2,000 feeds. At a lower priority, parsing takes the cores
//! whenever the writer does not need them, so it can use every core
//! without slowing the commits (README, Performance). The web server and
//! the deliveries run on the runtime's threads, at the normal priority, so
//! a burst of parsing does not slow them either.
//!
//! Dedicated threads rather than tokio's blocking pool: an unprivileged
//! process can lower a thread's priority but not raise it back, and the
//! blocking pool's threads also resolve host names and read files.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use super::parse::{ParseError, panic_message};

/// How much lower than the process the parsing threads run (`nice`
/// increment). 10 gives the writer's and the server's threads about nine
/// tenths of a contended core, while parsing still gets its share on a
/// host busy with other work (19 would all but stop it there).
const NICE_INCREMENT: libc::c_int = 10;

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: mpsc::Sender<Job>,
}

/// Runs `work` on the parse pool and waits for its result. The jobs wait
/// their turn in arrival order; a cycle's pipeline bounds how many there
/// are. A panic in `work` is caught and returned as
/// [`ParseError::Panicked`], and the thread goes on. If the caller stops
/// waiting, the job still runs and its result is dropped.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ParseError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(catch_unwind(AssertUnwindSafe(work)));
    });
    if pool().jobs.send(job).is_err() {
        return Err(ParseError::Panicked(
            "the parse pool has no thread left".to_string(),
        ));
    }
    match result.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(ParseError::Panicked(panic_message(panic.as_ref()))),
        Err(_) => Err(ParseError::Panicked(
            "the parse job was dropped".to_string(),
        )),
    }
}

/// The pool's threads: one per core, started on first use.
pub fn threads() -> usize {
    crate::infra::cores()
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(Mutex::new(queue));
        for i in 0..threads() {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("feedwatch-parse-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next
                        // job, never while running one.
                        let next = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a parse thread");
            }
        }
        Pool { jobs }
    })
}

/// Lowers the calling thread's CPU priority by [`NICE_INCREMENT`]. On
/// Linux a nice value belongs to the thread (`setpriority` with who = 0);
/// where it cannot be changed the thread keeps the process's priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: getpriority and setpriority only read and set the calling
    // thread's scheduling priority; no memory is passed.
    unsafe {
        let current = libc::getpriority(libc::PRIO_PROCESS, 0);
        if libc::setpriority(libc::PRIO_PROCESS, 0, current + NICE_INCREMENT) != 0 {
            tracing::debug!("cannot lower the parse threads' priority; they run at the process's");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_returns_its_value_and_a_panic_is_an_error_the_pool_survives() {
        assert_eq!(run(|| 2 + 2).await, Ok(4));
        let panicked = run(|| -> u32 { panic!("bad feed") }).await;
        assert_eq!(panicked, Err(ParseError::Panicked("bad feed".to_string())));
        // Every thread is still there: as many jobs at once as threads.
        let all = futures_util::future::join_all((0..threads() * 2).map(|i| run(move || i))).await;
        assert_eq!(all.len(), threads() * 2);
        assert!(all.iter().enumerate().all(|(i, r)| *r == Ok(i)));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_pool_threads_run_at_a_lower_priority() {
        // SAFETY: reads the calling thread's own priority.
        let process = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let parser = run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) })
            .await
            .expect("job");
        assert_eq!(parser, (process + NICE_INCREMENT).min(19));
    }
}
