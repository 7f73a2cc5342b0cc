//! IKE_INTERMEDIATE (RFC 9242) carrying the additional key exchanges of
//! RFC 9370 between IKE_SA_INIT and IKE_AUTH.
//!
//! When the chosen IKE proposal has ADDKE transforms (other than NONE) and
//! both sides announced INTERMEDIATE_EXCHANGE_SUPPORTED, the initiator runs
//! one IKE_INTERMEDIATE exchange per additional key exchange, ADDKE1 first
//! (RFC 9370 §2.2.1). Each carries a KE payload both ways, protected with
//! the keys in force; once it completes both sides replace all SK_* keys
//! (§2.2.2):
//!
//! ```text
//! SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr)
//! {SK_d(n) | SK_ai(n) | ... | SK_pr(n)} = prf+(SKEYSEED(n), Ni | Nr | SPIi | SPIr)
//! ```
//!
//! which is the key schedule of an IKE SA rekey (RFC 7296 §2.18) with the
//! SA's own SPIs. Every IKE_INTERMEDIATE message is folded into IntAuth
//! (RFC 9242 §3.3.2), which the AUTH payloads then cover, so an attacker
//! who could forge the unauthenticated exchanges is caught at IKE_AUTH.

use std::collections::VecDeque;

use yadokari_crypto::Prf;
use zeroize::Zeroizing;

use crate::cx::Cx;
use crate::error::{DropReason, FailureReason, IkeError, PeerMisbehaved};
use crate::exchange::ike_auth;
use crate::msg::{Message, Payload};
use crate::proposal::{is_additional_ke, Proposal};
use crate::reg::{exchange as xt, notify};
use crate::sa::{IkeSa, IntermediateSent, Pending, Phase};
use crate::suite::{self, IkeKeys};

/// The running IntAuth values of both directions (RFC 9242 §3.3.2):
/// `IntAuth_iN = prf(SK_pi, IntAuth_i(N-1) | IntAuth_iNA | IntAuth_iNP)`
/// with the keys that protected message N, and likewise for the responder.
#[derive(Default)]
pub struct IntAuth {
    i: Vec<u8>,
    r: Vec<u8>,
}

impl IntAuth {
    /// Folds one IKE_INTERMEDIATE message in, sent or received, with the
    /// keys that protect it.
    pub fn fold(&mut self, keys: &IkeKeys, msg: &Message) -> Result<(), IkeError> {
        let from_initiator = msg.header.initiator;
        let data = crate::codec::int_auth_octets(msg)?;
        let prev = if from_initiator { &self.i } else { &self.r };
        let out = Prf::new(keys.prf(), keys.sk_p(from_initiator))?.compute(&[prev, &data])?;
        let next = out.expose().to_vec();
        if from_initiator {
            self.i = next;
        } else {
            self.r = next;
        }
        Ok(())
    }

    /// `IntAuth_iN | IntAuth_rN | IKE_AUTH_MID`, the last part being the
    /// Message ID of the first IKE_AUTH request.
    pub fn finish(&self, ike_auth_mid: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.i.len() + self.r.len() + 4);
        v.extend_from_slice(&self.i);
        v.extend_from_slice(&self.r);
        v.extend_from_slice(&ike_auth_mid.to_be_bytes());
        v
    }
}

/// The additional key exchange methods of a chosen proposal, ADDKE1 first;
/// NONE (0) transforms leave that exchange out (RFC 9370 §2.1).
pub fn additional_of(chosen: &Proposal) -> VecDeque<u16> {
    let mut v: Vec<(u8, u16)> = chosen
        .transforms
        .iter()
        .filter(|t| is_additional_ke(t.ty) && t.id != 0)
        .map(|t| (t.ty, t.id))
        .collect();
    v.sort_unstable();
    v.into_iter().map(|(_, id)| id).collect()
}

/// Whether any offered proposal asks for additional key exchanges (then
/// IKE_SA_INIT announces INTERMEDIATE_EXCHANGE_SUPPORTED).
pub fn offers_additional(offered: &[Proposal]) -> bool {
    offered
        .iter()
        .flat_map(|p| &p.transforms)
        .any(|t| is_additional_ke(t.ty) && t.id != 0)
}

/// The keys after an additional key exchange (RFC 9370 §2.2.2): the
/// schedule of an IKE SA rekey (RFC 7296 §2.18) with the SA's own SPIs.
fn next_keys(
    keys: &IkeKeys,
    ni: &[u8],
    nr: &[u8],
    shared: &yadokari_crypto::SecretBytes,
    (spi_i, spi_r): (u64, u64),
) -> Result<IkeKeys, IkeError> {
    suite::derive_ike_keys(
        keys.suite(),
        Some(keys),
        ni,
        nr,
        shared.expose(),
        spi_i,
        spi_r,
    )
}

