//! Finite-field Diffie-Hellman over the MODP groups (RFC 2409 §6.2,
//! RFC 3526), with `crypto-bigint`'s constant-time Montgomery
//! exponentiation — pure Rust, so no `unsafe` in this crate.
//!
//! Private exponents are twice the group's security strength in bits
//! (RFC 3526 §8, NIST SP 800-57): 256 bits for the 1024-bit group up to 512
//! for 3072 bits and above. The peer's value must satisfy 1 < y < p−1
//! (RFC 6989 §2.1); with safe primes that rules out the small subgroups.
//! Public values and g^ir are left-padded to the modulus length
//! (RFC 7296 §3.4).

use std::sync::OnceLock;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use zeroize::Zeroize;

use super::modp_primes::{
    MODP_1024, MODP_1536, MODP_2048, MODP_3072, MODP_4096, MODP_6144, MODP_8192,
};
use super::{check_len, invalid, KeyExchange, SharedSecret};
use crate::error::{CryptoError, Result};
use crate::ids::KeGroup;
use crate::rand::SecureRandom;
use crate::secret::SecretBytes;

pub(super) struct GroupParams {
    bits: u32,
    exp_bits: u32,
    monty: BoxedMontyParams,
    p_minus_1: BoxedUint,
    one: BoxedUint,
}

fn table(group: KeGroup) -> Option<(&'static str, u32, u32, &'static OnceLock<GroupParams>)> {
    static P1024: OnceLock<GroupParams> = OnceLock::new();
    static P1536: OnceLock<GroupParams> = OnceLock::new();
    static P2048: OnceLock<GroupParams> = OnceLock::new();
    static P3072: OnceLock<GroupParams> = OnceLock::new();
    static P4096: OnceLock<GroupParams> = OnceLock::new();
    static P6144: OnceLock<GroupParams> = OnceLock::new();
    static P8192: OnceLock<GroupParams> = OnceLock::new();
    Some(match group {
        KeGroup::Modp1024 => (MODP_1024, 1024, 256, &P1024),
        KeGroup::Modp1536 => (MODP_1536, 1536, 320, &P1536),
        KeGroup::Modp2048 => (MODP_2048, 2048, 384, &P2048),
        KeGroup::Modp3072 => (MODP_3072, 3072, 512, &P3072),
        KeGroup::Modp4096 => (MODP_4096, 4096, 512, &P4096),
        KeGroup::Modp6144 => (MODP_6144, 6144, 512, &P6144),
        KeGroup::Modp8192 => (MODP_8192, 8192, 512, &P8192),
        _ => return None,
    })
}

/// The group's constants, computed once per process: they are public, fixed
/// numbers, so sharing them is not the global mutable state the style guide
/// warns about.
pub(super) fn params(group: KeGroup) -> Result<&'static GroupParams> {
    let (hex, bits, exp_bits, cell) =
        table(group).ok_or(CryptoError::UnsupportedGroup(group.iana()))?;
    if let Some(p) = cell.get() {
        return Ok(p);
    }
    let p = Option::<BoxedUint>::from(BoxedUint::from_be_hex(hex, bits))
        .ok_or(CryptoError::Internal("MODP prime constant"))?;
    let odd = Option::<Odd<BoxedUint>>::from(Odd::new(p.clone()))
        .ok_or(CryptoError::Internal("MODP prime is even"))?;
    let one = BoxedUint::one_with_precision(bits);
    let p_minus_1 = p.wrapping_sub(&one);
    Ok(cell.get_or_init(|| GroupParams {
        bits,
        exp_bits,
        // The modulus is public, so the variable-time setup leaks nothing.
        monty: BoxedMontyParams::new_vartime(odd),
        p_minus_1,
        one,
    }))
}

pub(super) struct Modp {
    group: KeGroup,
    params: &'static GroupParams,
    exponent: BoxedUint,
    exp_bits: u32,
    public: Vec<u8>,
}

impl Modp {
    pub(super) fn generate(group: KeGroup, rng: &mut dyn SecureRandom) -> Result<Self> {
        let params = params(group)?;
        let mut bytes = vec![0u8; (params.exp_bits / 8) as usize];
        rng.fill(&mut bytes)?;
        // Fixing the top bit makes the exponent exactly `exp_bits` long (so
        // the bound passed to the ladder reveals nothing) and non-zero.
        bytes[0] |= 0x80;
        let r = Self::from_exponent(group, &bytes);
        bytes.zeroize();
        r
    }

    pub(super) fn from_exponent(group: KeGroup, exponent: &[u8]) -> Result<Self> {
        let params = params(group)?;
        let bad = CryptoError::InvalidKeyLength {
            what: "MODP exponent",
            expected: (params.bits / 8) as usize,
            got: exponent.len(),
        };
        if exponent.is_empty() || exponent.len() > (params.bits / 8) as usize {
            return Err(bad);
        }
        let exp_bits = u32::try_from(exponent.len() * 8).map_err(|_| bad.clone())?;
        // Precision must be a whole number of limbs.
        let precision = exp_bits.div_ceil(64) * 64;
        let exponent = BoxedUint::from_be_slice(exponent, precision).map_err(|_| bad)?;
        let g = BoxedMontyForm::new(
            BoxedUint::from_be_slice(&[2], params.bits)
                .map_err(|_| CryptoError::Internal("generator"))?,
            &params.monty,
        );
        let y = g.pow_bounded_exp(&exponent, exp_bits).retrieve();
        let public = y.to_be_bytes().into_vec();
        if public.len() != group.public_len() {
            return Err(CryptoError::Internal("MODP public value length"));
        }
        Ok(Self {
            group,
            params,
            exponent,
            exp_bits,
            public,
        })
    }
}

impl Drop for Modp {
    fn drop(&mut self) {
        self.exponent.zeroize();
    }
}

impl KeyExchange for Modp {
    fn group(&self) -> KeGroup {
        self.group
    }

    fn public_value(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret> {
        let group = self.group;
        check_len(group, peer)?;
        let p = self.params;
        let y = BoxedUint::from_be_slice(peer, p.bits)
            .map_err(|_| invalid(group, "does not fit the modulus"))?;
        // RFC 6989 §2.1: 1 < y < p-1. The value is public: variable time is fine.
        if y <= p.one || y >= p.p_minus_1 {
            return Err(invalid(group, "outside 1 < y < p-1"));
        }
        let base = BoxedMontyForm::new(y, &p.monty);
        let mut z = base
            .pow_bounded_exp(&self.exponent, self.exp_bits)
            .retrieve();
        let bytes = z.to_be_bytes();
        z.zeroize();
        let secret = SecretBytes::from_boxed(bytes);
        if secret.len() != group.shared_secret_len() {
            return Err(CryptoError::Internal("MODP shared secret length"));
        }
        Ok(secret)
    }
}

#[cfg(test)]
impl GroupParams {
    pub(super) fn monty(&self) -> &BoxedMontyParams {
        &self.monty
    }
}

#[cfg(test)]
pub(super) fn prime(group: KeGroup) -> BoxedUint {
    params(group).unwrap().monty.modulus().as_ref().clone()
}
