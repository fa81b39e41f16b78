//! ACLs: CreateAcls, DescribeAcls and DeleteAcls over a per-cluster ACL
//! store, with Kafka's validation (no ANY/UNKNOWN/MATCH in a binding, a
//! `Type:name` principal, the cluster resource named `kafka-cluster`) and
//! its filter semantics (ANY matches everything; MATCH also matches
//! wildcard literals and covering prefixes). [`allowed`] decides a check
//! by Kafka's rules; `api::authorizer` enforces them on topic operations
//! when the cluster is built with an authorizer.

use kafka_protocol::messages::{
    create_acls_response, delete_acls_response, describe_acls_response, CreateAclsRequest,
    CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DescribeAclsRequest,
    DescribeAclsResponse,
};

use super::str_bytes;
use crate::cluster::Shared;
use crate::log::code;

/// One stored ACL binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acl {
    resource_type: i8,
    name: String,
    pattern: i8,
    principal: String,
    host: String,
    operation: i8,
    permission: i8,
}

/// Codes: resource types (ANY 1, TOPIC 2, GROUP 3, CLUSTER 4,
/// TRANSACTIONAL_ID 5, DELEGATION_TOKEN 6, USER 7), pattern types (ANY 1,
/// MATCH 2, LITERAL 3, PREFIXED 4), operations (ANY 1, ALL 2 .. 14),
/// permissions (ANY 1, DENY 2, ALLOW 3).
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const CLUSTER: i8 = 4;

/// A filter as DescribeAcls and DeleteAcls carry it.
struct Filter {
    resource_type: i8,
    name: Option<String>,
    pattern: i8,
    principal: Option<String>,
    host: Option<String>,
    operation: i8,
    permission: i8,
}

impl Filter {
    fn matches(&self, a: &Acl) -> bool {
        let resource = (self.resource_type == ANY || self.resource_type == a.resource_type)
            && match (&self.name, self.pattern) {
                (None, p) => p == ANY || p == MATCH || p == a.pattern,
                (Some(n), ANY) => *n == a.name,
                (Some(n), MATCH) => match a.pattern {
                    LITERAL => *n == a.name || a.name == "*",
                    PREFIXED => n.starts_with(&a.name),
                    _ => false,
                },
                (Some(n), p) => p == a.pattern && *n == a.name,
            };
        resource
            && self.principal.as_ref().is_none_or(|p| *p == a.principal)
            && self.host.as_ref().is_none_or(|h| *h == a.host)
            && (self.operation == ANY || self.operation == a.operation)
            && (self.permission == ANY || self.permission == a.permission)
    }
}

/// Kafka's checks on a binding to create.
fn validate(a: &Acl) -> Result<(), String> {
    if !(2..=7).contains(&a.resource_type) {
        return Err(format!(
            "Invalid resource type {} in an ACL binding",
            a.resource_type
        ));
    }
    if a.pattern != LITERAL && a.pattern != PREFIXED {
        return Err(format!(
            "Invalid pattern type {}: must be LITERAL or PREFIXED",
            a.pattern
        ));
    }
    if !(2..=14).contains(&a.operation) {
        return Err(format!(
            "Invalid operation {} in an ACL binding",
            a.operation
        ));
    }
    if a.permission != 2 && a.permission != 3 {
        return Err(format!(
            "Invalid permission type {}: must be DENY or ALLOW",
            a.permission
        ));
    }
    match a.principal.split_once(':') {
        Some((t, n)) if !t.is_empty() && !n.is_empty() => {}
        _ => {
            return Err(format!(
                "Invalid principal {:?}: expected Type:name, e.g. User:alice",
                a.principal
            ))
        }
    }
    if a.resource_type == CLUSTER && a.name != "kafka-cluster" {
        return Err("The only valid name for the CLUSTER resource is kafka-cluster".into());
    }
    if a.name.is_empty() {
        return Err("Resource name must not be empty".into());
    }
    Ok(())
}

