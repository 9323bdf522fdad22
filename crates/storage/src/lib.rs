//! The storage seam.
//!
//! Storage is byte-oriented and knows nothing of DynamoDB: named, ordered keyspaces of
//! byte keys and byte values, consistent snapshot reads, and atomic write batches across
//! keyspaces. A backend implements [`Backend`]; the engine talks to a [`Store`], which owns
//! the commit queue (one writer thread that runs pending write transactions one after
//! another, commits them as one batch with one fsync, then acknowledges them all).
//!
//! Backends: [`memory::MemoryBackend`] (the reference) here, the durable embedded backend in
//! `ferrodyn-storage-fjall`. Every backend passes [`testsuite`] (feature `testsuite`).

use std::ops::Bound;

pub mod memory;
mod store;
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

pub use store::{Store, Tx};

/// A storage failure. Never caused by user input.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StorageError {
    #[error("keyspace {0:?} does not exist")]
    NoKeyspace(String),
    #[error("storage I/O error: {0}")]
    Io(String),
    #[error("write transaction aborted: {0}")]
    Aborted(String),
    /// Other writers kept conflicting with this write (a shared backend retried it as often
    /// as it may): nothing was written, and the caller may try again. Never a fault of the
    /// storage itself.
    #[error("write conflict: {0}")]
    Conflict(String),
    #[error("storage is shut down")]
    Closed,
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// How far a commit is persisted before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync before acknowledging: survives power loss.
    Fsync,
    /// Written to the OS before acknowledging: survives a killed process, not power loss.
    Buffered,
}

/// Keys are 1 to this many bytes long; backends refuse others.
pub const MAX_KEY_LEN: usize = 65535;

/// Check a key against the seam's limits.
pub fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(StorageError::Io(format!(
            "invalid key length {}",
            key.len()
        )));
    }
    Ok(())
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        ks: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        ks: String,
        key: Vec<u8>,
    },
}

/// What [`Backend::read_async`] returns.
pub type ReadFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<Vec<u8>>>> + Send + 'a>>;

/// Entries read by [`Backend::scan_async`], in scan order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// What [`Backend::scan_async`] returns; `None` inside: the backend could not do it now.
pub type ScanFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<Entries>>> + Send + 'a>>;

/// Range scans call this for every entry, in order; returning `false` stops the scan.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> bool + 'a;

/// The body of a commit group (see [`Backend::write_group`]): reads, returns the writes.
pub type GroupFn<'a> = dyn FnMut(&dyn ReadView) -> Result<Vec<Op>> + 'a;

/// A consistent, read-only view of every keyspace at one moment.
pub trait ReadView {
    /// The value stored under `key`, if any.
    fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Visit the entries with `start <= key < end` (per the bounds), ascending or descending.
    fn scan(
        &self,
        ks: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> Result<()>;
}

/// A storage backend. Implementations must make `commit` atomic across keyspaces.
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs ("memory", "fjall").
    fn name(&self) -> &'static str;

    /// Create a keyspace; a no-op if it exists.
    fn create_keyspace(&self, ks: &str) -> Result<()>;

    /// Declare a keyspace that may stay empty for a long time: it reads as empty and
    /// exists for every purpose, but a backend may put off creating it until the first
    /// commit writes to it (creating a keyspace is costly on some: fjall makes ~16 fsyncs,
    /// which is most of a fresh durable server's start-up). The default creates it at once.
    fn declare_keyspace(&self, ks: &str) -> Result<()> {
        self.create_keyspace(ks)
    }

    /// Drop a keyspace and its data; a no-op if it does not exist.
    fn drop_keyspace(&self, ks: &str) -> Result<()>;

    /// Names of all keyspaces.
    fn keyspaces(&self) -> Result<Vec<String>>;

    /// A consistent view of all keyspaces.
    fn snapshot(&self) -> Result<Box<dyn ReadView + '_>>;

    /// One key's value as committed now: what `snapshot()?.get(ks, key)` answers. A
    /// backend where a single read needs no transaction of its own overrides it.
    fn read(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.snapshot()?.get(ks, key)
    }

    /// [`Backend::read`] for async callers: a backend that waits on the network answers
    /// without blocking the caller's thread; the default reads at once.
    fn read_async<'a>(&'a self, ks: &'a str, key: &'a [u8]) -> ReadFuture<'a> {
        Box::pin(std::future::ready(self.read(ks, key)))
    }

    /// Up to `max` entries of a range (as [`ReadView::scan`] visits them), read at one
    /// moment without blocking the caller's thread; `None` when the backend cannot do that
    /// (the default; then read through a view).
    fn scan_async<'a>(
        &'a self,
        ks: &'a str,
        start: Bound<&'a [u8]>,
        end: Bound<&'a [u8]>,
        reverse: bool,
        max: usize,
    ) -> Option<ScanFuture<'a>> {
        let _ = (ks, start, end, reverse, max);
        None
    }

    /// Like [`Backend::snapshot`], for readers that need nothing else fixed at the moment
    /// they ask: the view may be fixed at its first read instead (still consistent, and
    /// seeing every commit acknowledged before this call). The postgres backend then sends
    /// the transaction's start together with the first read.
    fn read_view(&self) -> Result<Box<dyn ReadView + '_>> {
        self.snapshot()
    }

    /// Apply `ops` atomically. Each key appears at most once in `ops`.
    fn commit(&self, ops: &[Op], durability: Durability) -> Result<()>;

    /// Run one commit group: `run` reads through the view it is given and returns the
    /// group's writes, which are then applied atomically. `run` is pure (it may be called
    /// more than once, each time computing the writes afresh from what it reads; a backend
    /// may also call it first against a view that answers "absent" for every key, only to
    /// learn which keys it reads, and ignore that outcome).
    ///
    /// The default takes a snapshot, lets it go once `run` returns, then commits: right for
    /// backends that have a single writer (the store's commit thread). A backend shared by
    /// several servers overrides this to read and write in one serializable transaction and
    /// re-run the group when the database reports a conflict.
    fn write_group(&self, run: &mut GroupFn<'_>, durability: Durability) -> Result<()> {
        let ops = {
            let view = self.snapshot()?;
            run(&*view)?
        };
        if ops.is_empty() {
            return Ok(());
        }
        self.commit(&ops, durability)
    }

    /// Whether other servers may use the same storage at the same time (the postgres
    /// backend). The engine then keeps its caches coherent and coordinates background work
    /// through the storage; on backends that are not shared all of that is skipped.
    fn shared(&self) -> bool {
        false
    }

    /// How many commit groups may be in flight at once (the store runs one commit thread,
    /// a lane, per group). One for backends whose `write_group` relies on being the only
    /// writer; a backend whose groups are serializable transactions that are re-run on a
    /// conflict may allow more, and then transactions in different lanes must not all
    /// write one key (see [`crate::store::Tx::lane`]).
    fn commit_lanes(&self) -> usize {
        1
    }

    /// Commit groups re-run because the database reported a conflict (another server or
    /// lane wrote what they read); always 0 for a backend with a single writer.
    fn conflicts(&self) -> u64 {
        0
    }

    /// Whether an open snapshot holds up commits (the memory backend's read lock); long
    /// readers then copy what they need and let go before writing.
    fn snapshots_block_writes(&self) -> bool {
        false
    }

    /// Bytes used on disk (0 for memory).
    fn disk_bytes(&self) -> u64 {
        0
    }
}
