//! On-demand backups, point-in-time recovery and restores.
//!
//! A backup is a keyspace `b.<backup id>` holding a copy of the table's items (raw item key
//! -> encoded item) taken from one storage snapshot, plus a record in the `backups`
//! keyspace (BackupArn -> [`BackupRecord`]: status, sizes, and the source table's metadata
//! as it was). Point-in-time recovery keeps a history keyspace `h.<table id>`: every item
//! write appends, in the write's own transaction, the item's previous image under
//! `key length | key | time (ms) | sequence`. The table as it was at time T is then "for
//! every key, the old image of its first write after T, or else its current value", read
//! from one snapshot of the table and its history. Restores create the target table
//! (CREATING, closed to item operations) and fill it in the background through the single
//! write path, so its indexes and statistics are built as for any write.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_storage::{Backend, Durability, Op};
use ferrodyn_types::codec::{decode_item, encode_item};
use ferrodyn_types::{item_size, Item};
use serde::{Deserialize, Serialize};

use crate::catalog::{Stats, TableMeta};
use crate::{storage_error, Engine, TxError};

/// Keyspace of backup records.
pub const BACKUPS: &str = "backups";
/// How long DynamoDB keeps the system backup of a deleted PITR table.
const SYSTEM_BACKUP_DAYS: f64 = 35.0;
/// Items copied per restore transaction.
const RESTORE_BATCH: usize = 256;

/// Point-in-time recovery settings of a table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pitr {
    pub enabled_at: f64,
    pub period_days: i64,
}

/// Where a table being restored takes its items from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RestoreSource {
    /// A keyspace of raw key -> encoded item.
    pub keyspace: String,
    /// Whether the keyspace was made for this restore (dropped when it is done).
    pub staging: bool,
    /// The import (ARN) still reading its files into the keyspace: the table is not filled
    /// until the import has read them all (and clears this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
}

/// One backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupRecord {
    pub arn: String,
    pub name: String,
    pub status: String,
    /// USER or SYSTEM.
    pub kind: String,
    pub created: f64,
    pub expiry: Option<f64>,
    pub size_bytes: i64,
    pub item_count: i64,
    pub keyspace: String,
    /// The source table as it was when the backup was made.
    pub source: TableMeta,
}

pub fn history_keyspace(table_keyspace: &str) -> String {
    let id = table_keyspace.strip_prefix("t.").unwrap_or(table_keyspace);
    format!("h.{id}")
}

fn history_key(key: &[u8], t_ms: u64, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 20);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&t_ms.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// (item key, time in ms) of a history entry.
fn parse_history_key(k: &[u8]) -> Option<(&[u8], u64)> {
    let len = u32::from_be_bytes(k.get(..4)?.try_into().ok()?) as usize;
    let key = k.get(4..4 + len)?;
    let t = u64::from_be_bytes(k.get(4 + len..12 + len)?.try_into().ok()?);
    Some((key, t))
}

fn history_seq_key(meta: &TableMeta) -> Vec<u8> {
    format!("h.{}", meta.desc.table_id).into_bytes()
}

/// Record the previous image of an item write (called from `apply_write` when PITR is on).
pub(crate) fn on_write(
    tx: &mut ferrodyn_storage::Tx<'_>,
    meta: &TableMeta,
    key: &[u8],
    old: Option<&Item>,
    now: f64,
) -> Result<(), TxError> {
    if meta.pitr.is_none() {
        return Ok(());
    }
    let seq = Stats::adjust_raw(tx, &history_seq_key(meta), 1, 0)?
        .items
        .max(0) as u64;
    let mut v = Vec::new();
    match old {
        Some(item) => {
            v.push(1);
            v.extend_from_slice(&encode_item(item));
        }
        None => v.push(0),
    }
    let t_ms = (now * 1000.0).round().max(0.0) as u64;
    tx.put(
        &history_keyspace(&meta.keyspace),
        history_key(key, t_ms, seq),
        v,
    );
    Ok(())
}

/// Copy the table as it was at `at` (or now) into `target`, from one snapshot; returns
/// (items, bytes). Blocking: run it off the async workers.
pub(crate) fn materialize(
    backend: &dyn Backend,
    meta: &TableMeta,
    at: Option<f64>,
    target: &str,
) -> Result<(i64, i64), ApiError> {
    backend.create_keyspace(target).map_err(storage_error)?;
    let buffer_all = backend.snapshots_block_writes();
    let view = backend.snapshot().map_err(storage_error)?;
    // Keys written after `at`: the image each had at `at` (None: it did not exist).
    let mut then: HashMap<Vec<u8>, Option<Vec<u8>>> = HashMap::new();
    if let Some(at) = at {
        let at_ms = (at * 1000.0).round().max(0.0) as u64;
        view.scan(
            &history_keyspace(&meta.keyspace),
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            &mut |k, v| {
                if let Some((key, t)) = parse_history_key(k) {
                    if t > at_ms && !then.contains_key(key) {
                        let image = match v.split_first() {
                            Some((1, rest)) => Some(rest.to_vec()),
                            _ => None,
                        };
                        then.insert(key.to_vec(), image);
                    }
                }
                true
            },
        )
        .map_err(storage_error)?;
    }
    let mut ops = Vec::new();
    let mut count = 0i64;
    let mut bytes = 0i64;
    let mut failed = None;
    let mut push = |ops: &mut Vec<Op>, key: &[u8], value: &[u8]| {
        if let Ok(item) = decode_item(value) {
            count += 1;
            bytes += item_size(&item) as i64;
        }
        ops.push(Op::Put {
            ks: target.to_owned(),
            key: key.to_vec(),
            value: value.to_vec(),
        });
    };
    view.scan(
        &meta.keyspace,
        Bound::Unbounded,
        Bound::Unbounded,
        false,
        &mut |k, v| {
            match then.remove(k) {
                Some(Some(old)) => push(&mut ops, k, &old),
                Some(None) => {}
                None => push(&mut ops, k, v),
            }
            // Keep one op back, so the final commit (with fsync) is never empty.
            if ops.len() > 512 && !buffer_all {
                let head = ops.get(..512).unwrap_or_default();
                if let Err(e) = backend.commit(head, Durability::Buffered) {
                    failed = Some(e);
                    return false;
                }
                ops.drain(..512);
            }
            true
        },
    )
    .map_err(storage_error)?;
    if let Some(e) = failed {
        return Err(storage_error(e));
    }
    drop(view);
    // Keys deleted since `at` that existed then.
    for (k, image) in then {
        if let Some(v) = image {
            push(&mut ops, &k, &v);
        }
    }
    let n = ops.chunks(512).len();
    for (i, chunk) in ops.chunks(512).enumerate() {
        let d = if i + 1 == n {
            Durability::Fsync
        } else {
            Durability::Buffered
        };
        backend.commit(chunk, d).map_err(storage_error)?;
    }
    Ok((count, bytes))
}

