//! Two engines on one shared backend, as two servers on one PostgreSQL database (run with
//! `FERRODYN_TEST_ENGINE_BACKEND=postgres FERRODYN_TEST_POSTGRES=...`; passes as skipped on
//! the memory backend, which is not shared). The clock stands still, so the engines' catalog
//! caches are only refreshed when a table is missing or a write finds its table changed.
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

fn create() -> CreateTableInput {
    req(json!({
        "TableName": "shared",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
        "BillingMode": "PAY_PER_REQUEST"
    }))
}

fn put(pk: &str, exp: u64) -> PutItemInput {
    req(json!({"TableName":"shared","Item":{"pk":{"S":pk},"exp":{"N":exp.to_string()}}}))
}

/// Two engines on one shared backend (as two servers on one database) with a clock that
/// stands still; `None`, after saying so, when the backend is not shared.
fn two_servers(backend: Arc<dyn ferrodyn_storage::Backend>) -> Option<[Arc<Engine>; 2]> {
    if !backend.shared() {
        eprintln!("skipped: the backend is not shared (FERRODYN_TEST_ENGINE_BACKEND=postgres)");
        return None;
    }
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let open = || {
        Arc::new(
            Engine::open(
                backend.clone(),
                Durability::Fsync,
                EngineConfig::default(),
                clock.clone(),
            )
            .unwrap(),
        )
    };
    Some([open(), open()])
}

#[tokio::test]
async fn a_stale_catalog_cache_never_writes_by_old_metadata() {
    let Some([a, b]) = two_servers(common::backend()) else {
        return;
    };
    a.create_table(create()).await.unwrap();
    // Unknown to b's cache: re-read at once.
    b.put_item(put("one", 1_800_000_000 - 5)).await.unwrap();

    // TTL turned on through a; b still caches the table without it, yet its write keeps
    // the expiry index, because writes follow the committed metadata.
    a.update_time_to_live(req(json!({"TableName":"shared","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}})))
        .await
        .unwrap();
    b.put_item(put("two", 1_800_000_000 - 5)).await.unwrap();
    assert_eq!(a.sweep_expired().await.unwrap(), 2);

    // Deleted and created again through a: b's cached table is gone, and its write is
    // refused rather than written into either table; the next one finds the new table.
    b.put_item(put("three", 1_900_000_000)).await.unwrap();
    a.delete_table(req(json!({"TableName":"shared"})))
        .await
        .unwrap();
    a.create_table(create()).await.unwrap();
    match b.put_item(put("four", 1_900_000_000)).await {
        Err(ApiError::ResourceNotFound(_)) => {}
        other => panic!("expected ResourceNotFound, got {other:?}"),
    }
    b.put_item(put("five", 1_900_000_000)).await.unwrap();
    let d = a
        .describe_table(req(json!({"TableName":"shared"})))
        .await
        .unwrap();
    assert_eq!(d.table.item_count, 1);
    for (pk, there) in [("three", false), ("four", false), ("five", true)] {
        let g = a
            .get_item(req(
                json!({"TableName":"shared","Key":{"pk":{"S":pk}},"ConsistentRead":true}),
            ))
            .await
            .unwrap();
        assert_eq!(g.item.is_some(), there, "{pk}");
    }

    // Table operations always read the latest catalog.
    a.update_time_to_live(req(json!({"TableName":"shared","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"exp"}})))
        .await
        .unwrap();
    let d = b
        .describe_time_to_live(req(json!({"TableName":"shared"})))
        .await
        .unwrap();
    assert_ne!(d.time_to_live_description.time_to_live_status, "DISABLED");
}

/// Writes through two servers, each with commit groups in flight at once in three lanes
/// (`--storage-commit-lanes 3`): the item count stays exact, and lanes past the first count
/// into statistics rows of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn item_counts_stay_exact_with_commit_groups_in_flight_at_once() {
    let backend = common::backend_with_lanes(3);
    let Some(engines) = two_servers(backend.clone()) else {
        return;
    };
    engines[0].create_table(create()).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let e = engines[i % 2].clone();
        tasks.spawn(async move { e.put_item(put(&format!("k{i}"), 1)).await.map(drop) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    // Overwrites (no change in count) and deletes, at once, through both.
    for i in 0..150 {
        let e = engines[(i + 1) % 2].clone();
        tasks.spawn(async move {
            if i < 100 {
                e.put_item(put(&format!("k{i}"), 2)).await.map(drop)
            } else {
                e.delete_item(req(
                    json!({"TableName":"shared","Key":{"pk":{"S":format!("k{i}")}}}),
                ))
                .await
                .map(drop)
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    for e in &engines {
        let d = e
            .describe_table(req(json!({"TableName":"shared"})))
            .await
            .unwrap();
        assert_eq!(d.table.item_count, 350);
    }
    {
        assert_eq!(backend.commit_lanes(), 3);
        let view = backend.snapshot().unwrap();
        let mut lane_parts = 0;
        view.scan(
            "stats",
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            false,
            &mut |k, _| {
                lane_parts += usize::from(k.contains(&b'/'));
                true
            },
        )
        .unwrap();
        assert!(lane_parts > 0, "no commit lane past the first wrote");
    }
}

/// A server that commits a catalog change while another server's change is not in its cache
/// yet re-reads the catalog at its next request (its cache lacks that change), even with the
/// clock standing still: here a table deleted and created again through the other server.
#[tokio::test]
async fn a_catalog_change_after_another_servers_refreshes_the_cache() {
    let Some([a, b]) = two_servers(common::backend()) else {
        return;
    };
    a.create_table(create()).await.unwrap();
    b.put_item(put("old", 1)).await.unwrap();
    // Through a: the table is deleted and created again (a new keyspace), with one item.
    a.delete_table(req(json!({"TableName":"shared"})))
        .await
        .unwrap();
    a.create_table(create()).await.unwrap();
    a.put_item(put("new", 1)).await.unwrap();
    // b commits a catalog change of its own, right after a's two.
    let mut other = create();
    other.table_name = Some("other".into());
    b.create_table(other).await.unwrap();
    let got: GetItemOutput = b
        .get_item(req(
            json!({"TableName":"shared","Key":{"pk":{"S":"new"}},"ConsistentRead":true}),
        ))
        .await
        .unwrap();
    assert!(got.item.is_some(), "b still reads the deleted table");
}
