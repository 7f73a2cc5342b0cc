//! TUN queues for the route-based data plane (layer 3, no packet-information
//! header), over tun-rs.
//!
//! With `offload` the device is opened with `IFF_VNET_HDR` and TSO/USO
//! enabled, so the kernel may hand us one TCP/UDP super-packet (up to 64 KiB)
//! per read; [`Tun::recv_batch`] splits it into MTU-sized packets (fixing
//! checksums), and [`Tun::send_batch`] coalesces a batch of packets of one
//! flow back into super-packets (GRO) before writing, so the kernel sees few
//! large writes. With `multi_queue` further queues of the same device are
//! opened with [`Tun::clone_queue`], one per worker. [`soft`] runs the same
//! splitting and coalescing on plain buffers, for in-memory stand-ins.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

pub use tun_rs::{ExpandBuffer, GROTable as TunGro, IDEAL_BATCH_SIZE, VIRTIO_NET_HDR_LEN};

/// Largest read from an offloading TUN: virtio header + a 64 KiB super-packet.
pub const MAX_SUPER_PACKET: usize = VIRTIO_NET_HDR_LEN + 65_535;

/// How to open the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunConfig {
    /// Interface name (≤ 15 bytes); empty lets the kernel pick `tunN`.
    pub name: String,
    /// Link MTU, also used to size the packets of a split super-packet.
    pub mtu: u16,
    /// Open with the virtio-net header and TSO/USO (super-packets).
    pub offload: bool,
    /// Open with `IFF_MULTI_QUEUE` so [`Tun::clone_queue`] works.
    pub multi_queue: bool,
}

/// One queue of a TUN device.
pub struct Tun {
    dev: tun_rs::SyncDevice,
    offload: bool,
}

impl std::fmt::Debug for Tun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tun")
            .field("name", &self.dev.name().ok())
            .field("offload", &self.offload)
            .finish()
    }
}

impl Tun {
    /// Opens (creates) the device; the link is left down — bring it up with
    /// [`crate::netcfg::IpTool::link_up`] or [`Tun::set_up`].
    pub fn open(cfg: &TunConfig) -> io::Result<Self> {
        let mut b = tun_rs::DeviceBuilder::new().mtu(cfg.mtu);
        if !cfg.name.is_empty() {
            b = b.name(&cfg.name);
        }
        let offload = cfg.offload;
        let multi_queue = cfg.multi_queue;
        let dev = b
            .with(|o| {
                o.offload(offload).multi_queue(multi_queue);
            })
            .build_sync()?;
        let offload = offload && (dev.tcp_gso() || dev.udp_gso());
        Ok(Self { dev, offload })
    }

    /// Opens one more queue of the same device (requires `multi_queue`).
    pub fn clone_queue(&self) -> io::Result<Self> {
        Ok(Self {
            dev: self.dev.try_clone()?,
            offload: self.offload,
        })
    }

    /// Interface name as the kernel knows it.
    pub fn name(&self) -> io::Result<String> {
        self.dev.name()
    }

    /// Whether reads may return super-packets and writes are coalesced.
    #[must_use]
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// Whether the kernel accepted UDP segmentation offload (USO) too.
    #[must_use]
    pub fn udp_offload(&self) -> bool {
        self.offload && self.dev.udp_gso()
    }

    /// Current link MTU.
    pub fn mtu(&self) -> io::Result<u16> {
        self.dev.mtu()
    }

    /// Sets the link MTU.
    pub fn set_mtu(&self, mtu: u16) -> io::Result<()> {
        self.dev.set_mtu(mtu)
    }

    /// Brings the link up (or down).
    pub fn set_up(&self, up: bool) -> io::Result<()> {
        self.dev.enabled(up)
    }

    /// Switches the queue between blocking and non-blocking reads.
    pub fn set_nonblocking(&self, nb: bool) -> io::Result<()> {
        self.dev.set_nonblocking(nb)
    }

    /// Reads one (super-)packet and splits it into `bufs`, each packet placed
    /// at `offset` (headroom the caller keeps for its own headers), its length
    /// in `sizes`. Returns the number of packets. `scratch` must hold
    /// [`MAX_SUPER_PACKET`] bytes when offload is on; without offload it is
    /// unused and the packet is read straight into `bufs[0]`.
    ///
    /// Blocks unless the queue is non-blocking; errors with `WouldBlock` then.
    pub fn recv_batch<B: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        scratch: &mut [u8],
        bufs: &mut [B],
        sizes: &mut [usize],
        offset: usize,
    ) -> io::Result<usize> {
        self.dev.recv_multiple(scratch, bufs, sizes, offset)
    }

    /// Writes a batch of packets, each starting at `offset` in its buffer.
    /// With offload, packets of the same TCP/UDP flow are coalesced first (so
    /// buffers may grow and `offset` must be ≥ [`VIRTIO_NET_HDR_LEN`], the room
    /// for the virtio header). Returns bytes written.
    pub fn send_batch<B: ExpandBuffer>(
        &self,
        gro: &mut TunGro,
        bufs: &mut [B],
        offset: usize,
    ) -> io::Result<usize> {
        self.dev.send_multiple(gro, bufs, offset)
    }

    /// Writes one packet outside a batch (rare packets such as generated ICMP
    /// errors); with offload a zero virtio header (no GSO, checksum complete)
    /// is put in front, in the same `writev` (no copy, no allocation: these
    /// answer packets the data plane drops).
    pub fn send_one(&self, pkt: &[u8]) -> io::Result<usize> {
        if self.offload {
            let hdr = [0u8; VIRTIO_NET_HDR_LEN];
            self.dev
                .send_vectored(&[io::IoSlice::new(&hdr), io::IoSlice::new(pkt)])
        } else {
            self.dev.send(pkt)
        }
    }
}

