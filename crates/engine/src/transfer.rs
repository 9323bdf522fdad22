//! Export to and import from "S3": a local directory (`EngineConfig::s3_root`) in which
//! each bucket is a folder. Exports write the layout AWS writes (`<prefix>/AWSDynamoDB/
//! <export id>/` with `_started`, `manifest-summary.json`, `manifest-files.json`, their
//! `.checksum` files and gzipped `data/*.json.gz` or `data/*.ion.gz`); imports read
//! DYNAMODB_JSON, ION or CSV files under a key prefix, uncompressed or gzipped, into a new
//! table. Both run in the background, under the lease `export/<arn>` / `import/<arn>` when
//! storage is shared; one left IN_PROGRESS by a server that died (or, on embedded storage,
//! by a killed process) is run again (`resume_transfers`). Their records live in the
//! `exports` / `imports` keyspaces.

use std::io::{BufRead, Read, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_storage::{Backend, Durability, Op};
use ferrodyn_types::codec::{decode_item, encode_item};
use ferrodyn_types::{AttributeValue, Item, Number, ScalarType};
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::backup::RestoreSource;
use crate::catalog::TableMeta;
use crate::{storage_error, Engine, TxError};

pub const EXPORTS: &str = "exports";
pub const IMPORTS: &str = "imports";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExportInput {
    pub table_arn: Option<String>,
    pub export_time: Option<f64>,
    pub client_token: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_bucket_owner: Option<String>,
    pub s3_prefix: Option<String>,
    pub s3_sse_algorithm: Option<String>,
    pub s3_sse_kms_key_id: Option<String>,
    pub export_format: Option<String>,
    pub export_type: Option<String>,
    pub incremental_export_specification: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ArnInput {
    pub export_arn: Option<String>,
    pub import_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTransfersInput {
    pub table_arn: Option<String>,
    pub max_results: Option<i64>,
    pub page_size: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct S3BucketSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket_owner: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CsvOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_list: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InputFormatOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImportInput {
    pub client_token: Option<String>,
    pub s3_bucket_source: Option<S3BucketSource>,
    pub input_format: Option<String>,
    pub input_format_options: Option<InputFormatOptions>,
    pub input_compression_type: Option<String>,
    pub table_creation_parameters: Option<Value>,
}

/// `<base arn>/<kind>/<14-digit ms>-<8 hex>`.
fn transfer_arn(table_arn: &str, kind: &str, now: f64) -> String {
    let ms = (now * 1000.0).max(0.0) as u64;
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{table_arn}/{kind}/{ms:014}-{}",
        id.get(..8).unwrap_or("00000000")
    )
}

fn iso_ms(t: f64) -> String {
    let s = crate::ops::table::iso_seconds(t);
    let ms = ((t * 1000.0).round() as i64).rem_euclid(1000);
    format!("{}.{ms:03}Z", s.trim_end_matches('Z'))
}

fn set(v: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value.into());
    }
}

fn scalar_type(s: &str) -> Option<ScalarType> {
    match s {
        "S" => Some(ScalarType::S),
        "N" => Some(ScalarType::N),
        "B" => Some(ScalarType::B),
        _ => None,
    }
}

/// A bucket name: S3's characters only, so it is one folder under the root.
fn check_bucket(v: &mut Violations, bucket: &Option<String>, path: &str) {
    match bucket {
        None => v.not_null(bucket, path),
        Some(b) => {
            let ok = !b.is_empty()
                && b.len() <= 255
                && b.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && b.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && b.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
            if !ok {
                v.add(
                    Some(b),
                    path,
                    "Member must satisfy regular expression pattern: ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$",
                );
            }
        }
    }
}

/// A key prefix may not climb out of its bucket.
fn safe_prefix(p: &str) -> bool {
    !p.split('/').any(|c| c == ".." || c == ".") && !p.starts_with('/') && !p.contains('\\')
}

/// 26 lowercase base32 characters, like the data file names AWS writes.
fn file_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let a = uuid::Uuid::new_v4().as_u128();
    let b = uuid::Uuid::new_v4().as_u128();
    (0..26)
        .map(|i| {
            let x = if i < 25 { a >> (i * 5) } else { b };
            ALPHABET.get((x & 31) as usize).copied().unwrap_or(b'a') as char
        })
        .collect()
}

fn io_err(e: std::io::Error) -> String {
    e.to_string()
}

/// Write a file whole or not at all: to a temporary name, then renamed into place.
fn write_whole(path: &Path, data: &[u8]) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data).map_err(io_err)?;
    std::fs::rename(&tmp, path).map_err(io_err)
}

/// Said by [`write_export`] when `stop` was set (the export's lease was lost).
const STOPPED: &str = "stopped: the export's lease was lost";

