//! `ferrodyn bench`: a load generator for any DynamoDB endpoint. Each connection is one
//! keep-alive HTTP/1.1 connection sending SigV4-signed requests (as an SDK does) in a loop
//! for the duration; latencies go into per-connection vectors merged at the end.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Endpoints to drive, one after another (repeat the option)
    #[arg(long = "endpoint", required = true)]
    endpoints: Vec<String>,
    /// Workloads: put, get, zipf-get, mix, query, update (repeat the option)
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
    // About 200 bytes, like the workload.
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
}

async fn worker(
    endpoint: String,
    workload: String,
    items: u64,
    seed: u64,
    until: Instant,
) -> Result<Outcome, String> {
    let mut c = connect(&endpoint).await?;
    let mut rng = Rng(seed | 1);
    let mut out = Outcome {
        latencies: Vec::with_capacity(1 << 16),
        errors: 0,
    };
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
            w => w,
        };
        let (op, body) = match kind {
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
        let t = Instant::now();
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
    if !a.json {
        println!(
            "{:<28} {:<9} {:>5} {:>10} {:>8} {:>8} {:>9} {:>7}",
            "endpoint", "workload", "conns", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "errors"
        );
    }
    for endpoint in &a.endpoints {
        setup(endpoint, a.items).await?;
        for workload in &a.workloads {
            let until = Instant::now() + Duration::from_secs_f64(a.duration.max(0.1));
            let started = Instant::now();
            let mut tasks = Vec::new();
            for i in 0..a.connections {
                tasks.push(tokio::spawn(worker(
                    endpoint.clone(),
                    workload.clone(),
                    a.items,
                    0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
                    until,
                )));
            }
            let mut all = Vec::new();
            let mut errors = 0;
            for t in tasks {
                let o = t.await.map_err(|e| e.to_string())??;
                all.extend(o.latencies);
                errors += o.errors;
            }
            let secs = started.elapsed().as_secs_f64();
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
                           "p50_ms": p50, "p99_ms": p99, "p999_ms": p999, "errors": errors})
                );
            } else {
                println!(
                    "{:<28} {:<9} {:>5} {:>10.0} {:>8.3} {:>8.3} {:>9.3} {:>7}",
                    endpoint, workload, a.connections, ops, p50, p99, p999, errors
                );
            }
        }
    }
    Ok(())
}