/// The lease of a backup's copy (shared storage).
fn backup_job(arn: &str) -> String {
    format!("backup/{arn}")
}

/// In a transaction: the backup `key` is still CREATING in keyspace `was`, and (shared
/// storage) this server holds its lease `job`.
fn still_creating(
    tx: &ferrodyn_storage::Tx<'_>,
    key: &[u8],
    was: &str,
    job: &str,
    me: Option<&str>,
) -> Result<bool, TxError> {
    let cur = tx
        .get(BACKUPS, key)?
        .and_then(|v| serde_json::from_slice::<BackupRecord>(&v).ok());
    if !cur.is_some_and(|r| r.status == "CREATING" && r.keyspace == was) {
        return Ok(false);
    }
    match me {
        Some(me) => Ok(crate::cluster::lease_held(tx, job, me)?),
        None => Ok(true),
    }
}

fn backup_not_found(arn: &str) -> ApiError {
    ApiError::BackupNotFound(format!("Backup not found: {arn}"))
}

impl Engine {
    fn backup_record(&self, arn: &str) -> Result<Option<BackupRecord>, ApiError> {
        let view = self.store.snapshot().map_err(storage_error)?;
        Ok(view
            .get(BACKUPS, arn.as_bytes())
            .map_err(storage_error)?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    fn all_backups(&self) -> Result<Vec<BackupRecord>, ApiError> {
        let view = self.store.snapshot().map_err(storage_error)?;
        let mut out = Vec::new();
        view.scan(
            BACKUPS,
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            &mut |_, v| {
                if let Ok(r) = serde_json::from_slice::<BackupRecord>(v) {
                    out.push(r);
                }
                true
            },
        )
        .map_err(storage_error)?;
        Ok(out)
    }

    async fn put_backup_record(&self, rec: &BackupRecord) -> Result<(), ApiError> {
        let key = rec.arn.clone().into_bytes();
        let bytes =
            serde_json::to_vec(rec).map_err(|e| ApiError::InternalServerError(e.to_string()))?;
        self.store
            .transact(move |tx| {
                tx.put(BACKUPS, key.clone(), bytes.clone());
                Ok::<(), TxError>(())
            })
            .await
            .map_err(|TxError(e)| e)
    }

    /// `<table arn>/backup/<14-digit ms>-<8 hex>`; system backups end in `-00000000`.
    fn new_backup_arn(&self, table_arn: &str, system: bool) -> String {
        let ms = (self.clock.now() * 1000.0).max(0.0) as u64;
        let id = if system {
            "00000000".to_owned()
        } else {
            uuid::Uuid::new_v4().simple().to_string()
        };
        format!(
            "{table_arn}/backup/{ms:014}-{}",
            id.get(..8).unwrap_or("00000000")
        )
    }

    /// Run `f` on the blocking pool when a runtime is there, inline otherwise.
    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Backend) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let backend = self.store.backend_arc();
        tokio::task::spawn_blocking(move || f(&*backend))
            .await
            .map_err(|e| ApiError::InternalServerError(e.to_string()))
    }

