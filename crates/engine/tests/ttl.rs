//! Time to Live with an injected clock: no sleeping.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use ferrodyn_engine::{Engine, EngineConfig, ManualClock};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{decode, ApiError};
use ferrodyn_storage::Durability;
use serde_json::json;

fn req<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    decode(&serde_json::to_vec(&v).unwrap()).unwrap()
}

#[tokio::test]
async fn expired_items_are_swept_through_the_expiry_index() {
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let e = Engine::open(
        common::backend(),
        Durability::Fsync,
        EngineConfig::default(),
        clock.clone(),
    )
    .unwrap();
    e.create_table(req(json!({
        "TableName": "sessions",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"u","AttributeType":"S"}],
        "GlobalSecondaryIndexes": [{"IndexName":"byuser","KeySchema":[{"AttributeName":"u","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .await
    .unwrap();
    let put = |pk: &str, exp: serde_json::Value| {
        req::<PutItemInput>(
            json!({"TableName":"sessions","Item":{"pk":{"S":pk},"u":{"S":"x"},"exp":exp}}),
        )
    };
    // Written before TTL is enabled: indexed when it is.
    e.put_item(put("early", json!({"N":"1800000100"})))
        .await
        .unwrap();
    let d: DescribeTimeToLiveOutput = e
        .describe_time_to_live(req(json!({"TableName":"sessions"})))
        .await
        .unwrap();
    assert_eq!(d.time_to_live_description.time_to_live_status, "DISABLED");
    e.update_time_to_live(req(json!({"TableName":"sessions","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}})))
        .await
        .unwrap();
    match e
        .update_time_to_live(req(json!({"TableName":"sessions","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}})))
        .await
    {
        Err(ApiError::Validation(m)) => assert_eq!(m, "TimeToLive is already enabled"),
        other => panic!("{other:?}"),
    }
    e.put_item(put("soon", json!({"N":"1800000050.5"})))
        .await
        .unwrap();
    e.put_item(put("later", json!({"N":"1900000000"})))
        .await
        .unwrap();
    e.put_item(put("text", json!({"S":"1700000000"})))
        .await
        .unwrap();
    e.put_item(put("ancient", json!({"N":"1000000000"})))
        .await
        .unwrap();
    e.put_item(put("moved", json!({"N":"1800000010"})))
        .await
        .unwrap();
    // Rewritten with a later expiry: the old entry must not delete it.
    e.put_item(put("moved", json!({"N":"1950000000"})))
        .await
        .unwrap();
    assert_eq!(
        e.sweep_expired().await.unwrap(),
        0,
        "nothing has expired yet"
    );
    clock.set(1_800_000_200.0);
    // Expired but not yet swept: still readable, as in DynamoDB.
    let got = e
        .get_item(req(
            json!({"TableName":"sessions","Key":{"pk":{"S":"soon"}}}),
        ))
        .await
        .unwrap();
    assert!(got.item.is_some());
    assert_eq!(e.sweep_expired().await.unwrap(), 2);
    let left: QueryOutput = e.scan(req(json!({"TableName":"sessions"}))).await.unwrap();
    let mut pks: Vec<String> = serde_json::to_value(&left).unwrap()["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pk"]["S"].as_str().unwrap().to_owned())
        .collect();
    pks.sort();
    assert_eq!(pks, ["ancient", "later", "moved", "text"]);
    // The index lost the deleted items too.
    let idx: QueryOutput = e
        .scan(req(
            json!({"TableName":"sessions","IndexName":"byuser","Select":"COUNT"}),
        ))
        .await
        .unwrap();
    assert_eq!(idx.count, 4);
    let d: DescribeTimeToLiveOutput = e
        .describe_time_to_live(req(json!({"TableName":"sessions"})))
        .await
        .unwrap();
    assert_eq!(d.time_to_live_description.time_to_live_status, "ENABLED");
    assert_eq!(
        d.time_to_live_description.attribute_name.as_deref(),
        Some("exp")
    );
}

async fn ttl_call(e: &Engine, enabled: bool, attr: &str) -> Result<(), String> {
    e.update_time_to_live(req(
        json!({"TableName":"ttl_t","TimeToLiveSpecification":{"Enabled":enabled,"AttributeName":attr}}),
    ))
    .await
    .map(|_| ())
    .map_err(|err| match err {
        ApiError::Validation(m) => m,
        other => format!("{other:?}"),
    })
}

async fn ttl_status(e: &Engine) -> (String, Option<String>) {
    let d: DescribeTimeToLiveOutput = e
        .describe_time_to_live(req(json!({"TableName":"ttl_t"})))
        .await
        .unwrap();
    (
        d.time_to_live_description.time_to_live_status,
        d.time_to_live_description.attribute_name,
    )
}

#[tokio::test]
async fn update_time_to_live_checks_content_then_the_cooldown() {
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let config = EngineConfig {
        transient_delay: Some(std::time::Duration::from_secs(2)),
        ..EngineConfig::default()
    };
    let e = Engine::open(common::backend(), Durability::Fsync, config, clock.clone()).unwrap();
    e.create_table(req(json!({
        "TableName": "ttl_t",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .await
    .unwrap();
    assert_eq!(
        ttl_call(&e, false, "exp").await,
        Err("TimeToLive is already disabled".into())
    );
    ttl_call(&e, true, "exp").await.unwrap();
    // Settling while the transient delay lasts, then settled.
    assert_eq!(
        ttl_status(&e).await,
        ("ENABLING".into(), Some("exp".into()))
    );
    clock.advance(3.0);
    assert_eq!(ttl_status(&e).await, ("ENABLED".into(), Some("exp".into())));
    // Content checks come before the cooldown.
    assert_eq!(
        ttl_call(&e, true, "exp").await,
        Err("TimeToLive is already enabled".into())
    );
    let other = Err(
        "TimeToLive is active on a different AttributeName: current AttributeName is exp".into(),
    );
    assert_eq!(ttl_call(&e, true, "other").await, other);
    assert_eq!(ttl_call(&e, false, "other").await, other);
    // A real change within the cooldown is refused.
    let cooldown =
        Err("Time to live has been modified multiple times within a fixed interval".into());
    assert_eq!(ttl_call(&e, false, "exp").await, cooldown);
    clock.advance(30.0 * 60.0);
    assert_eq!(ttl_call(&e, false, "exp").await, cooldown);
    clock.advance(60.0);
    ttl_call(&e, false, "exp").await.unwrap();
    assert_eq!(
        ttl_status(&e).await,
        ("DISABLING".into(), Some("exp".into()))
    );
    clock.advance(3.0);
    assert_eq!(ttl_status(&e).await, ("DISABLED".into(), None));
    assert_eq!(ttl_call(&e, true, "renamed").await, cooldown);
    clock.advance(31.0 * 60.0);
    ttl_call(&e, true, "renamed").await.unwrap();
    clock.advance(3.0);
    assert_eq!(
        ttl_status(&e).await,
        ("ENABLED".into(), Some("renamed".into()))
    );
}

#[tokio::test]
async fn many_ancient_items_do_not_hold_up_the_sweeper() {
    let now = 1_800_000_000.0;
    let clock = Arc::new(ManualClock::new(now));
    let e = Engine::open(
        common::backend(),
        Durability::Fsync,
        EngineConfig::default(),
        clock.clone(),
    )
    .unwrap();
    e.create_table(req(json!({
        "TableName": "logs",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .await
    .unwrap();
    e.update_time_to_live(req(json!({"TableName":"logs","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}})))
        .await
        .unwrap();
    // 1,500 items whose expiry is more than five years back (left alone for good), and
    // 1,200 that expired a minute ago.
    for i in 0..1500 {
        e.put_item(req(json!({"TableName":"logs","Item":{"pk":{"S":format!("old{i}")},"exp":{"N":"1000000000"}}})))
            .await
            .unwrap();
    }
    for i in 0..1200 {
        e.put_item(req(json!({"TableName":"logs","Item":{"pk":{"S":format!("due{i}")},"exp":{"N":format!("{}", now - 60.0)}}})))
            .await
            .unwrap();
    }
    assert_eq!(e.sweep_expired().await.unwrap(), 1200);
    assert_eq!(e.sweep_expired().await.unwrap(), 0);
    let left: QueryOutput = e
        .scan(req(json!({"TableName":"logs","Select":"COUNT"})))
        .await
        .unwrap();
    assert_eq!(left.count, 1500);
}
