//! Helpers for the black-box tests: start the real `ferrodyn` binary on a free port and
//! build an `aws-sdk-dynamodb` client for it. The tests never reach into internals.
//!
//! With `FERRODYN_TEST_STORAGE=postgres://user@host:port/db` the servers that would keep
//! their data in memory (`--in-memory`, `-inMemory`) keep it in PostgreSQL instead: each
//! such server gets a database of its own, created on that cluster for it (named
//! `<FERRODYN_TEST_DB_PREFIX, default ferrodyn_sdk>_<pid>_<n>`) and dropped after it, so
//! tests running in parallel never see each other's tables. [`TestDatabase`] gives a test
//! that restarts a server one database for both runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A running server process, killed when dropped (and then its database dropped, if it
/// was given a fresh one).
pub struct Server {
    pub child: Child,
    pub endpoint: String,
    database: Option<TestDatabase>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `database` is dropped after this, once the server is gone.
    }
}

/// The PostgreSQL cluster the black-box tests should store data in
/// (`FERRODYN_TEST_STORAGE`), if any.
pub fn postgres_storage() -> Option<String> {
    std::env::var("FERRODYN_TEST_STORAGE")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database of its own on the `FERRODYN_TEST_STORAGE` cluster, dropped when this is.
pub struct TestDatabase {
    admin: String,
    name: String,
    /// The URL a server is given with `--storage`.
    pub url: String,
}

/// `url` with its database (the path after the host) replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let host_end = rest
        .find('/')
        .map_or(base.len(), |i| base.len() - rest.len() + i);
    let mut out = format!("{}/{db}", base.get(..host_end).unwrap_or(base));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Run one SQL statement on `url`, on a thread of its own (the callers run inside the
/// tests' tokio runtimes, which may not block).
fn admin_sql(url: &str, sql: String) -> Result<(), String> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("cannot reach FERRODYN_TEST_STORAGE {url}: {e}"))?;
            let task = tokio::spawn(conn);
            let r = client
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("{sql}: {e:?}"));
            drop(client);
            let _ = task.await;
            r
        })
    })
    .join()
    .map_err(|_| "admin thread panicked".to_string())?
}

impl TestDatabase {
    /// A new, empty database on the `FERRODYN_TEST_STORAGE` cluster.
    pub fn create() -> Result<TestDatabase, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let admin = postgres_storage().ok_or("FERRODYN_TEST_STORAGE is not set")?;
        let prefix =
            std::env::var("FERRODYN_TEST_DB_PREFIX").unwrap_or_else(|_| "ferrodyn_sdk".into());
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        admin_sql(&admin, format!("DROP DATABASE IF EXISTS \"{name}\""))?;
        admin_sql(&admin, format!("CREATE DATABASE \"{name}\""))?;
        let url = with_database(&admin, &name);
        Ok(TestDatabase { admin, name, url })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = admin_sql(
            &self.admin,
            format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

/// The binary under test: `FERRODYN_BIN`, or the workspace's debug build.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("FERRODYN_BIN") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ferrodyn")
}

/// Start `ferrodyn` with `args` on port 0 and wait for its "listening on" line. With
/// `FERRODYN_TEST_STORAGE` set, `--in-memory` / `-inMemory` become `--storage` on a fresh
/// database (see the crate documentation).
pub fn start(args: &[&str]) -> Result<Server, String> {
    let in_memory = |a: &&str| *a == "--in-memory" || *a == "-inMemory";
    let database = match postgres_storage() {
        Some(_) if args.iter().any(in_memory) => Some(TestDatabase::create()?),
        _ => None,
    };
    let mut args: Vec<&str> = args.to_vec();
    if let Some(db) = &database {
        args.retain(|a| !in_memory(a));
        args.extend(["--storage", db.url.as_str()]);
    }
    let mut server = spawn(&args)?;
    server.database = database;
    Ok(server)
}

fn spawn(args: &[&str]) -> Result<Server, String> {
    let mut child = Command::new(binary())
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {}: {e} (build it with `cargo build`)",
                binary().display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let endpoint = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| format!("unexpected first line: {line:?}"))?
        .to_owned();
    Ok(Server {
        child,
        endpoint,
        database: None,
    })
}

/// A DynamoDB client for `endpoint` with static test credentials.
pub fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    client_with_key(endpoint, "AKIDEXAMPLE", "secret")
}

/// A client signing with the given key (for `--auth sigv4`).
pub fn client_with_key(endpoint: &str, key: &str, secret: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            key.to_owned(),
            secret.to_owned(),
            None,
            None,
            "static",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:5434/postgres", "x"),
            "postgres://u@h:5434/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