/// Write one export: data file, then manifests and checksums (the summary last, so a
/// manifest only ever names a complete data file). Whatever an earlier attempt of the
/// same export left in `dir` (its server died) is removed first. Stops, removing its data
/// file, when `stop` is set. Blocking.
fn write_export(
    backend: &dyn Backend,
    staging: &str,
    dir: &Path,
    key_base: &str,
    format: &str,
    desc: &mut Value,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io_err)?;
    }
    std::fs::create_dir_all(dir.join("data")).map_err(io_err)?;
    std::fs::write(dir.join("_started"), b"").map_err(io_err)?;
    let ext = if format == "ION" { "ion.gz" } else { "json.gz" };
    let data_name = format!("data/{}.{ext}", file_name());
    let data_path = dir.join(&data_name);
    let file = std::fs::File::create(&data_path).map_err(io_err)?;
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::new(file),
        flate2::Compression::default(),
    );
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut failed = None;
    {
        let view = backend.snapshot().map_err(|e| e.to_string())?;
        view.scan(
            staging,
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            &mut |_, v| {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    failed = Some(STOPPED.to_owned());
                    return false;
                }
                let Ok(item) = decode_item(v) else {
                    return true;
                };
                count += 1;
                bytes += ferrodyn_types::item_size(&item) as u64;
                let line = if format == "ION" {
                    crate::ion::item_line(&item)
                } else {
                    json!({ "Item": item }).to_string()
                };
                if let Err(e) = gz
                    .write_all(line.as_bytes())
                    .and_then(|_| gz.write_all(b"\n"))
                {
                    failed = Some(e.to_string());
                    return false;
                }
                true
            },
        )
        .map_err(|e| e.to_string())?;
    }
    if let Some(e) = failed {
        let _ = std::fs::remove_file(&data_path);
        return Err(e);
    }
    gz.finish().and_then(|mut w| w.flush()).map_err(io_err)?;
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = std::fs::remove_file(&data_path);
        return Err(STOPPED.to_owned());
    }
    let data = std::fs::read(&data_path).map_err(io_err)?;
    let digest = Md5::digest(&data);
    let md5_b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    let md5_hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let manifest_files = format!(
        "{}\n",
        json!({
            "itemCount": count,
            "md5Checksum": md5_b64,
            "etag": md5_hex,
            "dataFileS3Key": format!("{key_base}/{data_name}"),
        })
    );
    write_whole(&dir.join("manifest-files.json"), manifest_files.as_bytes())?;
    let hex = |b: &[u8]| -> String { Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect() };
    write_whole(
        &dir.join("manifest-files.checksum"),
        hex(manifest_files.as_bytes()).as_bytes(),
    )?;
    let end = desc.get("EndTime").and_then(Value::as_f64).unwrap_or(0.0);
    let f = |k: &str| desc.get(k).cloned().unwrap_or(Value::Null);
    let summary = json!({
        "version": "2020-06-30",
        "exportArn": f("ExportArn"),
        "startTime": iso_ms(f("StartTime").as_f64().unwrap_or(0.0)),
        "endTime": iso_ms(end),
        "tableArn": f("TableArn"),
        "tableId": f("TableId"),
        "exportTime": iso_ms(f("ExportTime").as_f64().unwrap_or(0.0)),
        "s3Bucket": f("S3Bucket"),
        "s3Prefix": f("S3Prefix"),
        "s3SseAlgorithm": f("S3SseAlgorithm"),
        "s3SseKmsKeyId": f("S3SseKmsKeyId"),
        "manifestFilesS3Key": format!("{key_base}/manifest-files.json"),
        "billedSizeBytes": bytes,
        "itemCount": count,
        "outputFormat": format,
        "exportType": "FULL_EXPORT",
    })
    .to_string();
    write_whole(
        &dir.join("manifest-summary.checksum"),
        hex(summary.as_bytes()).as_bytes(),
    )?;
    write_whole(&dir.join("manifest-summary.json"), summary.as_bytes())?;
    set(desc, "ItemCount", count);
    set(desc, "BilledSizeBytes", bytes);
    set(
        desc,
        "ExportManifest",
        format!("{key_base}/manifest-summary.json"),
    );
    Ok(())
}

/// What an import read.
#[derive(Default)]
struct ImportCounts {
    processed: i64,
    imported: i64,
    errors: i64,
    bytes: i64,
}

