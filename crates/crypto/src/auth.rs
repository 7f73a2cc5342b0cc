//! The AUTH payload's input and the shared-key method (RFC 7296 §2.15),
//! shaped so that signature methods (RFC 7427, RFC 4754) plug in beside it.
//!
//! ```text
//! InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
//! ResponderSignedOctets = RealMessage2 | NonceIData | MACedIDForR
//! MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
//! AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
//! ```
//!
//! `RestOfInitIDPayload` is the ID payload body: ID Type, the three
//! RESERVED octets, and the identification data. With IKE_INTERMEDIATE
//! (RFC 9242 §3.3.2) an `IntAuth` value is appended to the signed octets;
//! [`SignedOctets::int_auth`] carries it.
//!
//! A signature method implements [`AuthSigner`] / [`AuthVerifier`] over the
//! same [`SignedOctets`]; the secrets process receives them with
//! [`SignedOctets::to_vec`].

use crate::error::{CryptoError, Result};
use crate::ids::{AuthMethod, PrfAlgorithm};
use crate::keys::{IkeSaKeys, Role};
use crate::prf::Prf;
use crate::secret::PrfOutput;

/// The key pad string of RFC 7296 §2.15, without a terminating NUL.
pub const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// The octets an AUTH payload covers, kept as borrowed parts so the shared
/// key method never concatenates them.
#[derive(Debug)]
pub struct SignedOctets<'a> {
    /// The signer's IKE_SA_INIT message, exactly as sent (IKE header first,
    /// no non-ESP marker).
    pub real_message: &'a [u8],
    /// The *other* party's nonce data (Nr for the initiator's AUTH).
    pub peer_nonce: &'a [u8],
    /// prf(SK_px, ID payload body).
    pub maced_id: PrfOutput,
    /// RFC 9242 IntAuth, empty without IKE_INTERMEDIATE.
    pub int_auth: &'a [u8],
}

impl<'a> SignedOctets<'a> {
    /// The octets for `signer`'s AUTH: `Role::Initiator` gives
    /// InitiatorSignedOctets (pass RealMessage1, Nr, IDi body), and
    /// `Role::Responder` ResponderSignedOctets (RealMessage2, Ni, IDr body).
    /// Verifying the peer's AUTH means building the peer's octets.
    pub fn new(
        keys: &IkeSaKeys,
        signer: Role,
        real_message: &'a [u8],
        peer_nonce: &'a [u8],
        id_payload_body: &[u8],
    ) -> Result<Self> {
        Self::with_sk_p(
            keys.suite.prf(),
            keys.sk_p(signer).expose(),
            real_message,
            peer_nonce,
            id_payload_body,
        )
    }

    /// As [`Self::new`], from the PRF and SK_pi/SK_pr directly.
    pub fn with_sk_p(
        prf: PrfAlgorithm,
        sk_p: &[u8],
        real_message: &'a [u8],
        peer_nonce: &'a [u8],
        id_payload_body: &[u8],
    ) -> Result<Self> {
        let maced_id = Prf::new(prf, sk_p)?.compute(&[id_payload_body])?;
        Ok(Self {
            real_message,
            peer_nonce,
            maced_id,
            int_auth: &[],
        })
    }

    /// Appends RFC 9242's IntAuth.
    #[must_use]
    pub fn with_int_auth(mut self, int_auth: &'a [u8]) -> Self {
        self.int_auth = int_auth;
        self
    }

    /// The parts in order; their concatenation is the signed octets.
    #[must_use]
    pub fn parts(&self) -> [&[u8]; 4] {
        [
            self.real_message,
            self.peer_nonce,
            self.maced_id.expose(),
            self.int_auth,
        ]
    }

    /// Total length.
    #[must_use]
    pub fn len(&self) -> usize {
        self.parts().iter().map(|p| p.len()).sum()
    }

    /// Never true for real messages.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The concatenated octets, e.g. for a signer in another process.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        for p in self.parts() {
            v.extend_from_slice(p);
        }
        v
    }
}

/// Produces the Authentication Data of an AUTH payload.
pub trait AuthSigner: Send + Sync {
    /// The Auth Method field value.
    fn method(&self) -> AuthMethod;
    /// Appends the Authentication Data for `octets` to `out`.
    fn sign(&self, octets: &SignedOctets<'_>, out: &mut Vec<u8>) -> Result<()>;
}

/// Checks a received AUTH payload's Authentication Data.
pub trait AuthVerifier: Send + Sync {
    /// The Auth Method this verifier accepts.
    fn method(&self) -> AuthMethod;
    /// `Err(CryptoError::AuthenticationFailed)` unless `auth_data` is valid
    /// for `octets`.
    fn verify(&self, octets: &SignedOctets<'_>, auth_data: &[u8]) -> Result<()>;
}

/// Shared Key Message Integrity Code (Auth Method 2) for one PRF: the
/// padded key prf(Shared Secret, "Key Pad for IKEv2") is computed once.
/// Also used for EAP, with the MSK as the shared secret (RFC 7296 §2.16).
pub struct PskAuth {
    padded: Prf,
}

impl core::fmt::Debug for PskAuth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PskAuth")
            .field("prf", &self.padded.algorithm())
            .finish_non_exhaustive()
    }
}

