//! The DynamoDB JSON 1.0 wire protocol: the operation enum, typed requests and responses,
//! request decoding and the error model. No I/O here.

pub mod error;
pub mod model;
pub mod ops;

pub use error::{ApiError, CancellationReason, ThrottlingReason, Violations};
pub use ops::Operation;

use serde::de::DeserializeOwned;

/// Decode a request body into its typed input.
///
/// A body that is not JSON, or a member of the wrong JSON type, is a
/// `SerializationException`; an attribute value that is well-formed JSON but invalid (see
/// `ferrodyn_types::value`) is a `ValidationException`. An empty body counts as `{}`.
pub fn decode<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        if let Some(i) = text.find(ferrodyn_types::value::VALIDATION_MARKER) {
            let msg = text
                .get(i + ferrodyn_types::value::VALIDATION_MARKER.len()..)
                .unwrap_or("");
            let msg = msg
                .rfind(" at line ")
                .and_then(|j| msg.get(..j))
                .unwrap_or(msg);
            return ApiError::Validation(msg.to_owned());
        }
        ApiError::Serialization(coral_message(&e))
    })
}

/// Coral's wording for a JSON type mismatch ("NUMBER_VALUE cannot be converted to String"),
/// or no message for malformed JSON, as DynamoDB answers.
pub fn coral_message(e: &serde_json::Error) -> String {
    if !e.is_data() {
        return String::new();
    }
    let text = e.to_string();
    let Some(rest) = text.strip_prefix("invalid type: ") else {
        return String::new();
    };
    let found = if rest.starts_with("integer") || rest.starts_with("floating point") {
        "NUMBER_VALUE"
    } else if rest.starts_with("string") {
        "STRING_VALUE"
    } else if rest.starts_with("boolean `true`") {
        "TRUE_VALUE"
    } else if rest.starts_with("boolean `false`") {
        "FALSE_VALUE"
    } else if rest.starts_with("map") {
        "START_OBJECT"
    } else if rest.starts_with("sequence") {
        "START_ARRAY"
    } else {
        return String::new();
    };
    let expected = rest.split(", expected ").nth(1).unwrap_or("");
    let target = if expected.starts_with("a string") {
        "String"
    } else if expected.starts_with("i64")
        || expected.starts_with("u64")
        || expected.starts_with("i32")
    {
        "Long"
    } else if expected.starts_with("a boolean") {
        "Boolean"
    } else if expected.starts_with("a sequence") {
        "List"
    } else if expected.starts_with("a map")
        || expected.starts_with("struct")
        || expected.contains("AttributeValue")
    {
        "Structure"
    } else {
        return String::new();
    };
    format!("{found} cannot be converted to {target}")
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]
mod tests {
    use super::*;
    use model::PutItemInput;

    #[test]
    fn decoding_errors() {
        let e = decode::<PutItemInput>(br#"{"TableName": 5}"#).unwrap_err();
        assert_eq!(
            e,
            ApiError::Serialization("NUMBER_VALUE cannot be converted to String".into())
        );
        assert_eq!(
            decode::<PutItemInput>(b"{nope").unwrap_err(),
            ApiError::Serialization(String::new())
        );
        let e =
            decode::<PutItemInput>(br#"{"TableName":"t","Item":{"a":{"N":"x1"}}}"#).unwrap_err();
        assert_eq!(
            e,
            ApiError::Validation("The parameter cannot be converted to a numeric value: x1".into())
        );
        let e = decode::<PutItemInput>(br#"{"TableName":"t","Item":{"a":{}}}"#).unwrap_err();
        assert!(
            matches!(e, ApiError::Validation(m) if m.starts_with("Supplied AttributeValue is empty"))
        );
        let ok = decode::<PutItemInput>(b"").unwrap();
        assert!(ok.table_name.is_none());
    }

    #[test]
    fn violations_format() {
        let mut v = Violations::new();
        v.table_name(&Some(String::new()), "tableName");
        assert_eq!(
            v.into_result().unwrap_err().to_string(),
            "1 validation error detected: Value '' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        let mut v = Violations::new();
        v.enumeration(Some("X"), "returnValues", &["NONE", "ALL_OLD"]);
        v.not_null::<()>(&None, "key");
        assert!(v
            .into_result()
            .unwrap_err()
            .to_string()
            .starts_with("2 validation errors detected: Value 'X'"));
    }
}
