//! Certificate authentication (issue 11) on the simulated network: both
//! sides sign with rcgen-made certificates (RFC 7427), mixed PSK/cert
//! auth, and refusals with their reasons in words.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use yadokari_crypto::cert::{CertInfo, TrustStore};
use yadokari_crypto::signature::{LocalSigner, PrivateKey};
use yadokari_ike::{AuthConfig, Command, ConnId, Event, FailureReason, IkeError, LocalCert};
use yadokari_sim::config::{pair, PairOptions};
use yadokari_sim::{Faults, Pair, Side};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: Vec<u8>,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let k = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let c = p.self_signed(&k).unwrap();
    Ca {
        der: c.der().to_vec(),
        issuer: Issuer::new(p, k),
    }
}

fn local_cert(
    ca: &Ca,
    san: &str,
    alg: &'static rcgen::SignatureAlgorithm,
    expired: bool,
) -> AuthConfig {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, san);
    p.subject_alt_names = vec![SanType::DnsName(san.try_into().unwrap())];
    if expired {
        p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
        p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    }
    let k = KeyPair::generate_for(alg).unwrap();
    let c = p.signed_by(&k, &ca.issuer).unwrap();
    let key = PrivateKey::from_der(&k.serialize_der()).unwrap();
    AuthConfig::Cert(Arc::new(LocalCert {
        chain: vec![c.der().to_vec()],
        info: CertInfo::parse(c.der()).unwrap(),
        signer: Arc::new(LocalSigner::new(key)),
    }))
}

fn trust(ca: &Ca) -> AuthConfig {
    AuthConfig::Ca(Arc::new(
        TrustStore::new(std::slice::from_ref(&ca.der)).unwrap(),
    ))
}

fn up(p: &mut Pair) -> bool {
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    p.drive_until(p.elapsed() + Duration::from_secs(5), 2000, |p| {
        !p.a.installed.is_empty() && p.b.installed.len() == p.a.installed.len()
    })
}

fn rejection(p: &Pair) -> Option<String> {
    p.a.events.iter().chain(&p.b.events).find_map(|e| match e {
        Event::Failure {
            reason: FailureReason::Protocol(IkeError::AuthRejected(r)),
            ..
        } => Some(r.clone()),
        _ => None,
    })
}

#[test]
fn both_sides_sign_with_each_key_type() {
    let ca = ca("Sim CA");
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
        &rcgen::PKCS_RSA_SHA256,
    ] {
        let (mut a, mut b) = pair(&PairOptions::default());
        a.connections[0].local_auth = local_cert(&ca, "a.example", alg, false);
        a.connections[0].remote_auth = trust(&ca);
        b.connections[0].local_auth = local_cert(&ca, "b.example", alg, false);
        b.connections[0].remote_auth = trust(&ca);
        let mut p = Pair::new(a, b, 7, Faults::none());
        assert!(up(&mut p), "{alg:?}: {:?}", rejection(&p));
        let va = &p.a.live_ike_sas()[0];
        let pc = va.peer_cert.as_ref().expect("peer certificate recorded");
        assert_eq!(pc.subject, "CN=b.example");
        assert_eq!(pc.issuer, "CN=Sim CA");
        assert_eq!(
            p.b.live_ike_sas()[0].peer_cert.as_ref().unwrap().subject,
            "CN=a.example"
        );
    }
}

/// A signs with a certificate, B with the PSK (and the reverse).
#[test]
fn mixed_auth() {
    let ca = ca("Sim CA");
    for a_signs in [true, false] {
        let (mut a, mut b) = pair(&PairOptions::default());
        let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
        if a_signs {
            a.connections[0].local_auth = local_cert(&ca, "a.example", alg, false);
            b.connections[0].remote_auth = trust(&ca);
        } else {
            b.connections[0].local_auth = local_cert(&ca, "b.example", alg, false);
            a.connections[0].remote_auth = trust(&ca);
        }
        let mut p = Pair::new(a, b, 9, Faults::none());
        assert!(up(&mut p), "{a_signs}: {:?}", rejection(&p));
        assert_eq!(p.b.live_ike_sas()[0].peer_cert.is_some(), a_signs);
        assert_eq!(p.a.live_ike_sas()[0].peer_cert.is_some(), !a_signs);
    }
}

fn refused(setup: impl Fn(&mut yadokari_ike::Config, &mut yadokari_ike::Config)) -> String {
    let (mut a, mut b) = pair(&PairOptions::default());
    setup(&mut a, &mut b);
    let mut p = Pair::new(a, b, 11, Faults::none());
    assert!(!up(&mut p));
    assert!(p.a.live_ike_sas().iter().all(|v| v.peer_cert.is_none()));
    rejection(&p).expect("a reason in words")
}

