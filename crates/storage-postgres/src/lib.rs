//! The storage backend on PostgreSQL-protocol databases, so that several Ferrodyn servers
//! can share one database (PostgreSQL; the SQL is kept to what CockroachDB and YugabyteDB
//! also accept, see ARCHITECTURE.md).
//!
//! # Layout
//!
//! - `ferrodyn_schema_version`: one row, the layout version; migrated at start-up.
//! - `ferrodyn_keyspaces`: keyspace name -> SQL table name. Keyspace names may hold any
//!   character, so a table is named `fd_<name with every character outside [a-z0-9_]
//!   replaced by _, at most 40>_<FNV-1a 64 of the name, hex>`: always a plain identifier
//!   (and always double-quoted anyway), the same on every server (so two servers creating
//!   one keyspace agree), and the registry row is checked to point at it.
//! - one table per keyspace: `k bytea PRIMARY KEY, v bytea NOT NULL`. `bytea` compares
//!   byte by byte, shorter first on a tie, exactly like the seam's `[u8]` order, so range
//!   scans are `WHERE k >= $1 AND k < $2 ORDER BY k` read in pages (keyset pagination:
//!   the next page starts after the last key seen) so that a scan that stops early reads
//!   little.
//!
//! # Transactions
//!
//! A [`ReadView`] is a `REPEATABLE READ READ ONLY` transaction on one pooled connection, so
//! it is consistent across keyspaces; [`Backend::read_view`] sends its BEGIN together with
//! the first read (one round trip less), and a single-key [`Backend::read`] is one
//! statement outside any transaction (a statement is its own snapshot). A commit group ([`Backend::write_group`]) is one
//! `SERIALIZABLE` transaction: the group's reads and its writes (`INSERT ... SELECT FROM
//! UNNEST($1::bytea[], $2::bytea[]) ON CONFLICT (k) DO UPDATE` and `DELETE ... WHERE k =
//! ANY($1::bytea[])`, one statement of each kind per keyspace, pipelined with the COMMIT
//! in one round trip) happen in it, so two servers
//! that read and then write the same key cannot both commit: one gets SQLSTATE 40001 (or
//! 40P01), rolls back, waits a little (exponential back-off with jitter) and re-runs the
//! whole group, whose closures are pure. Before the real run the group is run dry against
//! a view that answers "absent" for keys not yet read and notes them; they are then read
//! in one `SELECT ... WHERE k = ANY($1)` per keyspace, pipelined with the BEGIN, so a group
//! of many writes costs two round trips instead of one per read. `Durability::Fsync` commits as durably as the
//! database is configured to; `Durability::Buffered` adds `SET LOCAL synchronous_commit TO
//! OFF` on PostgreSQL (acknowledged before the WAL flush) and changes nothing on the others.
//!
//! # Driver, and how a synchronous seam calls it
//!
//! The driver is `tokio-postgres` 0.7: maintained, pure Rust, already on the tokio the
//! server runs on, speaks the extended protocol. Each pooled connection prepares a
//! statement the first time it runs it and keeps it (protocol-level, named; at most
//! `MAX_PREPARED`), so the database parses and plans each statement once per
//! connection; [`Options::prepared_statements`] off sends every statement unprepared
//! with typed parameters (`query_typed`, one round trip each) for poolers that cannot keep
//! prepared statements. The `postgres` crate is only a
//! synchronous wrapper around it that runs its own tokio runtime on the calling thread, so
//! it panics when called from a tokio worker thread, which is where the engine's request
//! handlers take their snapshots.
//!
//! The seam is synchronous and is called from the store's commit thread, from async
//! request handlers (on tokio worker threads) and from plain threads (backups, tests).
//! So the backend owns a small dedicated runtime (one worker thread, `ferrodyn-pg`) that
//! runs the connections' I/O tasks (`tokio_postgres::Connection`), and nothing else. The
//! client half of tokio-postgres only talks to its connection task through channels, so a
//! query future is driven on the calling thread by a minimal park/unpark executor
//! ([`wait`]): no task hand-off per call, works on any thread. On a multi-threaded tokio
//! worker the wait is wrapped in `tokio::task::block_in_place`, so the server's other
//! requests move to another worker while this one waits for the database; without that,
//! a two-core machine would have only two database round trips in flight at a time.
//! The hottest read, a single key ([`Backend::read_async`], GetItem), is instead awaited
//! on the caller's runtime when an idle connection is at hand: measured, the
//! `block_in_place` hand-offs (the blocking pool's threads parking and waking) were most
//! of the server's CPU per GetItem. Concurrent single-key reads are also coalesced: at
//! most `READS_IN_FLIGHT` statements at once, the reads arriving meanwhile answered
//! together by the next statement (`k = ANY($1)`).
//! (`block_in_place` + `Handle::block_on` on the server's runtime was the other candidate:
//! it panics on current-thread runtimes and outside any runtime, that is on the commit
//! thread, so it would have needed both paths anyway. Handing each query to the driver
//! runtime as a task also works everywhere, but needs `'static` futures, so a shared
//! client per call; measured with the ignored test `wait_paths` (debug build, loaded
//! two-core machine) the two cost the same within noise, 170 to 340 µs per local round
//! trip, so the simpler one won.)
//!
//! # Pool
//!
//! A small hand-made pool (`Pool`): at most `pool_size` connections, a `Mutex` + `Condvar`
//! to wait for one. The seam is synchronous, so the wait for a free connection happens on
//! the calling thread like the query itself; an async pool (deadpool, bb8) would have to
//! be driven through the runtime for every checkout. Connections found closed are
//! dropped, and one whose transaction state is unknown after an error is not reused.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::Bound;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use ferrodyn_storage::memory::valid_range;
use ferrodyn_storage::{
    Backend, Durability, GroupFn, Op, ReadFuture, ReadView, Result, ScanFuture, StorageError,
    Visitor,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

/// The layout version this server writes (see [`MIGRATIONS`]).
pub const SCHEMA_VERSION: i32 = 1;

/// Migration `i` brings the layout from version `i` to `i + 1`. Each statement is
/// idempotent, so a migration interrupted half-way is simply run again.
const MIGRATIONS: &[&[&str]] = &[&["CREATE TABLE IF NOT EXISTS ferrodyn_keyspaces (\
     name TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE)"]];

/// First page of a range scan; later pages grow fourfold up to [`MAX_PAGE`].
const FIRST_PAGE: i64 = 64;
const MAX_PAGE: i64 = 4096;

/// Tuning of a [`PostgresBackend`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Most connections open at once.
    pub pool_size: usize,
    /// How long a caller waits for a free connection before failing.
    pub checkout_timeout: Duration,
    /// Re-runs of a commit group after serialization failures before giving up.
    pub max_retries: u32,
    /// Prepare each statement once per connection and reuse it (the database then parses
    /// and plans it once); off, every statement goes out unprepared with typed parameters
    /// (`query_typed`), for poolers that cannot keep prepared statements.
    pub prepared_statements: bool,
    /// Commit groups in flight at once (see `Backend::commit_lanes`): each is its own
    /// SERIALIZABLE transaction, so they overlap their round trips and WAL flushes, and
    /// the database orders them (a conflict re-runs one). 1 by default: on PostgreSQL the
    /// page-level predicate locks of the groups' reads make overlapping groups conflict
    /// often, and two lanes measured slower than one (docs/benchmarks.md).
    pub commit_lanes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pool_size: 16,
            checkout_timeout: Duration::from_secs(30),
            max_retries: 50,
            prepared_statements: true,
            commit_lanes: 1,
        }
    }
}

/// Which database answers; they differ in a few statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Postgres,
    Cockroach,
    Yugabyte,
}

pub struct PostgresBackend {
    /// Runs the connections' I/O tasks; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    config: Config,
    /// TLS for the connections (`sslmode` other than disable), else plain TCP.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// `user@host:port/db`, for messages (never the password).
    desc: String,
    flavor: Flavor,
    opts: Options,
    pool: Pool,
    /// Keyspace name -> table name, as far as this server knows (the registry decides).
    tables: RwLock<HashMap<String, String>>,
    /// Commit groups re-run after a serialization failure or deadlock.
    conflicts: AtomicU64,
    /// Commit lanes run their first attempts side by side (shared); a group re-run after a
    /// conflict runs alone (exclusive), so that two lanes never conflict twice over one
    /// group.
    gate: RwLock<()>,
    /// Single-key reads in flight and waiting (see `read_coalesced`).
    reads: Arc<Mutex<Coalescer>>,
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresBackend({})", self.desc)
    }
}

fn io(e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(e.to_string())
}

fn poisoned<T>(_: T) -> StorageError {
    StorageError::Io("poisoned lock".into())
}

/// Whether the database asks for the transaction to be retried.
fn is_conflict(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn sql_err(ks: &str, e: &tokio_postgres::Error) -> StorageError {
    if e.code() == Some(&SqlState::UNDEFINED_TABLE) {
        StorageError::NoKeyspace(ks.to_owned())
    } else if is_conflict(e) {
        // Outside a commit group (DDL, snapshots) a serialization failure or deadlock is
        // still contention, never a fault: the caller may try again.
        StorageError::Conflict(format!("postgres: {}", explain(e)))
    } else {
        StorageError::Io(format!("postgres: {}", explain(e)))
    }
}

/// An error with its causes: tokio-postgres' own text is only the kind ("db error",
/// "error connecting to server"); the database's message or the OS error is in the source.
fn explain(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Drive `fut` to completion on this thread. tokio-postgres' client futures only exchange
/// messages with the connection task (which runs on the backend's runtime), so any thread
/// can poll them. On a tokio multi-thread worker the wait is announced with
/// `block_in_place`, so the worker's other tasks move elsewhere meanwhile.
fn wait<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let run = move || {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    };
    blocking(run)
}

/// Drive several futures at once, first polled first (so pipelined requests go out in
/// order); their outputs in the same order.
async fn join_all<T>(mut futs: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(out.iter_mut().filter_map(Option::take).collect())
        }
    })
    .await
}

/// Run one statement and collect its rows: `st` if prepared, else `sql` unprepared. The
/// request goes out at the first poll, so futures of this kind polled in order are
/// pipelined in that order.
async fn run(
    client: &Client,
    st: Option<&Statement>,
    sql: &str,
    params: &[(&(dyn ToSql + Sync), Type)],
) -> std::result::Result<Vec<Row>, tokio_postgres::Error> {
    match st {
        Some(st) => {
            let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(p, _)| *p).collect();
            client.query(st, &values).await
        }
        None => client.query_typed(sql, params).await,
    }
}

/// Run `f`, which blocks, telling tokio first when this is one of its multi-thread workers.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// The key of a bound (empty when unbounded, where it is not used).
fn bound_key<'k>(b: &Bound<&'k [u8]>) -> &'k [u8] {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => k,
        Bound::Unbounded => &[],
    }
}

