//! Several servers on one shared storage (`Backend::shared`, the postgres backend).
//!
//! Everything here is used only when the backend is shared; on the embedded backends the
//! engine holds no [`Cluster`] and none of these keys exist.
//!
//! Keyspace `cluster`:
//! - `catalog_version` -> u64 (big-endian): bumped in the same transaction as every change
//!   of the `catalog` keyspace, so a server sees with one read whether its catalog cache is
//!   current;
//! - `lease/<name>` -> JSON `{holder, expires}`: who runs a piece of background work (the
//!   TTL sweeper and the other periodic work, a backfill, a restore fill, a backup copy, an
//!   export, an import). A
//!   lease is taken or renewed in a write transaction (serializable on a shared backend), so
//!   at most one server holds it; when its holder stops renewing (it died), another takes it
//!   over once it has expired.
//!
//! Keyspace `tokens`: TransactWriteItems ClientRequestToken -> JSON [`StoredToken`], so that
//! a retry sent to another server is still recognised.
//!
//! Table statistics (`stats`) are kept per server when shared: `<key> 0x00 <server id>`,
//! summed on read, so that two servers writing to one table do not both update one row
//! (which would make every pair of concurrent writes a serialization conflict).

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};

use ferrodyn_protocol::model::TransactWriteItemsOutput;
use ferrodyn_protocol::ApiError;
use ferrodyn_storage::{ReadView, StorageError, Tx};
use serde::{Deserialize, Serialize};

use crate::catalog::TableMeta;
use crate::{Engine, TxError, CATALOG};

pub(crate) const CLUSTER: &str = "cluster";
pub(crate) const TOKENS: &str = "tokens";
const CATALOG_VERSION: &[u8] = b"catalog_version";

/// The lease of the periodic background work (TTL sweeps, stream trimming, token expiry).
pub(crate) const MAINTENANCE: &str = "maintenance";

