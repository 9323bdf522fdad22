//! Every operation of `DynamoDB_20120810` and `DynamoDBStreams_20120810`.

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// An operation named by `X-Amz-Target`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($name),* }

        impl Operation {
            /// All operations, for docs and dispatch tests.
            pub const ALL: &'static [Operation] = &[$(Operation::$name),*];

            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name)),* }
            }
        }
    };
}

operations! {
    // DynamoDB_20120810
    BatchExecuteStatement, BatchGetItem, BatchWriteItem, CreateBackup, CreateGlobalTable,
    CreateTable, DeleteBackup, DeleteItem, DeleteResourcePolicy, DeleteTable, DescribeBackup,
    DescribeContinuousBackups, DescribeContributorInsights, DescribeEndpoints, DescribeExport,
    DescribeGlobalTable, DescribeGlobalTableSettings, DescribeImport,
    DescribeKinesisStreamingDestination, DescribeLimits, DescribeTable,
    DescribeTableReplicaAutoScaling, DescribeTimeToLive, DisableKinesisStreamingDestination,
    EnableKinesisStreamingDestination, ExecuteStatement, ExecuteTransaction,
    ExportTableToPointInTime, GetItem, GetResourcePolicy, ImportTable, ListBackups,
    ListContributorInsights, ListExports, ListGlobalTables, ListImports, ListTables,
    ListTagsOfResource, PutItem, PutResourcePolicy, Query, RestoreTableFromBackup,
    RestoreTableToPointInTime, Scan, TagResource, TransactGetItems, TransactWriteItems,
    UntagResource, UpdateContinuousBackups, UpdateContributorInsights, UpdateGlobalTable,
    UpdateGlobalTableSettings, UpdateItem, UpdateKinesisStreamingDestination, UpdateTable,
    UpdateTableReplicaAutoScaling, UpdateTimeToLive,
    // DynamoDBStreams_20120810
    DescribeStream, GetRecords, GetShardIterator, ListStreams,
}

const STREAM_OPS: &[Operation] = &[
    Operation::DescribeStream,
    Operation::GetRecords,
    Operation::GetShardIterator,
    Operation::ListStreams,
];

impl Operation {
    /// Parse an `X-Amz-Target` header value such as `DynamoDB_20120810.PutItem`.
    pub fn from_target(target: &str) -> Option<Operation> {
        let (service, op) = target.split_once('.')?;
        let streams = match service {
            "DynamoDB_20120810" => false,
            "DynamoDBStreams_20120810" => true,
            _ => return None,
        };
        let found = Operation::ALL.iter().copied().find(|o| o.name() == op)?;
        (STREAM_OPS.contains(&found) == streams).then_some(found)
    }

    /// The service prefix this operation belongs to.
    pub fn service(self) -> &'static str {
        if STREAM_OPS.contains(&self) {
            "DynamoDBStreams_20120810"
        } else {
            "DynamoDB_20120810"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Operation::from_target("DynamoDB_20120810.PutItem"),
            Some(Operation::PutItem)
        );
        assert_eq!(
            Operation::from_target("DynamoDBStreams_20120810.GetRecords"),
            Some(Operation::GetRecords)
        );
        assert_eq!(Operation::from_target("DynamoDB_20120810.GetRecords"), None);
        assert_eq!(Operation::from_target("DynamoDB_20120810.Nope"), None);
        assert_eq!(Operation::from_target("PutItem"), None);
        assert_eq!(Operation::ALL.len(), 61);
    }
}