    pub async fn create_backup(
        &self,
        input: CreateBackupInput,
    ) -> Result<serde_json::Value, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        match &input.backup_name {
            None => v.not_null(&input.backup_name, "backupName"),
            Some(n) => v.new_name(n, "backupName", 255),
        }
        v.into_result()?;
        let name = input.table_name.clone().unwrap_or_default();
        let meta = self
            .table(&name)
            .map_err(|_| ApiError::TableNotFound(format!("Table not found: {name}")))?;
        let arn = self.new_backup_arn(&meta.desc.table_arn, false);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut source = (*meta).clone();
        source.desc = self.describe(&meta)?;
        let rec = BackupRecord {
            arn: arn.clone(),
            name: input.backup_name.clone().unwrap_or_default(),
            status: "CREATING".into(),
            kind: "USER".into(),
            created: self.clock.now(),
            expiry: None,
            size_bytes: 0,
            item_count: 0,
            keyspace: format!("b.{id}"),
            source,
        };
        // With shared storage the copy runs under the lease `backup/<arn>`, taken before
        // the record is visible: a CREATING record whose lease lapsed lost its server, and
        // the maintenance holder then completes or abandons it (`resume_backups`).
        // (A new ARN's lease is free: only a storage failure can refuse it.)
        if !self
            .try_hold_lease(&backup_job(&arn))
            .await
            .map_err(storage_error)?
        {
            return Err(ApiError::InternalServerError(
                "could not take the backup's lease".into(),
            ));
        }
        self.put_backup_record(&rec).await?;
        let details = backup_details(&rec);
        match self.me.get().and_then(std::sync::Weak::upgrade) {
            Some(engine) => {
                tokio::spawn(async move {
                    if let Err(e) = engine.copy_backup(rec, None).await {
                        tracing::warn!(error = %e, "backup failed");
                    }
                });
            }
            None => self.copy_backup(rec, None).await?,
        }
        Ok(serde_json::json!({ "BackupDetails": details }))
    }

    /// Copy the items and mark the backup AVAILABLE.
    async fn finish_backup(&self, mut rec: BackupRecord) -> Result<(), ApiError> {
        let meta = rec.source.clone();
        let ks = rec.keyspace.clone();
        let (count, bytes) = self
            .blocking(move |b| materialize(b, &meta, None, &ks))
            .await??;
        rec.item_count = count;
        rec.size_bytes = bytes;
        rec.status = "AVAILABLE".into();
        self.put_backup_record(&rec).await
    }

    /// The copy of a CREATING backup, under its lease (renewed while the copy runs):
    /// the table now (`at` None, the server that took the request) or as it was at `at`
    /// (a server completing the backup of one that died, from PITR history), into a new
    /// keyspace; then, if the record is still this CREATING backup and the lease still
    /// ours, the record becomes AVAILABLE and names that keyspace. Whatever a server that
    /// lost the lease still writes goes to a keyspace no record names (dropped as an
    /// orphan).
    async fn copy_backup(&self, rec: BackupRecord, at: Option<f64>) -> Result<(), ApiError> {
        let name = backup_job(&rec.arn);
        let Some(job) = self.claim_creating(&name, &rec).await? else {
            return Ok(());
        };
        let target = match at {
            None => rec.keyspace.clone(),
            Some(_) => format!("b.{}", uuid::Uuid::new_v4().simple()),
        };
        let meta = rec.source.clone();
        let ks = target.clone();
        let copy = self.blocking(move |b| materialize(b, &meta, at, &ks));
        let every = (self.config.lease_period / 3).max(std::time::Duration::from_millis(100));
        let renew = async {
            loop {
                tokio::time::sleep(every).await;
                if !job.renew().await {
                    return;
                }
            }
        };
        let (count, bytes) = tokio::select! {
            r = copy => r??,
            () = renew => {
                tracing::warn!(backup = %rec.arn, "lost the backup's lease during the copy");
                return Ok(());
            }
        };
        let mut done = rec.clone();
        done.item_count = count;
        done.size_bytes = bytes;
        done.status = "AVAILABLE".into();
        done.keyspace = target.clone();
        let bytes =
            serde_json::to_vec(&done).map_err(|e| ApiError::InternalServerError(e.to_string()))?;
        let key = rec.arn.clone().into_bytes();
        let (was, me) = (rec.keyspace.clone(), self.server_id());
        let kept = self
            .store
            .transact(move |tx| {
                if !still_creating(tx, &key, &was, &name, me.as_deref())? {
                    return Ok(false);
                }
                tx.put(BACKUPS, key.clone(), bytes.clone());
                Ok::<bool, TxError>(true)
            })
            .await
            .map_err(|TxError(e)| e)?;
        // Kept: the partial copy of a dead server is stale (if another keyspace was
        // filled). Not kept: this copy is.
        let stale = match kept {
            true => (target != rec.keyspace).then_some(&rec.keyspace),
            false => Some(&target),
        };
        if let Some(ks) = stale {
            if let Err(e) = self.store.backend().drop_keyspace(ks) {
                tracing::warn!(error = %e, keyspace = %ks, "could not drop a backup keyspace");
            }
        }
        job.finish().await;
        Ok(())
    }

    /// Backups left CREATING by a server that died (their lease lapsed), run by the
    /// maintenance lease holder when storage is shared. A backup holds the table as it was
    /// when it was requested; with point-in-time recovery on since before then, that state
    /// can be read back from the history and the backup is completed. Without it the
    /// table as it was is gone, and a copy made now could hold writes made well after the
    /// request (DynamoDB promises none made more than a minute after it), so the backup
    /// is removed: DescribeBackup then answers BackupNotFoundException, and the failure
    /// is logged.
    pub(crate) async fn resume_backups(self: &Arc<Self>) -> Result<(), ApiError> {
        let orphaned: Vec<BackupRecord> = self
            .all_backups()?
            .into_iter()
            .filter(|r| r.status == "CREATING")
            .collect();
        for rec in orphaned {
            let e = self.clone();
            tokio::spawn(async move {
                if let Err(err) = e.take_over_backup(rec).await {
                    tracing::warn!(error = %err, "taking over a backup failed");
                }
            });
        }
        Ok(())
    }

    /// The lease of a CREATING backup's job, if this server gets it and (a fresh look,
    /// under the lease) the record is still that CREATING backup; else the lease is let go.
    async fn claim_creating(
        &self,
        name: &str,
        rec: &BackupRecord,
    ) -> Result<Option<crate::cluster::Job<'_>>, ApiError> {
        let Some(job) = self.claim_job(name.to_owned()).await else {
            return Ok(None);
        };
        match self.backup_record(&rec.arn)? {
            Some(r) if r.status == "CREATING" && r.keyspace == rec.keyspace => Ok(Some(job)),
            _ => {
                job.finish().await;
                Ok(None)
            }
        }
    }

    async fn take_over_backup(&self, rec: BackupRecord) -> Result<(), ApiError> {
        let name = backup_job(&rec.arn);
        // Only if its server stopped renewing the lease (else the claim fails).
        let Some(job) = self.claim_creating(&name, &rec).await? else {
            return Ok(());
        };
        let table = self.table_for_admin(&rec.source.name).ok();
        let replayable = table.as_ref().is_some_and(|t| {
            t.keyspace == rec.source.keyspace
                && t.pitr.as_ref().is_some_and(|p| p.enabled_at <= rec.created)
        });
        // copy_backup claims the job itself.
        drop(job);
        if replayable {
            tracing::info!(backup = %rec.arn, "completing a backup whose server died, from PITR history");
            return self.copy_backup(rec.clone(), Some(rec.created)).await;
        }
        let Some(job) = self.claim_job(name.clone()).await else {
            return Ok(());
        };
        let key = rec.arn.clone().into_bytes();
        let (was, me) = (rec.keyspace.clone(), self.server_id());
        let removed = self
            .store
            .transact(move |tx| {
                if !still_creating(tx, &key, &was, &name, me.as_deref())? {
                    return Ok(false);
                }
                tx.delete(BACKUPS, key.clone());
                Ok::<bool, TxError>(true)
            })
            .await
            .map_err(|TxError(e)| e)?;
        if removed {
            tracing::warn!(
                backup = %rec.arn,
                table = %rec.source.name,
                "backup removed: its server died during the copy, and without point-in-time \
                 recovery the table as it was when the backup was requested cannot be read back"
            );
            if let Err(e) = self.store.backend().drop_keyspace(&rec.keyspace) {
                tracing::warn!(error = %e, keyspace = %rec.keyspace, "could not drop a backup keyspace");
            }
        }
        job.finish().await;
        Ok(())
    }

    /// The system backup DynamoDB keeps when a table with PITR on is deleted.
    pub(crate) async fn system_backup_before_delete(
        &self,
        meta: &Arc<TableMeta>,
    ) -> Result<(), ApiError> {
        let arn = self.new_backup_arn(&meta.desc.table_arn, true);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut source = (**meta).clone();
        source.desc = self.describe(meta)?;
        let now = self.clock.now();
        let rec = BackupRecord {
            arn,
            name: format!("{}$DeletedTableBackup", meta.name),
            status: "CREATING".into(),
            kind: "SYSTEM".into(),
            created: now,
            expiry: Some(now + SYSTEM_BACKUP_DAYS * 86_400.0),
            size_bytes: 0,
            item_count: 0,
            keyspace: format!("b.{id}"),
            source,
        };
        self.finish_backup(rec).await
    }

    pub async fn describe_backup(
        &self,
        input: BackupArnInput,
    ) -> Result<serde_json::Value, ApiError> {
        let arn = check_backup_arn(&input.backup_arn)?;
        let rec = self
            .backup_record(&arn)?
            .ok_or_else(|| backup_not_found(&arn))?;
        Ok(serde_json::json!({ "BackupDescription": backup_description(&rec) }))
    }

    pub async fn delete_backup(
        &self,
        input: BackupArnInput,
    ) -> Result<serde_json::Value, ApiError> {
        let arn = check_backup_arn(&input.backup_arn)?;
        let mut rec = self
            .backup_record(&arn)?
            .ok_or_else(|| backup_not_found(&arn))?;
        if rec.kind == "SYSTEM" {
            return Err(ApiError::validation(format!(
                "Invalid Request: User is not allowed to delete the system backup with arn {arn}. It will automatically expire on {}",
                crate::ops::table::iso_seconds(rec.expiry.unwrap_or(rec.created))
            )));
        }
        if rec.status == "CREATING" || self.restoring_from(&rec.keyspace) {
            return Err(ApiError::BackupInUse(format!(
                "Backup is being used to restore table: {arn}"
            )));
        }
        let key = arn.clone().into_bytes();
        self.store
            .transact(move |tx| {
                tx.delete(BACKUPS, key.clone());
                Ok::<(), TxError>(())
            })
            .await
            .map_err(|TxError(e)| e)?;
        if let Err(e) = self.store.backend().drop_keyspace(&rec.keyspace) {
            tracing::warn!(error = %e, keyspace = %rec.keyspace, "could not drop backup keyspace");
        }
        rec.status = "DELETED".into();
        Ok(serde_json::json!({ "BackupDescription": backup_description(&rec) }))
    }

    /// A restore's target name must be free; a table a restore is filling is "in use".
    fn check_restore_target(&self, target: &str) -> Result<(), ApiError> {
        match self.table_for_admin(target) {
            Ok(m) if m.restore_source.is_some() => Err(ApiError::TableInUse(format!(
                "Table: {target} is already being restored from backup: {}",
                m.desc
                    .restore_summary
                    .as_ref()
                    .and_then(|r| r.source_backup_arn.clone())
                    .unwrap_or_default()
            ))),
            Ok(_) => Err(ApiError::TableAlreadyExists(format!(
                "Table already exists: {target}"
            ))),
            Err(_) => Ok(()),
        }
    }

    fn restoring_from(&self, keyspace: &str) -> bool {
        self.tables.read().is_ok_and(|t| {
            t.values().any(|m| {
                m.restore_source
                    .as_ref()
                    .is_some_and(|r| r.keyspace == keyspace)
            })
        })
    }

    pub async fn list_backups(
        &self,
        input: ListBackupsInput,
    ) -> Result<serde_json::Value, ApiError> {
        let mut v = Violations::new();
        if input.table_name.is_some() {
            v.table_name(&input.table_name, "tableName");
        }
        v.min(input.limit, "limit", 1);
        v.max(input.limit, "limit", 100);
        v.enumeration(
            input.backup_type.as_deref(),
            "backupType",
            &["USER", "SYSTEM", "AWS_BACKUP", "ALL"],
        );
        if let Some(a) = &input.exclusive_start_backup_arn {
            if a.len() < 37 || a.len() > 1024 {
                v.add(
                    Some(a),
                    "exclusiveStartBackupArn",
                    if a.len() < 37 {
                        "Member must have length greater than or equal to 37"
                    } else {
                        "Member must have length less than or equal to 1024"
                    },
                );
            }
        }
        v.into_result()?;
        if let (Some(lo), Some(hi)) = (input.time_range_lower_bound, input.time_range_upper_bound) {
            if lo > hi {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: Time range lower bound must be less than or equal to upper bound",
                ));
            }
        }
        let kind = input.backup_type.as_deref().unwrap_or("USER");
        let mut all: Vec<BackupRecord> = self
            .all_backups()?
            .into_iter()
            .filter(|r| kind == "ALL" || r.kind == kind)
            .filter(|r| {
                input
                    .table_name
                    .as_ref()
                    .is_none_or(|t| *t == r.source.name)
            })
            .filter(|r| {
                input
                    .time_range_lower_bound
                    .is_none_or(|lo| r.created >= lo)
            })
            .filter(|r| input.time_range_upper_bound.is_none_or(|hi| r.created < hi))
            .collect();
        all.sort_by(|a, b| {
            a.created
                .total_cmp(&b.created)
                .then_with(|| a.arn.cmp(&b.arn))
        });
        if let Some(start) = &input.exclusive_start_backup_arn {
            if let Some(pos) = all.iter().position(|r| r.arn == *start) {
                all.drain(..=pos);
            }
        }
        let limit = input
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(usize::MAX);
        let more = all.len() > limit;
        all.truncate(limit);
        let mut out = serde_json::json!({
            "BackupSummaries": all.iter().map(backup_summary).collect::<Vec<_>>(),
        });
        if more {
            if let Some(last) = all.last() {
                set(&mut out, "LastEvaluatedBackupArn", last.arn.clone());
            }
        }
        Ok(out)
    }

    pub async fn restore_table_from_backup(
        &self,
        input: RestoreInput,
    ) -> Result<TableDescriptionOutput, ApiError> {
        let mut v = Violations::new();
        match &input.target_table_name {
            None => v.not_null(&input.target_table_name, "targetTableName"),
            Some(n) => v.new_name(n, "targetTableName", 255),
        }
        if input.backup_arn.is_none() {
            v.not_null(&input.backup_arn, "backupArn");
        }
        v.enumeration(
            input.billing_mode_override.as_deref(),
            "billingModeOverride",
            &["PROVISIONED", "PAY_PER_REQUEST"],
        );
        v.into_result()?;
        let arn = input.backup_arn.clone().unwrap_or_default();
        let rec = self
            .backup_record(&arn)?
            .ok_or_else(|| backup_not_found(&arn))?;
        if rec.status != "AVAILABLE" || self.restoring_from(&rec.keyspace) {
            return Err(ApiError::BackupInUse(format!(
                "Backup is being used to restore another table: {arn}"
            )));
        }
        let target = input.target_table_name.clone().unwrap_or_default();
        self.check_restore_target(&target)?;
        check_overrides(&rec.source, &input)?;
        let summary = RestoreSummary {
            source_backup_arn: Some(rec.arn.clone()),
            source_table_arn: Some(rec.source.desc.table_arn.clone()),
            restore_date_time: rec.created,
            restore_in_progress: true,
        };
        let source = RestoreSource {
            keyspace: rec.keyspace.clone(),
            staging: false,
            import: None,
        };
        self.start_restore(&rec.source, &input, &target, summary, source)
            .await
    }

    pub async fn update_continuous_backups(
        &self,
        input: UpdateContinuousBackupsInput,
    ) -> Result<serde_json::Value, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        match &input.point_in_time_recovery_specification {
            None => v.not_null(
                &input.point_in_time_recovery_specification,
                "pointInTimeRecoverySpecification",
            ),
            Some(s) => {
                v.not_null(
                    &s.point_in_time_recovery_enabled,
                    "pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled",
                );
                v.min(
                    s.recovery_period_in_days,
                    "pointInTimeRecoverySpecification.recoveryPeriodInDays",
                    1,
                );
                v.max(
                    s.recovery_period_in_days,
                    "pointInTimeRecoverySpecification.recoveryPeriodInDays",
                    35,
                );
            }
        }
        v.into_result()?;
        let name = input.table_name.clone().unwrap_or_default();
        let meta = self
            .table(&name)
            .map_err(|_| ApiError::TableNotFound(format!("Table not found: {name}")))?;
        let spec = input
            .point_in_time_recovery_specification
            .clone()
            .unwrap_or_default();
        let enable = spec.point_in_time_recovery_enabled == Some(true);
        if !enable && spec.recovery_period_in_days.is_some() {
            return Err(ApiError::validation(
                "Invalid Request: Cannot specify RecoveryPeriodInDays when disabling point-in-time recovery.",
            ));
        }
        let mut m = (*meta).clone();
        let hks = history_keyspace(&meta.keyspace);
        let period = spec.recovery_period_in_days.unwrap_or(35);
        match (&meta.pitr, enable) {
            (Some(p), true) => {
                m.pitr = Some(Pitr {
                    enabled_at: p.enabled_at,
                    period_days: period,
                });
            }
            (None, true) => {
                self.store
                    .backend()
                    .create_keyspace(&hks)
                    .map_err(storage_error)?;
                m.pitr = Some(Pitr {
                    enabled_at: self.clock.now(),
                    period_days: period,
                });
            }
            (_, false) => m.pitr = None,
        }
        let changed = m.pitr != meta.pitr;
        let out = if changed {
            let out = self.replace_meta(&meta, m).await?;
            // A barrier: writes queued with the old settings commit before we answer.
            self.store
                .transact(|_| Ok::<(), TxError>(()))
                .await
                .map_err(|TxError(e)| e)?;
            if out.pitr.is_none() && meta.pitr.is_some() {
                if let Err(e) = self.store.backend().drop_keyspace(&hks) {
                    tracing::warn!(error = %e, keyspace = %hks, "could not drop history keyspace");
                }
            }
            out
        } else {
            meta
        };
        Ok(serde_json::json!({
            "ContinuousBackupsDescription": self.continuous_backups(&out),
        }))
    }

    pub async fn describe_continuous_backups(
        &self,
        input: TableNameInput,
    ) -> Result<serde_json::Value, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        v.into_result()?;
        let name = input.table_name.clone().unwrap_or_default();
        let meta = self
            .table_for_admin(&name)
            .map_err(|_| ApiError::TableNotFound(format!("Table not found: {name}")))?;
        Ok(serde_json::json!({
            "ContinuousBackupsDescription": self.continuous_backups(&meta),
        }))
    }

    /// (earliest, latest) restorable times of a table with PITR on.
    fn restorable(&self, p: &Pitr) -> (f64, f64) {
        let now = self.clock.now();
        let earliest = p.enabled_at.max(now - p.period_days as f64 * 86_400.0);
        (earliest, now)
    }

    fn continuous_backups(&self, meta: &TableMeta) -> serde_json::Value {
        match &meta.pitr {
            Some(p) => {
                let (earliest, latest) = self.restorable(p);
                serde_json::json!({
                    "ContinuousBackupsStatus": "ENABLED",
                    "PointInTimeRecoveryDescription": {
                        "PointInTimeRecoveryStatus": "ENABLED",
                        "RecoveryPeriodInDays": p.period_days,
                        "EarliestRestorableDateTime": earliest,
                        "LatestRestorableDateTime": latest,
                    }
                })
            }
            None => serde_json::json!({
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"}
            }),
        }
    }

    pub async fn restore_table_to_point_in_time(
        &self,
        input: RestoreInput,
    ) -> Result<TableDescriptionOutput, ApiError> {
        let mut v = Violations::new();
        match &input.target_table_name {
            None => v.not_null(&input.target_table_name, "targetTableName"),
            Some(n) => v.new_name(n, "targetTableName", 255),
        }
        if input.source_table_name.is_some() {
            v.table_name(&input.source_table_name, "sourceTableName");
        }
        v.enumeration(
            input.billing_mode_override.as_deref(),
            "billingModeOverride",
            &["PROVISIONED", "PAY_PER_REQUEST"],
        );
        v.into_result()?;
        let source_name = match (&input.source_table_name, &input.source_table_arn) {
            (Some(_), Some(_)) => {
                return Err(ApiError::validation(
                    "Must provide exactly one of: sourceTableArn, sourceTableName",
                ))
            }
            (None, None) => {
                return Err(ApiError::validation(
                    "The parameter 'TableName' is required but was not present in the request",
                ))
            }
            (Some(n), None) => n.clone(),
            (None, Some(a)) => a
                .rsplit_once(":table/")
                .map(|(_, n)| n.to_owned())
                .unwrap_or_else(|| a.clone()),
        };
        let latest_flag = input.use_latest_restorable_time == Some(true);
        if latest_flag && input.restore_date_time.is_some() {
            return Err(ApiError::validation(
                "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set for point-in-time restore request. Please specify only one of them.",
            ));
        }
        if !latest_flag && input.restore_date_time.is_none() {
            return Err(ApiError::validation(
                "Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, but not both",
            ));
        }
        let meta = self
            .table(&source_name)
            .map_err(|_| ApiError::TableNotFound(format!("Table not found: {source_name}")))?;
        let Some(p) = meta.pitr.clone() else {
            return Err(ApiError::PointInTimeRecoveryUnavailable(format!(
                "Point in time recovery is not enabled for table '{source_name}'"
            )));
        };
        let target = input.target_table_name.clone().unwrap_or_default();
        let (earliest, latest) = self.restorable(&p);
        let at = match input.restore_date_time {
            Some(t) if !latest_flag => t,
            _ => latest,
        };
        if at < earliest || at > latest {
            use crate::ops::table::iso_seconds;
            return Err(ApiError::InvalidRestoreTime(format!(
                "RestoreDateTime '{}' must be within EarliestRestorableDateTime '{}' and LatestRestorableDateTime '{}'",
                iso_seconds(at),
                iso_seconds(earliest),
                iso_seconds(latest)
            )));
        }
        self.check_restore_target(&target)?;
        check_overrides(&meta, &input)?;
        // The table as it was at `at`, staged in a keyspace of its own, then restored.
        let staging = format!("b.{}", uuid::Uuid::new_v4().simple());
        let mut src = (*meta).clone();
        src.desc = self.describe(&meta)?;
        let m = src.clone();
        let ks = staging.clone();
        self.blocking(move |b| materialize(b, &m, Some(at), &ks))
            .await??;
        let summary = RestoreSummary {
            source_backup_arn: None,
            source_table_arn: Some(meta.desc.table_arn.clone()),
            restore_date_time: at,
            restore_in_progress: true,
        };
        let source = RestoreSource {
            keyspace: staging.clone(),
            staging: true,
            import: None,
        };
        let out = self
            .start_restore(&src, &input, &target, summary, source)
            .await;
        if out.is_err() {
            let _ = self.store.backend().drop_keyspace(&staging);
        }
        out
    }

    /// Create the target table from the source's definition and the overrides, then fill
    /// it in the background.
    async fn start_restore(
        &self,
        src: &TableMeta,
        input: &RestoreInput,
        target: &str,
        summary: RestoreSummary,
        source: RestoreSource,
    ) -> Result<TableDescriptionOutput, ApiError> {
        let create = restore_create_input(src, input, target);
        let out = self
            .create_table_inner(create, Some((Some(summary), source)))
            .await?;
        let name = target.to_owned();
        match self.me.get().and_then(std::sync::Weak::upgrade) {
            Some(engine) => {
                tokio::spawn(async move {
                    if let Err(e) = engine.fill_restored(&name).await {
                        tracing::warn!(table = %name, error = %e, "restore failed");
                    }
                });
            }
            None => self.fill_restored(&name).await?,
        }
        Ok(out)
    }

    /// Copy a restore's items into its table through the write path, batch by batch;
    /// idempotent, so it resumes after a restart.
    pub(crate) async fn fill_restored(&self, name: &str) -> Result<(), ApiError> {
        let meta = self.table_for_admin(name)?;
        let Some(source) = meta.restore_source.clone() else {
            return Ok(());
        };
        // An import still reading its files: its own job fills the table afterwards.
        if source.import.is_some() {
            return Ok(());
        }
        let Some(job) = self.claim_job(format!("restore/{name}")).await else {
            return Ok(());
        };
        let mut after: Option<Vec<u8>> = None;
        loop {
            if !job.renew().await {
                return Ok(());
            }
            let batch: Vec<(Vec<u8>, Vec<u8>)> = {
                let view = self.store.snapshot().map_err(storage_error)?;
                let mut out = Vec::new();
                let lo = match &after {
                    Some(k) => Bound::Excluded(k.as_slice()),
                    None => Bound::Unbounded,
                };
                view.scan(
                    &source.keyspace,
                    lo,
                    Bound::Unbounded,
                    false,
                    &mut |k, v| {
                        out.push((k.to_vec(), v.to_vec()));
                        out.len() < RESTORE_BATCH
                    },
                )
                .map_err(storage_error)?;
                out
            };
            let Some((last, _)) = batch.last() else {
                break;
            };
            after = Some(last.clone());
            let m = meta.clone();
            let region = self.config.region.clone();
            let server = self.server_id();
            let now = self.clock.now();
            let shard_period = self.config.stream_shard_period.as_secs_f64();
            self.store
                .transact(move |tx| {
                    for (k, v) in &batch {
                        let item = decode_item(v)
                            .map_err(|e| TxError(ApiError::InternalServerError(e.to_string())))?;
                        let old = crate::ops::item::read_item(tx, &m.keyspace, k)?;
                        if old.as_ref() == Some(&item) {
                            continue;
                        }
                        let ctx = crate::streams::WriteCtx {
                            now,
                            region: &region,
                            by_ttl: false,
                            shard_period,
                            server: server.as_deref(),
                        };
                        crate::ops::item::apply_write(tx, &m, k, old.as_ref(), Some(&item), ctx)?;
                    }
                    Ok::<(), TxError>(())
                })
                .await
                .map_err(|TxError(e)| e)?;
        }
        let mut m = (*meta).clone();
        m.restore_source = None;
        // DynamoDB shows RestoreSummary only while the restored table is CREATING.
        m.desc.restore_summary = None;
        self.replace_meta(&meta, m).await?;
        if source.staging {
            if let Err(e) = self.store.backend().drop_keyspace(&source.keyspace) {
                tracing::warn!(error = %e, keyspace = %source.keyspace, "could not drop staging keyspace");
            }
        }
        job.finish().await;
        Ok(())
    }

    /// Keyspaces the backup records name, and records of backups that never finished
    /// (removed: a crash interrupted them).
    pub(crate) fn live_backup_keyspaces(
        backend: &dyn Backend,
    ) -> Result<std::collections::HashSet<String>, ferrodyn_storage::StorageError> {
        let view = backend.snapshot()?;
        let mut live = std::collections::HashSet::new();
        let mut dead = Vec::new();
        view.scan(
            BACKUPS,
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            &mut |k, v| {
                match serde_json::from_slice::<BackupRecord>(v) {
                    Ok(r) if r.status == "AVAILABLE" => {
                        live.insert(r.keyspace);
                    }
                    _ => dead.push(k.to_vec()),
                }
                true
            },
        )?;
        drop(view);
        if !dead.is_empty() {
            let ops: Vec<Op> = dead
                .into_iter()
                .map(|key| Op::Delete {
                    ks: BACKUPS.into(),
                    key,
                })
                .collect();
            backend.commit(&ops, Durability::Fsync)?;
        }
        Ok(live)
    }
}