/// Every file under `root/bucket` whose key starts with `prefix`, in key order.
fn list_objects(root: &Path, bucket: &str, prefix: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let base = root.join(bucket);
    if !base.is_dir() {
        return Err("S3NoSuchBucket".into());
    }
    let mut out = Vec::new();
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(io_err)? {
            let e = e.map_err(io_err)?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(&base) {
                let key = rel.to_string_lossy().replace('\\', "/");
                if key.starts_with(prefix) {
                    out.push((key, p));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One CSV/JSON/ION record to an item, typed as the table's key attributes say.
fn csv_item(
    headers: &[String],
    rec: &csv::StringRecord,
    types: &[(String, ScalarType)],
) -> Result<Item, String> {
    let mut item = Item::new();
    for (h, v) in headers.iter().zip(rec.iter()) {
        let ty = types.iter().find(|(n, _)| n == h).map(|(_, t)| *t);
        let value = match ty {
            Some(ScalarType::N) => AttributeValue::N(
                Number::parse(v).map_err(|e| format!("{h}: not a number: {e:?}"))?,
            ),
            Some(ScalarType::B) => AttributeValue::B(
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|e| format!("{h}: not base64: {e}"))?,
            ),
            Some(ScalarType::S) => AttributeValue::S(v.to_owned()),
            None if v.is_empty() => continue,
            None => AttributeValue::S(v.to_owned()),
        };
        item.insert(h.clone(), value);
    }
    Ok(item)
}

/// Parse the import files into `staging`, checking every item against the table's key and
/// index schemas. Blocking.
fn read_import(
    backend: &dyn Backend,
    meta: &TableMeta,
    files: &[(String, PathBuf)],
    input: &ImportInput,
    staging: &str,
) -> Result<ImportCounts, String> {
    let mut counts = ImportCounts::default();
    let format = input.input_format.as_deref().unwrap_or("DYNAMODB_JSON");
    let gzip = input.input_compression_type.as_deref() == Some("GZIP");
    let csv_opts = input
        .input_format_options
        .as_ref()
        .and_then(|o| o.csv.clone())
        .unwrap_or_default();
    // Types of every key attribute (table and indexes), for CSV columns.
    let mut types: Vec<(String, ScalarType)> = meta
        .schema
        .names()
        .map(|n| n.to_owned())
        .filter_map(|n| {
            meta.desc
                .attribute_definitions
                .iter()
                .find(|a| a.attribute_name.as_deref() == Some(n.as_str()))
                .and_then(|a| a.attribute_type.as_deref().and_then(scalar_type))
                .map(|t| (n, t))
        })
        .collect();
    for a in &meta.desc.attribute_definitions {
        if let (Some(n), Some(t)) = (
            &a.attribute_name,
            a.attribute_type.as_deref().and_then(scalar_type),
        ) {
            if !types.iter().any(|(x, _)| x == n) {
                types.push((n.clone(), t));
            }
        }
    }
    let indexes = meta.indexes();
    let mut ops: Vec<Op> = Vec::new();
    let accept =
        |item: Result<Item, String>, where_: &str, counts: &mut ImportCounts, ops: &mut Vec<Op>| {
            counts.processed += 1;
            let checked = item.and_then(|item| {
                let key = meta
                    .schema
                    .encode_item_key(&item)
                    .map_err(|e| format!("bad key: {e:?}"))?;
                for idx in &indexes {
                    idx.entry_key(&key, &item).map_err(|e| e.to_string())?;
                }
                if ferrodyn_types::item_size(&item) > 400 * 1024 {
                    return Err("item larger than 400 KB".into());
                }
                Ok((key, item))
            });
            match checked {
                Ok((key, item)) => {
                    counts.imported += 1;
                    ops.push(Op::Put {
                        ks: staging.to_owned(),
                        key,
                        value: encode_item(&item),
                    });
                }
                Err(e) => {
                    counts.errors += 1;
                    tracing::warn!(at = %where_, error = %e, "import: item skipped");
                }
            }
        };
    for (key, path) in files {
        let file = std::fs::File::open(path).map_err(io_err)?;
        counts.bytes += file.metadata().map(|m| m.len() as i64).unwrap_or(0);
        let reader: Box<dyn Read> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let reader = std::io::BufReader::new(reader);
        if format == "CSV" {
            let delim = csv_opts
                .delimiter
                .as_deref()
                .and_then(|d| d.bytes().next())
                .unwrap_or(b',');
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(delim)
                .has_headers(false)
                .flexible(true)
                .from_reader(reader);
            let mut headers = csv_opts.header_list.clone();
            for (n, rec) in rdr.records().enumerate() {
                let at = format!("{key}:{}", n + 1);
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        accept(Err(e.to_string()), &at, &mut counts, &mut ops);
                        continue;
                    }
                };
                let Some(h) = &headers else {
                    headers = Some(rec.iter().map(str::to_owned).collect());
                    continue;
                };
                accept(csv_item(h, &rec, &types), &at, &mut counts, &mut ops);
                flush(backend, &mut ops)?;
            }
        } else {
            for (n, line) in reader.lines().enumerate() {
                let at = format!("{key}:{}", n + 1);
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        // Undecodable input (for example GZIP named for a plain file):
                        // counted, and the rest of the file cannot be read.
                        accept(Err(e.to_string()), &at, &mut counts, &mut ops);
                        break;
                    }
                };
                if line.trim().is_empty() {
                    continue;
                }
                let item = if format == "ION" {
                    crate::ion::parse_line(&line)
                } else {
                    serde_json::from_str::<Value>(&line)
                        .map_err(|e| e.to_string())
                        .and_then(|v| match v.get("Item") {
                            Some(i) => {
                                serde_json::from_value::<Item>(i.clone()).map_err(|e| e.to_string())
                            }
                            None => Err("no Item member".into()),
                        })
                };
                accept(item, &at, &mut counts, &mut ops);
                flush(backend, &mut ops)?;
            }
        }
    }
    if !ops.is_empty() {
        backend
            .commit(&ops, Durability::Fsync)
            .map_err(|e| e.to_string())?;
    }
    Ok(counts)
}

fn flush(backend: &dyn Backend, ops: &mut Vec<Op>) -> Result<(), String> {
    if ops.len() >= 512 {
        backend
            .commit(ops, Durability::Buffered)
            .map_err(|e| e.to_string())?;
        ops.clear();
    }
    Ok(())
}

impl Engine {
    fn transfer_records(&self, ks: &str) -> Result<Vec<Value>, ApiError> {
        let view = self.store.snapshot().map_err(storage_error)?;
        let mut out = Vec::new();
        view.scan(
            ks,
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            &mut |_, v| {
                if let Ok(r) = serde_json::from_slice::<Value>(v) {
                    out.push(r);
                }
                true
            },
        )
        .map_err(storage_error)?;
        Ok(out)
    }

