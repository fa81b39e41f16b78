//! ACLs: the vocabulary (operations, resource and pattern types,
//! permissions, as Kafka numbers them; operations are also the bits of the
//! "authorized operations" sets Metadata and DescribeGroups report) and
//! CreateAcls, DescribeAcls and DeleteAcls, sent to any broker (Kafka
//! forwards them to the authorizer).

use super::{resource_error, resource_result, AdminClient, AdminOptions};
use crate::error::{Error, ErrorCode, Result};
use kafka_protocol::messages::{
    create_acls_request, delete_acls_request, CreateAclsRequest, DeleteAclsRequest,
    DescribeAclsRequest,
};
use kafka_protocol::protocol::StrBytes;
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

/// Defines a small Kafka enum with its wire codes and names.
macro_rules! kafka_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $code:literal, $text:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name { $($(#[$vm])* $v,)* }
        impl $name {
            /// The wire code.
            pub fn code(self) -> i8 { match self { $($name::$v => $code,)* } }
            /// The value for a wire code.
            pub fn from_code(c: i8) -> Option<$name> { match c { $($code => Some($name::$v),)* _ => None } }
            /// Kafka's name.
            pub fn name(self) -> &'static str { match self { $($name::$v => $text,)* } }
            /// Parses Kafka's name, case-insensitively (`-` or `_` between words).
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.replace('-', "_");
                [$($name::$v,)*].into_iter().find(|v| v.name().eq_ignore_ascii_case(&s))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
        }
    };
}

kafka_enum! {
    /// The kind of resource an ACL applies to.
    AclResourceType {
        /// Any resource type (filters only).
        Any = 1, "ANY";
        /// A topic.
        Topic = 2, "TOPIC";
        /// A consumer group.
        Group = 3, "GROUP";
        /// The cluster (named `kafka-cluster`).
        Cluster = 4, "CLUSTER";
        /// A transactional id.
        TransactionalId = 5, "TRANSACTIONAL_ID";
        /// A delegation token.
        DelegationToken = 6, "DELEGATION_TOKEN";
        /// A user.
        User = 7, "USER";
    }
}

kafka_enum! {
    /// How an ACL's resource name matches.
    PatternType {
        /// Any pattern type (filters only).
        Any = 1, "ANY";
        /// Filters only: literal names equal to the filter's, the `*`
        /// wildcard, and prefixes of it.
        Match = 2, "MATCH";
        /// The name exactly (or `*` for every resource).
        Literal = 3, "LITERAL";
        /// Every name starting with this one.
        Prefixed = 4, "PREFIXED";
    }
}

kafka_enum! {
    /// Whether an ACL allows or denies.
    AclPermission {
        /// Any permission (filters only).
        Any = 1, "ANY";
        /// Denies the operation.
        Deny = 2, "DENY";
        /// Allows the operation.
        Allow = 3, "ALLOW";
    }
}

/// One ACL: `principal` from `host` may (or may not) perform `operation`
/// on the resources `resource_type`/`name`/`pattern` selects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    /// The resource type.
    pub resource_type: AclResourceType,
    /// The resource name (`*` for all; `kafka-cluster` for the cluster).
    pub name: String,
    /// How the name matches.
    pub pattern: PatternType,
    /// The principal, `Type:name` (e.g. `User:alice`).
    pub principal: String,
    /// The host, `*` for any.
    pub host: String,
    /// The operation.
    pub operation: AclOperation,
    /// Allow or deny.
    pub permission: AclPermission,
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} on {}:{}:{} from {}",
            self.principal,
            self.permission,
            self.operation,
            self.resource_type,
            self.pattern,
            self.name,
            self.host
        )
    }
}

/// Selects ACLs to describe or delete; `None` and the `Any` values match
/// everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    /// The resource type.
    pub resource_type: AclResourceType,
    /// The resource name.
    pub name: Option<String>,
    /// The pattern type (`Match` to find every ACL that applies to `name`).
    pub pattern: PatternType,
    /// The principal.
    pub principal: Option<String>,
    /// The host.
    pub host: Option<String>,
    /// The operation.
    pub operation: AclOperation,
    /// The permission.
    pub permission: AclPermission,
}