pub(crate) fn create_acls(shared: &Shared, req: CreateAclsRequest) -> CreateAclsResponse {
    let mut st = shared.state();
    let mut resp = CreateAclsResponse::default();
    for c in req.creations {
        let a = Acl {
            resource_type: c.resource_type,
            name: c.resource_name.to_string(),
            pattern: c.resource_pattern_type,
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation: c.operation,
            permission: c.permission_type,
        };
        let mut r = create_acls_response::AclCreationResult::default();
        match validate(&a) {
            Ok(()) => {
                if !st.acls.contains(&a) {
                    st.acls.push(a);
                }
            }
            Err(m) => {
                r.error_code = code::INVALID_REQUEST;
                r.error_message = Some(str_bytes(&m));
            }
        }
        resp.results.push(r);
    }
    resp
}

pub(crate) fn describe_acls(shared: &Shared, req: DescribeAclsRequest) -> DescribeAclsResponse {
    let st = shared.state();
    let f = Filter {
        resource_type: req.resource_type_filter,
        name: req.resource_name_filter.map(|s| s.to_string()),
        pattern: req.pattern_type_filter,
        principal: req.principal_filter.map(|s| s.to_string()),
        host: req.host_filter.map(|s| s.to_string()),
        operation: req.operation,
        permission: req.permission_type,
    };
    let mut resp = DescribeAclsResponse::default();
    for a in st.acls.iter().filter(|a| f.matches(a)) {
        let pos = resp.resources.iter().position(|r| {
            r.resource_type == a.resource_type
                && r.resource_name.as_str() == a.name
                && r.pattern_type == a.pattern
        });
        let i = pos.unwrap_or_else(|| {
            resp.resources.push(
                describe_acls_response::DescribeAclsResource::default()
                    .with_resource_type(a.resource_type)
                    .with_resource_name(str_bytes(&a.name))
                    .with_pattern_type(a.pattern),
            );
            resp.resources.len() - 1
        });
        resp.resources[i].acls.push(
            describe_acls_response::AclDescription::default()
                .with_principal(str_bytes(&a.principal))
                .with_host(str_bytes(&a.host))
                .with_operation(a.operation)
                .with_permission_type(a.permission),
        );
    }
    resp
}

pub(crate) fn delete_acls(shared: &Shared, req: DeleteAclsRequest) -> DeleteAclsResponse {
    let mut st = shared.state();
    let mut resp = DeleteAclsResponse::default();
    for df in req.filters {
        let f = Filter {
            resource_type: df.resource_type_filter,
            name: df.resource_name_filter.map(|s| s.to_string()),
            pattern: df.pattern_type_filter,
            principal: df.principal_filter.map(|s| s.to_string()),
            host: df.host_filter.map(|s| s.to_string()),
            operation: df.operation,
            permission: df.permission_type,
        };
        let mut r = delete_acls_response::DeleteAclsFilterResult::default();
        let (gone, kept): (Vec<Acl>, Vec<Acl>) = st.acls.drain(..).partition(|a| f.matches(a));
        st.acls = kept;
        r.matching_acls = gone
            .into_iter()
            .map(|a| {
                delete_acls_response::DeleteAclsMatchingAcl::default()
                    .with_resource_type(a.resource_type)
                    .with_resource_name(str_bytes(&a.name))
                    .with_pattern_type(a.pattern)
                    .with_principal(str_bytes(&a.principal))
                    .with_host(str_bytes(&a.host))
                    .with_operation(a.operation)
                    .with_permission_type(a.permission)
            })
            .collect();
        resp.filter_results.push(r);
    }
    resp
}

/// Operation codes the authorizer checks.
pub(crate) const READ: i8 = 3;
pub(crate) const WRITE: i8 = 4;
pub(crate) const CREATE: i8 = 5;
pub(crate) const DELETE: i8 = 6;
pub(crate) const DESCRIBE: i8 = 8;
/// The TOPIC resource type.
pub(crate) const TOPIC: i8 = 2;

