//! SCRAM credentials (KIP-554): DescribeUserScramCredentials and
//! AlterUserScramCredentials over the credential store in
//! `security::State`, which the SCRAM login reads, so a user created here
//! can authenticate at once. Kafka's checks: an empty user name and an
//! iteration count outside 4096..=16384 are UNACCEPTABLE_CREDENTIAL, an
//! unknown mechanism UNSUPPORTED_SASL_MECHANISM, a user named twice for the
//! same mechanism DUPLICATE_RESOURCE, deleting or describing what does not
//! exist RESOURCE_NOT_FOUND. A user's alterations apply together or not at
//! all.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::{
    alter_user_scram_credentials_response::AlterUserScramCredentialsResult,
    describe_user_scram_credentials_response::{
        CredentialInfo, DescribeUserScramCredentialsResult,
    },
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};

use super::str_bytes;
use crate::cluster::Shared;
use crate::log::code;
use crate::security::ScramCredential;

const RESOURCE_NOT_FOUND: i16 = 91;
const DUPLICATE_RESOURCE: i16 = 92;
const UNACCEPTABLE_CREDENTIAL: i16 = 93;

/// Kafka's bounds on a credential's iteration count.
const MIN_ITERATIONS: i32 = 4096;
const MAX_ITERATIONS: i32 = 16384;

/// The salted password's length per mechanism code (the hash's output).
fn salted_len(mechanism: i8) -> Option<usize> {
    match mechanism {
        1 => Some(32),
        2 => Some(64),
        _ => None,
    }
}

pub(crate) fn describe(
    shared: &Shared,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let store = shared.security.scram();
    let mut by_user: BTreeMap<&str, Vec<CredentialInfo>> = BTreeMap::new();
    for ((user, mech), c) in store.iter() {
        let mut info = CredentialInfo::default();
        info.mechanism = *mech;
        info.iterations = c.iterations as i32;
        by_user.entry(user.as_str()).or_default().push(info);
    }
    let mut r = DescribeUserScramCredentialsResponse::default();
    let result = |user: &str, infos: Vec<CredentialInfo>| {
        let mut x = DescribeUserScramCredentialsResult::default();
        x.user = str_bytes(user);
        x.credential_infos = infos;
        x
    };
    match req.users.filter(|u| !u.is_empty()) {
        None => {
            r.results = by_user
                .into_iter()
                .map(|(u, infos)| result(u, infos))
                .collect()
        }
        Some(users) => {
            let mut seen = BTreeSet::new();
            let dup: BTreeSet<String> = users
                .iter()
                .filter(|u| !seen.insert(u.name.to_string()))
                .map(|u| u.name.to_string())
                .collect();
            let mut done = BTreeSet::new();
            for u in users {
                let name = u.name.to_string();
                if !done.insert(name.clone()) {
                    continue;
                }
                let mut x = result(&name, Vec::new());
                if dup.contains(&name) {
                    x.error_code = DUPLICATE_RESOURCE;
                    x.error_message = Some(str_bytes(&format!(
                        "Cannot describe SCRAM credentials for the same user twice in a single request: {name}"
                    )));
                } else if let Some(infos) = by_user.get(name.as_str()) {
                    x.credential_infos = infos.clone();
                } else {
                    x.error_code = RESOURCE_NOT_FOUND;
                    x.error_message = Some(str_bytes(&format!(
                        "Attempt to describe a user credential that does not exist: {name}"
                    )));
                }
                r.results.push(x);
            }
        }
    }
    r
}

/// A checked value, or the error code and message to answer with.
type Checked<T> = Result<T, (i16, String)>;

/// What one user's alterations do, once checked.
enum Change {
    Delete(i8),
    Upsert(i8, ScramCredential),
}

pub(crate) fn alter(
    shared: &Shared,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    // Per user in order first named: its changes or its first error.
    let mut users: Vec<(String, Checked<Vec<Change>>)> = Vec::new();
    let mut seen: BTreeSet<(String, i8)> = BTreeSet::new();
    let mut add = |name: String, mech: i8, change: Checked<Change>| {
        let twice = !seen.insert((name.clone(), mech));
        let i = match users.iter().position(|(u, _)| *u == name) {
            Some(i) => i,
            None => {
                users.push((name.clone(), Ok(Vec::new())));
                users.len() - 1
            }
        };
        let slot = &mut users[i].1;
        let change = if twice {
            Err((
                DUPLICATE_RESOURCE,
                format!("A user credential cannot be altered twice in the same request: {name}"),
            ))
        } else {
            change
        };
        match (slot.as_mut(), change) {
            (Ok(v), Ok(c)) => v.push(c),
            (Ok(_), Err(e)) => *slot = Err(e),
            (Err(_), _) => {}
        }
    };
    let check_common = |name: &str, mech: i8| -> Checked<()> {
        if name.is_empty() {
            return Err((UNACCEPTABLE_CREDENTIAL, "Username must not be empty".into()));
        }
        if salted_len(mech).is_none() {
            return Err((
                code::UNSUPPORTED_SASL_MECHANISM,
                format!("Unknown SCRAM mechanism {mech}"),
            ));
        }
        Ok(())
    };
    for d in &req.deletions {
        let name = d.name.to_string();
        let c = check_common(&name, d.mechanism).map(|()| Change::Delete(d.mechanism));
        add(name, d.mechanism, c);
    }
    for u in &req.upsertions {
        let name = u.name.to_string();
        let c = check_common(&name, u.mechanism).and_then(|()| {
            if u.iterations < MIN_ITERATIONS {
                return Err((
                    UNACCEPTABLE_CREDENTIAL,
                    format!("Too few iterations: {} (at least {MIN_ITERATIONS})", u.iterations),
                ));
            }
            if u.iterations > MAX_ITERATIONS {
                return Err((
                    UNACCEPTABLE_CREDENTIAL,
                    format!("Too many iterations: {} (at most {MAX_ITERATIONS})", u.iterations),
                ));
            }
            if u.salt.is_empty() || Some(u.salted_password.len()) != salted_len(u.mechanism) {
                return Err((
                    UNACCEPTABLE_CREDENTIAL,
                    "The salt must not be empty and the salted password must be the mechanism's hash length".into(),
                ));
            }
            Ok(Change::Upsert(
                u.mechanism,
                ScramCredential {
                    salt: u.salt.to_vec(),
                    iterations: u.iterations as u32,
                    salted: u.salted_password.to_vec(),
                },
            ))
        });
        add(name, u.mechanism, c);
    }
    let mut store = shared.security.scram();
    let mut r = AlterUserScramCredentialsResponse::default();
    for (user, changes) in users {
        let mut x = AlterUserScramCredentialsResult::default();
        x.user = str_bytes(&user);
        let outcome = changes.and_then(|changes| {
            if let Some(Change::Delete(m)) = changes.iter().find(
                |c| matches!(c, Change::Delete(m) if !store.contains_key(&(user.clone(), *m))),
            ) {
                return Err((
                    RESOURCE_NOT_FOUND,
                    format!("Attempt to delete a user credential that does not exist: {user} (mechanism {m})"),
                ));
            }
            for c in changes {
                match c {
                    Change::Delete(m) => {
                        store.remove(&(user.clone(), m));
                    }
                    Change::Upsert(m, cred) => {
                        store.insert((user.clone(), m), cred);
                    }
                }
            }
            Ok(())
        });
        if let Err((c, m)) = outcome {
            x.error_code = c;
            x.error_message = Some(str_bytes(&m));
        }
        r.results.push(x);
    }
    r
}
