//! The `list-sas` answer: IKE SAs with their CHILD SAs, algorithms, traffic
//! selectors and the data plane's counters (the JSON is documented in
//! `docs/control-api.md`).

use std::time::Instant;

use yadokari_control::{ChildAlgorithms, ChildSaInfo, IkeAlgorithms, IkeSaInfo, PeerCertInfo};
use yadokari_dataplane::Direction;
use yadokari_ike::{Identity, TrafficSelector};
use yadokari_wire::registry::{EncrId, IntegId, KeMethod, PrfId};

use crate::engine::Engine;

pub fn list(engine: &Engine, now: Instant) -> Vec<IkeSaInfo> {
    let ep = engine.endpoint();
    let children = ep.child_sa_views();
    // One lookup table, not a scan of every SA's counters per CHILD SA.
    let counters: std::collections::HashMap<(Direction, u32), _> = engine
        .network()
        .dataplane()
        .ok()
        .map(|d| d.counters().sas.into_iter().collect())
        .unwrap_or_default();
    ep.ike_sas()
        .into_iter()
        .map(|sa| {
            let conn = engine.connection(sa.conn);
            let name = conn.map(|c| c.name.clone()).unwrap_or_default();
            let local_id = conn.map(|c| identity(&c.conn.local_id)).unwrap_or_default();
            let remote_id = conn
                .and_then(|c| c.conn.remote_id.as_ref())
                .map(identity)
                .unwrap_or_default();
            let kids = children
                .iter()
                .filter(|v| v.info.ike == sa.id)
                .map(|v| {
                    let c = &v.info;
                    let inb = counters.get(&(Direction::Inbound, c.spi_in));
                    let out = counters.get(&(Direction::Outbound, c.spi_out));
                    ChildSaInfo {
                        name: name.clone(),
                        mode: match c.mode {
                            yadokari_ike::Mode::Tunnel => "tunnel".into(),
                            yadokari_ike::Mode::Transport => "transport".into(),
                        },
                        encapsulation: if c.encap.is_some() {
                            "udp".into()
                        } else {
                            "esp".into()
                        },
                        spi_in: format!("{:08x}", c.spi_in),
                        spi_out: format!("{:08x}", c.spi_out),
                        local_ts: c.ts_local.iter().map(ts).collect(),
                        remote_ts: c.ts_remote.iter().map(ts).collect(),
                        algorithms: ChildAlgorithms {
                            encryption: encr_name(c.algorithms.encr.id, c.algorithms.encr.key_len),
                            integrity: c.algorithms.integ.map(|t| integ_name(t.id)),
                            esn: c.algorithms.esn,
                            ke: c.algorithms.ke.map(ke_name),
                        },
                        bytes_in: inb.map_or(0, |k| k.bytes),
                        bytes_out: out.map_or(0, |k| k.bytes),
                        packets_in: inb.map_or(0, |k| k.packets),
                        packets_out: out.map_or(0, |k| k.packets),
                        established_secs: engine
                            .child_since
                            .get(&c.spi_in)
                            .map_or(0, |t| now.duration_since(*t).as_secs()),
                        rekey_in_secs: secs_until(now, v.rekey_at),
                        expire_in_secs: secs_until(now, v.expire_at),
                    }
                })
                .collect();
            IkeSaInfo {
                name,
                state: sa.lifecycle.as_str().to_owned(),
                initiator: sa.initiator,
                local: sa.path.local.to_string(),
                remote: sa.path.remote.to_string(),
                local_id,
                remote_id,
                ispi: format!("{:016x}", sa.spi_i),
                rspi: format!("{:016x}", sa.spi_r),
                algorithms: match sa.algorithms {
                    Some(a) => IkeAlgorithms {
                        encryption: encr_name(a.encr, a.encr_key_bits),
                        integrity: a.integ.map(integ_name),
                        prf: prf_name(a.prf),
                        ke: ke_name(a.ke),
                    },
                    // Not negotiated yet.
                    None => IkeAlgorithms {
                        encryption: String::new(),
                        integrity: None,
                        prf: String::new(),
                        ke: String::new(),
                    },
                },
                established_secs: engine
                    .ike_since
                    .get(&sa.id)
                    .map_or(0, |t| now.duration_since(*t).as_secs()),
                rekey_in_secs: secs_until(now, sa.rekey_at),
                expire_in_secs: secs_until(now, sa.expire_at),
                peer_cert: sa.peer_cert.as_ref().map(|c| PeerCertInfo {
                    subject: c.subject.clone(),
                    issuer: c.issuer.clone(),
                }),
                children: kids,
            }
        })
        .collect()
}

fn ts(t: &TrafficSelector) -> String {
    t.to_string()
}

fn identity(id: &Identity) -> String {
    match id {
        Identity::Ipv4(a) => std::net::Ipv4Addr::from(*a).to_string(),
        Identity::Ipv6(a) => std::net::Ipv6Addr::from(*a).to_string(),
        Identity::Fqdn(s) | Identity::Rfc822(s) => s.clone(),
        Identity::KeyId(k) => format!(
            "keyid:{}",
            k.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
        Identity::DnPattern(dn) => format!("dn:{dn}"),
        Identity::Other { id_type: 9, data } => format!(
            "dn:{}",
            yadokari_crypto::cert::dn_text(data).unwrap_or_default()
        ),
        Identity::Other { id_type, .. } => format!("id-type-{id_type}"),
    }
}

/// Whole seconds from `now` to a deadline (0 once it is due).
fn secs_until(now: Instant, at: Option<Instant>) -> Option<u64> {
    at.map(|t| t.saturating_duration_since(now).as_secs())
}

/// Algorithm names come from the wire crate's IANA registries (RFC 7296
/// §3.3.2, "IKEv2 Parameters"), the one catalogue every other part of
/// yadokari prints from; an unassigned number prints as itself.
fn iana(name: Option<&'static str>, id: u16) -> String {
    name.map_or_else(|| id.to_string(), str::to_owned)
}

/// The IANA name, then `_` and the key length in bits for ciphers that take
/// a Key Length attribute (§3.3.5): `ENCR_AES_GCM_16_256`.
pub fn encr_name(id: u16, bits: Option<u16>) -> String {
    let base = iana(EncrId(id).name(), id);
    match bits {
        Some(b) => format!("{base}_{b}"),
        None => base,
    }
}

pub fn integ_name(id: u16) -> String {
    iana(IntegId(id).name(), id)
}

pub fn prf_name(id: u16) -> String {
    iana(PrfId(id).name(), id)
}

pub fn ke_name(id: u16) -> String {
    iana(KeMethod(id).name(), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_registry_names() {
        assert_eq!(encr_name(20, Some(256)), "ENCR_AES_GCM_16_256");
        assert_eq!(encr_name(28, None), "ENCR_CHACHA20_POLY1305");
        assert_eq!(integ_name(12), "AUTH_HMAC_SHA2_256_128");
        assert_eq!(prf_name(5), "PRF_HMAC_SHA2_256");
        assert_eq!(ke_name(31), "Curve25519");
        assert_eq!(ke_name(20), "384-bit random ECP group");
        assert_eq!(ke_name(60000), "60000");
    }

    #[test]
    fn seconds_until_a_deadline() {
        let now = Instant::now();
        let at = now + std::time::Duration::from_millis(13_911_400);
        assert_eq!(secs_until(now, Some(at)), Some(13_911));
        assert_eq!(secs_until(at, Some(now)), Some(0));
        assert_eq!(secs_until(now, None), None);
    }
}