/// Initiator: after IKE_SA_INIT, start the first additional key exchange.
#[allow(clippy::too_many_arguments)]
pub fn start(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    keys: IkeKeys,
    ni: Zeroizing<Vec<u8>>,
    nr: Zeroizing<Vec<u8>>,
    init_request: Vec<u8>,
    init_response: Vec<u8>,
    remaining: VecDeque<u16>,
) -> Result<(), IkeError> {
    let group = *remaining
        .front()
        .ok_or(IkeError::ApiMisuse("no additional key exchange"))?;
    let ke = suite::ke_generate(group, cx.rng)?;
    sa.phase = Phase::IntermediateSent(Box::new(IntermediateSent {
        keys,
        ni,
        nr,
        init_request,
        init_response,
        remaining,
        ke,
        int_auth: IntAuth::default(),
    }));
    send(cx, sa)
}

/// Sends the IKE_INTERMEDIATE request for the front method, folding it
/// into IntAuth with the keys that protect it.
fn send(cx: &mut Cx<'_>, sa: &mut IkeSa) -> Result<(), IkeError> {
    let mid = sa.requests.next_id();
    let header = sa.header(xt::IKE_INTERMEDIATE, false, mid);
    let Phase::IntermediateSent(st) = &mut sa.phase else {
        return Err(IkeError::ApiMisuse("not in IntermediateSent"));
    };
    let group = *st
        .remaining
        .front()
        .ok_or(IkeError::ApiMisuse("no additional key exchange"))?;
    let payloads = vec![Payload::Ke {
        group,
        data: st.ke.public().to_vec(),
    }];
    let msg = Message {
        header,
        payloads: payloads.clone(),
    };
    st.int_auth.fold(&st.keys, &msg)?;
    sa.send_request(cx, xt::IKE_INTERMEDIATE, payloads, Pending::IkeIntermediate)?;
    Ok(())
}

/// Initiator: the response to our IKE_INTERMEDIATE request.
pub fn on_response(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) {
    if let Err(reason) = on_response_inner(cx, sa, msg) {
        cx.failure(Some(sa.id), Some(sa.conn), reason);
        sa.phase = Phase::Gone;
    }
}

fn on_response_inner(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) -> Result<(), FailureReason> {
    let (spi_i, spi_r) = (sa.spi_i, sa.spi_r);
    let Phase::IntermediateSent(st) = &mut sa.phase else {
        return Ok(());
    };
    if let Some(n) = msg.error_notify() {
        return Err(FailureReason::PeerError(n.ty));
    }
    let group = *st
        .remaining
        .front()
        .ok_or(FailureReason::Protocol(IkeError::ApiMisuse(
            "nothing in flight",
        )))?;
    let data = match msg.ke() {
        Some((g, data)) if g == group => data,
        _ => return Err(FailureReason::Protocol(PeerMisbehaved::InvalidKe.into())),
    };
    st.int_auth
        .fold(&st.keys, msg)
        .map_err(FailureReason::Protocol)?;
    let shared = st.ke.agree(data).map_err(FailureReason::Protocol)?;
    let keys = next_keys(&st.keys, &st.ni, &st.nr, &shared, (spi_i, spi_r))
        .map_err(FailureReason::Protocol)?;
    st.keys = keys;
    st.remaining.pop_front();
    if let Some(&next) = st.remaining.front() {
        st.ke = suite::ke_generate(next, cx.rng).map_err(FailureReason::Protocol)?;
        return send(cx, sa).map_err(FailureReason::Protocol);
    }
    // The last one: IKE_AUTH follows, covering everything exchanged.
    let ike_auth_mid = sa.requests.next_id();
    let Phase::IntermediateSent(st) = std::mem::replace(&mut sa.phase, Phase::Gone) else {
        return Ok(());
    };
    let st = *st;
    let mut keys = st.keys;
    keys.set_int_auth(st.int_auth.finish(ike_auth_mid));
    ike_auth::start(
        cx,
        sa,
        keys,
        st.ni,
        st.nr,
        st.init_request,
        st.init_response,
    )
    .map_err(FailureReason::Protocol)
}

