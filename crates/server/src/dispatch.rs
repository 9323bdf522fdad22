//! Operation -> engine method. The match is exhaustive: every operation is either served
//! or answered with an explicit UnknownOperationException (planned, or no local meaning;
//! see docs/compatibility.md).

use ferrodyn_engine::Engine;
use ferrodyn_protocol::{decode, ApiError, Operation};
use serde::Serialize;

fn json<T: Serialize>(r: Result<T, ApiError>) -> Result<Vec<u8>, ApiError> {
    let v = r?;
    serde_json::to_vec(&v).map_err(|e| ApiError::InternalServerError(e.to_string()))
}

pub async fn dispatch(
    engine: &Engine,
    op: Operation,
    body: &[u8],
    host: &str,
) -> Result<Vec<u8>, ApiError> {
    use Operation::*;
    match op {
        CreateTable => json(engine.create_table(decode(body)?).await),
        DescribeTable => json(engine.describe_table(decode(body)?).await),
        ListTables => json(engine.list_tables(decode(body)?).await),
        UpdateTable => json(engine.update_table(decode(body)?).await),
        DeleteTable => json(engine.delete_table(decode(body)?).await),
        PutItem => json(engine.put_item(decode(body)?).await),
        GetItem => engine.get_item_json(decode(body)?).await,
        DeleteItem => json(engine.delete_item(decode(body)?).await),
        UpdateItem => json(engine.update_item(decode(body)?).await),
        Query => engine.query_json(decode(body)?).await,
        Scan => engine.scan_json(decode(body)?).await,
        BatchGetItem => json(engine.batch_get_item(decode(body)?).await),
        BatchWriteItem => json(engine.batch_write_item(decode(body)?).await),
        TransactWriteItems => json(engine.transact_write_items(decode(body)?).await),
        TransactGetItems => json(engine.transact_get_items(decode(body)?).await),
        UpdateTimeToLive => json(engine.update_time_to_live(decode(body)?).await),
        ListStreams => json(engine.list_streams(decode(body)?).await),
        DescribeStream => json(engine.describe_stream(decode(body)?).await),
        GetShardIterator => json(engine.get_shard_iterator(decode(body)?).await),
        GetRecords => json(engine.get_records(decode(body)?).await),
        DescribeTimeToLive => json(engine.describe_time_to_live(decode(body)?).await),
        TagResource => json(engine.tag_resource(decode(body)?).await),
        UntagResource => json(engine.untag_resource(decode(body)?).await),
        ListTagsOfResource => json(engine.list_tags_of_resource(decode(body)?).await),
        DescribeEndpoints => json(Ok(engine.describe_endpoints(host))),
        DescribeLimits => json(Ok(engine.describe_limits())),
        CreateBackup => json(engine.create_backup(decode(body)?).await),
        DescribeBackup => json(engine.describe_backup(decode(body)?).await),
        DeleteBackup => json(engine.delete_backup(decode(body)?).await),
        ListBackups => json(engine.list_backups(decode(body)?).await),
        RestoreTableFromBackup => json(engine.restore_table_from_backup(decode(body)?).await),
        RestoreTableToPointInTime => {
            json(engine.restore_table_to_point_in_time(decode(body)?).await)
        }
        UpdateContinuousBackups => json(engine.update_continuous_backups(decode(body)?).await),
        ExportTableToPointInTime => json(engine.export_table_to_point_in_time(decode(body)?).await),
        DescribeExport => json(engine.describe_export(decode(body)?).await),
        ListExports => json(engine.list_exports(decode(body)?).await),
        ImportTable => json(engine.import_table(decode(body)?).await),
        DescribeImport => json(engine.describe_import(decode(body)?).await),
        ListImports => json(engine.list_imports(decode(body)?).await),
        DescribeContinuousBackups => json(engine.describe_continuous_backups(decode(body)?).await),
        ExecuteStatement => json(engine.execute_statement(decode(body)?).await),
        BatchExecuteStatement => json(engine.batch_execute_statement(decode(body)?).await),
        ExecuteTransaction => json(engine.execute_transaction(decode(body)?).await),
        // Planned: see docs/compatibility.md for the issue that brings each.
        GetResourcePolicy | PutResourcePolicy | DeleteResourcePolicy => {
            Err(ApiError::UnknownOperation)
        }
        // No local meaning: global tables, Kinesis destinations, contributor insights,
        // replica auto scaling.
        CreateGlobalTable
        | DescribeGlobalTable
        | DescribeGlobalTableSettings
        | ListGlobalTables
        | UpdateGlobalTable
        | UpdateGlobalTableSettings
        | DescribeKinesisStreamingDestination
        | DisableKinesisStreamingDestination
        | EnableKinesisStreamingDestination
        | UpdateKinesisStreamingDestination
        | DescribeContributorInsights
        | ListContributorInsights
        | UpdateContributorInsights
        | DescribeTableReplicaAutoScaling
        | UpdateTableReplicaAutoScaling => Err(ApiError::UnknownOperation),
    }
}
