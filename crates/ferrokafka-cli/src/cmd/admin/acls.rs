//! The ACL verbs of `ferrokafka admin`: `create-acl`, `describe-acls` and
//! `delete-acls`, with the options of `kafka-acls.sh`.

use super::{ok, parse_enum, per_resource, table, Bad, Outcome};
use ferrokafka::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, AclResourceType, AdminClient,
    AdminOptions, PatternType,
};
use serde_json::{json, Value};

/// The ACL options of kafka-acls.sh.
#[derive(Debug, clap::Args)]
pub(super) struct AclArgs {
    /// The principal, `Type:name` (e.g. `User:alice`).
    #[arg(long)]
    principal: Option<String>,
    /// The operation (repeatable): read, write, create, delete, alter,
    /// describe, cluster-action, describe-configs, alter-configs,
    /// idempotent-write, all (filters also: any).
    #[arg(long = "operation")]
    operations: Vec<String>,
    /// topic, group, cluster, transactional-id, delegation-token, user
    /// (filters also: any).
    #[arg(long)]
    resource_type: Option<String>,
    /// The resource name (`*` for all; `kafka-cluster` for the cluster).
    #[arg(long)]
    resource_name: Option<String>,
    /// literal or prefixed (filters also: any, match); default literal
    /// when creating, any when filtering.
    #[arg(long)]
    pattern_type: Option<String>,
    /// allow or deny (filters also: any); default allow when creating.
    #[arg(long)]
    permission: Option<String>,
    /// The host; default `*` when creating.
    #[arg(long)]
    host: Option<String>,
}

/// The filter the ACL options describe (unset options match everything).
fn acl_filter(a: &AclArgs) -> Result<Vec<AclBindingFilter>, Bad> {
    let mut base = AclBindingFilter::any();
    if let Some(t) = &a.resource_type {
        base.resource_type = parse_enum("--resource-type", t, AclResourceType::parse)?;
    }
    base.name = a.resource_name.clone();
    if let Some(p) = &a.pattern_type {
        base.pattern = parse_enum("--pattern-type", p, PatternType::parse)?;
    }
    base.principal = a.principal.clone();
    base.host = a.host.clone();
    if let Some(p) = &a.permission {
        base.permission = parse_enum("--permission", p, AclPermission::parse)?;
    }
    if a.operations.is_empty() {
        return Ok(vec![base]);
    }
    a.operations
        .iter()
        .map(|o| {
            let mut f = base.clone();
            f.operation = parse_enum("--operation", o, AclOperation::parse)?;
            Ok(f)
        })
        .collect()
}

/// The bindings `create-acl` makes: one per --operation.
fn acl_bindings(a: &AclArgs) -> Result<Vec<AclBinding>, Bad> {
    let need = |v: &Option<String>, flag: &str| {
        v.clone()
            .ok_or_else(|| Bad::Usage(format!("create-acl needs {flag}")))
    };
    let principal = need(&a.principal, "--principal")?;
    let resource_type = parse_enum(
        "--resource-type",
        &need(&a.resource_type, "--resource-type")?,
        AclResourceType::parse,
    )?;
    let name = match (&a.resource_name, resource_type) {
        (Some(n), _) => n.clone(),
        (None, AclResourceType::Cluster) => "kafka-cluster".into(),
        (None, _) => return Err(Bad::Usage("create-acl needs --resource-name".into())),
    };
    let pattern = match &a.pattern_type {
        Some(p) => parse_enum("--pattern-type", p, PatternType::parse)?,
        None => PatternType::Literal,
    };
    let permission = match &a.permission {
        Some(p) => parse_enum("--permission", p, AclPermission::parse)?,
        None => AclPermission::Allow,
    };
    if a.operations.is_empty() {
        return Err(Bad::Usage("create-acl needs --operation".into()));
    }
    a.operations
        .iter()
        .map(|o| {
            Ok(AclBinding {
                resource_type,
                name: name.clone(),
                pattern,
                principal: principal.clone(),
                host: a.host.clone().unwrap_or_else(|| "*".into()),
                operation: parse_enum("--operation", o, AclOperation::parse)?,
                permission,
            })
        })
        .collect()
}

fn acl_json(b: &AclBinding) -> Value {
    json!({
        "resource_type": b.resource_type.name(), "resource_name": b.name,
        "pattern_type": b.pattern.name(), "principal": b.principal, "host": b.host,
        "operation": b.operation.name(), "permission": b.permission.name(),
    })
}

fn acl_rows(v: &[AclBinding]) -> Vec<Vec<String>> {
    v.iter()
        .map(|b| {
            vec![
                b.principal.clone(),
                b.permission.name().into(),
                b.operation.name().into(),
                b.resource_type.name().into(),
                b.pattern.name().into(),
                b.name.clone(),
                b.host.clone(),
            ]
        })
        .collect()
}

const ACL_HEADER: [&str; 7] = [
    "PRINCIPAL",
    "PERMISSION",
    "OPERATION",
    "RESOURCE-TYPE",
    "PATTERN",
    "NAME",
    "HOST",
];

pub(super) fn create(admin: &AdminClient, a: AclArgs, opts: &AdminOptions) -> Result<Outcome, Bad> {
    let bindings = acl_bindings(&a)?;
    let r = admin.create_acls_blocking(&bindings, opts)?;
    let r = r.into_iter().map(|(b, x)| (b.to_string(), x)).collect();
    Ok(per_resource(r, |_| "created".into(), |_| json!({})))
}

pub(super) fn describe(
    admin: &AdminClient,
    a: AclArgs,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let mut found = Vec::new();
    for f in acl_filter(&a)? {
        found.extend(admin.describe_acls_blocking(&f, opts)?);
    }
    found.sort();
    found.dedup();
    Ok(ok(
        Value::Array(found.iter().map(acl_json).collect()),
        table(&ACL_HEADER, &acl_rows(&found)),
    ))
}

pub(super) fn delete(admin: &AdminClient, a: AclArgs, opts: &AdminOptions) -> Result<Outcome, Bad> {
    let filters = acl_filter(&a)?;
    if filters.len() == 1 && filters[0] == AclBindingFilter::any() {
        return Err(Bad::Usage(
            "delete-acls: give at least one filter option (refusing to delete every ACL)".into(),
        ));
    }
    let r = admin.delete_acls_blocking(&filters, opts)?;
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for (_, res) in r {
        match res {
            Ok(v) => deleted.extend(v),
            Err(e) => failures.push(e.to_string()),
        }
    }
    Ok(Outcome {
        json: Value::Array(deleted.iter().map(acl_json).collect()),
        text: format!(
            "Deleted {} ACLs\n{}",
            deleted.len(),
            table(&ACL_HEADER, &acl_rows(&deleted))
        ),
        failures,
    })
}
