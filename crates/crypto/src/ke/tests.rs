use super::*;
use crate::rand::DeterministicRandom;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).unwrap()
}

/// One side of a published vector: private value, public value (IKE
/// encoding), and the expected g^ir with the other side's public value.
fn check_vector(
    group: KeGroup,
    a_priv: &str,
    a_pub: &str,
    b_priv: &str,
    b_pub: &str,
    shared: &str,
) {
    let a = from_private(group, &h(a_priv)).unwrap();
    let b = from_private(group, &h(b_priv)).unwrap();
    assert_eq!(
        hex::encode(a.public_value()),
        hex::encode(h(a_pub)),
        "{group:?} a pub"
    );
    assert_eq!(
        hex::encode(b.public_value()),
        hex::encode(h(b_pub)),
        "{group:?} b pub"
    );
    let ab = a.complete(&h(b_pub)).unwrap();
    let ba = b.complete(&h(a_pub)).unwrap();
    assert_eq!(
        hex::encode(ab.expose()),
        hex::encode(h(shared)),
        "{group:?}"
    );
    assert_eq!(ab.expose(), ba.expose());
}

/// RFC 5903 §8.1: 256-bit random ECP group, x ‖ y encoding, g^ir = x.
#[test]
fn rfc5903_ecp256() {
    check_vector(
        KeGroup::Ecp256,
        "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
        "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180
         5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
        "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
        "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63
         56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
        "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
    );
}

/// RFC 5903 §8.2: 384-bit random ECP group.
#[test]
fn rfc5903_ecp384() {
    check_vector(
        KeGroup::Ecp384,
        "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655
         E35B538041E649EE3FAEF896783AB194",
        "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6
         DE3AC808ACB4BDB4C88732AEE95F41AA
         9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38E
         EB9FCFF3C2C947DAE69B4C634573A81C",
        "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942
         E0308312916B8ED2960E4BD55A7448FC",
        "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D
         0D1AC43A0336DEF96FDA41D0774A3571
         DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FF
         F83FA40142209DFF5EAAD96DB9E6386C",
        "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4
         D603135569B9E9D09CF5D4A270F59746",
    );
}

/// RFC 5903 §8.3: 521-bit random ECP group (66-byte coordinates).
#[test]
fn rfc5903_ecp521() {
    check_vector(
        KeGroup::Ecp521,
        "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A0
         95AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D
         4A52",
        "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBE
         E1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176C
         ED3E
         017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10A
         D8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F
         9582",
        "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E
         9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB15168
         5EB9",
        "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A21
         9B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9
         460F
         015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87
         220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0F
         C56A",
        "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04
         D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3
         DDEA",
    );
}

/// RFC 7748 §6.1.
#[test]
fn rfc7748_x25519() {
    check_vector(
        KeGroup::Curve25519,
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
    );
}

/// RFC 7748 §6.2.
#[cfg(feature = "x448")]
#[test]
fn rfc7748_x448() {
    check_vector(
        KeGroup::Curve448,
        "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28d
         d9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
        "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c
         22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
        "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d
         6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
        "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b430
         27d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
        "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282b
         b60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
    );
}

#[cfg(not(feature = "x448"))]
#[test]
fn x448_disabled_is_unsupported() {
    let mut rng = DeterministicRandom::from_seed(1);
    assert_eq!(
        start(KeGroup::Curve448, &mut rng).err(),
        Some(CryptoError::UnsupportedGroup(32))
    );
}

/// Both parties agree, for every group this build supports, with private
/// values drawn from the injected RNG; different seeds give different
/// values and the same seed the same ones.
#[test]
fn every_group_agrees_and_is_reproducible() {
    for &group in KeGroup::ALL {
        if !group.is_supported() || matches!(group, KeGroup::Modp6144 | KeGroup::Modp8192) {
            continue; // the big MODP groups run in their own (slower) test
        }
        if group.is_kem() {
            continue; // asymmetric, and from AWS-LC's own DRBG: the ML-KEM tests
        }
        let mut rng = DeterministicRandom::from_seed(group.iana().into());
        let a = start(group, &mut rng).unwrap();
        let b = start(group, &mut rng).unwrap();
        assert_eq!(a.group(), group);
        assert_eq!(a.public_value().len(), group.public_len(), "{group:?}");
        assert_ne!(a.public_value(), b.public_value());
        let mut rng2 = DeterministicRandom::from_seed(group.iana().into());
        let a2 = start(group, &mut rng2).unwrap();
        assert_eq!(
            a.public_value(),
            a2.public_value(),
            "{group:?} reproducible"
        );
        let (pa, pb) = (a.public_value().to_vec(), b.public_value().to_vec());
        let s1 = a.complete(&pb).unwrap();
        let s2 = b.complete(&pa).unwrap();
        assert_eq!(s1.expose(), s2.expose(), "{group:?}");
        assert_eq!(s1.len(), group.shared_secret_len(), "{group:?}");
    }
}

