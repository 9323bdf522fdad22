//! Writes whose storage gave up after conflicts with other servers (`StorageError::Conflict`,
//! what the postgres backend answers once its retries are spent) get DynamoDB's contention
//! errors with status 400, never a 500. The conflicts are simulated by a backend wrapper,
//! so this runs on the memory backend (and on whatever `common::backend()` gives).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferrodyn_engine::{Engine, EngineConfig, SystemClock};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{decode, ApiError};
use ferrodyn_storage::{
    Backend, Durability, GroupFn, Op, ReadView, Result as StorageResult, StorageError,
};
use serde_json::json;

/// A backend whose commit groups fail with `Conflict` while `conflicting` is set.
struct Contended {
    inner: Arc<dyn Backend>,
    conflicting: Arc<AtomicBool>,
}

impl Contended {
    fn check(&self) -> StorageResult<()> {
        if self.conflicting.load(Ordering::SeqCst) {
            return Err(StorageError::Conflict(
                "serialization conflicts persisted after 51 attempts (simulated)".into(),
            ));
        }
        Ok(())
    }
}

impl Backend for Contended {
    fn name(&self) -> &'static str {
        "contended"
    }
    fn create_keyspace(&self, ks: &str) -> StorageResult<()> {
        self.inner.create_keyspace(ks)
    }
    fn drop_keyspace(&self, ks: &str) -> StorageResult<()> {
        self.inner.drop_keyspace(ks)
    }
    fn keyspaces(&self) -> StorageResult<Vec<String>> {
        self.inner.keyspaces()
    }
    fn snapshot(&self) -> StorageResult<Box<dyn ReadView + '_>> {
        self.inner.snapshot()
    }
    fn commit(&self, ops: &[Op], durability: Durability) -> StorageResult<()> {
        self.check()?;
        self.inner.commit(ops, durability)
    }
    fn write_group(&self, run: &mut GroupFn<'_>, durability: Durability) -> StorageResult<()> {
        self.check()?;
        self.inner.write_group(run, durability)
    }
    fn shared(&self) -> bool {
        self.inner.shared()
    }
    fn snapshots_block_writes(&self) -> bool {
        self.inner.snapshots_block_writes()
    }
}

fn req<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    decode(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn is_conflict(r: Result<impl std::fmt::Debug, ApiError>, what: &str) {
    match r {
        Err(e @ ApiError::TransactionConflict(_)) => {
            assert_eq!(e.status(), 400, "{what}");
            assert_eq!(
                e.type_name(),
                "com.amazonaws.dynamodb.v20120810#TransactionConflictException"
            );
        }
        other => panic!("{what}: expected TransactionConflictException, got {other:?}"),
    }
}

fn is_canceled_by_conflict(r: Result<impl std::fmt::Debug, ApiError>, actions: usize) {
    match r {
        Err(e @ ApiError::TransactionCanceled { .. }) => {
            assert_eq!(e.status(), 400);
            let body: serde_json::Value = serde_json::from_slice(&e.to_body()).unwrap();
            let reasons = body["CancellationReasons"].as_array().unwrap();
            assert_eq!(reasons.len(), actions, "{body}");
            for r in reasons {
                assert_eq!(r["Code"], "TransactionConflict", "{body}");
            }
            assert!(
                body["Message"]
                    .as_str()
                    .unwrap()
                    .contains("[TransactionConflict"),
                "{body}"
            );
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
}

#[tokio::test]
async fn writes_that_keep_conflicting_get_dynamodbs_contention_errors() {
    let conflicting = Arc::new(AtomicBool::new(false));
    let backend = Arc::new(Contended {
        inner: common::backend(),
        conflicting: conflicting.clone(),
    });
    let e = Engine::open(
        backend,
        Durability::Fsync,
        EngineConfig::default(),
        Arc::new(SystemClock),
    )
    .unwrap();
    e.create_table(req(json!({
        "TableName": "hot",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .await
    .unwrap();
    let item = json!({"pk":{"S":"a"},"n":{"N":"1"}});
    e.put_item(req(json!({"TableName":"hot","Item":item})))
        .await
        .unwrap();

    conflicting.store(true, Ordering::SeqCst);
    is_conflict(
        e.put_item(req(json!({"TableName":"hot","Item":item})))
            .await,
        "PutItem",
    );
    is_conflict(
        e.put_item(req(json!({"TableName":"hot","Item":item,
            "ConditionExpression":"attribute_exists(pk)"})))
            .await,
        "conditional PutItem",
    );
    is_conflict(
        e.update_item(req(json!({"TableName":"hot","Key":{"pk":{"S":"a"}},
            "UpdateExpression":"ADD n :one","ExpressionAttributeValues":{":one":{"N":"1"}}})))
            .await,
        "UpdateItem",
    );
    is_conflict(
        e.delete_item(req(json!({"TableName":"hot","Key":{"pk":{"S":"a"}}})))
            .await,
        "DeleteItem",
    );
    is_conflict(
        e.batch_write_item(req(json!({"RequestItems":{"hot":[
            {"PutRequest":{"Item":{"pk":{"S":"b"}}}},
            {"DeleteRequest":{"Key":{"pk":{"S":"a"}}}}
        ]}})))
        .await,
        "BatchWriteItem",
    );
    let tx: TransactWriteItemsInput = req(json!({"TransactItems":[
        {"Put":{"TableName":"hot","Item":{"pk":{"S":"c"}}}},
        {"Update":{"TableName":"hot","Key":{"pk":{"S":"a"}},"UpdateExpression":"SET m = :m",
            "ExpressionAttributeValues":{":m":{"S":"x"}}}},
        {"ConditionCheck":{"TableName":"hot","Key":{"pk":{"S":"e"}},
            "ConditionExpression":"attribute_not_exists(pk)"}}
    ]}));
    is_canceled_by_conflict(e.transact_write_items(tx.clone()).await, 3);
    let mut with_token = tx.clone();
    with_token.client_request_token = Some("conflict-token".into());
    is_canceled_by_conflict(e.transact_write_items(with_token.clone()).await, 3);
    is_canceled_by_conflict(
        e.execute_transaction(req(json!({"TransactStatements":[
            {"Statement":"INSERT INTO \"hot\" VALUE {'pk':'d'}"},
            {"Statement":"UPDATE \"hot\" SET m = 'y' WHERE pk = 'a'"}
        ]})))
        .await,
        2,
    );
    // Table operations: contention, not a server fault.
    match e
        .update_time_to_live(req(json!({"TableName":"hot",
            "TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}})))
        .await
    {
        Err(err) => assert_eq!(err.status(), 400, "{err:?}"),
        Ok(_) => panic!("UpdateTimeToLive committed through a conflicting backend"),
    }

    // Nothing was written; once the contention is over the same requests succeed (the
    // token of the cancelled transaction was not remembered).
    conflicting.store(false, Ordering::SeqCst);
    let got = e
        .get_item(req(
            json!({"TableName":"hot","Key":{"pk":{"S":"a"}},"ConsistentRead":true}),
        ))
        .await
        .unwrap();
    assert_eq!(got.item.unwrap().len(), 2);
    e.transact_write_items(with_token).await.unwrap();
    e.put_item(req(json!({"TableName":"hot","Item":item})))
        .await
        .unwrap();
}
