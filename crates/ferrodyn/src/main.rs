//! `ferrodyn`: a DynamoDB-compatible database server.
//!
//! Wires configuration, the storage backend, the engine and the HTTP server together, and
//! handles SIGINT/SIGTERM by finishing in-flight requests and closing storage cleanly.

mod admin;
mod bench;

/// mimalloc: the allocation-heavy request path (JSON in, items, JSON out) spent about 19%
/// of its instructions in glibc's malloc/free (callgrind, GetItem; docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ferrodyn_engine::{Engine, EngineConfig, SystemClock};
use ferrodyn_storage::memory::MemoryBackend;
use ferrodyn_storage::{Backend, Durability};
use ferrodyn_storage_fjall::FjallBackend;

#[derive(Debug, Clone, Copy, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum AuthArg {
    /// accept any signed request, as DynamoDB Local does
    None,
    /// verify AWS Signature Version 4 against the keys in --credentials
    Sigv4,
}

#[derive(Debug, Clone, Copy, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum DurabilityArg {
    /// fsync every commit group before acknowledging (survives power loss)
    Fsync,
    /// hand writes to the OS before acknowledging (survives a killed process, not power loss)
    Buffered,
}

/// A DynamoDB-compatible database server.
///
/// Options can also come from `--config FILE` (TOML, keys named as the long options, e.g.
/// `port = 8001`, `in-memory = true`) and from `FERRODYN_<OPTION>` environment variables
/// (e.g. `FERRODYN_PORT=8001`); the command line wins over the environment, which wins over
/// the file.
#[derive(Debug, Parser, serde::Serialize)]
#[command(name = "ferrodyn", version, about, args_override_self = true)]
#[serde(rename_all = "kebab-case")]
struct Cli {
    /// TOML file of options (keys as the long options)
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit
    #[arg(long)]
    #[serde(skip)]
    print_config: bool,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free port; the chosen address is printed)
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Directory of the durable embedded storage
    #[arg(long, default_value = "ferrodyn-data")]
    data_dir: PathBuf,
    /// Keep everything in memory; nothing is written to disk
    #[arg(long, conflicts_with = "storage")]
    in_memory: bool,
    /// Store data in a PostgreSQL-protocol database instead of the embedded engine:
    /// `postgres://user[:password]@host[:port]/db` (several servers may share it)
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// Most connections to the --storage database
    #[arg(long, default_value_t = 16, value_name = "N")]
    storage_pool_size: usize,
    /// Send every --storage statement unprepared (for poolers that cannot keep prepared
    /// statements, such as PgBouncer before 1.21 in transaction mode)
    #[arg(long)]
    storage_no_prepare: bool,
    /// Commit groups in flight at once on the --storage database (each its own
    /// serializable transaction; the database orders them). More than 1 measured slower
    /// on PostgreSQL 15 (false conflicts); for databases with row-level conflict detection
    #[arg(long, default_value_t = 1, value_name = "N")]
    storage_commit_lanes: usize,
    /// When a write is acknowledged
    #[arg(long, value_enum, default_value_t = DurabilityArg::Fsync)]
    durability: DurabilityArg,
    /// Region named in ARNs
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// 12-digit account id named in ARNs
    #[arg(long, default_value = "000000000000")]
    account_id: String,
    /// Keep new tables CREATING (and updated ones UPDATING) for this many milliseconds
    #[arg(long, value_name = "MS")]
    transient_delay_ms: Option<u64>,
    /// DynamoDB Local's -delayTransientStatuses: a 1000 ms transient delay
    #[arg(long)]
    delay_transient_statuses: bool,
    /// Allowed CORS origin(s) for browser clients (default `*`)
    #[arg(long)]
    cors: Option<String>,
    /// DynamoDB Local's -sharedDb: accepted; all clients already share one database
    #[arg(long)]
    shared_db: bool,
    /// Largest accepted request body in bytes
    #[arg(long, default_value_t = ferrodyn_server::DEFAULT_MAX_BODY)]
    max_body_bytes: usize,
    /// Block cache of the embedded storage, in MiB
    #[arg(long, default_value_t = 64)]
    cache_mb: u64,
    /// Seconds between Time to Live sweeps (expired items are deleted within this period)
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    ttl_sweep_interval: f64,
    /// With --storage: seconds a server's lease on background work (the TTL sweeper,
    /// stream trimming, index backfills, restores) lasts; when the server holding it dies,
    /// another takes the work over after this long (kept above twice --ttl-sweep-interval)
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    lease_seconds: f64,
    /// Seconds after a Time to Live change during which another UpdateTimeToLive is
    /// refused, as DynamoDB refuses it (0 turns the cooldown off)
    #[arg(long, default_value_t = 1860.0, value_name = "SECONDS")]
    ttl_cooldown: f64,
    /// Directory standing in for S3 in exports and imports: each bucket is a folder in it
    #[arg(long, default_value = "ferrodyn-s3", value_name = "DIR")]
    s3_dir: std::path::PathBuf,
    /// Request authentication
    #[arg(long, value_enum, default_value_t = AuthArg::None)]
    auth: AuthArg,
    /// Keys for --auth sigv4: one `ACCESS_KEY_ID:SECRET[:ACCOUNT_ID[:SESSION_TOKEN]]` per line
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// Requests handled at once; past this, ThrottlingException
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// Open connections; past this, new ones are closed
    #[arg(long, default_value_t = 16_384)]
    max_connections: usize,
    /// Log one line per request (operation, status, error type, time)
    #[arg(long)]
    access_log: bool,
    /// Give each access key its own database, as DynamoDB Local does without -sharedDb
    /// (stored under DATA_DIR/keys/; ARNs carry the account id of the key's credentials)
    #[arg(long)]
    isolate_keys: bool,
    /// Throttle PROVISIONED tables and global indexes at their provisioned capacity
    /// (ProvisionedThroughputExceededException), to test retry logic; off by default
    #[arg(long)]
    enforce_capacity: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Operator commands against a running server (without one, the server starts)
    #[command(subcommand)]
    #[serde(skip)]
    command: Option<admin::Command>,
}

