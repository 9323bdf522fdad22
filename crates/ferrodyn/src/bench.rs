//! `ferrodyn bench`: a load generator for any DynamoDB endpoint. Each connection is one
//! keep-alive HTTP/1.1 connection sending SigV4-signed requests (as an SDK does) in a loop
//! for the duration; latencies go into per-connection vectors merged at the end.
//!
//! Workloads: `put`, `get` (uniform), `zipf-get`, `mix` (50/50 get/put), `query` (the 10
//! items of a partition), `update` (ADD to a counter), `batch-write` (25 new items per
//! BatchWriteItem), `scan` (a whole-table Scan, every page, per operation) and the YCSB core
//! workloads `ycsb-a` .. `ycsb-f` mapped onto DynamoDB calls (read = GetItem, update =
//! UpdateItem SET of one field, insert = PutItem of a new key, scan = Query of a partition
//! with a random Limit up to 10, read-modify-write = GetItem then UpdateItem).
//!
//! `--canned PORT` instead serves canned DynamoDB-shaped answers from a bare hyper server,
//! to measure the ceiling of HTTP on the machine under the same driver.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Endpoints to drive, one after another (repeat the option)
    #[arg(long = "endpoint", required_unless_present = "canned")]
    endpoints: Vec<String>,
    /// Workloads: put, get, zipf-get, mix, query, update, batch-write, scan, ycsb-a ..
    /// ycsb-f (repeat the option)
    #[arg(long = "workload", default_values = ["put", "get"])]
    workloads: Vec<String>,
    /// Concurrent connections
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds per workload
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Items preloaded for reads
    #[arg(long, default_value_t = 10_000)]
    items: u64,
    /// Print one JSON object per result instead of a table
    #[arg(long)]
    json: bool,
    /// Also report the CPU time of these server processes during each workload (one per
    /// endpoint, in the same order; 0 for none)
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// Skip table creation and preloading (the table is already loaded)
    #[arg(long)]
    no_setup: bool,
    /// Serve canned DynamoDB-shaped answers on this port instead (the HTTP ceiling)
    #[arg(long, value_name = "PORT")]
    canned: Option<u16>,
}

/// CPU seconds (user + system) a process has used, from /proc (Linux; 100 ticks/s).
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces), ")" closes it.
    let rest = text.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A bare hyper server that reads each request and answers canned bytes shaped like
/// DynamoDB's GetItem (for GetItem) or PutItem (anything else) answer.
async fn canned(port: u16) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    println!("canned DynamoDB-shaped answers on http://127.0.0.1:{port}");
    let get = Bytes::from_static(
        br#"{"Item":{"pk":{"S":"p1"},"sk":{"N":"1"},"payload":{"S":"pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"},"n":{"N":"1"}}}"#,
    );
    let put = Bytes::from_static(b"{}");
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let (get, put) = (get.clone(), put.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (get, put) = (get.clone(), put.clone());
                    async move {
                        let is_get = req
                            .headers()
                            .get("x-amz-target")
                            .is_some_and(|t| t.as_bytes().ends_with(b".GetItem"));
                        let _ = req.into_body().collect().await;
                        let body = if is_get { get } else { put };
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/x-amz-json-1.0")
                                .header("x-amzn-requestid", "CANNED")
                                .body(Full::new(body))
                                .unwrap_or_default(),
                        )
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

const TABLE: &str = "ferrodyn_bench";
const KEY: &str = "AKIDBENCH";
const SECRET: &str = "bench/secret";

/// xorshift64*: fast, good enough for key choice.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Zipfian-ish over 0..n (skew 0.99 by rejection-free approximation: power law).
    fn zipf(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let x = (n as f64).powf(u) - 1.0;
        (x as u64).min(n.saturating_sub(1))
    }
}

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

async fn connect(endpoint: &str) -> Result<Conn, String> {
    let uri: hyper::Uri = endpoint.parse().map_err(|e| format!("{endpoint}: {e}"))?;
    let host = uri.host().unwrap_or("127.0.0.1").to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("{endpoint}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(Conn {
        sender,
        host: format!("{host}:{port}"),
    })
}

