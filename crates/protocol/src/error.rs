//! `ApiError`: one variant per DynamoDB error type, with its `__type` namespace and HTTP
//! status in one exhaustive match.

use ferrodyn_types::Item;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Serialization(String),
    #[error("unknown operation")]
    UnknownOperation,
    #[error("{0}")]
    MissingAuthenticationToken(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{message}")]
    ConditionalCheckFailed { message: String, item: Option<Item> },
    /// A transaction was cancelled; one reason per action, in action order.
    #[error("{message}")]
    TransactionCanceled {
        message: String,
        reasons: Vec<CancellationReason>,
    },
    #[error("{0}")]
    TransactionConflict(String),
    #[error("{0}")]
    ItemCollectionSizeLimitExceeded(String),
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    TrimmedDataAccess(String),
    #[error("{0}")]
    TransactionInProgress(String),
    #[error("{0}")]
    IdempotentParameterMismatch(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    RequestTooLarge(String),
    #[error("{0}")]
    DuplicateItem(String),
    #[error("{0}")]
    Throttling(String),
    /// A provisioned table or index ran out of capacity (only with capacity enforcement).
    #[error("{message}")]
    ProvisionedThroughputExceeded {
        message: String,
        reasons: Vec<ThrottlingReason>,
    },
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    IncompleteSignature(String),
    #[error("{0}")]
    InvalidSignature(String),
    #[error("{0}")]
    UnrecognizedClient(String),
    #[error("{0}")]
    BackupNotFound(String),
    #[error("{0}")]
    BackupInUse(String),
    #[error("{0}")]
    TableNotFound(String),
    #[error("{0}")]
    TableAlreadyExists(String),
    #[error("{0}")]
    TableInUse(String),
    #[error("{0}")]
    ContinuousBackupsUnavailable(String),
    #[error("{0}")]
    PointInTimeRecoveryUnavailable(String),
    #[error("{0}")]
    InvalidRestoreTime(String),
    #[error("{0}")]
    ExportNotFound(String),
    #[error("{0}")]
    ImportNotFound(String),
    #[error("{0}")]
    ExportConflict(String),
    #[error("{0}")]
    ImportConflict(String),
    #[error("{0}")]
    InvalidExportTime(String),
    #[error("{0}")]
    InternalServerError(String),
}

impl ApiError {
    pub fn validation(msg: impl Into<String>) -> Self {
        ApiError::Validation(msg.into())
    }

    /// The `__type` value: namespace and error name, as DynamoDB sends them.
    pub fn type_name(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "com.amazon.coral.validate#ValidationException",
            ApiError::Serialization(_) => "com.amazon.coral.service#SerializationException",
            ApiError::UnknownOperation => "com.amazon.coral.service#UnknownOperationException",
            ApiError::AccessDenied(_) => "com.amazon.coral.service#AccessDeniedException",
            ApiError::MissingAuthenticationToken(_) => {
                "com.amazon.coral.service#MissingAuthenticationTokenException"
            }
            ApiError::ResourceNotFound(_) => {
                "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
            }
            ApiError::ResourceInUse(_) => "com.amazonaws.dynamodb.v20120810#ResourceInUseException",
            ApiError::ConditionalCheckFailed { .. } => {
                "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
            }
            ApiError::TransactionCanceled { .. } => {
                "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
            }
            ApiError::TransactionConflict(_) => {
                "com.amazonaws.dynamodb.v20120810#TransactionConflictException"
            }
            ApiError::ExpiredIterator(_) => {
                "com.amazonaws.dynamodb.v20120810#ExpiredIteratorException"
            }
            ApiError::TrimmedDataAccess(_) => {
                "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException"
            }
            ApiError::ItemCollectionSizeLimitExceeded(_) => {
                "com.amazonaws.dynamodb.v20120810#ItemCollectionSizeLimitExceededException"
            }
            ApiError::TransactionInProgress(_) => {
                "com.amazonaws.dynamodb.v20120810#TransactionInProgressException"
            }
            ApiError::IdempotentParameterMismatch(_) => {
                "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"
            }
            ApiError::LimitExceeded(_) => "com.amazonaws.dynamodb.v20120810#LimitExceededException",
            ApiError::RequestTooLarge(_) => {
                "com.amazon.coral.service#RequestEntityTooLargeException"
            }
            ApiError::InternalServerError(_) => {
                "com.amazonaws.dynamodb.v20120810#InternalServerError"
            }
            ApiError::IncompleteSignature(_) => {
                "com.amazon.coral.service#IncompleteSignatureException"
            }
            ApiError::InvalidSignature(_) => "com.amazon.coral.service#InvalidSignatureException",
            ApiError::UnrecognizedClient(_) => {
                "com.amazon.coral.service#UnrecognizedClientException"
            }
            ApiError::Throttling(_) => "com.amazon.coral.availability#ThrottlingException",
            ApiError::ProvisionedThroughputExceeded { .. } => {
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            }
            ApiError::RequestTimeout(_) => "com.amazon.coral.service#RequestTimeoutException",
            ApiError::DuplicateItem(_) => "com.amazonaws.dynamodb.v20120810#DuplicateItemException",
            ApiError::BackupNotFound(_) => {
                "com.amazonaws.dynamodb.v20120810#BackupNotFoundException"
            }
            ApiError::BackupInUse(_) => "com.amazonaws.dynamodb.v20120810#BackupInUseException",
            ApiError::TableNotFound(_) => "com.amazonaws.dynamodb.v20120810#TableNotFoundException",
            ApiError::TableAlreadyExists(_) => {
                "com.amazonaws.dynamodb.v20120810#TableAlreadyExistsException"
            }
            ApiError::TableInUse(_) => "com.amazonaws.dynamodb.v20120810#TableInUseException",
            ApiError::ContinuousBackupsUnavailable(_) => {
                "com.amazonaws.dynamodb.v20120810#ContinuousBackupsUnavailableException"
            }
            ApiError::PointInTimeRecoveryUnavailable(_) => {
                "com.amazonaws.dynamodb.v20120810#PointInTimeRecoveryUnavailableException"
            }
            ApiError::InvalidRestoreTime(_) => {
                "com.amazonaws.dynamodb.v20120810#InvalidRestoreTimeException"
            }
            ApiError::ExportNotFound(_) => {
                "com.amazonaws.dynamodb.v20120810#ExportNotFoundException"
            }
            ApiError::ImportNotFound(_) => {
                "com.amazonaws.dynamodb.v20120810#ImportNotFoundException"
            }
            ApiError::ExportConflict(_) => {
                "com.amazonaws.dynamodb.v20120810#ExportConflictException"
            }
            ApiError::ImportConflict(_) => {
                "com.amazonaws.dynamodb.v20120810#ImportConflictException"
            }
            ApiError::InvalidExportTime(_) => {
                "com.amazonaws.dynamodb.v20120810#InvalidExportTimeException"
            }
        }
    }

    /// The HTTP status DynamoDB answers with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::InternalServerError(_) => 500,
            ApiError::RequestTooLarge(_) => 413,
            _ => 400,
        }
    }

    /// Coral's own service errors spell the member `Message`; DynamoDB's spell it `message`.
    pub fn message_key(&self) -> &'static str {
        match self {
            ApiError::Serialization(_)
            | ApiError::UnknownOperation
            | ApiError::RequestTooLarge(_)
            | ApiError::AccessDenied(_)
            | ApiError::MissingAuthenticationToken(_)
            | ApiError::TransactionCanceled { .. }
            | ApiError::IdempotentParameterMismatch(_)
            | ApiError::TransactionInProgress(_) => "Message",
            _ => "message",
        }
    }

    /// The JSON error body.
    pub fn to_body(&self) -> Vec<u8> {
        let mut map = serde_json::Map::new();
        map.insert("__type".into(), self.type_name().into());
        let msg = self.to_string();
        if !matches!(self, ApiError::UnknownOperation) && !msg.is_empty() {
            map.insert(self.message_key().into(), msg.into());
        }
        if let ApiError::ConditionalCheckFailed {
            item: Some(item), ..
        } = self
        {
            if let Ok(v) = serde_json::to_value(item) {
                map.insert("Item".into(), v);
            }
        }
        if let ApiError::TransactionCanceled { reasons, .. } = self {
            if let Ok(v) = serde_json::to_value(reasons) {
                map.insert("CancellationReasons".into(), v);
            }
        }
        if let ApiError::ProvisionedThroughputExceeded { reasons, .. } = self {
            if let Ok(v) = serde_json::to_value(reasons) {
                map.insert("ThrottlingReasons".into(), v);
            }
        }
        serde_json::to_vec(&map).unwrap_or_default()
    }

    /// A TransactionCanceledException for `reasons`, with DynamoDB's message.
    pub fn transaction_canceled(reasons: Vec<CancellationReason>) -> Self {
        let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
        ApiError::TransactionCanceled {
            message: format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                codes.join(", ")
            ),
            reasons,
        }
    }
}