/// Rewrite DynamoDB Local's single-dash flags into ours, so scripts that start DynamoDB
/// Local can start Ferrodyn unchanged.
fn translate_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        let mapped = match a.as_str() {
            "-port" => "--port",
            "-inMemory" => "--in-memory",
            "-dbPath" => "--data-dir",
            "-sharedDb" => "--shared-db",
            "-cors" => "--cors",
            "-delayTransientStatuses" => "--delay-transient-statuses",
            "-help" => "--help",
            // accepted and ignored: they have no meaning here
            "-optimizeDbBeforeStartup" | "-disableTelemetry" => continue,
            other => {
                out.push(other.to_owned());
                continue;
            }
        };
        out.push(mapped.to_owned());
    }
    out
}

/// The arguments with the config file's and the environment's options in front, so that
/// the command line overrides the environment, which overrides the file.
fn merged_args() -> Result<Vec<String>, String> {
    use clap::CommandFactory;
    let raw = translate_args(std::env::args());
    let mut prog = raw.first().cloned().into_iter().collect::<Vec<_>>();
    let rest: Vec<String> = raw.iter().skip(1).cloned().collect();
    // A subcommand runs with its own options only.
    let known_sub = ["backup", "export", "import", "tls", "bench", "help"];
    if rest
        .first()
        .is_some_and(|a| known_sub.contains(&a.as_str()))
    {
        prog.extend(rest);
        return Ok(prog);
    }
    let longs: Vec<String> = Cli::command()
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .filter(|l| l != "config" && l != "print-config" && l != "help" && l != "version")
        .collect();
    // Options that are switches (no value): `true`/`1` turns them on, `false`/`0` leaves
    // them off; every other option passes its value on, whatever it is.
    let switches: Vec<String> = Cli::command()
        .get_arguments()
        .filter(|a| !a.get_action().takes_values())
        .filter_map(|a| a.get_long().map(str::to_owned))
        .collect();
    let env_name = |long: &str| format!("FERRODYN_{}", long.to_uppercase().replace('-', "_"));
    let mut config_path = std::env::var("FERRODYN_CONFIG").ok().map(PathBuf::from);
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            config_path = it.next().map(PathBuf::from);
        } else if let Some(p) = a.strip_prefix("--config=") {
            config_path = Some(PathBuf::from(p));
        }
    }
    let push = |out: &mut Vec<String>, long: &str, v: &str| {
        if !switches.iter().any(|s| s == long) {
            out.push(format!("--{long}"));
            out.push(v.to_owned());
        } else if matches!(v, "true" | "1") {
            out.push(format!("--{long}"));
        } else if !matches!(v, "false" | "0") {
            // Left to clap, which reports a switch given a value.
            out.push(format!("--{long}={v}"));
        }
    };
    let mut out = prog;
    if let Some(path) = &config_path {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for (k, v) in &table {
            if !longs.contains(k) {
                return Err(format!("{}: unknown option '{k}'", path.display()));
            }
            if std::env::var_os(env_name(k)).is_some() {
                continue;
            }
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Boolean(b) => b.to_string(),
                other => other.to_string(),
            };
            push(&mut out, k, &text);
        }
    }
    for long in &longs {
        if let Ok(v) = std::env::var(env_name(long)) {
            push(&mut out, long, &v);
        }
    }
    out.extend(rest);
    Ok(out)
}

