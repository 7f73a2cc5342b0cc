//! Message tracing: every IKE message we send or accept, as plaintext IKE,
//! for the daemon's debugging pcap (racoon2's and iked's "dump the
//! decrypted exchange" option). Off unless `Config::trace_messages`.
//!
//! Received messages are traced on the receive bus after authentication
//! (RFC 7296 §3.14: only then is the SK content trustworthy); sent ones as
//! they are encoded, before SK protection. Retransmissions are the same
//! message and are not traced again.

use super::{Extension, RecvStage};
use crate::cx::Cx;
use crate::error::DropReason;
use crate::event::{Event, Path};
use crate::msg::Message;
use crate::sa::IkeSa;

pub struct Trace;

impl Extension for Trace {
    fn name(&self) -> &'static str {
        "trace"
    }

    fn on_recv(
        &self,
        cx: &mut Cx<'_>,
        _sa: &mut IkeSa,
        stage: RecvStage,
        msg: &Message,
        path: Path,
    ) -> Result<(), DropReason> {
        // AuthRequest is the same message as Request, seen again after AUTH.
        if stage != RecvStage::AuthRequest {
            emit(cx, false, path, msg);
        }
        Ok(())
    }
}

/// Traces a message we are about to send on `path`.
pub fn sent(cx: &mut Cx<'_>, path: Path, msg: &Message) {
    emit(cx, true, path, msg);
}

fn emit(cx: &mut Cx<'_>, outbound: bool, path: Path, msg: &Message) {
    if !cx.cfg.trace_messages {
        return;
    }
    match crate::codec::encode_plain(msg) {
        Ok(plain) => {
            // Framed as on the wire (the marker on a NAT-T path).
            let mut message = Vec::with_capacity(plain.len() + 4);
            crate::codec::frame_into(&mut message, &plain, path, cx.cfg.ike_port);
            cx.event(Event::MessageTrace {
                outbound,
                path,
                message,
            })
        }
        Err(e) => tracing::debug!(error = %e, "cannot re-encode a message for the trace"),
    }
}
