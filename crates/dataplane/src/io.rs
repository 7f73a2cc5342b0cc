//! The workers' I/O: three small traits with exactly the operations the
//! outbound and inbound workers perform, implemented here for the real
//! descriptors of `yadokari-sys` and in [`crate::fake`] for memory.
//!
//! The workers are generic over them (the outbound and the inbound worker
//! over `T: TunQueue, U: UdpIo, R: RawEspIo`), so
//! each is compiled once per set of types: the production build calls
//! `Tun`, `UdpSocket` and `RawEspSocket` directly (the trait methods are
//! one-line forwards that inline), with no `dyn` and no extra copy on the
//! packet path, while tests run the very same batching, GSO grouping, GRO
//! splitting and TUN coalescing against in-memory fakes, without root.
//!
//! Waiting stays `poll(2)`: every type is [`AsFd`], and the workers block
//! in `yadokari_sys::poll::wait_readable` on it and their eventfd waker. A
//! fake's descriptor is an eventfd of its own that is readable while it
//! holds scripted input, so the workers' wait loops run unchanged too.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;

use yadokari_sys::raw::RawEspSocket;
use yadokari_sys::tun::Tun;
use yadokari_sys::udp::UdpSocket;

pub use yadokari_sys::tun::TunGro;
pub use yadokari_sys::udp::{RecvMeta, RECV_BATCH};

/// One TUN queue: reads of (super-)packets split into a batch, batched
/// writes coalesced per flow, and single writes for generated ICMP errors.
pub trait TunQueue: AsFd + Send + Sync + 'static {
    /// Switches between blocking and non-blocking reads.
    fn set_nonblocking(&self, nb: bool) -> io::Result<()>;

    /// Reads one (super-)packet and splits it into `bufs`, each packet at
    /// `offset`, its length in `sizes`; returns the number of packets.
    /// `scratch` holds `yadokari_sys::tun::MAX_SUPER_PACKET` bytes.
    /// `WouldBlock` when the queue is empty (non-blocking).
    fn recv_batch(
        &self,
        scratch: &mut [u8],
        bufs: &mut [Vec<u8>],
        sizes: &mut [usize],
        offset: usize,
    ) -> io::Result<usize>;

    /// Writes packets that start at `offset` in their buffers (room for the
    /// virtio-net header in front), coalescing packets of one flow first.
    fn send_batch(
        &self,
        gro: &mut TunGro,
        bufs: &mut [Vec<u8>],
        offset: usize,
    ) -> io::Result<usize>;

    /// Writes one packet outside a batch.
    fn send_one(&self, pkt: &[u8]) -> io::Result<usize>;
}

/// The UDP socket of RFC 3948 encapsulation: `recvmmsg` batches whose
/// messages may be GRO runs, and sends that may be GSO runs.
pub trait UdpIo: AsFd + Send + Sync + 'static {
    /// Segments one GSO send may carry (1 without UDP_SEGMENT).
    fn max_gso_segments(&self) -> usize;

    /// Receives up to `bufs.len()` messages; `meta[i].stride < meta[i].len`
    /// marks a GRO run of `stride`-byte datagrams (the last may be shorter),
    /// `meta[i].dst_ip` is the local address (IP_PKTINFO). `WouldBlock`
    /// when empty.
    fn recv(&self, bufs: &mut [IoSliceMut<'_>], meta: &mut [RecvMeta]) -> io::Result<usize>;

    /// Sends `contents` to `dest`: one datagram, or with `segment_size` a
    /// GSO run of datagrams of that size (the last may be shorter).
    fn send(
        &self,
        dest: SocketAddr,
        contents: &[u8],
        segment_size: Option<usize>,
    ) -> io::Result<()>;
}

/// A raw ESP socket (IP protocol 50): one datagram per call.
pub trait RawEspIo: AsFd + Send + Sync + 'static {
    /// Whether received datagrams start with the IP header (IPv4 sockets).
    fn includes_ip_header(&self) -> bool;

    /// Receives one datagram and its source. `WouldBlock` when empty.
    fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, IpAddr)>;

    /// Sends one ESP packet (from the SPI on) to `dest`.
    fn send(&self, dest: IpAddr, esp: &[u8]) -> io::Result<()>;
}

impl TunQueue for Tun {
    #[inline]
    fn set_nonblocking(&self, nb: bool) -> io::Result<()> {
        Tun::set_nonblocking(self, nb)
    }

    #[inline]
    fn recv_batch(
        &self,
        scratch: &mut [u8],
        bufs: &mut [Vec<u8>],
        sizes: &mut [usize],
        offset: usize,
    ) -> io::Result<usize> {
        Tun::recv_batch(self, scratch, bufs, sizes, offset)
    }

    #[inline]
    fn send_batch(
        &self,
        gro: &mut TunGro,
        bufs: &mut [Vec<u8>],
        offset: usize,
    ) -> io::Result<usize> {
        Tun::send_batch(self, gro, bufs, offset)
    }

    #[inline]
    fn send_one(&self, pkt: &[u8]) -> io::Result<usize> {
        Tun::send_one(self, pkt)
    }
}

impl UdpIo for UdpSocket {
    #[inline]
    fn max_gso_segments(&self) -> usize {
        UdpSocket::max_gso_segments(self)
    }

    #[inline]
    fn recv(&self, bufs: &mut [IoSliceMut<'_>], meta: &mut [RecvMeta]) -> io::Result<usize> {
        UdpSocket::recv(self, bufs, meta)
    }

    #[inline]
    fn send(
        &self,
        dest: SocketAddr,
        contents: &[u8],
        segment_size: Option<usize>,
    ) -> io::Result<()> {
        UdpSocket::send(self, dest, contents, segment_size)
    }
}

impl RawEspIo for RawEspSocket {
    #[inline]
    fn includes_ip_header(&self) -> bool {
        RawEspSocket::includes_ip_header(self)
    }

    #[inline]
    fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, IpAddr)> {
        RawEspSocket::recv(self, buf)
    }

    #[inline]
    fn send(&self, dest: IpAddr, esp: &[u8]) -> io::Result<()> {
        RawEspSocket::send(self, dest, esp)
    }
}