/// Raise the open-file limit to its hard limit, and keep connections under it with room
/// for storage files, so that idle connections can never starve the server of descriptors.
fn connection_cap(wanted: usize) -> usize {
    let soft = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let room = usize::try_from(soft.saturating_sub(256))
        .unwrap_or(usize::MAX)
        .max(16);
    if wanted > room {
        tracing::warn!(
            wanted,
            cap = room,
            open_file_limit = soft,
            "connection cap lowered to fit the open-file limit"
        );
    }
    wanted.min(room)
}

fn main() -> ExitCode {
    let args = match merged_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ferrodyn: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(args);
    if cli.print_config {
        return match toml::to_string(&cli) {
            Ok(t) => {
                print!("{t}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ferrodyn: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    if cli.access_log {
        if let Ok(d) = "ferrodyn_access=info".parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Headroom for deep (but bounded) expression nesting in debug builds.
        .thread_stack_size(8 << 20)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ferrodyn: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(cmd) = cli.command {
        return match runtime.block_on(admin::run(cmd)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferrodyn: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrodyn: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let (backend, storage_desc): (Arc<dyn Backend>, String) = if let Some(url) = &cli.storage {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(format!(
                "--storage {url:?}: expected a postgres://user@host/db URL \
                 (the embedded engine is the default, --in-memory keeps data in memory)"
            ));
        }
        let opts = ferrodyn_storage_postgres::Options {
            pool_size: cli.storage_pool_size.max(1),
            prepared_statements: !cli.storage_no_prepare,
            commit_lanes: cli.storage_commit_lanes.max(1),
            ..ferrodyn_storage_postgres::Options::default()
        };
        let b = ferrodyn_storage_postgres::PostgresBackend::connect(url, opts)
            .map_err(|e| format!("cannot use --storage: {e}"))?;
        let desc = format!("postgres {}", b.description());
        (Arc::new(b), desc)
    } else if cli.in_memory {
        (Arc::new(MemoryBackend::new()), "in memory".into())
    } else {
        let b = FjallBackend::open(&cli.data_dir, cli.cache_mb << 20)
            .map_err(|e| format!("cannot open {}: {e}", cli.data_dir.display()))?;
        (
            Arc::new(b),
            format!("durable in {}", cli.data_dir.display()),
        )
    };
    let durability = match cli.durability {
        DurabilityArg::Fsync => Durability::Fsync,
        DurabilityArg::Buffered => Durability::Buffered,
    };
    let transient_delay = cli.transient_delay_ms.map(Duration::from_millis).or(cli
        .delay_transient_statuses
        .then(|| Duration::from_millis(1000)));
    let config = EngineConfig {
        region: cli.region.clone(),
        account_id: cli.account_id.clone(),
        transient_delay,
        ttl_sweep_interval: Duration::from_secs_f64(cli.ttl_sweep_interval.clamp(0.01, 86_400.0)),
        ttl_cooldown: Duration::from_secs_f64(cli.ttl_cooldown.clamp(0.0, 86_400.0)),
        s3_root: cli.s3_dir.clone(),
        lease_period: Duration::from_secs_f64(
            cli.lease_seconds
                .max(2.0 * cli.ttl_sweep_interval)
                .clamp(0.1, 86_400.0),
        ),
        enforce_capacity: cli.enforce_capacity,
        ..EngineConfig::default()
    };
    if cli.isolate_keys && cli.shared_db {
        return Err("--isolate-keys and --shared-db exclude each other".into());
    }
    if cli.isolate_keys && cli.storage.is_some() {
        return Err("--isolate-keys is not available with --storage yet".into());
    }
    let per_key = cli
        .isolate_keys
        .then(|| key_factory(&cli, durability, config.clone()));
    let engine = Engine::open(backend, durability, config, Arc::new(SystemClock))
        .map_err(|e| format!("cannot open storage: {e}"))?;
    let addr: SocketAddr = format!("{}:{}", cli.host, cli.port)
        .parse()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&(cli.host.as_str(), cli.port))
                .ok()
                .and_then(|mut a| a.next())
                .ok_or(())
        })
        .map_err(|_| format!("invalid listen address {}:{}", cli.host, cli.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "Ferrodyn {} listening on {}://{local} (storage: {storage_desc})",
        env!("CARGO_PKG_VERSION"),
        if cli.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    );
    let keys = match cli.auth {
        AuthArg::None => None,
        AuthArg::Sigv4 => {
            let Some(path) = &cli.credentials else {
                return Err("--auth sigv4 needs --credentials FILE".into());
            };
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let keys = ferrodyn_server::sigv4::parse_keys(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if keys.is_empty() {
                return Err(format!("{}: no keys", path.display()));
            }
            Some(Arc::new(keys))
        }
    };
    let tls = match (&cli.tls_cert, &cli.tls_key) {
        (Some(c), Some(k)) => Some(Arc::new(ferrodyn_server::tls_config(c, k)?)),
        _ => None,
    };
    let server_config = ferrodyn_server::ServerConfig {
        max_body: cli.max_body_bytes,
        cors_origin: cli.cors,
        keys,
        tls,
        max_in_flight: cli.max_in_flight,
        max_connections: connection_cap(cli.max_connections),
        access_log: cli.access_log,
        per_key,
        ..ferrodyn_server::ServerConfig::default()
    };
    let engine = engine.share();
    ferrodyn_server::serve(listener, engine.clone(), server_config, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    engine.stop().await;
    println!("Ferrodyn stopped");
    Ok(())
}

/// Per-key isolation: opens the database of an access key, in memory or in its own
/// directory under DATA_DIR/keys/ (the key itself if it is plain, else its hex).
fn key_factory(
    cli: &Cli,
    durability: Durability,
    config: EngineConfig,
) -> ferrodyn_server::EngineFactory {
    let in_memory = cli.in_memory;
    let root = cli.data_dir.join("keys");
    let cache = cli.cache_mb << 20;
    Arc::new(move |key: &str, account: Option<&str>| {
        let backend: Arc<dyn Backend> = if in_memory {
            Arc::new(MemoryBackend::new())
        } else {
            let plain = key.len() <= 128
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            let dir = if plain {
                key.to_owned()
            } else {
                key.bytes().map(|b| format!("{b:02x}")).collect()
            };
            let path = root.join(dir);
            Arc::new(
                FjallBackend::open(&path, cache)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
            )
        };
        let mut config = config.clone();
        if let Some(a) = account {
            config.account_id = a.to_owned();
        }
        let engine = Engine::open(backend, durability, config, Arc::new(SystemClock))
            .map_err(|e| format!("cannot open the database of key {key}: {e}"))?;
        tracing::info!(key, "opened the database of an access key");
        Ok(engine.share())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