    fn transfer_record(&self, ks: &str, arn: &str) -> Result<Option<Value>, ApiError> {
        let view = self.store.snapshot().map_err(storage_error)?;
        Ok(view
            .get(ks, arn.as_bytes())
            .map_err(storage_error)?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    async fn put_transfer_record(
        &self,
        ks: &'static str,
        arn_key: &str,
        rec: &Value,
    ) -> Result<(), ApiError> {
        let key = rec
            .get(arn_key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
        let bytes = rec.to_string().into_bytes();
        self.store
            .transact(move |tx| {
                tx.put(ks, key.clone(), bytes.clone());
                Ok::<(), TxError>(())
            })
            .await
            .map_err(|TxError(e)| e)
    }

    pub async fn export_table_to_point_in_time(
        &self,
        input: ExportInput,
    ) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        v.not_null(&input.table_arn, "tableArn");
        check_bucket(&mut v, &input.s3_bucket, "s3Bucket");
        v.enumeration(
            input.export_format.as_deref(),
            "exportFormat",
            &["DYNAMODB_JSON", "ION"],
        );
        v.enumeration(
            input.export_type.as_deref(),
            "exportType",
            &["FULL_EXPORT", "INCREMENTAL_EXPORT"],
        );
        v.enumeration(
            input.s3_sse_algorithm.as_deref(),
            "s3SseAlgorithm",
            &["AES256", "KMS"],
        );
        v.into_result()?;
        if input.export_type.as_deref() == Some("INCREMENTAL_EXPORT") {
            return Err(ApiError::validation(
                "Invalid Request: Incremental exports are not supported by Ferrodyn",
            ));
        }
        if input.incremental_export_specification.is_some() {
            return Err(ApiError::validation(
                "Invalid Request: When Export Type is Full Export , Incremental Export Specification should not be provided",
            ));
        }
        let prefix = input.s3_prefix.clone().unwrap_or_default();
        if !safe_prefix(&prefix) {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: S3Prefix may not contain '.' or '..' path segments",
            ));
        }
        let table_arn = input.table_arn.clone().unwrap_or_default();
        let Some((_, name)) = table_arn.rsplit_once(":table/") else {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: tableArn is not a valid ARN",
            ));
        };
        let meta = self
            .table(name)
            .ok()
            .filter(|m| m.desc.table_arn == table_arn)
            .ok_or_else(|| ApiError::TableNotFound(format!("Table not found: {table_arn}")))?;
        let Some(p) = meta.pitr.clone() else {
            return Err(ApiError::PointInTimeRecoveryUnavailable(format!(
                "Point in time recovery is not enabled for table '{name}'"
            )));
        };
        let now = self.clock.now();
        let (earliest, latest) = {
            let e = p.enabled_at.max(now - p.period_days as f64 * 86_400.0);
            (e, now)
        };
        let at = input.export_time.unwrap_or(now);
        if at < earliest || at > latest {
            return Err(ApiError::InvalidExportTime("Export Time is invalid".into()));
        }
        let format = input
            .export_format
            .clone()
            .unwrap_or_else(|| "DYNAMODB_JSON".into());
        // Idempotency by ClientToken.
        if let Some(token) = &input.client_token {
            for r in self.transfer_records(EXPORTS)? {
                if r.get("ClientToken").and_then(Value::as_str) == Some(token.as_str()) {
                    let same = r.get("TableArn").and_then(Value::as_str) == Some(&table_arn)
                        && r.get("S3Bucket").and_then(Value::as_str) == input.s3_bucket.as_deref()
                        && r.get("ExportFormat").and_then(Value::as_str) == Some(&format);
                    if !same {
                        return Err(ApiError::ExportConflict(
                            "Export conflict: Duplicate request detected with conflicting parameters"
                                .into(),
                        ));
                    }
                    return Ok(json!({ "ExportDescription": r }));
                }
            }
        }
        let arn = transfer_arn(&table_arn, "export", now);
        let mut desc = json!({
            "ExportArn": arn,
            "ExportStatus": "IN_PROGRESS",
            "TableArn": table_arn,
            "TableId": meta.desc.table_id,
            "ExportTime": at,
            "ClientToken": input.client_token.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "S3Bucket": input.s3_bucket,
            "S3SseAlgorithm": input.s3_sse_algorithm.clone().unwrap_or_else(|| "AES256".into()),
            "ExportFormat": format,
            "StartTime": now,
        });
        if !prefix.is_empty() {
            set(&mut desc, "S3Prefix", prefix.clone());
        }
        if let Some(o) = &input.s3_bucket_owner {
            set(&mut desc, "S3BucketOwner", o.clone());
        }
        if let Some(k) = &input.s3_sse_kms_key_id {
            set(&mut desc, "S3SseKmsKeyId", k.clone());
        }
        if let Some(t) = &input.export_type {
            set(&mut desc, "ExportType", t.clone());
        }
        // The export runs under the lease `export/<arn>`, taken before the record is
        // visible: an IN_PROGRESS export whose lease lapsed lost its server, and another
        // server (the maintenance holder) runs it again (`resume_transfers`).
        if !self.hold_lease(&export_job(&arn)).await {
            return Err(ApiError::InternalServerError(
                "could not take the export's lease".into(),
            ));
        }
        self.put_transfer_record(EXPORTS, "ExportArn", &desc)
            .await?;
        let out = json!({ "ExportDescription": desc.clone() });
        match self.me.get().and_then(std::sync::Weak::upgrade) {
            Some(engine) => {
                tokio::spawn(async move {
                    engine.run_export(arn).await;
                });
            }
            None => self.run_export(arn).await,
        }
        Ok(out)
    }
}

/// The lease of an export (shared storage).
fn export_job(arn: &str) -> String {
    format!("export/{arn}")
}

/// The lease of an import (shared storage).
fn import_job(arn: &str) -> String {
    format!("import/{arn}")
}

