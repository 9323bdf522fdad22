//! Backups, restores and point-in-time recovery, with an injected clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrodyn_engine::{Engine, EngineConfig, ManualClock};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{decode, ApiError};
use ferrodyn_storage::Durability;
use proptest::prelude::*;
use serde_json::json;

fn req<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    decode(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn engine(clock: Arc<ManualClock>) -> Engine {
    Engine::open(
        common::backend(),
        Durability::Fsync,
        EngineConfig::default(),
        clock,
    )
    .unwrap()
}

async fn create(e: &Engine, name: &str) {
    e.create_table(req(json!({
        "TableName": name,
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName":"pk","AttributeType":"S"},
            {"AttributeName":"sk","AttributeType":"N"},
            {"AttributeName":"g","AttributeType":"S"},
            {"AttributeName":"l","AttributeType":"N"}
        ],
        "GlobalSecondaryIndexes": [{"IndexName":"byg","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}],
        "LocalSecondaryIndexes": [{"IndexName":"byl","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"l","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"},
        "Tags": [{"Key":"team","Value":"chat"}]
    })))
    .await
    .unwrap();
}

/// Every item of a table, by (pk, sk), as JSON.
async fn contents(e: &Engine, name: &str) -> BTreeMap<(String, String), serde_json::Value> {
    let mut out = BTreeMap::new();
    let mut start: Option<serde_json::Value> = None;
    loop {
        let mut r = json!({"TableName": name, "ConsistentRead": true});
        if let Some(s) = &start {
            r["ExclusiveStartKey"] = s.clone();
        }
        let page: QueryOutput = e.scan(req(r)).await.unwrap();
        let page = serde_json::to_value(&page).unwrap();
        for item in page["Items"].as_array().unwrap() {
            let k = (
                item["pk"]["S"].as_str().unwrap().to_owned(),
                item["sk"]["N"].as_str().unwrap().to_owned(),
            );
            out.insert(k, item.clone());
        }
        match page.get("LastEvaluatedKey") {
            Some(k) if !k.is_null() => start = Some(k.clone()),
            _ => break,
        }
    }
    out
}

async fn put(e: &Engine, table: &str, pk: &str, sk: u32, v: u32) {
    e.put_item(req(json!({"TableName": table, "Item": {
        "pk": {"S": pk}, "sk": {"N": sk.to_string()}, "v": {"N": v.to_string()},
        "g": {"S": format!("g{}", v % 3)}, "l": {"N": (v % 5).to_string()}
    }})))
    .await
    .unwrap();
}

#[tokio::test]
async fn backup_restore_and_overrides() {
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let e = engine(clock.clone());
    create(&e, "Messages").await;
    for i in 0..5 {
        put(&e, "Messages", "tom#jerry", i, i).await;
    }
    let out = e
        .create_backup(req(json!({"TableName":"Messages","BackupName":"bk1"})))
        .await
        .unwrap();
    let arn = out["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(arn.starts_with("arn:aws:dynamodb:us-east-1:000000000000:table/Messages/backup/"));
    assert_eq!(arn.rsplit('/').next().unwrap().len(), 23);
    let d = e
        .describe_backup(req(json!({ "BackupArn": arn })))
        .await
        .unwrap();
    let d = &d["BackupDescription"];
    assert_eq!(d["BackupDetails"]["BackupStatus"], "AVAILABLE");
    assert_eq!(d["BackupDetails"]["BackupType"], "USER");
    assert_eq!(d["SourceTableDetails"]["ItemCount"], 5);
    assert!(d["BackupDetails"]["BackupSizeBytes"].as_i64().unwrap() > 0);
    assert_eq!(
        d["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"][0]["IndexName"],
        "byg"
    );
    assert_eq!(
        d["SourceTableFeatureDetails"]["StreamDescription"]["StreamViewType"],
        "KEYS_ONLY"
    );
    let at_backup = contents(&e, "Messages").await;
    // Later writes are not in the backup.
    put(&e, "Messages", "tom#jerry", 9, 9).await;
    e.delete_table(req(json!({"TableName":"Messages"})))
        .await
        .unwrap();

    // Restore after the source table is gone, with its indexes.
    let r: TableDescriptionOutput = e
        .restore_table_from_backup(req(json!({"TargetTableName":"Messages2","BackupArn": arn})))
        .await
        .unwrap();
    assert_eq!(r.table_description.table_status, "CREATING");
    let rs = r.table_description.restore_summary.clone().unwrap();
    assert_eq!(rs.source_backup_arn.as_deref(), Some(arn.as_str()));
    assert!(rs.source_table_arn.unwrap().ends_with(":table/Messages"));
    assert!(rs.restore_in_progress);
    let t: TableOutput = e
        .describe_table(req(json!({"TableName":"Messages2"})))
        .await
        .unwrap();
    let t = serde_json::to_value(&t.table).unwrap();
    assert_eq!(t["TableStatus"], "ACTIVE");
    assert_eq!(t["ItemCount"], 5);
    // As DynamoDB: the summary is shown only while the table is CREATING.
    assert!(t.get("RestoreSummary").is_none());
    assert_eq!(t["GlobalSecondaryIndexes"][0]["ItemCount"], 5);
    assert!(t.get("StreamSpecification").is_none());
    assert_eq!(contents(&e, "Messages2").await, at_backup);
    let q: QueryOutput = e
        .query(req(json!({"TableName":"Messages2","IndexName":"byg","KeyConditionExpression":"g = :g","ExpressionAttributeValues":{":g":{"S":"g1"}}})))
        .await
        .unwrap();
    assert_eq!(q.count, 2);
    let tags = e
        .list_tags_of_resource(req(json!({"ResourceArn": t["TableArn"]})))
        .await
        .unwrap();
    assert!(serde_json::to_value(&tags).unwrap()["Tags"]
        .as_array()
        .is_none_or(|a| a.is_empty()));

    // Overrides: provisioned billing, no GSI.
    e.restore_table_from_backup(req(json!({
        "TargetTableName": "Messages3", "BackupArn": arn,
        "BillingModeOverride": "PROVISIONED",
        "ProvisionedThroughputOverride": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        "GlobalSecondaryIndexOverride": []
    })))
    .await
    .unwrap();
    let t: TableOutput = e
        .describe_table(req(json!({"TableName":"Messages3"})))
        .await
        .unwrap();
    let t = serde_json::to_value(&t.table).unwrap();
    assert_eq!(t["ProvisionedThroughput"]["ReadCapacityUnits"], 7);
    assert!(t.get("GlobalSecondaryIndexes").is_none());
    assert_eq!(t["LocalSecondaryIndexes"][0]["ItemCount"], 5);

    // Errors.
    match e
        .restore_table_from_backup(req(json!({"TargetTableName":"Messages2","BackupArn": arn})))
        .await
    {
        Err(ApiError::TableAlreadyExists(m)) => assert_eq!(m, "Table already exists: Messages2"),
        other => panic!("{other:?}"),
    }
    let missing = format!("{}x", &arn[..arn.len() - 1]);
    assert!(matches!(
        e.describe_backup(req(json!({ "BackupArn": missing })))
            .await,
        Err(ApiError::BackupNotFound(_))
    ));
    let l = e
        .list_backups(req(json!({"TableName":"Messages"})))
        .await
        .unwrap();
    assert_eq!(l["BackupSummaries"].as_array().unwrap().len(), 1);
    let del = e
        .delete_backup(req(json!({ "BackupArn": arn })))
        .await
        .unwrap();
    assert_eq!(
        del["BackupDescription"]["BackupDetails"]["BackupStatus"],
        "DELETED"
    );
    let l = e.list_backups(req(json!({}))).await.unwrap();
    assert!(l["BackupSummaries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn pitr_settings_and_the_system_backup_of_a_deleted_table() {
    let t0 = 1_800_000_000.0;
    let clock = Arc::new(ManualClock::new(t0));
    let e = engine(clock.clone());
    create(&e, "orders").await;
    let d = e
        .describe_continuous_backups(req(json!({"TableName":"orders"})))
        .await
        .unwrap();
    assert_eq!(
        d["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            ["PointInTimeRecoveryStatus"],
        "DISABLED"
    );
    match e
        .restore_table_to_point_in_time(req(json!({"SourceTableName":"orders","TargetTableName":"ord2","UseLatestRestorableTime":true})))
        .await
    {
        Err(ApiError::PointInTimeRecoveryUnavailable(_)) => {}
        other => panic!("{other:?}"),
    }
    let u = e
        .update_continuous_backups(req(json!({"TableName":"orders","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true,"RecoveryPeriodInDays":7}})))
        .await
        .unwrap();
    let p = &u["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"];
    assert_eq!(p["PointInTimeRecoveryStatus"], "ENABLED");
    assert_eq!(p["RecoveryPeriodInDays"], 7);
    assert_eq!(p["EarliestRestorableDateTime"], t0);
    put(&e, "orders", "a", 1, 1).await;
    clock.advance(10.0);
    put(&e, "orders", "a", 1, 2).await;
    // Before the earliest restorable time: refused.
    match e
        .restore_table_to_point_in_time(req(json!({"SourceTableName":"orders","TargetTableName":"ord2","RestoreDateTime": t0 - 1.0})))
        .await
    {
        Err(ApiError::InvalidRestoreTime(m)) => assert_eq!(
            m,
            "RestoreDateTime '2027-01-15T07:59:59Z' must be within EarliestRestorableDateTime '2027-01-15T08:00:00Z' and LatestRestorableDateTime '2027-01-15T08:00:10Z'"
        ),
        other => panic!("{other:?}"),
    }
    e.delete_table(req(json!({"TableName":"orders"})))
        .await
        .unwrap();
    let l = e
        .list_backups(req(json!({"BackupType":"SYSTEM"})))
        .await
        .unwrap();
    let s = &l["BackupSummaries"][0];
    assert_eq!(s["BackupName"], "orders$DeletedTableBackup");
    assert_eq!(s["BackupType"], "SYSTEM");
    assert!(s["BackupExpiryDateTime"].as_f64().unwrap() > t0 + 34.0 * 86_400.0);
    let arn = s["BackupArn"].as_str().unwrap().to_owned();
    assert!(arn.ends_with("-00000000"));
    match e.delete_backup(req(json!({ "BackupArn": arn }))).await {
        Err(ApiError::Validation(m)) => assert!(m.starts_with(&format!(
            "Invalid Request: User is not allowed to delete the system backup with arn {arn}. It will automatically expire on 2027-"
        ))),
        other => panic!("{other:?}"),
    }
    // Only USER backups unless asked.
    let l = e.list_backups(req(json!({}))).await.unwrap();
    assert!(l["BackupSummaries"].as_array().unwrap().is_empty());
    e.restore_table_from_backup(req(json!({"TargetTableName":"orders","BackupArn": arn})))
        .await
        .unwrap();
    let c = contents(&e, "orders").await;
    assert_eq!(c.len(), 1);
    assert_eq!(c.values().next().unwrap()["v"]["N"], "2");
}

#[derive(Debug, Clone)]
enum Step {
    Put { key: u8, v: u32 },
    Delete { key: u8 },
    Update { key: u8 },
    Tick { ms: u16 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..6, 0u32..1000).prop_map(|(key, v)| Step::Put { key, v }),
        2 => (0u8..6).prop_map(|key| Step::Delete { key }),
        2 => (0u8..6).prop_map(|key| Step::Update { key }),
        3 => (0u16..3000).prop_map(|ms| Step::Tick { ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Random writes with a controlled clock, then restores to random points in time: each
    /// restored table equals what a simple model held at that time.
    #[test]
    fn restore_to_point_in_time_matches_a_model(
        steps in proptest::collection::vec(step(), 1..60),
        picks in proptest::collection::vec(0.0f64..1.0, 1..5),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let t0_ms: u64 = 1_800_000_000_000;
            let clock = Arc::new(ManualClock::new(t0_ms as f64 / 1000.0));
            let e = engine(clock.clone());
            create(&e, "src").await;
            put(&e, "src", "before", 0, 7).await;
            e.update_continuous_backups(req(json!({"TableName":"src","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true}})))
                .await
                .unwrap();
            // model: (time in ms, state after the writes at that time)
            let mut state: BTreeMap<u8, u32> = BTreeMap::new();
            let mut history: Vec<(u64, BTreeMap<u8, u32>)> = vec![(t0_ms, state.clone())];
            let mut now_ms = t0_ms;
            for s in &steps {
                match *s {
                    Step::Tick { ms } => {
                        now_ms += u64::from(ms);
                        clock.set(now_ms as f64 / 1000.0);
                    }
                    Step::Put { key, v } => {
                        put(&e, "src", "k", u32::from(key), v).await;
                        state.insert(key, v);
                    }
                    Step::Delete { key } => {
                        e.delete_item(req(json!({"TableName":"src","Key":{"pk":{"S":"k"},"sk":{"N":key.to_string()}}})))
                            .await
                            .unwrap();
                        state.remove(&key);
                    }
                    Step::Update { key } => {
                        let r = e.update_item(req(json!({"TableName":"src","Key":{"pk":{"S":"k"},"sk":{"N":key.to_string()}},
                            "UpdateExpression":"SET v = v + :one","ConditionExpression":"attribute_exists(v)",
                            "ExpressionAttributeValues":{":one":{"N":"1"}}})))
                            .await;
                        match r {
                            Ok(_) => {
                                let v = state.get(&key).copied().unwrap();
                                state.insert(key, v + 1);
                            }
                            Err(ApiError::ConditionalCheckFailed { .. }) => {
                                assert!(!state.contains_key(&key));
                            }
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                }
                match history.last_mut() {
                    Some((t, st)) if *t == now_ms => *st = state.clone(),
                    _ => history.push((now_ms, state.clone())),
                }
            }
            for (i, p) in picks.iter().enumerate() {
                let at_ms = t0_ms + ((now_ms - t0_ms) as f64 * p) as u64;
                let expect = history
                    .iter()
                    .rev()
                    .find(|(t, _)| *t <= at_ms)
                    .map(|(_, s)| s.clone())
                    .unwrap();
                let target = format!("rest{i}");
                e.restore_table_to_point_in_time(req(json!({
                    "SourceTableName": "src", "TargetTableName": target,
                    "RestoreDateTime": at_ms as f64 / 1000.0
                })))
                .await
                .unwrap();
                let got = contents(&e, &target).await;
                let mut want: BTreeMap<(String, String), u32> = expect
                    .iter()
                    .map(|(k, v)| (("k".to_owned(), k.to_string()), *v))
                    .collect();
                want.insert(("before".into(), "0".into()), 7);
                let got: BTreeMap<(String, String), u32> = got
                    .into_iter()
                    .map(|(k, item)| (k, item["v"]["N"].as_str().unwrap().parse().unwrap()))
                    .collect();
                assert_eq!(got, want, "restore to {at_ms}");
                // The restored table's index agrees with its items.
                let t: TableOutput = e.describe_table(req(json!({"TableName": target}))).await.unwrap();
                let t = serde_json::to_value(&t.table).unwrap();
                assert_eq!(t["GlobalSecondaryIndexes"][0]["ItemCount"].as_u64().unwrap() as usize, want.len());
            }
        });
    }
}

fn engine_with_s3(clock: Arc<ManualClock>, root: &std::path::Path) -> Engine {
    Engine::open(
        common::backend(),
        Durability::Fsync,
        EngineConfig {
            s3_root: root.to_path_buf(),
            ..EngineConfig::default()
        },
        clock,
    )
    .unwrap()
}

#[tokio::test]
async fn export_then_import_gives_an_identical_table() {
    let root = std::env::temp_dir().join(format!("ferrodyn-s3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let e = engine_with_s3(clock.clone(), &root);
    create(&e, "src").await;
    for i in 0..300 {
        put(&e, "src", &format!("p{}", i % 7), i, i * 3).await;
    }
    // Every type survives the trip.
    e.put_item(req(json!({"TableName":"src","Item":{
        "pk":{"S":"all"},"sk":{"N":"0"},"s":{"S":"é \"q\"\n"},"n":{"N":"-1.5E-20"},"b":{"B":"AAEC"},
        "t":{"BOOL":false},"z":{"NULL":true},"lst":{"L":[{"N":"1"},{"SS":["x"]}]},
        "m":{"M":{"a b":{"NS":["1","2"]},"c":{"BS":["AQ=="]}}}}})))
        .await
        .unwrap();
    let arn = e
        .describe_table(req(json!({"TableName":"src"})))
        .await
        .unwrap()
        .table
        .table_arn;
    match e
        .export_table_to_point_in_time(req(json!({"TableArn": arn, "S3Bucket": "bkt"})))
        .await
    {
        Err(ApiError::PointInTimeRecoveryUnavailable(m)) => {
            assert_eq!(m, "Point in time recovery is not enabled for table 'src'")
        }
        other => panic!("{other:?}"),
    }
    e.update_continuous_backups(req(json!({"TableName":"src","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true}})))
        .await
        .unwrap();
    clock.advance(5.0);
    let want = contents(&e, "src").await;
    for (format, table) in [("DYNAMODB_JSON", "fromjson"), ("ION", "fromion")] {
        let out = e
            .export_table_to_point_in_time(req(json!({"TableArn": arn, "S3Bucket": "bkt", "S3Prefix": format!("exports/{format}"), "ExportFormat": format})))
            .await
            .unwrap();
        let earn = out["ExportDescription"]["ExportArn"]
            .as_str()
            .unwrap()
            .to_owned();
        let d = e
            .describe_export(req(json!({ "ExportArn": earn })))
            .await
            .unwrap();
        let d = &d["ExportDescription"];
        assert_eq!(d["ExportStatus"], "COMPLETED");
        assert_eq!(d["ItemCount"], 301);
        let id = earn.rsplit('/').next().unwrap();
        let dir = root.join(format!("bkt/exports/{format}/AWSDynamoDB/{id}"));
        for f in [
            "_started",
            "manifest-summary.json",
            "manifest-files.json",
            "manifest-summary.checksum",
            "manifest-files.checksum",
        ] {
            assert!(dir.join(f).exists(), "{f}");
        }
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest-summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["itemCount"], 301);
        assert_eq!(summary["outputFormat"], format);
        assert_eq!(summary["exportArn"], earn.as_str());
        let files = std::fs::read_to_string(dir.join("manifest-files.json")).unwrap();
        let first: serde_json::Value = serde_json::from_str(files.lines().next().unwrap()).unwrap();
        assert!(root
            .join("bkt")
            .join(first["dataFileS3Key"].as_str().unwrap())
            .exists());
        // Import what was exported.
        let imp = e
            .import_table(req(json!({
                "S3BucketSource": {"S3Bucket": "bkt", "S3KeyPrefix": format!("exports/{format}/AWSDynamoDB/{id}/data/")},
                "InputFormat": format, "InputCompressionType": "GZIP",
                "TableCreationParameters": {
                    "TableName": table,
                    "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
                    "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],
                    "BillingMode": "PAY_PER_REQUEST"
                }
            })))
            .await
            .unwrap();
        let iarn = imp["ImportTableDescription"]["ImportArn"]
            .as_str()
            .unwrap()
            .to_owned();
        let d = e
            .describe_import(req(json!({ "ImportArn": iarn })))
            .await
            .unwrap();
        let d = &d["ImportTableDescription"];
        assert_eq!(d["ImportStatus"], "COMPLETED", "{d}");
        assert_eq!(d["ProcessedItemCount"], 301);
        assert_eq!(d["ImportedItemCount"], 301);
        assert_eq!(d["ErrorCount"], 0);
        assert_eq!(contents(&e, table).await, want, "{format}");
    }
    let l = e
        .list_exports(req(json!({ "TableArn": arn })))
        .await
        .unwrap();
    assert_eq!(l["ExportSummaries"].as_array().unwrap().len(), 2);
    let l = e.list_imports(req(json!({}))).await.unwrap();
    assert_eq!(l["ImportSummaryList"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn csv_import_counts_bad_lines_and_keeps_the_good_ones() {
    let root = std::env::temp_dir().join(format!("ferrodyn-s3-csv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("in/people")).unwrap();
    std::fs::write(
        root.join("in/people/a.csv"),
        "id;age;name\n1;30;Ann\nx;31;Bad\n2;;Bob\n",
    )
    .unwrap();
    std::fs::write(root.join("in/people/b.csv"), "id;age;name\n3;5;\"Cy;d\"\n").unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let e = engine_with_s3(clock, &root);
    let imp = e
        .import_table(req(json!({
            "S3BucketSource": {"S3Bucket": "in", "S3KeyPrefix": "people/"},
            "InputFormat": "CSV", "InputFormatOptions": {"Csv": {"Delimiter": ";"}},
            "TableCreationParameters": {
                "TableName": "people",
                "KeySchema": [{"AttributeName":"id","KeyType":"HASH"}],
                "AttributeDefinitions": [{"AttributeName":"id","AttributeType":"N"}],
                "BillingMode": "PAY_PER_REQUEST"
            }
        })))
        .await
        .unwrap();
    let iarn = imp["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = e
        .describe_import(req(json!({ "ImportArn": iarn })))
        .await
        .unwrap();
    let d = &d["ImportTableDescription"];
    assert_eq!(d["ImportStatus"], "FAILED");
    assert_eq!(d["FailureCode"], "ItemValidationError");
    assert_eq!(d["ProcessedItemCount"], 4);
    assert_eq!(d["ImportedItemCount"], 3);
    assert_eq!(d["ErrorCount"], 1);
    let scan: QueryOutput = e.scan(req(json!({"TableName":"people"}))).await.unwrap();
    let mut items: Vec<serde_json::Value> = serde_json::to_value(&scan).unwrap()["Items"]
        .as_array()
        .unwrap()
        .clone();
    items.sort_by_key(|i| i["id"]["N"].as_str().unwrap().to_owned());
    assert_eq!(
        serde_json::Value::Array(items),
        json!([
            {"id":{"N":"1"},"age":{"S":"30"},"name":{"S":"Ann"}},
            {"id":{"N":"2"},"name":{"S":"Bob"}},
            {"id":{"N":"3"},"age":{"S":"5"},"name":{"S":"Cy;d"}}
        ])
    );
    // The table exists now: a second import of the same name is refused.
    match e
        .import_table(req(json!({
            "S3BucketSource": {"S3Bucket": "in"}, "InputFormat": "CSV",
            "TableCreationParameters": {"TableName": "people",
                "KeySchema": [{"AttributeName":"id","KeyType":"HASH"}],
                "AttributeDefinitions": [{"AttributeName":"id","AttributeType":"N"}],
                "BillingMode": "PAY_PER_REQUEST"}
        })))
        .await
    {
        Err(ApiError::ResourceInUse(m)) => assert_eq!(m, "Table already exists: people"),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// Rewrite a transfer record in place (as a crash would have left it).
fn put_record(
    backend: &Arc<dyn ferrodyn_storage::Backend>,
    ks: &str,
    arn: &str,
    rec: &serde_json::Value,
) {
    backend
        .commit(
            &[ferrodyn_storage::Op::Put {
                ks: ks.to_owned(),
                key: arn.as_bytes().to_vec(),
                value: rec.to_string().into_bytes(),
            }],
            Durability::Fsync,
        )
        .unwrap();
}

/// Exports and imports a killed server left IN_PROGRESS are run again when the engine
/// starts: an export from the beginning as of its ExportTime (the half-written files of
/// the dead attempt removed), or FAILED when that point in time cannot be read back; an
/// import from its files into the table it creates.
#[tokio::test]
async fn transfers_left_in_progress_by_a_crash_are_resumed_at_start() {
    let root = std::env::temp_dir().join(format!("ferrodyn-s3-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let backend = common::backend();
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let config = EngineConfig {
        s3_root: root.clone(),
        ..EngineConfig::default()
    };
    let e = Engine::open(
        backend.clone(),
        Durability::Fsync,
        config.clone(),
        clock.clone(),
    )
    .unwrap();
    create(&e, "src").await;
    e.update_continuous_backups(req(json!({"TableName":"src","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true}})))
        .await
        .unwrap();
    clock.advance(5.0);
    for i in 0..50 {
        put(&e, "src", "p", i, i).await;
    }
    clock.advance(5.0);
    let want = contents(&e, "src").await;
    let arn = e
        .describe_table(req(json!({"TableName":"src"})))
        .await
        .unwrap()
        .table
        .table_arn;
    let out = e
        .export_table_to_point_in_time(req(json!({"TableArn": arn, "S3Bucket": "bkt"})))
        .await
        .unwrap();
    let earn = out["ExportDescription"]["ExportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = e
        .describe_export(req(json!({ "ExportArn": earn })))
        .await
        .unwrap()["ExportDescription"]
        .clone();
    assert_eq!(done["ExportStatus"], "COMPLETED");
    // The export as a crash left it: IN_PROGRESS, a data file half written, no manifests.
    let mut crashed = done.clone();
    for k in ["EndTime", "ItemCount", "BilledSizeBytes", "ExportManifest"] {
        crashed.as_object_mut().unwrap().remove(k);
    }
    crashed["ExportStatus"] = json!("IN_PROGRESS");
    put_record(&backend, "exports", &earn, &crashed);
    let dir = root.join("bkt").join(
        done["ExportManifest"]
            .as_str()
            .unwrap()
            .trim_end_matches("/manifest-summary.json"),
    );
    // The import's input: a copy of the data file.
    std::fs::create_dir_all(root.join("bkt/in")).unwrap();
    for f in std::fs::read_dir(dir.join("data")).unwrap() {
        std::fs::copy(f.unwrap().path(), root.join("bkt/in/items.json.gz")).unwrap();
    }
    for f in ["manifest-summary.json", "manifest-files.json"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("data/half-written.json.gz"), b"\x1f\x8b").unwrap();
    // A second export whose ExportTime is before PITR was turned on: it cannot be redone.
    let lost = format!("{earn}x");
    let mut early = crashed.clone();
    early["ExportArn"] = json!(lost);
    early["ExportTime"] = json!(1_800_000_000.0 - 60.0);
    put_record(&backend, "exports", &lost, &early);
    // An import that died before it created its table.
    let imp = e
        .import_table(req(json!({
            "S3BucketSource": {"S3Bucket": "bkt", "S3KeyPrefix": "in/"},
            "InputFormat": "DYNAMODB_JSON", "InputCompressionType": "GZIP",
            "TableCreationParameters": {
                "TableName": "first",
                "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
                "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],
                "BillingMode": "PAY_PER_REQUEST"
            }
        })))
        .await
        .unwrap();
    let iarn = imp["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut pending = e
        .describe_import(req(json!({ "ImportArn": iarn })))
        .await
        .unwrap()["ImportTableDescription"]
        .clone();
    let iarn2 = format!("{iarn}x");
    for k in ["EndTime", "TableId", "FailureCode", "FailureMessage"] {
        pending.as_object_mut().unwrap().remove(k);
    }
    pending["ImportArn"] = json!(iarn2);
    pending["ImportStatus"] = json!("IN_PROGRESS");
    pending["TableCreationParameters"]["TableName"] = json!("second");
    pending["TableArn"] = json!(arn.replace("table/src", "table/second"));
    for k in [
        "ProcessedItemCount",
        "ImportedItemCount",
        "ErrorCount",
        "ProcessedSizeBytes",
    ] {
        pending[k] = json!(0);
    }
    put_record(&backend, "imports", &iarn2, &pending);
    // Written after the export time: not exported.
    clock.advance(5.0);
    put(&e, "src", "later", 0, 0).await;
    drop(e);

    // The restart.
    let e = Engine::open(backend.clone(), Durability::Fsync, config, clock.clone())
        .unwrap()
        .share();
    let status = |d: &serde_json::Value, k: &str| d[k].as_str().unwrap_or_default().to_owned();
    let mut waited = 0;
    let (d, l, i) = loop {
        let d = e
            .describe_export(req(json!({ "ExportArn": earn })))
            .await
            .unwrap()["ExportDescription"]
            .clone();
        let l = e
            .describe_export(req(json!({ "ExportArn": lost })))
            .await
            .unwrap()["ExportDescription"]
            .clone();
        let i = e
            .describe_import(req(json!({ "ImportArn": iarn2 })))
            .await
            .unwrap()["ImportTableDescription"]
            .clone();
        if [
            status(&d, "ExportStatus"),
            status(&l, "ExportStatus"),
            status(&i, "ImportStatus"),
        ]
        .iter()
        .all(|s| s != "IN_PROGRESS")
        {
            break (d, l, i);
        }
        waited += 1;
        assert!(
            waited < 300,
            "still IN_PROGRESS after the restart: {d} {l} {i}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(d["ExportStatus"], "COMPLETED", "{d}");
    assert_eq!(d["ItemCount"], 50);
    let data: Vec<_> = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|f| f.unwrap().file_name())
        .collect();
    assert_eq!(data.len(), 1, "{data:?}");
    assert_eq!(l["ExportStatus"], "FAILED", "{l}");
    assert_eq!(l["FailureCode"], "PointInTimeRecoveryUnavailable");
    assert_eq!(i["ImportStatus"], "COMPLETED", "{i}");
    assert_eq!(i["ImportedItemCount"], 50);
    assert_eq!(contents(&e, "second").await, want);
    let _ = std::fs::remove_dir_all(&root);
}

/// An import that fails once its table exists (here: a file that cannot be opened) leaves
/// the table ACTIVE with what was read, not CREATING.
#[tokio::test]
async fn an_import_failing_after_creating_its_table_leaves_it_active() {
    let root = std::env::temp_dir().join(format!("ferrodyn-s3-failimp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("bkt/in")).unwrap();
    std::fs::write(
        root.join("bkt/in/a.json"),
        "{\"Item\":{\"pk\":{\"S\":\"a\"}}}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("bkt/in/b.json")).unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000.0));
    let e = engine_with_s3(clock, &root);
    let imp = e
        .import_table(req(json!({
            "S3BucketSource": {"S3Bucket": "bkt", "S3KeyPrefix": "in/"},
            "InputFormat": "DYNAMODB_JSON",
            "TableCreationParameters": {
                "TableName": "broken",
                "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
                "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
                "BillingMode": "PAY_PER_REQUEST"
            }
        })))
        .await
        .unwrap();
    let iarn = imp["ImportTableDescription"]["ImportArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = e
        .describe_import(req(json!({ "ImportArn": iarn })))
        .await
        .unwrap();
    assert_eq!(d["ImportTableDescription"]["ImportStatus"], "FAILED", "{d}");
    assert_eq!(d["ImportTableDescription"]["FailureCode"], "S3AccessDenied");
    let t = e
        .describe_table(req(json!({"TableName":"broken"})))
        .await
        .unwrap()
        .table;
    assert_eq!(t.table_status, "ACTIVE");
    e.delete_table(req(json!({"TableName":"broken"})))
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&root);
}
