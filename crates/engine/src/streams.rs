//! DynamoDB Streams: the change log written in the item write path, and the Streams API.
//!
//! Log keyspace `s.<table id>`: key = stream id (its creation time in ms, 8 bytes) | shard
//! index (4 bytes) | sequence number (8 bytes), value = the record as JSON. Sequence
//! numbers come from a per-table counter in the statistics keyspace, incremented in the
//! same transaction as the item change, so they increase in commit order. Shards roll over
//! on a schedule (`stream_shard_period`, 4 hours by default): shard k takes the records
//! written in the k-th period after the stream was created, and is the parent of shard
//! k+1. Records older than 24 hours are trimmed shard by shard.

use std::ops::Bound;

use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_types::key::fnv1a32;
use ferrodyn_types::Item;
use serde::{Deserialize, Serialize};

use crate::catalog::{Stats, TableMeta};
use crate::{storage_error, Engine, TxError};

/// How long an iterator stays valid, in seconds.
pub const ITERATOR_SECONDS: f64 = 15.0 * 60.0;
/// How long records are kept, in seconds.
pub const RETENTION_SECONDS: f64 = 24.0 * 3600.0;

/// One stream of a table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamInfo {
    pub arn: String,
    pub label: String,
    pub view_type: String,
    pub created: f64,
    pub disabled_at: Option<f64>,
}

impl StreamInfo {
    pub fn id(&self) -> u64 {
        (self.created * 1000.0).max(0.0) as u64
    }

    /// Shard `idx` of the stream: `shardId-<start ms, 20 digits>-<8 hex>` (37
    /// characters; the SDKs check the length before sending).
    pub fn shard_id(&self, idx: u32, period: f64) -> String {
        let start = self.id() + (f64::from(idx) * period * 1000.0) as u64;
        let mut h = self.arn.as_bytes().to_vec();
        h.extend_from_slice(&idx.to_be_bytes());
        format!("shardId-{start:020}-{:08x}", fnv1a32(&h))
    }

    /// The shard that takes records at time `t`.
    pub fn shard_at(&self, t: f64, period: f64) -> u32 {
        let t = self.disabled_at.map_or(t, |d| t.min(d));
        ((t - self.created).max(0.0) / period.max(0.001))
            .floor()
            .min(f64::from(u32::MAX)) as u32
    }

    /// When shard `idx` stops taking records.
    fn shard_end(&self, idx: u32, period: f64) -> f64 {
        self.created + f64::from(idx + 1) * period
    }
}