/// FNV-1a, 64 bits: stable across versions and platforms (unlike std's hasher).
fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The SQL table of a keyspace: a plain lower-case identifier of at most 60 bytes.
pub fn table_name(ks: &str) -> String {
    let readable: String = ks
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .take(40)
        .collect();
    format!("fd_{readable}_{:016x}", fnv64(ks.as_bytes()))
}

/// A double-quoted identifier (the names we make need no escaping, but be safe).
fn quoted(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

// ---------------------------------------------------------------------------------------
// The pool

struct Pool {
    state: Mutex<PoolState>,
    freed: Condvar,
    /// The same news for async waiters (`wait_idle`).
    freed_async: tokio::sync::Notify,
}

struct PoolState {
    idle: Vec<Pooled>,
    /// Connections open or being opened, idle or not.
    open: usize,
}

/// Most prepared statements kept per connection; past that the cache starts afresh.
const MAX_PREPARED: usize = 256;

/// A pooled connection and the statements prepared on it (SQL text -> statement).
struct Pooled {
    client: Client,
    prepared: Mutex<HashMap<String, Statement>>,
}

/// A connection taken from the pool; goes back on drop unless marked broken.
struct Conn<'a> {
    backend: &'a PostgresBackend,
    client: Option<Pooled>,
    broken: bool,
}