#[test]
fn refusals_say_why() {
    let ca1 = ca("Sim CA");
    let other = ca("Other CA");
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let r = refused(|a, b| {
        a.connections[0].local_auth = local_cert(&ca1, "a.example", alg, true);
        b.connections[0].remote_auth = trust(&ca1);
    });
    assert!(r.contains("expired"), "{r}");
    let r = refused(|a, b| {
        a.connections[0].local_auth = local_cert(&other, "a.example", alg, false);
        b.connections[0].remote_auth = trust(&ca1);
    });
    assert!(r.contains("untrusted issuer `CN=Other CA`"), "{r}");
    // A's ID a.example is not in a certificate made for c.example.
    let r = refused(|a, b| {
        a.connections[0].local_auth = local_cert(&ca1, "c.example", alg, false);
        b.connections[0].remote_auth = trust(&ca1);
    });
    assert!(
        r.contains("`a.example` is not in its certificate") && r.contains("DNS:c.example"),
        "{r}"
    );
    // The responder signs, the initiator wants a PSK.
    let r = refused(|_a, b| {
        b.connections[0].local_auth = local_cert(&ca1, "b.example", alg, false);
    });
    assert!(r.contains("expects a pre-shared key"), "{r}");
}

/// An IKE SA rekey (RFC 7296 §2.18) keeps what authentication proved: the
/// new IKE SA still names the peer's certificate.
#[test]
fn peer_certificate_survives_an_ike_rekey() {
    let ca = ca("Sim CA");
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let (mut a, mut b) = pair(&PairOptions::default());
    a.connections[0].local_auth = local_cert(&ca, "a.example", alg, false);
    a.connections[0].remote_auth = trust(&ca);
    b.connections[0].local_auth = local_cert(&ca, "b.example", alg, false);
    b.connections[0].remote_auth = trust(&ca);
    let mut p = Pair::new(a, b, 13, Faults::none());
    assert!(up(&mut p));
    let ike = p.a.live_ike_sas()[0].id;
    p.command(Side::A, Command::RekeyIke { ike });
    assert!(p.drive_until(Duration::from_secs(10), 1000, |p| {
        let (a, b) = (p.a.live_ike_sas(), p.b.live_ike_sas());
        a.len() == 1 && b.len() == 1 && a[0].id != ike
    }));
    for v in [&p.a.live_ike_sas()[0], &p.b.live_ike_sas()[0]] {
        assert!(v.peer_cert.is_some(), "{v:?}");
    }
}

/// A's certificate is issued by an intermediate CA; B trusts only the
/// root, so A must send the intermediate in a second CERT payload (RFC
/// 7296 §3.6, RFC 4945 §3.2) for B to build the path.
#[test]
fn intermediate_sent_in_the_chain() {
    let root = ca("Sim Root");
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "Sim Intermediate");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ik = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ic = p.signed_by(&ik, &root.issuer).unwrap();
    let inter = Ca {
        der: ic.der().to_vec(),
        issuer: Issuer::new(p, ik),
    };
    for send_intermediate in [true, false] {
        let (mut a, mut b) = pair(&PairOptions::default());
        let mut la = local_cert(&inter, "a.example", &rcgen::PKCS_ECDSA_P256_SHA256, false);
        if let (AuthConfig::Cert(c), true) = (&mut la, send_intermediate) {
            let mut lc = LocalCert {
                chain: c.chain.clone(),
                info: c.info.clone(),
                signer: c.signer.clone(),
            };
            lc.chain.push(inter.der.clone());
            *c = Arc::new(lc);
        }
        a.connections[0].local_auth = la;
        b.connections[0].remote_auth = trust(&root);
        let mut p = Pair::new(a, b, 17, Faults::none());
        assert_eq!(up(&mut p), send_intermediate, "{:?}", rejection(&p));
        if send_intermediate {
            let pc = p.b.live_ike_sas()[0].peer_cert.clone().unwrap();
            assert_eq!(pc.issuer, "CN=Sim Intermediate");
        } else {
            let r = rejection(&p).unwrap();
            assert!(r.contains("untrusted issuer `CN=Sim Intermediate`"), "{r}");
        }
    }
}

/// A wildcard `remote_id` accepts any peer whose certificate carries a
/// matching ID, and refuses one that does not match.
#[test]
fn wildcard_remote_id() {
    let ca = ca("Sim CA");
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    for (pattern, ok) in [("*.example", true), ("*.example.org", false)] {
        let (mut a, mut b) = pair(&PairOptions::default());
        a.connections[0].local_auth = local_cert(&ca, "a.example", alg, false);
        b.connections[0].remote_auth = trust(&ca);
        b.connections[0].remote_id = Some(yadokari_ike::Identity::Fqdn(pattern.into()));
        let mut p = Pair::new(a, b, 19, Faults::none());
        assert_eq!(up(&mut p), ok, "{pattern}");
    }
}
