//! AWS Signature Version 4, verified over the raw request as AWS does it: the canonical
//! request from the signed headers and the payload hash, the credential scope, the clock
//! skew, `X-Amz-Security-Token`, and presigned query-string requests. Written by hand on
//! RustCrypto's `hmac`/`sha2`: the AWS crates sign but do not verify.

use std::collections::HashMap;

use ferrodyn_protocol::ApiError;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Maximum distance between the request's time and ours.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// One accepted key.
#[derive(Clone)]
pub struct Credential {
    pub secret: String,
    pub account_id: Option<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach a log.
        f.debug_struct("Credential")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// Keys by access key id.
pub type Keys = HashMap<String, Credential>;

/// Parse a credentials file: one key per line,
/// `ACCESS_KEY_ID:SECRET[:ACCOUNT_ID[:SESSION_TOKEN]]`; blank lines and `#` comments are
/// skipped. A key with a session token is accepted only with that token
/// (`X-Amz-Security-Token`), as temporary credentials are.
pub fn parse_keys(text: &str) -> Result<Keys, String> {
    let mut keys = Keys::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(4, ':');
        let (Some(id), Some(secret)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "line {}: expected ACCESS_KEY_ID:SECRET[:ACCOUNT_ID[:SESSION_TOKEN]]",
                n + 1
            ));
        };
        if id.is_empty() || secret.is_empty() {
            return Err(format!("line {}: empty access key id or secret", n + 1));
        }
        keys.insert(
            id.to_owned(),
            Credential {
                secret: secret.to_owned(),
                account_id: parts.next().map(str::to_owned).filter(|a| !a.is_empty()),
                session_token: parts.next().map(str::to_owned).filter(|t| !t.is_empty()),
            },
        );
    }
    Ok(keys)
}

/// What the verifier needs of a request.
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Header names lower-cased, values as received (repeated headers in order).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl RequestParts<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header or of a presigned query.
#[derive(Debug, PartialEq)]
pub struct Signature {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn incomplete(msg: String) -> ApiError {
    ApiError::IncompleteSignature(msg)
}

/// Parse the Authorization header.
pub fn parse_authorization(value: &str) -> Result<Signature, ApiError> {
    let Some(rest) = value.strip_prefix("AWS4-HMAC-SHA256") else {
        return Err(incomplete(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={value}"
        )));
    };
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            fields.insert(k.trim(), v.trim());
        }
    }
    let mut missing = Vec::new();
    for k in ["Credential", "Signature", "SignedHeaders"] {
        if !fields.contains_key(k) {
            missing.push(format!("Authorization header requires '{k}' parameter."));
        }
    }
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "{} Authorization={value}",
            missing.join(" ")
        )));
    }
    let credential = fields.get("Credential").copied().unwrap_or_default();
    scope_parts(
        credential,
        fields.get("SignedHeaders").copied().unwrap_or_default(),
        fields.get("Signature").copied().unwrap_or_default(),
    )
}

/// The access key a request claims (Authorization header or presigned query), unverified.
pub fn claimed_access_key(authorization: Option<&str>, query: &str) -> Option<String> {
    if let Some(sig) = authorization.and_then(|a| parse_authorization(a).ok()) {
        return Some(sig.access_key);
    }
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Credential")
        .and_then(|(_, v)| v.split('/').next().map(str::to_owned))
        .filter(|k| !k.is_empty())
}