impl Conn {
    /// One signed call; (HTTP status, body).
    async fn call(&mut self, op: &str, body: &Value) -> Result<(u16, Bytes), String> {
        let body = body.to_string().into_bytes();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let date = ferrodyn_server::sigv4::amz_date(now);
        let target = format!("DynamoDB_20120810.{op}");
        let headers = vec![
            (
                "content-type".to_owned(),
                "application/x-amz-json-1.0".to_owned(),
            ),
            ("host".to_owned(), self.host.clone()),
            ("x-amz-date".to_owned(), date.clone()),
            ("x-amz-target".to_owned(), target.clone()),
        ];
        let parts = ferrodyn_server::sigv4::RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: &body,
        };
        let auth = ferrodyn_server::sigv4::authorization(&parts, KEY, SECRET, "us-east-1", &date);
        let mut req = hyper::Request::post("/");
        for (n, v) in &headers {
            req = req.header(n.as_str(), v.as_str());
        }
        let req = req
            .header("authorization", auth)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, bytes))
    }
}

fn item(pk: &str, sk: u64) -> Value {
    // About 200 bytes, like the issue's workload.
    json!({
        "pk": {"S": pk}, "sk": {"N": sk.to_string()},
        "payload": {"S": "p".repeat(150)}, "n": {"N": "1"}
    })
}

