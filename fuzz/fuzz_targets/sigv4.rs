#![no_main]
//! SigV4 parsing and verification over arbitrary Authorization headers, query strings,
//! dates and bodies: an answer or a DynamoDB error, never a panic.
use ferrodyn_server::sigv4::{
    claimed_access_key, parse_authorization, parse_keys, verify, RequestParts,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_authorization(s);
    let _ = parse_keys(s);
    let mut parts = s.splitn(4, '\n');
    let auth = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let keys = parse_keys("AKID:secret:123456789012").unwrap_or_default();
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
    let _ = verify(&req, &keys, 1_800_000_000);
    let _ = claimed_access_key(Some(auth), query);
    // The date line as a path too: canonical URI normalization on arbitrary input.
    let req = RequestParts { path: date, ..req };
    let _ = verify(&req, &keys, 1_800_000_000);
});
