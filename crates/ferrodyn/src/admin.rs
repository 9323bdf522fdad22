//! Operator subcommands: `ferrodyn backup create|list|restore`, `ferrodyn export`,
//! `ferrodyn import`. They talk to a running server over its DynamoDB API (the same
//! requests an SDK sends), wait for the work to finish, and show a progress bar when
//! stderr is a terminal (nothing when piped). Results go to stdout.

use std::time::Duration;

use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// On-demand backups: create, list, restore
    Backup {
        #[command(subcommand)]
        action: BackupCommand,
    },
    /// Export a table (point-in-time recovery must be on) into the server's S3 directory
    Export(ExportArgs),
    /// Import DYNAMODB_JSON, ION or CSV files from the server's S3 directory into a new table
    Import(ImportArgs),
    /// Load generator: drive DynamoDB endpoints (this server or any other) and report
    /// ops/s and latency percentiles
    Bench(crate::bench::BenchArgs),
    /// TLS helpers
    Tls {
        #[command(subcommand)]
        action: TlsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a self-signed certificate and its key for local HTTPS (`cert.pem`, `key.pem`);
    /// clients trust it by using `cert.pem` as their CA bundle
    SelfSigned {
        /// Directory to write into
        #[arg(long, default_value = ".")]
        out: std::path::PathBuf,
        /// Names and addresses the certificate is for
        #[arg(long = "host", default_values = ["localhost", "127.0.0.1"])]
        hosts: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct Endpoint {
    /// URL of the running Ferrodyn server
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    endpoint: String,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up a table and wait until the backup is AVAILABLE; prints its ARN
    Create {
        #[command(flatten)]
        ep: Endpoint,
        #[arg(long)]
        table: String,
        /// Backup name (defaults to `<table>-<unix time>`)
        #[arg(long)]
        name: Option<String>,
    },
    /// List backups (all tables, or one)
    List {
        #[command(flatten)]
        ep: Endpoint,
        #[arg(long)]
        table: Option<String>,
        /// USER, SYSTEM or ALL
        #[arg(long, default_value = "ALL")]
        backup_type: String,
    },
    /// Restore a backup into a new table and wait until it is ACTIVE
    Restore {
        #[command(flatten)]
        ep: Endpoint,
        #[arg(long)]
        arn: String,
        #[arg(long)]
        target: String,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    ep: Endpoint,
    #[arg(long)]
    table: String,
    /// Bucket: a folder under the server's --s3-dir
    #[arg(long)]
    bucket: String,
    #[arg(long)]
    prefix: Option<String>,
    /// DYNAMODB_JSON or ION
    #[arg(long, default_value = "DYNAMODB_JSON")]
    format: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    ep: Endpoint,
    /// The table to create
    #[arg(long)]
    table: String,
    #[arg(long)]
    bucket: String,
    /// Key prefix of the files to read
    #[arg(long, default_value = "")]
    prefix: String,
    /// DYNAMODB_JSON, ION or CSV
    #[arg(long, default_value = "DYNAMODB_JSON")]
    format: String,
    /// NONE or GZIP
    #[arg(long, default_value = "NONE")]
    compression: String,
    /// Partition key as NAME:TYPE (TYPE is S, N or B)
    #[arg(long)]
    hash: String,
    /// Sort key as NAME:TYPE
    #[arg(long)]
    range: Option<String>,
    /// CSV delimiter
    #[arg(long)]
    delimiter: Option<String>,
}

/// Run a subcommand; Ok(()) means it finished and succeeded.
pub async fn run(cmd: Command) -> Result<(), String> {
    match cmd {
        Command::Backup { action } => match action {
            BackupCommand::Create { ep, table, name } => backup_create(&ep, &table, name).await,
            BackupCommand::List {
                ep,
                table,
                backup_type,
            } => backup_list(&ep, table, &backup_type).await,
            BackupCommand::Restore { ep, arn, target } => backup_restore(&ep, &arn, &target).await,
        },
        Command::Export(a) => export(a).await,
        Command::Import(a) => import(a).await,
        Command::Tls {
            action: TlsCommand::SelfSigned { out, hosts },
        } => self_signed(&out, hosts),
        Command::Bench(a) => crate::bench::run(a).await,
    }
}

fn self_signed(out: &std::path::Path, hosts: Vec<String>) -> Result<(), String> {
    let key = rcgen::generate_simple_self_signed(hosts).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let cert_path = out.join("cert.pem");
    let key_path = out.join("key.pem");
    std::fs::write(&cert_path, key.cert.pem())
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    write_private(&key_path, key.key_pair.serialize_pem().as_bytes())?;
    println!("{}\t{}", cert_path.display(), key_path.display());
    Ok(())
}

/// Write a file only its owner can read (a private key).
fn write_private(path: &std::path::Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(data)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// One DynamoDB API call.
async fn call(ep: &Endpoint, op: &str, body: Value) -> Result<Value, String> {
    let uri: hyper::Uri = ep
        .endpoint
        .parse()
        .map_err(|e| format!("bad --endpoint {}: {e}", ep.endpoint))?;
    let host = uri.host().unwrap_or("127.0.0.1").to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot reach {}: {e}", ep.endpoint))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let target = if matches!(op, "ListStreams" | "DescribeStream") {
        format!("DynamoDBStreams_20120810.{op}")
    } else {
        format!("DynamoDB_20120810.{op}")
    };
    let req = hyper::Request::post("/")
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=ferrodyn-admin/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-target, Signature=0",
        )
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let ok = resp.status().is_success();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if ok {
        Ok(v)
    } else {
        let kind = v
            .get("__type")
            .and_then(Value::as_str)
            .and_then(|t| t.rsplit('#').next())
            .unwrap_or("error");
        let msg = v
            .get("message")
            .or_else(|| v.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        Err(format!("{op}: {kind}: {msg}"))
    }
}

fn bar(len: Option<u64>, msg: &str) -> ProgressBar {
    let pb = match len {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} items ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    // Drawn only when stderr is a terminal: quiet when piped.
    pb.set_draw_target(ProgressDrawTarget::stderr());
    pb.set_message(msg.to_owned());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

const POLL: Duration = Duration::from_millis(200);

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

async fn backup_create(ep: &Endpoint, table: &str, name: Option<String>) -> Result<(), String> {
    let name = name.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("{table}-{t}")
    });
    let out = call(
        ep,
        "CreateBackup",
        json!({"TableName": table, "BackupName": name}),
    )
    .await?;
    let arn = s(&out, "/BackupDetails/BackupArn").to_owned();
    let pb = bar(None, &format!("backing up {table}"));
    loop {
        let d = call(ep, "DescribeBackup", json!({ "BackupArn": arn })).await?;
        if s(&d, "/BackupDescription/BackupDetails/BackupStatus") == "AVAILABLE" {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    pb.finish_and_clear();
    println!("{arn}");
    Ok(())
}

async fn backup_list(ep: &Endpoint, table: Option<String>, kind: &str) -> Result<(), String> {
    let mut start: Option<String> = None;
    loop {
        let mut req = json!({ "BackupType": kind });
        if let Some(t) = &table {
            set(&mut req, "TableName", t.clone());
        }
        if let Some(a) = &start {
            set(&mut req, "ExclusiveStartBackupArn", a.clone());
        }
        let out = call(ep, "ListBackups", req).await?;
        for b in out
            .get("BackupSummaries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                s(b, "/BackupArn"),
                s(b, "/TableName"),
                s(b, "/BackupName"),
                s(b, "/BackupType"),
                s(b, "/BackupStatus"),
                b.get("BackupSizeBytes")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            );
        }
        match out.get("LastEvaluatedBackupArn").and_then(Value::as_str) {
            Some(a) => start = Some(a.to_owned()),
            None => return Ok(()),
        }
    }
}

async fn backup_restore(ep: &Endpoint, arn: &str, target: &str) -> Result<(), String> {
    let d = call(ep, "DescribeBackup", json!({ "BackupArn": arn })).await?;
    let total = d
        .pointer("/BackupDescription/SourceTableDetails/ItemCount")
        .and_then(Value::as_u64);
    call(
        ep,
        "RestoreTableFromBackup",
        json!({"BackupArn": arn, "TargetTableName": target}),
    )
    .await?;
    let pb = bar(total, &format!("restoring {target}"));
    let items = wait_active(ep, target, &pb).await?;
    pb.finish_and_clear();
    println!("{target}\t{items} items");
    Ok(())
}

/// Poll DescribeTable until ACTIVE, moving the bar with ItemCount; the final count.
async fn wait_active(ep: &Endpoint, table: &str, pb: &ProgressBar) -> Result<u64, String> {
    loop {
        match call(ep, "DescribeTable", json!({ "TableName": table })).await {
            Ok(d) => {
                let n = d
                    .pointer("/Table/ItemCount")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                pb.set_position(n);
                if s(&d, "/Table/TableStatus") == "ACTIVE" {
                    return Ok(n);
                }
            }
            Err(e) if e.contains("ResourceNotFoundException") => {}
            Err(e) => return Err(e),
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn export(a: ExportArgs) -> Result<(), String> {
    let t = call(&a.ep, "DescribeTable", json!({"TableName": a.table})).await?;
    let mut req = json!({
        "TableArn": s(&t, "/Table/TableArn"),
        "S3Bucket": a.bucket,
        "ExportFormat": a.format,
    });
    if let Some(p) = &a.prefix {
        set(&mut req, "S3Prefix", p.clone());
    }
    let out = call(&a.ep, "ExportTableToPointInTime", req).await?;
    let arn = s(&out, "/ExportDescription/ExportArn").to_owned();
    let pb = bar(None, &format!("exporting {}", a.table));
    let d = loop {
        let d = call(&a.ep, "DescribeExport", json!({ "ExportArn": arn })).await?;
        match s(&d, "/ExportDescription/ExportStatus") {
            "IN_PROGRESS" => tokio::time::sleep(POLL).await,
            _ => break d,
        }
    };
    pb.finish_and_clear();
    if s(&d, "/ExportDescription/ExportStatus") != "COMPLETED" {
        return Err(format!(
            "export failed: {}",
            s(&d, "/ExportDescription/FailureMessage")
        ));
    }
    println!(
        "{arn}\t{} items\t{}/{}",
        d.pointer("/ExportDescription/ItemCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        a.bucket,
        s(&d, "/ExportDescription/ExportManifest")
    );
    Ok(())
}

fn key_attr(spec: &str, role: &str) -> Result<(Value, Value), String> {
    let (name, ty) = spec
        .rsplit_once(':')
        .ok_or_else(|| format!("--{role} must be NAME:TYPE, got {spec}"))?;
    let key_type = if role == "hash" { "HASH" } else { "RANGE" };
    Ok((
        json!({"AttributeName": name, "KeyType": key_type}),
        json!({"AttributeName": name, "AttributeType": ty}),
    ))
}

async fn import(a: ImportArgs) -> Result<(), String> {
    let mut keys = Vec::new();
    let mut defs = Vec::new();
    let (k, d) = key_attr(&a.hash, "hash")?;
    keys.push(k);
    defs.push(d);
    if let Some(r) = &a.range {
        let (k, d) = key_attr(r, "range")?;
        keys.push(k);
        defs.push(d);
    }
    let mut req = json!({
        "S3BucketSource": {"S3Bucket": a.bucket, "S3KeyPrefix": a.prefix},
        "InputFormat": a.format,
        "InputCompressionType": a.compression,
        "TableCreationParameters": {
            "TableName": a.table, "KeySchema": keys, "AttributeDefinitions": defs,
            "BillingMode": "PAY_PER_REQUEST"
        }
    });
    if let Some(d) = &a.delimiter {
        set(
            &mut req,
            "InputFormatOptions",
            json!({"Csv": {"Delimiter": d}}),
        );
    }
    let out = call(&a.ep, "ImportTable", req).await?;
    let arn = s(&out, "/ImportTableDescription/ImportArn").to_owned();
    let pb = bar(None, &format!("importing into {}", a.table));
    let d = loop {
        let d = call(&a.ep, "DescribeImport", json!({ "ImportArn": arn })).await?;
        match s(&d, "/ImportTableDescription/ImportStatus") {
            "IN_PROGRESS" => tokio::time::sleep(POLL).await,
            _ => break d,
        }
    };
    pb.finish_and_clear();
    let n = |k: &str| {
        d.pointer(&format!("/ImportTableDescription/{k}"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    println!(
        "{arn}\t{}\tprocessed {}\timported {}\terrors {}",
        s(&d, "/ImportTableDescription/ImportStatus"),
        n("ProcessedItemCount"),
        n("ImportedItemCount"),
        n("ErrorCount")
    );
    match s(&d, "/ImportTableDescription/ImportStatus") {
        "COMPLETED" => Ok(()),
        _ => Err(format!(
            "import ended {}: {}",
            s(&d, "/ImportTableDescription/FailureCode"),
            s(&d, "/ImportTableDescription/FailureMessage")
        )),
    }
}

fn set(v: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value.into());
    }
}