impl AsFd for Tun {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.dev.as_fd()
    }
}

/// The virtio-net offload of an offloading [`Tun`] done on plain buffers,
/// for in-memory stand-ins of a TUN queue (the data plane's tests): the
/// same tun-rs code [`Tun::recv_batch`] and [`Tun::send_batch`] run, fed
/// from memory instead of the device. tun-rs exports these functions as
/// hidden items, so a tun-rs upgrade may move them; only the stand-ins
/// depend on this module.
pub mod soft {
    use std::io;

    use super::{ExpandBuffer, VIRTIO_NET_HDR_LEN};
    use tun_rs::{
        gso_split, handle_gro, VirtioNetHdr, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6,
        VIRTIO_NET_HDR_GSO_UDP_L4,
    };

    /// `flags` of a virtio-net header: the transport checksum is partial.
    const F_NEEDS_CSUM: u8 = 1;

    /// The virtio-net header the kernel puts in front of a TSO/USO
    /// super-packet of `segment_size`-byte payloads, and whether it is IPv6.
    /// `None` for anything but IPv4 without options / IPv6 without extension
    /// headers carrying TCP or UDP.
    fn super_packet_header(packet: &[u8], segment_size: u16) -> Option<(VirtioNetHdr, bool)> {
        let (ip_len, protocol, v6) = match packet.first()? >> 4 {
            4 if packet.first()? & 0x0f == 5 => (20u16, *packet.get(9)?, false),
            6 => (40u16, *packet.get(6)?, true),
            _ => return None,
        };
        let (gso_type, l4_len, csum_offset) = match protocol {
            6 => {
                let doff = u16::from(*packet.get(usize::from(ip_len) + 12)? >> 4) * 4;
                let t = if v6 {
                    VIRTIO_NET_HDR_GSO_TCPV6
                } else {
                    VIRTIO_NET_HDR_GSO_TCPV4
                };
                (t, doff, 16)
            }
            17 => (VIRTIO_NET_HDR_GSO_UDP_L4, 8, 6),
            _ => return None,
        };
        let hdr = VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type,
            hdr_len: ip_len + l4_len,
            gso_size: segment_size,
            csum_start: ip_len,
            csum_offset,
        };
        Some((hdr, v6))
    }

    /// Splits `packet`, a TCP or UDP super-packet as a TSO/USO-capable TUN
    /// hands it over (one IP and transport header, a payload of many
    /// `segment_size`-byte segments), into `bufs` at `offset` as
    /// [`super::Tun::recv_batch`] does, checksums filled in. Returns the
    /// number of packets.
    pub fn split_super_packet<B: AsRef<[u8]> + AsMut<[u8]>>(
        packet: &mut [u8],
        segment_size: u16,
        bufs: &mut [B],
        sizes: &mut [usize],
        offset: usize,
    ) -> io::Result<usize> {
        let (hdr, v6) = super_packet_header(packet, segment_size).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not a TCP or UDP super-packet")
        })?;
        gso_split(packet, hdr, bufs, sizes, offset, v6)
    }

    /// Coalesces `bufs` (packets at `offset` ≥ [`VIRTIO_NET_HDR_LEN`]) as
    /// [`super::Tun::send_batch`] does before writing: afterwards
    /// `to_write` lists the buffers to write, each from
    /// `offset - VIRTIO_NET_HDR_LEN` (virtio-net header, then the possibly
    /// coalesced packet). `udp` allows UDP coalescing (USO accepted).
    pub fn coalesce<B: ExpandBuffer>(
        bufs: &mut [B],
        offset: usize,
        udp: bool,
        to_write: &mut Vec<usize>,
    ) -> io::Result<()> {
        to_write.clear();
        handle_gro(
            bufs,
            offset,
            &mut Default::default(),
            &mut Default::default(),
            udp,
            to_write,
        )
    }

    /// GSO type and segment size of the virtio-net header at the start of
    /// `frame` (what a coalesced write tells the kernel), if it holds one.
    #[must_use]
    pub fn frame_gso(frame: &[u8]) -> Option<(u8, u16)> {
        let h = VirtioNetHdr::decode(frame.get(..VIRTIO_NET_HDR_LEN)?).ok()?;
        Some((h.gso_type, h.gso_size))
    }
}
