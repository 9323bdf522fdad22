//! Provisioned-capacity enforcement (off by default; `--enforce-capacity`): throttle a
//! PROVISIONED table or global secondary index the way DynamoDB does, so that clients
//! can test their retry logic.
//!
//! One token bucket per table (reads, writes) and per GSI (reads): it fills at the
//! provisioned units per second and keeps up to 300 seconds of unused capacity (DynamoDB's
//! burst capacity); a new bucket starts with one second's worth. A request is admitted
//! while its bucket holds a positive balance and is charged what it actually consumed
//! afterwards, so the balance may go below zero (the next requests wait for the refill),
//! as DynamoDB charges requests whose size is known only once they ran. Refused requests
//! get ProvisionedThroughputExceededException with DynamoDB's message and a
//! ThrottlingReasons entry naming the table or index. PAY_PER_REQUEST tables are never
//! throttled. Buckets are per server: with several servers on one database each enforces
//! the provisioned rate on its own (see docs/compatibility.md).

use std::collections::HashMap;
use std::sync::Mutex;

use ferrodyn_protocol::{ApiError, ThrottlingReason};

use crate::catalog::TableMeta;

/// Seconds of unused capacity a bucket keeps.
const BURST_SECONDS: f64 = 300.0;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Kind {
    Read,
    Write,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    rate: f64,
    at: f64,
}

impl Bucket {
    fn refill(&mut self, rate: f64, now: f64) {
        if rate != self.rate {
            // UpdateTable changed the provisioning: keep the balance, new ceiling.
            self.rate = rate;
        }
        let elapsed = (now - self.at).max(0.0);
        self.tokens = (self.tokens + elapsed * rate).min(rate * BURST_SECONDS);
        self.at = now;
    }
}

/// A bucket's key: table, index (None for the table itself) and kind.
type BucketKey = (String, Option<String>, Kind);

/// The buckets.
#[derive(Default, Debug)]
pub(crate) struct Throttle {
    buckets: Mutex<HashMap<BucketKey, Bucket>>,
}

/// What a bucket is for: the provisioned rate and how a refusal is worded.
struct Target<'a> {
    index: Option<&'a str>,
    rate: f64,
    arn: String,
}

fn target<'a>(meta: &'a TableMeta, index: Option<&'a str>, kind: Kind) -> Option<Target<'a>> {
    let provisioned = meta
        .desc
        .billing_mode_summary
        .as_ref()
        .is_none_or(|b| b.billing_mode == "PROVISIONED");
    if !provisioned {
        return None;
    }
    let units = |t: &ferrodyn_protocol::model::ProvisionedThroughputDescription| match kind {
        Kind::Read => t.read_capacity_units,
        Kind::Write => t.write_capacity_units,
    };
    // Global indexes have their own capacity; local ones share the table's.
    let gsi = index.and_then(|name| {
        meta.desc
            .global_secondary_indexes
            .iter()
            .flatten()
            .find(|g| g.index_name == name)
    });
    let (index, rate, arn) = match gsi {
        Some(g) => (
            Some(g.index_name.as_str()),
            units(&g.provisioned_throughput),
            g.index_arn.clone(),
        ),
        None => (
            None,
            units(&meta.desc.provisioned_throughput),
            meta.desc.table_arn.clone(),
        ),
    };
    // A rate of 0 (nothing provisioned) is not enforced rather than blocking forever.
    (rate > 0).then_some(Target {
        index,
        rate: rate as f64,
        arn,
    })
}

impl Throttle {
    /// Admit a request against `meta` (or one of its global indexes), or refuse it.
    pub(crate) fn admit(
        &self,
        meta: &TableMeta,
        index: Option<&str>,
        kind: Kind,
        now: f64,
    ) -> Result<(), ApiError> {
        let Some(t) = target(meta, index, kind) else {
            return Ok(());
        };
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        let b = bucket(&mut map, meta, &t, kind, now);
        if b.tokens > 0.0 {
            return Ok(());
        }
        Err(exceeded(&t, kind))
    }

    /// Charge what a request consumed.
    pub(crate) fn spend(
        &self,
        meta: &TableMeta,
        index: Option<&str>,
        kind: Kind,
        units: f64,
        now: f64,
    ) {
        let Some(t) = target(meta, index, kind) else {
            return;
        };
        if let Ok(mut map) = self.buckets.lock() {
            bucket(&mut map, meta, &t, kind, now).tokens -= units;
        }
    }

    /// Forget a table's buckets (it was deleted).
    pub(crate) fn forget(&self, table: &str) {
        if let Ok(mut map) = self.buckets.lock() {
            map.retain(|(t, _, _), _| t != table);
        }
    }
}