impl Conn<'_> {
    fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .map(|p| &p.client)
            .ok_or(StorageError::Closed)
    }

    /// `sql` prepared on this connection with parameters of `types`: from the cache, else
    /// prepared now (one round trip, once per connection and statement). `None` when the
    /// backend sends statements unprepared ([`Options::prepared_statements`]).
    fn prepared(
        &self,
        sql: &str,
        types: &[Type],
    ) -> std::result::Result<Option<Statement>, tokio_postgres::Error> {
        if !self.backend.opts.prepared_statements {
            return Ok(None);
        }
        let Some(p) = &self.client else {
            return Ok(None);
        };
        if let Some(st) = p.prepared.lock().ok().and_then(|m| m.get(sql).cloned()) {
            return Ok(Some(st));
        }
        let st = wait(p.client.prepare_typed(sql, types))?;
        if let Ok(mut m) = p.prepared.lock() {
            if m.len() >= MAX_PREPARED {
                m.clear();
            }
            m.insert(sql.to_owned(), st.clone());
        }
        Ok(Some(st))
    }

    /// [`Conn::query`] awaited instead of waited for.
    async fn query_async(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> std::result::Result<Vec<Row>, tokio_postgres::Error> {
        let Some(p) = &self.client else {
            return Ok(Vec::new());
        };
        let cached = if self.backend.opts.prepared_statements {
            match p.prepared.lock().ok().and_then(|m| m.get(sql).cloned()) {
                Some(st) => Some(st),
                None => {
                    let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
                    let st = p.client.prepare_typed(sql, &types).await?;
                    if let Ok(mut m) = p.prepared.lock() {
                        if m.len() >= MAX_PREPARED {
                            m.clear();
                        }
                        m.insert(sql.to_owned(), st.clone());
                    }
                    Some(st)
                }
            }
        } else {
            None
        };
        run(&p.client, cached.as_ref(), sql, params).await
    }

    /// Run `sql` with `params` (and their types) and wait for its rows: as the prepared
    /// statement when there is one, else unprepared.
    fn query(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> std::result::Result<Vec<Row>, tokio_postgres::Error> {
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let st = self.prepared(sql, &types)?;
        match &self.client {
            Some(p) => wait(run(&p.client, st.as_ref(), sql, params)),
            None => Ok(Vec::new()),
        }
    }

    /// Run statements with no result (BEGIN, COMMIT, DDL); marks the connection broken if
    /// that fails for any reason other than an error the database reported.
    fn exec(&mut self, sql: &str) -> std::result::Result<(), tokio_postgres::Error> {
        let r = match &self.client {
            Some(c) => wait(c.client.batch_execute(sql)),
            None => return Ok(()),
        };
        if let Err(e) = &r {
            if e.as_db_error().is_none() {
                self.broken = true;
            }
        }
        r
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let pool = &self.backend.pool;
        let Ok(mut st) = pool.state.lock() else {
            return;
        };
        if self.broken || client.client.is_closed() {
            st.open = st.open.saturating_sub(1);
        } else {
            st.idle.push(client);
        }
        drop(st);
        pool.freed.notify_one();
        pool.freed_async.notify_one();
    }
}

impl PostgresBackend {
    /// Connect to the database at `url` (`postgres://user[:password]@host[:port]/db`),
    /// create or migrate the layout, and return the backend. Fails, saying why, if the
    /// database cannot be reached.
    ///
    /// TLS to the database follows libpq's URL parameters: `sslmode=disable` (the default
    /// when absent), `prefer` (TLS when the server offers it), `require` or `verify-full`
    /// (TLS or no connection); with TLS the server's certificate chain and host name are
    /// always verified, against the PEM certificates in `sslrootcert=FILE`, else the
    /// system's store.
    pub fn connect(url: &str, opts: Options) -> Result<Self> {
        let (config, tls) = parse_url(url)?;
        Self::open_with(config, tls, opts)
    }

    /// Like [`PostgresBackend::connect`], from a parsed configuration (without TLS).
    pub fn open(config: Config, opts: Options) -> Result<Self> {
        Self::open_with(config, None, opts)
    }

    fn open_with(
        mut config: Config,
        tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
        opts: Options,
    ) -> Result<Self> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("ferrodyn");
        let mut backend = Self::bare(config, tls, opts)?;
        let version: String = {
            let conn = backend.conn().map_err(|e| {
                StorageError::Io(format!(
                    "cannot connect to PostgreSQL at {}: {}",
                    backend.desc,
                    match e {
                        StorageError::Io(m) => m,
                        other => other.to_string(),
                    }
                ))
            })?;
            let rows = wait(conn.client()?.query_typed("SELECT version()", &[]))
                .map_err(|e| sql_err("", &e))?;
            rows.first()
                .and_then(|r| r.try_get::<_, String>(0).ok())
                .unwrap_or_default()
        };
        backend.flavor = if version.contains("CockroachDB") {
            Flavor::Cockroach
        } else if version.contains("YB-") || version.contains("Yugabyte") {
            Flavor::Yugabyte
        } else {
            Flavor::Postgres
        };
        backend.migrate()?;
        backend.keyspaces()?;
        tracing::info!(database = %backend.desc, flavor = ?backend.flavor, "postgres storage ready");
        Ok(backend)
    }

    /// The backend's parts, connected to nothing yet and with no layout checked.
    fn bare(
        config: Config,
        tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
        opts: Options,
    ) -> Result<Self> {
        let mut desc = describe(&config);
        if tls.is_some() {
            desc.push_str(" (TLS)");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ferrodyn-pg")
            .enable_all()
            .build()
            .map_err(io)?;
        Ok(PostgresBackend {
            rt: Some(rt),
            config,
            tls,
            desc,
            flavor: Flavor::Postgres,
            opts: Options {
                pool_size: opts.pool_size.max(1),
                ..opts
            },
            pool: Pool {
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
                freed_async: tokio::sync::Notify::new(),
            },
            tables: RwLock::new(HashMap::new()),
            conflicts: AtomicU64::new(0),
            gate: RwLock::new(()),
            reads: Arc::new(Mutex::new(Coalescer::default())),
        })
    }

    /// Like [`PostgresBackend::connect`], in a new, empty schema of its own (named from the
    /// process id, a counter and the time) that no other backend uses: for tests, so that
    /// each gets a fresh database without `CREATE DATABASE`.
    pub fn connect_in_fresh_schema(url: &str, opts: Options) -> Result<Self> {
        let tls = parse_url(url)?.1;
        Self::open_with(fresh_schema(url)?, tls, opts)
    }

    /// Where this backend points: `user@host:port/db`.
    pub fn description(&self) -> &str {
        &self.desc
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        self.rt.as_ref().ok_or(StorageError::Closed)
    }

    /// Open a new connection, its I/O task on our runtime.
    fn dial(&self) -> Result<Client> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let task = self.runtime()?.spawn(async move {
            fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
            where
                S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
                T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
            {
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %explain(&e), "postgres connection closed");
                    }
                });
            }
            let client = match tls {
                Some(tls) => {
                    let (client, connection) = config.connect(tls).await?;
                    drive(connection);
                    client
                }
                None => {
                    let (client, connection) = config.connect(NoTls).await?;
                    drive(connection);
                    client
                }
            };
            Ok::<_, tokio_postgres::Error>(client)
        });
        match wait(task) {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(StorageError::Io(explain(&e))),
            Err(e) => Err(io(e)),
        }
    }

    /// A connection from the pool, opening one if there is room, else waiting for one.
    fn conn(&self) -> Result<Conn<'_>> {
        // An idle one needs no wait, so no `block_in_place` (a thread hand-off) either.
        if let Some(c) = self.idle_conn()? {
            return Ok(c);
        }
        blocking(|| self.checkout())
    }

    /// An idle pooled connection if there is one, without waiting or dialing.
    fn idle_conn(&self) -> Result<Option<Conn<'_>>> {
        let mut st = self.pool.state.lock().map_err(poisoned)?;
        while let Some(c) = st.idle.pop() {
            if c.client.is_closed() {
                st.open = st.open.saturating_sub(1);
            } else {
                return Ok(Some(Conn {
                    backend: self,
                    client: Some(c),
                    broken: false,
                }));
            }
        }
        Ok(None)
    }

    /// An idle pooled connection, awaiting one while all are open and busy; `None` when one
    /// could be opened instead (opening one is left to the blocking path).
    async fn wait_idle(&self) -> Result<Option<Conn<'_>>> {
        loop {
            let freed = self.pool.freed_async.notified();
            let mut freed = std::pin::pin!(freed);
            // Registered before looking, so a connection freed in between is not missed.
            freed.as_mut().enable();
            if let Some(c) = self.idle_conn()? {
                return Ok(Some(c));
            }
            if self.pool.state.lock().map_err(poisoned)?.open < self.opts.pool_size {
                return Ok(None);
            }
            freed.await;
        }
    }

    /// The table of `ks` if this server already knows it.
    fn known_table(&self, ks: &str) -> Result<Option<String>> {
        Ok(self.tables.read().map_err(poisoned)?.get(ks).cloned())
    }

    fn checkout(&self) -> Result<Conn<'_>> {
        let deadline = Instant::now() + self.opts.checkout_timeout;
        let pool = &self.pool;
        let mut st = pool.state.lock().map_err(poisoned)?;
        loop {
            while let Some(c) = st.idle.pop() {
                if c.client.is_closed() {
                    st.open = st.open.saturating_sub(1);
                } else {
                    return Ok(Conn {
                        backend: self,
                        client: Some(c),
                        broken: false,
                    });
                }
            }
            if st.open < self.opts.pool_size {
                st.open += 1;
                drop(st);
                return match self.dial() {
                    Ok(c) => Ok(Conn {
                        backend: self,
                        client: Some(Pooled {
                            client: c,
                            prepared: Mutex::new(HashMap::new()),
                        }),
                        broken: false,
                    }),
                    Err(e) => {
                        if let Ok(mut st) = pool.state.lock() {
                            st.open = st.open.saturating_sub(1);
                        }
                        pool.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StorageError::Io(format!(
                    "no free PostgreSQL connection within {:?} (pool size {})",
                    self.opts.checkout_timeout, self.opts.pool_size
                )));
            }
            st = pool.freed.wait_timeout(st, left).map_err(poisoned)?.0;
        }
    }

    /// Create or migrate the layout. Idempotent; safe when several servers start at once
    /// (a lost race on a `CREATE ... IF NOT EXISTS` is retried).
    fn migrate(&self) -> Result<()> {
        let mut last = None;
        for _ in 0..5 {
            match self.try_migrate() {
                Ok(()) => return Ok(()),
                Err(MigrateError::Race(e)) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(MigrateError::Fatal(e)) => return Err(e),
            }
        }
        Err(StorageError::Io(format!(
            "schema migration kept conflicting: {}",
            last.unwrap_or_default()
        )))
    }

    fn try_migrate(&self) -> std::result::Result<(), MigrateError> {
        let mut conn = self.conn().map_err(MigrateError::Fatal)?;
        let race = |e: tokio_postgres::Error| {
            let code = e.code().cloned();
            let text = sql_err("", &e).to_string();
            if is_conflict(&e)
                || code == Some(SqlState::UNIQUE_VIOLATION)
                || code == Some(SqlState::DUPLICATE_TABLE)
            {
                MigrateError::Race(text)
            } else {
                MigrateError::Fatal(StorageError::Io(format!("schema migration: {text}")))
            }
        };
        conn.exec(
            "CREATE TABLE IF NOT EXISTS ferrodyn_schema_version (\
             id INT PRIMARY KEY, version INT NOT NULL); \
             INSERT INTO ferrodyn_schema_version (id, version) VALUES (1, 0) \
             ON CONFLICT (id) DO NOTHING",
        )
        .map_err(race)?;
        loop {
            let rows = wait(conn.client().map_err(MigrateError::Fatal)?.query_typed(
                // Cast: CockroachDB's INT is INT8, which an i32 does not decode.
                "SELECT version::INT4 FROM ferrodyn_schema_version WHERE id = 1",
                &[],
            ))
            .map_err(race)?;
            let version: i32 = match rows.first() {
                None => 0,
                Some(r) => r.try_get(0).map_err(|e| {
                    MigrateError::Fatal(StorageError::Io(format!("schema version: {e}")))
                })?,
            };
            if version > SCHEMA_VERSION {
                return Err(MigrateError::Fatal(StorageError::Io(format!(
                    "the database's layout is version {version}, newer than this server's \
                     {SCHEMA_VERSION}: upgrade Ferrodyn"
                ))));
            }
            if version == SCHEMA_VERSION {
                return Ok(());
            }
            let step = usize::try_from(version)
                .ok()
                .and_then(|v| MIGRATIONS.get(v))
                .ok_or_else(|| {
                    MigrateError::Fatal(StorageError::Io(format!(
                        "no migration from layout version {version}"
                    )))
                })?;
            for sql in *step {
                conn.exec(sql).map_err(race)?;
            }
            // Only the server that moves the version on reports it; others see it done.
            conn.exec(&format!(
                "UPDATE ferrodyn_schema_version SET version = {} WHERE id = 1 AND version = {version}",
                version + 1
            ))
            .map_err(race)?;
            tracing::info!(from = version, to = version + 1, "postgres layout migrated");
        }
    }

    /// The table of `ks`: from the cache, else from the registry (read on `conn`, inside
    /// whatever transaction it is in).
    fn table(&self, conn: &Conn<'_>, ks: &str) -> Result<Option<String>> {
        if let Some(t) = self.tables.read().map_err(poisoned)?.get(ks) {
            return Ok(Some(t.clone()));
        }
        let rows = conn
            .query(
                "SELECT tbl FROM ferrodyn_keyspaces WHERE name = $1",
                &[(&ks, Type::TEXT)],
            )
            .map_err(|e| sql_err(ks, &e))?;
        let Some(t) = rows.first().and_then(|r| r.try_get::<_, String>(0).ok()) else {
            return Ok(None);
        };
        self.tables
            .write()
            .map_err(poisoned)?
            .insert(ks.to_owned(), t.clone());
        Ok(Some(t))
    }

    fn forget(&self, ks: &str) {
        if let Ok(mut m) = self.tables.write() {
            m.remove(ks);
        }
    }

    /// One attempt at a commit group in a SERIALIZABLE transaction on `conn`.
    fn try_group<'s>(
        &'s self,
        conn: &mut Conn<'s>,
        run: &mut GroupFn<'_>,
        durability: Durability,
    ) -> Attempt {
        let begin = match (durability, self.flavor) {
            // PostgreSQL can acknowledge before its WAL is flushed: a crash of the database
            // loses the last moments, never consistency. (The others have no such switch.)
            (Durability::Buffered, Flavor::Postgres) => {
                "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL synchronous_commit TO OFF"
            }
            _ => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        };
        // BEGIN goes out with the group's first statement (see `View::begin`).
        let view = View {
            backend: self,
            conn: std::mem::replace(
                conn,
                Conn {
                    backend: self,
                    client: None,
                    broken: false,
                },
            ),
            failure: Mutex::new(None),
            in_tx: false,
            begin: Mutex::new(Some(begin)),
            memo: Some(Mutex::new(HashMap::new())),
        };
        // A dry run first, against a view that answers "absent" for every key it has not
        // read and notes the key: then one statement per keyspace fetches all of them
        // (pipelined with the BEGIN), and the real run below finds them in the memo
        // instead of costing a round trip each. `run` is pure, so the dry run leaves
        // nothing behind; keys that only the real run reaches are read one by one.
        let wanted = {
            let dry = DryRun {
                view: &view,
                wanted: Mutex::new(Vec::new()),
            };
            // Its outcome does not count, nor a panic (a closure may count on a value
            // being there): the real run decides.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&dry)));
            dry.wanted.into_inner().unwrap_or_default()
        };
        // A failed prefetch is noted in `view.failure` and fails the group below; the real
        // run still happens (its reads then fail at once, see `View::query_all`), so that
        // no job keeps the outcome of its dry run, which read "absent" for everything.
        let prefetched = view.prefetch(wanted);
        let ran = run(&view).and_then(|ops| prefetched.map(|()| ops));
        let failure = view.failure.lock().ok().and_then(|mut f| f.take());
        let pending = view.begin.lock().ok().and_then(|mut b| b.take());
        *conn = view.into_conn();
        // A failed statement aborts the transaction (and a COMMIT would then quietly roll
        // back): whatever the closures made of the error, the group is over.
        // (With the BEGIN still unsent there is no transaction to end.)
        let end = |conn: &mut Conn<'_>| {
            if pending.is_none() {
                rollback(conn);
            }
        };
        if let Some(f) = failure {
            end(conn);
            return f;
        }
        let ops = match ran {
            Ok(ops) => ops,
            Err(e) => {
                end(conn);
                return Attempt::from_storage(e);
            }
        };
        if ops.is_empty() {
            end(conn);
            return Attempt::Done;
        }
        self.apply_and_commit(conn, &ops, pending)
    }

    /// The writes of a group, one upsert and one delete statement per keyspace at most,
    /// then COMMIT: all sent at once (pipelined), so they cost one round trip. Every answer
    /// is read; a failed statement aborts the transaction, and the COMMIT behind it then
    /// only rolls back, which the failed statement's error reports.
    fn apply_and_commit(&self, conn: &mut Conn<'_>, ops: &[Op], begin: Option<&str>) -> Attempt {
        // A group that read nothing has not begun its transaction yet. The BEGIN is awaited
        // here, not pipelined: the writes must never run outside the transaction.
        if let Some(b) = begin {
            if let Err(e) = conn.exec(b) {
                return Attempt::from_sql("", &e);
            }
        }
        // keyspace -> (put keys, put values, deleted keys); all checked before any write.
        type Writes<'o> = (Vec<&'o [u8]>, Vec<&'o [u8]>, Vec<&'o [u8]>);
        let mut by_ks: BTreeMap<&str, Writes<'_>> = BTreeMap::new();
        for op in ops {
            let (Op::Put { ks, key, .. } | Op::Delete { ks, key }) = op;
            if let Err(e) = ferrodyn_storage::check_key(key) {
                rollback(conn);
                return Attempt::Failed(e);
            }
            let w = by_ks.entry(ks.as_str()).or_default();
            match op {
                Op::Put { value, .. } => {
                    w.0.push(key);
                    w.1.push(value);
                }
                Op::Delete { .. } => w.2.push(key),
            }
        }
        // (keyspace, statement, its bytea[] parameters)
        type Stmt<'a> = (&'a str, String, Vec<&'a Vec<&'a [u8]>>);
        let mut stmts: Vec<Stmt<'_>> = Vec::new();
        for (ks, (keys, values, deletes)) in &by_ks {
            let t = match self.table(conn, ks) {
                Ok(Some(t)) => quoted(&t),
                Ok(None) => {
                    rollback(conn);
                    return Attempt::Failed(StorageError::NoKeyspace((*ks).to_owned()));
                }
                Err(e) => {
                    rollback(conn);
                    return Attempt::from_storage(e);
                }
            };
            if !keys.is_empty() {
                stmts.push((
                    ks,
                    format!(
                        "INSERT INTO {t} (k, v) SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) \
                         ON CONFLICT (k) DO UPDATE SET v = excluded.v"
                    ),
                    vec![keys, values],
                ));
            }
            if !deletes.is_empty() {
                stmts.push((
                    ks,
                    format!("DELETE FROM {t} WHERE k = ANY($1::bytea[])"),
                    vec![deletes],
                ));
            }
        }
        let params: Vec<Vec<(&(dyn ToSql + Sync), Type)>> = stmts
            .iter()
            .map(|(_, _, ps)| {
                ps.iter()
                    .map(|p| (*p as &(dyn ToSql + Sync), Type::BYTEA_ARRAY))
                    .collect()
            })
            .collect();
        // Prepared (where not yet) before anything is sent, so that the pipeline below
        // goes out in order.
        let mut prepared = Vec::with_capacity(stmts.len());
        for ((ks, sql, _), types) in stmts.iter().zip(&params) {
            let types: Vec<Type> = types.iter().map(|(_, t)| t.clone()).collect();
            match conn.prepared(sql, &types) {
                Ok(st) => prepared.push(st),
                Err(e) => {
                    if e.as_db_error().is_none() {
                        conn.broken = true;
                    }
                    rollback(conn);
                    return self.attempt_err(ks, &e);
                }
            }
        }
        let Some(client) = conn.client.as_ref().map(|p| &p.client) else {
            return Attempt::Failed(StorageError::Closed);
        };
        type Answer<'f> =
            Pin<Box<dyn Future<Output = std::result::Result<(), tokio_postgres::Error>> + 'f>>;
        let mut futs: Vec<Answer<'_>> = Vec::with_capacity(stmts.len() + 1);
        for (((_, sql, _), ps), st) in stmts.iter().zip(&params).zip(&prepared) {
            futs.push(Box::pin(async move {
                run(client, st.as_ref(), sql, ps).await.map(drop)
            }));
        }
        futs.push(Box::pin(client.batch_execute("COMMIT")));
        let answers = wait(join_all(futs));
        let (commit, writes) = match answers.split_last() {
            Some((c, w)) => (c, w),
            None => return Attempt::Failed(StorageError::Io("no commit answer".into())),
        };
        for ((ks, _, _), answer) in stmts.iter().zip(writes) {
            if let Err(e) = answer {
                if e.as_db_error().is_none() {
                    conn.broken = true;
                }
                return self.attempt_err(ks, e);
            }
        }
        match commit {
            Ok(()) => Attempt::Done,
            Err(e) if is_conflict(e) => Attempt::Conflict(e.to_string()),
            Err(e) => {
                // The connection may have died after the database committed.
                conn.broken = true;
                Attempt::Failed(StorageError::Io(format!(
                    "commit outcome unknown: {}",
                    sql_err("", e)
                )))
            }
        }
    }

    /// A failed read outside a group: a connection that lost the server is not reused, a
    /// dropped table is forgotten, and the error is mapped.
    fn read_failed(
        &self,
        conn: &mut Conn<'_>,
        ks: &str,
        e: &tokio_postgres::Error,
    ) -> StorageError {
        if e.as_db_error().is_none() {
            conn.broken = true;
        }
        if e.code() == Some(&SqlState::UNDEFINED_TABLE) {
            self.forget(ks);
        }
        sql_err(ks, e)
    }

    fn attempt_err(&self, ks: &str, e: &tokio_postgres::Error) -> Attempt {
        if e.code() == Some(&SqlState::UNDEFINED_TABLE) {
            self.forget(ks);
        }
        Attempt::from_sql(ks, e)
    }
}

