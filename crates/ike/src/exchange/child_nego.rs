//! CHILD SA negotiation shared by IKE_AUTH (first child, §1.2) and
//! CREATE_CHILD_SA (§1.3.1, §1.3.3): proposals, optional PFS KE, traffic
//! selector narrowing (§2.9), USE_TRANSPORT_MODE (§1.3.1), and KEYMAT
//! (§2.17). Errors come back as the notify the responder sends; the IKE SA
//! survives them.

use yadokari_policy::narrow::{self, TsPolicy};
use yadokari_policy::TsSet;

use crate::config::{ChildConfig, ConnConfig, ConnId, Mode};
use crate::cx::Cx;
use crate::error::{IkeError, PeerMisbehaved};
use crate::event::{ChildSaInfo, ChildSaKeys};
use crate::msg::{Message, Notify, Payload};
use crate::proposal::{self, ChildAlgorithms, Proposal};
use crate::reg::{notify, protocol};
use crate::sa::IkeSa;
use crate::suite::{self, IkeKeys, KeSecret};
use crate::ts::TrafficSelector;

/// What the initiator of a child exchange keeps until the response.
pub struct ChildOffer {
    pub child: usize,
    pub spi_in: u32,
    pub offered: Vec<Proposal>,
    pub ts_i: Vec<TrafficSelector>,
    pub ts_r: Vec<TrafficSelector>,
    pub transport: bool,
    /// PFS: our KE private value and group (CREATE_CHILD_SA only).
    pub ke: Option<(u16, KeSecret)>,
}

fn child_cfg(conn: &ConnConfig, idx: usize) -> Result<&ChildConfig, IkeError> {
    conn.children
        .get(idx)
        .ok_or(IkeError::ApiMisuse("unknown child config"))
}

/// Initiator: builds the offer and its payloads (SA, [KEi], TSi, TSr, [N(USE_TRANSPORT_MODE)]).
/// Nonces are added by the caller (IKE_AUTH has none of its own).
pub fn offer(
    cx: &mut Cx<'_>,
    conn: &ConnConfig,
    child: usize,
    spi_in: u32,
    with_ke: bool,
) -> Result<(ChildOffer, Vec<Payload>), IkeError> {
    let cc = child_cfg(conn, child)?;
    let cfgs: Vec<&proposal::ProposalConfig> = cc.proposals.iter().map(|p| &p.0).collect();
    let offered = proposal::offer(&cfgs, protocol::ESP, &spi_in.to_be_bytes(), !with_ke);
    let ke_group = if with_ke {
        cc.proposals.iter().flat_map(|p| p.ke_groups()).next()
    } else {
        None
    };
    let ke = match ke_group {
        Some(g) => Some((g, suite::ke_generate(g, cx.rng)?)),
        None => None,
    };
    let mut payloads = vec![Payload::Sa(offered.clone())];
    if let Some((g, k)) = &ke {
        payloads.push(Payload::Ke {
            group: *g,
            data: k.public().to_vec(),
        });
    }
    payloads.push(Payload::TsI(cc.ts_local.clone()));
    payloads.push(Payload::TsR(cc.ts_remote.clone()));
    let transport = cc.mode == Mode::Transport;
    if transport {
        payloads.insert(
            0,
            Payload::Notify(Notify::new(notify::USE_TRANSPORT_MODE, Vec::new())),
        );
    }
    Ok((
        ChildOffer {
            child,
            spi_in,
            offered,
            ts_i: cc.ts_local.clone(),
            ts_r: cc.ts_remote.clone(),
            transport,
            ke,
        },
        payloads,
    ))
}

/// The nonces and keys a child's KEYMAT comes from.
pub struct KeyInput<'a> {
    pub ike_keys: &'a IkeKeys,
    pub ni: &'a [u8],
    pub nr: &'a [u8],
}

/// A refusal the responder sends; the IKE SA stays up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub notify: u16,
    pub data: Vec<u8>,
}

impl Refusal {
    fn new(notify: u16) -> Self {
        Self {
            notify,
            data: Vec::new(),
        }
    }

    pub fn payload(&self) -> Payload {
        Payload::Notify(Notify::new(self.notify, self.data.clone()))
    }
}

/// The responder's result: the child to install and the response payloads
/// (SA, [KEr], TSi, TSr, [N(USE_TRANSPORT_MODE)]; the caller adds Nr).
pub struct Accepted {
    pub info: ChildSaInfo,
    pub keys: ChildSaKeys,
    pub child: usize,
    pub payloads: Vec<Payload>,
}

fn ts_set(v: &[TrafficSelector]) -> TsSet {
    v.iter().copied().collect()
}