/// This server's part in a shared deployment.
pub(crate) struct Cluster {
    /// Random, new at every start.
    pub(crate) server_id: String,
    /// The catalog version the cache was last loaded at.
    pub(crate) seen: AtomicU64,
    /// The highest catalog version this server committed itself (and put in its cache):
    /// a re-read of an older version must not replace the cache, or it would undo that
    /// change until the next re-read.
    pub(crate) committed: AtomicU64,
    /// When the catalog version was last checked (clock seconds, as f64 bits).
    pub(crate) checked: AtomicU64,
    /// Leases this server held at its last attempt (to log changes only).
    pub(crate) held: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Background jobs (backfills, restore fills) running in this process.
    pub(crate) running: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Cluster {
    pub(crate) fn new(seen: u64) -> Cluster {
        Cluster {
            server_id: uuid::Uuid::new_v4().simple().to_string(),
            seen: AtomicU64::new(seen),
            committed: AtomicU64::new(0),
            checked: AtomicU64::new(0f64.to_bits()),
            held: std::sync::Mutex::new(std::collections::HashSet::new()),
            running: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }
}

fn be_u64(v: &[u8]) -> u64 {
    v.get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// The catalog version in a view.
pub(crate) fn catalog_version(view: &dyn ReadView) -> Result<u64, StorageError> {
    Ok(view
        .get(CLUSTER, CATALOG_VERSION)?
        .map(|v| be_u64(&v))
        .unwrap_or(0))
}

/// Bump the catalog version in a transaction that changes the catalog; the new version.
pub(crate) fn bump_catalog(tx: &mut Tx<'_>) -> Result<u64, StorageError> {
    let v = tx
        .get(CLUSTER, CATALOG_VERSION)?
        .map(|v| be_u64(&v))
        .unwrap_or(0)
        + 1;
    tx.put(CLUSTER, CATALOG_VERSION.to_vec(), v.to_be_bytes().to_vec());
    Ok(v)
}

/// The part of a catalog entry a write checks.
#[derive(Deserialize)]
struct Ident {
    desc: IdentDesc,
    #[serde(default)]
    version: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdentDesc {
    table_id: String,
}

/// Inside a write transaction: the table's metadata as committed. `Ok(None)` if `meta` is
/// current; the committed metadata if the table changed since `meta` was cached; not found
/// if it was deleted (or deleted and created again). Reading the entry also puts it in the
/// transaction's read set, so a concurrent catalog change and this write cannot both
/// commit.
pub(crate) fn current_meta(tx: &Tx<'_>, meta: &TableMeta) -> Result<Option<TableMeta>, TxError> {
    let gone = || {
        TxError(ApiError::ResourceNotFound(
            "Requested resource not found".into(),
        ))
    };
    let Some(raw) = tx.get(CATALOG, meta.name.as_bytes())? else {
        return Err(gone());
    };
    let id: Ident = serde_json::from_slice(&raw).map_err(|e| {
        TxError(ApiError::InternalServerError(format!(
            "corrupt catalog entry: {e}"
        )))
    })?;
    if id.desc.table_id != meta.desc.table_id {
        return Err(gone());
    }
    if id.version == meta.version {
        return Ok(None);
    }
    serde_json::from_slice::<TableMeta>(&raw)
        .map(Some)
        .map_err(|e| {
            TxError(ApiError::InternalServerError(format!(
                "corrupt catalog entry: {e}"
            )))
        })
}

/// The key of this server's part of a statistics row.
pub(crate) fn shard_key(key: &[u8], server: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1 + server.len());
    k.extend_from_slice(key);
    k.push(0);
    k.extend_from_slice(server.as_bytes());
    k
}

/// The name of a server's part of a statistics row as written by commit lane `lane`: the
/// server id, and `/lane` after it for lanes past the first (server ids have no `/`), so
/// that groups in flight at once in different lanes do not all write one row.
pub(crate) fn part_name(server: &str, lane: usize) -> std::borrow::Cow<'_, str> {
    if lane == 0 {
        std::borrow::Cow::Borrowed(server)
    } else {
        std::borrow::Cow::Owned(format!("{server}/{lane}"))
    }
}

/// The server that wrote a part named by [`part_name`].
fn part_server(name: &[u8]) -> &[u8] {
    name.split(|b| *b == b'/').next().unwrap_or_default()
}

/// Visit every server's part of the statistics row `key` (committed state).
pub(crate) fn scan_shards(
    view: &dyn ReadView,
    stats: &str,
    key: &[u8],
    visit: &mut dyn FnMut(&[u8], &[u8]),
) -> Result<(), StorageError> {
    let mut start = key.to_vec();
    start.push(0);
    let mut end = key.to_vec();
    end.push(1);
    view.scan(
        stats,
        Bound::Included(&start[..]),
        Bound::Excluded(&end[..]),
        false,
        &mut |k, v| {
            visit(k, v);
            true
        },
    )
}

/// With shared storage a keyspace no table or backup names is dropped only once it has
/// stayed so this long (another server may be creating the table that will name it).
pub(crate) const ORPHAN_GRACE_SECONDS: f64 = 600.0;

const ORPHAN_PREFIX: &[u8] = b"orphan/";

/// `server/<server id>` -> until when (clock seconds, f64 big-endian) the server is
/// taken to be running; renewed by every server at every sweep interval.
const SERVER_PREFIX: &[u8] = b"server/";

/// The end (exclusive) of the keys starting with `prefix` (whose last byte is below 0xff).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

fn be_f64(v: &[u8]) -> f64 {
    v.get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(f64::from_be_bytes)
        .unwrap_or(0.0)
}

/// A lease row.
#[derive(Serialize, Deserialize)]
struct Lease {
    holder: String,
    /// Clock seconds.
    expires: f64,
}

fn lease_key(name: &str) -> Vec<u8> {
    format!("lease/{name}").into_bytes()
}

/// Whether `me` holds the lease `name` as the transaction sees it: the last write of a
/// leased job checks this, so a job taken over by another server never commits twice.
pub(crate) fn lease_held(tx: &Tx<'_>, name: &str, me: &str) -> Result<bool, StorageError> {
    Ok(tx
        .get(CLUSTER, &lease_key(name))?
        .and_then(|v| serde_json::from_slice::<Lease>(&v).ok())
        .is_some_and(|l| l.holder == me))
}

/// A remembered ClientRequestToken, shared by all servers.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredToken {
    pub(crate) request: String,
    pub(crate) at: f64,
    pub(crate) output: Option<TransactWriteItemsOutput>,
}

/// A TransactWriteItems with the same token that has not answered after this long is taken
/// to have died with its server.
pub(crate) const TOKEN_IN_PROGRESS_SECONDS: f64 = 60.0;

/// A background job this server runs (see [`Engine::claim_job`]).
pub(crate) struct Job<'a> {
    engine: &'a Engine,
    name: String,
}