async fn setup(endpoint: &str, items: u64) -> Result<(), String> {
    let mut c = connect(endpoint).await?;
    let (status, _) = c
        .call("DescribeTable", &json!({ "TableName": TABLE }))
        .await?;
    if status == 200 {
        c.call("DeleteTable", &json!({ "TableName": TABLE }))
            .await?;
        for _ in 0..200 {
            let (s, _) = c
                .call("DescribeTable", &json!({ "TableName": TABLE }))
                .await?;
            if s != 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (status, body) = c
        .call(
            "CreateTable",
            &json!({
                "TableName": TABLE,
                "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
                "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
        )
        .await?;
    if status != 200 {
        return Err(format!(
            "CreateTable failed: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    for _ in 0..400 {
        let (_, b) = c
            .call("DescribeTable", &json!({ "TableName": TABLE }))
            .await?;
        if String::from_utf8_lossy(&b).contains("\"ACTIVE\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Preload: item k is partition p{k/10}, sort key k%10 (10 items per partition).
    let mut k = 0;
    while k < items {
        let batch: Vec<Value> = (k..(k + 25).min(items))
            .map(|i| json!({"PutRequest": {"Item": item(&format!("p{}", i / 10), i % 10)}}))
            .collect();
        k += 25;
        let (s, b) = c
            .call(
                "BatchWriteItem",
                &json!({ "RequestItems": { TABLE: batch } }),
            )
            .await?;
        if s != 200 {
            return Err(format!("preload failed: {}", String::from_utf8_lossy(&b)));
        }
    }
    Ok(())
}

struct Outcome {
    latencies: Vec<u32>,
    errors: u64,
    /// Items written or read by batch-write and scan operations.
    items: u64,
}

fn key_of(k: u64) -> Value {
    json!({"pk": {"S": format!("p{}", k / 10)}, "sk": {"N": (k % 10).to_string()}})
}

/// Pick the operation of a YCSB workload from a uniform draw in 0..100.
fn ycsb(workload: &str, r: u64) -> &'static str {
    let r = r % 100;
    match workload {
        "ycsb-a" if r < 50 => "y-read",
        "ycsb-a" => "y-update",
        "ycsb-b" if r < 95 => "y-read",
        "ycsb-b" => "y-update",
        "ycsb-c" => "y-read",
        "ycsb-d" if r < 95 => "y-read-latest",
        "ycsb-d" => "y-insert",
        "ycsb-e" if r < 95 => "y-scan",
        "ycsb-e" => "y-insert",
        "ycsb-f" if r < 50 => "y-read",
        "ycsb-f" => "y-rmw",
        _ => "unknown YCSB workload",
    }
}

async fn worker(
    endpoint: String,
    workload: String,
    items: u64,
    seed: u64,
    until: Instant,
    inserted: Arc<AtomicU64>,
) -> Result<Outcome, String> {
    let mut c = connect(&endpoint).await?;
    let mut rng = Rng(seed | 1);
    let mut out = Outcome {
        latencies: Vec::with_capacity(1 << 16),
        errors: 0,
        items: 0,
    };
    let items = items.max(1);
    while Instant::now() < until {
        let r = rng.next();
        let kind = match workload.as_str() {
            "mix" => {
                if r.is_multiple_of(2) {
                    "get"
                } else {
                    "put"
                }
            }
            w if w.starts_with("ycsb-") => ycsb(w, r >> 7),
            w => w,
        };
        let t = Instant::now();
        // Multi-request operations: a whole-table scan, a read-modify-write.
        if kind == "scan" || kind == "y-rmw" {
            let mut failed = false;
            if kind == "scan" {
                let mut start: Option<Value> = None;
                loop {
                    let body = match start.take() {
                        Some(k) => json!({"TableName": TABLE, "ExclusiveStartKey": k}),
                        None => json!({"TableName": TABLE}),
                    };
                    match c.call("Scan", &body).await {
                        Ok((200, b)) => {
                            let v: Value = serde_json::from_slice(&b).unwrap_or_default();
                            out.items += v.get("Count").and_then(Value::as_u64).unwrap_or(0);
                            match v.get("LastEvaluatedKey") {
                                Some(k) => start = Some(k.clone()),
                                None => break,
                            }
                        }
                        _ => {
                            failed = true;
                            break;
                        }
                    }
                }
            } else {
                let k = rng.zipf(items);
                let get = json!({"TableName": TABLE, "Key": key_of(k)});
                let upd = json!({"TableName": TABLE, "Key": key_of(k),
                    "UpdateExpression": "SET payload = :v",
                    "ExpressionAttributeValues": {":v": {"S": format!("{:0150}", rng.next())}}});
                failed = !matches!(c.call("GetItem", &get).await, Ok((200, _)))
                    || !matches!(c.call("UpdateItem", &upd).await, Ok((200, _)));
            }
            if failed {
                out.errors += 1;
                c = connect(&endpoint).await?;
            }
            out.latencies
                .push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            continue;
        }
        let (op, body) = match kind {
            "batch-write" => {
                let batch: Vec<Value> = (0..25)
                    .map(|_| json!({"PutRequest": {"Item": item(&format!("b{}", rng.next() % 1_000_000_000_000), 0)}}))
                    .collect();
                out.items += 25;
                (
                    "BatchWriteItem",
                    json!({ "RequestItems": { TABLE: batch } }),
                )
            }
            "y-read" => (
                "GetItem",
                json!({"TableName": TABLE, "Key": key_of(rng.zipf(items))}),
            ),
            "y-read-latest" => {
                let top = items + inserted.load(Ordering::Relaxed);
                let k = top - 1 - rng.zipf(top);
                ("GetItem", json!({"TableName": TABLE, "Key": key_of(k)}))
            }
            "y-update" => (
                "UpdateItem",
                json!({"TableName": TABLE, "Key": key_of(rng.zipf(items)),
                       "UpdateExpression": "SET payload = :v",
                       "ExpressionAttributeValues": {":v": {"S": format!("{:0150}", rng.next())}}}),
            ),
            "y-insert" => {
                let k = items + inserted.fetch_add(1, Ordering::Relaxed);
                (
                    "PutItem",
                    json!({"TableName": TABLE, "Item": item(&format!("p{}", k / 10), k % 10)}),
                )
            }
            "y-scan" => {
                let top = items + inserted.load(Ordering::Relaxed);
                let p = rng.zipf(top / 10 + 1);
                (
                    "Query",
                    json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                           "Limit": rng.next() % 10 + 1,
                           "ExpressionAttributeValues": {":p": {"S": format!("p{p}")}}}),
                )
            }
            "put" => (
                "PutItem",
                json!({"TableName": TABLE, "Item": item(&format!("w{}", rng.next() % 1_000_000_000), 0)}),
            ),
            "get" | "zipf-get" => {
                let k = if kind == "get" {
                    rng.next() % items.max(1)
                } else {
                    rng.zipf(items.max(1))
                };
                (
                    "GetItem",
                    json!({"TableName": TABLE, "Key": {"pk": {"S": format!("p{}", k / 10)}, "sk": {"N": (k % 10).to_string()}}}),
                )
            }
            "query" => (
                "Query",
                json!({"TableName": TABLE, "KeyConditionExpression": "pk = :p",
                       "ExpressionAttributeValues": {":p": {"S": format!("p{}", rng.next() % (items / 10).max(1))}}}),
            ),
            "update" => {
                let k = rng.next() % items.max(1);
                (
                    "UpdateItem",
                    json!({"TableName": TABLE, "Key": {"pk": {"S": format!("p{}", k / 10)}, "sk": {"N": (k % 10).to_string()}},
                           "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}),
                )
            }
            other => return Err(format!("unknown workload {other}")),
        };
        match c.call(op, &body).await {
            Ok((200, _)) => {}
            Ok(_) => out.errors += 1,
            Err(_) => {
                out.errors += 1;
                c = connect(&endpoint).await?;
            }
        }
        out.latencies
            .push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
    }
    Ok(out)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted.get(i).copied().unwrap_or(0)) / 1000.0
}

pub async fn run(a: BenchArgs) -> Result<(), String> {
    if let Some(port) = a.canned {
        return canned(port).await;
    }
    if !a.json {
        println!(
            "{:<28} {:<12} {:>5} {:>10} {:>8} {:>8} {:>9} {:>7} {:>9} {:>7} {:>7}",
            "endpoint",
            "workload",
            "conns",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "errors",
            "items/s",
            "drv cpu",
            "srv cpu"
        );
    }
    for (n, endpoint) in a.endpoints.iter().enumerate() {
        if !a.no_setup {
            setup(endpoint, a.items).await?;
        }
        let server_pid = a.server_pids.get(n).copied().filter(|p| *p != 0);
        let inserted = Arc::new(AtomicU64::new(0));
        for workload in &a.workloads {
            let until = Instant::now() + Duration::from_secs_f64(a.duration.max(0.1));
            let started = Instant::now();
            let (drv0, srv0) = (cpu_seconds(None), cpu_seconds(server_pid));
            let mut tasks = Vec::new();
            for i in 0..a.connections {
                tasks.push(tokio::spawn(worker(
                    endpoint.clone(),
                    workload.clone(),
                    a.items,
                    0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
                    until,
                    inserted.clone(),
                )));
            }
            let mut all = Vec::new();
            let mut errors = 0;
            let mut moved = 0;
            for t in tasks {
                let o = t.await.map_err(|e| e.to_string())??;
                all.extend(o.latencies);
                errors += o.errors;
                moved += o.items;
            }
            let secs0 = started.elapsed().as_secs_f64();
            // CPU used as a share of one core, over the workload's wall time.
            let share = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => Some((b - a) / secs0),
                _ => None,
            };
            let drv = share(drv0, cpu_seconds(None));
            let srv = share(srv0, cpu_seconds(server_pid));
            let items_per_sec = moved as f64 / secs0;
            let secs = secs0;
            all.sort_unstable();
            let ops = all.len() as f64 / secs;
            let (p50, p99, p999) = (
                percentile(&all, 0.50),
                percentile(&all, 0.99),
                percentile(&all, 0.999),
            );
            if a.json {
                println!(
                    "{}",
                    json!({"endpoint": endpoint, "workload": workload, "connections": a.connections,
                           "seconds": secs, "ops": all.len(), "ops_per_sec": ops,
                           "p50_ms": p50, "p99_ms": p99, "p999_ms": p999, "errors": errors,
                           "items_per_sec": items_per_sec, "driver_cpu": drv, "server_cpu": srv})
                );
            } else {
                let pct =
                    |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{:.0}%", x * 100.0));
                println!(
                    "{:<28} {:<12} {:>5} {:>10.0} {:>8.3} {:>8.3} {:>9.3} {:>7} {:>9.0} {:>7} {:>7}",
                    endpoint,
                    workload,
                    a.connections,
                    ops,
                    p50,
                    p99,
                    p999,
                    errors,
                    items_per_sec,
                    pct(drv),
                    pct(srv)
                );
            }
        }
    }
    Ok(())
}
