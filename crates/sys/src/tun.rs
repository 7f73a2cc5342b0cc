//! TUN queues for the route-based data plane (layer 3, no packet-information
//! header), over tun-rs.
//!
//! With `offload` the device is opened with `IFF_VNET_HDR` and TSO/USO
//! enabled, so the kernel may hand us one TCP/UDP super-packet (up to 64 KiB)
//! per read; [`Tun::recv_batch`] splits it into MTU-sized packets (fixing
//! checksums), and [`Tun::send_batch`] coalesces a batch of packets of one
//! flow back into super-packets (GRO) before writing, so the kernel sees few
//! large writes. With `multi_queue` further queues of the same device are
//! opened with [`Tun::clone_queue`], one per worker.

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
    /// is put in front.
    pub fn send_one(&self, pkt: &[u8]) -> io::Result<usize> {
        if self.offload {
            let mut v = vec![0u8; VIRTIO_NET_HDR_LEN + pkt.len()];
            v[VIRTIO_NET_HDR_LEN..].copy_from_slice(pkt);
            self.dev.send(&v)
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
