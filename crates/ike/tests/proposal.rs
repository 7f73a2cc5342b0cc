//! Proposal selection (RFC 7296 §2.7, §3.3.6) on proposals written as an
//! operator writes them, through the one proposal parser (`yadokari-config`).

use yadokari_ike::proposal::{ids, offer, select, verify_choice, ChildAlgorithms, ProposalConfig};
use yadokari_ike::reg::transform_type as tt;
use yadokari_ike::Transform;
fn cfg(s: &str) -> ProposalConfig {
    yadokari_config::proposal::parse_ike_proposal(s)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_core()
        .0
}

fn esp(s: &str) -> ProposalConfig {
    yadokari_config::proposal::parse_esp_proposal(s)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_core()
        .0
}

#[test]
fn responder_prefers_its_own_order() {
    let init = offer(
        &[
            &cfg("aes128-sha256-modp2048"),
            &cfg("aes256gcm16-prfsha256-x25519"),
        ],
        1,
        &[],
        false,
    );
    let ours = [
        &cfg("aes256gcm16-prfsha256-x25519"),
        &cfg("aes128-sha256-modp2048"),
    ];
    let chosen = select(&ours, &init, 1, false).expect("a match");
    assert_eq!(chosen.number, 2);
    assert_eq!(chosen.get(tt::KE).map(|t| t.id), Some(ids::CURVE25519));
    assert!(verify_choice(&init, std::slice::from_ref(&chosen)).is_some());
}

#[test]
fn picks_our_preferred_transform_inside_a_proposal() {
    let init = offer(&[&cfg("aes128-aes256-sha256-ecp256-x25519")], 1, &[], false);
    let ours = [&cfg("aes256-sha256-x25519-ecp256")];
    let chosen = select(&ours, &init, 1, false).expect("a match");
    assert_eq!(chosen.get(tt::ENCR).and_then(|t| t.key_len), Some(256));
    assert_eq!(chosen.get(tt::KE).map(|t| t.id), Some(ids::CURVE25519));
}

#[test]
fn no_overlap_is_none() {
    let init = offer(&[&cfg("aes128-sha256-modp2048")], 1, &[], false);
    assert!(select(&[&cfg("aes256gcm16-prfsha256-x25519")], &init, 1, false).is_none());
}

#[test]
fn initiator_rejects_unoffered_or_multiple() {
    let offered = offer(&[&cfg("aes128-sha256-x25519")], 1, &[], false);
    let mut bad = offered[0].clone();
    bad.transforms = vec![
        Transform::new(tt::ENCR, ids::ENCR_AES_CBC, Some(256)),
        Transform::new(tt::PRF, ids::PRF_HMAC_SHA2_256, None),
        Transform::new(tt::INTEG, ids::AUTH_HMAC_SHA2_256_128, None),
        Transform::new(tt::KE, ids::CURVE25519, None),
    ];
    assert!(verify_choice(&offered, &[bad]).is_none());
    // The full offer (two of nothing, but answered as-is) is fine; two proposals are not.
    assert!(verify_choice(&offered, &[offered[0].clone(), offered[0].clone()]).is_none());
}

#[test]
fn child_ke_stripped_in_ike_auth() {
    let c = esp("aes128gcm16-x25519");
    let init = offer(&[&c], 3, &[1, 2, 3, 4], true);
    assert!(init[0].get(tt::KE).is_none());
    let ours = esp("aes128gcm16");
    let chosen = select(&[&ours], &init, 3, true).expect("match");
    assert_eq!(chosen.spi, vec![1, 2, 3, 4]);
    let alg = ChildAlgorithms::from_proposal(&chosen).expect("algs");
    assert_eq!(alg.encr_key_len(), Some(20));
    assert!(!alg.esn);
}
