//! The fuzz corpus of the `decode` target (request bodies libFuzzer found interesting; one
//! per line, a JSON string or `{"hex": ...}` for bytes that are not UTF-8; written by
//! `fuzz/export-corpus.py`), replayed as a regression test: every body becomes a typed
//! request or a DynamoDB-shaped error (a JSON body with a `__type`), never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrodyn_protocol::decode;
use ferrodyn_protocol::model::*;

fn check<T: serde::de::DeserializeOwned + Default>(data: &[u8]) -> bool {
    match decode::<T>(data) {
        Ok(_) => true,
        Err(e) => {
            let body: serde_json::Value = serde_json::from_slice(&e.to_body()).unwrap();
            assert!(
                body["__type"].as_str().is_some_and(|t| t.contains('#')),
                "{body}"
            );
            assert!((400..600).contains(&e.status()));
            false
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn decode_corpus_never_panics_and_errors_are_dynamodb_shaped() {
    let text = include_str!("fuzz_corpus.jsonl");
    let (mut n, mut accepted) = (0, 0);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let data = match &v {
            serde_json::Value::String(s) => s.clone().into_bytes(),
            other => hex(other["hex"].as_str().unwrap()),
        };
        n += 1;
        for ok in [
            check::<PutItemInput>(&data),
            check::<UpdateItemInput>(&data),
            check::<QueryInput>(&data),
            check::<CreateTableInput>(&data),
            check::<TransactWriteItemsInput>(&data),
            check::<BatchWriteItemInput>(&data),
        ] {
            accepted += usize::from(ok);
        }
    }
    assert!(n > 1000, "corpus too small: {n}");
    // The corpus reaches both outcomes.
    assert!(accepted > 0 && accepted < n * 6, "{accepted} of {}", n * 6);
}
