//! Streams with an injected clock: shard rollover and lineage, iterator expiry, 24-hour
//! trimming; no sleeping.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use ferrodyn_engine::{Engine, EngineConfig, ManualClock};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{decode, ApiError};
use ferrodyn_storage::Durability;
use serde_json::json;

fn req<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    decode(&serde_json::to_vec(&v).unwrap()).unwrap()
}

async fn records(e: &Engine, arn: &str, shard: &str) -> (Vec<serde_json::Value>, bool) {
    let it = e
        .get_shard_iterator(req(
            json!({"StreamArn":arn,"ShardId":shard,"ShardIteratorType":"TRIM_HORIZON"}),
        ))
        .await
        .unwrap()
        .shard_iterator;
    let out = e
        .get_records(req(json!({"ShardIterator":it})))
        .await
        .unwrap();
    (out.records, out.next_shard_iterator.is_some())
}

#[tokio::test]
async fn shards_roll_over_iterators_expire_and_records_are_trimmed() {
    let t0 = 1_800_000_000.0;
    let clock = Arc::new(ManualClock::new(t0));
    let config = EngineConfig {
        stream_shard_period: Duration::from_secs(3600),
        ..EngineConfig::default()
    };
    let e = Engine::open(common::backend(), Durability::Fsync, config, clock.clone()).unwrap();
    e.create_table(req(json!({
        "TableName": "orders",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}
    })))
    .await
    .unwrap();
    let put = |pk: &str| req::<PutItemInput>(json!({"TableName":"orders","Item":{"pk":{"S":pk}}}));
    e.put_item(put("a")).await.unwrap();
    e.put_item(put("a")).await.unwrap(); // unchanged: no record
    clock.set(t0 + 3700.0);
    e.put_item(put("b")).await.unwrap();
    let arn = e
        .list_streams(req(json!({"TableName":"orders"})))
        .await
        .unwrap()
        .streams[0]
        .stream_arn
        .clone();
    let d = e
        .describe_stream(req(json!({"StreamArn":arn})))
        .await
        .unwrap()
        .stream_description;
    assert_eq!(d.shards.len(), 2);
    let (s0, s1) = (&d.shards[0], &d.shards[1]);
    assert!(s0.shard_id.len() >= 28);
    assert_eq!(s1.parent_shard_id.as_deref(), Some(s0.shard_id.as_str()));
    assert!(
        s0.sequence_number_range.ending_sequence_number.is_some(),
        "the parent is closed"
    );
    assert!(s1.sequence_number_range.ending_sequence_number.is_none());
    let (r0, open0) = records(&e, &arn, &s0.shard_id).await;
    assert_eq!(r0.len(), 1);
    assert_eq!(r0[0]["eventName"], "INSERT");
    assert!(
        !open0,
        "a closed shard read to the end has no NextShardIterator"
    );
    let (r1, open1) = records(&e, &arn, &s1.shard_id).await;
    assert_eq!(r1[0]["dynamodb"]["Keys"]["pk"]["S"], "b");
    assert!(r1[0]["dynamodb"].get("NewImage").is_none());
    assert!(open1);
    // Iterators expire after 15 minutes.
    let it = e
        .get_shard_iterator(req(
            json!({"StreamArn":arn,"ShardId":s1.shard_id,"ShardIteratorType":"LATEST"}),
        ))
        .await
        .unwrap()
        .shard_iterator;
    clock.set(t0 + 3700.0 + 901.0);
    match e.get_records(req(json!({"ShardIterator":it}))).await {
        Err(ApiError::ExpiredIterator(_)) => {}
        other => panic!("{other:?}"),
    }
    // A day later the first shard is trimmed.
    clock.set(t0 + 2.0 * 3600.0 + 24.0 * 3600.0 + 10.0);
    e.trim_streams().await.unwrap();
    let d = e
        .describe_stream(req(json!({"StreamArn":arn})))
        .await
        .unwrap()
        .stream_description;
    assert!(d.shards.iter().all(|s| s.shard_id != s0.shard_id));
    match e
        .get_shard_iterator(req(
            json!({"StreamArn":arn,"ShardId":s0.shard_id,"ShardIteratorType":"TRIM_HORIZON"}),
        ))
        .await
    {
        Err(ApiError::ResourceNotFound(_)) | Err(ApiError::TrimmedDataAccess(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn stream_status_passes_through_enabling_and_disabling() {
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let config = EngineConfig {
        transient_delay: Some(Duration::from_secs(2)),
        ..EngineConfig::default()
    };
    let e = Engine::open(common::backend(), Durability::Fsync, config, clock.clone()).unwrap();
    e.create_table(req(json!({
        "TableName": "orders",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}
    })))
    .await
    .unwrap();
    let arn = e
        .list_streams(req(json!({"TableName":"orders"})))
        .await
        .unwrap()
        .streams[0]
        .stream_arn
        .clone();
    assert_eq!(stream_status(&e, &arn).await, "ENABLING");
    clock.advance(3.0);
    assert_eq!(stream_status(&e, &arn).await, "ENABLED");
    e.update_table(req(
        json!({"TableName":"orders","StreamSpecification":{"StreamEnabled":false}}),
    ))
    .await
    .unwrap();
    assert_eq!(stream_status(&e, &arn).await, "DISABLING");
    clock.advance(3.0);
    assert_eq!(stream_status(&e, &arn).await, "DISABLED");
}

async fn stream_status(e: &Engine, arn: &str) -> String {
    e.describe_stream(req(json!({ "StreamArn": arn })))
        .await
        .unwrap()
        .stream_description
        .stream_status
}
