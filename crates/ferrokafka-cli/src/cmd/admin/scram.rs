//! The SCRAM verbs of `ferrokafka admin` (`alter-scram`, `delete-scram`,
//! `describe-scram`), in the spirit of `kafka-configs.sh
//! --alter --add-config 'SCRAM-SHA-256=[password=...]' --entity-type users`.

use super::{per_resource, table, Bad, Outcome};
use ferrokafka::admin::{AdminClient, AdminOptions, ScramAlteration, ScramMechanism};
use serde_json::{json, Value};

/// Arguments of `alter-scram`.
#[derive(Debug, clap::Args)]
pub(super) struct AlterScram {
    /// The user name.
    user: String,
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    #[arg(long)]
    mechanism: String,
    /// The password (salted here; only the salted form is sent).
    #[arg(long)]
    password: String,
    /// PBKDF2 iterations (brokers accept 4096 to 16384).
    #[arg(long, default_value_t = ferrokafka::admin::SCRAM_DEFAULT_ITERATIONS)]
    iterations: i32,
}

/// Arguments of `delete-scram`.
#[derive(Debug, clap::Args)]
pub(super) struct DeleteScram {
    /// The user name.
    user: String,
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    #[arg(long)]
    mechanism: String,
}

fn mechanism(s: &str) -> Result<ScramMechanism, Bad> {
    ScramMechanism::parse(s).ok_or_else(|| {
        Bad::Usage(format!(
            "--mechanism {s:?}: expected SCRAM-SHA-256 or SCRAM-SHA-512"
        ))
    })
}

pub(super) fn alter(
    admin: &AdminClient,
    a: AlterScram,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let m = mechanism(&a.mechanism)?;
    let alt = ScramAlteration::Upsert {
        user: a.user,
        mechanism: m,
        iterations: a.iterations,
        password: a.password,
    };
    let r = admin.alter_user_scram_credentials_blocking(&[alt], opts)?;
    Ok(per_resource(
        r,
        |_| format!("{m} credential set"),
        |_| json!({ "mechanism": m.name() }),
    ))
}

pub(super) fn delete(
    admin: &AdminClient,
    a: DeleteScram,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let m = mechanism(&a.mechanism)?;
    let r = admin
        .alter_user_scram_credentials_blocking(&[ScramAlteration::delete(&a.user, m)], opts)?;
    Ok(per_resource(
        r,
        |_| format!("{m} credential deleted"),
        |_| json!({ "mechanism": m.name() }),
    ))
}

pub(super) fn describe(
    admin: &AdminClient,
    users: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let users = (!users.is_empty()).then_some(users);
    let r = admin.describe_user_scram_credentials_blocking(users.as_deref(), opts)?;
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    let mut failures = Vec::new();
    for (user, res) in r {
        match res {
            Ok(infos) => {
                for i in &infos {
                    rows.push(vec![
                        user.clone(),
                        i.mechanism.name().into(),
                        i.iterations.to_string(),
                    ]);
                }
                json_rows.push(json!({
                    "user": user, "error": null,
                    "credentials": infos.iter().map(|i| json!({
                        "mechanism": i.mechanism.name(), "iterations": i.iterations,
                    })).collect::<Vec<_>>(),
                }));
            }
            Err(e) => {
                rows.push(vec![user.clone(), e.code().name().into(), "-".into()]);
                json_rows.push(
                    json!({ "user": user, "error": e.code().name(), "message": e.message() }),
                );
                failures.push(e.to_string());
            }
        }
    }
    Ok(Outcome {
        json: Value::Array(json_rows),
        text: table(&["USER", "MECHANISM", "ITERATIONS"], &rows),
        failures,
    })
}