impl Job<'_> {
    /// Renew the job's lease; false if another server took it over (then stop).
    pub(crate) async fn renew(&self) -> bool {
        self.engine.hold_lease(&self.name).await
    }

    /// The job is done: give its lease up.
    pub(crate) async fn finish(self) {
        self.engine.release_lease(&self.name).await;
    }
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        if let Some(c) = &self.engine.cluster {
            if let Ok(mut r) = c.running.lock() {
                r.remove(&self.name);
            }
        }
    }
}

impl Engine {
    /// Claim the background job `name`: None if this process already runs it or another
    /// server holds its lease. Always granted when storage is not shared.
    pub(crate) async fn claim_job(&self, name: String) -> Option<Job<'_>> {
        let Some(c) = &self.cluster else {
            return Some(Job { engine: self, name });
        };
        if !c.running.lock().is_ok_and(|mut r| r.insert(name.clone())) {
            return None;
        }
        let job = Job { engine: self, name };
        if !self.hold_lease(&job.name).await {
            return None;
        }
        Some(job)
    }

    /// A write transaction's error, passed through; with shared storage a table found
    /// missing (deleted, or deleted and created again, by another server) makes the next
    /// request re-read the catalog.
    pub(crate) fn write_failed(&self, e: ApiError) -> ApiError {
        if let (Some(c), ApiError::ResourceNotFound(_)) = (&self.cluster, &e) {
            c.checked.store(f64::MIN.to_bits(), Ordering::Relaxed);
        }
        e
    }

    /// This server's id when the storage is shared.
    pub(crate) fn server_id(&self) -> Option<String> {
        self.cluster.as_ref().map(|c| c.server_id.clone())
    }

    /// Re-read the catalog if another server changed it: when `force`, or when the version
    /// was last checked more than `catalog_refresh` ago. Nothing when storage is not
    /// shared.
    pub(crate) fn refresh_catalog(&self, force: bool) {
        let Some(c) = &self.cluster else {
            return;
        };
        let now = self.clock.now();
        if !force {
            let last = f64::from_bits(c.checked.load(Ordering::Relaxed));
            if now - last < self.config.catalog_refresh.as_secs_f64() {
                return;
            }
        }
        c.checked.store(now.to_bits(), Ordering::Relaxed);
        let loaded = (|| -> Result<Option<(u64, _)>, StorageError> {
            let view = self.store.read_view()?;
            let v = catalog_version(&*view)?;
            if v <= c.seen.load(Ordering::Acquire) {
                return Ok(None);
            }
            Ok(Some((v, crate::catalog::load_view(&*view)?)))
        })();
        match loaded {
            Ok(Some((v, tables))) => {
                if let Ok(mut t) = self.tables.write() {
                    if v < c.committed.load(Ordering::Acquire) {
                        // Read before a change of our own committed: it would undo it.
                        // Read again at the next request.
                        c.checked.store(f64::MIN.to_bits(), Ordering::Relaxed);
                    } else if v > c.seen.load(Ordering::Acquire) {
                        *t = tables;
                        c.seen.store(v, Ordering::Release);
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not re-read the catalog"),
        }
    }

    /// After this server committed catalog version `v`: if it directly follows the version
    /// the cache holds (no other server changed the catalog in between), the cache, which
    /// the caller has updated, is current at `v`; otherwise it lacks the other server's
    /// change, and the next request re-reads the catalog.
    pub(crate) fn catalog_committed(&self, v: Option<u64>) {
        if let (Some(c), Some(v)) = (&self.cluster, v) {
            c.committed.fetch_max(v, Ordering::AcqRel);
            if c.seen
                .compare_exchange(v.wrapping_sub(1), v, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                // Another server's change came between: the cache lacks it; re-read at the
                // next request.
                c.checked.store(f64::MIN.to_bits(), Ordering::Relaxed);
            }
        }
    }

    /// Take or renew the lease `name` for `lease_period`; whether this server holds it.
    /// Always true when storage is not shared (there is only this server).
    pub(crate) async fn hold_lease(&self, name: &str) -> bool {
        match self.try_hold_lease(name).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(lease = name, error = %e, "could not take or renew a lease");
                self.note_lease(name, false);
                false
            }
        }
    }

    /// [`Engine::hold_lease`], with the storage error when the lease could not be read or
    /// written.
    pub(crate) async fn try_hold_lease(&self, name: &str) -> Result<bool, StorageError> {
        let Some(c) = &self.cluster else {
            return Ok(true);
        };
        let me = c.server_id.clone();
        let now = self.clock.now();
        let period = self
            .config
            .lease_period
            .max(self.config.ttl_sweep_interval * 2)
            .as_secs_f64();
        let key = lease_key(name);
        let got = self
            .store
            .transact(move |tx| {
                let cur = tx
                    .get(CLUSTER, &key)?
                    .and_then(|v| serde_json::from_slice::<Lease>(&v).ok());
                if let Some(l) = cur {
                    if l.holder != me && l.expires > now {
                        return Ok(false);
                    }
                }
                let l = Lease {
                    holder: me.clone(),
                    expires: now + period,
                };
                let v = serde_json::to_vec(&l).map_err(|e| StorageError::Io(e.to_string()))?;
                tx.put(CLUSTER, key.clone(), v);
                Ok::<bool, StorageError>(true)
            })
            .await;
        let held = got?;
        self.note_lease(name, held);
        Ok(held)
    }

    /// Log when this server starts or stops holding a lease.
    fn note_lease(&self, name: &str, held: bool) {
        let Some(c) = &self.cluster else {
            return;
        };
        if let Ok(mut set) = c.held.lock() {
            if held && set.insert(name.to_owned()) {
                tracing::info!(lease = name, server = %c.server_id, "holding lease");
            } else if !held && set.remove(name) {
                tracing::info!(lease = name, server = %c.server_id, "lost lease");
            }
        }
    }

    /// Give a lease up (work finished), if this server holds it.
    pub(crate) async fn release_lease(&self, name: &str) {
        let Some(c) = &self.cluster else {
            return;
        };
        let me = c.server_id.clone();
        let key = lease_key(name);
        let _ = self
            .store
            .transact(move |tx| {
                let mine = tx
                    .get(CLUSTER, &key)?
                    .and_then(|v| serde_json::from_slice::<Lease>(&v).ok())
                    .is_some_and(|l| l.holder == me);
                if mine {
                    tx.delete(CLUSTER, key.clone());
                }
                Ok::<(), StorageError>(())
            })
            .await;
        if let Ok(mut set) = c.held.lock() {
            set.remove(name);
        }
    }

    /// Forget ClientRequestTokens older than the idempotency window (shared storage).
    pub(crate) async fn purge_tokens(&self) -> Result<(), StorageError> {
        if self.cluster.is_none() {
            return Ok(());
        }
        let now = self.clock.now();
        let old: Vec<Vec<u8>> = {
            let view = self.store.snapshot()?;
            let mut old = Vec::new();
            view.scan(
                TOKENS,
                Bound::Unbounded,
                Bound::Unbounded,
                false,
                &mut |k, v| {
                    let expired = serde_json::from_slice::<StoredToken>(v)
                        .map(|t| now - t.at >= crate::ops::transact::TOKEN_SECONDS)
                        .unwrap_or(true);
                    if expired {
                        old.push(k.to_vec());
                    }
                    old.len() < 1000
                },
            )?;
            old
        };
        if old.is_empty() {
            return Ok(());
        }
        self.store
            .transact(move |tx| {
                for k in &old {
                    let expired = tx
                        .get(TOKENS, k)?
                        .and_then(|v| serde_json::from_slice::<StoredToken>(&v).ok())
                        .is_none_or(|t| now - t.at >= crate::ops::transact::TOKEN_SECONDS);
                    if expired {
                        tx.delete(TOKENS, k.clone());
                    }
                }
                Ok::<(), StorageError>(())
            })
            .await
    }

    /// The shared-storage form of the start-up cleanup (run by the maintenance lease
    /// holder): a keyspace that neither the catalog nor any backup record names is noted
    /// (`orphan/<keyspace>` -> first seen) and dropped once it has been an orphan for
    /// [`ORPHAN_GRACE_SECONDS`].
    pub(crate) async fn drop_orphans_shared(&self) -> Result<(), StorageError> {
        // Keyspaces first, then the catalog: a table committed in between is seen as live.
        let names = self.store.backend().keyspaces()?;
        let (live, marks) = {
            let view = self.store.snapshot()?;
            let tables = crate::catalog::load_view(&*view)?;
            let mut live: std::collections::HashSet<String> =
                crate::table_keyspaces(&tables).collect();
            view.scan(
                crate::backup::BACKUPS,
                Bound::Unbounded,
                Bound::Unbounded,
                false,
                &mut |_, v| {
                    if let Ok(r) = serde_json::from_slice::<crate::backup::BackupRecord>(v) {
                        live.insert(r.keyspace);
                    }
                    true
                },
            )?;
            let mut marks = std::collections::HashMap::new();
            let end = prefix_end(ORPHAN_PREFIX);
            view.scan(
                CLUSTER,
                Bound::Included(ORPHAN_PREFIX),
                Bound::Excluded(&end[..]),
                false,
                &mut |k, v| {
                    let ks =
                        String::from_utf8_lossy(k.get(ORPHAN_PREFIX.len()..).unwrap_or_default())
                            .into_owned();
                    marks.insert(ks, be_f64(v));
                    true
                },
            )?;
            (live, marks)
        };
        let now = self.clock.now();
        let orphans: std::collections::HashSet<&String> = names
            .iter()
            .filter(|ks| crate::is_data_keyspace(ks) && !live.contains(*ks))
            .collect();
        let doomed: Vec<String> = orphans
            .iter()
            .filter(|ks| {
                marks
                    .get(**ks)
                    .is_some_and(|at| now - at >= ORPHAN_GRACE_SECONDS)
            })
            .map(|ks| (*ks).clone())
            .collect();
        for ks in &doomed {
            tracing::info!(keyspace = %ks, "dropping orphaned table keyspace");
            self.store.backend().drop_keyspace(ks)?;
        }
        let mark = |ks: &str| {
            let mut k = ORPHAN_PREFIX.to_vec();
            k.extend_from_slice(ks.as_bytes());
            k
        };
        let new: Vec<Vec<u8>> = orphans
            .iter()
            .filter(|ks| !marks.contains_key(**ks))
            .map(|ks| mark(ks))
            .collect();
        let gone: Vec<Vec<u8>> = marks
            .keys()
            .filter(|ks| !orphans.contains(ks) || doomed.contains(ks))
            .map(|ks| mark(ks))
            .collect();
        if new.is_empty() && gone.is_empty() {
            return Ok(());
        }
        self.store
            .transact(move |tx| {
                for k in &new {
                    tx.put(CLUSTER, k.clone(), now.to_be_bytes().to_vec());
                }
                for k in &gone {
                    tx.delete(CLUSTER, k.clone());
                }
                Ok::<(), StorageError>(())
            })
            .await
    }

    /// Note that this server is running (until a lease period from now).
    pub(crate) async fn heartbeat(&self) -> Result<(), StorageError> {
        let Some(c) = &self.cluster else {
            return Ok(());
        };
        let mut key = SERVER_PREFIX.to_vec();
        key.extend_from_slice(c.server_id.as_bytes());
        let until = self.clock.now() + self.config.lease_period.as_secs_f64();
        self.store
            .transact(move |tx| {
                tx.put(CLUSTER, key.clone(), until.to_be_bytes().to_vec());
                Ok::<(), StorageError>(())
            })
            .await
    }

    /// Fold the statistics parts of servers that stopped (no heartbeat for a lease period)
    /// into the tables' and indexes' shared rows, so that parts do not pile up with every
    /// restart. Safe even if such a server still writes: the fold and its write are
    /// serializable transactions, and its next write starts a new part.
    pub(crate) async fn fold_stats(&self) -> Result<(), StorageError> {
        if self.cluster.is_none() {
            return Ok(());
        }
        let now = self.clock.now();
        let ids: Vec<String> = self
            .tables
            .read()
            .map(|t| {
                t.values()
                    .flat_map(|m| {
                        std::iter::once(m.desc.table_id.clone())
                            .chain(m.indexes().into_iter().map(|i| i.stats_id))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (dead_servers, parts) = {
            let view = self.store.snapshot()?;
            let mut live = std::collections::HashSet::new();
            let mut dead = Vec::new();
            view.scan(
                CLUSTER,
                Bound::Included(SERVER_PREFIX),
                Bound::Excluded(&prefix_end(SERVER_PREFIX)[..]),
                false,
                &mut |k, v| {
                    let id = k.get(SERVER_PREFIX.len()..).unwrap_or_default().to_vec();
                    if be_f64(v) > now {
                        live.insert(id);
                    } else {
                        dead.push(k.to_vec());
                    }
                    true
                },
            )?;
            let mut parts: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for id in &ids {
                let base = id.as_bytes();
                scan_shards(&*view, crate::STATS, base, &mut |k, _| {
                    let server = part_server(k.get(base.len() + 1..).unwrap_or_default());
                    if !live.contains(server) {
                        parts.push((base.to_vec(), k.to_vec()));
                    }
                })?;
            }
            (dead, parts)
        };
        if dead_servers.is_empty() && parts.is_empty() {
            return Ok(());
        }
        for chunk in parts.chunks(256) {
            let chunk = chunk.to_vec();
            self.store
                .transact(move |tx| {
                    for (key, part) in &chunk {
                        crate::catalog::Stats::fold(tx, key, part)?;
                    }
                    Ok::<(), StorageError>(())
                })
                .await?;
        }
        self.store
            .transact(move |tx| {
                for k in &dead_servers {
                    // Unless it came back meanwhile.
                    let back = tx.get(CLUSTER, k)?.is_some_and(|v| be_f64(&v) > now);
                    if !back {
                        tx.delete(CLUSTER, k.clone());
                    }
                }
                Ok::<(), StorageError>(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_parts_name_their_server() {
        assert_eq!(part_name("abc", 0), "abc");
        assert_eq!(part_name("abc", 2), "abc/2");
        assert_eq!(part_server(b"abc/2"), b"abc");
        assert_eq!(part_server(b"abc"), b"abc");
        assert_eq!(part_server(b""), b"");
    }
}
