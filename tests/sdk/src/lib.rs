//! Helpers for the black-box tests: start the real `ferrodyn` binary on a free port and
//! build an `aws-sdk-dynamodb` client for it. The tests never reach into internals.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary under test: `FERRODYN_BIN`, or the workspace's debug build.
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("FERRODYN_BIN") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ferrodyn")
}

/// Start `ferrodyn` with `args` on port 0 and wait for its "listening on" line.
pub fn start(args: &[&str]) -> Result<Server, String> {
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
    Ok(Server { child, endpoint })
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
