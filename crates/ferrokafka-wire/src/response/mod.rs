//! Response schemas: what the client decodes with `kafka-protocol`, one
//! file per family of APIs. A family is also a fuzz target's unit
//! (`fuzz/fuzz_targets/response_<family>.rs`).

use crate::walker::{ALL, F, K::*};
use kafka_protocol::messages::ApiKey;

mod admin;
mod connection;
mod data;
mod group;
mod txn;

/// A partition's index and error code (shared by offset deletion and the
/// transaction responses).
const R_PARTITION_ERROR: &[F] = &[F(0, ALL, Fixed(6))];

/// A family of response APIs, grouped by the client layer that reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Produce, Fetch, ListOffsets, Metadata, OffsetForLeaderEpoch.
    Data,
    /// ApiVersions and the SASL exchange.
    Connection,
    /// Coordinator lookup, group membership, offsets, group admin.
    Group,
    /// Transactions and the producer/transaction descriptions.
    Transaction,
    /// Topics, configs, ACLs, quotas, credentials and the cluster.
    Admin,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 5] = [
        Family::Data,
        Family::Connection,
        Family::Group,
        Family::Transaction,
        Family::Admin,
    ];

    /// The family's name as fuzz targets and seed folders spell it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Data => "data",
            Family::Connection => "connection",
            Family::Group => "group",
            Family::Transaction => "transaction",
            Family::Admin => "admin",
        }
    }

    /// The family whose schemas include `key`'s response.
    pub fn of(key: ApiKey) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.schema(key).is_some())
    }

    fn schema(self, key: ApiKey) -> Option<&'static [F]> {
        match self {
            Family::Data => data::schema(key),
            Family::Connection => connection::schema(key),
            Family::Group => group::schema(key),
            Family::Transaction => txn::schema(key),
            Family::Admin => admin::schema(key),
        }
    }
}

/// The schema of a response body; APIs without arrays map to
/// [`NO_ARRAYS`](crate::NO_ARRAYS). Every API the client decodes with
/// `kafka-protocol` must be here: [`check_response`](crate::check_response)
/// refuses the others.
pub fn response_schema(key: ApiKey) -> Option<&'static [F]> {
    Family::ALL.into_iter().find_map(|f| f.schema(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_response_schema_belongs_to_exactly_one_family() {
        let mut with_schema = 0;
        for key in (0..i16::MAX).map_while(|i| (i < 200).then_some(i)) {
            let Ok(key) = ApiKey::try_from(key) else {
                continue;
            };
            let n = Family::ALL
                .into_iter()
                .filter(|f| f.schema(key).is_some())
                .count();
            assert!(n <= 1, "{key:?} is in {n} families");
            if n == 1 {
                with_schema += 1;
                assert!(Family::of(key).is_some());
            }
        }
        assert!(
            with_schema > 40,
            "only {with_schema} APIs have a response schema"
        );
        assert_eq!(Family::of(ApiKey::Vote), None);
    }
}