enum MigrateError {
    Race(String),
    Fatal(StorageError),
}

/// The outcome of one attempt at a commit group.
enum Attempt {
    Done,
    /// The database asked for a retry (40001, 40P01).
    Conflict(String),
    Failed(StorageError),
}

impl Attempt {
    /// A conflict met on the way (a registry lookup, say) is retried like any other.
    fn from_storage(e: StorageError) -> Attempt {
        match e {
            StorageError::Conflict(m) => Attempt::Conflict(m),
            other => Attempt::Failed(other),
        }
    }

    fn from_sql(ks: &str, e: &tokio_postgres::Error) -> Attempt {
        if is_conflict(e) {
            Attempt::Conflict(e.to_string())
        } else {
            Attempt::Failed(sql_err(ks, e))
        }
    }
}

fn rollback(conn: &mut Conn<'_>) {
    if conn.exec("ROLLBACK").is_err() {
        conn.broken = true;
    }
}

/// A `postgres://` URL's configuration and TLS connector. libpq's `sslmode` and
/// `sslrootcert` are taken out first (tokio-postgres knows neither `verify-full` nor
/// `sslrootcert`): `disable` (or none) is plain TCP; `prefer` is TLS when the server offers
/// it; `require` and `verify-full` are TLS or no connection. With TLS the server's
/// certificate and host name are always verified (libpq's `require` alone does not check
/// them; here a connection that could be intercepted is never made). Modes that skip the
/// checks (`allow`, `verify-ca`) are refused, saying so.
fn parse_url(url: &str) -> Result<(Config, Option<tokio_postgres_rustls::MakeRustlsConnect>)> {
    let bad = |m: String| StorageError::Io(format!("invalid PostgreSQL URL: {m}"));
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut kept = Vec::new();
    let (mut mode, mut root) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("sslmode", v) => mode = Some(v),
            ("sslrootcert", v) => root = Some(percent_decoded(v)),
            _ => kept.push(pair),
        }
    }
    let (ssl_mode, tls) = match mode {
        None | Some("disable") => (tokio_postgres::config::SslMode::Disable, false),
        Some("prefer") => (tokio_postgres::config::SslMode::Prefer, true),
        Some("require" | "verify-full") => (tokio_postgres::config::SslMode::Require, true),
        Some(other) => {
            return Err(bad(format!(
                "sslmode={other} is not supported: disable, prefer, require or verify-full \
                 (with TLS the server's certificate and host name are always verified)"
            )))
        }
    };
    if root.is_some() && !tls {
        return Err(bad(
            "sslrootcert needs sslmode=prefer, require or verify-full".into(),
        ));
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: Config = rest.parse().map_err(|e| bad(format!("{e}")))?;
    config.ssl_mode(ssl_mode);
    let tls = if tls {
        Some(tls_connector(root.as_deref())?)
    } else {
        None
    };
    Ok((config, tls))
}

