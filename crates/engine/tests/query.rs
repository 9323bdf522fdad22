//! Query and Scan on the memory backend: sort order, paging, the 1 MB page, parallel scan
//! segments, and the order of checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrodyn_engine::{Engine, EngineConfig, SystemClock};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{decode, ApiError};
use ferrodyn_storage::Durability;
use serde_json::json;

fn engine() -> Engine {
    Engine::open(
        common::backend(),
        Durability::Fsync,
        EngineConfig::default(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn req<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
    decode(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn msg(e: ApiError) -> String {
    match e {
        ApiError::Validation(m) => m,
        other => panic!("expected ValidationException, got {other:?}"),
    }
}

async fn composite(e: &Engine, name: &str, sk_type: &str) {
    e.create_table(req(json!({
        "TableName": name,
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":sk_type}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .await
    .unwrap();
}

async fn put(e: &Engine, table: &str, item: serde_json::Value) {
    e.put_item(req(json!({"TableName": table, "Item": item})))
        .await
        .unwrap();
}

fn sk_values(out: &QueryOutput, ty: &str) -> Vec<String> {
    let v = serde_json::to_value(out).unwrap();
    v["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sk"][ty].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn numbers_sort_numerically_and_strings_by_bytes() {
    let e = engine();
    composite(&e, "nums", "N").await;
    for n in [
        "10",
        "-5",
        "2",
        "0",
        "1E-130",
        "-0.5",
        "99999999999999999999999999999999999999",
        "3.25",
    ] {
        put(&e, "nums", json!({"pk":{"S":"p"},"sk":{"N":n}})).await;
    }
    let out = e
        .query(req(json!({"TableName":"nums","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p"}}})))
        .await
        .unwrap();
    assert_eq!(
        sk_values(&out, "N"),
        ["-5", "-0.5", "0", "0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001", "2", "3.25", "10", "99999999999999999999999999999999999999"]
    );
    composite(&e, "strs", "S").await;
    for s in ["b", "a", "ab", "B", "é", "a\u{0}b", "aa"] {
        put(&e, "strs", json!({"pk":{"S":"p"},"sk":{"S":s}})).await;
    }
    let out = e
        .query(req(json!({"TableName":"strs","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p"}},"ScanIndexForward":false})))
        .await
        .unwrap();
    assert_eq!(
        sk_values(&out, "S"),
        ["é", "b", "ab", "aa", "a\u{0}b", "a", "B"]
    );
    let out = e
        .query(req(json!({"TableName":"strs","KeyConditionExpression":"pk = :p AND begins_with(sk, :a)","ExpressionAttributeValues":{":p":{"S":"p"},":a":{"S":"a"}}})))
        .await
        .unwrap();
    assert_eq!(sk_values(&out, "S"), ["a", "a\u{0}b", "aa", "ab"]);
}

fn query(
    table: &str,
    cond: &str,
    values: serde_json::Value,
    extra: serde_json::Value,
) -> QueryInput {
    let mut v = json!({"TableName": table, "KeyConditionExpression": cond, "ExpressionAttributeValues": values});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    req(v)
}

fn strings(r: std::ops::Range<i32>) -> Vec<String> {
    r.map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn sort_key_conditions_limit_and_paging() {
    let e = engine();
    composite(&e, "tee", "N").await;
    for i in 0..20 {
        put(
            &e,
            "tee",
            json!({"pk":{"S":"p"},"sk":{"N":i.to_string()},"odd":{"BOOL": i % 2 == 1}}),
        )
        .await;
        put(
            &e,
            "tee",
            json!({"pk":{"S":"other"},"sk":{"N":i.to_string()}}),
        )
        .await;
    }
    let p = json!({"S":"p"});
    let (a, b) = (json!({"N":"5"}), json!({"N":"8"}));
    let cases = [
        ("pk = :p AND sk < :a", json!({":p":p,":a":a}), strings(0..5)),
        (
            "pk = :p AND sk <= :a",
            json!({":p":p,":a":a}),
            strings(0..6),
        ),
        (
            "pk = :p AND sk > :b",
            json!({":p":p,":b":b}),
            strings(9..20),
        ),
        (
            "pk = :p AND :b <= sk",
            json!({":p":p,":b":b}),
            strings(8..20),
        ),
        (
            "pk = :p AND sk BETWEEN :a AND :b",
            json!({":p":p,":a":a,":b":b}),
            strings(5..9),
        ),
        (
            "(sk = :a) AND (pk = :p)",
            json!({":p":p,":a":a}),
            strings(5..6),
        ),
    ];
    for (cond, values, want) in cases {
        let out = e
            .query(query("tee", cond, values, json!({})))
            .await
            .unwrap();
        assert_eq!(sk_values(&out, "N"), want, "{cond}");
        assert_eq!(out.count, want.len());
        assert!(out.last_evaluated_key.is_none());
    }
    // Pages of 6, newest first, with a filter applied after the limit.
    let mut seen = Vec::new();
    let mut start: Option<serde_json::Value> = None;
    let mut pages = Vec::new();
    loop {
        let mut extra =
            json!({"Limit": 6, "ScanIndexForward": false, "FilterExpression": "odd = :t"});
        if let Some(s) = &start {
            extra["ExclusiveStartKey"] = s.clone();
        }
        let out = e
            .query(query(
                "tee",
                "pk = :p",
                json!({":p":p,":t":{"BOOL":true}}),
                extra,
            ))
            .await
            .unwrap();
        pages.push((out.count, out.scanned_count));
        seen.extend(sk_values(&out, "N"));
        match out.last_evaluated_key {
            Some(k) => start = Some(serde_json::to_value(k).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, [(3, 6), (3, 6), (3, 6), (1, 2)]);
    let want: Vec<String> = (0..20)
        .rev()
        .filter(|i| i % 2 == 1)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn a_page_stops_after_one_megabyte_read() {
    let e = engine();
    composite(&e, "big", "N").await;
    let blob = "x".repeat(100_000);
    for i in 0..25 {
        put(
            &e,
            "big",
            json!({"pk":{"S":"p"},"sk":{"N":i.to_string()},"d":{"S":blob}}),
        )
        .await;
    }
    // ~100 KB per item: the page ends with the item that takes it past 1 MB (the 11th).
    let out = e
        .query(query(
            "big",
            "pk = :p",
            json!({":p":{"S":"p"},":z":{"S":"nope"}}),
            json!({"FilterExpression":"d = :z"}),
        ))
        .await
        .unwrap();
    assert_eq!((out.count, out.scanned_count), (0, 11));
    assert!(out.last_evaluated_key.is_some());
    let out = e
        .scan(req(json!({"TableName":"big","Select":"COUNT"})))
        .await
        .unwrap();
    assert_eq!(out.scanned_count, 11);
    assert!(out.items.is_none());
}

#[tokio::test]
async fn parallel_scan_segments_partition_the_table() {
    let e = engine();
    e.create_table(req(json!({
        "TableName": "hashed",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .await
    .unwrap();
    for i in 0..300 {
        put(&e, "hashed", json!({"pk":{"S":format!("k{i}")}})).await;
    }
    for total in [1, 2, 3, 7, 1000] {
        let mut all = Vec::new();
        let mut nonempty = 0;
        for seg in 0..total {
            let mut start: Option<serde_json::Value> = None;
            let mut n = 0;
            loop {
                let mut r =
                    json!({"TableName":"hashed","Segment":seg,"TotalSegments":total,"Limit":50});
                if let Some(s) = &start {
                    r["ExclusiveStartKey"] = s.clone();
                }
                let out = e.scan(req(r)).await.unwrap();
                let v = serde_json::to_value(&out).unwrap();
                for it in v["Items"].as_array().unwrap() {
                    all.push(it["pk"]["S"].as_str().unwrap().to_owned());
                    n += 1;
                }
                match out.last_evaluated_key {
                    Some(k) => start = Some(serde_json::to_value(k).unwrap()),
                    None => break,
                }
            }
            if n > 0 {
                nonempty += 1;
            }
        }
        let unique: BTreeSet<_> = all.iter().cloned().collect();
        assert_eq!(
            all.len(),
            300,
            "TotalSegments {total}: every item exactly once"
        );
        assert_eq!(unique.len(), 300);
        if total > 1 && total < 300 {
            assert!(nonempty > 1, "segments are key ranges that split the table");
        }
    }
}

#[tokio::test]
async fn scan_segment_checks() {
    let e = engine();
    let m = msg(e
        .scan(req(json!({"TableName":"hashed","Segment":1})))
        .await
        .unwrap_err());
    assert_eq!(m, "The TotalSegments parameter is required but was not present in the request when Segment parameter is present");
    let m = msg(e
        .scan(req(
            json!({"TableName":"hashed","Segment":2,"TotalSegments":2}),
        ))
        .await
        .unwrap_err());
    assert_eq!(m, "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 2 is not less than TotalSegments: 2");
    let m = msg(e
        .scan(req(json!({"TableName":"hashed","Limit":0})))
        .await
        .unwrap_err());
    assert_eq!(m, "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
    let m = msg(e.query(req(json!({"TableName":"hashed","Limit":0,"KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p"}}}))).await.unwrap_err());
    assert_eq!(m, "1 validation error detected: Value at 'Limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
}

#[tokio::test]
async fn exclusive_start_key_checks() {
    let e = engine();
    composite(&e, "esk", "N").await;
    let q = |cond: &str, values: serde_json::Value, esk: serde_json::Value| {
        req::<QueryInput>(json!({"TableName":"esk","KeyConditionExpression":cond,
            "ExpressionAttributeValues":values,"ExclusiveStartKey":esk}))
    };
    let p = json!({"S":"p"});
    let cases = [
        (
            "pk = :p",
            json!({":p":p}),
            json!({"pk":{"S":"p"}}),
            "The provided starting key is invalid: The provided key element does not match the schema",
        ),
        (
            "pk = :p",
            json!({":p":p}),
            json!({"pk":{"S":"other"},"sk":{"N":"1"}}),
            "The provided starting key is outside query boundaries based on provided conditions",
        ),
        (
            "pk = :p AND sk > :n",
            json!({":p":p,":n":{"N":"5"}}),
            json!({"pk":{"S":"p"},"sk":{"N":"1"}}),
            "The provided starting key does not match the range key predicate",
        ),
        (
            "pk = :p AND sk < :n",
            json!({":p":p,":n":{"N":"5"}}),
            json!({"pk":{"S":"other"},"sk":{"N":"1"}}),
            "The query can return at most one row and cannot be restarted",
        ),
        (
            "pk = :p AND sk = :n",
            json!({":p":p,":n":{"N":"1"}}),
            json!({"pk":{"S":"p"},"sk":{"N":"1"}}),
            "The query can return at most one row and cannot be restarted",
        ),
    ];
    for (cond, values, esk, want) in cases {
        let m = msg(e.query(q(cond, values, esk)).await.unwrap_err());
        assert_eq!(m, want, "{cond}");
    }
    // A key from another parallel-scan segment.
    for i in 0..20 {
        put(
            &e,
            "esk",
            json!({"pk":{"S":format!("k{i}")},"sk":{"N":"1"}}),
        )
        .await;
    }
    let out = e
        .scan(req(
            json!({"TableName":"esk","Segment":1,"TotalSegments":2,"Limit":1}),
        ))
        .await
        .unwrap();
    let k = serde_json::to_value(out.last_evaluated_key.unwrap()).unwrap();
    let m = msg(e
        .scan(req(
            json!({"TableName":"esk","Segment":0,"TotalSegments":2,"ExclusiveStartKey":k}),
        ))
        .await
        .unwrap_err());
    assert_eq!(m, "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: 0");
}

#[tokio::test]
async fn conditional_operator_enum_order() {
    let e = engine();
    let m = msg(e
        .scan(req(
            json!({"TableName":"nothere","ConditionalOperator":"AN"}),
        ))
        .await
        .unwrap_err());
    assert_eq!(m, "1 validation error detected: Value 'AN' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]");
}

/// GetItem's direct JSON answer (the server's path) is byte for byte what serializing the
/// decoded answer gives, with and without projections and consumed capacity.
#[tokio::test]
async fn get_item_json_matches_the_decoded_answer() {
    let e = engine();
    composite(&e, "gjson", "N").await;
    let big = "x".repeat(5000);
    put(
        &e,
        "gjson",
        json!({"pk":{"S":"a\"b"},"sk":{"N":"1.50"},"s":{"S":"é\n😀"},"m":{"M":{"l":{"L":[{"NULL":true},{"BS":["AAE="]}]}}},
               "ns":{"NS":["3","-0.5"]},"big":{"S": big}}),
    )
    .await;
    for extra in [
        json!({}),
        json!({"ReturnConsumedCapacity": "TOTAL"}),
        json!({"ReturnConsumedCapacity": "INDEXES", "ConsistentRead": true}),
        json!({"ProjectionExpression": "m.l[1], s"}),
        json!({"AttributesToGet": ["ns"], "ReturnConsumedCapacity": "TOTAL"}),
    ] {
        for key in [
            json!({"pk":{"S":"a\"b"},"sk":{"N":"1.5"}}),
            json!({"pk":{"S":"no"},"sk":{"N":"1"}}),
        ] {
            let mut body = json!({"TableName": "gjson", "Key": key});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let direct = e.get_item_json(req(body.clone())).await.unwrap();
            let decoded =
                serde_json::to_vec(&e.get_item(req(body.clone())).await.unwrap()).unwrap();
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(decoded).unwrap(),
                "{body}"
            );
        }
    }
}

/// Query and Scan's direct JSON answers (the server's path: items written straight from
/// storage) are byte for byte what serializing the decoded answers gives: plain pages,
/// limits, filters, key conditions, projections, COUNT, indexes, reverse order, the 1 MB
/// page boundary and empty results.
#[tokio::test]
async fn query_and_scan_json_match_the_decoded_answers() {
    let e = engine();
    e.create_table(req(json!({
        "TableName": "qjson",
        "KeySchema": [{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
        "AttributeDefinitions": [{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},
                                 {"AttributeName":"g","AttributeType":"S"}],
        "GlobalSecondaryIndexes": [{"IndexName":"byg","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],
                                    "Projection":{"ProjectionType":"ALL"}}],
        "LocalSecondaryIndexes": [{"IndexName":"lsi","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"g","KeyType":"RANGE"}],
                                   "Projection":{"ProjectionType":"KEYS_ONLY"}}],
        "BillingMode": "PAY_PER_REQUEST"
    })))
    .await
    .unwrap();
    let big = "y".repeat(300_000);
    for i in 0..30 {
        let mut item = json!({"pk":{"S":"p\"1"},"sk":{"N": format!("{i}.50")},"g":{"S": format!("g{}", i % 3)},
                              "s":{"S":"é\n😀"},"n":{"N": i.to_string()},"m":{"M":{"l":{"L":[{"NULL":true},{"BS":["AAE="]}]}}}});
        if i % 7 == 3 {
            item["big"] = json!({"S": big});
        }
        put(&e, "qjson", item).await;
    }
    put(&e, "qjson", json!({"pk":{"S":"other"},"sk":{"N":"1"}})).await;
    let queries = [
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p":{"S":"p\"1"}}}),
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p":{"S":"p\"1"}}, "Limit": 4, "ReturnConsumedCapacity": "TOTAL"}),
        json!({"KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b", "ExpressionAttributeValues": {":p":{"S":"p\"1"},":a":{"N":"3"},":b":{"N":"12"}}, "ScanIndexForward": false}),
        json!({"KeyConditionExpression": "pk = :p", "FilterExpression": "n > :x", "ExpressionAttributeValues": {":p":{"S":"p\"1"},":x":{"N":"20"}}, "Limit": 25}),
        json!({"KeyConditionExpression": "pk = :p", "ProjectionExpression": "s, m.l[1]", "ExpressionAttributeValues": {":p":{"S":"p\"1"}}}),
        json!({"KeyConditionExpression": "pk = :p", "Select": "COUNT", "ExpressionAttributeValues": {":p":{"S":"p\"1"}}}),
        json!({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p":{"S":"none"}}}),
        json!({"IndexName": "byg", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g":{"S":"g1"}}, "Limit": 3, "ReturnConsumedCapacity": "INDEXES"}),
        json!({"IndexName": "lsi", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p":{"S":"p\"1"}}, "Select": "ALL_ATTRIBUTES", "Limit": 5}),
        json!({"IndexName": "lsi", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p":{"S":"p\"1"}}}),
    ];
    for q in queries {
        let mut body = q.clone();
        body["TableName"] = json!("qjson");
        let direct = e.query_json(req(body.clone())).await.unwrap();
        let decoded = serde_json::to_vec(&e.query(req(body.clone())).await.unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(decoded).unwrap(),
            "{body}"
        );
    }
    let scans = [
        json!({}),
        json!({"Limit": 7}),
        json!({"FilterExpression": "attribute_exists(big)"}),
        json!({"Segment": 1, "TotalSegments": 3, "ReturnConsumedCapacity": "TOTAL"}),
        json!({"IndexName": "byg"}),
        json!({"Select": "COUNT"}),
        json!({"ProjectionExpression": "pk, n"}),
    ];
    for sc in scans {
        let mut body = sc.clone();
        body["TableName"] = json!("qjson");
        let direct = e.scan_json(req(body.clone())).await.unwrap();
        let decoded = serde_json::to_vec(&e.scan(req(body.clone())).await.unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(decoded).unwrap(),
            "{body}"
        );
    }
    // The whole-table scan stops at the 1 MB page boundary with a LastEvaluatedKey.
    let first: serde_json::Value = serde_json::from_slice(
        &e.scan_json(req(json!({"TableName": "qjson"})))
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        first.get("LastEvaluatedKey").is_some(),
        "{}",
        first["Count"]
    );
}
