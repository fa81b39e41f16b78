//! ACL vocabulary shared by the admin calls: the operations a principal
//! may perform on a resource, as Kafka numbers them (also the bits of the
//! "authorized operations" sets that Metadata and DescribeGroups report).

use std::fmt;

/// An operation on a Kafka resource (Kafka's AclOperation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AclOperation {
    /// Matches any operation (filters only).
    Any,
    /// Every operation.
    All,
    /// Read.
    Read,
    /// Write.
    Write,
    /// Create.
    Create,
    /// Delete.
    Delete,
    /// Alter.
    Alter,
    /// Describe.
    Describe,
    /// Inter-broker actions.
    ClusterAction,
    /// Describe configs.
    DescribeConfigs,
    /// Alter configs.
    AlterConfigs,
    /// Idempotent produce.
    IdempotentWrite,
    /// Create delegation tokens.
    CreateTokens,
    /// Describe delegation tokens.
    DescribeTokens,
}

const ALL_OPS: [(AclOperation, i8, &str); 14] = [
    (AclOperation::Any, 1, "ANY"),
    (AclOperation::All, 2, "ALL"),
    (AclOperation::Read, 3, "READ"),
    (AclOperation::Write, 4, "WRITE"),
    (AclOperation::Create, 5, "CREATE"),
    (AclOperation::Delete, 6, "DELETE"),
    (AclOperation::Alter, 7, "ALTER"),
    (AclOperation::Describe, 8, "DESCRIBE"),
    (AclOperation::ClusterAction, 9, "CLUSTER_ACTION"),
    (AclOperation::DescribeConfigs, 10, "DESCRIBE_CONFIGS"),
    (AclOperation::AlterConfigs, 11, "ALTER_CONFIGS"),
    (AclOperation::IdempotentWrite, 12, "IDEMPOTENT_WRITE"),
    (AclOperation::CreateTokens, 13, "CREATE_TOKENS"),
    (AclOperation::DescribeTokens, 14, "DESCRIBE_TOKENS"),
];

impl AclOperation {
    /// The wire code.
    pub fn code(self) -> i8 {
        ALL_OPS
            .iter()
            .find(|(o, _, _)| *o == self)
            .map_or(0, |x| x.1)
    }
    /// The operation for a wire code.
    pub fn from_code(c: i8) -> Option<AclOperation> {
        ALL_OPS.iter().find(|x| x.1 == c).map(|x| x.0)
    }
    /// Kafka's name (`READ`, `DESCRIBE_CONFIGS`, ...).
    pub fn name(self) -> &'static str {
        ALL_OPS
            .iter()
            .find(|(o, _, _)| *o == self)
            .map_or("UNKNOWN", |x| x.2)
    }
    /// Parses Kafka's name, case-insensitively (`-` or `_` between words).
    pub fn parse(s: &str) -> Option<AclOperation> {
        let s = s.replace('-', "_");
        ALL_OPS
            .iter()
            .find(|x| x.2.eq_ignore_ascii_case(&s))
            .map(|x| x.0)
    }
    /// The operations in an authorized-operations bit set; `None` for
    /// Kafka's "not provided" value (`i32::MIN`).
    pub(crate) fn from_bits(bits: i32) -> Option<Vec<AclOperation>> {
        if bits == i32::MIN {
            return None;
        }
        Some(
            ALL_OPS
                .iter()
                .filter(|(_, c, _)| bits & (1 << c) != 0)
                .map(|x| x.0)
                .collect(),
        )
    }
}

impl fmt::Display for AclOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorized_operation_bits_decode() {
        assert_eq!(AclOperation::from_bits(i32::MIN), None);
        let ops = AclOperation::from_bits((1 << 3) | (1 << 8)).unwrap();
        assert_eq!(ops, vec![AclOperation::Read, AclOperation::Describe]);
        assert_eq!(
            AclOperation::parse("describe-configs"),
            Some(AclOperation::DescribeConfigs)
        );
        assert_eq!(AclOperation::Write.code(), 4);
    }
}