impl PskAuth {
    /// Keys the method for the IKE SA's negotiated `prf`.
    pub fn new(prf: PrfAlgorithm, shared_secret: &[u8]) -> Result<Self> {
        let pad = Prf::new(prf, shared_secret)?.compute(&[KEY_PAD])?;
        Ok(Self {
            padded: Prf::new(prf, pad.expose())?,
        })
    }

    /// AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), octets).
    pub fn compute(&self, octets: &SignedOctets<'_>) -> Result<PrfOutput> {
        self.padded.compute(&octets.parts())
    }

    /// Constant-time check of a received AUTH value.
    pub fn check(&self, octets: &SignedOctets<'_>, auth_data: &[u8]) -> Result<()> {
        if self.compute(octets)?.ct_eq(auth_data) {
            Ok(())
        } else {
            Err(CryptoError::AuthenticationFailed)
        }
    }
}

impl AuthSigner for PskAuth {
    fn method(&self) -> AuthMethod {
        AuthMethod::SharedKeyMic
    }

    fn sign(&self, octets: &SignedOctets<'_>, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(self.compute(octets)?.expose());
        Ok(())
    }
}

impl AuthVerifier for PskAuth {
    fn method(&self) -> AuthMethod {
        AuthMethod::SharedKeyMic
    }

    fn verify(&self, octets: &SignedOctets<'_>, auth_data: &[u8]) -> Result<()> {
        self.check(octets, auth_data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EncrAlgorithm;
    use crate::keys::IkeSuite;
    use crate::sk::EncrTransform;

    fn keys() -> IkeSaKeys {
        let suite = IkeSuite::new(
            EncrTransform::new(EncrAlgorithm::AesGcm16, Some(128)).unwrap(),
            PrfAlgorithm::HmacSha2_256,
            None,
        )
        .unwrap();
        IkeSaKeys::from_shared_secret(suite, &[5; 32], &[1; 32], &[2; 32], &[3; 8], &[4; 8])
            .unwrap()
    }

    /// AUTH by hand from the RFC formula, with HMAC computed independently
    /// through aws-lc-rs.
    #[test]
    fn psk_auth_matches_formula() {
        use aws_lc_rs::hmac;
        let k = keys();
        let msg1 = b"IKE_SA_INIT request bytes";
        let nr = [9u8; 32];
        let idi = b"\x02\x00\x00\x00alice@example.test";
        let psk = b"correct horse battery staple";

        let octets = SignedOctets::new(&k, Role::Initiator, msg1, &nr, idi).unwrap();
        let auth = PskAuth::new(PrfAlgorithm::HmacSha2_256, psk).unwrap();
        let got = auth.compute(&octets).unwrap();

        let h = |key: &[u8], data: &[u8]| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
                .as_ref()
                .to_vec()
        };
        let maced = h(k.sk_pi.expose(), idi);
        let signed = [&msg1[..], &nr, &maced].concat();
        assert_eq!(octets.to_vec(), signed);
        let want = h(&h(psk, b"Key Pad for IKEv2"), &signed);
        assert_eq!(got.expose(), &want[..]);

        auth.check(&octets, &want).unwrap();
        let mut bad = want.clone();
        bad[0] ^= 1;
        assert_eq!(
            auth.check(&octets, &bad),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            auth.check(&octets, &want[..16]),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn roles_use_their_own_sk_p() {
        let k = keys();
        let id = b"\x01\x00\x00\x00\xc0\x00\x02\x01";
        let i = SignedOctets::new(&k, Role::Initiator, b"m", b"n", id).unwrap();
        let r = SignedOctets::new(&k, Role::Responder, b"m", b"n", id).unwrap();
        assert_ne!(i.maced_id.expose(), r.maced_id.expose());
        let direct = Prf::new(PrfAlgorithm::HmacSha2_256, k.sk_pr.expose())
            .unwrap()
            .compute(&[id])
            .unwrap();
        assert_eq!(r.maced_id.expose(), direct.expose());
    }

    #[test]
    fn both_ends_agree_through_the_traits() {
        let k = keys();
        let signer: Box<dyn AuthSigner> =
            Box::new(PskAuth::new(PrfAlgorithm::HmacSha2_256, b"psk").unwrap());
        let verifier: Box<dyn AuthVerifier> =
            Box::new(PskAuth::new(PrfAlgorithm::HmacSha2_256, b"psk").unwrap());
        let wrong = PskAuth::new(PrfAlgorithm::HmacSha2_256, b"psk2").unwrap();
        let octets = SignedOctets::new(&k, Role::Responder, b"msg2", b"ni", b"\x02\0\0\0r")
            .unwrap()
            .with_int_auth(b"intauth");
        let mut data = Vec::new();
        signer.sign(&octets, &mut data).unwrap();
        assert_eq!(signer.method(), AuthMethod::SharedKeyMic);
        verifier.verify(&octets, &data).unwrap();
        assert!(wrong.verify(&octets, &data).is_err());
        assert_eq!(octets.len(), 4 + 2 + 32 + 7);
    }
}
