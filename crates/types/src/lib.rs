//! Ferrodyn's data model: attribute values and items, DynamoDB's 38-digit numbers, item
//! size, the binary item codec and the order-preserving key encoding.
//!
//! This crate does no I/O and knows nothing of storage or HTTP.

pub mod codec;
pub mod key;
pub mod number;
pub mod value;

pub use key::{KeyAttr, KeyError, KeySchema};
pub use number::{Number, NumberError};
pub use value::{item_size, AttributeValue, Item, ScalarType};