/// Responder side. `rekey_child` forces the child config of the SA being
/// rekeyed; `allow_ke` is false in IKE_AUTH (KE transforms ignored there).
#[allow(clippy::too_many_arguments)]
pub fn respond(
    cx: &mut Cx<'_>,
    sa: &IkeSa,
    conn_id: ConnId,
    msg: &Message,
    keys: &KeyInput<'_>,
    rekey_child: Option<usize>,
    allow_ke: bool,
    spi_in: u32,
) -> Result<Accepted, Refusal> {
    let conn = cx
        .cfg
        .connection(conn_id)
        .ok_or(Refusal::new(notify::NO_PROPOSAL_CHOSEN))?;
    let (Some(sa_pl), Some(ts_i), Some(ts_r)) = (msg.sa(), msg.ts_i(), msg.ts_r()) else {
        return Err(Refusal::new(notify::INVALID_SYNTAX));
    };
    let (ts_i, ts_r) = (ts_set(ts_i), ts_set(ts_r));
    // Which child config: the rekeyed one, or the best TS match (§2.9).
    let (child, narrowed) = match rekey_child {
        Some(idx) => {
            let cc = conn
                .children
                .get(idx)
                .ok_or(Refusal::new(notify::TS_UNACCEPTABLE))?;
            let pol = TsPolicy::new(ts_set(&cc.ts_local), ts_set(&cc.ts_remote));
            let n = narrow::narrow_responder(&ts_i, &ts_r, &pol)
                .map_err(|e| Refusal::new(e.notify_type()))?;
            (idx, n)
        }
        None => {
            let pols: Vec<TsPolicy> = conn
                .children
                .iter()
                .map(|c| TsPolicy::new(ts_set(&c.ts_local), ts_set(&c.ts_remote)))
                .collect();
            narrow::select_and_narrow(&ts_i, &ts_r, &pols)
                .map_err(|e| Refusal::new(e.notify_type()))?
        }
    };
    let cc = &conn.children[child];
    let cfgs: Vec<&proposal::ProposalConfig> = cc.proposals.iter().map(|p| &p.0).collect();
    let chosen = proposal::select(&cfgs, sa_pl, protocol::ESP, !allow_ke)
        .ok_or(Refusal::new(notify::NO_PROPOSAL_CHOSEN))?;
    let their_spi = match chosen.spi.as_slice() {
        [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => return Err(Refusal::new(notify::INVALID_SYNTAX)),
    };
    let algs =
        ChildAlgorithms::from_proposal(&chosen).ok_or(Refusal::new(notify::NO_PROPOSAL_CHOSEN))?;
    // PFS (§1.3.1): the KE payload must use the chosen group.
    let mut resp_payloads = Vec::new();
    let mut shared = None;
    let mut ke_payload = None;
    if allow_ke {
        match (algs.ke, msg.ke()) {
            (Some(want), Some((g, data))) if g == want => {
                let (ke_public, s) = suite::ke_respond(g, data, cx.rng).map_err(|e| match e {
                    IkeError::PeerIncompatible(_) => Refusal::new(notify::NO_PROPOSAL_CHOSEN),
                    _ => Refusal::new(notify::INVALID_SYNTAX),
                })?;
                ke_payload = Some(Payload::Ke {
                    group: g,
                    data: ke_public,
                });
                shared = Some(s);
            }
            (Some(want), Some(_)) => {
                return Err(Refusal {
                    notify: notify::INVALID_KE_PAYLOAD,
                    data: want.to_be_bytes().to_vec(),
                });
            }
            (Some(_), None) => return Err(Refusal::new(notify::INVALID_SYNTAX)),
            (None, _) => {}
        }
    }
    // USE_TRANSPORT_MODE (§1.3.1): honoured only if our config says transport.
    let peer_transport = msg.has_notify(notify::USE_TRANSPORT_MODE);
    let mode = match (peer_transport, cc.mode) {
        (true, Mode::Transport) => Mode::Transport,
        (false, Mode::Tunnel) | (true, Mode::Tunnel) => Mode::Tunnel,
        (false, Mode::Transport) => return Err(Refusal::new(notify::NO_PROPOSAL_CHOSEN)),
    };
    let (encr_len, integ_len) = key_lens(&algs).ok_or(Refusal::new(notify::NO_PROPOSAL_CHOSEN))?;
    let (i_to_r, r_to_i) = suite::child_keymat(
        keys.ike_keys,
        shared.as_ref().map(|s| s.expose()),
        keys.ni,
        keys.nr,
        encr_len,
        integ_len,
    )
    .map_err(|_| Refusal::new(notify::NO_PROPOSAL_CHOSEN))?;
    let info = ChildSaInfo {
        ike: sa.id,
        conn: conn_id,
        child,
        spi_in,
        spi_out: their_spi,
        algorithms: algs,
        ts_local: narrowed.ts_r.iter().copied().collect(),
        ts_remote: narrowed.ts_i.iter().copied().collect(),
        mode,
        path: sa.path,
        encap: crate::ext::nat_t::encap(sa, cx.cfg),
    };
    if mode == Mode::Transport {
        resp_payloads.push(Payload::Notify(Notify::new(
            notify::USE_TRANSPORT_MODE,
            Vec::new(),
        )));
    }
    resp_payloads.push(Payload::Sa(vec![Proposal {
        spi: spi_in.to_be_bytes().to_vec(),
        ..chosen
    }]));
    if let Some(k) = ke_payload {
        resp_payloads.push(k);
    }
    resp_payloads.push(Payload::TsI(narrowed.ts_i.iter().copied().collect()));
    resp_payloads.push(Payload::TsR(narrowed.ts_r.iter().copied().collect()));
    Ok(Accepted {
        info,
        keys: ChildSaKeys {
            inbound: i_to_r,
            outbound: r_to_i,
        },
        child,
        payloads: resp_payloads,
    })
}

fn key_lens(algs: &ChildAlgorithms) -> Option<(usize, usize)> {
    Some((algs.encr_key_len()?, algs.integ_key_len()?))
}

/// Initiator side: checks the response and computes the child.
pub fn complete(
    cx: &mut Cx<'_>,
    sa: &IkeSa,
    offer: &mut ChildOffer,
    msg: &Message,
    keys: &KeyInput<'_>,
) -> Result<(ChildSaInfo, ChildSaKeys), IkeError> {
    let (Some(sa_pl), Some(ts_i), Some(ts_r)) = (msg.sa(), msg.ts_i(), msg.ts_r()) else {
        return Err(PeerMisbehaved::MissingPayload("SA/TSi/TSr").into());
    };
    let chosen = proposal::verify_choice(&offer.offered, sa_pl)
        .ok_or(PeerMisbehaved::ChoseUnofferedProposal)?;
    let their_spi = match chosen.spi.as_slice() {
        [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => return Err(PeerMisbehaved::BadSpi.into()),
    };
    if their_spi < 256 {
        return Err(PeerMisbehaved::BadSpi.into());
    }
    let algs =
        ChildAlgorithms::from_proposal(&chosen).ok_or(PeerMisbehaved::ChoseUnofferedProposal)?;
    let shared = match (&mut offer.ke, algs.ke, msg.ke()) {
        (Some((g, ke)), Some(cg), Some((rg, data))) if *g == cg && rg == cg => {
            Some(ke.agree(data)?)
        }
        (None, None, None) => None,
        _ => return Err(PeerMisbehaved::InvalidKe.into()),
    };
    narrow::verify_response(
        &ts_set(&offer.ts_i),
        &ts_set(&offer.ts_r),
        &ts_set(ts_i),
        &ts_set(ts_r),
    )
    .map_err(|_| PeerMisbehaved::TsNotNarrowed)?;
    let mode = if offer.transport && msg.has_notify(notify::USE_TRANSPORT_MODE) {
        Mode::Transport
    } else if offer.transport {
        // We require transport mode; a tunnel-mode answer is a mismatch.
        return Err(IkeError::PeerIncompatible(
            crate::error::PeerIncompatible::ModeMismatch,
        ));
    } else {
        Mode::Tunnel
    };
    let (encr_len, integ_len) = key_lens(&algs).ok_or(PeerMisbehaved::ChoseUnofferedProposal)?;
    let (i_to_r, r_to_i) = suite::child_keymat(
        keys.ike_keys,
        shared.as_ref().map(|s| s.expose()),
        keys.ni,
        keys.nr,
        encr_len,
        integ_len,
    )?;
    let info = ChildSaInfo {
        ike: sa.id,
        conn: sa.conn,
        child: offer.child,
        spi_in: offer.spi_in,
        spi_out: their_spi,
        algorithms: algs,
        ts_local: ts_i.to_vec(),
        ts_remote: ts_r.to_vec(),
        mode,
        path: sa.path,
        encap: crate::ext::nat_t::encap(sa, cx.cfg),
    };
    let keys = ChildSaKeys {
        inbound: r_to_i,
        outbound: i_to_r,
    };
    Ok((info, keys))
}

/// Whether a response is a child-level refusal (an error notify, no SA).
pub fn refusal(msg: &Message) -> Option<u16> {
    if msg.sa().is_some() {
        return None;
    }
    msg.error_notify().map(|n| n.ty)
}
