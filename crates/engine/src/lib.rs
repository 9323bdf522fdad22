//! DynamoDB semantics on the storage seam.
//!
//! The engine owns the table catalog and implements each operation as one async method
//! taking its typed input (`ops/table.rs`, `ops/item.rs`). It sees storage only through
//! `ferrodyn_storage::Store`; which backend sits below is chosen by the binary.
//!
//! Storage layout (key encoding version [`KEY_ENCODING_VERSION`]):
//! - keyspace `catalog`: table name -> table metadata (JSON), written in the same
//!   transaction as the table's statistics;
//! - keyspace `stats`: table id -> item count and total item size (two big-endian i64),
//!   updated in the same transaction as every item write;
//! - keyspace `t.<table id>`: encoded item key (see `ferrodyn_types::key`) -> item
//!   (`ferrodyn_types::codec`).

pub mod backup;
pub mod capacity;
pub mod catalog;
pub mod clock;
pub(crate) mod cluster;
pub mod index;
pub mod ion;
pub mod ops;
pub mod streams;
pub(crate) mod throttle;
pub mod transfer;
pub mod ttl;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferrodyn_protocol::ApiError;
use ferrodyn_storage::{Backend, Durability, StorageError, Store};

pub use catalog::TableMeta;
pub use clock::{Clock, ManualClock, SystemClock};

/// Version of the on-disk key and item encoding this engine writes.
pub const KEY_ENCODING_VERSION: u32 = 1;

pub(crate) const CATALOG: &str = "catalog";
pub(crate) const STATS: &str = "stats";

/// Settings that change what the engine answers.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Region named in ARNs.
    pub region: String,
    /// 12-digit account id named in ARNs.
    pub account_id: String,
    /// If set, tables stay CREATING / UPDATING this long (DynamoDB Local's
    /// `-delayTransientStatuses`).
    pub transient_delay: Option<Duration>,
    /// How often the Time to Live sweeper looks for expired items.
    pub ttl_sweep_interval: Duration,
    /// How long a stream shard takes records before a child shard takes over.
    pub stream_shard_period: Duration,
    /// How long after a Time to Live change another UpdateTimeToLive is refused
    /// (DynamoDB: about 31 minutes; zero turns the cooldown off).
    pub ttl_cooldown: Duration,
    /// The directory standing in for S3: each bucket is a folder under it.
    pub s3_root: std::path::PathBuf,
    /// Shared storage only: how long a lease on background work (the TTL sweeper, a
    /// backfill) lasts without renewal, i.e. how soon another server takes the work over
    /// when its holder dies. Kept above twice the sweep interval.
    pub lease_period: Duration,
    /// Shared storage only: how often item operations check whether another server changed
    /// the catalog (table operations and unknown table names always check).
    pub catalog_refresh: Duration,
    /// Throttle PROVISIONED tables and indexes at their provisioned capacity
    /// (ProvisionedThroughputExceededException); off by default, as in DynamoDB Local.
    pub enforce_capacity: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            transient_delay: None,
            ttl_sweep_interval: Duration::from_secs(30),
            stream_shard_period: Duration::from_secs(4 * 3600),
            ttl_cooldown: Duration::from_secs(31 * 60),
            s3_root: std::path::PathBuf::from("ferrodyn-s3"),
            lease_period: Duration::from_secs(60),
            catalog_refresh: Duration::from_secs(1),
            enforce_capacity: false,
        }
    }
}

/// One labelled metric: a value per table.
#[derive(Debug, Clone)]
pub struct TableSeries {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: &'static str,
    pub values: Vec<(String, f64)>,
}

/// The engine: one per server process.
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) tables: RwLock<HashMap<String, Arc<TableMeta>>>,
    pub(crate) config: EngineConfig,
    pub(crate) clock: Arc<dyn Clock>,
    /// TransactWriteItems ClientRequestTokens seen in the last 10 minutes.
    pub(crate) tokens: std::sync::Mutex<HashMap<String, ops::transact::TokenEntry>>,
    /// The engine itself, once shared ([`Engine::share`]), for background work.
    pub(crate) me: std::sync::OnceLock<std::sync::Weak<Engine>>,
    /// Capacity units consumed since start, by table: (read, write).
    pub(crate) consumed: std::sync::Mutex<HashMap<String, (f64, f64)>>,
    /// Provisioned-capacity buckets (used only with `enforce_capacity`).
    pub(crate) throttle: throttle::Throttle,
    /// Stream iterator age by table: seconds between the newest record a GetRecords call
    /// returned and that call (0 once a reader is caught up).
    pub(crate) stream_lag: std::sync::Mutex<HashMap<String, f64>>,
    /// Set when the storage is shared with other servers (`Backend::shared`).
    pub(crate) cluster: Option<cluster::Cluster>,
    /// The periodic background loop started by [`Engine::share`], and what tells it to
    /// stop ([`Engine::stop`]).
    background: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    stop: Arc<tokio::sync::Notify>,
}