/// Why a request was throttled (DynamoDB's `ThrottlingReason`): `reason` is
/// resource type + operation + limit, e.g. `TableWriteProvisionedThroughputExceeded`;
/// `resource` the ARN of the table or index.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThrottlingReason {
    pub reason: String,
    pub resource: String,
}

/// Why one action of a transaction was cancelled (`Code` "None" for the others).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancellationReason {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

impl CancellationReason {
    pub fn none() -> Self {
        CancellationReason {
            code: "None".into(),
            message: None,
            item: None,
        }
    }
}

/// Collects constraint violations and reports them the way DynamoDB does:
/// `1 validation error detected: Value 'x' at 'path' failed to satisfy constraint: ...`,
/// several joined with `; ` after `N validation errors detected: `.
#[derive(Default, Debug)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// A value that breaks a constraint. `value` None renders as `Value null`.
    pub fn add(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let v = match value {
            Some(v) => format!("Value '{v}'"),
            None => "Value null".to_owned(),
        };
        self.0.push(format!(
            "{v} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A violation DynamoDB reports without echoing the value (`Value at 'Limit' ...`).
    pub fn add_unvalued(&mut self, path: &str, constraint: &str) {
        self.0.push(format!(
            "Value at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn not_null<T>(&mut self, v: &Option<T>, path: &str) {
        if v.is_none() {
            self.add(None, path, "Member must not be null");
        }
    }

    /// Check an enum member against its allowed values.
    pub fn enumeration(&mut self, v: Option<&str>, path: &str, allowed: &[&str]) {
        if let Some(v) = v {
            if !allowed.contains(&v) {
                self.add(
                    Some(v),
                    path,
                    &format!(
                        "Member must satisfy enum value set: [{}]",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    pub fn min(&mut self, v: Option<i64>, path: &str, min: i64) {
        if let Some(v) = v {
            if v < min {
                self.add(
                    Some(&v.to_string()),
                    path,
                    &format!("Member must have value greater than or equal to {min}"),
                );
            }
        }
    }

    pub fn max(&mut self, v: Option<i64>, path: &str, max: i64) {
        if let Some(v) = v {
            if v > max {
                self.add(
                    Some(&v.to_string()),
                    path,
                    &format!("Member must have value less than or equal to {max}"),
                );
            }
        }
    }

    /// A table name in a data-plane request (length 1..=255, pattern).
    pub fn table_name(&mut self, name: &Option<String>, path: &str) {
        match name {
            None => self.not_null(name, path),
            Some(n) if n.is_empty() => self.add(
                Some(n),
                path,
                "Member must have length greater than or equal to 1",
            ),
            Some(n) => {
                if !valid_name_chars(n) {
                    self.add(
                        Some(n),
                        path,
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
                    );
                }
                if n.len() > 255 {
                    self.add(
                        Some(n),
                        path,
                        "Member must have length less than or equal to 255",
                    );
                }
            }
        }
    }

    /// A table or index name being created (length 3..=255, pattern).
    pub fn new_name(&mut self, name: &str, path: &str, max: usize) {
        if !valid_name_chars(name) {
            self.add(
                Some(name),
                path,
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            );
        }
        if name.len() < 3 {
            self.add(
                Some(name),
                path,
                "Member must have length greater than or equal to 3",
            );
        }
        if name.len() > max {
            self.add(
                Some(name),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The error, if any violation was recorded.
    pub fn into_result(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::Validation(format!(
                "1 validation error detected: {}",
                self.0.concat()
            ))),
            n => Err(ApiError::Validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// `[a-zA-Z0-9_.-]+`
pub fn valid_name_chars(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}
