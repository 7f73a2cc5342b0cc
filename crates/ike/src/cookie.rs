//! Stateless COOKIEs against half-open floods (RFC 7296 §2.6).
//!
//! `Cookie = VersionIDofSecret | Hash(Ni | IPi | SPIi | secret)`, with the
//! hash being SHA-256. The secret rotates every `cookie_rotation`; the previous secret
//! stays valid for one more period, so an initiator that got a cookie just
//! before a rotation is not refused (§2.6: "the responder SHOULD accept
//! cookies from the previous secret for a short time").

use std::net::IpAddr;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::rng::Rng;
use crate::suite;

/// Cookie data length on the wire: 1 version byte + 32 hash bytes.
pub const COOKIE_LEN: usize = 33;

pub struct CookieJar {
    version: u8,
    current: Zeroizing<[u8; 32]>,
    previous: Option<(u8, Zeroizing<[u8; 32]>)>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CookieJar {{ version: {} }}", self.version)
    }
}

fn digest(secret: &[u8; 32], ni: &[u8], ip: IpAddr, spi_i: u64) -> [u8; 32] {
    let ip_bytes: Vec<u8> = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    suite::sha256(&[ni, &ip_bytes, &spi_i.to_be_bytes(), secret])
}

impl CookieJar {
    pub fn new(rng: &mut Rng) -> Self {
        let mut s = Zeroizing::new([0u8; 32]);
        rng.fill(&mut s[..]);
        Self {
            version: 0,
            current: s,
            previous: None,
        }
    }

    /// New secret; the old one stays valid until the next rotation.
    pub fn rotate(&mut self, rng: &mut Rng) {
        let mut s = Zeroizing::new([0u8; 32]);
        rng.fill(&mut s[..]);
        let old = std::mem::replace(&mut self.current, s);
        self.previous = Some((self.version, old));
        self.version = self.version.wrapping_add(1);
    }

    pub fn make(&self, ni: &[u8], ip: IpAddr, spi_i: u64) -> Vec<u8> {
        let mut v = Vec::with_capacity(COOKIE_LEN);
        v.push(self.version);
        v.extend_from_slice(&digest(&self.current, ni, ip, spi_i));
        v
    }

    /// Constant-time check against the current and the previous secret.
    pub fn verify(&self, cookie: &[u8], ni: &[u8], ip: IpAddr, spi_i: u64) -> bool {
        let [ver, hash @ ..] = cookie else {
            return false;
        };
        if hash.len() != 32 {
            return false;
        }
        let secret = if *ver == self.version {
            &self.current
        } else {
            match &self.previous {
                Some((v, s)) if v == ver => s,
                _ => return false,
            }
        };
        bool::from(digest(secret, ni, ip, spi_i).ct_eq(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_secret_honoured_for_one_period() {
        let mut rng = Rng::from(3);
        let mut jar = CookieJar::new(&mut rng);
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let c = jar.make(b"nonce-nonce-nonce", ip, 42);
        assert_eq!(c.len(), COOKIE_LEN);
        assert!(jar.verify(&c, b"nonce-nonce-nonce", ip, 42));
        assert!(!jar.verify(&c, b"nonce-nonce-nonce", ip, 43));
        assert!(!jar.verify(
            &c,
            b"nonce-nonce-nonce",
            "192.0.2.2".parse().expect("ip"),
            42
        ));
        jar.rotate(&mut rng);
        assert!(jar.verify(&c, b"nonce-nonce-nonce", ip, 42), "grace period");
        jar.rotate(&mut rng);
        assert!(!jar.verify(&c, b"nonce-nonce-nonce", ip, 42), "expired");
        assert!(!jar.verify(&[], b"n", ip, 42));
        assert!(!jar.verify(&c[..10], b"nonce-nonce-nonce", ip, 42));
    }
}