#[test]
fn big_modp_groups_agree() {
    for group in [KeGroup::Modp6144, KeGroup::Modp8192] {
        let mut rng = DeterministicRandom::from_seed(99);
        let a = start(group, &mut rng).unwrap();
        let b = start(group, &mut rng).unwrap();
        let (pa, pb) = (a.public_value().to_vec(), b.public_value().to_vec());
        assert_eq!(
            a.complete(&pb).unwrap().expose(),
            b.complete(&pa).unwrap().expose()
        );
    }
}

#[test]
fn wrong_lengths_are_rejected() {
    let mut rng = DeterministicRandom::from_seed(5);
    for &group in KeGroup::ALL {
        if !group.is_supported() || matches!(group, KeGroup::Modp6144 | KeGroup::Modp8192) {
            continue;
        }
        let n = group.public_len();
        for len in [0, 1, n - 1, n + 1] {
            let a = start(group, &mut rng).unwrap();
            assert!(
                matches!(
                    a.complete(&vec![0x42; len]),
                    Err(CryptoError::InvalidPeerPublicValue { .. })
                ),
                "{group:?} len {len}"
            );
        }
    }
}

/// RFC 6989 §2.1: 0, 1, p−1, p and all-ones are refused.
#[test]
fn modp_peer_value_range() {
    let mut rng = DeterministicRandom::from_seed(6);
    let group = KeGroup::Modp2048;
    let p = modp::prime(group).to_be_bytes().into_vec();
    let mut p_minus_1 = p.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    let mut one = vec![0u8; 256];
    one[255] = 1;
    let mut two = vec![0u8; 256];
    two[255] = 2;
    for bad in [vec![0u8; 256], one, p_minus_1.clone(), p, vec![0xff; 256]] {
        let a = start(group, &mut rng).unwrap();
        assert!(matches!(
            a.complete(&bad),
            Err(CryptoError::InvalidPeerPublicValue { .. })
        ));
    }
    // 2 and p−2 are acceptable.
    let mut p_minus_2 = p_minus_1;
    *p_minus_2.last_mut().unwrap() -= 1;
    for ok in [two, p_minus_2] {
        let a = start(group, &mut rng).unwrap();
        assert_eq!(a.complete(&ok).unwrap().len(), 256);
    }
}

/// The MODP constants are the published primes: right length, the fixed
/// all-ones 64-bit ends, and 2 is a quadratic residue (2^q ≡ 1 with
/// q = (p−1)/2, true for these safe primes p ≡ 7 mod 8).
#[test]
fn modp_primes_are_sound() {
    use crypto_bigint::modular::BoxedMontyForm;
    for group in [
        KeGroup::Modp1024,
        KeGroup::Modp1536,
        KeGroup::Modp2048,
        KeGroup::Modp3072,
        KeGroup::Modp4096,
        KeGroup::Modp6144,
        KeGroup::Modp8192,
    ] {
        let p = modp::prime(group);
        let bytes = p.to_be_bytes();
        assert_eq!(bytes.len(), group.public_len());
        assert_eq!(&bytes[..8], &[0xff; 8]);
        assert_eq!(&bytes[bytes.len() - 8..], &[0xff; 8]);
        let params = modp::params(group).unwrap();
        let q = p.shr_vartime(1).unwrap();
        let bits = p.bits_precision();
        let two = BoxedMontyForm::new(
            crypto_bigint::BoxedUint::from_be_slice(&[2], bits).unwrap(),
            params.monty(),
        );
        let r = two.pow(&q).retrieve();
        assert_eq!(
            r,
            crypto_bigint::BoxedUint::one_with_precision(bits),
            "{group:?}"
        );
    }
}