/// `%XX` escapes decoded (a file name in a URL parameter).
fn percent_decoded(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A TLS connector trusting the PEM certificates in `root` (`system` or none: the system's
/// store, as rustls-native-certs finds it).
fn tls_connector(root: Option<&str>) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match root {
        Some(path) if path != "system" => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| StorageError::Io(format!("sslrootcert {path}: {e}")))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| StorageError::Io(format!("sslrootcert {path}: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| StorageError::Io(format!("sslrootcert {path}: {e}")))?;
            }
        }
        _ => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // One unusable system certificate does not make the others useless.
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(StorageError::Io(format!(
            "no certificate to trust for TLS to the database{}: name the database's CA \
             certificate (PEM) with sslrootcert=FILE",
            root.map(|r| format!(" in {r}")).unwrap_or_default()
        )));
    }
    // The provider named, not the process default: another crate in the build may enable
    // a second one, and then rustls cannot choose (it panics).
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StorageError::Io(format!("TLS to the database: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A new, empty schema on the database at `url`, and a configuration whose connections
/// use it (`search_path`).
fn fresh_schema(url: &str) -> Result<Config> {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!(
        "fdtest_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let (mut config, tls) = parse_url(url)?;
    {
        // Creating the schema needs no layout: a bare connection.
        let admin = PostgresBackend::bare(config.clone(), tls, Options::default())?;
        let mut conn = admin.conn()?;
        conn.exec(&format!("CREATE SCHEMA {}", quoted(&schema)))
            .map_err(|e| sql_err("", &e))?;
    }
    config.options(format!("-c search_path={schema}"));
    Ok(config)
}

fn describe(c: &Config) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let user = c.get_user().unwrap_or("?");
    let db = c.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

/// Back-off before re-running a group: 1 ms doubling to 100 ms, with jitter, so that two
/// servers that conflicted do not collide again in lock-step.
fn backoff(attempt: u32) -> Duration {
    let base = 1u64 << attempt.min(7);
    let nanos = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    );
    let jitter = fnv64(&nanos.to_le_bytes()) % (base * 1000);
    Duration::from_micros((base * 1000 / 2 + jitter / 2).min(100_000))
}

// ---------------------------------------------------------------------------------------
// Reads

/// A statement's parameters and their types.
type Params<'p> = &'p [(&'p (dyn ToSql + Sync), Type)];

/// Values read inside a commit group: (keyspace, key) -> value.
type Reads = HashMap<(String, Vec<u8>), Option<Vec<u8>>>;

/// A read view: a transaction on one pooled connection (REPEATABLE READ READ ONLY for a
/// snapshot, the group's SERIALIZABLE transaction inside `write_group`).
struct View<'a> {
    backend: &'a PostgresBackend,
    conn: Conn<'a>,
    /// Inside a group: the first failed statement (the transaction is then aborted).
    failure: Mutex<Option<Attempt>>,
    /// A snapshot's own transaction, rolled back on drop.
    in_tx: bool,
    /// The transaction's BEGIN while not yet sent: it goes out in one round trip with the
    /// first statement (pipelined) instead of costing one of its own.
    begin: Mutex<Option<&'static str>>,
    /// Inside a group: the values already read. The group's writes are only sent at its
    /// end, so a key reads the same every time within one attempt, and the transactions of
    /// a group that all read one row (a table's catalog entry) cost one round trip.
    memo: Option<Mutex<Reads>>,
}

impl<'a> View<'a> {
    /// One key, from the database.
    fn read(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let t = self.table(ks)?;
        let sql = format!("SELECT v FROM {t} WHERE k = $1");
        let rows = self.query(ks, &sql, &[(&key, Type::BYTEA)])?;
        match rows.first() {
            None => Ok(None),
            Some(r) => r.try_get::<_, Vec<u8>>(0).map(Some).map_err(io),
        }
    }

    /// Run one statement in the view's transaction, sending the BEGIN with it if that is
    /// still pending.
    fn query(
        &self,
        ks: &str,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>> {
        let mut rows = self.query_all(&[(ks, sql, params)])?;
        rows.pop()
            .ok_or_else(|| StorageError::Io("no answer".into()))
    }

    /// Run statements (keyspace, SQL, parameters) in the view's transaction, all sent at
    /// once (pipelined, after the BEGIN if that is still pending): one round trip, plus
    /// one for preparing those this connection has not prepared yet. Their rows in order.
    fn query_all(&self, stmts: &[(&str, &str, Params<'_>)]) -> Result<Vec<Vec<Row>>> {
        // After a failed statement the transaction is aborted: fail without asking.
        if self.memo.is_some() && self.failure.lock().map_err(poisoned)?.is_some() {
            return Err(StorageError::Aborted(
                "an earlier statement of this commit group failed".into(),
            ));
        }
        let mut prepared = Vec::with_capacity(stmts.len());
        for (ks, sql, params) in stmts {
            let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
            let st = self
                .conn
                .prepared(sql, &types)
                .map_err(|e| self.failed(ks, &e))?;
            prepared.push(st);
        }
        let client = self.conn.client()?;
        let begin = self.begin.lock().map_err(poisoned)?.take();
        type Answer<'f> = Pin<
            Box<dyn Future<Output = std::result::Result<Vec<Row>, tokio_postgres::Error>> + 'f>,
        >;
        let mut futs: Vec<Answer<'_>> = Vec::with_capacity(stmts.len() + 1);
        if let Some(begin) = begin {
            futs.push(Box::pin(async move {
                client.batch_execute(begin).await.map(|()| Vec::new())
            }));
        }
        for ((_, sql, params), st) in stmts.iter().zip(&prepared) {
            futs.push(Box::pin(run(client, st.as_ref(), sql, params)));
        }
        let mut answers = wait(join_all(futs)).into_iter();
        if begin.is_some() {
            // The BEGIN's failure first: without it the statements ran outside the
            // transaction.
            if let Some(Err(e)) = answers.next() {
                return Err(self.failed("", &e));
            }
        }
        stmts
            .iter()
            .zip(answers)
            .map(|((ks, _, _), a)| a.map_err(|e| self.failed(ks, &e)))
            .collect()
    }

    /// Read `keys` (keyspace, key) into the memo: one statement per keyspace, all sent at
    /// once.
    fn prefetch(&self, keys: Vec<(String, Vec<u8>)>) -> Result<()> {
        let Some(memo) = &self.memo else {
            return Ok(());
        };
        let mut by_ks: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for (ks, key) in keys {
            if ferrodyn_storage::check_key(&key).is_ok() {
                by_ks.entry(ks).or_default().push(key);
            }
        }
        // (keyspace, SQL, keys)
        let mut plan: Vec<(String, String, Vec<&[u8]>)> = Vec::new();
        for (ks, keys) in &mut by_ks {
            keys.sort_unstable();
            keys.dedup();
            // A keyspace this server does not know: left to the real run to report.
            let Ok(t) = self.table(ks) else {
                continue;
            };
            let list: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            plan.push((
                ks.clone(),
                format!("SELECT k, v FROM {t} WHERE k = ANY($1)"),
                list,
            ));
        }
        if plan.is_empty() {
            return Ok(());
        }
        let params: Vec<[(&(dyn ToSql + Sync), Type); 1]> = plan
            .iter()
            .map(|(_, _, list)| [(list as &(dyn ToSql + Sync), Type::BYTEA_ARRAY)])
            .collect();
        let stmts: Vec<(&str, &str, Params<'_>)> = plan
            .iter()
            .zip(&params)
            .map(|((ks, sql, _), ps)| (ks.as_str(), sql.as_str(), ps.as_slice()))
            .collect();
        let answers = self.query_all(&stmts)?;
        let mut m = memo.lock().map_err(poisoned)?;
        for ((ks, _, keys), rows) in plan.iter().zip(&answers) {
            for key in keys {
                m.insert((ks.clone(), key.to_vec()), None);
            }
            for r in rows {
                let k: Vec<u8> = r.try_get(0).map_err(io)?;
                let v: Vec<u8> = r.try_get(1).map_err(io)?;
                m.insert((ks.clone(), k), Some(v));
            }
        }
        Ok(())
    }

    fn into_conn(mut self) -> Conn<'a> {
        std::mem::replace(
            &mut self.conn,
            Conn {
                backend: self.backend,
                client: None,
                broken: false,
            },
        )
    }

    /// Note a failed statement; inside a group this decides the attempt's outcome.
    fn failed(&self, ks: &str, e: &tokio_postgres::Error) -> StorageError {
        if e.code() == Some(&SqlState::UNDEFINED_TABLE) {
            self.backend.forget(ks);
        }
        if let Ok(mut f) = self.failure.lock() {
            if f.is_none() {
                *f = Some(Attempt::from_sql(ks, e));
            }
        }
        sql_err(ks, e)
    }

    fn table(&self, ks: &str) -> Result<String> {
        match self.backend.table(&self.conn, ks) {
            Ok(Some(t)) => Ok(quoted(&t)),
            Ok(None) => Err(StorageError::NoKeyspace(ks.to_owned())),
            Err(e) => {
                if let Ok(mut f) = self.failure.lock() {
                    if f.is_none() {
                        *f = Some(Attempt::from_storage(e.clone()));
                    }
                }
                Err(e)
            }
        }
    }
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        let begun = self.begin.get_mut().map(|b| b.is_none()).unwrap_or(true);
        if !self.in_tx || !begun {
            return;
        }
        // End the read-only transaction without waiting for the answer: the ROLLBACK is
        // queued on the connection before anything its next user sends, and the connection
        // task reads and drops the reply. Saves one of a snapshot read's three round trips.
        let sent = match &self.conn.client {
            Some(c) => {
                let fut = std::pin::pin!(c.client.batch_execute("ROLLBACK"));
                let mut cx = Context::from_waker(Waker::noop());
                // The first poll encodes and sends; only a closed connection answers at once.
                !matches!(fut.poll(&mut cx), Poll::Ready(Err(_)))
            }
            None => true,
        };
        if !sent {
            self.conn.broken = true;
        }
    }
}

impl ReadView for View<'_> {
    fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(memo) = &self.memo {
            let hit = memo
                .lock()
                .map_err(poisoned)?
                .get(&(ks.to_owned(), key.to_vec()))
                .cloned();
            if let Some(v) = hit {
                return Ok(v);
            }
            let v = self.read(ks, key)?;
            memo.lock()
                .map_err(poisoned)?
                .insert((ks.to_owned(), key.to_vec()), v.clone());
            return Ok(v);
        }
        self.read(ks, key)
    }

    fn scan(
        &self,
        ks: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        let t = self.table(ks)?;
        if !valid_range(start, end) {
            return Ok(());
        }
        let mut lo: Bound<Vec<u8>> = start.map(<[u8]>::to_vec);
        let mut hi: Bound<Vec<u8>> = end.map(<[u8]>::to_vec);
        let mut page = FIRST_PAGE;
        loop {
            let mut conds: Vec<String> = Vec::new();
            let mut params: Vec<(&(dyn ToSql + Sync), Type)> = Vec::new();
            for (bound, incl, excl) in [(&lo, ">=", ">"), (&hi, "<=", "<")] {
                let (op, k) = match bound {
                    Bound::Included(k) => (incl, k),
                    Bound::Excluded(k) => (excl, k),
                    Bound::Unbounded => continue,
                };
                params.push((k, Type::BYTEA));
                conds.push(format!("k {op} ${}", params.len()));
            }
            params.push((&page, Type::INT8));
            let sql = format!(
                "SELECT k, v FROM {t}{}{} ORDER BY k {} LIMIT ${}",
                if conds.is_empty() { "" } else { " WHERE " },
                conds.join(" AND "),
                if reverse { "DESC" } else { "ASC" },
                params.len()
            );
            let rows = self.query(ks, &sql, &params)?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= page;
            let mut last: Option<Vec<u8>> = None;
            for r in &rows {
                let k: &[u8] = r.try_get(0).map_err(io)?;
                let v: &[u8] = r.try_get(1).map_err(io)?;
                if !visit(k, v) {
                    return Ok(());
                }
                last = Some(k.to_vec());
            }
            match (full, last) {
                (true, Some(k)) => {
                    if reverse {
                        hi = Bound::Excluded(k);
                    } else {
                        lo = Bound::Excluded(k);
                    }
                }
                _ => return Ok(()),
            }
            page = (page * 4).min(MAX_PAGE);
        }
    }
}

/// The view of a commit group's dry run (see `try_group`): what the group has already read
/// is answered from the memo, any other key is noted and answered as absent. Scans read
/// the database (they are rare in write transactions).
struct DryRun<'v, 'a> {
    view: &'v View<'a>,
    wanted: Mutex<Vec<(String, Vec<u8>)>>,
}

impl ReadView for DryRun<'_, '_> {
    fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let id = (ks.to_owned(), key.to_vec());
        if let Some(memo) = &self.view.memo {
            if let Some(v) = memo.lock().map_err(poisoned)?.get(&id) {
                return Ok(v.clone());
            }
        }
        self.wanted.lock().map_err(poisoned)?.push(id);
        Ok(None)
    }

    fn scan(
        &self,
        ks: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        self.view.scan(ks, start, end, reverse, visit)
    }
}

impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn create_keyspace(&self, ks: &str) -> Result<()> {
        if ks.is_empty() || ks.contains('\0') {
            return Err(StorageError::Io(format!("invalid keyspace name {ks:?}")));
        }
        let table = table_name(ks);
        let pk = match self.flavor {
            // YugabyteDB shards a plain primary key by hash; range scans need it ordered.
            Flavor::Yugabyte => "PRIMARY KEY (k ASC)",
            Flavor::Postgres | Flavor::Cockroach => "PRIMARY KEY (k)",
        };
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {} (k BYTEA NOT NULL, v BYTEA NOT NULL, {pk})",
            quoted(&table)
        );
        let mut last = String::new();
        for _ in 0..5 {
            let mut conn = self.conn()?;
            let r = match conn.exec(&create) {
                Ok(()) => wait(conn.client()?.query_typed(
                    "INSERT INTO ferrodyn_keyspaces (name, tbl) VALUES ($1, $2) \
                     ON CONFLICT (name) DO NOTHING",
                    &[(&ks, Type::TEXT), (&table, Type::TEXT)],
                ))
                .map(|_| ()),
                Err(e) => Err(e),
            };
            match r {
                Ok(()) => {
                    let found = self.table(&conn, ks)?;
                    if found.as_deref() != Some(table.as_str()) {
                        return Err(StorageError::Io(format!(
                            "keyspace {ks:?} is registered with table {found:?}, not {table:?}"
                        )));
                    }
                    return Ok(());
                }
                Err(e)
                    if is_conflict(&e)
                        || e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                        || e.code() == Some(&SqlState::DUPLICATE_TABLE) =>
                {
                    // Another server created it at the same moment: look again.
                    last = e.to_string();
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(sql_err(ks, &e)),
            }
        }
        Err(StorageError::Io(format!(
            "creating keyspace {ks:?}: {last}"
        )))
    }

    fn drop_keyspace(&self, ks: &str) -> Result<()> {
        let mut conn = self.conn()?;
        let table = self.table(&conn, ks)?.unwrap_or_else(|| table_name(ks));
        // Table first, then the registry row: a crash in between leaves a row naming a
        // missing table, which the next drop clears; never old data under a new keyspace.
        conn.exec(&format!("DROP TABLE IF EXISTS {}", quoted(&table)))
            .map_err(|e| sql_err(ks, &e))?;
        self.forget(ks);
        wait(conn.client()?.query_typed(
            "DELETE FROM ferrodyn_keyspaces WHERE name = $1",
            &[(&ks, Type::TEXT)],
        ))
        .map_err(|e| sql_err(ks, &e))?;
        Ok(())
    }

    fn keyspaces(&self) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let rows = wait(
            conn.client()?
                .query_typed("SELECT name, tbl FROM ferrodyn_keyspaces", &[]),
        )
        .map_err(|e| sql_err("", &e))?;
        let mut map = HashMap::with_capacity(rows.len());
        for r in &rows {
            let name: String = r.try_get(0).map_err(io)?;
            let tbl: String = r.try_get(1).map_err(io)?;
            map.insert(name, tbl);
        }
        let names = map.keys().cloned().collect();
        *self.tables.write().map_err(poisoned)? = map;
        Ok(names)
    }

    fn snapshot(&self) -> Result<Box<dyn ReadView + '_>> {
        let mut conn = self.conn()?;
        // PostgreSQL takes the snapshot at the transaction's first statement, not at
        // BEGIN: run one in the same round trip so the view is fixed from here.
        conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1")
            .map_err(|e| sql_err("", &e))?;
        Ok(Box::new(View {
            backend: self,
            conn,
            failure: Mutex::new(None),
            in_tx: true,
            begin: Mutex::new(None),
            memo: None,
        }))
    }

    fn read_view(&self) -> Result<Box<dyn ReadView + '_>> {
        // The BEGIN goes out with the first read, which fixes the view: one round trip
        // less than `snapshot`.
        Ok(Box::new(View {
            backend: self,
            conn: self.conn()?,
            failure: Mutex::new(None),
            in_tx: true,
            begin: Mutex::new(Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")),
            memo: None,
        }))
    }

    fn scan_async<'a>(
        &'a self,
        ks: &'a str,
        start: Bound<&'a [u8]>,
        end: Bound<&'a [u8]>,
        reverse: bool,
        max: usize,
    ) -> Option<ScanFuture<'a>> {
        Some(Box::pin(async move {
            // One statement, so one snapshot.
            let Some(t) = self.known_table(ks)? else {
                return Ok(None);
            };
            let Some(mut conn) = self.wait_idle().await? else {
                return Ok(None);
            };
            if !valid_range(start, end) {
                return Ok(Some(Vec::new()));
            }
            let limit = i64::try_from(max).unwrap_or(i64::MAX);
            let mut conds: Vec<String> = Vec::new();
            let mut params: Vec<(&(dyn ToSql + Sync), Type)> = Vec::new();
            let (lo, hi) = (bound_key(&start), bound_key(&end));
            for (bound, k, incl, excl) in [(&start, &lo, ">=", ">"), (&end, &hi, "<=", "<")] {
                let op = match bound {
                    Bound::Included(_) => incl,
                    Bound::Excluded(_) => excl,
                    Bound::Unbounded => continue,
                };
                params.push((k, Type::BYTEA));
                conds.push(format!("k {op} ${}", params.len()));
            }
            params.push((&limit, Type::INT8));
            let sql = format!(
                "SELECT k, v FROM {}{}{} ORDER BY k {} LIMIT ${}",
                quoted(&t),
                if conds.is_empty() { "" } else { " WHERE " },
                conds.join(" AND "),
                if reverse { "DESC" } else { "ASC" },
                params.len()
            );
            let rows = match conn.query_async(&sql, &params).await {
                Ok(rows) => rows,
                Err(e) => return Err(self.read_failed(&mut conn, ks, &e)),
            };
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push((
                    r.try_get::<_, Vec<u8>>(0).map_err(io)?,
                    r.try_get::<_, Vec<u8>>(1).map_err(io)?,
                ));
            }
            Ok(Some(out))
        }))
    }

    fn read_async<'a>(&'a self, ks: &'a str, key: &'a [u8]) -> ReadFuture<'a> {
        Box::pin(self.read_coalesced(ks, key))
    }

    fn read(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // One statement is its own snapshot (autocommit): no transaction around it.
        View {
            backend: self,
            conn: self.conn()?,
            failure: Mutex::new(None),
            in_tx: false,
            begin: Mutex::new(None),
            memo: None,
        }
        .read(ks, key)
    }

    fn shared(&self) -> bool {
        true
    }

    fn commit_lanes(&self) -> usize {
        self.opts.commit_lanes.max(1)
    }

    fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    fn commit(&self, ops: &[Op], durability: Durability) -> Result<()> {
        self.write_group(&mut |_view| Ok(ops.to_vec()), durability)
    }

    fn write_group(&self, run: &mut GroupFn<'_>, durability: Durability) -> Result<()> {
        let mut attempt = 0u32;
        loop {
            // A re-run waits for the other lanes' groups in flight and holds new ones back.
            let _gate = if attempt == 0 {
                (Some(self.gate.read().map_err(poisoned)?), None)
            } else {
                (None, Some(self.gate.write().map_err(poisoned)?))
            };
            let mut conn = self.conn()?;
            match self.try_group(&mut conn, run, durability) {
                Attempt::Done => return Ok(()),
                Attempt::Failed(e) => return Err(e),
                Attempt::Conflict(e) => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    if attempt >= self.opts.max_retries {
                        tracing::warn!(error = %e, attempts = attempt + 1, "commit group gave up after conflicts");
                        return Err(StorageError::Conflict(format!(
                            "serialization conflicts persisted after {} attempts: {e}",
                            attempt + 1
                        )));
                    }
                    tracing::debug!(error = %e, attempt, "commit group conflicted; retrying");
                    drop(conn);
                    drop(_gate);
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
            }
        }
    }
}

