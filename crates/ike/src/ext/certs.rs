//! Certificate signalling in IKE_SA_INIT: SIGNATURE_HASH_ALGORITHMS (RFC
//! 7427 §4) both ways, and the responder's CERTREQ (RFC 7296 §3.7, §1.2)
//! with the SHA-1 hashes of its trust anchors' public keys, so a peer
//! with `send_cert = ifasked` (strongSwan's default) sends its certificate.

use crate::auth;
use crate::cx::Cx;
use crate::error::DropReason;
use crate::event::Path;
use crate::ext::{Extension, RecvStage, SendStage};
use crate::msg::{Message, Notify, Payload};
use crate::reg::{cert_encoding, notify};
use crate::sa::IkeSa;

pub struct Certs;

impl Extension for Certs {
    fn name(&self) -> &'static str {
        "certs"
    }

    fn on_send(&self, cx: &mut Cx<'_>, sa: &mut IkeSa, stage: SendStage, msg: &mut Message) {
        let hashes = || {
            Payload::Notify(Notify::new(
                notify::SIGNATURE_HASH_ALGORITHMS,
                auth::hashes_notify_data(),
            ))
        };
        match stage {
            SendStage::InitRequest => {
                // Only connections that sign or check signatures announce
                // them, so PSK-only exchanges stay as they were.
                if cx
                    .cfg
                    .connection(sa.conn)
                    .is_some_and(|c| c.local_auth.is_pubkey() || c.remote_auth.is_pubkey())
                {
                    msg.push(hashes());
                }
            }
            SendStage::InitResponse => {
                if sa.pubkey.peer_hashes.is_some() {
                    msg.push(hashes());
                }
                // The connection is picked by IDi later; ask for every CA
                // a connection on this address trusts.
                let mut data = Vec::new();
                for c in crate::exchange::ike_sa_init::candidates(cx.cfg, &sa.path) {
                    if let Some(crate::config::AuthConfig::Ca(store)) =
                        cx.cfg.connection(c).map(|cc| &cc.remote_auth)
                    {
                        for h in store.certreq_data().chunks(20) {
                            if !data.chunks(20).any(|x| x == h) {
                                data.extend_from_slice(h);
                            }
                        }
                    }
                }
                if !data.is_empty() {
                    msg.push(Payload::CertReq {
                        encoding: cert_encoding::X509_CERTIFICATE_SIGNATURE,
                        data,
                    });
                }
            }
        }
    }

    fn on_recv(
        &self,
        _cx: &mut Cx<'_>,
        sa: &mut IkeSa,
        stage: RecvStage,
        msg: &Message,
        _path: Path,
    ) -> Result<(), DropReason> {
        if matches!(stage, RecvStage::InitRequest | RecvStage::InitResponse) {
            if let Some(n) = msg.notify(notify::SIGNATURE_HASH_ALGORITHMS) {
                sa.pubkey.peer_hashes = Some(auth::parse_hashes(&n.data));
            }
        }
        Ok(())
    }
}