fn log_key(stream: u64, shard: u32, seq: u64) -> Vec<u8> {
    let mut k = stream.to_be_bytes().to_vec();
    k.extend_from_slice(&shard.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn shard_prefix(stream: u64, shard: u32) -> Vec<u8> {
    let mut k = stream.to_be_bytes().to_vec();
    k.extend_from_slice(&shard.to_be_bytes());
    k
}

fn seq_of(k: &[u8]) -> Option<u64> {
    k.get(12..20)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
}

/// Who made a change: TTL deletions are attributed to the DynamoDB service.
#[derive(Debug, Clone, Copy)]
pub struct WriteCtx<'a> {
    pub now: f64,
    pub region: &'a str,
    pub by_ttl: bool,
    pub shard_period: f64,
    /// This server's id when storage is shared with other servers: the write then checks
    /// the table's metadata against the catalog and counts into this server's statistics.
    pub server: Option<&'a str>,
}

pub fn keyspace_of(table_keyspace: &str) -> String {
    let id = table_keyspace.strip_prefix("t.").unwrap_or(table_keyspace);
    format!("s.{id}")
}

fn seq_key(meta: &TableMeta) -> Vec<u8> {
    format!("q.{}", meta.desc.table_id).into_bytes()
}

fn format_seq(seq: u64) -> String {
    format!("{seq:021}")
}

impl TableMeta {
    /// The stream records are written to, if any.
    pub fn active_stream(&self) -> Option<&StreamInfo> {
        self.streams.last().filter(|s| s.disabled_at.is_none())
    }
}

/// Append the change record of one item write (called from `apply_write`).
pub(crate) fn on_write(
    tx: &mut ferrodyn_storage::Tx<'_>,
    meta: &TableMeta,
    old: Option<&Item>,
    new: Option<&Item>,
    ctx: WriteCtx<'_>,
) -> Result<(), TxError> {
    let Some(stream) = meta.active_stream() else {
        return Ok(());
    };
    let event = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(o), Some(n)) if o == n => return Ok(()),
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
        (None, None) => return Ok(()),
    };
    let seq = Stats::adjust_raw(tx, &seq_key(meta), 1, 0)?.items.max(0) as u64;
    let keys = meta.schema.project_key(new.or(old).unwrap_or(&Item::new()));
    let vt = stream.view_type.as_str();
    let with_new = matches!(vt, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES");
    let with_old = matches!(vt, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES");
    let mut size = ferrodyn_types::item_size(&keys);
    let mut d = serde_json::Map::new();
    d.insert(
        "ApproximateCreationDateTime".into(),
        serde_json::json!(ctx.now.floor()),
    );
    d.insert(
        "Keys".into(),
        serde_json::to_value(&keys).unwrap_or_default(),
    );
    if with_new {
        if let Some(n) = new {
            size += ferrodyn_types::item_size(n);
            d.insert(
                "NewImage".into(),
                serde_json::to_value(n).unwrap_or_default(),
            );
        }
    }
    if with_old {
        if let Some(o) = old {
            size += ferrodyn_types::item_size(o);
            d.insert(
                "OldImage".into(),
                serde_json::to_value(o).unwrap_or_default(),
            );
        }
    }
    d.insert("SequenceNumber".into(), format_seq(seq).into());
    d.insert("SizeBytes".into(), serde_json::json!(size));
    d.insert("StreamViewType".into(), vt.into());
    let mut r = serde_json::Map::new();
    r.insert(
        "eventID".into(),
        format!("{:08x}{:024x}", fnv1a32(stream.arn.as_bytes()), seq).into(),
    );
    r.insert("eventName".into(), event.into());
    r.insert("eventVersion".into(), "1.1".into());
    r.insert("eventSource".into(), "aws:dynamodb".into());
    r.insert("awsRegion".into(), ctx.region.into());
    r.insert("dynamodb".into(), serde_json::Value::Object(d));
    if ctx.by_ttl {
        r.insert(
            "userIdentity".into(),
            serde_json::json!({"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}),
        );
    }
    let key = log_key(stream.id(), stream.shard_at(ctx.now, ctx.shard_period), seq);
    tx.put(
        &keyspace_of(&meta.keyspace),
        key,
        serde_json::to_vec(&serde_json::Value::Object(r)).unwrap_or_default(),
    );
    Ok(())
}

/// A parsed shard iterator: `<stream arn>|<shard index>|<next sequence>|<issued ms>`.
struct Iter {
    arn: String,
    shard: u32,
    next: u64,
    issued: f64,
}

impl Iter {
    fn encode(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.arn,
            self.shard,
            self.next,
            (self.issued * 1000.0) as u64
        )
    }

    fn parse(s: &str) -> Option<Iter> {
        let mut it = s.rsplitn(4, '|');
        let issued: u64 = it.next()?.parse().ok()?;
        let next: u64 = it.next()?.parse().ok()?;
        let shard: u32 = it.next()?.parse().ok()?;
        let arn = it.next()?.to_owned();
        Some(Iter {
            arn,
            shard,
            next,
            issued: issued as f64 / 1000.0,
        })
    }
}

fn not_found(arn: &str) -> ApiError {
    ApiError::ResourceNotFound(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

impl Engine {
    /// The table and stream an ARN names.
    fn stream_by_arn(
        &self,
        arn: &str,
    ) -> Result<(std::sync::Arc<TableMeta>, StreamInfo), ApiError> {
        let table = arn
            .split_once(":table/")
            .and_then(|(_, rest)| rest.split_once("/stream/"))
            .map(|(t, _)| t)
            .ok_or_else(|| not_found(arn))?;
        let meta = self.table(table).map_err(|_| not_found(arn))?;
        let s = meta
            .streams
            .iter()
            .find(|s| s.arn == arn)
            .cloned()
            .ok_or_else(|| not_found(arn))?;
        Ok((meta, s))
    }

    /// The first and last sequence numbers stored in one shard.
    fn shard_range(
        &self,
        meta: &TableMeta,
        s: &StreamInfo,
        idx: u32,
    ) -> Result<Option<(u64, u64)>, ApiError> {
        let view = self.store.snapshot().map_err(storage_error)?;
        let ks = keyspace_of(&meta.keyspace);
        let lo = shard_prefix(s.id(), idx);
        let hi = match idx.checked_add(1) {
            Some(n) => shard_prefix(s.id(), n),
            None => shard_prefix(s.id() + 1, 0),
        };
        let mut first = None;
        let mut last = None;
        view.scan(
            &ks,
            Bound::Included(&lo[..]),
            Bound::Excluded(&hi[..]),
            false,
            &mut |k, _| {
                first = seq_of(k);
                false
            },
        )
        .map_err(storage_error)?;
        view.scan(
            &ks,
            Bound::Included(&lo[..]),
            Bound::Excluded(&hi[..]),
            true,
            &mut |k, _| {
                last = seq_of(k);
                false
            },
        )
        .map_err(storage_error)?;
        Ok(first.zip(last))
    }

    /// ENABLING / DISABLING while the transient delay lasts (DynamoDB Local's
    /// -delayTransientStatuses), then ENABLED / DISABLED.
    fn stream_status(&self, s: &StreamInfo) -> &'static str {
        let now = self.clock.now();
        let delay = self.config.transient_delay.map_or(0.0, |d| d.as_secs_f64());
        match s.disabled_at {
            Some(t) if now < t + delay => "DISABLING",
            Some(_) => "DISABLED",
            None if now < s.created + delay => "ENABLING",
            None => "ENABLED",
        }
    }

    fn period(&self) -> f64 {
        self.config.stream_shard_period.as_secs_f64()
    }

    /// The shards a reader can see: those not yet trimmed, up to the current one.
    fn shard_span(&self, s: &StreamInfo) -> (u32, u32) {
        let now = self.clock.now();
        let p = self.period();
        let cur = s.shard_at(now, p);
        let mut first = 0;
        while first < cur && s.shard_end(first, p) < now - RETENTION_SECONDS {
            first += 1;
        }
        (first, cur)
    }

    pub async fn list_streams(
        &self,
        input: ListStreamsInput,
    ) -> Result<ListStreamsOutput, ApiError> {
        let mut v = Violations::new();
        v.min(input.limit, "limit", 1);
        v.max(input.limit, "limit", 100);
        v.into_result()?;
        let mut all: Vec<StreamSummary> = self
            .tables
            .read()
            .map(|t| {
                t.values()
                    .filter(|m| input.table_name.as_ref().is_none_or(|n| *n == m.name))
                    .flat_map(|m| {
                        m.streams.iter().map(|s| StreamSummary {
                            stream_arn: s.arn.clone(),
                            table_name: m.name.clone(),
                            stream_label: s.label.clone(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        all.sort_by(|a, b| a.stream_arn.cmp(&b.stream_arn));
        if let Some(start) = &input.exclusive_start_stream_arn {
            all.retain(|s| s.stream_arn > *start);
        }
        let limit = input
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(100);
        let more = all.len() > limit;
        all.truncate(limit);
        Ok(ListStreamsOutput {
            last_evaluated_stream_arn: if more {
                all.last().map(|s| s.stream_arn.clone())
            } else {
                None
            },
            streams: all,
        })
    }

    pub async fn describe_stream(
        &self,
        input: DescribeStreamInput,
    ) -> Result<DescribeStreamOutput, ApiError> {
        let mut v = Violations::new();
        v.not_null(&input.stream_arn, "streamArn");
        v.min(input.limit, "limit", 1);
        v.max(input.limit, "limit", 100);
        v.into_result()?;
        let arn = input.stream_arn.clone().unwrap_or_default();
        let (meta, s) = self.stream_by_arn(&arn)?;
        let p = self.period();
        let (first, cur) = self.shard_span(&s);
        let counter = {
            let view = self.store.snapshot().map_err(storage_error)?;
            Stats::read_raw(&*view, &seq_key(&meta))
                .map_err(storage_error)?
                .items
                .max(0) as u64
        };
        let mut all = Vec::new();
        for idx in first..=cur {
            let range = self.shard_range(&meta, &s, idx)?;
            let closed = idx < cur || s.disabled_at.is_some();
            all.push(Shard {
                shard_id: s.shard_id(idx, p),
                sequence_number_range: SequenceNumberRange {
                    starting_sequence_number: Some(format_seq(range.map_or(counter + 1, |r| r.0))),
                    ending_sequence_number: if closed {
                        range.map(|r| format_seq(r.1))
                    } else {
                        None
                    },
                },
                parent_shard_id: idx.checked_sub(1).map(|q| s.shard_id(q, p)),
            });
        }
        if let Some(x) = &input.exclusive_start_shard_id {
            if let Some(pos) = all.iter().position(|sh| sh.shard_id == *x) {
                all.drain(..=pos);
            }
        }
        let limit = input
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(100);
        let more = all.len() > limit;
        all.truncate(limit);
        let last_evaluated_shard_id = if more {
            all.last().map(|sh| sh.shard_id.clone())
        } else {
            None
        };
        let shards = all;
        Ok(DescribeStreamOutput {
            stream_description: StreamDescription {
                stream_arn: s.arn.clone(),
                stream_label: s.label.clone(),
                stream_status: self.stream_status(&s).into(),
                stream_view_type: s.view_type.clone(),
                creation_request_date_time: s.created,
                table_name: meta.name.clone(),
                key_schema: meta.desc.key_schema.clone(),
                shards,
                last_evaluated_shard_id,
            },
        })
    }

    pub async fn get_shard_iterator(
        &self,
        input: GetShardIteratorInput,
    ) -> Result<GetShardIteratorOutput, ApiError> {
        let mut v = Violations::new();
        v.not_null(&input.stream_arn, "streamArn");
        v.not_null(&input.shard_id, "shardId");
        v.not_null(&input.shard_iterator_type, "shardIteratorType");
        v.enumeration(
            input.shard_iterator_type.as_deref(),
            "shardIteratorType",
            &[
                "TRIM_HORIZON",
                "LATEST",
                "AT_SEQUENCE_NUMBER",
                "AFTER_SEQUENCE_NUMBER",
            ],
        );
        v.into_result()?;
        let arn = input.stream_arn.clone().unwrap_or_default();
        let (meta, s) = self.stream_by_arn(&arn)?;
        let shard = input.shard_id.clone().unwrap_or_default();
        let p = self.period();
        let (first_idx, cur) = self.shard_span(&s);
        let Some(idx) = (0..=cur).find(|i| s.shard_id(*i, p) == shard) else {
            return Err(ApiError::ResourceNotFound(format!(
                "Requested resource not found: Shard does not exist: {shard}"
            )));
        };
        if idx < first_idx {
            return Err(ApiError::TrimmedDataAccess(
                "The operation attempted to read past the oldest stream record in a shard.".into(),
            ));
        }
        let range = self.shard_range(&meta, &s, idx)?;
        let kind = input.shard_iterator_type.as_deref().unwrap_or_default();
        let seq_param = || -> Result<u64, ApiError> {
            input
                .sequence_number
                .as_deref()
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "Must provide a valid SequenceNumber for ShardIteratorType {kind}"
                    ))
                })
        };
        let next = match kind {
            "TRIM_HORIZON" => range.map_or(0, |r| r.0),
            "LATEST" => {
                let view = self.store.snapshot().map_err(storage_error)?;
                let c = Stats::read_raw(&*view, &seq_key(&meta)).map_err(storage_error)?;
                c.items.max(0) as u64 + 1
            }
            "AT_SEQUENCE_NUMBER" => seq_param()?,
            _ => seq_param()? + 1,
        };
        let next_iter = Iter {
            arn,
            shard: idx,
            next,
            issued: self.clock.now(),
        };
        Ok(GetShardIteratorOutput {
            shard_iterator: next_iter.encode(),
        })
    }

    pub async fn get_records(&self, input: GetRecordsInput) -> Result<GetRecordsOutput, ApiError> {
        let mut v = Violations::new();
        v.not_null(&input.shard_iterator, "shardIterator");
        v.min(input.limit, "limit", 1);
        v.max(input.limit, "limit", 1000);
        v.into_result()?;
        let raw = input.shard_iterator.clone().unwrap_or_default();
        let it = Iter::parse(&raw).ok_or_else(|| ApiError::validation("Invalid ShardIterator"))?;
        let now = self.clock.now();
        if now - it.issued > ITERATOR_SECONDS {
            return Err(ApiError::ExpiredIterator(
                "Iterator expired. The iterator was created more than 15 minutes ago".into(),
            ));
        }
        let (meta, s) = self.stream_by_arn(&it.arn)?;
        let (first_idx, cur) = self.shard_span(&s);
        if it.shard < first_idx {
            return Err(ApiError::TrimmedDataAccess(
                "The operation attempted to read past the oldest stream record in a shard.".into(),
            ));
        }
        let limit = input
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(1000);
        let ks = keyspace_of(&meta.keyspace);
        let from = log_key(s.id(), it.shard, it.next);
        let hi = match it.shard.checked_add(1) {
            Some(n) => shard_prefix(s.id(), n),
            None => shard_prefix(s.id() + 1, 0),
        };
        let mut records = Vec::new();
        let mut last_seq = None;
        {
            let view = self.store.snapshot().map_err(storage_error)?;
            view.scan(
                &ks,
                Bound::Included(&from[..]),
                Bound::Excluded(&hi[..]),
                false,
                &mut |k, v| {
                    last_seq = seq_of(k);
                    if let Ok(r) = serde_json::from_slice::<serde_json::Value>(v) {
                        records.push(r);
                    }
                    records.len() < limit
                },
            )
            .map_err(storage_error)?;
        }
        let next = last_seq.map_or(it.next, |q| q + 1);
        let newest = records
            .last()
            .and_then(|r| r.pointer("/dynamodb/ApproximateCreationDateTime"))
            .and_then(serde_json::Value::as_f64);
        if let Ok(mut lag) = self.stream_lag.lock() {
            let age = newest.map_or(0.0, |t| (now - t).max(0.0));
            match lag.get_mut(&meta.name) {
                Some(v) => *v = age,
                None => {
                    lag.insert(meta.name.clone(), age);
                }
            }
        }
        // A closed shard (a newer one took over, or the stream was disabled) ends once its
        // records are read: no NextShardIterator.
        let closed = (it.shard < cur || s.disabled_at.is_some()) && records.len() < limit;
        Ok(GetRecordsOutput {
            records,
            next_shard_iterator: (!closed).then(|| {
                Iter {
                    arn: it.arn.clone(),
                    shard: it.shard,
                    next,
                    issued: now,
                }
                .encode()
            }),
        })
    }
}

impl Engine {
    /// Drop stream records older than the retention period (whole shards), and streams
    /// disabled longer ago than that.
    pub async fn trim_streams(&self) -> Result<(), ApiError> {
        let now = self.clock.now();
        let p = self.period();
        let tables: Vec<std::sync::Arc<TableMeta>> = self
            .tables
            .read()
            .map(|t| {
                t.values()
                    .filter(|m| !m.streams.is_empty())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for meta in tables {
            let ks = keyspace_of(&meta.keyspace);
            for s in &meta.streams {
                let (first, _) = self.shard_span(s);
                let stale_stream = s.disabled_at.is_some_and(|d| d < now - RETENTION_SECONDS);
                let end = if stale_stream {
                    shard_prefix(s.id() + 1, 0)
                } else {
                    shard_prefix(s.id(), first)
                };
                let lo = shard_prefix(s.id(), 0);
                let keys: Vec<Vec<u8>> = {
                    let view = self.store.snapshot().map_err(storage_error)?;
                    let mut keys = Vec::new();
                    view.scan(
                        &ks,
                        Bound::Included(&lo[..]),
                        Bound::Excluded(&end[..]),
                        false,
                        &mut |k, _| {
                            keys.push(k.to_vec());
                            keys.len() < 4096
                        },
                    )
                    .map_err(storage_error)?;
                    keys
                };
                if !keys.is_empty() {
                    let ks2 = ks.clone();
                    self.store
                        .transact(move |tx| {
                            for k in &keys {
                                tx.delete(&ks2, k.clone());
                            }
                            Ok::<(), TxError>(())
                        })
                        .await
                        .map_err(|TxError(e)| e)?;
                }
                let _ = p;
            }
            let keep: Vec<StreamInfo> = meta
                .streams
                .iter()
                .filter(|s| !s.disabled_at.is_some_and(|d| d < now - RETENTION_SECONDS))
                .cloned()
                .collect();
            if keep.len() != meta.streams.len() {
                let mut m = (*meta).clone();
                m.streams = keep;
                self.replace_meta(&meta, m).await?;
            }
        }
        Ok(())
    }
}