/// Most single-key reads in flight at once as statements of their own; more wait and go
/// out together in the next statement (see `read_coalesced`).
const READS_IN_FLIGHT: usize = 4;
/// Most keys read by one coalesced statement.
const MAX_COALESCED: usize = 128;

/// A single-key read's outcome.
type Answer = Result<Option<Vec<u8>>>;

/// Several keys to read in one statement, and where their entries go.
type Many<'m> = (&'m Vec<&'m [u8]>, &'m mut HashMap<Vec<u8>, Vec<u8>>);

/// What a waiting single-key read is told.
enum Told {
    Value(Result<Option<Vec<u8>>>),
    /// Run the next statement yourself, for you and whoever waits by then, in this place
    /// (which passes on if this is never received).
    Lead(Place),
}

struct Waiting {
    ks: String,
    key: Vec<u8>,
    tell: tokio::sync::oneshot::Sender<Told>,
}

#[derive(Default)]
struct Coalescer {
    in_flight: usize,
    waiting: Vec<Waiting>,
}

/// A coalesced read's hold on a place in flight: on drop, the place goes to the first read
/// still waiting (or is freed), whether the read finished, was cancelled, or the place was
/// handed to a read that went away before taking it.
struct Place {
    /// `None` only for a place that was never really handed on.
    reads: Option<Arc<Mutex<Coalescer>>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let Some(reads) = self.reads.take() else {
            return;
        };
        let Ok(mut c) = reads.lock() else {
            return;
        };
        while !c.waiting.is_empty() {
            let w = c.waiting.remove(0);
            let next = Place {
                reads: Some(reads.clone()),
            };
            match w.tell.send(Told::Lead(next)) {
                Ok(()) => return,
                // Emptied first: dropping it must not take the lock held right now.
                Err(Told::Lead(mut p)) => p.reads = None,
                Err(Told::Value(_)) => {}
            }
        }
        c.in_flight = c.in_flight.saturating_sub(1);
    }
}

impl PostgresBackend {
    /// A single-key read, awaited on the caller's runtime (no `block_in_place`, no parked
    /// thread). At most [`READS_IN_FLIGHT`] run at once; the reads that arrive meanwhile
    /// wait, and the next to run reads all of them in one statement (`k = ANY($1)` per
    /// keyspace): one round trip and one statement for many GetItems under load, none
    /// waiting when there is no load. Each statement still starts after every read it
    /// answers arrived, so it sees every write acknowledged before them.
    async fn read_coalesced(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut told = {
            let mut c = self.reads.lock().map_err(poisoned)?;
            if c.in_flight < READS_IN_FLIGHT {
                c.in_flight += 1;
                None
            } else {
                let (tell, rx) = tokio::sync::oneshot::channel();
                c.waiting.push(Waiting {
                    ks: ks.to_owned(),
                    key: key.to_vec(),
                    tell,
                });
                Some(rx)
            }
        };
        let place = match told.take() {
            None => Place {
                reads: Some(self.reads.clone()),
            },
            Some(rx) => match rx.await {
                Ok(Told::Value(v)) => return v,
                Ok(Told::Lead(place)) => place,
                // The read that took ours was cancelled: read alone.
                Err(_) => return self.read_direct(ks, key, None).await,
            },
        };
        let others: Vec<Waiting> = {
            let mut c = self.reads.lock().map_err(poisoned)?;
            let n = c.waiting.len().min(MAX_COALESCED);
            c.waiting.drain(..n).collect()
        };
        if others.is_empty() {
            let v = self.read_direct(ks, key, None).await;
            drop(place);
            return v;
        }
        // keyspace -> keys, ours included
        let mut by_ks: BTreeMap<&str, Vec<&[u8]>> = BTreeMap::new();
        by_ks.entry(ks).or_default().push(key);
        for w in &others {
            by_ks.entry(w.ks.as_str()).or_default().push(&w.key);
        }
        let mut found: HashMap<(&str, &[u8]), Answer> = HashMap::new();
        for (k, keys) in &by_ks {
            match self.read_many(k, keys).await {
                Ok(values) => {
                    for (key, v) in keys.iter().zip(values) {
                        found.insert((k, key), Ok(v));
                    }
                }
                Err(e) => {
                    for key in keys {
                        found.insert((k, key), Err(e.clone()));
                    }
                }
            }
        }
        drop(place);
        let answer = |k: &str, key: &[u8]| {
            found
                .get(&(k, key))
                .cloned()
                .unwrap_or_else(|| Err(StorageError::Io("coalesced read lost a key".into())))
        };
        let mine = answer(ks, key);
        let values: Vec<_> = others.iter().map(|w| answer(&w.ks, &w.key)).collect();
        drop(by_ks);
        drop(found);
        for (w, v) in others.into_iter().zip(values) {
            // A reader that went away needs no answer.
            let _ = w.tell.send(Told::Value(v));
        }
        mine
    }

    /// Keys of one keyspace in one statement (one key: `k = $1`), their values in order.
    async fn read_many(&self, ks: &str, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        if let [key] = keys {
            return Ok(vec![self.read_direct(ks, key, None).await?]);
        }
        let mut unique: Vec<&[u8]> = keys.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut rows: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        self.read_direct(ks, &[], Some((&unique, &mut rows)))
            .await?;
        Ok(keys.iter().map(|k| rows.get(*k).cloned()).collect())
    }

    /// One statement outside any transaction: the value of `key`, or with `many` the
    /// entries of those keys (into its map; the answer is then `None`). Awaited on the
    /// caller's runtime when an idle connection and the table name are at hand, else
    /// through the blocking path.
    async fn read_direct(
        &self,
        ks: &str,
        key: &[u8],
        many: Option<Many<'_>>,
    ) -> Result<Option<Vec<u8>>> {
        let (Some(mut conn), Some(t)) = (self.idle_conn()?, self.known_table(ks)?) else {
            return match many {
                None => self.read(ks, key),
                Some((keys, out)) => {
                    for k in keys.iter() {
                        if let Some(v) = self.read(ks, k)? {
                            out.insert(k.to_vec(), v);
                        }
                    }
                    Ok(None)
                }
            };
        };
        let t = quoted(&t);
        let answer = match &many {
            None => {
                conn.query_async(
                    &format!("SELECT v FROM {t} WHERE k = $1"),
                    &[(&key, Type::BYTEA)],
                )
                .await
            }
            Some((keys, _)) => {
                conn.query_async(
                    &format!("SELECT k, v FROM {t} WHERE k = ANY($1)"),
                    &[(*keys as &(dyn ToSql + Sync), Type::BYTEA_ARRAY)],
                )
                .await
            }
        };
        let rows = match answer {
            Ok(rows) => rows,
            Err(e) => return Err(self.read_failed(&mut conn, ks, &e)),
        };
        match many {
            None => match rows.first() {
                None => Ok(None),
                Some(r) => r.try_get::<_, Vec<u8>>(0).map(Some).map_err(io),
            },
            Some((_, out)) => {
                for r in &rows {
                    let k: Vec<u8> = r.try_get(0).map_err(io)?;
                    let v: Vec<u8> = r.try_get(1).map_err(io)?;
                    out.insert(k, v);
                }
                Ok(None)
            }
        }
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        if let Ok(mut st) = self.pool.state.lock() {
            st.idle.clear();
        }
        // Dropping a runtime waits for its threads, which tokio forbids in async contexts.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]
mod tests {
    use ferrodyn_storage::Store;

    use super::*;

    /// The database named by FERRODYN_TEST_POSTGRES, or None (and a note) to skip.
    fn test_url(test: &str) -> Option<String> {
        match std::env::var("FERRODYN_TEST_POSTGRES") {
            Ok(u) if !u.is_empty() => Some(u),
            _ => {
                // Written to the stream itself, not through eprintln!, which the test
                // harness captures: a skip should be seen.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "{test}: skipped (set FERRODYN_TEST_POSTGRES to a PostgreSQL URL, \
                     e.g. the one scripts/postgres-up prints)"
                );
                None
            }
        }
    }

