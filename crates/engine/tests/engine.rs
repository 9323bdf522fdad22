//! Engine tests: typed request in, typed response (or ApiError) out, on the in-memory
//! backend. These pin the order of checks: with several faults, DynamoDB reports only the
//! first class of them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use ferrodyn_engine::{Engine, EngineConfig, SystemClock};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{decode, ApiError};
use ferrodyn_storage::Durability;

fn engine() -> Engine {
    Engine::open(
        common::backend(),
        Durability::Fsync,
        EngineConfig::default(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn msg(e: ApiError) -> String {
    match e {
        ApiError::Validation(m) => m,
        other => panic!("expected ValidationException, got {other:?}"),
    }
}

async fn table(e: &Engine, name: &str) {
    let input: CreateTableInput = decode(
        format!(
            r#"{{"TableName":"{name}","KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}}],
            "AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
        )
        .as_bytes(),
    )
    .unwrap();
    e.create_table(input).await.unwrap();
}

#[tokio::test]
async fn constraint_violations_come_before_the_table_lookup() {
    let e = engine();
    let input: PutItemInput = decode(
        br#"{"TableName":"missing","Item":{"pk":{"S":"a"}},"ReturnValues":"INVALID","ReturnConsumedCapacity":"INVALID","ReturnItemCollectionMetrics":"INVALID"}"#,
    )
    .unwrap();
    let m = msg(e.put_item(input).await.unwrap_err());
    assert!(m.starts_with("3 validation errors detected: "), "{m}");
    for p in [
        "returnConsumedCapacity",
        "returnValues",
        "returnItemCollectionMetrics",
    ] {
        assert!(m.contains(p), "{m}");
    }
}

#[tokio::test]
async fn table_lookup_comes_before_key_checks() {
    let e = engine();
    let input: PutItemInput = decode(br#"{"TableName":"missing","Item":{}}"#).unwrap();
    assert_eq!(
        e.put_item(input).await.unwrap_err(),
        ApiError::ResourceNotFound("Requested resource not found".into())
    );
}

#[tokio::test]
async fn key_checks_then_size() {
    let e = engine();
    table(&e, "tab1").await;
    let input: PutItemInput = decode(br#"{"TableName":"tab1","Item":{"pk":{"N":"1"}}}"#).unwrap();
    assert_eq!(
        msg(e.put_item(input).await.unwrap_err()),
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
    );
    let big = "x".repeat(400 * 1024);
    let body = format!(r#"{{"TableName":"tab1","Item":{{"pk":{{"S":"a"}},"d":{{"S":"{big}"}}}}}}"#);
    let input: PutItemInput = decode(body.as_bytes()).unwrap();
    assert_eq!(
        msg(e.put_item(input).await.unwrap_err()),
        "Item size has exceeded the maximum allowed size"
    );
}

#[tokio::test]
async fn stats_follow_writes() {
    let e = engine();
    table(&e, "tab2").await;
    for body in [
        r#"{"TableName":"tab2","Item":{"pk":{"S":"a"},"v":{"S":"12345"}}}"#,
        r#"{"TableName":"tab2","Item":{"pk":{"S":"b"}}}"#,
        r#"{"TableName":"tab2","Item":{"pk":{"S":"a"},"v":{"S":"1"}}}"#,
    ] {
        e.put_item(decode(body.as_bytes()).unwrap()).await.unwrap();
    }
    let d = e
        .describe_table(decode(br#"{"TableName":"tab2"}"#).unwrap())
        .await
        .unwrap()
        .table;
    assert_eq!(d.item_count, 2);
    // "pk"+"a" + "v"+"1" = 5 bytes, "pk"+"b" = 3 bytes
    assert_eq!(d.table_size_bytes, 8);
    e.delete_item(decode(br#"{"TableName":"tab2","Key":{"pk":{"S":"a"}}}"#).unwrap())
        .await
        .unwrap();
    let d = e
        .describe_table(decode(br#"{"TableName":"tab2"}"#).unwrap())
        .await
        .unwrap()
        .table;
    assert_eq!((d.item_count, d.table_size_bytes), (1, 3));
}

#[tokio::test]
async fn create_table_name_required_message() {
    let e = engine();
    let input: CreateTableInput = decode(b"{}").unwrap();
    assert_eq!(
        msg(e.create_table(input).await.unwrap_err()),
        "The parameter 'TableName' is required but was not present in the request"
    );
}

#[tokio::test]
async fn catalog_survives_reopen_on_the_same_backend() {
    let backend = common::backend();
    let open = || {
        Engine::open(
            backend.clone(),
            Durability::Fsync,
            EngineConfig::default(),
            Arc::new(SystemClock),
        )
        .unwrap()
    };
    let e = open();
    table(&e, "kept").await;
    e.put_item(decode(br#"{"TableName":"kept","Item":{"pk":{"S":"a"}}}"#).unwrap())
        .await
        .unwrap();
    drop(e);
    let e = open();
    let got = e
        .get_item(decode(br#"{"TableName":"kept","Key":{"pk":{"S":"a"}}}"#).unwrap())
        .await
        .unwrap();
    assert!(got.item.is_some());
}
