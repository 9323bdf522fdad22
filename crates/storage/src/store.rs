//! The store: reads straight from backend snapshots, writes through the commit queue.
//!
//! Write transactions are closures. [`Store::transact`] hands one to the single writer
//! thread, which takes every pending transaction (up to [`MAX_GROUP`]), runs them one
//! after another against the latest state plus the writes of the earlier ones in the same
//! group, commits all their writes as one atomic batch with one fsync, and only then
//! answers each caller. Transactions are therefore serializable with no conflicts to
//! retry, and a durable write costs one fsync per group, not per request.
//!
//! A backend whose groups are serializable transactions re-run on a conflict (postgres)
//! may ask for several commit threads ("lanes", [`Backend::commit_lanes`]): each takes the
//! transactions pending when it is free, so groups overlap, and the database orders them.
//!
//! A transaction closure may in general run more than once (backends with optimistic
//! concurrency retry it), so it must compute and not cause side effects; it returns
//! `Err` to abort, and then none of its writes are kept.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::{Backend, Durability, Op, ReadView, Result, StorageError};

/// Most transactions committed in one group.
pub const MAX_GROUP: usize = 512;

/// Pending writes: keyspace -> key -> new value (None = delete).
type Overlay = BTreeMap<String, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// A write transaction: reads see the committed state, the writes of earlier
/// transactions in the same group, and this transaction's own writes.
pub struct Tx<'a> {
    view: &'a dyn ReadView,
    group: &'a Overlay,
    own: Overlay,
    lane: usize,
}

impl<'a> Tx<'a> {
    fn new(view: &'a dyn ReadView, group: &'a Overlay, lane: usize) -> Self {
        Tx {
            view,
            group,
            own: Overlay::new(),
            lane,
        }
    }

    /// The commit lane running this transaction (0 when the backend has one). Counters
    /// that every transaction updates should be split by lane, so that groups in flight
    /// at once do not all conflict on one key.
    pub fn lane(&self) -> usize {
        self.lane
    }

    /// The current value under `key`.
    pub fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        for layer in [&self.own, self.group] {
            if let Some(v) = layer.get(ks).and_then(|m| m.get(key)) {
                return Ok(v.clone());
            }
        }
        self.view.get(ks, key)
    }

    pub fn put(&mut self, ks: &str, key: Vec<u8>, value: Vec<u8>) {
        self.own
            .entry(ks.to_owned())
            .or_default()
            .insert(key, Some(value));
    }

    pub fn delete(&mut self, ks: &str, key: Vec<u8>) {
        self.own.entry(ks.to_owned()).or_default().insert(key, None);
    }

    /// Visit committed entries in a range. Writes made in this group are not merged in,
    /// so use this only for data the transaction does not itself write.
    pub fn scan_committed(
        &self,
        ks: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        visit: &mut crate::Visitor<'_>,
    ) -> Result<()> {
        self.view.scan(ks, start, end, false, visit)
    }
}

trait Job: Send {
    /// Run the transaction; true if its writes are to be kept.
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Report the outcome once the group is committed (or failed).
    fn finish(self: Box<Self>, commit: Result<()>);
}

struct TxJob<F, R, E> {
    f: F,
    out: Option<std::result::Result<R, E>>,
    reply: tokio::sync::oneshot::Sender<std::result::Result<R, E>>,
}

impl<F, R, E> Job for TxJob<F, R, E>
where
    F: FnMut(&mut Tx<'_>) -> std::result::Result<R, E> + Send,
    R: Send,
    E: From<StorageError> + Send,
{
    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        // A re-run (the backend retrying the group) replaces the earlier outcome; a panic
        // leaves none.
        self.out = None;
        let r = (self.f)(tx);
        let keep = r.is_ok();
        self.out = Some(r);
        keep
    }

    fn finish(self: Box<Self>, commit: Result<()>) {
        let msg = match (commit, self.out) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(r))) => Ok(r),
            // The group failed: whether or not this job ran (a backend may give up
            // before running it), the group's error is the answer.
            (Err(e), Some(Ok(_)) | None) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(StorageError::Aborted(
                "transaction panicked".into(),
            ))),
        };
        // The caller may have gone away (client disconnected); nothing to do then.
        let _ = self.reply.send(msg);
    }
}

/// The engine's handle on storage.
pub struct Store {
    backend: Arc<dyn Backend>,
    queue: mpsc::Sender<Box<dyn Job>>,
    stats: Arc<QueueStats>,
}

/// Commit-queue figures for the metrics endpoint.
#[derive(Default)]
pub struct QueueStats {
    /// Transactions sent and not yet committed.
    pub queued: AtomicU64,
    /// Commit groups written, and transactions in them.
    pub groups: AtomicU64,
    pub jobs: AtomicU64,
}

impl Store {
    /// Wrap a backend and start its commit queue.
    pub fn new(backend: Arc<dyn Backend>, durability: Durability) -> Result<Store> {
        let (queue, rx) = mpsc::channel::<Box<dyn Job>>();
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(QueueStats::default());
        for lane in 0..backend.commit_lanes().max(1) {
            let b = backend.clone();
            let s = stats.clone();
            let rx = rx.clone();
            thread::Builder::new()
                .name(format!("ferrodyn-commit-{lane}"))
                .spawn(move || writer(b, &rx, lane, durability, &s))
                .map_err(|e| StorageError::Io(e.to_string()))?;
        }
        Ok(Store {
            backend,
            queue,
            stats,
        })
    }

    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Commit-queue figures.
    pub fn queue_stats(&self) -> &QueueStats {
        &self.stats
    }