/// Responder: an IKE_INTERMEDIATE request between IKE_SA_INIT and IKE_AUTH.
pub fn respond(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) -> Result<(), DropReason> {
    let mid = msg.header.message_id;
    let (spi_i, spi_r) = (sa.spi_i, sa.spi_r);
    let resp_header = sa.header(xt::IKE_INTERMEDIATE, true, mid);
    let Phase::InitAnswered(st) = &mut sa.phase else {
        return Err(DropReason::WrongExchange);
    };
    // RFC 9370 §2.2.1: the KE payload of the next method, and nothing else
    // will do; a wrong one ends the SA.
    let answer = st.additional.front().copied().and_then(|group| {
        let (g, data) = msg.ke()?;
        (g == group).then_some(())?;
        suite::ke_respond(g, data, cx.rng).ok().map(|r| (g, r))
    });
    let Some((group, (public, shared))) = answer else {
        let _ = sa.send_error_response(
            cx,
            xt::IKE_INTERMEDIATE,
            mid,
            notify::INVALID_SYNTAX,
            Vec::new(),
        );
        cx.failure(
            Some(sa.id),
            Some(sa.conn),
            FailureReason::Protocol(PeerMisbehaved::InvalidKe.into()),
        );
        sa.phase = Phase::Gone;
        return Err(DropReason::Malformed);
    };
    let payloads = vec![Payload::Ke {
        group,
        data: public,
    }];
    let resp = Message {
        header: resp_header,
        payloads: payloads.clone(),
    };
    let folded = st
        .int_auth
        .fold(&st.keys, msg)
        .and_then(|()| st.int_auth.fold(&st.keys, &resp));
    if folded.is_err() {
        return Err(DropReason::Malformed);
    }
    // The response goes out under the keys the request came with.
    sa.send_response(cx, xt::IKE_INTERMEDIATE, mid, payloads)
        .map_err(|_| DropReason::Malformed)?;
    let Phase::InitAnswered(st) = &mut sa.phase else {
        return Err(DropReason::WrongExchange);
    };
    let keys = next_keys(&st.keys, &st.ni, &st.nr, &shared, (spi_i, spi_r))
        .map_err(|_| DropReason::Malformed)?;
    st.prev_keys = Some(std::mem::replace(&mut st.keys, keys));
    st.additional.pop_front();
    if st.additional.is_empty() {
        st.keys
            .set_int_auth(st.int_auth.finish(mid.wrapping_add(1)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Header;

    /// RFC 9242 §3.3.2: IntAuth_A is the IKE header and the Encrypted
    /// payload header with the lengths of a message whose SK payload holds
    /// only the plaintext (no IV, padding or ICV); IntAuth_P follows.
    #[test]
    fn int_auth_octets_are_header_sk_header_and_plaintext() {
        let msg = Message {
            header: Header {
                spi_i: 0x0102_0304_0506_0708,
                spi_r: 0x1112_1314_1516_1718,
                exchange: xt::IKE_INTERMEDIATE,
                initiator: true,
                response: false,
                message_id: 1,
            },
            payloads: vec![Payload::Ke {
                group: 36,
                data: vec![0xab; 5],
            }],
        };
        let o = crate::codec::int_auth_octets(&msg).unwrap();
        // KE payload: 4-byte generic header, group, reserved, 5 data bytes.
        let p_len = 4 + 4 + 5;
        assert_eq!(o.len(), 28 + 4 + p_len);
        assert_eq!(&o[..8], &0x0102_0304_0506_0708u64.to_be_bytes());
        assert_eq!(o[16], 46, "next payload: SK");
        assert_eq!(o[18], 43, "exchange type IKE_INTERMEDIATE");
        assert_eq!(o[19], 0x08, "I flag");
        assert_eq!(&o[20..24], &1u32.to_be_bytes());
        assert_eq!(&o[24..28], &u32::try_from(o.len()).unwrap().to_be_bytes());
        assert_eq!(o[28], 34, "SK's next payload: KE");
        assert_eq!(o[29], 0, "no critical bit");
        assert_eq!(&o[30..32], &u16::try_from(4 + p_len).unwrap().to_be_bytes());
        assert_eq!(o[32], 0, "KE is the last inner payload");
        assert_eq!(&o[36..38], &36u16.to_be_bytes());
        assert_eq!(&o[40..], &[0xab; 5]);
    }

    #[test]
    fn additional_methods_run_in_addke_order_without_none() {
        use crate::proposal::Transform;
        let p = Proposal {
            number: 1,
            protocol: 1,
            spi: Vec::new(),
            transforms: vec![
                Transform::new(7, 19, None),
                Transform::new(4, 31, None),
                Transform::new(8, 0, None),
                Transform::new(6, 36, None),
            ],
        };
        assert_eq!(additional_of(&p), VecDeque::from([36, 19]));
        assert!(offers_additional(std::slice::from_ref(&p)));
    }
}
