//! DynamoDB Streams: the change log written in the item write path, and the Streams API.
//!
//! Log keyspace `s.<table id>`: key = stream id (its creation time in ms, 8 bytes) |
//! sequence number (8 bytes), value = the record as JSON. Sequence numbers come from a
//! per-table counter in the statistics keyspace, incremented in the same transaction as
//! the item change, so they increase in commit order. Each stream has one shard.

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

    /// The stream's shard: `shardId-<20 digits>-<8 hex>` (37 characters; the SDKs check
    /// the length before sending).
    pub fn shard_id(&self) -> String {
        format!(
            "shardId-{:020}-{:08x}",
            self.id(),
            fnv1a32(self.arn.as_bytes())
        )
    }
}

/// Who made a change: TTL deletions are attributed to the DynamoDB service.
#[derive(Debug, Clone, Copy)]
pub struct WriteCtx<'a> {
    pub now: f64,
    pub region: &'a str,
    pub by_ttl: bool,
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
    let mut key = stream.id().to_be_bytes().to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    tx.put(
        &keyspace_of(&meta.keyspace),
        key,
        serde_json::to_vec(&serde_json::Value::Object(r)).unwrap_or_default(),
    );
    Ok(())
}

/// A parsed shard iterator: `<stream arn>|<shard id>|<next sequence>|<issued ms>`.
struct Iter {
    arn: String,
    shard: String,
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
        let shard = it.next()?.to_owned();
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

    /// The sequence number range of a stream's records: (first, last).
    fn seq_range(&self, meta: &TableMeta, s: &StreamInfo) -> Result<Option<(u64, u64)>, ApiError> {
        let view = self.store.snapshot().map_err(storage_error)?;
        let ks = keyspace_of(&meta.keyspace);
        let lo = s.id().to_be_bytes();
        let hi = (s.id() + 1).to_be_bytes();
        let mut first = None;
        let mut last = None;
        let seq = |k: &[u8]| {
            k.get(8..16)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
        };
        view.scan(
            &ks,
            Bound::Included(&lo[..]),
            Bound::Excluded(&hi[..]),
            false,
            &mut |k, _| {
                first = seq(k);
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
                last = seq(k);
                false
            },
        )
        .map_err(storage_error)?;
        Ok(first.zip(last))
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
        let range = self.seq_range(&meta, &s)?;
        let shard = Shard {
            shard_id: s.shard_id(),
            sequence_number_range: SequenceNumberRange {
                starting_sequence_number: Some(format_seq(range.map_or(0, |r| r.0))),
                ending_sequence_number: s.disabled_at.map(|_| format_seq(range.map_or(0, |r| r.1))),
            },
            parent_shard_id: None,
        };
        let shards = match &input.exclusive_start_shard_id {
            Some(x) if *x >= shard.shard_id => Vec::new(),
            _ => vec![shard],
        };
        Ok(DescribeStreamOutput {
            stream_description: StreamDescription {
                stream_arn: s.arn.clone(),
                stream_label: s.label.clone(),
                stream_status: if s.disabled_at.is_some() {
                    "DISABLED".into()
                } else {
                    "ENABLED".into()
                },
                stream_view_type: s.view_type.clone(),
                creation_request_date_time: s.created,
                table_name: meta.name.clone(),
                key_schema: meta.desc.key_schema.clone(),
                shards,
                last_evaluated_shard_id: None,
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
        if shard != s.shard_id() {
            return Err(ApiError::ResourceNotFound(format!(
                "Requested resource not found: Shard does not exist: {shard}"
            )));
        }
        let range = self.seq_range(&meta, &s)?;
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
                let cur = Stats::read_raw(&*view, &seq_key(&meta)).map_err(storage_error)?;
                cur.items.max(0) as u64 + 1
            }
            "AT_SEQUENCE_NUMBER" => seq_param()?,
            _ => seq_param()? + 1,
        };
        if let (Some((first, _)), "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER") = (range, kind) {
            if next < first {
                return Err(ApiError::TrimmedDataAccess(
                    "The operation attempted to read past the oldest stream record in a shard."
                        .into(),
                ));
            }
        }
        Ok(GetShardIteratorOutput {
            shard_iterator: Iter {
                arn,
                shard,
                next,
                issued: self.clock.now(),
            }
            .encode(),
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
        let limit = input
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(1000);
        let ks = keyspace_of(&meta.keyspace);
        let mut from = s.id().to_be_bytes().to_vec();
        from.extend_from_slice(&it.next.to_be_bytes());
        let hi = (s.id() + 1).to_be_bytes();
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
                    last_seq = k
                        .get(8..16)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok())
                        .map(u64::from_be_bytes);
                    if let Ok(r) = serde_json::from_slice::<serde_json::Value>(v) {
                        records.push(r);
                    }
                    records.len() < limit
                },
            )
            .map_err(storage_error)?;
        }
        let next = last_seq.map_or(it.next, |s| s + 1);
        // A closed shard (the stream was disabled) ends once its records are read.
        let closed = s.disabled_at.is_some() && records.len() < limit;
        Ok(GetRecordsOutput {
            records,
            next_shard_iterator: (!closed).then(|| {
                Iter {
                    arn: it.arn.clone(),
                    shard: it.shard.clone(),
                    next,
                    issued: now,
                }
                .encode()
            }),
        })
    }
}