    /// TLS to the database: with `sslmode=require` the connection is encrypted and the
    /// server's certificate verified against `sslrootcert`; one that cannot be verified, or a
    /// mode that would skip the checks, is refused. Needs FERRODYN_TEST_POSTGRES_CA, the CA
    /// certificate of a server with `ssl=on` (scripts/postgres-up makes one).
    #[test]
    fn tls_connections_verify_the_server() {
        let Some(url) = test_url("tls_connections_verify_the_server") else {
            return;
        };
        let Ok(ca) = std::env::var("FERRODYN_TEST_POSTGRES_CA") else {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "tls_connections_verify_the_server: skipped (set FERRODYN_TEST_POSTGRES_CA)"
            );
            return;
        };
        let encrypted = |b: &PostgresBackend| -> bool {
            let conn = b.conn().unwrap();
            let rows = wait(conn.client().unwrap().query_typed(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            ))
            .unwrap();
            rows.first().unwrap().get::<_, bool>(0)
        };
        let secure = PostgresBackend::connect_in_fresh_schema(
            &format!("{url}?sslmode=require&sslrootcert={ca}"),
            Options::default(),
        )
        .unwrap();
        assert!(encrypted(&secure));
        assert!(secure.description().ends_with("(TLS)"));
        secure.create_keyspace("t").unwrap();
        secure
            .commit(
                &[Op::Put {
                    ks: "t".into(),
                    key: b"k".to_vec(),
                    value: b"v".to_vec(),
                }],
                Durability::Fsync,
            )
            .unwrap();
        assert_eq!(secure.read("t", b"k").unwrap(), Some(b"v".to_vec()));
        // verify-full is the same; prefer takes TLS since the server offers it.
        for mode in ["verify-full", "prefer"] {
            let b = PostgresBackend::connect_in_fresh_schema(
                &format!("{url}?sslmode={mode}&sslrootcert={ca}"),
                Options::default(),
            )
            .unwrap();
            assert!(encrypted(&b), "{mode}");
        }
        let plain = PostgresBackend::connect_in_fresh_schema(
            &format!("{url}?sslmode=disable"),
            Options::default(),
        )
        .unwrap();
        assert!(!encrypted(&plain));
        // A certificate the client does not trust: refused at start-up, saying why.
        let other =
            std::env::temp_dir().join(format!("ferrodyn-not-the-ca-{}.pem", std::process::id()));
        std::fs::write(&other, NOT_THE_CA).unwrap();
        let e = PostgresBackend::connect(
            &format!("{url}?sslmode=require&sslrootcert={}", other.display()),
            Options::default(),
        )
        .err()
        .unwrap()
        .to_string();
        let _ = std::fs::remove_file(&other);
        assert!(e.contains("certificate"), "{e}");
        for mode in ["verify-ca", "allow", "bogus"] {
            let e = PostgresBackend::connect(&format!("{url}?sslmode={mode}"), Options::default())
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("not supported"), "{mode}: {e}");
        }
        let e = PostgresBackend::connect(&format!("{url}?sslrootcert={ca}"), Options::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("sslrootcert needs"), "{e}");
    }

    /// A self-signed certificate (CN=other) that signed nothing the test server uses.
    const NOT_THE_CA: &str = "-----BEGIN CERTIFICATE-----\n\
MIIBeDCCAR2gAwIBAgIUBNOxYu8cqJurT+E8g6P+42s/7DQwCgYIKoZIzj0EAwIw\n\
EDEOMAwGA1UEAwwFb3RoZXIwIBcNMjYxMTIyMTEzNDQwWhgPMjEyNjEwMjkxMTM0\n\
NDBaMBAxDjAMBgNVBAMMBW90aGVyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n\
cdzkUOv2CuuRiY7NT/2YwlMdktpXUFRS6q3BIOkgP329WhqrWkixzDwBCWJ3W3RP\n\
NtXKlgjg2qi4RYvFy/oAI6NTMFEwHQYDVR0OBBYEFM/iHtAxDmfKF/DgE0fwQ5mM\n\
Zd7TMB8GA1UdIwQYMBaAFM/iHtAxDmfKF/DgE0fwQ5mMZd7TMA8GA1UdEwEB/wQF\n\
MAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAOEjyH8GlhLetHVyuIHSZWspIzBCizKf\n\
wjLcDrhPtReFAiEAusJieQZVWyQ5Yy9N4M5FfqsdsdhJ1znVtBZRkLg0/OU=\n\
-----END CERTIFICATE-----\n";

    /// A fresh, empty schema on the test database, and a configuration that uses it.
    fn fresh_schema(url: &str) -> Config {
        super::fresh_schema(url).unwrap()
    }

    fn open(config: &Config) -> PostgresBackend {
        PostgresBackend::open(
            config.clone(),
            Options {
                pool_size: 8,
                ..Options::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn shared_suite() {
        let Some(url) = test_url("shared_suite") else {
            return;
        };
        ferrodyn_storage::testsuite::run_all(&|| Arc::new(open(&fresh_schema(&url))));
    }

    /// The same suite with every statement sent unprepared (`--storage-no-prepare`).
    #[test]
    fn shared_suite_unprepared() {
        let Some(url) = test_url("shared_suite_unprepared") else {
            return;
        };
        ferrodyn_storage::testsuite::run_all(&|| {
            Arc::new(
                PostgresBackend::open(
                    fresh_schema(&url),
                    Options {
                        pool_size: 8,
                        prepared_statements: false,
                        ..Options::default()
                    },
                )
                .unwrap(),
            )
        });
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        for ks in [
            "t.1",
            "i.1.By-Date",
            "T.1",
            "\u{e9}\u{1f600}",
            &"x".repeat(300),
            "a\"b",
        ] {
            let t = table_name(ks);
            assert!(t.len() <= 63, "{t}");
            assert!(t
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        }
        // distinct names stay distinct even when their readable parts agree
        assert_ne!(table_name("T.1"), table_name("t.1"));
        assert_ne!(table_name("t.1"), table_name("t_1"));
    }

    #[test]
    fn unreachable_database_is_a_clear_error() {
        let started = Instant::now();
        let e = PostgresBackend::connect(
            "postgres://nobody@127.0.0.1:1/nowhere?connect_timeout=5",
            Options::default(),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("cannot connect to PostgreSQL at nobody@127.0.0.1:1/nowhere"),
            "{text}"
        );
        assert!(started.elapsed() < Duration::from_secs(6));
        assert!(PostgresBackend::connect("not a url", Options::default())
            .unwrap_err()
            .to_string()
            .contains("invalid PostgreSQL URL"));
    }

    #[test]
    fn reopen_keeps_keyspaces_data_and_layout_version() {
        let Some(url) = test_url("reopen_keeps_keyspaces_data_and_layout_version") else {
            return;
        };
        let config = fresh_schema(&url);
        {
            let b = open(&config);
            b.create_keyspace("t.1").unwrap();
            b.create_keyspace("i.1.By Date/\u{e9}").unwrap();
            b.commit(
                &[Op::Put {
                    ks: "i.1.By Date/\u{e9}".into(),
                    key: vec![0, 255],
                    value: b"v".to_vec(),
                }],
                Durability::Fsync,
            )
            .unwrap();
        }
        let b = open(&config);
        let mut names = b.keyspaces().unwrap();
        names.sort();
        assert_eq!(names, vec!["i.1.By Date/\u{e9}".to_string(), "t.1".into()]);
        let v = b.snapshot().unwrap();
        assert_eq!(
            v.get("i.1.By Date/\u{e9}", &[0, 255]).unwrap().as_deref(),
            Some(&b"v"[..])
        );
        drop(v);
        let conn = b.conn().unwrap();
        let rows = wait(
            conn.client()
                .unwrap()
                .query_typed("SELECT version::INT4 FROM ferrodyn_schema_version", &[]),
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<_, i32>(0), SCHEMA_VERSION);
    }

    #[test]
    fn keyspace_dropped_by_another_server() {
        let Some(url) = test_url("keyspace_dropped_by_another_server") else {
            return;
        };
        let config = fresh_schema(&url);
        let (a, b) = (open(&config), open(&config));
        a.create_keyspace("k").unwrap();
        let put = |v: &[u8]| Op::Put {
            ks: "k".into(),
            key: b"x".to_vec(),
            value: v.to_vec(),
        };
        b.commit(&[put(b"1")], Durability::Fsync).unwrap();
        // b still has "k" cached: it must notice, not write into nothing, and the write to
        // "a" sent before the failing one in the same pipelined batch is rolled back
        a.create_keyspace("a").unwrap();
        b.keyspaces().unwrap();
        a.drop_keyspace("k").unwrap();
        b.create_keyspace("a").unwrap();
        let in_a = Op::Put {
            ks: "a".into(),
            key: b"y".to_vec(),
            value: b"1".to_vec(),
        };
        assert_eq!(
            b.commit(&[in_a, put(b"2")], Durability::Fsync),
            Err(StorageError::NoKeyspace("k".into()))
        );
        assert_eq!(b.snapshot().unwrap().get("a", b"y").unwrap(), None);
        assert_eq!(b.keyspaces().unwrap(), vec!["a".to_string()]);
        a.create_keyspace("k").unwrap();
        assert_eq!(b.snapshot().unwrap().get("k", b"x").unwrap(), None);
    }

    /// Two stores ("servers") on one database increment one counter concurrently: every
    /// acknowledged increment is in the final value, and no other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_servers_never_lose_an_increment() {
        let Some(url) = test_url("two_servers_never_lose_an_increment") else {
            return;
        };
        let config = fresh_schema(&url);
        let a = Arc::new(open(&config));
        let b = Arc::new(open(&config));
        a.create_keyspace("c").unwrap();
        let stores = [
            Arc::new(Store::new(a.clone(), Durability::Fsync).unwrap()),
            Arc::new(Store::new(b.clone(), Durability::Fsync).unwrap()),
        ];
        // 8 clients, 4 on each server, each incrementing 50 times one after another: the
        // two commit threads keep interleaving small groups on the one row.
        let mut handles = Vec::new();
        for i in 0..8usize {
            let s = stores[i % 2].clone();
            handles.push(tokio::spawn(async move {
                let (mut acked, mut failed) = (0u64, 0u64);
                for _ in 0..50 {
                    let r = s
                        .transact(|tx| {
                            let n = tx
                                .get("c", b"n")?
                                .map(|v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])))
                                .unwrap_or(0);
                            tx.put("c", b"n".to_vec(), (n + 1).to_be_bytes().to_vec());
                            Ok::<_, StorageError>(())
                        })
                        .await;
                    match r {
                        Ok(()) => acked += 1,
                        Err(e) => {
                            eprintln!("increment failed: {e}");
                            failed += 1;
                        }
                    }
                }
                (acked, failed)
            }));
        }
        let mut acked = 0u64;
        let mut failed = 0u64;
        for h in handles {
            let (a, f) = h.await.unwrap();
            acked += a;
            failed += f;
        }
        let v = a.snapshot().unwrap().get("c", b"n").unwrap().unwrap();
        let total = u64::from_be_bytes(v.try_into().unwrap());
        eprintln!(
            "acked {acked}, failed {failed}, conflicts retried: {} + {}",
            a.conflicts(),
            b.conflicts()
        );
        assert_eq!(total, acked);
        assert!(acked > 0);
    }

    /// A group whose read is overtaken by another server's commit is re-run, and then sees
    /// that commit: deterministic, unlike the load test above.
    #[test]
    fn conflicting_group_is_rerun_with_fresh_reads() {
        let Some(url) = test_url("conflicting_group_is_rerun_with_fresh_reads") else {
            return;
        };
        let config = fresh_schema(&url);
        let a = open(&config);
        let b = Arc::new(open(&config));
        a.create_keyspace("c").unwrap();
        let put = |n: u8| Op::Put {
            ks: "c".into(),
            key: b"n".to_vec(),
            value: vec![n],
        };
        a.commit(&[put(10)], Durability::Fsync).unwrap();
        let mut runs = Vec::new();
        a.write_group(
            &mut |view| {
                let n = view.get("c", b"n")?.unwrap()[0];
                runs.push(n);
                if runs.len() == 1 {
                    // another server commits between our read and our write
                    let b = b.clone();
                    std::thread::spawn(move || b.commit(&[put(20)], Durability::Fsync))
                        .join()
                        .unwrap()
                        .unwrap();
                }
                Ok(vec![put(n + 1)])
            },
            Durability::Fsync,
        )
        .unwrap();
        assert_eq!(runs, vec![10, 20]);
        assert_eq!(a.conflicts(), 1);
        assert_eq!(
            a.snapshot().unwrap().get("c", b"n").unwrap(),
            Some(vec![21])
        );
    }

    /// A group overtaken on every attempt gives up after `max_retries` re-runs with
    /// `StorageError::Conflict` (which the engine answers as DynamoDB's contention errors,
    /// never a 500), having written nothing.
    #[test]
    fn conflicts_past_the_retry_limit_are_a_conflict_error() {
        let Some(url) = test_url("conflicts_past_the_retry_limit_are_a_conflict_error") else {
            return;
        };
        let config = fresh_schema(&url);
        let a = PostgresBackend::open(
            config.clone(),
            Options {
                pool_size: 4,
                max_retries: 2,
                ..Options::default()
            },
        )
        .unwrap();
        let b = Arc::new(open(&config));
        a.create_keyspace("c").unwrap();
        let put = |n: u8| Op::Put {
            ks: "c".into(),
            key: b"n".to_vec(),
            value: vec![n],
        };
        a.commit(&[put(10)], Durability::Fsync).unwrap();
        let mut runs = 0u8;
        let r = a.write_group(
            &mut |view| {
                let n = view.get("c", b"n")?.unwrap()[0];
                runs += 1;
                // another server commits between our read and our write, every time
                let b = b.clone();
                let other = 100 + runs;
                std::thread::spawn(move || b.commit(&[put(other)], Durability::Fsync))
                    .join()
                    .unwrap()
                    .unwrap();
                Ok(vec![put(n + 1)])
            },
            Durability::Fsync,
        );
        match r {
            Err(StorageError::Conflict(m)) => assert!(m.contains("3 attempts"), "{m}"),
            other => panic!("expected a Conflict error, got {other:?}"),
        }
        assert_eq!(runs, 3);
        assert_eq!(a.conflicts(), 3);
        assert_eq!(
            a.snapshot().unwrap().get("c", b"n").unwrap(),
            Some(vec![103])
        );
    }

    /// The pool never opens more than `pool_size` connections: callers wait for one, and
    /// give up with a clear error after `checkout_timeout`.
    #[test]
    fn pool_waits_for_a_free_connection_then_times_out() {
        let Some(url) = test_url("pool_waits_for_a_free_connection_then_times_out") else {
            return;
        };
        let b = Arc::new(
            PostgresBackend::open(
                fresh_schema(&url),
                Options {
                    pool_size: 1,
                    checkout_timeout: Duration::from_millis(300),
                    ..Options::default()
                },
            )
            .unwrap(),
        );
        b.create_keyspace("p").unwrap();
        let held = b.snapshot().unwrap();
        let t = Instant::now();
        let e = b.snapshot().err().unwrap().to_string();
        assert!(e.contains("no free PostgreSQL connection"), "{e}");
        assert!(t.elapsed() >= Duration::from_millis(300));
        // a waiter gets the connection as soon as it is let go
        let b2 = b.clone();
        let waiter = std::thread::spawn(move || b2.snapshot().map(|v| v.get("p", b"x")).is_ok());
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        assert!(waiter.join().unwrap());
        assert_eq!(b.pool.state.lock().unwrap().open, 1);
    }

    /// Single-key reads from many tasks at once are coalesced into shared statements and
    /// each still gets its own key's value (absent keys included), also when readers are
    /// cancelled half-way; afterwards no place in flight is left taken.
    #[test]
    fn concurrent_single_key_reads_are_coalesced_correctly() {
        let Some(url) = test_url("concurrent_single_key_reads_are_coalesced_correctly") else {
            return;
        };
        let b = Arc::new(open(&fresh_schema(&url)));
        b.create_keyspace("a").unwrap();
        b.create_keyspace("b").unwrap();
        let ops: Vec<Op> = (0..200u32)
            .map(|i| Op::Put {
                ks: if i % 2 == 0 { "a" } else { "b" }.into(),
                key: i.to_be_bytes().to_vec(),
                value: format!("v{i}").into_bytes(),
            })
            .collect();
        b.commit(&ops, Durability::Fsync).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for t in 0..48u32 {
                let b = b.clone();
                tasks.push(tokio::spawn(async move {
                    for n in 0..30u32 {
                        let i = (t * 31 + n * 7) % 260;
                        let ks = if i % 2 == 0 { "a" } else { "b" };
                        let got = b.read_async(ks, &i.to_be_bytes()).await.unwrap();
                        let want = (i < 200).then(|| format!("v{i}").into_bytes());
                        assert_eq!(got, want, "key {i}");
                        if n % 10 == 3 {
                            // a reader that gives up at once
                            let b2 = b.clone();
                            let cancelled = tokio::spawn(async move {
                                b2.read_async("a", &0u32.to_be_bytes()).await.map(drop)
                            });
                            cancelled.abort();
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        let c = b.reads.lock().unwrap();
        assert_eq!((c.in_flight, c.waiting.len()), (0, 0));
    }

    /// A snapshot's transaction ends (its ROLLBACK is not waited for) before the next user
    /// of its connection starts: on a one-connection pool, a write after a read must not land
    /// in the read's (read-only) transaction, and the next read sees the write.
    #[test]
    fn snapshots_end_before_their_connection_is_reused() {
        let Some(url) = test_url("snapshots_end_before_their_connection_is_reused") else {
            return;
        };
        let b = PostgresBackend::open(
            fresh_schema(&url),
            Options {
                pool_size: 1,
                ..Options::default()
            },
        )
        .unwrap();
        b.create_keyspace("r").unwrap();
        for i in 0u8..20 {
            let v = b.snapshot().unwrap();
            let before = v.get("r", b"k").unwrap();
            assert_eq!(before, i.checked_sub(1).map(|p| vec![p]));
            drop(v);
            b.commit(
                &[Op::Put {
                    ks: "r".into(),
                    key: b"k".to_vec(),
                    value: vec![i],
                }],
                Durability::Fsync,
            )
            .unwrap();
        }
        let conn = b.conn().unwrap();
        let rows = wait(
            conn.client()
                .unwrap()
                .simple_query("SHOW transaction_read_only"),
        )
        .unwrap();
        let off = rows.iter().any(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0) == Some("off"),
            _ => false,
        });
        assert!(
            off,
            "the pooled connection is still in a read-only transaction"
        );
    }

    /// The measurement behind the crate docs' choice: one `SELECT` round trip driven on the
    /// calling thread vs handed to the driver runtime as a task. Run with
    /// `cargo test -p ferrodyn-storage-postgres -- --ignored --nocapture wait_paths`.
    #[test]
    #[ignore]
    fn wait_paths() {
        let Some(url) = test_url("wait_paths") else {
            return;
        };
        let b = open(&fresh_schema(&url));
        let client = Arc::new(b.dial().unwrap());
        let n = 3000;
        let sql = "SELECT $1::bytea";
        let key: &[u8] = b"key";
        let t = Instant::now();
        for _ in 0..n {
            wait(client.query_typed(sql, &[(&key, Type::BYTEA)])).unwrap();
        }
        let direct = t.elapsed() / n;
        let t = Instant::now();
        for _ in 0..n {
            let c = client.clone();
            let task = b.runtime().unwrap().spawn(async move {
                c.query_typed(sql, &[(&b"key".as_slice(), Type::BYTEA)])
                    .await
                    .map(|r| r.len())
            });
            wait(task).unwrap().unwrap();
        }
        let spawned = t.elapsed() / n;
        // from a tokio worker, through block_in_place
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let c = client.clone();
        let in_worker = rt.block_on(async move {
            tokio::spawn(async move {
                let t = Instant::now();
                for _ in 0..n {
                    wait(c.query_typed(sql, &[(&b"key".as_slice(), Type::BYTEA)])).unwrap();
                }
                t.elapsed() / n
            })
            .await
            .unwrap()
        });
        rt.shutdown_background();
        eprintln!(
            "per round trip: polled on the caller {direct:?}, as a driver task {spawned:?}, \
             on a tokio worker via block_in_place {in_worker:?}"
        );
    }
}
