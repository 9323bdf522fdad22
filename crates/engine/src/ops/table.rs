//! CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable.

use std::collections::HashSet;
use std::sync::Arc;

use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_types::{KeyAttr, KeySchema, ScalarType};

use crate::catalog::{self, Stats, TableMeta};
use crate::{storage_error, Engine, TxError, CATALOG, KEY_ENCODING_VERSION};

const KEY_TYPES: &[&str] = &["HASH", "RANGE"];
const ATTR_TYPES: &[&str] = &["B", "N", "S"];
const BILLING_MODES: &[&str] = &["PROVISIONED", "PAY_PER_REQUEST"];
const TABLE_CLASSES: &[&str] = &["STANDARD", "STANDARD_INFREQUENT_ACCESS"];
const VIEW_TYPES: &[&str] = &["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"];
const PROJECTION_TYPES: &[&str] = &["ALL", "KEYS_ONLY", "INCLUDE"];

fn invalid(msg: impl std::fmt::Display) -> ApiError {
    ApiError::Validation(format!("One or more parameter values were invalid: {msg}"))
}

/// Java's `KeySchemaElement.toString()`, which DynamoDB prints in some messages.
fn show_key_schema(ks: &[KeySchemaElement]) -> String {
    let parts: Vec<String> = ks
        .iter()
        .map(|k| {
            format!(
                "KeySchemaElement(attributeName={}, keyType={})",
                k.attribute_name.as_deref().unwrap_or("null"),
                k.key_type.as_deref().unwrap_or("null")
            )
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

fn check_key_schema(
    v: &mut Violations,
    ks: &Option<Vec<KeySchemaElement>>,
    path: &str,
    max: usize,
) {
    match ks {
        None => v.not_null(ks, path),
        Some(ks) => {
            if ks.is_empty() {
                v.add(
                    Some("[]"),
                    path,
                    "Member must have length greater than or equal to 1",
                );
            } else if ks.len() > max {
                v.add(
                    Some(&show_key_schema(ks)),
                    path,
                    &format!("Member must have length less than or equal to {max}"),
                );
            }
            for (i, k) in ks.iter().enumerate() {
                let p = format!("{path}.{}.member", i + 1);
                v.enumeration(k.key_type.as_deref(), &format!("{p}.keyType"), KEY_TYPES);
                v.not_null(&k.key_type, &format!("{p}.keyType"));
                match &k.attribute_name {
                    None => v.not_null(&k.attribute_name, &format!("{p}.attributeName")),
                    Some(n) if n.is_empty() => v.add(
                        Some(n),
                        &format!("{p}.attributeName"),
                        "Member must have length greater than or equal to 1",
                    ),
                    Some(n) if n.len() > 255 => v.add(
                        Some(n),
                        &format!("{p}.attributeName"),
                        "Member must have length less than or equal to 255",
                    ),
                    Some(_) => {}
                }
            }
        }
    }
}

fn check_throughput(v: &mut Violations, t: &Option<ProvisionedThroughput>, path: &str) {
    if let Some(t) = t {
        v.not_null(&t.read_capacity_units, &format!("{path}.readCapacityUnits"));
        v.not_null(
            &t.write_capacity_units,
            &format!("{path}.writeCapacityUnits"),
        );
        v.min(
            t.read_capacity_units,
            &format!("{path}.readCapacityUnits"),
            1,
        );
        v.min(
            t.write_capacity_units,
            &format!("{path}.writeCapacityUnits"),
            1,
        );
    }
}

/// A key schema whose constraint checks passed: resolve it against the definitions.
fn resolve_schema(
    ks: &[KeySchemaElement],
    defs: &[AttributeDefinition],
    used: &mut HashSet<String>,
    is_index: bool,
) -> Result<KeySchema, ApiError> {
    let name = |k: &KeySchemaElement| k.attribute_name.clone().unwrap_or_default();
    let first = ks
        .first()
        .ok_or_else(|| ApiError::validation("Invalid KeySchema: empty"))?;
    if first.key_type.as_deref() != Some("HASH") {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if let Some(second) = ks.get(1) {
        if second.key_type.as_deref() != Some("RANGE") {
            return Err(ApiError::validation(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
        if name(second) == name(first) {
            return Err(ApiError::validation(
                "Invalid KeySchema: Some index key attribute have no definition",
            ));
        }
    }
    let ty = |n: &str| -> Option<ScalarType> {
        defs.iter()
            .find(|d| d.attribute_name.as_deref() == Some(n))
            .and_then(|d| match d.attribute_type.as_deref() {
                Some("S") => Some(ScalarType::S),
                Some("N") => Some(ScalarType::N),
                Some("B") => Some(ScalarType::B),
                _ => None,
            })
    };
    let missing: Vec<String> = ks.iter().map(name).filter(|n| ty(n).is_none()).collect();
    if !missing.is_empty() && !is_index {
        return Err(ApiError::validation(
            "Invalid KeySchema: Some index key attribute have no definition",
        ));
    }
    if !missing.is_empty() {
        let defined: Vec<String> = defs
            .iter()
            .filter_map(|d| d.attribute_name.clone())
            .collect();
        return Err(invalid(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            missing.join(", "),
            defined.join(", ")
        )));
    }
    let attr = |k: &KeySchemaElement| -> KeyAttr {
        let n = name(k);
        let ty = ty(&n).unwrap_or(ScalarType::S);
        KeyAttr { name: n, ty }
    };
    for k in ks {
        used.insert(name(k));
    }
    Ok(KeySchema {
        hash: attr(first),
        range: ks.get(1).map(attr),
    })
}

/// A GSI key schema: up to four HASH then up to four RANGE attributes (multi-attribute
/// keys), each defined, none twice; one of each is the classic form.
fn resolve_gsi_schema(
    ks: &[KeySchemaElement],
    defs: &[AttributeDefinition],
    used: &mut HashSet<String>,
) -> Result<(), ApiError> {
    if ks.len() <= 2
        && ks
            .get(1)
            .is_none_or(|k| k.key_type.as_deref() == Some("RANGE"))
    {
        resolve_schema(ks, defs, used, true)?;
        return Ok(());
    }
    if ks.first().and_then(|k| k.key_type.as_deref()) != Some("HASH") {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    let kinds: Vec<&str> = ks
        .iter()
        .map(|k| k.key_type.as_deref().unwrap_or(""))
        .collect();
    for kind in ["HASH", "RANGE"] {
        if kinds.iter().filter(|k| **k == kind).count() > 4 {
            return Err(invalid(format!(
                "The KeySchema exceeds the maximum allowed number of {kind} key attributes"
            )));
        }
    }
    if kinds.windows(2).any(|w| w == ["RANGE", "HASH"]) {
        return Err(invalid(
            "All HASH key attributes must precede RANGE key attributes in the KeySchema",
        ));
    }
    let mut seen = HashSet::new();
    for k in ks {
        if !seen.insert(k.attribute_name.clone().unwrap_or_default()) {
            return Err(ApiError::validation(
                "The KeySchema contains multiple key attributes with the same name",
            ));
        }
    }
    let missing: Vec<String> = ks
        .iter()
        .filter_map(|k| k.attribute_name.clone())
        .filter(|n| {
            !defs
                .iter()
                .any(|d| d.attribute_name.as_deref() == Some(n.as_str()))
        })
        .collect();
    if !missing.is_empty() {
        let defined: Vec<String> = defs
            .iter()
            .filter_map(|d| d.attribute_name.clone())
            .collect();
        return Err(invalid(format!(
            "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            missing.join(", "),
            defined.join(", ")
        )));
    }
    for k in ks {
        used.insert(k.attribute_name.clone().unwrap_or_default());
    }
    Ok(())
}

fn check_projection(p: &Option<Projection>, index: &str) -> Result<Projection, ApiError> {
    let p = p
        .clone()
        .ok_or_else(|| invalid(format!("Projection is not specified for index: {index}")))?;
    match p.projection_type.as_deref() {
        Some("INCLUDE") => {
            if p.non_key_attributes.as_ref().is_none_or(|n| n.is_empty()) {
                return Err(invalid(
                    "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
                ));
            }
        }
        Some("ALL") | Some("KEYS_ONLY") | None => {
            if p.non_key_attributes.is_some() {
                return Err(invalid(format!(
                    "ProjectionType is {}, but NonKeyAttributes is specified",
                    p.projection_type.as_deref().unwrap_or("null")
                )));
            }
        }
        Some(_) => {}
    }
    Ok(p)
}

impl Engine {
    fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            self.config.region, self.config.account_id, name
        )
    }

    /// The live description: stored description plus status, counts and sizes.
    pub(crate) fn describe(&self, meta: &TableMeta) -> Result<TableDescription, ApiError> {
        let stats = {
            let view = self.store.snapshot().map_err(storage_error)?;
            Stats::read(&*view, &meta.desc.table_id, self.cluster.is_some())
                .map_err(storage_error)?
        };
        let mut d = meta.desc.clone();
        d.item_count = stats.items;
        d.table_size_bytes = stats.bytes;
        let index_stats = {
            let view = self.store.snapshot().map_err(storage_error)?;
            meta.indexes()
                .into_iter()
                .map(|i| {
                    Stats::read(&*view, &i.stats_id, self.cluster.is_some()).map(|s| (i.name, s))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage_error)?
        };
        for g in d.global_secondary_indexes.iter_mut().flatten() {
            if let Some((_, s)) = index_stats.iter().find(|(n, _)| *n == g.index_name) {
                g.item_count = s.items;
                g.index_size_bytes = s.bytes;
            }
        }
        for l in d.local_secondary_indexes.iter_mut().flatten() {
            if let Some((_, s)) = index_stats.iter().find(|(n, _)| *n == l.index_name) {
                l.item_count = s.items;
                l.index_size_bytes = s.bytes;
            }
        }
        let now = self.clock.now();
        d.table_status = match self.config.transient_delay {
            _ if meta.restore_source.is_some() => "CREATING".into(),
            Some(delay) if now < d.creation_date_time + delay.as_secs_f64() => "CREATING".into(),
            Some(delay)
                if meta
                    .updated_at
                    .is_some_and(|u| now < u + delay.as_secs_f64()) =>
            {
                "UPDATING".into()
            }
            _ => "ACTIVE".into(),
        };
        Ok(d)
    }

    pub async fn create_table(
        &self,
        input: CreateTableInput,
    ) -> Result<TableDescriptionOutput, ApiError> {
        self.create_table_inner(input, None).await
    }

    /// CreateTable, or the table a restore fills (`restore` set: it stays CREATING and
    /// closed to item operations until the restore has copied every item).
    pub(crate) async fn create_table_inner(
        &self,
        input: CreateTableInput,
        restore: Option<(Option<RestoreSummary>, crate::backup::RestoreSource)>,
    ) -> Result<TableDescriptionOutput, ApiError> {
        let Some(name) = input.table_name.clone() else {
            return Err(ApiError::validation(
                "The parameter 'TableName' is required but was not present in the request",
            ));
        };
        // 1. Constraints, all reported together.
        let mut v = Violations::new();
        v.new_name(&name, "tableName", 255);
        v.enumeration(input.billing_mode.as_deref(), "billingMode", BILLING_MODES);
        check_key_schema(&mut v, &input.key_schema, "keySchema", 2);
        match &input.attribute_definitions {
            None => v.not_null(&input.attribute_definitions, "attributeDefinitions"),
            Some(defs) => {
                for (i, d) in defs.iter().enumerate() {
                    let p = format!("attributeDefinitions.{}.member", i + 1);
                    v.enumeration(
                        d.attribute_type.as_deref(),
                        &format!("{p}.attributeType"),
                        ATTR_TYPES,
                    );
                    v.not_null(&d.attribute_type, &format!("{p}.attributeType"));
                    v.not_null(&d.attribute_name, &format!("{p}.attributeName"));
                }
            }
        }
        check_throughput(
            &mut v,
            &input.provisioned_throughput,
            "provisionedThroughput",
        );
        v.enumeration(input.table_class.as_deref(), "tableClass", TABLE_CLASSES);
        if let Some(s) = &input.stream_specification {
            v.enumeration(
                s.stream_view_type.as_deref(),
                "streamSpecification.streamViewType",
                VIEW_TYPES,
            );
        }
        for (i, g) in input.global_secondary_indexes.iter().flatten().enumerate() {
            let p = format!("globalSecondaryIndexes.{}.member", i + 1);
            if let Some(n) = &g.index_name {
                v.new_name(n, &format!("{p}.indexName"), 255);
            }
            check_key_schema(&mut v, &g.key_schema, &format!("{p}.keySchema"), 8);
            if let Some(pr) = &g.projection {
                v.enumeration(
                    pr.projection_type.as_deref(),
                    &format!("{p}.projection.projectionType"),
                    PROJECTION_TYPES,
                );
            }
            check_throughput(
                &mut v,
                &g.provisioned_throughput,
                &format!("{p}.provisionedThroughput"),
            );
        }
        for (i, l) in input.local_secondary_indexes.iter().flatten().enumerate() {
            let p = format!("localSecondaryIndexes.{}.member", i + 1);
            if let Some(n) = &l.index_name {
                v.new_name(n, &format!("{p}.indexName"), 255);
            }
            check_key_schema(&mut v, &l.key_schema, &format!("{p}.keySchema"), 2);
            if let Some(pr) = &l.projection {
                v.enumeration(
                    pr.projection_type.as_deref(),
                    &format!("{p}.projection.projectionType"),
                    PROJECTION_TYPES,
                );
            }
        }
        v.into_result()?;

        // 2. Semantics.
        let key_schema = input.key_schema.clone().unwrap_or_default();
        let defs = input.attribute_definitions.clone().unwrap_or_default();
        let mut used = HashSet::new();
        let schema = resolve_schema(&key_schema, &defs, &mut used, false)?;

        let billing = input
            .billing_mode
            .clone()
            .unwrap_or_else(|| "PROVISIONED".into());
        let provisioned = billing == "PROVISIONED";
        let throughput = match (&input.provisioned_throughput, provisioned) {
            (Some(t), true) => (t.read_capacity_units.unwrap_or(0), t.write_capacity_units.unwrap_or(0)),
            (None, true) => {
                return Err(invalid(
                    "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
                ))
            }
            (Some(_), false) => {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ))
            }
            (None, false) => (0, 0),
        };

        let now = self.clock.now();
        let arn = self.arn(&name);
        let mut index_names = HashSet::new();
        let mut lsis = Vec::new();
        if let Some(list) = &input.local_secondary_indexes {
            if schema.range.is_none() {
                return Err(invalid(
                    "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
                ));
            }
            if list.is_empty() {
                return Err(invalid("List of LocalSecondaryIndexes is empty"));
            }
            if list.len() > 5 {
                return Err(invalid(
                    "Number of LocalSecondaryIndexes exceeds per-table limit of 5",
                ));
            }
            for l in list {
                let iname = l.index_name.clone().unwrap_or_default();
                if !index_names.insert(iname.clone()) {
                    return Err(invalid(format!("Duplicate index name: {iname}")));
                }
                let ks = l.key_schema.clone().unwrap_or_default();
                let s = resolve_schema(&ks, &defs, &mut used, true)?;
                if s.hash.name != schema.hash.name {
                    return Err(invalid(format!(
                        "Index KeySchema does not have the same leading hash key as table KeySchema for index: {iname}. index hash key: {}, table hash key: {}",
                        s.hash.name, schema.hash.name
                    )));
                }
                if s.range.is_none() {
                    return Err(invalid(format!(
                        "Index KeySchema must have a range key for index: {iname}"
                    )));
                }
                let projection = check_projection(&l.projection, &iname)?;
                lsis.push(LocalSecondaryIndexDescription {
                    index_name: iname.clone(),
                    key_schema: ks,
                    projection,
                    index_size_bytes: 0,
                    item_count: 0,
                    index_arn: format!("{arn}/index/{iname}"),
                });
            }
        }
        let mut gsis = Vec::new();
        if let Some(list) = &input.global_secondary_indexes {
            if list.is_empty() {
                return Err(invalid("List of GlobalSecondaryIndexes is empty"));
            }
            if list.len() > 20 {
                return Err(invalid(
                    "GlobalSecondaryIndex count exceeds the per-table limit of 20",
                ));
            }
            for g in list {
                let iname = g.index_name.clone().unwrap_or_default();
                if !index_names.insert(iname.clone()) {
                    return Err(invalid(format!("Duplicate index name: {iname}")));
                }
                let ks = g.key_schema.clone().unwrap_or_default();
                resolve_gsi_schema(&ks, &defs, &mut used)?;
                let projection = check_projection(&g.projection, &iname)?;
                let (r, w) = match (&g.provisioned_throughput, provisioned) {
                    (Some(t), true) => (t.read_capacity_units.unwrap_or(0), t.write_capacity_units.unwrap_or(0)),
                    (None, true) => {
                        return Err(invalid(format!("ProvisionedThroughput is not specified for index: {iname}")))
                    }
                    (Some(_), false) => {
                        return Err(invalid(format!(
                            "ProvisionedThroughput should not be specified for index: {iname} when BillingMode is PAY_PER_REQUEST"
                        )))
                    }
                    (None, false) => (0, 0),
                };
                gsis.push(GlobalSecondaryIndexDescription {
                    index_name: iname.clone(),
                    key_schema: ks,
                    projection,
                    index_status: "ACTIVE".into(),
                    backfilling: None,
                    provisioned_throughput: ProvisionedThroughputDescription {
                        number_of_decreases_today: 0,
                        read_capacity_units: r,
                        write_capacity_units: w,
                        ..Default::default()
                    },
                    index_size_bytes: 0,
                    item_count: 0,
                    index_arn: format!("{arn}/index/{iname}"),
                });
            }
        }
        let def_names: HashSet<String> = defs
            .iter()
            .filter_map(|d| d.attribute_name.clone())
            .collect();
        if def_names.len() != defs.len() {
            return Err(invalid("Duplicate AttributeName in AttributeDefinitions"));
        }
        if def_names != used {
            return Err(invalid(
                "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
            ));
        }
        if let Some(tags) = &input.tags {
            check_tags(tags, &[])?;
        }
        if let Some(s) = &input.stream_specification {
            if s.stream_enabled == Some(true) && s.stream_view_type.is_none() {
                return Err(invalid(
                    "StreamViewType is required when StreamEnabled is true",
                ));
            }
        }

        let id = uuid::Uuid::new_v4().to_string();
        let keyspace = format!("t.{}", id.replace('-', ""));
        let stream = input
            .stream_specification
            .clone()
            .filter(|s| s.stream_enabled == Some(true));
        let (label, stream_arn) = match &stream {
            Some(_) => {
                let label = format_label(now);
                let sarn = format!("{arn}/stream/{label}");
                (Some(label), Some(sarn))
            }
            None => (None, None),
        };
        let desc = TableDescription {
            table_name: name.clone(),
            table_id: id.clone(),
            table_arn: arn.clone(),
            table_status: "CREATING".into(),
            creation_date_time: now,
            key_schema,
            attribute_definitions: defs,
            provisioned_throughput: ProvisionedThroughputDescription {
                number_of_decreases_today: 0,
                read_capacity_units: throughput.0,
                write_capacity_units: throughput.1,
                ..Default::default()
            },
            billing_mode_summary: (!provisioned).then(|| BillingModeSummary {
                billing_mode: billing.clone(),
                last_update_to_pay_per_request_date_time: Some(now),
            }),
            item_count: 0,
            table_size_bytes: 0,
            global_secondary_indexes: (!gsis.is_empty()).then_some(gsis),
            local_secondary_indexes: (!lsis.is_empty()).then_some(lsis),
            stream_specification: stream,
            latest_stream_label: label,
            latest_stream_arn: stream_arn,
            sse_description: sse_description(&input.sse_specification, &self.config),
            table_class_summary: input
                .table_class
                .clone()
                .map(|c| TableClassSummary { table_class: c }),
            deletion_protection_enabled: input.deletion_protection_enabled.unwrap_or(false),
            restore_summary: restore.as_ref().and_then(|r| r.0.clone()),
        };
        let meta = TableMeta {
            name: name.clone(),
            keyspace: keyspace.clone(),
            schema,
            encoding: KEY_ENCODING_VERSION,
            desc,
            tags: input.tags.clone().unwrap_or_default(),
            updated_at: None,
            ttl: None,
            ttl_changed_at: None,
            ttl_disabled_attr: None,
            streams: Vec::new(),
            pitr: None,
            restore_source: restore.map(|r| r.1),
            version: 0,
        };

        // 3. Commit: the keyspace first (a crash before the catalog entry leaves an orphan
        // that the next start drops), then the catalog entry, atomically checked for a
        // concurrent create of the same name.
        let mut meta = meta;
        if let (Some(arn), Some(label)) =
            (&meta.desc.latest_stream_arn, &meta.desc.latest_stream_label)
        {
            meta.streams.push(crate::streams::StreamInfo {
                arn: arn.clone(),
                label: label.clone(),
                view_type: meta
                    .desc
                    .stream_specification
                    .as_ref()
                    .and_then(|s| s.stream_view_type.clone())
                    .unwrap_or_default(),
                created: meta.desc.creation_date_time,
                disabled_at: None,
            });
            self.store
                .backend()
                .create_keyspace(&crate::streams::keyspace_of(&keyspace))
                .map_err(storage_error)?;
        }
        self.store
            .backend()
            .create_keyspace(&keyspace)
            .map_err(storage_error)?;
        for idx in meta.indexes() {
            self.store
                .backend()
                .create_keyspace(&idx.keyspace)
                .map_err(storage_error)?;
        }
        let bytes = catalog::encode(&meta).map_err(storage_error)?;
        let key = name.clone().into_bytes();
        let shared = self.cluster.is_some();
        let result = self
            .store
            .transact(move |tx| {
                if tx.get(CATALOG, &key)?.is_some() {
                    return Err(TxError(ApiError::ResourceInUse(format!(
                        "Table already exists: {}",
                        String::from_utf8_lossy(&key)
                    ))));
                }
                tx.put(CATALOG, key.clone(), bytes.clone());
                match shared {
                    true => Ok(Some(crate::cluster::bump_catalog(tx)?)),
                    false => Ok(None),
                }
            })
            .await;
        let version = match result {
            Ok(v) => v,
            Err(TxError(e)) => {
                // With shared storage the name may belong to another server's table
                // (created meanwhile), whose keyspaces have other names: only ours go.
                let _ = self.store.backend().drop_keyspace(&keyspace);
                for idx in meta.indexes() {
                    let _ = self.store.backend().drop_keyspace(&idx.keyspace);
                }
                return Err(e);
            }
        };
        let meta = Arc::new(meta);
        if let Ok(mut t) = self.tables.write() {
            t.insert(name, meta.clone());
            self.catalog_committed(version);
        }
        let mut d = meta.desc.clone();
        d.table_status = "CREATING".into();
        Ok(TableDescriptionOutput {
            table_description: d,
        })
    }

    pub async fn describe_table(&self, input: TableNameInput) -> Result<TableOutput, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        v.into_result()?;
        let meta = self.table_for_admin(input.table_name.as_deref().unwrap_or_default())?;
        Ok(TableOutput {
            table: self.describe(&meta)?,
        })
    }

    pub async fn list_tables(&self, input: ListTablesInput) -> Result<ListTablesOutput, ApiError> {
        let mut v = Violations::new();
        v.min(input.limit, "limit", 1);
        v.max(input.limit, "limit", 100);
        if let Some(s) = &input.exclusive_start_table_name {
            v.new_name(s, "exclusiveStartTableName", 255);
        }
        v.into_result()?;
        let limit = usize::try_from(input.limit.unwrap_or(100)).unwrap_or(100);
        self.refresh_catalog(true);
        let mut names: Vec<String> = self
            .tables
            .read()
            .map_err(|_| ApiError::InternalServerError("catalog lock poisoned".into()))?
            .keys()
            .filter(|n| {
                input
                    .exclusive_start_table_name
                    .as_ref()
                    .is_none_or(|s| n.as_str() > s.as_str())
            })
            .cloned()
            .collect();
        names.sort();
        let more = names.len() > limit;
        names.truncate(limit);
        let last = if more { names.last().cloned() } else { None };
        Ok(ListTablesOutput {
            table_names: names,
            last_evaluated_table_name: last,
        })
    }

    pub async fn update_table(
        &self,
        input: UpdateTableInput,
    ) -> Result<TableDescriptionOutput, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        v.enumeration(input.billing_mode.as_deref(), "billingMode", BILLING_MODES);
        check_throughput(
            &mut v,
            &input.provisioned_throughput,
            "provisionedThroughput",
        );
        v.enumeration(input.table_class.as_deref(), "tableClass", TABLE_CLASSES);
        if let Some(s) = &input.stream_specification {
            v.enumeration(
                s.stream_view_type.as_deref(),
                "streamSpecification.streamViewType",
                VIEW_TYPES,
            );
        }
        v.into_result()?;
        if input.provisioned_throughput.is_none()
            && input.billing_mode.is_none()
            && input.stream_specification.is_none()
            && input.global_secondary_index_updates.is_none()
            && input.sse_specification.is_none()
            && input.replica_updates.is_none()
            && input.table_class.is_none()
            && input.deletion_protection_enabled.is_none()
        {
            return Err(ApiError::validation(
                "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
            ));
        }
        let name = input.table_name.clone().unwrap_or_default();
        let meta = self.table_for_admin(&name)?;
        if input.replica_updates.is_some() {
            return Err(ApiError::validation(
                "ReplicaUpdates: global tables have no local meaning in Ferrodyn",
            ));
        }
        let now = self.clock.now();
        let mut m = (*meta).clone();
        let d = &mut m.desc;
        let current = d
            .billing_mode_summary
            .as_ref()
            .map(|b| b.billing_mode.clone())
            .unwrap_or_else(|| "PROVISIONED".into());
        let target = input
            .billing_mode
            .clone()
            .unwrap_or_else(|| current.clone());
        match (target.as_str(), &input.provisioned_throughput) {
            ("PAY_PER_REQUEST", Some(_)) => {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ))
            }
            ("PAY_PER_REQUEST", None) => {
                if current != "PAY_PER_REQUEST" {
                    d.billing_mode_summary = Some(BillingModeSummary {
                        billing_mode: "PAY_PER_REQUEST".into(),
                        last_update_to_pay_per_request_date_time: Some(now),
                    });
                    d.provisioned_throughput.read_capacity_units = 0;
                    d.provisioned_throughput.write_capacity_units = 0;
                    for g in d.global_secondary_indexes.iter_mut().flatten() {
                        g.provisioned_throughput.read_capacity_units = 0;
                        g.provisioned_throughput.write_capacity_units = 0;
                    }
                }
            }
            (_, None) => {
                if current == "PAY_PER_REQUEST" {
                    return Err(invalid("ProvisionedThroughput must be specified when BillingMode is PROVISIONED"));
                }
            }
            (_, Some(t)) => {
                let (r, w) = (t.read_capacity_units.unwrap_or(0), t.write_capacity_units.unwrap_or(0));
                let pt = &mut d.provisioned_throughput;
                if current == "PROVISIONED" && pt.read_capacity_units == r && pt.write_capacity_units == w {
                    return Err(ApiError::validation(format!(
                        "The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {}. Requested ReadCapacityUnits: {r}. Current WriteCapacityUnits provisioned for the table: {}. Requested WriteCapacityUnits: {w}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
                        pt.read_capacity_units, pt.write_capacity_units
                    )));
                }
                if current == "PROVISIONED" {
                    if r > pt.read_capacity_units || w > pt.write_capacity_units {
                        pt.last_increase_date_time = Some(now);
                    }
                    if r < pt.read_capacity_units || w < pt.write_capacity_units {
                        pt.last_decrease_date_time = Some(now);
                        pt.number_of_decreases_today += 1;
                    }
                }
                pt.read_capacity_units = r;
                pt.write_capacity_units = w;
                if current == "PAY_PER_REQUEST" {
                    d.billing_mode_summary = Some(BillingModeSummary {
                        billing_mode: "PROVISIONED".into(),
                        last_update_to_pay_per_request_date_time: d
                            .billing_mode_summary
                            .as_ref()
                            .and_then(|b| b.last_update_to_pay_per_request_date_time),
                    });
                }
            }
        }
        let mut new_stream = None;
        let mut stream_disabled = false;
        if let Some(s) = &input.stream_specification {
            let enabled = s.stream_enabled == Some(true);
            let was = d
                .stream_specification
                .as_ref()
                .is_some_and(|x| x.stream_enabled == Some(true));
            match (was, enabled) {
                (true, true) => {
                    return Err(ApiError::validation(format!(
                        "Table already has an enabled stream: TableName: {}",
                        d.table_name
                    )))
                }
                (false, false) => {
                    return Err(ApiError::validation(format!(
                        "Table has no stream to disable: TableName: {}",
                        d.table_name
                    )));
                }
                (false, true) => {
                    if s.stream_view_type.is_none() {
                        return Err(invalid(
                            "StreamViewType is required when StreamEnabled is true",
                        ));
                    }
                    let label = format_label(now);
                    let arn = format!("{}/stream/{label}", d.table_arn);
                    d.latest_stream_arn = Some(arn.clone());
                    d.latest_stream_label = Some(label.clone());
                    d.stream_specification = Some(s.clone());
                    new_stream = Some(crate::streams::StreamInfo {
                        arn,
                        label,
                        view_type: s.stream_view_type.clone().unwrap_or_default(),
                        created: now,
                        disabled_at: None,
                    });
                }
                (true, false) => {
                    // DynamoDB omits StreamSpecification once the stream is disabled and
                    // keeps LatestStreamArn / LatestStreamLabel.
                    d.stream_specification = None;
                    stream_disabled = true;
                }
            }
        }
        if let Some(sse) = &input.sse_specification {
            d.sse_description = sse_description(&Some(sse.clone()), &self.config);
        }
        let (created, deleted) = gsi_updates(&input, d)?;
        if let Some(c) = &input.table_class {
            d.table_class_summary = Some(TableClassSummary {
                table_class: c.clone(),
            });
        }
        if let Some(p) = input.deletion_protection_enabled {
            d.deletion_protection_enabled = p;
        }
        m.updated_at = Some(now);
        if stream_disabled {
            if let Some(last) = m.streams.last_mut() {
                last.disabled_at = Some(now);
            }
        }
        if let Some(st) = new_stream {
            self.store
                .backend()
                .create_keyspace(&crate::streams::keyspace_of(&m.keyspace))
                .map_err(storage_error)?;
            m.streams.push(st);
        }
        // New index keyspaces exist before any write can target them; dropped ones go
        // after the catalog no longer names them.
        for idx in m.indexes().iter().filter(|i| created.contains(&i.name)) {
            self.store
                .backend()
                .create_keyspace(&idx.keyspace)
                .map_err(storage_error)?;
        }
        let gone: Vec<crate::index::IndexDef> = meta
            .indexes()
            .into_iter()
            .filter(|i| deleted.contains(&i.name))
            .collect();
        let out = self.replace_meta(&meta, m).await?;
        for idx in gone {
            if let Err(e) = self.store.backend().drop_keyspace(&idx.keyspace) {
                tracing::warn!(error = %e, keyspace = %idx.keyspace, "could not drop index keyspace");
            }
            let id = idx.stats_id.clone();
            let server = self.server_id();
            let _ = self
                .store
                .transact(move |tx| {
                    Stats::clear(tx, &id, server.as_deref())?;
                    Ok::<(), TxError>(())
                })
                .await;
        }
        for index in created {
            self.start_backfill(name.clone(), index).await;
        }
        let mut d = self.describe(&out)?;
        d.table_status = "UPDATING".into();
        Ok(TableDescriptionOutput {
            table_description: d,
        })
    }

    /// Swap a table's metadata, unless the table was deleted or changed meanwhile.
    pub(crate) async fn replace_meta(
        &self,
        old: &Arc<TableMeta>,
        mut new: TableMeta,
    ) -> Result<Arc<TableMeta>, ApiError> {
        // Shared storage: the change applies to the version it was computed from, or not at
        // all (another server changed the table meanwhile).
        let shared = self.cluster.is_some();
        if shared {
            new.version = old.version + 1;
        }
        let bytes = catalog::encode(&new).map_err(storage_error)?;
        let expect_id = old.desc.table_id.clone();
        let expect_version = old.version;
        let key = new.name.clone().into_bytes();
        let version = self
            .store
            .transact(move |tx| {
                let cur = tx
                    .get(CATALOG, &key)?
                    .and_then(|c| serde_json::from_slice::<TableMeta>(&c).ok());
                let same = cur.as_ref().is_some_and(|c| c.desc.table_id == expect_id);
                if !same {
                    return Err(TxError(ApiError::ResourceNotFound(
                        "Requested resource not found".into(),
                    )));
                }
                if shared && cur.is_some_and(|c| c.version != expect_version) {
                    return Err(TxError(ApiError::ResourceInUse(format!(
                        "Attempt to change a resource which is still in use: Table is being updated: {}",
                        String::from_utf8_lossy(&key)
                    ))));
                }
                tx.put(CATALOG, key.clone(), bytes.clone());
                match shared {
                    true => Ok(Some(crate::cluster::bump_catalog(tx)?)),
                    false => Ok(None),
                }
            })
            .await
            .map_err(|TxError(e)| {
                if shared {
                    self.refresh_catalog(true);
                }
                e
            })?;
        let new = Arc::new(new);
        if let Ok(mut t) = self.tables.write() {
            t.insert(new.name.clone(), new.clone());
            self.catalog_committed(version);
        }
        Ok(new)
    }

    pub async fn delete_table(
        &self,
        input: TableNameInput,
    ) -> Result<TableDescriptionOutput, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        v.into_result()?;
        let name = input.table_name.clone().unwrap_or_default();
        let meta = self.table_for_admin(&name)?;
        if meta.desc.deletion_protection_enabled {
            return Err(ApiError::validation(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
            ));
        }
        if meta.restore_source.is_some() {
            return Err(ApiError::ResourceInUse(format!(
                "Attempt to change a resource which is still in use: Table is being restored: {name}"
            )));
        }
        let mut d = self.describe(&meta)?;
        d.table_status = "DELETING".into();
        if meta.pitr.is_some() {
            self.system_backup_before_delete(&meta).await?;
        }
        let key = name.clone().into_bytes();
        let id = meta.desc.table_id.clone();
        let server = self.server_id();
        let version = self
            .store
            .transact(move |tx| {
                let cur = tx.get(CATALOG, &key)?;
                let same = cur
                    .and_then(|c| serde_json::from_slice::<TableMeta>(&c).ok())
                    .is_some_and(|c| c.desc.table_id == id);
                if !same {
                    return Err(TxError(ApiError::ResourceNotFound(format!(
                        "Requested resource not found: Table: {} not found",
                        String::from_utf8_lossy(&key)
                    ))));
                }
                tx.delete(CATALOG, key.clone());
                Stats::clear(tx, &id, server.as_deref())?;
                match server.is_some() {
                    true => Ok(Some(crate::cluster::bump_catalog(tx)?)),
                    false => Ok(None),
                }
            })
            .await
            .map_err(|TxError(e)| e)?;
        if let Ok(mut t) = self.tables.write() {
            if t.get(&name)
                .is_some_and(|m| m.desc.table_id == meta.desc.table_id)
            {
                t.remove(&name);
            }
            self.catalog_committed(version);
        }
        self.throttle.forget(&name);
        // The catalog no longer names the keyspace; if this fails, the next start drops it.
        if let Err(e) = self.store.backend().drop_keyspace(&meta.keyspace) {
            tracing::warn!(error = %e, keyspace = %meta.keyspace, "could not drop table keyspace");
        }
        for idx in meta.indexes() {
            if let Err(e) = self.store.backend().drop_keyspace(&idx.keyspace) {
                tracing::warn!(error = %e, keyspace = %idx.keyspace, "could not drop index keyspace");
            }
        }
        if !meta.streams.is_empty() {
            let ks = crate::streams::keyspace_of(&meta.keyspace);
            if let Err(e) = self.store.backend().drop_keyspace(&ks) {
                tracing::warn!(error = %e, keyspace = %ks, "could not drop stream keyspace");
            }
        }
        if meta.ttl.is_some() {
            let ks = crate::ttl::keyspace_of(&meta.keyspace);
            if let Err(e) = self.store.backend().drop_keyspace(&ks) {
                tracing::warn!(error = %e, keyspace = %ks, "could not drop expiry keyspace");
            }
        }
        if meta.pitr.is_some() {
            let ks = crate::backup::history_keyspace(&meta.keyspace);
            if let Err(e) = self.store.backend().drop_keyspace(&ks) {
                tracing::warn!(error = %e, keyspace = %ks, "could not drop history keyspace");
            }
        }
        Ok(TableDescriptionOutput {
            table_description: d,
        })
    }
}

