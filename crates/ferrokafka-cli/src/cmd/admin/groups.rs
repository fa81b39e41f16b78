//! The consumer-group verbs of `ferrokafka admin`: `list-groups`,
//! `describe-group`, `delete-group`, `group-offsets`,
//! `alter-group-offsets` and `delete-group-offsets`, as
//! `kafka-consumer-groups.sh`.

use super::{ok, per_resource, table, tpo, Bad, Outcome};
use ferrokafka::admin::{AdminClient, AdminOptions};
use ferrokafka::Error;
use serde_json::{json, Value};
use std::time::Duration;

pub(super) fn list(
    admin: &AdminClient,
    states: Vec<String>,
    types: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let s: Vec<&str> = states.iter().map(String::as_str).collect();
    let t: Vec<&str> = types.iter().map(String::as_str).collect();
    let g = admin.list_groups_blocking(&s, &t, opts)?;
    let rows: Vec<Vec<String>> = g
        .iter()
        .map(|g| {
            vec![
                g.group_id.clone(),
                g.state.clone().unwrap_or_default(),
                g.group_type.clone().unwrap_or_default(),
                g.protocol_type.clone(),
            ]
        })
        .collect();
    Ok(ok(
        Value::Array(
            g.iter()
                .map(|g| {
                    json!({
                        "group": g.group_id, "state": g.state, "type": g.group_type,
                        "protocol_type": g.protocol_type,
                    })
                })
                .collect(),
        ),
        table(&["GROUP", "STATE", "TYPE", "PROTOCOL-TYPE"], &rows),
    ))
}

pub(super) fn describe(
    admin: &AdminClient,
    group: String,
    timeout: Duration,
) -> Result<Outcome, Bad> {
    let mut d = admin.describe_groups_blocking(&[group.as_str()], timeout)?;
    let Some(d) = d.pop() else {
        return Err(Bad::Call(Error::new(
            ferrokafka::ErrorCode::BadMsg,
            format!("describe group {group}: the coordinator's response did not mention it"),
        )));
    };
    let mut failures = Vec::new();
    if let Some(e) = d.error {
        failures.push(format!(
            "describe group {group}: {} ({})",
            e.name(),
            e.description()
        ));
    }
    // Kafka describes an unknown group as state Dead with no members.
    if d.error.is_none() && d.state == "Dead" {
        failures.push(format!(
            "describe group {group}: GROUP_ID_NOT_FOUND (the group does not exist)"
        ));
    }
    let rows: Vec<Vec<String>> = d
        .members
        .iter()
        .map(|m| {
            vec![
                m.member_id.clone(),
                m.instance_id.clone().unwrap_or_else(|| "-".into()),
                m.client_id.clone(),
                m.client_host.clone(),
                m.assignment
                    .iter()
                    .map(|tp| tp.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        })
        .collect();
    Ok(Outcome {
        json: json!({
            "group": d.group_id, "error": d.error.map(|e| e.name()), "state": d.state,
            "protocol_type": d.protocol_type, "protocol": d.protocol,
            "members": d.members.iter().map(|m| json!({
                "member_id": m.member_id, "instance_id": m.instance_id,
                "client_id": m.client_id, "client_host": m.client_host,
                "assignment": m.assignment.iter().map(|tp| json!({"topic": tp.topic(), "partition": tp.partition()})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
        text: format!(
            "Group {} state {} protocol {} ({} members)\n{}",
            d.group_id,
            d.state,
            if d.protocol.is_empty() {
                "-"
            } else {
                &d.protocol
            },
            d.members.len(),
            table(
                &["MEMBER", "INSTANCE", "CLIENT-ID", "HOST", "ASSIGNMENT"],
                &rows
            )
        ),
        failures,
    })
}

pub(super) fn delete(
    admin: &AdminClient,
    groups: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let g: Vec<&str> = groups.iter().map(String::as_str).collect();
    let r = admin.delete_groups_blocking(&g, opts)?;
    Ok(per_resource(r, |_| "deleted".into(), |_| json!({})))
}

pub(super) fn offsets(
    admin: &AdminClient,
    group: String,
    timeout: Duration,
) -> Result<Outcome, Bad> {
    let o = admin.list_group_offsets_blocking(&group, timeout)?;
    let rows: Vec<Vec<String>> = o
        .iter()
        .map(|(t, p, off)| vec![t.clone(), p.to_string(), off.to_string()])
        .collect();
    Ok(ok(
        json!({
            "group": group,
            "offsets": o.iter().map(|(t, p, off)| json!({"topic": t, "partition": p, "offset": off})).collect::<Vec<_>>(),
        }),
        format!(
            "Committed offsets of group {group}:\n{}",
            table(&["TOPIC", "PARTITION", "OFFSET"], &rows)
        ),
    ))
}

pub(super) fn alter_offsets(
    admin: &AdminClient,
    group: String,
    offsets: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let parsed: Vec<(String, i32, i64)> =
        offsets.iter().map(|s| tpo(s)).collect::<Result<_, _>>()?;
    let o: Vec<(&str, i32, i64)> = parsed
        .iter()
        .map(|(t, p, o)| (t.as_str(), *p, *o))
        .collect();
    let r = admin.alter_group_offsets_blocking(&group, &o, opts)?;
    let r = r.into_iter().map(|(tp, x)| (tp.to_string(), x)).collect();
    Ok(per_resource(r, |_| "committed".into(), |_| json!({})))
}

pub(super) fn delete_offsets(
    admin: &AdminClient,
    group: String,
    partitions: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let mut parts: Vec<(String, i32)> = Vec::new();
    for s in &partitions {
        match s
            .rsplit_once(':')
            .and_then(|(t, p)| Some((t, p.parse::<i32>().ok()?)))
        {
            Some((t, p)) if !t.is_empty() => parts.push((t.to_string(), p)),
            _ => {
                // A whole topic: every partition it has.
                let mut d = admin.describe_topics_blocking(&[s.as_str()], opts)?;
                match d.remove(0).1 {
                    Ok(desc) => {
                        parts.extend(desc.partitions.iter().map(|p| (s.clone(), p.partition)))
                    }
                    Err(e) => {
                        return Ok(Outcome {
                            json: json!([{ "name": s, "error": e.code().name(), "message": e.message() }]),
                            text: String::new(),
                            failures: vec![format!("delete offsets of group {group} for {s}: {e}")],
                        })
                    }
                }
            }
        }
    }
    let p: Vec<(&str, i32)> = parts.iter().map(|(t, p)| (t.as_str(), *p)).collect();
    let r = admin.delete_group_offsets_blocking(&group, &p, opts)?;
    let r = r.into_iter().map(|(tp, x)| (tp.to_string(), x)).collect();
    Ok(per_resource(r, |_| "deleted".into(), |_| json!({})))
}