/// The bucket of a target, created with one second's worth and refilled up to `now`.
fn bucket<'m>(
    map: &'m mut HashMap<BucketKey, Bucket>,
    meta: &TableMeta,
    t: &Target<'_>,
    kind: Kind,
    now: f64,
) -> &'m mut Bucket {
    let key = (meta.name.clone(), t.index.map(str::to_owned), kind);
    let b = map.entry(key).or_insert(Bucket {
        tokens: t.rate,
        rate: t.rate,
        at: now,
    });
    b.refill(t.rate, now);
    b
}

fn exceeded(t: &Target<'_>, kind: Kind) -> ApiError {
    let op = match kind {
        Kind::Read => "Read",
        Kind::Write => "Write",
    };
    let (message, reason) = match t.index {
        None => (
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            format!("Table{op}ProvisionedThroughputExceeded"),
        ),
        Some(_) => (
            "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API",
            format!("Index{op}ProvisionedThroughputExceeded"),
        ),
    };
    ApiError::ProvisionedThroughputExceeded {
        message: message.to_owned(),
        reasons: vec![ThrottlingReason {
            reason,
            resource: t.arn.clone(),
        }],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn meta(rcu: i64, wcu: i64) -> TableMeta {
        let mut m = TableMeta {
            name: "t".into(),
            keyspace: "k".into(),
            schema: ferrodyn_types::KeySchema {
                hash: ferrodyn_types::KeyAttr {
                    name: "pk".into(),
                    ty: ferrodyn_types::ScalarType::S,
                },
                range: None,
            },
            encoding: 1,
            desc: Default::default(),
            tags: vec![],
            updated_at: None,
            ttl: None,
            ttl_changed_at: None,
            ttl_disabled_attr: None,
            streams: vec![],
            pitr: None,
            restore_source: None,
            version: 0,
        };
        m.desc.provisioned_throughput.read_capacity_units = rcu;
        m.desc.provisioned_throughput.write_capacity_units = wcu;
        m.desc.table_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t".into();
        m
    }

    #[test]
    fn a_bucket_fills_at_the_provisioned_rate_and_keeps_five_minutes() {
        let th = Throttle::default();
        let m = meta(5, 2);
        // A new bucket holds one second's worth: two 1-unit writes, then refused.
        th.admit(&m, None, Kind::Write, 100.0).unwrap();
        th.spend(&m, None, Kind::Write, 1.0, 100.0);
        th.admit(&m, None, Kind::Write, 100.0).unwrap();
        th.spend(&m, None, Kind::Write, 1.0, 100.0);
        let e = th.admit(&m, None, Kind::Write, 100.0).unwrap_err();
        let body = String::from_utf8(e.to_body()).unwrap();
        assert!(
            body.contains("ProvisionedThroughputExceededException"),
            "{body}"
        );
        assert!(
            body.contains("TableWriteProvisionedThroughputExceeded"),
            "{body}"
        );
        // Reads have their own bucket.
        th.admit(&m, None, Kind::Read, 100.0).unwrap();
        // Half a second later one more unit is there.
        th.admit(&m, None, Kind::Write, 100.5).unwrap();
        // A big write takes the balance below zero: refused until it is paid back.
        th.spend(&m, None, Kind::Write, 10.0, 100.5);
        assert!(th.admit(&m, None, Kind::Write, 104.0).is_err());
        th.admit(&m, None, Kind::Write, 105.1).unwrap();
        // An hour idle: at most 300 s of capacity (600 units) accumulated.
        let mut n = 0;
        while th.admit(&m, None, Kind::Write, 5000.0).is_ok() {
            th.spend(&m, None, Kind::Write, 1.0, 5000.0);
            n += 1;
        }
        assert_eq!(n, 600);
    }

    #[test]
    fn on_demand_and_unprovisioned_tables_are_never_throttled() {
        let th = Throttle::default();
        let mut m = meta(1, 1);
        m.desc.billing_mode_summary = Some(ferrodyn_protocol::model::BillingModeSummary {
            billing_mode: "PAY_PER_REQUEST".into(),
            last_update_to_pay_per_request_date_time: None,
        });
        for _ in 0..100 {
            th.admit(&m, None, Kind::Write, 1.0).unwrap();
            th.spend(&m, None, Kind::Write, 5.0, 1.0);
        }
        let m = meta(0, 0);
        th.spend(&m, None, Kind::Read, 5.0, 1.0);
        th.admit(&m, None, Kind::Read, 1.0).unwrap();
    }
}