/// Apply UpdateTable's GlobalSecondaryIndexUpdates to a description: the names of the
/// indexes created (CREATING, to be backfilled) and deleted.
fn gsi_updates(
    input: &UpdateTableInput,
    d: &mut TableDescription,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let mut created = Vec::new();
    let mut deleted = Vec::new();
    let Some(updates) = &input.global_secondary_index_updates else {
        return Ok((created, deleted));
    };
    let mut defs = d.attribute_definitions.clone();
    for a in input.attribute_definitions.iter().flatten() {
        if !defs.iter().any(|x| x.attribute_name == a.attribute_name) {
            defs.push(a.clone());
        }
    }
    let provisioned = d
        .billing_mode_summary
        .as_ref()
        .is_none_or(|b| b.billing_mode != "PAY_PER_REQUEST");
    let arn = d.table_arn.clone();
    for u in updates {
        match (&u.create, &u.delete, &u.update) {
            (Some(g), None, None) => {
                let iname = g.index_name.clone().unwrap_or_default();
                let exists = d
                    .global_secondary_indexes
                    .iter()
                    .flatten()
                    .any(|x| x.index_name == iname)
                    || d.local_secondary_indexes
                        .iter()
                        .flatten()
                        .any(|x| x.index_name == iname);
                if exists {
                    return Err(invalid(format!(
                        "Attempting to create an index which already exists: {iname}"
                    )));
                }
                let ks = g.key_schema.clone().unwrap_or_default();
                let mut used = HashSet::new();
                resolve_gsi_schema(&ks, &defs, &mut used)?;
                let projection = check_projection(&g.projection, &iname)?;
                let (r, w) = match (&g.provisioned_throughput, provisioned) {
                    (Some(t), true) => (
                        t.read_capacity_units.unwrap_or(0),
                        t.write_capacity_units.unwrap_or(0),
                    ),
                    (None, true) => {
                        return Err(invalid(format!(
                            "ProvisionedThroughput is not specified for index: {iname}"
                        )))
                    }
                    (_, false) => (0, 0),
                };
                let list = d.global_secondary_indexes.get_or_insert_with(Vec::new);
                if list.len() >= 20 {
                    return Err(invalid(
                        "GlobalSecondaryIndex count exceeds the per-table limit of 20",
                    ));
                }
                for k in &ks {
                    let name = k.attribute_name.clone();
                    if !d
                        .attribute_definitions
                        .iter()
                        .any(|x| x.attribute_name == name)
                    {
                        if let Some(def) = defs.iter().find(|x| x.attribute_name == name) {
                            d.attribute_definitions.push(def.clone());
                        }
                    }
                }
                let list = d.global_secondary_indexes.get_or_insert_with(Vec::new);
                list.push(GlobalSecondaryIndexDescription {
                    index_name: iname.clone(),
                    key_schema: ks,
                    projection,
                    index_status: "CREATING".into(),
                    backfilling: Some(true),
                    provisioned_throughput: ProvisionedThroughputDescription {
                        number_of_decreases_today: 0,
                        read_capacity_units: r,
                        write_capacity_units: w,
                        ..Default::default()
                    },
                    index_size_bytes: 0,
                    item_count: 0,
                    index_arn: format!("{arn}/index/{iname}"),
                });
                created.push(iname);
            }
            (None, Some(del), None) => {
                let iname = del.index_name.clone().unwrap_or_default();
                let list = d.global_secondary_indexes.get_or_insert_with(Vec::new);
                let Some(pos) = list.iter().position(|x| x.index_name == iname) else {
                    return Err(ApiError::ResourceNotFound(format!(
                        "Requested resource not found: Index: {iname} not found"
                    )));
                };
                list.remove(pos);
                deleted.push(iname);
            }
            (None, None, Some(g)) => {
                let iname = g.index_name.clone().unwrap_or_default();
                let Some(x) = d
                    .global_secondary_indexes
                    .iter_mut()
                    .flatten()
                    .find(|x| x.index_name == iname)
                else {
                    return Err(ApiError::ResourceNotFound(format!(
                        "Requested resource not found: Index: {iname} not found"
                    )));
                };
                if let Some(t) = &g.provisioned_throughput {
                    x.provisioned_throughput.read_capacity_units =
                        t.read_capacity_units.unwrap_or(0);
                    x.provisioned_throughput.write_capacity_units =
                        t.write_capacity_units.unwrap_or(0);
                }
            }
            _ => {
                return Err(invalid(
                    "One of Create, Update or Delete must be given in a GlobalSecondaryIndexUpdate",
                ))
            }
        }
    }
    if d.global_secondary_indexes
        .as_ref()
        .is_some_and(Vec::is_empty)
    {
        d.global_secondary_indexes = None;
    }
    Ok((created, deleted))
}

