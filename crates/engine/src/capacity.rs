//! DynamoDB's capacity-unit arithmetic.
//!
//! Reads: one unit per 4 KB (rounded up) for a strongly consistent read, half that for an
//! eventually consistent one; a read of a missing item still costs the minimum. Writes: one
//! unit per 1 KB (rounded up) of the larger of the item before and after the write.

use ferrodyn_protocol::model::{Capacity, ConsumedCapacity};

pub fn read_units(size: usize, consistent: bool) -> f64 {
    let units = size.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

pub fn write_units(size: usize) -> f64 {
    size.div_ceil(1024).max(1) as f64
}

/// The ConsumedCapacity member for `mode`: TOTAL gives the table's total, INDEXES adds the
/// per-table (and later per-index) breakdown, anything else gives none.
pub fn consumed(table: &str, units: f64, mode: Option<&str>) -> Option<ConsumedCapacity> {
    let indexes = match mode {
        Some("TOTAL") => false,
        Some("INDEXES") => true,
        _ => return None,
    };
    Some(ConsumedCapacity {
        table_name: table.to_owned(),
        capacity_units: units,
        read_capacity_units: None,
        write_capacity_units: None,
        table: indexes.then_some(Capacity {
            capacity_units: units,
            read_capacity_units: None,
            write_capacity_units: None,
        }),
        global_secondary_indexes: None,
        local_secondary_indexes: None,
    })
}

/// ConsumedCapacity for a read of an index: with INDEXES, the units are the index's and
/// the table's own share is zero, as DynamoDB reports it.
pub fn consumed_index(
    table: &str,
    index: &str,
    global: bool,
    units: f64,
    mode: Option<&str>,
) -> Option<ConsumedCapacity> {
    let mut c = consumed(table, units, mode)?;
    if c.table.is_some() {
        c.table = Some(Capacity {
            capacity_units: 0.0,
            read_capacity_units: None,
            write_capacity_units: None,
        });
        let one = std::collections::HashMap::from([(
            index.to_owned(),
            Capacity {
                capacity_units: units,
                read_capacity_units: None,
                write_capacity_units: None,
            },
        )]);
        if global {
            c.global_secondary_indexes = Some(one);
        } else {
            c.local_secondary_indexes = Some(one);
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        assert_eq!(read_units(0, false), 0.5);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(9000, false), 1.5);
        assert_eq!(write_units(1), 1.0);
        assert_eq!(write_units(1024), 1.0);
        assert_eq!(write_units(1025), 2.0);
    }
}
