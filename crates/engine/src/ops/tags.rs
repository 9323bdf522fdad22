//! TagResource, UntagResource, ListTagsOfResource (tables only).

use std::sync::Arc;

use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};

use crate::catalog::TableMeta;
use crate::Engine;

fn check_arn(v: &mut Violations, arn: &Option<String>) {
    match arn {
        None => v.not_null(arn, "resourceArn"),
        Some(a) if a.is_empty() => v.add(
            Some(a),
            "resourceArn",
            "Member must have length greater than or equal to 1",
        ),
        Some(a) if a.len() > 1283 => v.add(
            Some(a),
            "resourceArn",
            "Member must have length less than or equal to 1283",
        ),
        Some(_) => {}
    }
}

impl Engine {
    /// The table an ARN names. An ARN of another account is refused the way IAM refuses it
    /// (AccessDeniedException), as DynamoDB does; a missing table of this account is
    /// ResourceNotFoundException.
    fn table_by_arn(&self, arn: &str, action: &str) -> Result<Arc<TableMeta>, ApiError> {
        let account = arn.split(':').nth(4).unwrap_or_default();
        if arn.starts_with("arn:") && account != self.config.account_id {
            return Err(ApiError::AccessDenied(format!(
                "User: arn:aws:iam::{}:root is not authorized to perform: dynamodb:{action} on resource: {arn}",
                self.config.account_id
            )));
        }
        let name = arn
            .strip_prefix("arn:")
            .and_then(|rest| rest.split_once(":table/"))
            .map(|(_, name)| name)
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
                ))
            })?;
        self.table(name)
            .ok()
            .filter(|t| t.desc.table_arn == arn)
            .ok_or_else(|| {
                ApiError::ResourceNotFound(format!(
                    "Requested resource not found: ResourceArn: {arn} not found"
                ))
            })
    }

    pub async fn tag_resource(&self, input: TagResourceInput) -> Result<Empty, ApiError> {
        let mut v = Violations::new();
        check_arn(&mut v, &input.resource_arn);
        v.not_null(&input.tags, "tags");
        v.into_result()?;
        let tags = input.tags.unwrap_or_default();
        if tags.is_empty() {
            return Err(ApiError::validation(
                "Atleast one Tag needs to be provided as Input.",
            ));
        }
        crate::ops::table::check_tags(&tags, &[])?;
        let meta = self.table_by_arn(
            input.resource_arn.as_deref().unwrap_or_default(),
            "TagResource",
        )?;
        crate::ops::table::check_tags(&tags, &meta.tags)?;
        let mut m = (*meta).clone();
        for t in tags {
            match m.tags.iter_mut().find(|x| x.key == t.key) {
                Some(x) => x.value = t.value,
                None => m.tags.push(t),
            }
        }
        self.replace_meta(&meta, m).await?;
        Ok(Empty {})
    }

    pub async fn untag_resource(&self, input: UntagResourceInput) -> Result<Empty, ApiError> {
        let mut v = Violations::new();
        check_arn(&mut v, &input.resource_arn);
        v.not_null(&input.tag_keys, "tagKeys");
        v.into_result()?;
        let keys = input.tag_keys.clone().unwrap_or_default();
        if keys.is_empty() {
            return Err(ApiError::validation(
                "Atleast one Tag Key needs to be provided as Input.",
            ));
        }
        for k in &keys {
            crate::ops::table::check_tag_key(Some(k))?;
        }
        if keys.len() > 50 {
            return Err(ApiError::validation(
                "Number of Tags exceed the current limit for the provided ResourceArn",
            ));
        }
        let meta = self.table_by_arn(
            input.resource_arn.as_deref().unwrap_or_default(),
            "UntagResource",
        )?;
        let keys = input.tag_keys.unwrap_or_default();
        let mut m = (*meta).clone();
        m.tags
            .retain(|t| !keys.iter().any(|k| Some(k) == t.key.as_ref()));
        self.replace_meta(&meta, m).await?;
        Ok(Empty {})
    }

    pub async fn list_tags_of_resource(
        &self,
        input: ListTagsOfResourceInput,
    ) -> Result<ListTagsOfResourceOutput, ApiError> {
        let mut v = Violations::new();
        check_arn(&mut v, &input.resource_arn);
        v.into_result()?;
        let meta = self.table_by_arn(
            input.resource_arn.as_deref().unwrap_or_default(),
            "ListTagsOfResource",
        )?;
        Ok(ListTagsOfResourceOutput {
            tags: meta.tags.clone(),
            next_token: None,
        })
    }
}