/// Storage failures become InternalServerError; a missing keyspace means the table went
/// away under the request; contention that outlasted the backend's retries (servers
/// sharing a database) is DynamoDB's answer to contention, TransactionConflictException
/// (400; TransactWriteItems turns it into a TransactionCanceledException, see
/// `ops::transact`), never a 500.
pub(crate) fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::NoKeyspace(_) => {
            ApiError::ResourceNotFound("Requested resource not found".into())
        }
        StorageError::Conflict(detail) => {
            tracing::warn!(%detail, "write given up after conflicts with other servers");
            ApiError::TransactionConflict(TRANSACTION_CONFLICT.into())
        }
        other => ApiError::InternalServerError(other.to_string()),
    }
}

/// DynamoDB's message for a write that met a conflicting transaction (also the
/// `TransactionConflict` cancellation reason's message).
pub(crate) const TRANSACTION_CONFLICT: &str = "Transaction is ongoing for the item";

/// Lets transaction closures use `?` on storage calls.
pub(crate) struct TxError(pub ApiError);

impl From<StorageError> for TxError {
    fn from(e: StorageError) -> Self {
        TxError(storage_error(e))
    }
}

impl From<ApiError> for TxError {
    fn from(e: ApiError) -> Self {
        TxError(e)
    }
}

/// Whether a keyspace holds a table's or a backup's data (named by the catalog or a backup
/// record, and dropped when neither does).
pub(crate) fn is_data_keyspace(ks: &str) -> bool {
    ["t.", "i.", "e.", "s.", "h.", "b."]
        .iter()
        .any(|p| ks.starts_with(p))
}

/// Every keyspace the tables of a catalog use.
pub(crate) fn table_keyspaces(
    tables: &HashMap<String, Arc<TableMeta>>,
) -> impl Iterator<Item = String> + '_ {
    tables.values().flat_map(|t| {
        std::iter::once(t.keyspace.clone())
            .chain(t.indexes().into_iter().map(|i| i.keyspace))
            .chain(t.ttl.as_ref().map(|_| ttl::keyspace_of(&t.keyspace)))
            .chain((!t.streams.is_empty()).then(|| streams::keyspace_of(&t.keyspace)))
            .chain(
                t.pitr
                    .as_ref()
                    .map(|_| backup::history_keyspace(&t.keyspace)),
            )
            .chain(t.restore_source.as_ref().map(|r| r.keyspace.clone()))
    })
}

