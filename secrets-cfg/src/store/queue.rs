//! Group commit: concurrent edits in one process queue up, and one
//! leader writes them all under one lock, one fsync and one rename.

use super::*;

#[derive(Default)]
pub(super) struct Queue {
    pending: Vec<(u64, Job)>,
    next_ticket: u64,
    done: HashSet<u64>,
    leader: bool,
    /// Size of the last batch: writers that just got their result usually
    /// come straight back, so the next leader waits for that many.
    last_batch: usize,
    /// How long a leader may wait for them: a quarter of the last commit's
    /// duration, capped by [`MAX_GATHER`].
    gather: Duration,
}

/// Longest a leader waits to fill a batch.
pub(super) const MAX_GATHER: Duration = Duration::from_millis(2);

/// Reports a commit's outcome to one edit's caller.
pub(super) type Finish = Box<dyn FnOnce(Result<()>) + Send>;

/// One queued edit: run against the transaction (`None`: the file could not
/// be loaded, report without running). Returns whether it changed anything
/// to commit, and how to report.
pub(super) type Job = Box<dyn FnOnce(Option<&mut Transaction<'_>>) -> (bool, Finish) + Send>;

/// Held by the leader; on drop (normal or unwinding) marks its batch done
/// and hands the turn to the next waiter.
pub(super) struct Leadership<'a> {
    shared: &'a Shared,
    tickets: Vec<u64>,
}

impl Drop for Leadership<'_> {
    fn drop(&mut self) {
        let mut queue = lock(&self.shared.queue);
        queue.leader = false;
        queue.done.extend(self.tickets.drain(..));
        drop(queue);
        self.shared.turn.notify_all();
    }
}

impl Shared {
    /// Queues `job` and returns once a commit has reported its outcome. The
    /// first waiter to find no leader becomes the leader and commits every
    /// queued job at once; the others wait their turn.
    pub(super) fn submit(&self, job: Job) {
        let mut queue = lock(&self.queue);
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.pending.push((ticket, job));
        if queue.leader {
            self.arrivals.notify_one();
        }
        loop {
            if queue.done.remove(&ticket) {
                return;
            }
            if !queue.leader {
                queue.leader = true;
                // Without this wait, the first writer back after a commit
                // would lead a batch of one while the rest queue behind it.
                let deadline = Instant::now() + queue.gather;
                while queue.pending.len() < queue.last_batch {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    queue = self
                        .arrivals
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                let batch = std::mem::take(&mut queue.pending);
                queue.last_batch = batch.len();
                drop(queue);
                let tickets = batch.iter().map(|(t, _)| *t).collect();
                let turn = Leadership {
                    shared: self,
                    tickets,
                };
                let started = Instant::now();
                self.commit_batch(batch.into_iter().map(|(_, job)| job).collect());
                let took = started.elapsed();
                drop(turn);
                queue = lock(&self.queue);
                queue.gather = (took / 4).min(MAX_GATHER);
                continue;
            }
            queue = self
                .turn
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Runs `f` as the leader, with no batch: for key rotation.
    pub(super) fn exclusive<T>(&self, f: impl FnOnce() -> T) -> T {
        let mut queue = lock(&self.queue);
        while queue.leader {
            queue = self
                .turn
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        queue.leader = true;
        drop(queue);
        let _turn = Leadership {
            shared: self,
            tickets: Vec::new(),
        };
        f()
    }

    /// Locks, loads and checks the file, runs `jobs` in order on one
    /// transaction, writes once if anything changed, then reports to each.
    pub(super) fn commit_batch(&self, jobs: Vec<Job>) {
        let mut cache = lock(&self.verified);
        let (guard, mut loaded) = match self.lock_and_load(cache.take()) {
            Ok(loaded) => loaded,
            Err(e) => {
                for job in jobs {
                    let (_, finish) = job(None);
                    finish(Err(e.clone()));
                }
                return;
            }
        };
        let cipher = Cipher::new(&loaded.key.key);
        let mut tx = Transaction {
            path: &self.path,
            model: &mut loaded.model,
            cipher: &cipher,
            undo: Vec::new(),
        };
        let mut finishes = Vec::with_capacity(jobs.len());
        let mut changed = false;
        for job in jobs {
            let (job_changed, finish) = job(Some(&mut tx));
            changed |= job_changed;
            finishes.push(finish);
        }
        let result = if changed {
            self.write(&mut loaded, &cipher)
        } else {
            Ok(())
        };
        if result.is_ok() {
            if changed {
                self.remember(&loaded);
            }
            *cache = Some(loaded);
        }
        drop(guard);
        drop(cache);
        for finish in finishes {
            finish(result.clone());
        }
    }
}