/// A failure code and message (an export's or import's FailureCode / FailureMessage).
type Failure = (&'static str, String);

/// Not a failure: the job's lease went to another server, which now runs it.
const LEASE_LOST: &str = "LeaseLost";

impl Engine {
    /// Renew the job's lease every third of the lease period; returns when it is lost.
    async fn keep_lease(&self, job: &crate::cluster::Job<'_>) {
        let every = (self.config.lease_period / 3).max(std::time::Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            if !job.renew().await {
                return;
            }
        }
    }

    /// Write `rec` (the record `arn` of keyspace `ks`) only if that record is still
    /// IN_PROGRESS (its status under `status_key`) and, with shared storage, this server
    /// still holds the job's lease `job`; whether it was written.
    async fn put_if_in_progress(
        &self,
        ks: &'static str,
        status_key: &'static str,
        arn: &str,
        rec: &Value,
        job: &str,
    ) -> Result<bool, ApiError> {
        let key = arn.as_bytes().to_vec();
        let bytes = rec.to_string().into_bytes();
        let (job, me) = (job.to_owned(), self.server_id());
        self.store
            .transact(move |tx| {
                let cur = tx
                    .get(ks, &key)?
                    .and_then(|v| serde_json::from_slice::<Value>(&v).ok());
                if !cur.is_some_and(|r| {
                    r.get(status_key).and_then(Value::as_str) == Some("IN_PROGRESS")
                }) {
                    return Ok(false);
                }
                if let Some(me) = &me {
                    if !crate::cluster::lease_held(tx, &job, me)? {
                        return Ok(false);
                    }
                }
                tx.put(ks, key.clone(), bytes.clone());
                Ok::<bool, TxError>(true)
            })
            .await
            .map_err(|TxError(e)| e)
    }

    /// Exports and imports left IN_PROGRESS by a server that died: run by the maintenance
    /// lease holder when storage is shared (each job is claimed through its lease, so only
    /// one whose holder stopped renewing it is taken), and once at start otherwise (the
    /// previous process was killed).
    pub(crate) async fn resume_transfers(self: &Arc<Self>) -> Result<(), ApiError> {
        let pending =
            |ks: &str, arn_key: &str, status_key: &str| -> Result<Vec<String>, ApiError> {
                Ok(self
                    .transfer_records(ks)?
                    .into_iter()
                    .filter(|r| r.get(status_key).and_then(Value::as_str) == Some("IN_PROGRESS"))
                    .filter_map(|r| r.get(arn_key).and_then(Value::as_str).map(str::to_owned))
                    .collect())
            };
        for arn in pending(EXPORTS, "ExportArn", "ExportStatus")? {
            let e = self.clone();
            tokio::spawn(async move { e.run_export(arn).await });
        }
        for arn in pending(IMPORTS, "ImportArn", "ImportStatus")? {
            let e = self.clone();
            tokio::spawn(async move { e.run_import(arn).await });
        }
        Ok(())
    }

    /// Run the export `arn` under its lease (renewed while it runs): stage the table as it
    /// was at ExportTime from the point-in-time history, write the files, record the
    /// outcome. The same on the server that took the request and on one taking over from
    /// a server that died (which starts again from the beginning).
    async fn run_export(&self, arn: String) {
        let name = export_job(&arn);
        let Some(job) = self.claim_job(name.clone()).await else {
            return;
        };
        let desc = match self.transfer_record(EXPORTS, &arn) {
            Ok(Some(d)) if d.get("ExportStatus").and_then(Value::as_str) == Some("IN_PROGRESS") => {
                d
            }
            Ok(_) => {
                job.finish().await;
                return;
            }
            Err(e) => {
                tracing::warn!(export = %arn, error = %e, "could not read an export");
                return;
            }
        };
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let outcome = tokio::select! {
            r = self.export_files(desc.clone(), stop.clone()) => r,
            () = self.keep_lease(&job) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(export = %arn, "lost the export's lease");
                return;
            }
        };
        let mut desc = desc;
        set(&mut desc, "EndTime", self.clock.now());
        match outcome {
            Ok(d) => {
                desc = d;
                set(&mut desc, "EndTime", self.clock.now());
                set(&mut desc, "ExportStatus", "COMPLETED");
            }
            Err((LEASE_LOST, _)) => return,
            Err((code, msg)) => {
                tracing::warn!(export = %arn, code, error = %msg, "export failed");
                set(&mut desc, "ExportStatus", "FAILED");
                set(&mut desc, "FailureCode", code);
                set(&mut desc, "FailureMessage", msg);
            }
        }
        match self
            .put_if_in_progress(EXPORTS, "ExportStatus", &arn, &desc, &name)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(export = %arn, "export outcome not recorded: the export was taken over")
            }
            Err(e) => tracing::warn!(export = %arn, error = %e, "could not record export outcome"),
        }
        job.finish().await;
    }

    /// The export's files, from the table as it was at ExportTime; the description with
    /// ItemCount, BilledSizeBytes and ExportManifest.
    async fn export_files(
        &self,
        mut desc: Value,
        stop: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<Value, Failure> {
        let s = |k: &str| {
            desc.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (arn, table_arn, table_id) = (s("ExportArn"), s("TableArn"), s("TableId"));
        let (bucket, prefix, format) = (s("S3Bucket"), s("S3Prefix"), s("ExportFormat"));
        let at = desc
            .get("ExportTime")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let name = table_arn
            .rsplit_once(":table/")
            .map(|(_, n)| n)
            .unwrap_or_default();
        // The table as it was at ExportTime can be read back only while it is the same
        // table with point-in-time recovery on since before then.
        let meta = self
            .table_for_admin(name)
            .ok()
            .filter(|m| m.desc.table_id == table_id)
            .ok_or_else(|| ("TableNotFound", format!("Table not found: {table_arn}")))?;
        if !meta.pitr.as_ref().is_some_and(|p| p.enabled_at <= at) {
            return Err((
                "PointInTimeRecoveryUnavailable",
                format!(
                    "Point in time recovery is not enabled for table '{name}' since before the export time: the table as it was then can no longer be exported"
                ),
            ));
        }
        let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
        let key_base = if prefix.is_empty() {
            format!("AWSDynamoDB/{id}")
        } else {
            format!("{}/AWSDynamoDB/{id}", prefix.trim_end_matches('/'))
        };
        let dir = self.config.s3_root.join(&bucket).join(&key_base);
        let staging = format!("b.{}", uuid::Uuid::new_v4().simple());
        let backend = self.store.backend_arc();
        let src = (*meta).clone();
        let ks = staging.clone();
        let written = tokio::task::spawn_blocking(move || -> Result<Value, String> {
            let out = crate::backup::materialize(&*backend, &src, Some(at), &ks)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    write_export(&*backend, &ks, &dir, &key_base, &format, &mut desc, &stop)
                });
            if let Err(e) = backend.drop_keyspace(&ks) {
                tracing::warn!(error = %e, keyspace = %ks, "could not drop an export's staging keyspace");
            }
            out.map(|()| desc)
        })
        .await
        .map_err(|e| ("InternalServerError", e.to_string()))?;
        match written {
            Ok(d) => Ok(d),
            Err(e) if e == STOPPED => Err((LEASE_LOST, e)),
            Err(e) => Err(("S3AccessDenied", e)),
        }
    }

    pub async fn describe_export(&self, input: ArnInput) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        v.not_null(&input.export_arn, "exportArn");
        v.into_result()?;
        let arn = input.export_arn.clone().unwrap_or_default();
        if !arn.contains("/export/") {
            return Err(ApiError::validation("Invalid Export ARN"));
        }
        let rec = self.transfer_record(EXPORTS, &arn)?.ok_or_else(|| {
            ApiError::ExportNotFound(format!("Export not found: Export not found: {arn}"))
        })?;
        Ok(json!({ "ExportDescription": rec }))
    }

    pub async fn list_exports(&self, input: ListTransfersInput) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        v.min(input.max_results, "maxResults", 1);
        v.max(input.max_results, "maxResults", 25);
        v.into_result()?;
        let page = self.list_page(EXPORTS, "ExportArn", &input, input.max_results)?;
        let mut out = json!({
            "ExportSummaries": page.0.iter().map(|r| {
                let mut s = json!({"ExportArn": r["ExportArn"], "ExportStatus": r["ExportStatus"]});
                set(&mut s, "ExportType", r.get("ExportType").cloned().unwrap_or_else(|| "FULL_EXPORT".into()));
                s
            }).collect::<Vec<_>>(),
        });
        if let Some(t) = page.1 {
            set(&mut out, "NextToken", t);
        }
        Ok(out)
    }

    /// Newest first, filtered by table, paged by the last ARN returned.
    fn list_page(
        &self,
        ks: &str,
        arn_key: &str,
        input: &ListTransfersInput,
        size: Option<i64>,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let mut all: Vec<Value> = self
            .transfer_records(ks)?
            .into_iter()
            .filter(|r| {
                input
                    .table_arn
                    .as_ref()
                    .is_none_or(|t| r.get("TableArn").and_then(Value::as_str) == Some(t))
            })
            .collect();
        all.sort_by(|a, b| {
            let t = |r: &Value| r.get("StartTime").and_then(Value::as_f64).unwrap_or(0.0);
            t(b).total_cmp(&t(a)).then_with(|| {
                b.get(arn_key)
                    .and_then(Value::as_str)
                    .cmp(&a.get(arn_key).and_then(Value::as_str))
            })
        });
        if let Some(tok) = &input.next_token {
            match all
                .iter()
                .position(|r| r.get(arn_key).and_then(Value::as_str) == Some(tok))
            {
                Some(p) => {
                    all.drain(..=p);
                }
                None => {
                    return Err(ApiError::validation(format!(
                        "Invalid Request: Provided nextToken is invalid: {tok}"
                    )))
                }
            }
        }
        let n = size.and_then(|s| usize::try_from(s).ok()).unwrap_or(10);
        let more = all.len() > n;
        all.truncate(n);
        let next = if more {
            all.last()
                .and_then(|r| r.get(arn_key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else {
            None
        };
        Ok((all, next))
    }

    pub async fn import_table(&self, input: ImportInput) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        match &input.s3_bucket_source {
            None => v.not_null(&input.s3_bucket_source, "s3BucketSource"),
            Some(s) => check_bucket(&mut v, &s.s3_bucket, "s3BucketSource.s3Bucket"),
        }
        v.not_null(&input.input_format, "inputFormat");
        v.enumeration(
            input.input_format.as_deref(),
            "inputFormat",
            &["DYNAMODB_JSON", "ION", "CSV"],
        );
        v.enumeration(
            input.input_compression_type.as_deref(),
            "inputCompressionType",
            &["ZSTD", "NONE", "GZIP"],
        );
        v.not_null(&input.table_creation_parameters, "tableCreationParameters");
        if let Some(d) = input
            .input_format_options
            .as_ref()
            .and_then(|o| o.csv.as_ref())
            .and_then(|c| c.delimiter.as_ref())
        {
            if d.len() != 1 || !",;:|\t ".contains(d.as_str()) {
                v.add(
                    Some(d),
                    "inputFormatOptions.csv.delimiter",
                    "Member must satisfy regular expression pattern: [,;:|\\t ]",
                );
            }
        }
        v.into_result()?;
        let format = input.input_format.clone().unwrap_or_default();
        if input
            .input_format_options
            .as_ref()
            .is_some_and(|o| o.csv.is_some())
            && format != "CSV"
        {
            return Err(ApiError::validation(format!(
                "Invalid Request: Unsupported InputFormatOptions for the given input format: {format}."
            )));
        }
        let source = input.s3_bucket_source.clone().unwrap_or_default();
        let prefix = source.s3_key_prefix.clone().unwrap_or_default();
        if !safe_prefix(&prefix) {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: S3KeyPrefix may not contain '.' or '..' path segments",
            ));
        }
        let params = input.table_creation_parameters.clone().unwrap_or_default();
        let create: CreateTableInput = serde_json::from_value(params.clone())
            .map_err(|e| ApiError::Serialization(e.to_string()))?;
        let name = create.table_name.clone().unwrap_or_default();
        let mut nv = Violations::new();
        nv.new_name(&name, "tableCreationParameters.tableName", 255);
        nv.into_result()?;
        if self.table_for_admin(&name).is_ok() {
            return Err(ApiError::ResourceInUse(format!(
                "Table already exists: {name}"
            )));
        }
        if let Some(token) = &input.client_token {
            for r in self.transfer_records(IMPORTS)? {
                if r.get("ClientToken").and_then(Value::as_str) == Some(token.as_str()) {
                    if r.pointer("/TableCreationParameters/TableName")
                        .and_then(Value::as_str)
                        != Some(name.as_str())
                    {
                        return Err(ApiError::ImportConflict(
                            "Import conflict: Duplicate request detected with conflicting parameters"
                                .into(),
                        ));
                    }
                    return Ok(json!({ "ImportTableDescription": r }));
                }
            }
        }
        let now = self.clock.now();
        let table_arn = format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            self.config.region, self.config.account_id
        );
        let arn = transfer_arn(&table_arn, "import", now);
        let mut bucket_source = serde_json::to_value(&source).unwrap_or_default();
        if source.s3_bucket_owner.is_none() {
            set(
                &mut bucket_source,
                "S3BucketOwner",
                self.config.account_id.clone(),
            );
        }
        let mut desc = json!({
            "ImportArn": arn,
            "ImportStatus": "IN_PROGRESS",
            "TableArn": table_arn,
            "ClientToken": input.client_token.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "S3BucketSource": bucket_source,
            "ErrorCount": 0,
            "CloudWatchLogGroupArn": format!("arn:aws:logs:{}:{}:log-group:/aws-dynamodb/imports:*", self.config.region, self.config.account_id),
            "InputFormat": format,
            "InputCompressionType": input.input_compression_type.clone().unwrap_or_else(|| "NONE".into()),
            "TableCreationParameters": params,
            "StartTime": now,
            "ProcessedSizeBytes": 0,
            "ProcessedItemCount": 0,
            "ImportedItemCount": 0,
        });
        if let Some(o) = &input.input_format_options {
            set(
                &mut desc,
                "InputFormatOptions",
                serde_json::to_value(o).unwrap_or_default(),
            );
        }
        // Under the lease `import/<arn>`, as an export (see there).
        if !self.hold_lease(&import_job(&arn)).await {
            return Err(ApiError::InternalServerError(
                "could not take the import's lease".into(),
            ));
        }
        self.put_transfer_record(IMPORTS, "ImportArn", &desc)
            .await?;
        let out = json!({ "ImportTableDescription": desc.clone() });
        match self.me.get().and_then(std::sync::Weak::upgrade) {
            Some(engine) => {
                tokio::spawn(async move {
                    engine.run_import(arn).await;
                });
            }
            None => self.run_import(arn).await,
        }
        Ok(out)
    }

    /// Run the import `arn` under its lease (renewed while it runs), from wherever an
    /// earlier attempt whose server died left it: the table is created (CREATING, its
    /// restore source a staging keyspace marked with the import's ARN); the files are read
    /// into the staging keyspace (again into a fresh one if an earlier attempt did not
    /// finish that: nothing of it reached the table yet); the counts go to the record and
    /// the mark is cleared; then the table is filled from the staging keyspace (by key, so
    /// a fill resumed after a partial one imports nothing twice). The outcome is recorded
    /// only if the record is still IN_PROGRESS and the lease still this server's.
    async fn run_import(&self, arn: String) {
        let name = import_job(&arn);
        let Some(job) = self.claim_job(name.clone()).await else {
            return;
        };
        let mut desc = match self.transfer_record(IMPORTS, &arn) {
            Ok(Some(d)) if d.get("ImportStatus").and_then(Value::as_str) == Some("IN_PROGRESS") => {
                d
            }
            Ok(_) => {
                job.finish().await;
                return;
            }
            Err(e) => {
                tracing::warn!(import = %arn, error = %e, "could not read an import");
                return;
            }
        };
        let outcome = tokio::select! {
            r = self.try_import(&arn, &mut desc, &name) => r,
            () = self.keep_lease(&job) => {
                tracing::warn!(import = %arn, "lost the import's lease");
                return;
            }
        };
        set(&mut desc, "EndTime", self.clock.now());
        match outcome {
            Ok(()) => {
                let errors = desc.get("ErrorCount").and_then(Value::as_i64).unwrap_or(0);
                if errors == 0 {
                    set(&mut desc, "ImportStatus", "COMPLETED");
                } else {
                    set(&mut desc, "ImportStatus", "FAILED");
                    set(&mut desc, "FailureCode", "ItemValidationError");
                    set(&mut desc, "FailureMessage", "Some of the items failed validation checks and were not imported. Please check CloudWatch error logs for more details.");
                }
            }
            Err((LEASE_LOST, _)) => return,
            Err((code, msg)) => {
                tracing::warn!(import = %arn, code, error = %msg, "import failed");
                self.release_import_table(&arn, &desc).await;
                set(&mut desc, "ImportStatus", "FAILED");
                set(&mut desc, "FailureCode", code);
                set(&mut desc, "FailureMessage", msg);
            }
        }
        match self
            .put_if_in_progress(IMPORTS, "ImportStatus", &arn, &desc, &name)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(import = %arn, "import outcome not recorded: the import was taken over")
            }
            Err(e) => tracing::warn!(import = %arn, error = %e, "could not record import outcome"),
        }
        job.finish().await;
    }

    /// After an import failed while its table still waited for the files to be read: the
    /// table gets what was read (as a failed import leaves its good rows in the table), so
    /// that it does not stay CREATING.
    async fn release_import_table(&self, arn: &str, desc: &Value) {
        let Some(name) = desc
            .pointer("/TableCreationParameters/TableName")
            .and_then(Value::as_str)
        else {
            return;
        };
        let Ok(meta) = self.table_for_admin(name) else {
            return;
        };
        if meta
            .restore_source
            .as_ref()
            .is_none_or(|r| r.import.as_deref() != Some(arn))
        {
            return;
        }
        let mut m = (*meta).clone();
        if let Some(r) = m.restore_source.as_mut() {
            r.import = None;
        }
        let filled = match self.replace_meta(&meta, m).await {
            Ok(_) => self.fill_restored(name).await,
            Err(e) => Err(e),
        };
        if let Err(e) = filled {
            tracing::warn!(import = %arn, table = name, error = %e, "could not fill a failed import's table");
        }
    }

    /// An intermediate write of an import's record (still IN_PROGRESS, lease held).
    async fn note_import(&self, arn: &str, desc: &Value, job: &str) -> Result<(), Failure> {
        match self
            .put_if_in_progress(IMPORTS, "ImportStatus", arn, desc, job)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err((LEASE_LOST, "the import was taken over".into())),
            Err(e) => Err(("InternalServerError", e.to_string())),
        }
    }

    async fn try_import(&self, arn: &str, desc: &mut Value, job: &str) -> Result<(), Failure> {
        let input: ImportInput = serde_json::from_value(desc.clone())
            .map_err(|e| ("InternalServerError", e.to_string()))?;
        let params = input.table_creation_parameters.clone().unwrap_or_default();
        let create: CreateTableInput =
            serde_json::from_value(params).map_err(|e| ("ValidationException", e.to_string()))?;
        let name = create.table_name.clone().unwrap_or_default();
        let table_id = desc
            .get("TableId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        // The table an earlier attempt created, if any.
        let ours = self.table_for_admin(&name).ok().filter(|m| {
            table_id.as_deref() == Some(m.desc.table_id.as_str())
                || m.restore_source
                    .as_ref()
                    .is_some_and(|r| r.import.as_deref() == Some(arn))
        });
        let reading = match &ours {
            None => true,
            Some(m) => m
                .restore_source
                .as_ref()
                .is_some_and(|r| r.import.is_some()),
        };
        if reading {
            let source = input.s3_bucket_source.clone().unwrap_or_default();
            let bucket = source.s3_bucket.clone().unwrap_or_default();
            let prefix = source.s3_key_prefix.clone().unwrap_or_default();
            let root = self.config.s3_root.clone();
            let files = tokio::task::spawn_blocking(move || list_objects(&root, &bucket, &prefix))
                .await
                .map_err(|e| ("InternalServerError", e.to_string()))?
                .map_err(|e| {
                    if e == "S3NoSuchBucket" {
                        (
                            "S3NoSuchBucket",
                            "The specified bucket does not exist".to_owned(),
                        )
                    } else {
                        ("S3AccessDenied", e)
                    }
                })?;
            if input.input_compression_type.as_deref() == Some("ZSTD") {
                return Err((
                    "InvalidInputCompressionType",
                    "ZSTD-compressed imports are not supported by Ferrodyn; use GZIP or NONE"
                        .into(),
                ));
            }
            let staging = format!("b.{}", uuid::Uuid::new_v4().simple());
            self.store
                .backend()
                .create_keyspace(&staging)
                .map_err(|e| ("InternalServerError", e.to_string()))?;
            let source = RestoreSource {
                keyspace: staging.clone(),
                staging: true,
                import: Some(arn.to_owned()),
            };
            let meta = match ours {
                None => {
                    let created = self.create_table_inner(create, Some((None, source))).await;
                    let table = match created {
                        Ok(t) => t.table_description,
                        Err(e) => {
                            let _ = self.store.backend().drop_keyspace(&staging);
                            let code = if matches!(e, ApiError::ResourceInUse(_)) {
                                "TableAlreadyExists"
                            } else {
                                "ValidationException"
                            };
                            return Err((code, e.to_string()));
                        }
                    };
                    set(desc, "TableId", table.table_id.clone());
                    self.note_import(arn, desc, job).await?;
                    self.table_for_admin(&name)
                        .map_err(|e| ("InternalServerError", e.to_string()))?
                }
                // An earlier attempt died reading the files: read them again into a fresh
                // keyspace (what it wrote may be incomplete, and may still be written to).
                Some(m) => {
                    let old = m.restore_source.clone();
                    let mut fresh = (*m).clone();
                    fresh.restore_source = Some(source);
                    let m = match self.replace_meta(&m, fresh).await {
                        Ok(m) => m,
                        Err(e) => {
                            let _ = self.store.backend().drop_keyspace(&staging);
                            return Err(("InternalServerError", e.to_string()));
                        }
                    };
                    if let Some(old) = old {
                        let _ = self.store.backend().drop_keyspace(&old.keyspace);
                    }
                    set(desc, "TableId", m.desc.table_id.clone());
                    m
                }
            };
            let backend = self.store.backend_arc();
            let m = (*meta).clone();
            let inp = input.clone();
            let ks = staging.clone();
            let counts =
                tokio::task::spawn_blocking(move || read_import(&*backend, &m, &files, &inp, &ks))
                    .await
                    .map_err(|e| ("InternalServerError", e.to_string()))?
                    .map_err(|e| ("S3AccessDenied", e))?;
            set(desc, "ProcessedItemCount", counts.processed);
            set(desc, "ImportedItemCount", counts.imported);
            set(desc, "ErrorCount", counts.errors);
            set(desc, "ProcessedSizeBytes", counts.bytes);
            // The counts first: once the mark is cleared, a takeover keeps them.
            self.note_import(arn, desc, job).await?;
            let mut done = (*meta).clone();
            if let Some(r) = done.restore_source.as_mut() {
                r.import = None;
            }
            self.replace_meta(&meta, done)
                .await
                .map_err(|e| ("InternalServerError", e.to_string()))?;
        }
        // Fill the table; the fill runs under its own lease (`restore/<table>`), which a
        // server that died may still hold for a while: wait for the table to be filled.
        let every = (self.config.lease_period / 3).max(std::time::Duration::from_millis(100));
        loop {
            self.fill_restored(&name)
                .await
                .map_err(|e| ("InternalServerError", e.to_string()))?;
            let filled = self
                .table_for_admin(&name)
                .map_err(|e| ("InternalServerError", e.to_string()))?
                .restore_source
                .is_none();
            if filled {
                return Ok(());
            }
            tokio::time::sleep(every).await;
        }
    }

    pub async fn describe_import(&self, input: ArnInput) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        v.not_null(&input.import_arn, "importArn");
        v.into_result()?;
        let arn = input.import_arn.clone().unwrap_or_default();
        if !arn.contains("/import/") {
            return Err(ApiError::validation("Invalid Import ARN"));
        }
        let rec = self
            .transfer_record(IMPORTS, &arn)?
            .ok_or_else(|| ApiError::ImportNotFound(format!("Import not found: {arn}")))?;
        Ok(json!({ "ImportTableDescription": rec }))
    }

    pub async fn list_imports(&self, input: ListTransfersInput) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        v.min(input.page_size, "pageSize", 1);
        v.max(input.page_size, "pageSize", 25);
        v.into_result()?;
        let page = self.list_page(IMPORTS, "ImportArn", &input, input.page_size)?;
        let keys = [
            "ImportArn",
            "ImportStatus",
            "TableArn",
            "S3BucketSource",
            "CloudWatchLogGroupArn",
            "InputFormat",
            "StartTime",
            "EndTime",
        ];
        let mut out = json!({
            "ImportSummaryList": page.0.iter().map(|r| {
                let mut s = json!({});
                for k in keys {
                    if let Some(x) = r.get(k) {
                        set(&mut s, k, x.clone());
                    }
                }
                s
            }).collect::<Vec<_>>(),
        });
        if let Some(t) = page.1 {
            set(&mut out, "NextToken", t);
        }
        Ok(out)
    }
}