impl AclBindingFilter {
    /// Matches every ACL.
    pub fn any() -> AclBindingFilter {
        AclBindingFilter {
            resource_type: AclResourceType::Any,
            name: None,
            pattern: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermission::Any,
        }
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A binding read from a response; unknown codes are a malformed answer.
fn binding(
    rt: i8,
    name: &str,
    pattern: i8,
    principal: &str,
    host: &str,
    op: i8,
    perm: i8,
) -> Result<AclBinding> {
    let bad = |what: &str, c: i8| {
        Error::new(
            ErrorCode::BadMsg,
            format!("ACL with an unknown {what} code {c} in the broker's response"),
        )
    };
    Ok(AclBinding {
        resource_type: AclResourceType::from_code(rt).ok_or_else(|| bad("resource type", rt))?,
        name: name.to_string(),
        pattern: PatternType::from_code(pattern).ok_or_else(|| bad("pattern type", pattern))?,
        principal: principal.to_string(),
        host: host.to_string(),
        operation: AclOperation::from_code(op).ok_or_else(|| bad("operation", op))?,
        permission: AclPermission::from_code(perm).ok_or_else(|| bad("permission", perm))?,
    })
}

impl AdminClient {
    /// Creates ACLs. Per binding: `Ok(())` or the broker's error
    /// (`InvalidRequest` for a bad binding, `SecurityDisabled` on a
    /// cluster without an authorizer).
    pub async fn create_acls(
        &self,
        acls: &[AclBinding],
        opts: &AdminOptions,
    ) -> Result<Vec<(AclBinding, Result<()>)>> {
        if acls.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "create ACLs: no bindings given",
            ));
        }
        let build = |_v: i16| {
            let mut req = CreateAclsRequest::default();
            req.creations = acls
                .iter()
                .map(|a| {
                    let mut c = create_acls_request::AclCreation::default();
                    c.resource_type = a.resource_type.code();
                    c.resource_name = sb(&a.name);
                    c.resource_pattern_type = a.pattern.code();
                    c.principal = sb(&a.principal);
                    c.host = sb(&a.host);
                    c.operation = a.operation.code();
                    c.permission_type = a.permission.code();
                    c
                })
                .collect();
            Ok(req)
        };
        let (_, r) = self.call_any(opts.deadline(), build).await?;
        if r.results.len() != acls.len() {
            return Err(Error::new(
                ErrorCode::BadMsg,
                format!(
                    "CreateAcls: {} results for {} bindings",
                    r.results.len(),
                    acls.len()
                ),
            ));
        }
        Ok(acls
            .iter()
            .zip(r.results)
            .map(|(a, x)| {
                let what = format!("create ACL {a}");
                (
                    a.clone(),
                    resource_result(x.error_code, x.error_message.as_deref(), &what, ()),
                )
            })
            .collect())
    }

    /// [`AdminClient::create_acls`] for synchronous code.
    pub fn create_acls_blocking(
        &self,
        acls: &[AclBinding],
        opts: &AdminOptions,
    ) -> Result<Vec<(AclBinding, Result<()>)>> {
        let (acls, opts) = (acls.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.create_acls(&acls, &opts).await })
    }

    /// The ACLs `filter` selects, sorted.
    pub async fn describe_acls(
        &self,
        filter: &AclBindingFilter,
        opts: &AdminOptions,
    ) -> Result<Vec<AclBinding>> {
        let build = |_v: i16| {
            let mut req = DescribeAclsRequest::default();
            req.resource_type_filter = filter.resource_type.code();
            req.resource_name_filter = filter.name.as_deref().map(sb);
            req.pattern_type_filter = filter.pattern.code();
            req.principal_filter = filter.principal.as_deref().map(sb);
            req.host_filter = filter.host.as_deref().map(sb);
            req.operation = filter.operation.code();
            req.permission_type = filter.permission.code();
            Ok(req)
        };
        let (_, r) = self.call_any(opts.deadline(), build).await?;
        if let Some(e) = resource_error(r.error_code, r.error_message.as_deref(), "describe ACLs") {
            return Err(e);
        }
        let mut out = Vec::new();
        for res in &r.resources {
            for a in &res.acls {
                out.push(binding(
                    res.resource_type,
                    &res.resource_name,
                    res.pattern_type,
                    &a.principal,
                    &a.host,
                    a.operation,
                    a.permission_type,
                )?);
            }
        }
        out.sort();
        Ok(out)
    }

    /// [`AdminClient::describe_acls`] for synchronous code.
    pub fn describe_acls_blocking(
        &self,
        filter: &AclBindingFilter,
        opts: &AdminOptions,
    ) -> Result<Vec<AclBinding>> {
        let (filter, opts) = (filter.clone(), opts.clone());
        self.blocking(move |a| async move { a.describe_acls(&filter, &opts).await })
    }

    /// Deletes the ACLs each filter selects. Per filter: the deleted
    /// bindings, or the broker's error.
    pub async fn delete_acls(
        &self,
        filters: &[AclBindingFilter],
        opts: &AdminOptions,
    ) -> Result<Vec<(AclBindingFilter, Result<Vec<AclBinding>>)>> {
        if filters.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "delete ACLs: no filters given",
            ));
        }
        let build = |_v: i16| {
            let mut req = DeleteAclsRequest::default();
            req.filters = filters
                .iter()
                .map(|f| {
                    let mut d = delete_acls_request::DeleteAclsFilter::default();
                    d.resource_type_filter = f.resource_type.code();
                    d.resource_name_filter = f.name.as_deref().map(sb);
                    d.pattern_type_filter = f.pattern.code();
                    d.principal_filter = f.principal.as_deref().map(sb);
                    d.host_filter = f.host.as_deref().map(sb);
                    d.operation = f.operation.code();
                    d.permission_type = f.permission.code();
                    d
                })
                .collect();
            Ok(req)
        };
        let (_, r) = self.call_any(opts.deadline(), build).await?;
        if r.filter_results.len() != filters.len() {
            return Err(Error::new(
                ErrorCode::BadMsg,
                format!(
                    "DeleteAcls: {} results for {} filters",
                    r.filter_results.len(),
                    filters.len()
                ),
            ));
        }
        let mut out = Vec::new();
        for (f, x) in filters.iter().zip(r.filter_results) {
            let res = match resource_error(x.error_code, x.error_message.as_deref(), "delete ACLs")
            {
                Some(e) => Err(e),
                None => x
                    .matching_acls
                    .iter()
                    .map(|m| {
                        binding(
                            m.resource_type,
                            &m.resource_name,
                            m.pattern_type,
                            &m.principal,
                            &m.host,
                            m.operation,
                            m.permission_type,
                        )
                    })
                    .collect::<Result<Vec<_>>>(),
            };
            out.push((f.clone(), res));
        }
        Ok(out)
    }

    /// [`AdminClient::delete_acls`] for synchronous code.
    pub fn delete_acls_blocking(
        &self,
        filters: &[AclBindingFilter],
        opts: &AdminOptions,
    ) -> Result<Vec<(AclBindingFilter, Result<Vec<AclBinding>>)>> {
        let (filters, opts) = (filters.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.delete_acls(&filters, &opts).await })
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
