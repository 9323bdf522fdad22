#![no_main]
//! Request decoding: arbitrary bytes as the body of several operations. Every input must
//! become a typed request or a DynamoDB-shaped error, never a panic.
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{decode, ApiError};
use libfuzzer_sys::fuzz_target;

fn check<T: serde::de::DeserializeOwned + Default>(data: &[u8]) {
    if let Err(e) = decode::<T>(data) {
        let _: &ApiError = &e;
        let _ = e.to_body();
    }
}

fuzz_target!(|data: &[u8]| {
    check::<PutItemInput>(data);
    check::<UpdateItemInput>(data);
    check::<QueryInput>(data);
    check::<CreateTableInput>(data);
    check::<TransactWriteItemsInput>(data);
    check::<BatchWriteItemInput>(data);
});