/// The override rules DynamoDB checks before restoring.
fn check_overrides(src: &TableMeta, input: &RestoreInput) -> Result<(), ApiError> {
    let billing_override = input.billing_mode_override.as_deref();
    let tp = input.provisioned_throughput_override.is_some();
    let msg = match billing_override {
        Some("PAY_PER_REQUEST") if tp => {
            Some("Invalid Request: Cannot override ProvisionedThroughput if BillingMode is overridden to PAY_PER_REQUEST")
        }
        Some("PROVISIONED") if !tp => {
            Some("Invalid Request: Must override ProvisionedThroughput if BillingMode is overridden to PROVISIONED")
        }
        None if tp && billing_mode(&src.desc) != "PROVISIONED" => {
            Some("Invalid Request: Cannot override ProvisionedThroughput unless BillingMode is PROVISIONED")
        }
        _ => None,
    };
    match msg {
        Some(m) => Err(ApiError::validation(m)),
        None => Ok(()),
    }
}

fn check_backup_arn(arn: &Option<String>) -> Result<String, ApiError> {
    let mut v = Violations::new();
    match arn {
        None => v.not_null(arn, "backupArn"),
        Some(a) if a.len() < 37 => v.add(
            Some(a),
            "backupArn",
            "Member must have length greater than or equal to 37",
        ),
        Some(a) if a.len() > 1024 => v.add(
            Some(a),
            "backupArn",
            "Member must have length less than or equal to 1024",
        ),
        _ => {}
    }
    v.into_result()?;
    Ok(arn.clone().unwrap_or_default())
}

