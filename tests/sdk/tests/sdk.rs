//! The real binary, driven by the AWS SDK for Rust.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ReturnConsumedCapacity, ReturnValue, ScalarAttributeType, TableStatus,
};
use ferrodyn_sdk_tests::{client, postgres_storage, start, TestDatabase};

async fn create(c: &aws_sdk_dynamodb::Client, name: &str) {
    c.create_table()
        .table_name(name)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn table_lifecycle() {
    let server = start(&["--in-memory"]).unwrap();
    let c = client(&server.endpoint);
    create(&c, "lifecycle").await;
    let err = c
        .create_table()
        .table_name("lifecycle")
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceInUseException"));

    let d = c
        .describe_table()
        .table_name("lifecycle")
        .send()
        .await
        .unwrap();
    let t = d.table.unwrap();
    assert_eq!(t.table_status, Some(TableStatus::Active));
    assert_eq!(
        t.table_arn.as_deref(),
        Some("arn:aws:dynamodb:us-east-1:000000000000:table/lifecycle")
    );
    assert_eq!(
        t.billing_mode_summary.unwrap().billing_mode,
        Some(BillingMode::PayPerRequest)
    );
    assert_eq!(t.key_schema.unwrap().len(), 2);

    let names = c.list_tables().send().await.unwrap().table_names.unwrap();
    assert_eq!(names, vec!["lifecycle".to_string()]);

    c.update_table()
        .table_name("lifecycle")
        .deletion_protection_enabled(true)
        .send()
        .await
        .unwrap();
    let err = c
        .delete_table()
        .table_name("lifecycle")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    c.update_table()
        .table_name("lifecycle")
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    c.delete_table()
        .table_name("lifecycle")
        .send()
        .await
        .unwrap();
    let err = c
        .describe_table()
        .table_name("lifecycle")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn items_round_trip() {
    let server = start(&["--in-memory"]).unwrap();
    let c = client(&server.endpoint);
    create(&c, "items").await;
    let out = c
        .put_item()
        .table_name("items")
        .item("pk", AttributeValue::S("a".into()))
        .item("sk", AttributeValue::N("1.50".into()))
        .item("ss", AttributeValue::Ss(vec!["x".into(), "y".into()]))
        .item(
            "m",
            AttributeValue::M([("n".to_string(), AttributeValue::Null(true))].into()),
        )
        .item("b", AttributeValue::B(vec![0u8, 255].into()))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(out.consumed_capacity.unwrap().capacity_units, Some(1.0));

    let got = c
        .get_item()
        .table_name("items")
        .key("pk", AttributeValue::S("a".into()))
        .key("sk", AttributeValue::N("1.5".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(got["sk"], AttributeValue::N("1.5".into()));
    assert_eq!(got["b"], AttributeValue::B(vec![0u8, 255].into()));

    let old = c
        .delete_item()
        .table_name("items")
        .key("pk", AttributeValue::S("a".into()))
        .key("sk", AttributeValue::N("1.5".into()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(old["ss"], AttributeValue::Ss(vec!["x".into(), "y".into()]));

    // validation errors come back typed
    let err = c
        .put_item()
        .table_name("items")
        .item("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some("One or more parameter values were invalid: Missing the key sk in the item")
    );
    let err = c
        .get_item()
        .table_name("nope")
        .key("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn durable_restart_keeps_tables_and_items() {
    let dir = tempfile::tempdir().unwrap();
    // On PostgreSQL (FERRODYN_TEST_STORAGE): one database for both runs.
    let db = postgres_storage().map(|_| TestDatabase::create().unwrap());
    let args: Vec<&str> = match &db {
        Some(db) => vec!["--storage", &db.url],
        None => vec!["--data-dir", dir.path().to_str().unwrap()],
    };
    {
        let server = start(&args).unwrap();
        let c = client(&server.endpoint);
        create(&c, "kept").await;
        for i in 0..50 {
            c.put_item()
                .table_name("kept")
                .item("pk", AttributeValue::S(format!("p{}", i % 5)))
                .item("sk", AttributeValue::N(i.to_string()))
                .send()
                .await
                .unwrap();
        }
        // server is SIGKILLed when dropped
    }
    let server = start(&args).unwrap();
    let c = client(&server.endpoint);
    let t = c
        .describe_table()
        .table_name("kept")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(t.item_count, Some(50));
    for i in 0..50 {
        let got = c
            .get_item()
            .table_name("kept")
            .key("pk", AttributeValue::S(format!("p{}", i % 5)))
            .key("sk", AttributeValue::N(i.to_string()))
            .send()
            .await
            .unwrap();
        assert!(got.item.is_some(), "item {i} lost");
    }
}

/// DynamoDB Local's flag spellings start the server, and `-delayTransientStatuses` keeps a
/// new table CREATING for a moment before it turns ACTIVE (what waiters poll for).
#[tokio::test]
async fn dynamodb_local_flags_and_transient_status() {
    let server = start(&[
        "-inMemory",
        "-sharedDb",
        "-delayTransientStatuses",
        "-disableTelemetry",
    ])
    .unwrap();
    let c = client(&server.endpoint);
    create(&c, "slow").await;
    let t = c
        .describe_table()
        .table_name("slow")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(t.table_status, Some(TableStatus::Creating));
    let mut active = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let t = c
            .describe_table()
            .table_name("slow")
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        if t.table_status == Some(TableStatus::Active) {
            active = true;
            break;
        }
    }
    assert!(active, "table never became ACTIVE");
}

#[tokio::test]
async fn sigv4_mode_accepts_the_right_key_and_refuses_a_wrong_secret() {
    let dir = std::env::temp_dir().join(format!("ferrodyn-sdk-sigv4-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let creds = dir.join("credentials");
    std::fs::write(&creds, "AKIASDKTEST:sdk/secret+1\n").unwrap();
    let server = start(&[
        "--in-memory",
        "--auth",
        "sigv4",
        "--credentials",
        creds.to_str().unwrap(),
    ])
    .unwrap();
    let good = ferrodyn_sdk_tests::client_with_key(&server.endpoint, "AKIASDKTEST", "sdk/secret+1");
    create(&good, "signed").await;
    good.put_item()
        .table_name("signed")
        .item("pk", AttributeValue::S("k".into()))
        .item("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let bad = ferrodyn_sdk_tests::client_with_key(&server.endpoint, "AKIASDKTEST", "wrong");
    let err = bad.list_tables().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    let unknown = ferrodyn_sdk_tests::client_with_key(&server.endpoint, "AKIANOBODY", "x");
    let err = unknown.list_tables().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    let _ = std::fs::remove_dir_all(&dir);
}
