//! The client side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC
//! 7677), as Kafka uses them: no channel binding (`n,,`), no
//! authorization identity.
//!
//! An I/O-free state machine: [`Scram::client_first`] gives the first
//! message, [`Scram::client_final`] takes the server's first message and
//! gives the proof, [`Scram::verify_server_final`] checks the server's
//! signature, which proves the broker knows the password too; a wrong or
//! missing signature is an authentication error. Carrying the messages is
//! `sasl`'s business.

use crate::error::{Error, ErrorCode, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The hash a SCRAM mechanism uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

/// More iterations than any broker uses (Kafka allows at most 16384); a
/// larger count would only burn the client's CPU.
const MAX_ITERATIONS: u32 = 100_000;

impl ScramHash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut m = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha512 => {
                let mut out = [0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

fn auth_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::Authentication, message.into())
}

/// `saslname` of RFC 5802: `=` and `,` escaped.
fn sasl_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// One SCRAM exchange, client side.
pub(crate) struct Scram {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    client_first_bare: String,
    /// Set by `client_final`: the signature the server must answer with.
    expected_server_signature: Option<Vec<u8>>,
}

impl std::fmt::Debug for Scram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scram")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl Scram {
    /// A new exchange for `user` with `password`, using `nonce` (printable
    /// ASCII without `,`; the caller draws it at random).
    pub(crate) fn new(hash: ScramHash, user: &str, password: &str, nonce: &str) -> Self {
        Scram {
            hash,
            password: password.to_string(),
            client_nonce: nonce.to_string(),
            client_first_bare: format!("n={},r={nonce}", sasl_name(user)),
            expected_server_signature: None,
        }
    }

    /// A fresh random nonce.
    pub(crate) fn random_nonce() -> String {
        let bytes: [u8; 24] = rand::random();
        B64.encode(bytes)
    }

    /// The client's first message.
    pub(crate) fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// Takes the server's first message and returns the client's final
    /// message with its proof.
    pub(crate) fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| auth_error("SCRAM server-first-message is not UTF-8"))?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("e", v)) => return Err(auth_error(format!("SCRAM: server error: {v}"))),
                Some(("m", _)) => {
                    return Err(auth_error(
                        "SCRAM: the server requires an extension this client does not know",
                    ))
                }
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(auth_error(format!(
                "SCRAM server-first-message lacks r, s or i: {server_first:?}"
            )));
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(auth_error(
                "SCRAM: the server's nonce does not extend the client's",
            ));
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| auth_error("SCRAM: the salt is not base64"))?;
        let iterations: u32 = iterations
            .parse()
            .ok()
            .filter(|i| (1..=MAX_ITERATIONS).contains(i))
            .ok_or_else(|| {
                auth_error(format!(
                    "SCRAM: iteration count {iterations:?} is not in 1..={MAX_ITERATIONS}"
                ))
            })?;
        let h = self.hash;
        let salted = h.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        // "biws" is base64 of the GS2 header "n,,".
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.expected_server_signature = Some(h.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server's final message: its signature must be the one
    /// only a server that knows the password can compute.
    pub(crate) fn verify_server_final(&self, server_final: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(server_final)
            .map_err(|_| auth_error("SCRAM server-final-message is not UTF-8"))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(auth_error(format!("SCRAM: server error: {e}")));
        }
        let Some(expected) = &self.expected_server_signature else {
            return Err(auth_error(
                "SCRAM: server-final-message before client-final",
            ));
        };
        let got = text
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .and_then(|v| B64.decode(v).ok());
        if got.as_deref() != Some(expected.as_slice()) {
            return Err(auth_error(
                "SCRAM: the server's signature is wrong: the broker does not know this \
                 user's credentials (or the exchange was tampered with)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SCRAM-SHA-256 example exchange of RFC 7677, section 3.
    #[test]
    fn rfc7677_example() {
        let mut s = Scram::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(s.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let fin = s
            .client_final(
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(fin).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        s.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        let e = s
            .verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Authentication);
    }

    #[test]
    fn a_nonce_that_does_not_extend_ours_is_refused() {
        let mut s = Scram::new(ScramHash::Sha512, "u", "p", "abc");
        let e = s.client_final(b"r=xyz123,s=AAAA,i=4096").unwrap_err();
        assert!(e.message().contains("nonce"), "{e}");
        let e = s.client_final(b"r=abcdef,s=AAAA,i=99999999").unwrap_err();
        assert!(e.message().contains("iteration"), "{e}");
        let e = s.client_final(b"e=unknown-user").unwrap_err();
        assert!(e.message().contains("unknown-user"), "{e}");
    }

    #[test]
    fn user_names_are_escaped() {
        let s = Scram::new(ScramHash::Sha256, "a=b,c", "p", "n");
        assert_eq!(s.client_first(), b"n,,n=a=3Db=2Cc,r=n");
    }
}
