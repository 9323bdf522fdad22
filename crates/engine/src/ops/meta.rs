//! DescribeEndpoints and DescribeLimits: answers that describe the server itself.

use serde::Serialize;

use crate::Engine;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    pub address: String,
    pub cache_period_in_minutes: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeEndpointsOutput {
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLimitsOutput {
    pub account_max_read_capacity_units: i64,
    pub account_max_write_capacity_units: i64,
    pub table_max_read_capacity_units: i64,
    pub table_max_write_capacity_units: i64,
}

impl Engine {
    /// The endpoint clients should use: the one they reached (`host` header).
    pub fn describe_endpoints(&self, host: &str) -> DescribeEndpointsOutput {
        DescribeEndpointsOutput {
            endpoints: vec![Endpoint {
                address: host.to_owned(),
                cache_period_in_minutes: 1440,
            }],
        }
    }

    /// DynamoDB's default account quotas.
    pub fn describe_limits(&self) -> DescribeLimitsOutput {
        DescribeLimitsOutput {
            account_max_read_capacity_units: 80_000,
            account_max_write_capacity_units: 80_000,
            table_max_read_capacity_units: 40_000,
            table_max_write_capacity_units: 40_000,
        }
    }
}