fn billing_mode(d: &TableDescription) -> &str {
    d.billing_mode_summary
        .as_ref()
        .map_or("PROVISIONED", |b| b.billing_mode.as_str())
}

fn backup_details(r: &BackupRecord) -> serde_json::Value {
    let mut d = serde_json::json!({
        "BackupArn": r.arn,
        "BackupName": r.name,
        "BackupSizeBytes": r.size_bytes,
        "BackupStatus": r.status,
        "BackupType": r.kind,
        "BackupCreationDateTime": r.created,
    });
    if let Some(e) = r.expiry {
        set(&mut d, "BackupExpiryDateTime", e);
    }
    d
}

fn backup_summary(r: &BackupRecord) -> serde_json::Value {
    let mut s = serde_json::json!({
        "TableName": r.source.name,
        "TableId": r.source.desc.table_id,
        "TableArn": r.source.desc.table_arn,
        "BackupArn": r.arn,
        "BackupName": r.name,
        "BackupCreationDateTime": r.created,
        "BackupStatus": r.status,
        "BackupType": r.kind,
        "BackupSizeBytes": r.size_bytes,
    });
    if let Some(e) = r.expiry {
        set(&mut s, "BackupExpiryDateTime", e);
    }
    s
}

fn backup_description(r: &BackupRecord) -> serde_json::Value {
    let d = &r.source.desc;
    let mut table = serde_json::json!({
        "TableName": r.source.name,
        "TableId": d.table_id,
        "TableArn": d.table_arn,
        "TableSizeBytes": r.size_bytes,
        "KeySchema": d.key_schema,
        "TableCreationDateTime": d.creation_date_time,
        "ProvisionedThroughput": {
            "ReadCapacityUnits": d.provisioned_throughput.read_capacity_units,
            "WriteCapacityUnits": d.provisioned_throughput.write_capacity_units,
        },
        "ItemCount": r.item_count,
        "BillingMode": billing_mode(d),
    });
    if r.status == "CREATING" {
        set(&mut table, "TableSizeBytes", d.table_size_bytes);
        set(&mut table, "ItemCount", d.item_count);
    }
    let mut features = serde_json::Map::new();
    if let Some(g) = &d.global_secondary_indexes {
        let v: Vec<_> = g
            .iter()
            .map(|g| {
                serde_json::json!({
                    "IndexName": g.index_name,
                    "KeySchema": g.key_schema,
                    "Projection": g.projection,
                    "ProvisionedThroughput": {
                        "ReadCapacityUnits": g.provisioned_throughput.read_capacity_units,
                        "WriteCapacityUnits": g.provisioned_throughput.write_capacity_units,
                    },
                })
            })
            .collect();
        features.insert("GlobalSecondaryIndexes".into(), v.into());
    }
    if let Some(l) = &d.local_secondary_indexes {
        let v: Vec<_> = l
            .iter()
            .map(|l| {
                serde_json::json!({
                    "IndexName": l.index_name,
                    "KeySchema": l.key_schema,
                    "Projection": l.projection,
                })
            })
            .collect();
        features.insert("LocalSecondaryIndexes".into(), v.into());
    }
    if let Some(s) = &d.stream_specification {
        features.insert(
            "StreamDescription".into(),
            serde_json::to_value(s).unwrap_or_default(),
        );
    }
    if let Some(a) = &r.source.ttl {
        features.insert(
            "TimeToLiveDescription".into(),
            serde_json::json!({"TimeToLiveStatus": "ENABLED", "AttributeName": a}),
        );
    }
    if let Some(s) = &d.sse_description {
        features.insert(
            "SSEDescription".into(),
            serde_json::to_value(s).unwrap_or_default(),
        );
    }
    let mut out = serde_json::json!({
        "BackupDetails": backup_details(r),
        "SourceTableDetails": table,
    });
    set(&mut out, "SourceTableFeatureDetails", features);
    out
}