/// Tag rules and messages as recorded from DynamoDB (docs/compatibility.md): each tag's
/// key and value, the reserved `aws:` prefix, duplicates; then the count after merging
/// into `existing` (at most 50).
pub(crate) fn check_tags(tags: &[Tag], existing: &[Tag]) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for t in tags {
        check_tag_key(t.key.as_deref())?;
        let k = t.key.as_deref().unwrap_or_default();
        match t.value.as_deref() {
            None => {
                return Err(ApiError::validation(
                    "The Tag Value provided is invalid, Value: null",
                ))
            }
            Some(v) if v.chars().count() > 256 || !v.chars().all(tag_char) => {
                return Err(ApiError::validation(format!(
                    "The Tag Value provided is invalid, Value: {v}"
                )))
            }
            Some(_) => {}
        }
        if !seen.insert(k) {
            return Err(ApiError::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {k}"
            )));
        }
    }
    let merged = existing
        .iter()
        .filter(|e| !tags.iter().any(|t| t.key == e.key))
        .count()
        + tags.len();
    if merged > 50 {
        return Err(ApiError::validation(
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ));
    }
    Ok(())
}

/// A tag key: 1 to 128 allowed characters, not starting with `aws:` in any case.
pub(crate) fn check_tag_key(key: Option<&str>) -> Result<(), ApiError> {
    let Some(k) = key else {
        return Err(ApiError::validation(
            "The Tag Key provided is invalid, Key: null",
        ));
    };
    let n = k.chars().count();
    if n == 0 || n > 128 || !k.chars().all(tag_char) {
        return Err(ApiError::validation(format!(
            "The Tag Key provided is invalid, Key: {k}"
        )));
    }
    if k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Err(ApiError::validation(format!(
            "Tag Key cannot be prefixed with aws:, Key: {k}"
        )));
    }
    Ok(())
}

