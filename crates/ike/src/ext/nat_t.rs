//! NAT traversal (RFC 7296 §2.23, RFC 3948): NAT_DETECTION_SOURCE_IP and
//! NAT_DETECTION_DESTINATION_IP in IKE_SA_INIT, the float of IKE to the
//! NAT-T port, and the path update on authenticated messages from a new
//! address. With `force_encap` (strongSwan's `encap = yes`) we send a
//! source hash that cannot match, so both sides believe we are behind a NAT
//! and UDP-encapsulate ESP: strongSwan's libipsec only speaks that.

use std::net::SocketAddr;

use crate::config::Config;
use crate::cx::Cx;
use crate::error::DropReason;
use crate::event::{Event, Path, UdpEncap};
use crate::ext::{Extension, RecvStage, SendStage};
use crate::msg::{Message, Notify, Payload};
use crate::reg::notify;
use crate::sa::IkeSa;
use crate::suite;

/// What NAT detection found for one IKE SA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatState {
    pub local_behind: bool,
    pub remote_behind: bool,
    /// We fake a NAT (force_encap).
    pub forced: bool,
    /// NatDetected was reported to the driver.
    pub reported: bool,
}

impl NatState {
    /// Whether ESP must be UDP-encapsulated.
    pub fn any(&self) -> bool {
        self.local_behind || self.remote_behind || self.forced
    }
}

/// `SHA-1(SPIi | SPIr | IP | Port)` (§2.23).
pub fn nat_hash(spi_i: u64, spi_r: u64, addr: SocketAddr) -> [u8; 20] {
    let ip: Vec<u8> = match addr.ip() {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    suite::sha1(&[
        &spi_i.to_be_bytes(),
        &spi_r.to_be_bytes(),
        &ip,
        &addr.port().to_be_bytes(),
    ])
}

/// UDP encapsulation for the CHILD SAs of `sa`, if any.
pub fn encap(sa: &IkeSa, _cfg: &Config) -> Option<UdpEncap> {
    sa.nat.any().then_some(UdpEncap {
        local_port: sa.path.local.port(),
        remote_port: sa.path.remote.port(),
    })
}

pub struct NatT;

fn forced(cx: &Cx<'_>, sa: &IkeSa) -> bool {
    cx.cfg.connection(sa.conn).is_some_and(|c| c.force_encap)
}

/// The path after floating to the NAT-T port (RFC 3948 §2.2; §2.23).
fn floated(cx: &Cx<'_>, p: Path) -> Path {
    let port = cx.cfg.natt_port;
    let fl = |a: SocketAddr| {
        if a.port() == cx.cfg.ike_port {
            SocketAddr::new(a.ip(), port)
        } else {
            a
        }
    };
    Path {
        local: fl(p.local),
        remote: fl(p.remote),
    }
}

fn detect(cx: &Cx<'_>, sa: &mut IkeSa, msg: &Message, path: Path) {
    let (spi_i, spi_r) = (msg.header.spi_i, msg.header.spi_r);
    let srcs: Vec<&Notify> = msg
        .notifies()
        .filter(|n| n.ty == notify::NAT_DETECTION_SOURCE_IP)
        .collect();
    let dst = msg.notify(notify::NAT_DETECTION_DESTINATION_IP);
    sa.nat.forced = forced(cx, sa);
    // A peer without NAT-D notifies does not do NAT-T (§2.23).
    if let (false, Some(dst)) = (srcs.is_empty(), dst) {
        let want_src = nat_hash(spi_i, spi_r, path.remote);
        sa.nat.remote_behind = !srcs.iter().any(|n| n.data == want_src);
        sa.nat.local_behind = dst.data != nat_hash(spi_i, spi_r, path.local);
    }
}

impl Extension for NatT {
    fn name(&self) -> &'static str {
        "nat-t"
    }

    fn on_send(&self, cx: &mut Cx<'_>, sa: &mut IkeSa, stage: SendStage, msg: &mut Message) {
        let (spi_i, spi_r) = (msg.header.spi_i, msg.header.spi_r);
        let src = if forced(cx, sa) {
            // Cannot match any address: the peer sees us "behind a NAT".
            let mut fake = [0u8; 20];
            cx.rng.fill(&mut fake);
            fake
        } else {
            nat_hash(spi_i, spi_r, sa.path.local)
        };
        let dst = nat_hash(spi_i, spi_r, sa.path.remote);
        match stage {
            SendStage::InitRequest | SendStage::InitResponse => {
                msg.push(Payload::Notify(Notify::new(
                    notify::NAT_DETECTION_SOURCE_IP,
                    src.to_vec(),
                )));
                msg.push(Payload::Notify(Notify::new(
                    notify::NAT_DETECTION_DESTINATION_IP,
                    dst.to_vec(),
                )));
            }
        }
    }

    fn on_recv(
        &self,
        cx: &mut Cx<'_>,
        sa: &mut IkeSa,
        stage: RecvStage,
        msg: &Message,
        path: Path,
    ) -> Result<(), DropReason> {
        match stage {
            RecvStage::InitRequest => detect(cx, sa, msg, path),
            RecvStage::InitResponse => {
                detect(cx, sa, msg, path);
                if sa.nat.any() {
                    // The initiator moves to port 4500 for IKE_AUTH (§2.23).
                    sa.path = floated(cx, sa.path);
                    sa.nat.reported = true;
                    cx.event(Event::NatDetected {
                        ike: sa.id,
                        local_behind_nat: sa.nat.local_behind,
                        remote_behind_nat: sa.nat.remote_behind,
                        forced_by_config: sa.nat.forced,
                        path: sa.path,
                    });
                }
            }
            RecvStage::AuthRequest | RecvStage::Request | RecvStage::Response => {
                // §2.23: with a NAT, follow the address of the latest authenticated message.
                let on_natt = path.local.port() != cx.cfg.ike_port;
                if path != sa.path && (sa.nat.any() || on_natt) {
                    sa.path = path;
                    if sa.nat.any() && !sa.nat.reported {
                        sa.nat.reported = true;
                        cx.event(Event::NatDetected {
                            ike: sa.id,
                            local_behind_nat: sa.nat.local_behind,
                            remote_behind_nat: sa.nat.remote_behind,
                            forced_by_config: sa.nat.forced,
                            path: sa.path,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}