/// The CreateTable request a restore makes: the source's keys and indexes (or the
/// overrides), billing and throughput (or the overrides), SSE; not its tags, stream, TTL
/// or deletion protection, as DynamoDB restores them.
fn restore_create_input(src: &TableMeta, input: &RestoreInput, target: &str) -> CreateTableInput {
    let d = &src.desc;
    let billing = input
        .billing_mode_override
        .clone()
        .unwrap_or_else(|| billing_mode(d).to_owned());
    let provisioned = billing == "PROVISIONED";
    let table_tp = || {
        input.provisioned_throughput_override.clone().or_else(|| {
            Some(ProvisionedThroughput {
                read_capacity_units: Some(d.provisioned_throughput.read_capacity_units.max(1)),
                write_capacity_units: Some(d.provisioned_throughput.write_capacity_units.max(1)),
            })
        })
    };
    let gsis: Vec<GlobalSecondaryIndex> = match &input.global_secondary_index_override {
        Some(o) => o.clone(),
        None => d
            .global_secondary_indexes
            .iter()
            .flatten()
            .map(|g| GlobalSecondaryIndex {
                index_name: Some(g.index_name.clone()),
                key_schema: Some(g.key_schema.clone()),
                projection: Some(g.projection.clone()),
                provisioned_throughput: provisioned.then(|| ProvisionedThroughput {
                    read_capacity_units: Some(g.provisioned_throughput.read_capacity_units.max(1)),
                    write_capacity_units: Some(
                        g.provisioned_throughput.write_capacity_units.max(1),
                    ),
                }),
            })
            .collect(),
    };
    let gsis: Vec<GlobalSecondaryIndex> = gsis
        .into_iter()
        .map(|mut g| {
            if !provisioned {
                g.provisioned_throughput = None;
            } else if g.provisioned_throughput.is_none() {
                g.provisioned_throughput = table_tp();
            }
            g
        })
        .collect();
    let lsis: Vec<LocalSecondaryIndex> = match &input.local_secondary_index_override {
        Some(o) => o.clone(),
        None => d
            .local_secondary_indexes
            .iter()
            .flatten()
            .map(|l| LocalSecondaryIndex {
                index_name: Some(l.index_name.clone()),
                key_schema: Some(l.key_schema.clone()),
                projection: Some(l.projection.clone()),
            })
            .collect(),
    };
    // Only the attribute definitions the keys still use.
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    let schemas = d
        .key_schema
        .iter()
        .chain(gsis.iter().flat_map(|g| g.key_schema.iter().flatten()))
        .chain(lsis.iter().flat_map(|l| l.key_schema.iter().flatten()));
    for k in schemas {
        if let Some(n) = &k.attribute_name {
            used.insert(n.clone());
        }
    }
    let defs: Vec<AttributeDefinition> = d
        .attribute_definitions
        .iter()
        .filter(|a| a.attribute_name.as_ref().is_some_and(|n| used.contains(n)))
        .cloned()
        .collect();
    CreateTableInput {
        table_name: Some(target.to_owned()),
        key_schema: Some(d.key_schema.clone()),
        attribute_definitions: Some(defs),
        billing_mode: Some(billing.clone()),
        provisioned_throughput: if provisioned { table_tp() } else { None },
        global_secondary_indexes: (!gsis.is_empty()).then_some(gsis),
        local_secondary_indexes: (!lsis.is_empty()).then_some(lsis),
        tags: None,
        stream_specification: None,
        sse_specification: input.sse_specification_override.clone().or_else(|| {
            d.sse_description.as_ref().map(|_| SseSpecification {
                enabled: Some(true),
                sse_type: Some("KMS".into()),
                kms_master_key_id: None,
            })
        }),
        table_class: None,
        deletion_protection_enabled: None,
    }
}

/// Set a member of a JSON object.
fn set(v: &mut serde_json::Value, key: &str, value: impl Into<serde_json::Value>) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value.into());
    }
}
