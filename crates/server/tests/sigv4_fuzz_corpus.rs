//! The fuzz corpus of the `sigv4` target (inputs libFuzzer found interesting, written by
//! `fuzz/export-corpus.py sigv4`), replayed as a regression test: each input, split into
//! Authorization header, date, query and body as the target splits it, is verified (also as
//! a path) and gets an answer or one of the four authentication errors with status 400,
//! never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrodyn_server::sigv4::{
    claimed_access_key, parse_authorization, parse_keys, verify, RequestParts,
};

const AUTH_ERRORS: [&str; 4] = [
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
];

#[test]
fn sigv4_corpus_gets_answers_or_authentication_errors() {
    let keys = parse_keys("AKID:secret:123456789012").unwrap();
    let mut n = 0;
    for line in include_str!("sigv4_fuzz_corpus.jsonl").lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(s) = v.as_str() else {
            continue; // the target skips bytes that are not UTF-8
        };
        n += 1;
        let _ = parse_authorization(s);
        let _ = parse_keys(s);
        let mut parts = s.splitn(4, '\n');
        let auth = parts.next().unwrap_or_default();
        let date = parts.next().unwrap_or_default();
        let query = parts.next().unwrap_or_default();
        let body = parts.next().unwrap_or_default();
        let headers = vec![
            ("authorization".to_owned(), auth.to_owned()),
            ("x-amz-date".to_owned(), date.to_owned()),
            ("host".to_owned(), "localhost:8000".to_owned()),
        ];
        let req = RequestParts {
            method: "POST",
            path: "/",
            query,
            headers: &headers,
            body: body.as_bytes(),
        };
        for path in ["/", date] {
            let req = RequestParts { path, ..req };
            if let Err(e) = verify(&req, &keys, 1_800_000_000) {
                let t = e.type_name();
                assert!(AUTH_ERRORS.iter().any(|a| t.ends_with(a)), "{t} for {s:?}");
                assert_eq!(e.status(), 400);
            }
        }
        let _ = claimed_access_key(Some(auth), query);
    }
    assert!(n > 300, "corpus too small: {n}");
}
