//! SCRAM user credentials (KIP-554): describe which mechanisms a user has
//! credentials for (DescribeUserScramCredentials, any broker) and create,
//! replace or delete them (AlterUserScramCredentials, the controller).
//!
//! The password never goes on the wire: the client draws a random salt
//! and sends `SaltedPassword = Hi(password, salt, iterations)` of RFC 5802
//! (PBKDF2 with the mechanism's HMAC), from which the broker derives the
//! stored and server keys it authenticates with. The salting is shared
//! with the SASL client in `net::scram`.

use super::{resource_result, AdminClient, AdminOptions, NOT_CONTROLLER};
use crate::error::{Error, ErrorCode, Result};
use crate::net::scram::ScramHash;
use bytes::Bytes;
use kafka_protocol::messages::{
    alter_user_scram_credentials_request::{ScramCredentialDeletion, ScramCredentialUpsertion},
    describe_user_scram_credentials_request::UserName,
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use kafka_protocol::protocol::StrBytes;

/// A SCRAM mechanism as KIP-554 numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ScramMechanism {
    /// SCRAM-SHA-256 (wire code 1).
    Sha256,
    /// SCRAM-SHA-512 (wire code 2).
    Sha512,
}

impl ScramMechanism {
    /// The wire code.
    pub fn code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    /// The mechanism for a wire code, `None` for UNKNOWN (0) and codes
    /// this client does not know.
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            1 => Some(ScramMechanism::Sha256),
            2 => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    /// The SASL name, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism its SASL name names (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "SCRAM-SHA-256" => Some(ScramMechanism::Sha256),
            "SCRAM-SHA-512" => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    fn hash(self) -> ScramHash {
        match self {
            ScramMechanism::Sha256 => ScramHash::Sha256,
            ScramMechanism::Sha512 => ScramHash::Sha512,
        }
    }
}

impl std::fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One credential of a user: its mechanism and iteration count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScramCredentialInfo {
    /// The mechanism.
    pub mechanism: ScramMechanism,
    /// The PBKDF2 iteration count.
    pub iterations: i32,
}

/// The iteration count brokers default to and accept at least.
pub const SCRAM_DEFAULT_ITERATIONS: i32 = 4096;

/// A change to one user's SCRAM credentials.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScramAlteration {
    /// Create or replace the user's credential for `mechanism`.
    Upsert {
        /// The user name.
        user: String,
        /// The mechanism.
        mechanism: ScramMechanism,
        /// PBKDF2 iterations (Kafka accepts 4096 to 16384).
        iterations: i32,
        /// The password, salted on the client; never sent.
        password: String,
    },
    /// Delete the user's credential for `mechanism`.
    Delete {
        /// The user name.
        user: String,
        /// The mechanism.
        mechanism: ScramMechanism,
    },
}

impl std::fmt::Debug for ScramAlteration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScramAlteration::Upsert {
                user,
                mechanism,
                iterations,
                ..
            } => f
                .debug_struct("Upsert")
                .field("user", user)
                .field("mechanism", mechanism)
                .field("iterations", iterations)
                .field("password", &"<redacted>")
                .finish(),
            ScramAlteration::Delete { user, mechanism } => f
                .debug_struct("Delete")
                .field("user", user)
                .field("mechanism", mechanism)
                .finish(),
        }
    }
}

impl ScramAlteration {
    /// An upsert with the default 4096 iterations.
    pub fn upsert(user: &str, mechanism: ScramMechanism, password: &str) -> Self {
        ScramAlteration::Upsert {
            user: user.to_string(),
            mechanism,
            iterations: SCRAM_DEFAULT_ITERATIONS,
            password: password.to_string(),
        }
    }

    /// A deletion.
    pub fn delete(user: &str, mechanism: ScramMechanism) -> Self {
        ScramAlteration::Delete {
            user: user.to_string(),
            mechanism,
        }
    }

    /// The user this alteration changes.
    pub fn user(&self) -> &str {
        match self {
            ScramAlteration::Upsert { user, .. } | ScramAlteration::Delete { user, .. } => user,
        }
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A random salt: 32 bytes, as printable base-36 text like the broker's
/// own tools draw (any bytes would do; text keeps it readable in dumps).
fn random_salt() -> Vec<u8> {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..32)
        .map(|_| DIGITS[rand::random::<usize>() % DIGITS.len()])
        .collect()
}

/// The upsertion sent for a user's password: a fresh salt and the salted
/// password at `iterations`. A count outside what PBKDF2 can take
/// (below 1) is refused here; the broker judges the rest.
fn upsertion(
    user: &str,
    mechanism: ScramMechanism,
    iterations: i32,
    password: &str,
) -> Result<ScramCredentialUpsertion> {
    let n = u32::try_from(iterations)
        .ok()
        .filter(|n| *n >= 1 && *n <= 1_000_000)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArg,
                format!("SCRAM credential of {user:?}: iterations {iterations} out of range"),
            )
        })?;
    let salt = random_salt();
    let salted = mechanism
        .hash()
        .salted_password(password.as_bytes(), &salt, n);
    let mut u = ScramCredentialUpsertion::default();
    u.name = sb(user);
    u.mechanism = mechanism.code();
    u.iterations = iterations;
    u.salt = Bytes::from(salt);
    u.salted_password = Bytes::from(salted);
    Ok(u)
}