fn scope_parts(credential: &str, signed: &str, signature: &str) -> Result<Signature, ApiError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = parts.as_slice() else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, not '{credential}'. "
        )));
    };
    if *terminator != "aws4_request" {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        )));
    }
    Ok(Signature {
        access_key: (*access_key).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed.split(';').map(str::to_owned).collect(),
        signature: signature.to_owned(),
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b.get(i) {
            Some(b'%') => {
                let h = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(x) => {
                        out.push(x);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            Some(c) => {
                out.push(*c);
                i += 1;
            }
            None => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 3986 encoding of everything but unreserved characters.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            for nibble in [b >> 4, b & 15] {
                out.push(char::from(
                    DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
    }
    out
}

/// The canonical URI of a non-S3 service: the path normalized (empty and `.` segments
/// dropped, `..` resolved, as RFC 3986 and the AWS test suite's `get-slashes` /
/// `get-relative` cases have it), then each segment URI-encoded.
fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut segments: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&uri_encode(&segments.join("/"), true));
    if decoded.len() > 1 && decoded.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 15] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The signing key for a secret and scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// The canonical request for the signed headers.
pub fn canonical_request(
    req: &RequestParts<'_>,
    signed_headers: &[String],
    payload_hash: &str,
    drop_signature_param: bool,
) -> String {
    let canonical_path = canonical_uri(req.path);
    let mut q: Vec<(String, String)> = query_pairs(req.query)
        .into_iter()
        .filter(|(k, _)| !(drop_signature_param && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    q.sort();
    let query: Vec<String> = q.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_path,
        query.join("&"),
        headers,
        signed_headers.join(";"),
        payload_hash
    )
}

/// The signature of a request over the given signed headers and payload hash.
#[allow(clippy::too_many_arguments)]
pub fn signature(
    req: &RequestParts<'_>,
    signed_headers: &[String],
    payload_hash: &str,
    secret: &str,
    region: &str,
    service: &str,
    amz_date: &str,
    presigned: bool,
) -> String {
    let date = amz_date.get(..8).unwrap_or_default();
    let key = signing_key(secret, date, region, service);
    signature_with_key(
        req,
        signed_headers,
        payload_hash,
        &key,
        region,
        service,
        amz_date,
        presigned,
    )
}

/// [`signature`] with the signing key already derived (it changes once a day).
#[allow(clippy::too_many_arguments)]
pub fn signature_with_key(
    req: &RequestParts<'_>,
    signed_headers: &[String],
    payload_hash: &str,
    key: &[u8],
    region: &str,
    service: &str,
    amz_date: &str,
    presigned: bool,
) -> String {
    let date = amz_date.get(..8).unwrap_or_default();
    let canonical = canonical_request(req, signed_headers, payload_hash, presigned);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    hex(&hmac(key, to_sign.as_bytes()))
}

/// The SHA-256 of a payload, in hex.
pub fn payload_hash(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

/// Sign a request as the SDKs do: every header in `req` is signed (it must hold `host`
/// and `x-amz-date`); returns the Authorization header value.
pub fn authorization(
    req: &RequestParts<'_>,
    access_key: &str,
    secret: &str,
    region: &str,
    amz_date: &str,
) -> String {
    let date = amz_date.get(..8).unwrap_or_default();
    let mut names: Vec<String> = req.headers.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    let payload = hex(&Sha256::digest(req.body));
    let sig = signature(
        req, &names, &payload, secret, region, "dynamodb", amz_date, false,
    );
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{date}/{region}/dynamodb/aws4_request, SignedHeaders={}, Signature={sig}",
        names.join(";"),
    )
}

/// Seconds since the epoch as `YYYYMMDDTHHMMSSZ`.
pub fn amz_date(t: i64) -> String {
    format_amz_date(t)
}

/// `YYYYMMDDTHHMMSSZ` to seconds since the epoch.
fn parse_amz_date(s: &str) -> Option<i64> {
    if s.len() != 16 || !s.ends_with('Z') || s.get(8..9) != Some("T") {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d, h, mi, se) = (
        n(0, 4)?,
        n(4, 6)?,
        n(6, 8)?,
        n(9, 11)?,
        n(11, 13)?,
        n(13, 15)?,
    );
    // Days from civil (Howard Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

fn format_amz_date(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Verify a request; on success, the access key and its account id.
pub fn verify(
    req: &RequestParts<'_>,
    keys: &Keys,
    now: i64,
) -> Result<(String, Option<String>), ApiError> {
    let query = query_pairs(req.query);
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let presigned = q("X-Amz-Signature").is_some();
    let (sig, amz_date) = if presigned {
        if q("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
            return Err(incomplete(
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".into(),
            ));
        }
        let sig = scope_parts(
            q("X-Amz-Credential").unwrap_or_default(),
            q("X-Amz-SignedHeaders").unwrap_or_default(),
            q("X-Amz-Signature").unwrap_or_default(),
        )?;
        let date = q("X-Amz-Date").unwrap_or_default().to_owned();
        (sig, date)
    } else {
        let Some(auth) = req.header("authorization") else {
            return Err(ApiError::MissingAuthenticationToken(
                "Request is missing Authentication Token".into(),
            ));
        };
        let sig = parse_authorization(auth)?;
        let date = req
            .header("x-amz-date")
            .map(str::to_owned)
            .ok_or_else(|| {
                incomplete(format!(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={auth}"
                ))
            })?;
        (sig, date)
    };
    let Some(t) = parse_amz_date(&amz_date) else {
        return Err(incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    let Some(cred) = keys.get(&sig.access_key) else {
        return Err(ApiError::UnrecognizedClient(
            "The security token included in the request is invalid.".into(),
        ));
    };
    // Temporary credentials come with their token; a long-term key comes without one.
    let token = if presigned {
        q("X-Amz-Security-Token")
    } else {
        req.header("x-amz-security-token")
    };
    let token_ok = match (&cred.session_token, token) {
        (None, None) => true,
        (Some(want), Some(got)) => bool::from(want.as_bytes().ct_eq(got.as_bytes())),
        _ => false,
    };
    if !token_ok {
        return Err(ApiError::UnrecognizedClient(
            "The security token included in the request is invalid.".into(),
        ));
    }
    if (t - now).abs() > MAX_SKEW_SECONDS {
        let (a, b) = if t < now {
            (
                format!(
                    "{amz_date} is now earlier than {}",
                    format_amz_date(now - MAX_SKEW_SECONDS)
                ),
                format!("({} - 15 min.)", format_amz_date(now)),
            )
        } else {
            (
                format!(
                    "{amz_date} is now later than {}",
                    format_amz_date(now + MAX_SKEW_SECONDS)
                ),
                format!("({} + 15 min.)", format_amz_date(now)),
            )
        };
        return Err(ApiError::InvalidSignature(format!(
            "Signature expired: {a} {b}"
        )));
    }
    if amz_date.get(..8) != Some(sig.date.as_str()) {
        return Err(ApiError::InvalidSignature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            sig.date,
            amz_date.get(..8).unwrap_or_default()
        )));
    }
    if sig.service != "dynamodb" {
        return Err(ApiError::InvalidSignature(
            "Credential should be scoped to correct service: 'dynamodb'. ".into(),
        ));
    }
    if presigned {
        let expires: i64 = q("X-Amz-Expires").and_then(|e| e.parse().ok()).unwrap_or(0);
        if now > t + expires {
            return Err(ApiError::InvalidSignature(format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - {expires} sec.)",
                format_amz_date(now - expires),
                format_amz_date(now)
            )));
        }
    }
    // The payload hash: of the body. A presigned request may sign UNSIGNED-PAYLOAD, or
    // (botocore's query signer) the empty payload.
    let mut candidates = vec![hex(&Sha256::digest(req.body))];
    if presigned {
        candidates.push("UNSIGNED-PAYLOAD".to_owned());
        candidates.push(hex(&Sha256::digest(b"")));
    }
    let matches = candidates.iter().any(|payload_hash| {
        let expected = signature(
            req,
            &sig.signed_headers,
            payload_hash,
            &cred.secret,
            &sig.region,
            &sig.service,
            &amz_date,
            presigned,
        );
        bool::from(expected.as_bytes().ct_eq(sig.signature.as_bytes()))
    });
    if !matches {
        return Err(ApiError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        ));
    }
    Ok((sig.access_key, cred.account_id.clone()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The worked example of the AWS documentation ("Create a signature": IAM ListUsers,
    /// secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30, us-east-1).
    #[test]
    fn aws_documentation_example() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let headers = vec![
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
            ("host".to_owned(), "iam.amazonaws.com".to_owned()),
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
        ];
        let req = RequestParts {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
        };
        let signed: Vec<String> = ["content-type", "host", "x-amz-date"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let payload = hex(&Sha256::digest(b""));
        let c = canonical_request(&req, &signed, &payload, false);
        assert_eq!(
            hex(&Sha256::digest(c.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n{}",
            hex(&Sha256::digest(c.as_bytes()))
        );
        assert_eq!(
            hex(&hmac(&key, to_sign.as_bytes())),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    /// Cases of the AWS SigV4 test suite (aws-sig-v4-test-suite: AKIDEXAMPLE, the
    /// documented example secret, 20150830T123600Z, us-east-1, service `service`, host
    /// example.amazonaws.com), each with the signature AWS publishes for it. Requests are
    /// given as they travel on the wire (the UTF-8 query percent-encoded).
    #[test]
    fn aws_sigv4_test_suite_vectors() {
        type Case = (
            &'static str,
            &'static str,
            &'static str,
            &'static str,
            &'static [(&'static str, &'static str)],
            &'static str,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "get-vanilla",
                "GET",
                "/",
                "",
                &[],
                "",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                "get-unreserved",
                "GET",
                "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                "",
                &[],
                "",
                "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
            ),
            (
                "get-slashes",
                "GET",
                "//example//",
                "",
                &[],
                "",
                "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
            ),
            (
                "get-vanilla-query-order-key-case",
                "GET",
                "/",
                "Param2=value2&Param1=value1",
                &[],
                "",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            (
                "get-vanilla-query-order-value",
                "GET",
                "/",
                "Param1=value2&Param1=value1",
                &[],
                "",
                "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
            ),
            (
                "get-vanilla-utf8-query",
                "GET",
                "/",
                "%E1%88%B4=bar",
                &[],
                "",
                "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
            ),
            (
                "get-header-value-order",
                "GET",
                "/",
                "",
                &[
                    ("my-header1", "value4"),
                    ("my-header1", "value1"),
                    ("my-header1", "value3"),
                    ("my-header1", "value2"),
                ],
                "",
                "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
            ),
            (
                "get-header-key-duplicate",
                "GET",
                "/",
                "",
                &[
                    ("my-header1", "value2"),
                    ("my-header1", "value2"),
                    ("my-header1", "value1"),
                ],
                "",
                "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
            ),
            (
                "get-header-value-trim",
                "GET",
                "/",
                "",
                &[("my-header1", " value1"), ("my-header2", "\"a   b   c\"")],
                "",
                "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
            ),
            (
                "post-x-www-form-urlencoded",
                "POST",
                "/",
                "",
                &[("content-type", "application/x-www-form-urlencoded")],
                "Param1=value1",
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            ),
            (
                "get-vanilla-with-session-token",
                "GET",
                "/",
                "",
                &[(
                    "x-amz-security-token",
                    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
                )],
                "",
                "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
            ),
        ];
        for (name, method, path, query, extra, body, want) in cases {
            let mut headers = vec![
                ("host".to_owned(), "example.amazonaws.com".to_owned()),
                ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
            ];
            headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
            let mut signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
            signed.sort();
            signed.dedup();
            let req = RequestParts {
                method,
                path,
                query,
                headers: &headers,
                body: body.as_bytes(),
            };
            let got = signature(
                &req,
                &signed,
                &hex(&Sha256::digest(body.as_bytes())),
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "us-east-1",
                "service",
                "20150830T123600Z",
                false,
            );
            assert_eq!(&got, want, "{name}");
        }
        // The suite's canonical URIs and query strings.
        assert_eq!(canonical_uri("/example%20space/"), "/example%20space/");
        assert_eq!(canonical_uri("/%E1%88%B4"), "/%E1%88%B4");
        assert_eq!(canonical_uri("/example/.."), "/");
        assert_eq!(canonical_uri("/example1/example2/../.."), "/");
        assert_eq!(canonical_uri("/./"), "/");
        assert_eq!(canonical_uri(""), "/");
        let headers = vec![("host".to_owned(), "h".to_owned())];
        let req = RequestParts {
            method: "GET",
            path: "/",
            query: "q=a+b&b&a=1=2",
            headers: &headers,
            body: b"",
        };
        let c = canonical_request(&req, &["host".to_owned()], "x", false);
        assert_eq!(c.lines().nth(2), Some("a=1%3D2&b=&q=a%2Bb"));
    }

    #[test]
    fn what_authorization_signs_verify_accepts() {
        let keys = parse_keys("AKID:se/cr+et").unwrap();
        let now = 1_800_000_000;
        let date = amz_date(now);
        let mut headers = vec![
            ("host".to_owned(), "localhost:8000".to_owned()),
            ("x-amz-date".to_owned(), date.clone()),
            (
                "x-amz-target".to_owned(),
                "DynamoDB_20120810.ListTables".to_owned(),
            ),
        ];
        let body = br#"{"Limit": 3}"#;
        let auth = {
            let req = RequestParts {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                body,
            };
            authorization(&req, "AKID", "se/cr+et", "us-east-1", &date)
        };
        headers.push(("authorization".to_owned(), auth));
        let req = RequestParts {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        assert!(verify(&req, &keys, now).is_ok());
        let tampered = RequestParts { body: b"{}", ..req };
        assert!(verify(&tampered, &keys, now).is_err());
    }

    #[test]
    fn dates_round_trip() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(t, 1_440_938_160);
        assert_eq!(format_amz_date(t), "20150830T123600Z");
        assert!(parse_amz_date("2015-08-30").is_none());
    }

    #[test]
    fn authorization_parsing_errors() {
        let e =
            parse_authorization("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request"
        );
        assert!(
            parse_keys("AKID:secret:123456789012\n# c\n\nK2:s2\n")
                .unwrap()
                .len()
                == 2
        );
        assert!(parse_keys("nocolon").is_err());
        let dbg = format!("{:?}", parse_keys("AKID:topsecret").unwrap());
        assert!(!dbg.contains("topsecret"));
    }
}