    /// The backend, shared (for work that runs on another thread, such as a backup copy).
    pub fn backend_arc(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// A consistent read view; never waits for the commit queue.
    pub fn snapshot(&self) -> Result<Box<dyn ReadView + '_>> {
        self.backend.snapshot()
    }

    /// One key's committed value (see [`Backend::read`]); never waits for the commit queue.
    pub fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.backend.read(ks, key)
    }

    /// [`Store::get`] without blocking the caller's thread where the backend can help it.
    pub async fn get_async(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.backend.read_async(ks, key).await
    }

    /// Up to `max` entries of a range read at one moment, awaited (see
    /// [`Backend::scan_async`]); `None` when the backend cannot, or could not now.
    pub async fn scan_async(
        &self,
        ks: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        max: usize,
    ) -> Result<Option<crate::Entries>> {
        match self.backend.scan_async(ks, start, end, reverse, max) {
            Some(f) => f.await,
            None => Ok(None),
        }
    }

    /// A consistent read view that may be fixed at its first read (see
    /// [`Backend::read_view`]): for a reader that takes it and reads at once.
    pub fn read_view(&self) -> Result<Box<dyn ReadView + '_>> {
        self.backend.read_view()
    }

    /// Run `f` as a write transaction through the commit queue; resolves once its writes
    /// are durable (or it failed).
    pub async fn transact<F, R, E>(&self, f: F) -> std::result::Result<R, E>
    where
        F: FnMut(&mut Tx<'_>) -> std::result::Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job = Box::new(TxJob {
            f,
            out: None,
            reply,
        });
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(job).is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(E::from(StorageError::Closed));
        }
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(E::from(StorageError::Closed)),
        }
    }
}

/// One commit lane: takes every transaction pending when it is free (waiting for the first),
/// commits them as one group, answers them, and again. Lanes take turns at the queue.
fn writer(
    backend: Arc<dyn Backend>,
    rx: &Mutex<mpsc::Receiver<Box<dyn Job>>>,
    lane: usize,
    durability: Durability,
    stats: &QueueStats,
) {
    let mut jobs: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_GROUP);
    loop {
        {
            let Ok(rx) = rx.lock() else {
                return;
            };
            let Ok(first) = rx.recv() else {
                return;
            };
            jobs.push(first);
            while jobs.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
        }
        let outcome = run_group(&*backend, &mut jobs, lane, durability);
        let n = jobs.len() as u64;
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(n, Ordering::Relaxed);
        stats.queued.fetch_sub(n, Ordering::Relaxed);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "commit failed");
        }
        for job in jobs.drain(..) {
            job.finish(outcome.clone());
        }
    }
}

fn run_group(
    backend: &dyn Backend,
    jobs: &mut [Box<dyn Job>],
    lane: usize,
    durability: Durability,
) -> Result<()> {
    // The backend may call this more than once (a conflict with another server): each
    // call re-runs every job from scratch and replaces its previous outcome.
    let mut run = |view: &dyn ReadView| -> Result<Vec<Op>> {
        let mut group = Overlay::new();
        for job in jobs.iter_mut() {
            let mut tx = Tx::new(view, &group, lane);
            let keep = catch_unwind(AssertUnwindSafe(|| job.run(&mut tx))).unwrap_or(false);
            if keep {
                let own = std::mem::take(&mut tx.own);
                for (ks, writes) in own {
                    group.entry(ks).or_default().extend(writes);
                }
            }
        }
        Ok(group
            .into_iter()
            .flat_map(|(ks, writes)| {
                writes.into_iter().map(move |(key, v)| match v {
                    Some(value) => Op::Put {
                        ks: ks.clone(),
                        key,
                        value,
                    },
                    None => Op::Delete {
                        ks: ks.clone(),
                        key,
                    },
                })
            })
            .collect())
    };
    backend.write_group(&mut run, durability)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]
mod tests {
    use super::*;
    use crate::memory::MemoryBackend;

    #[tokio::test]
    async fn transactions_serialize_and_abort_cleanly() {
        let store =
            Arc::new(Store::new(Arc::new(MemoryBackend::new()), Durability::Fsync).unwrap());
        store.backend().create_keyspace("c").unwrap();
        let mut handles = Vec::new();
        for _ in 0..50 {
            let s = store.clone();
            handles.push(tokio::spawn(async move {
                s.transact(|tx| {
                    let n = tx
                        .get("c", b"n")?
                        .map(|v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])))
                        .unwrap_or(0);
                    tx.put("c", b"n".to_vec(), (n + 1).to_be_bytes().to_vec());
                    Ok::<_, StorageError>(())
                })
                .await
            }));
        }
        for h in handles {
            h.await.unwrap().unwrap();
        }
        let r: std::result::Result<(), StorageError> = store
            .transact(|tx| {
                tx.put("c", b"n".to_vec(), vec![0]);
                Err(StorageError::Aborted("no".into()))
            })
            .await;
        assert!(r.is_err());
        let v = store.snapshot().unwrap().get("c", b"n").unwrap().unwrap();
        assert_eq!(u64::from_be_bytes(v.try_into().unwrap()), 50);
    }
}