impl Engine {
    /// Open the engine on a backend: load the catalog, drop keyspaces of tables that were
    /// deleted (or never finished creating) before a crash.
    pub fn open(
        backend: Arc<dyn Backend>,
        durability: Durability,
        config: EngineConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, StorageError> {
        // Declared, not created: an embedded backend creates each on its first write, so a
        // fresh data directory starts without creating keyspaces it may never use.
        backend.declare_keyspace(CATALOG)?;
        backend.declare_keyspace(STATS)?;
        backend.declare_keyspace(backup::BACKUPS)?;
        backend.declare_keyspace(transfer::EXPORTS)?;
        backend.declare_keyspace(transfer::IMPORTS)?;
        let shared = backend.shared();
        if shared {
            backend.create_keyspace(cluster::CLUSTER)?;
            backend.create_keyspace(cluster::TOKENS)?;
        }
        let (tables, version) = {
            let view = backend.snapshot()?;
            let tables = catalog::load_view(&*view)?;
            let version = if shared {
                cluster::catalog_version(&*view)?
            } else {
                0
            };
            (tables, version)
        };
        // With shared storage another server may be creating a table right now (its
        // keyspaces exist before its catalog entry), so nothing is dropped here.
        if !shared {
            Engine::drop_orphans(&*backend, &tables)?;
        }
        let store = Store::new(backend, durability)?;
        Ok(Engine {
            store,
            tables: RwLock::new(tables),
            config,
            clock,
            tokens: std::sync::Mutex::new(HashMap::new()),
            consumed: std::sync::Mutex::new(HashMap::new()),
            throttle: throttle::Throttle::default(),
            stream_lag: std::sync::Mutex::new(HashMap::new()),
            me: std::sync::OnceLock::new(),
            background: std::sync::Mutex::new(None),
            stop: Arc::new(tokio::sync::Notify::new()),
            cluster: shared.then(|| cluster::Cluster::new(version)),
        })
    }

    /// Drop every `t.*`, `i.*`, `e.*`, `s.*`, `h.*` or `b.*` keyspace that neither the
    /// catalog nor an AVAILABLE backup names (left by a crash between creating keyspaces and
    /// the catalog entry, or between the catalog change and the drop).
    fn drop_orphans(
        backend: &dyn Backend,
        tables: &HashMap<String, Arc<TableMeta>>,
    ) -> Result<(), StorageError> {
        let backups = Engine::live_backup_keyspaces(backend)?;
        let live: std::collections::HashSet<String> =
            table_keyspaces(tables).chain(backups).collect();
        for ks in backend.keyspaces()? {
            if is_data_keyspace(&ks) && !live.contains(&ks) {
                tracing::info!(keyspace = %ks, "dropping orphaned table keyspace");
                backend.drop_keyspace(&ks)?;
            }
        }
        Ok(())
    }

    /// Share the engine and start its background work: the TTL sweeper, and backfills of
    /// indexes (and fills of restored tables), exports and imports that were still running
    /// when the server stopped. Needs a Tokio runtime.
    pub fn share(self) -> Arc<Engine> {
        let engine = Arc::new(self);
        let _ = engine.me.set(Arc::downgrade(&engine));
        // The Time to Live sweeper; it stops when the engine is dropped. With shared storage
        // only the server holding the maintenance lease sweeps (renewed at every round), and
        // it also picks up backfills and restores whose server died.
        let weak = Arc::downgrade(&engine);
        let every = engine.config.ttl_sweep_interval;
        let stopped = Arc::clone(&engine.stop);
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.notified() => break,
                }
                let Some(e) = weak.upgrade() else {
                    break;
                };
                if e.cluster.is_some() {
                    if let Err(err) = e.heartbeat().await {
                        tracing::warn!(error = %err, "heartbeat failed");
                    }
                }
                if !e.hold_lease(cluster::MAINTENANCE).await {
                    continue;
                }
                e.refresh_catalog(true);
                if let Err(err) = e.sweep_expired().await {
                    tracing::warn!(error = %err, "TTL sweep failed");
                }
                if let Err(err) = e.trim_streams().await {
                    tracing::warn!(error = %err, "stream trim failed");
                }
                if e.cluster.is_some() {
                    if let Err(err) = e.purge_tokens().await {
                        tracing::warn!(error = %err, "token expiry failed");
                    }
                    if let Err(err) = e.drop_orphans_shared().await {
                        tracing::warn!(error = %err, "orphaned keyspace cleanup failed");
                    }
                    if let Err(err) = e.fold_stats().await {
                        tracing::warn!(error = %err, "statistics fold failed");
                    }
                    e.resume_background_work();
                    if let Err(err) = e.resume_backups().await {
                        tracing::warn!(error = %err, "backup takeover failed");
                    }
                    if let Err(err) = e.resume_transfers().await {
                        tracing::warn!(error = %err, "export or import takeover failed");
                    }
                }
            }
        });
        if let Ok(mut b) = engine.background.lock() {
            *b = Some(handle);
        }
        engine.resume_background_work();
        // Exports and imports a killed server left IN_PROGRESS: run again (on shared storage
        // only those whose lease lapsed; the maintenance holder also looks at every sweep).
        let e = engine.clone();
        tokio::spawn(async move {
            if let Err(err) = e.resume_transfers().await {
                tracing::warn!(error = %err, "resuming exports and imports failed");
            }
        });
        engine
    }

    /// Stop the periodic background loop (at the end of its current round, waiting up to
    /// 5 s for it), so that a stopping server does not leave it running while the runtime
    /// shuts down under it.
    pub async fn stop(&self) {
        self.stop.notify_one();
        let handle = self.background.lock().ok().and_then(|mut b| b.take());
        if let Some(h) = handle {
            if tokio::time::timeout(Duration::from_secs(5), h)
                .await
                .is_err()
            {
                tracing::warn!("background work did not stop within 5 s");
            }
        }
    }

    /// Start the index backfills and restore fills the catalog shows unfinished (each
    /// claims its lease first when storage is shared, so it runs on one server).
    fn resume_background_work(self: &Arc<Self>) {
        let (pending, restoring): (Vec<(String, String)>, Vec<String>) = self
            .tables
            .read()
            .map(|t| {
                let pending = t
                    .values()
                    .flat_map(|m| {
                        m.indexes()
                            .into_iter()
                            .filter(|i| i.backfilling)
                            .map(|i| (m.name.clone(), i.name))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let restoring = t
                    .values()
                    .filter(|m| m.restore_source.is_some())
                    .map(|m| m.name.clone())
                    .collect();
                (pending, restoring)
            })
            .unwrap_or_default();
        for table in restoring {
            let e = self.clone();
            tokio::spawn(async move {
                if let Err(err) = e.fill_restored(&table).await {
                    tracing::warn!(table, error = %err, "restore failed");
                }
            });
        }
        for (table, index) in pending {
            let e = self.clone();
            tokio::spawn(async move {
                if let Err(err) = e.backfill(&table, &index).await {
                    tracing::warn!(table, index, error = %err, "index backfill failed");
                }
            });
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn backend_name(&self) -> &'static str {
        self.store.backend().name()
    }

    /// The table called `name`, or DynamoDB's not-found error for item operations.
    pub(crate) fn table(&self, name: &str) -> Result<Arc<TableMeta>, ApiError> {
        self.lookup(name)
            .filter(|m| m.restore_source.is_none())
            .ok_or_else(|| ApiError::ResourceNotFound("Requested resource not found".into()))
    }

    /// The table called `name`, even while a restore is still filling it. With shared
    /// storage the catalog is re-read first if it may be stale, and always before
    /// answering that the table does not exist (another server may just have created it).
    fn lookup(&self, name: &str) -> Option<Arc<TableMeta>> {
        if self.cluster.is_some() {
            self.refresh_catalog(false);
        }
        let found = self.tables.read().ok().and_then(|t| t.get(name).cloned());
        if found.is_none() && self.cluster.is_some() {
            self.refresh_catalog(true);
            return self.tables.read().ok().and_then(|t| t.get(name).cloned());
        }
        found
    }

    /// The table called `name`, or the not-found error of table operations (which, with
    /// shared storage, always see the latest catalog).
    pub(crate) fn table_for_admin(&self, name: &str) -> Result<Arc<TableMeta>, ApiError> {
        if self.cluster.is_some() {
            self.refresh_catalog(true);
        }
        self.lookup(name).ok_or_else(|| {
            ApiError::ResourceNotFound(format!(
                "Requested resource not found: Table: {name} not found"
            ))
        })
    }
}

impl Engine {
    /// Gauges for the metrics endpoint: (name, help, value).
    /// Count capacity units consumed on `table` (reads or writes), for the metrics.
    pub(crate) fn charge(&self, table: &str, write: bool, units: f64) {
        self.charge_to(table, None, write, units);
    }

    /// Admit a request to `meta` (or its global index `index`) when capacity is enforced.
    pub(crate) fn admit(
        &self,
        meta: &TableMeta,
        index: Option<&str>,
        write: bool,
    ) -> Result<(), ApiError> {
        if !self.config.enforce_capacity {
            return Ok(());
        }
        let kind = if write {
            throttle::Kind::Write
        } else {
            throttle::Kind::Read
        };
        self.throttle.admit(meta, index, kind, self.clock.now())
    }

    /// Record consumed units for the metrics and, when capacity is enforced, take them
    /// from the bucket of the table or of its global index `index`.
    pub(crate) fn charge_to(&self, table: &str, index: Option<&str>, write: bool, units: f64) {
        if self.config.enforce_capacity {
            if let Ok(meta) = self.table(table) {
                let kind = if write {
                    throttle::Kind::Write
                } else {
                    throttle::Kind::Read
                };
                self.throttle
                    .spend(&meta, index, kind, units, self.clock.now());
            }
        }
        if let Ok(mut m) = self.consumed.lock() {
            let e = match m.get_mut(table) {
                Some(e) => e,
                None => m.entry(table.to_owned()).or_default(),
            };
            if write {
                e.1 += units;
            } else {
                e.0 += units;
            }
        }
    }

    /// [`Engine::charge`], passing the units through.
    pub(crate) fn charged(&self, table: &str, write: bool, units: f64) -> f64 {
        self.charge(table, write, units);
        units
    }

    /// Charge every table of a units map.
    pub(crate) fn charge_all(&self, units: &HashMap<String, f64>, write: bool) {
        for (t, u) in units {
            self.charge(t, write, *u);
        }
    }

    /// Per-table series for the metrics endpoint: (name, help, kind, [(table, value)]).
    pub fn table_series(&self) -> Vec<TableSeries> {
        let sorted = |mut v: Vec<(String, f64)>| {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let consumed: Vec<(String, f64, f64)> = self
            .consumed
            .lock()
            .map(|m| m.iter().map(|(k, (r, w))| (k.clone(), *r, *w)).collect())
            .unwrap_or_default();
        let lag = self
            .stream_lag
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        vec![
            TableSeries {
                name: "ferrodyn_consumed_read_capacity_units_total",
                help: "Read capacity units consumed since start, by table (as DynamoDB would bill them).",
                kind: "counter",
                values: sorted(consumed.iter().map(|(t, r, _)| (t.clone(), *r)).collect()),
            },
            TableSeries {
                name: "ferrodyn_consumed_write_capacity_units_total",
                help: "Write capacity units consumed since start, by table.",
                kind: "counter",
                values: sorted(consumed.iter().map(|(t, _, w)| (t.clone(), *w)).collect()),
            },
            TableSeries {
                name: "ferrodyn_stream_iterator_age_seconds",
                help: "Age of the newest stream record the last GetRecords call returned, by table (0: the reader is caught up).",
                kind: "gauge",
                values: sorted(lag),
            },
        ]
    }

    pub fn gauges(&self) -> Vec<(&'static str, &'static str, f64)> {
        self.refresh_catalog(false);
        let tables: Vec<Arc<TableMeta>> = self
            .tables
            .read()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default();
        let (mut items, mut bytes) = (0i64, 0i64);
        let now = self.clock.now();
        let mut ttl_lag = 0f64;
        if let Ok(view) = self.store.snapshot() {
            for t in &tables {
                if let Ok(s) =
                    catalog::Stats::read(&*view, &t.desc.table_id, self.cluster.is_some())
                {
                    items += s.items;
                    bytes += s.bytes;
                }
                if t.ttl.is_some() {
                    // The oldest entry of the expiry index within the five-year horizon.
                    let from = ((now - ttl::MAX_TTL_AGE_SECONDS).max(0.0) as u64).to_be_bytes();
                    let _ = view.scan(
                        &ttl::keyspace_of(&t.keyspace),
                        std::ops::Bound::Included(&from[..]),
                        std::ops::Bound::Unbounded,
                        false,
                        &mut |k, _| {
                            if let Some(b) = k.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                                let exp = u64::from_be_bytes(b) as f64;
                                ttl_lag = ttl_lag.max(now - exp);
                            }
                            false
                        },
                    );
                }
            }
        }
        let q = self.store.queue_stats();
        vec![
            ("ferrodyn_tables", "Tables.", tables.len() as f64),
            ("ferrodyn_items", "Items in all tables.", items as f64),
            (
                "ferrodyn_table_bytes",
                "Size of all items, as DynamoDB counts it.",
                bytes as f64,
            ),
            (
                "ferrodyn_storage_disk_bytes",
                "Bytes the storage engine uses on disk.",
                self.store.backend().disk_bytes() as f64,
            ),
            (
                "ferrodyn_commit_queue_depth",
                "Write transactions waiting for the commit thread.",
                q.queued.load(std::sync::atomic::Ordering::Relaxed) as f64,
            ),
            (
                "ferrodyn_commit_groups",
                "Commit groups written since start (one storage batch, one fsync each).",
                q.groups.load(std::sync::atomic::Ordering::Relaxed) as f64,
            ),
            (
                "ferrodyn_commit_transactions",
                "Write transactions committed since start; divided by groups, the mean group size.",
                q.jobs.load(std::sync::atomic::Ordering::Relaxed) as f64,
            ),
            (
                "ferrodyn_storage_conflicts",
                "Commit groups re-run since start because the shared database reported a conflict (postgres backend).",
                self.store.backend().conflicts() as f64,
            ),
            (
                "ferrodyn_ttl_lag_seconds",
                "Age of the oldest expired item not yet deleted by the TTL sweeper.",
                ttl_lag,
            ),
        ]
    }

    /// Whether storage answers reads (the readiness check).
    pub fn ready(&self) -> bool {
        self.store.snapshot().is_ok()
    }
}