/// Whether `principal` may do `op` on the resource, by Kafka's rules: a
/// matching DENY wins, else a matching ALLOW is needed; ALL matches every
/// operation; READ, WRITE, DELETE and ALTER imply DESCRIBE; `*` names
/// every resource, a PREFIXED binding every name it starts; `User:*`
/// every principal. Hosts are not checked (every connection is local).
pub(crate) fn allowed(
    acls: &[Acl],
    principal: &str,
    resource_type: i8,
    name: &str,
    op: i8,
) -> bool {
    let implied: &[i8] = match op {
        DESCRIBE => &[DESCRIBE, READ, WRITE, DELETE, 7],
        o => std::slice::from_ref(match o {
            READ => &READ,
            WRITE => &WRITE,
            CREATE => &CREATE,
            DELETE => &DELETE,
            _ => return false,
        }),
    };
    let matching = |a: &&Acl| {
        a.resource_type == resource_type
            && match a.pattern {
                LITERAL => a.name == name || a.name == "*",
                PREFIXED => name.starts_with(&a.name),
                _ => false,
            }
            && (a.principal == principal || a.principal == "User:*")
    };
    let mut allow = false;
    for a in acls.iter().filter(matching) {
        let deny_covers = a.operation == 2 || a.operation == op;
        if a.permission == 2 && deny_covers {
            return false;
        }
        if a.permission == 3 && (a.operation == 2 || implied.contains(&a.operation)) {
            allow = true;
        }
    }
    allow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(name: &str, pattern: i8) -> Acl {
        Acl {
            resource_type: 2,
            name: name.into(),
            pattern,
            principal: "User:a".into(),
            host: "*".into(),
            operation: 3,
            permission: 3,
        }
    }

    #[test]
    fn match_filters_cover_wildcards_and_prefixes() {
        let f = Filter {
            resource_type: 2,
            name: Some("orders-eu".into()),
            pattern: MATCH,
            principal: None,
            host: None,
            operation: ANY,
            permission: ANY,
        };
        assert!(f.matches(&acl("orders-eu", LITERAL)));
        assert!(f.matches(&acl("*", LITERAL)));
        assert!(f.matches(&acl("orders-", PREFIXED)));
        assert!(!f.matches(&acl("orders-us", LITERAL)));
        assert!(!f.matches(&acl("billing", PREFIXED)));
        assert!(validate(&acl("x", MATCH)).is_err());
        let mut bad = acl("x", LITERAL);
        bad.principal = "alice".into();
        assert!(validate(&bad).unwrap_err().contains("Type:name"));
    }

    #[test]
    fn deny_wins_and_write_implies_describe() {
        let a = |op, perm, name: &str, pattern| Acl {
            resource_type: TOPIC,
            name: name.into(),
            pattern,
            principal: "User:bob".into(),
            host: "*".into(),
            operation: op,
            permission: perm,
        };
        let acls = vec![
            a(WRITE, 3, "t", LITERAL),
            a(2, 3, "p-", PREFIXED),
            a(READ, 2, "p-x", LITERAL),
        ];
        assert!(allowed(&acls, "User:bob", TOPIC, "t", DESCRIBE));
        assert!(allowed(&acls, "User:bob", TOPIC, "t", WRITE));
        assert!(!allowed(&acls, "User:bob", TOPIC, "t", READ));
        assert!(!allowed(&acls, "User:eve", TOPIC, "t", WRITE));
        assert!(allowed(&acls, "User:bob", TOPIC, "p-y", READ));
        assert!(!allowed(&acls, "User:bob", TOPIC, "p-x", READ), "DENY wins");
        assert!(allowed(&acls, "User:bob", TOPIC, "p-x", WRITE));
    }
}