#[test]
fn ecp_off_curve_point_is_rejected() {
    let mut rng = DeterministicRandom::from_seed(7);
    for group in [KeGroup::Ecp256, KeGroup::Ecp384, KeGroup::Ecp521] {
        let a = start(group, &mut rng).unwrap();
        let b = start(group, &mut rng).unwrap();
        let mut p = b.public_value().to_vec();
        *p.last_mut().unwrap() ^= 1;
        assert!(matches!(
            a.complete(&p),
            Err(CryptoError::InvalidPeerPublicValue { .. })
        ));
    }
}

/// RFC 8031 §2.3 / RFC 7748 §6: a low-order X25519 point gives all zeros.
#[test]
fn x25519_low_order_point_is_rejected() {
    let mut rng = DeterministicRandom::from_seed(8);
    for point in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        let a = start(KeGroup::Curve25519, &mut rng).unwrap();
        assert!(matches!(
            a.complete(&point),
            Err(CryptoError::InvalidPeerPublicValue { .. })
        ));
    }
}

#[cfg(feature = "x448")]
#[test]
fn x448_low_order_point_is_rejected() {
    let mut rng = DeterministicRandom::from_seed(8);
    let a = start(KeGroup::Curve448, &mut rng).unwrap();
    assert!(matches!(
        a.complete(&[0u8; 56]),
        Err(CryptoError::InvalidPeerPublicValue { .. })
    ));
}

/// ML-KEM against an independent implementation (RustCrypto's `ml-kem`,
/// FIPS 203): each side's encapsulation key and ciphertext, exactly as the
/// KE payloads carry them, give the other the same 32-byte secret, in both
/// roles and for every parameter set.
#[test]
fn ml_kem_agrees_with_an_independent_implementation() {
    use ml_kem::{Decapsulate, KeyExport};
    macro_rules! check {
        ($p:ty, $group:expr, $seed:expr) => {{
            let (group, seed): (KeGroup, u8) = ($group, $seed);
            let mut rng = DeterministicRandom::from_seed(seed.into());
            // Theirs initiates (encapsulation key), ours responds (ciphertext).
            let theirs = ml_kem::DecapsulationKey::<$p>::from_seed([seed; 64].into());
            let ek = theirs.encapsulation_key().to_bytes();
            assert_eq!(ek.len(), group.public_len(), "{group:?}");
            let (ct, ours) = respond(group, &ek, &mut rng).unwrap();
            assert_eq!(ct.len(), group.response_len(), "{group:?}");
            let ct = ml_kem::Ciphertext::<$p>::try_from(ct.as_slice()).unwrap();
            assert_eq!(
                theirs.decapsulate(&ct).as_slice(),
                ours.expose(),
                "{group:?}"
            );
            // Ours initiates, theirs responds.
            let ours = start(group, &mut rng).unwrap();
            let key = ours
                .public_value()
                .try_into()
                .expect("encapsulation key length");
            let ek = ml_kem::EncapsulationKey::<$p>::new(&key).unwrap();
            let (ct, theirs) = ek.encapsulate_deterministic(&[seed ^ 0x5a; 32].into());
            let secret = ours.complete(ct.as_slice()).unwrap();
            assert_eq!(secret.expose(), theirs.as_slice(), "{group:?}");
            assert_eq!(secret.expose().len(), group.shared_secret_len());
        }};
    }
    for seed in [1u8, 77, 200] {
        check!(ml_kem::MlKem512, KeGroup::MlKem512, seed);
        check!(ml_kem::MlKem768, KeGroup::MlKem768, seed);
        check!(ml_kem::MlKem1024, KeGroup::MlKem1024, seed);
    }
}

/// Malformed ML-KEM data is refused by length before AWS-LC sees it, and a
/// tampered ciphertext yields a different secret (implicit rejection,
/// FIPS 203 §6.3), never an error the peer could probe.
#[test]
fn ml_kem_rejects_bad_lengths_and_tampering() {
    let mut rng = DeterministicRandom::from_seed(3);
    for g in [KeGroup::MlKem512, KeGroup::MlKem768, KeGroup::MlKem1024] {
        assert!(respond(g, &[0u8; 31], &mut rng).is_err());
        let a = start(g, &mut rng).unwrap();
        let (mut ct, shared) = respond(g, a.public_value(), &mut rng).unwrap();
        ct[5] ^= 1;
        let b = start(g, &mut rng).unwrap();
        assert!(b.complete(&ct[1..]).is_err());
        let other = a.complete(&ct).unwrap();
        assert_ne!(other.expose(), shared.expose());
    }
}
