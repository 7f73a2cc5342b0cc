//! The `list-sas` answer: IKE SAs with their CHILD SAs, algorithms, traffic
//! selectors and the data plane's counters (the JSON is documented in
//! `docs/control-api.md`).

use std::time::Instant;

use yadokari_control::{ChildAlgorithms, ChildSaInfo, IkeAlgorithms, IkeSaInfo};
use yadokari_dataplane::Direction;
use yadokari_ike::{Identity, TrafficSelector};

use crate::engine::Engine;

pub fn list(engine: &Engine, now: Instant) -> Vec<IkeSaInfo> {
    let ep = engine.endpoint();
    let children = ep.child_sas();
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
                .filter(|c| c.ike == sa.id)
                .map(|c| {
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
                        rekey_in_secs: None,
                        expire_in_secs: None,
                    }
                })
                .collect();
            IkeSaInfo {
                name,
                state: sa.state.to_owned(),
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
                rekey_in_secs: None,
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
        Identity::Other { id_type, .. } => format!("id-type-{id_type}"),
    }
}

/// IANA names (RFC 7296 §3.3.2 registries).
pub fn encr_name(id: u16, bits: Option<u16>) -> String {
    let base = match id {
        11 => "ENCR_NULL",
        12 => "ENCR_AES_CBC",
        13 => "ENCR_AES_CTR",
        18 => "ENCR_AES_GCM_8",
        19 => "ENCR_AES_GCM_12",
        20 => "ENCR_AES_GCM_16",
        28 => "ENCR_CHACHA20_POLY1305",
        _ => return format!("ENCR_{id}"),
    };
    match bits {
        Some(b) => format!("{base}_{b}"),
        None => base.to_owned(),
    }
}

pub fn integ_name(id: u16) -> String {
    match id {
        2 => "AUTH_HMAC_SHA1_96".into(),
        5 => "AUTH_AES_XCBC_96".into(),
        8 => "AUTH_AES_CMAC_96".into(),
        12 => "AUTH_HMAC_SHA2_256_128".into(),
        13 => "AUTH_HMAC_SHA2_384_192".into(),
        14 => "AUTH_HMAC_SHA2_512_256".into(),
        _ => format!("AUTH_{id}"),
    }
}

pub fn prf_name(id: u16) -> String {
    match id {
        2 => "PRF_HMAC_SHA1".into(),
        4 => "PRF_AES128_XCBC".into(),
        5 => "PRF_HMAC_SHA2_256".into(),
        6 => "PRF_HMAC_SHA2_384".into(),
        7 => "PRF_HMAC_SHA2_512".into(),
        8 => "PRF_AES128_CMAC".into(),
        _ => format!("PRF_{id}"),
    }
}

pub fn ke_name(id: u16) -> String {
    match id {
        2 => "MODP_1024".into(),
        5 => "MODP_1536".into(),
        14 => "MODP_2048".into(),
        15 => "MODP_3072".into(),
        16 => "MODP_4096".into(),
        19 => "ECP_256".into(),
        20 => "ECP_384".into(),
        21 => "ECP_521".into(),
        31 => "Curve25519".into(),
        32 => "Curve448".into(),
        _ => format!("KE_{id}"),
    }
}