impl AdminClient {
    /// The SCRAM credentials of `users` (every user that has one when
    /// `None`), per user: its mechanisms and iteration counts, sorted, or
    /// the broker's error (`ResourceNotFound` for a user without
    /// credentials). Sent to any broker.
    pub async fn describe_user_scram_credentials(
        &self,
        users: Option<&[String]>,
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<Vec<ScramCredentialInfo>>)>> {
        let build = |_v: i16| {
            let mut req = DescribeUserScramCredentialsRequest::default();
            req.users = users.map(|u| {
                u.iter()
                    .map(|n| {
                        let mut x = UserName::default();
                        x.name = sb(n);
                        x
                    })
                    .collect()
            });
            Ok(req)
        };
        let (_, r) = self.call_any(opts.deadline(), build).await?;
        if let Some(e) = super::resource_error(
            r.error_code,
            r.error_message.as_deref(),
            "describe SCRAM credentials",
        ) {
            return Err(e);
        }
        let mut out = Vec::new();
        for x in r.results {
            let user = x.user.to_string();
            let what = format!("SCRAM credentials of user {user:?}");
            let infos: Vec<ScramCredentialInfo> = x
                .credential_infos
                .iter()
                .filter_map(|c| {
                    ScramMechanism::from_code(c.mechanism).map(|m| ScramCredentialInfo {
                        mechanism: m,
                        iterations: c.iterations,
                    })
                })
                .collect();
            let mut infos = infos;
            infos.sort();
            out.push((
                user,
                resource_result(x.error_code, x.error_message.as_deref(), &what, infos),
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// [`AdminClient::describe_user_scram_credentials`] for synchronous code.
    pub fn describe_user_scram_credentials_blocking(
        &self,
        users: Option<&[String]>,
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<Vec<ScramCredentialInfo>>)>> {
        let (users, opts) = (users.map(<[String]>::to_vec), opts.clone());
        self.blocking(move |a| async move {
            a.describe_user_scram_credentials(users.as_deref(), &opts)
                .await
        })
    }

    /// Creates, replaces or deletes SCRAM credentials; one result per user
    /// named, in the order first named. Passwords are salted here. Sent to
    /// the controller.
    pub async fn alter_user_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        if alterations.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "alter SCRAM credentials: no alterations given",
            ));
        }
        // Salt once: a re-routed request carries the same credentials.
        let mut deletions = Vec::new();
        let mut upsertions = Vec::new();
        for a in alterations {
            match a {
                ScramAlteration::Upsert {
                    user,
                    mechanism,
                    iterations,
                    password,
                } => upsertions.push(upsertion(user, *mechanism, *iterations, password)?),
                ScramAlteration::Delete { user, mechanism } => {
                    let mut d = ScramCredentialDeletion::default();
                    d.name = sb(user);
                    d.mechanism = mechanism.code();
                    deletions.push(d);
                }
            }
        }
        let build = |_v: i16| {
            let mut req = AlterUserScramCredentialsRequest::default();
            req.deletions = deletions.clone();
            req.upsertions = upsertions.clone();
            Ok(req)
        };
        let (_, r) = self
            .call_controller(opts.deadline(), build, |r| {
                r.results.iter().any(|x| x.error_code == NOT_CONTROLLER)
            })
            .await?;
        let mut users: Vec<&str> = Vec::new();
        for a in alterations {
            if !users.contains(&a.user()) {
                users.push(a.user());
            }
        }
        users
            .into_iter()
            .map(|u| {
                let x = r
                    .results
                    .iter()
                    .find(|x| x.user.as_str() == u)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::BadMsg,
                            format!("AlterUserScramCredentials: no result for user {u:?}"),
                        )
                    })?;
                let what = format!("SCRAM credentials of user {u:?}");
                Ok((
                    u.to_string(),
                    resource_result(x.error_code, x.error_message.as_deref(), &what, ()),
                ))
            })
            .collect()
    }

    /// [`AdminClient::alter_user_scram_credentials`] for synchronous code.
    pub fn alter_user_scram_credentials_blocking(
        &self,
        alterations: &[ScramAlteration],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        let (alterations, opts) = (alterations.to_vec(), opts.clone());
        self.blocking(
            move |a| async move { a.alter_user_scram_credentials(&alterations, &opts).await },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_round_trip_their_codes_and_names() {
        for m in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            assert_eq!(ScramMechanism::from_code(m.code()), Some(m));
            assert_eq!(ScramMechanism::parse(m.name()), Some(m));
        }
        assert_eq!(ScramMechanism::from_code(0), None);
        assert_eq!(ScramMechanism::parse("PLAIN"), None);
    }

    #[test]
    fn an_upsertion_carries_the_rfc5802_salted_password_not_the_password() {
        let u = upsertion("alice", ScramMechanism::Sha256, 4096, "secret").unwrap();
        assert_eq!(u.salt.len(), 32);
        let mut want = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"secret", &u.salt, 4096, &mut want);
        assert_eq!(&u.salted_password[..], &want[..]);
        let v = upsertion("alice", ScramMechanism::Sha512, 4096, "secret").unwrap();
        assert_eq!(v.salted_password.len(), 64);
        assert_ne!(u.salt, v.salt, "each upsertion draws its own salt");
        assert!(upsertion("alice", ScramMechanism::Sha256, 0, "x").is_err());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let a = ScramAlteration::upsert("bob", ScramMechanism::Sha512, "hunter2");
        assert!(!format!("{a:?}").contains("hunter2"));
    }
}
