//! Extensions hooked at named stages of the message path, as Rockhopper's
//! "message bus with handlers per stage": each extension is its own module
//! implementing [`Extension`], listed once in [`EXTENSIONS`]. The core
//! calls the bus at fixed points and never branches on an extension itself.
//!
//! Stages (send side): the IKE_SA_INIT request and response as they are
//! built. Stages (receive side): the IKE_SA_INIT request and response after
//! parsing, and every authenticated request/response after decryption.

pub mod certs;
pub mod nat_t;
pub mod trace;

use crate::cx::Cx;
use crate::error::DropReason;
use crate::event::Path;
use crate::msg::Message;
use crate::sa::IkeSa;

/// Points on the send path where extensions may add payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStage {
    InitRequest,
    InitResponse,
}

/// Points on the receive path where extensions may inspect a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvStage {
    InitRequest,
    InitResponse,
    /// IKE_AUTH request, after AUTH verified.
    AuthRequest,
    /// Any authenticated request, before its exchange module runs.
    Request,
    /// Any authenticated response, before its exchange module runs.
    Response,
}

/// One extension. Default methods do nothing, so an extension implements
/// only the stages it cares about.
pub trait Extension: Sync {
    fn name(&self) -> &'static str;

    fn on_send(&self, _cx: &mut Cx<'_>, _sa: &mut IkeSa, _stage: SendStage, _msg: &mut Message) {}

    /// `path` is the path the message arrived on.
    fn on_recv(
        &self,
        _cx: &mut Cx<'_>,
        _sa: &mut IkeSa,
        _stage: RecvStage,
        _msg: &Message,
        _path: Path,
    ) -> Result<(), DropReason> {
        Ok(())
    }
}

/// Every extension, in the order they run.
pub static EXTENSIONS: &[&dyn Extension] = &[&trace::Trace, &nat_t::NatT, &certs::Certs];

pub fn on_send(cx: &mut Cx<'_>, sa: &mut IkeSa, stage: SendStage, msg: &mut Message) {
    for e in EXTENSIONS {
        e.on_send(cx, sa, stage, msg);
    }
}

pub fn on_recv(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    stage: RecvStage,
    msg: &Message,
) -> Result<(), DropReason> {
    let path = sa.path;
    on_recv_on(cx, sa, stage, msg, path)
}

pub fn on_recv_on(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    stage: RecvStage,
    msg: &Message,
    path: Path,
) -> Result<(), DropReason> {
    for e in EXTENSIONS {
        e.on_recv(cx, sa, stage, msg, path)?;
    }
    Ok(())
}
