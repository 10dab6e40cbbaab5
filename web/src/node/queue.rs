//! A bounded job queue that is fair between apps: jobs wait in one queue per app, and workers
//! take them round-robin over the apps that have any, so one busy app cannot starve another.
//!
//! # Invariants
//!
//! - At most `capacity` jobs wait in all, and at most `per_app` for one app; a push beyond
//!   either is refused at once ([`Full`]), never blocked, so the node can answer 429.
//! - Within one app, jobs run in arrival order; between apps, in turns.
//! - After [`FairQueue::close`], pushes are refused and [`FairQueue::pop`] drains what waits,
//!   then returns `None`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Why a job was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// Every slot of the queue is taken.
    Node,
    /// The app has as many jobs waiting as it may.
    App,
    /// The node is shutting down.
    Closed,
}

struct Inner<J> {
    by_app: HashMap<String, VecDeque<J>>,
    turns: VecDeque<String>,
    len: usize,
    closed: bool,
}

/// The queue (see the module documentation).
pub(crate) struct FairQueue<J> {
    inner: Mutex<Inner<J>>,
    ready: Condvar,
    capacity: usize,
    per_app: usize,
}

impl<J> FairQueue<J> {
    /// A queue holding at most `capacity` jobs, `per_app` of them for one app.
    pub(crate) fn new(capacity: usize, per_app: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                by_app: HashMap::new(),
                turns: VecDeque::new(),
                len: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            capacity: capacity.max(1),
            per_app: per_app.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<J>> {
        // A worker that panicked while holding the lock leaves consistent data (every update
        // is a single push or pop), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job` for `app`, or says why not.
    pub(crate) fn push(&self, app: &str, job: J) -> Result<(), Full> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(Full::Closed);
        }
        if inner.len >= self.capacity {
            return Err(Full::Node);
        }
        let waiting = inner.by_app.get(app).map_or(0, VecDeque::len);
        if waiting >= self.per_app {
            return Err(Full::App);
        }
        if waiting == 0 {
            inner.turns.push_back(app.to_owned());
        }
        inner
            .by_app
            .entry(app.to_owned())
            .or_default()
            .push_back(job);
        inner.len += 1;
        drop(inner);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job, in turn; blocks while none waits. `None` once closed and drained.
    pub(crate) fn pop(&self) -> Option<J> {
        let mut inner = self.lock();
        loop {
            if let Some(app) = inner.turns.pop_front() {
                let jobs = inner.by_app.get_mut(&app)?;
                let job = jobs.pop_front();
                if jobs.is_empty() {
                    inner.by_app.remove(&app);
                } else {
                    inner.turns.push_back(app);
                }
                if job.is_some() {
                    inner.len -= 1;
                    return job;
                }
                continue;
            }
            if inner.closed {
                return None;
            }
            inner = self.ready.wait(inner).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Jobs waiting.
    pub(crate) fn len(&self) -> usize {
        self.lock().len
    }

    /// Refuses new jobs and wakes every worker, so they drain the queue and stop.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_take_turns_and_keep_their_own_order() {
        let q = FairQueue::new(10, 10);
        for job in ["a1", "a2", "a3"] {
            q.push("a", job).unwrap();
        }
        q.push("b", "b1").unwrap();
        q.push("c", "c1").unwrap();
        q.push("b", "b2").unwrap();
        q.close();
        let order: Vec<&str> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, ["a1", "b1", "c1", "a2", "b2", "a3"]);
    }

    #[test]
    fn capacity_and_per_app_limits_refuse_at_once() {
        let q = FairQueue::new(3, 2);
        q.push("a", 1).unwrap();
        q.push("a", 2).unwrap();
        assert_eq!(q.push("a", 3), Err(Full::App));
        q.push("b", 4).unwrap();
        assert_eq!(q.push("c", 5), Err(Full::Node));
        assert_eq!(q.pop(), Some(1));
        q.push("c", 5).unwrap();
        q.close();
        assert_eq!(q.push("d", 6), Err(Full::Closed));
        assert_eq!(q.len(), 3);
        let rest: Vec<i32> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, [4, 2, 5]);
    }

    #[test]
    fn a_blocked_worker_wakes_for_a_job_and_for_close() {
        let q = std::sync::Arc::new(FairQueue::new(4, 4));
        let worker = {
            let q = q.clone();
            std::thread::spawn(move || std::iter::from_fn(|| q.pop()).collect::<Vec<i32>>())
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        q.push("a", 7).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        q.close();
        assert_eq!(worker.join().unwrap(), [7]);
    }
}