/// Letters and numbers of any script, spaces, and `_ . : / = + - @`.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

fn sse_description(
    s: &Option<SseSpecification>,
    c: &crate::EngineConfig,
) -> Option<SseDescription> {
    let s = s.as_ref().filter(|s| s.enabled == Some(true))?;
    let key = s
        .kms_master_key_id
        .clone()
        .unwrap_or_else(|| "alias/aws/dynamodb".into());
    let arn = if key.starts_with("arn:") {
        key
    } else {
        format!(
            "arn:aws:kms:{}:{}:key/{}",
            c.region,
            c.account_id,
            key.trim_start_matches("alias/")
        )
    };
    Some(SseDescription {
        status: "ENABLED".into(),
        sse_type: "KMS".into(),
        kms_master_key_arn: arn,
    })
}

/// A stream label: the creation time as DynamoDB formats it (ISO 8601, milliseconds).
/// `2026-10-06T23:16:32Z`: the form DynamoDB's messages print times in.
pub(crate) fn iso_seconds(t: f64) -> String {
    let mut s = format_label(t);
    s.truncate(19);
    s.push('Z');
    s
}

fn format_label(now: f64) -> String {
    let ms = (now * 1000.0) as i64;
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(format_label(0.0), "1970-01-01T00:00:00.000");
        assert_eq!(format_label(1_700_000_000.123), "2023-11-14T22:13:20.123");
    }
}
