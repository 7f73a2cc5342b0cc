//! In-memory stand-ins for the workers' I/O ([`crate::io`]): a TUN queue, a
//! UDP socket and a raw ESP socket that replay scripted input and record
//! what the workers write, batch by batch, so tests can check batching,
//! GSO segment sizes, GRO splitting and TUN coalescing without root.
//!
//! They behave like the kernel objects where the workers can tell: reads
//! return `WouldBlock` when nothing is queued; each fake's descriptor is an
//! eventfd that is readable exactly while input is queued (so the workers'
//! `poll` loops run unchanged); the offloading [`FakeTun`] hands
//! super-packets over split and coalesces batched writes with the same
//! tun-rs code the real `Tun` runs (`yadokari_sys::tun::soft`). Their own
//! bookkeeping is left out of allocation counts
//! (`yadokari_sys::alloc_count::Untracked`), so a test can tell what the
//! worker allocates.

use std::collections::VecDeque;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Mutex, MutexGuard};

use yadokari_sys::alloc_count::Untracked;
use yadokari_sys::poll::Waker;
use yadokari_sys::tun::{soft, VIRTIO_NET_HDR_LEN};

use crate::io::{RawEspIo, RecvMeta, TunGro, TunQueue, UdpIo};

/// An eventfd readable while a queue is non-empty; changed only under the
/// queue's lock, so a push racing a read never loses its wake-up.
#[derive(Debug)]
struct Readiness(Waker);

impl Readiness {
    fn new() -> io::Result<Self> {
        Ok(Self(Waker::new()?))
    }

    fn update(&self, has_input: bool) {
        if has_input {
            self.0.wake();
        } else {
            self.0.drain();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock fails anyway; keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the fake kernel hands the TUN reader.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TunInput {
    Packet(Vec<u8>),
    Super { packet: Vec<u8>, segment_size: u16 },
    Error(io::ErrorKind),
}

/// One frame a batched TUN write produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunFrame {
    /// With offload: the virtio-net header's GSO type and segment size
    /// (type 0 = a single packet). `None` without offload.
    pub gso: Option<(u8, u16)>,
    /// The IP packet, coalesced or not (virtio-net header removed).
    pub packet: Vec<u8>,
}

#[derive(Debug, Default)]
struct TunState {
    input: VecDeque<TunInput>,
    batches: Vec<Vec<TunFrame>>,
    singles: Vec<Vec<u8>>,
}

/// A TUN queue in memory.
#[derive(Debug)]
pub struct FakeTun {
    ready: Readiness,
    offload: bool,
    udp_offload: bool,
    state: Mutex<TunState>,
}

impl FakeTun {
    /// A queue with (`offload`: virtio-net header, TSO and USO, as the
    /// daemon opens it) or without offload.
    pub fn new(offload: bool) -> io::Result<Self> {
        Ok(Self {
            ready: Readiness::new()?,
            offload,
            udp_offload: offload,
            state: Mutex::default(),
        })
    }

    fn push(&self, i: TunInput) {
        let mut s = lock(&self.state);
        s.input.push_back(i);
        self.ready.update(true);
    }

    /// Queues one packet for the reader.
    pub fn push_packet(&self, packet: Vec<u8>) {
        self.push(TunInput::Packet(packet));
    }

    /// Queues a TSO/USO super-packet (one IP and TCP/UDP header, payload of
    /// `segment_size`-byte segments, the last may be shorter), as the kernel
    /// hands it to an offloading queue. Needs offload.
    pub fn push_super_packet(&self, packet: Vec<u8>, segment_size: u16) {
        self.push(TunInput::Super {
            packet,
            segment_size,
        });
    }

    /// Makes the next read (after what is queued) fail with `kind`.
    pub fn push_error(&self, kind: io::ErrorKind) {
        self.push(TunInput::Error(kind));
    }

    /// The batched writes so far (one entry per `send_batch` call, each
    /// with its frames in write order), emptied.
    pub fn take_batches(&self) -> Vec<Vec<TunFrame>> {
        std::mem::take(&mut lock(&self.state).batches)
    }

    /// Packets written one at a time (generated ICMP errors), emptied.
    pub fn take_singles(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut lock(&self.state).singles)
    }

    /// Input not read yet.
    pub fn pending_input(&self) -> usize {
        lock(&self.state).input.len()
    }
}

impl AsFd for FakeTun {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ready.0.as_fd()
    }
}

impl TunQueue for FakeTun {
    fn set_nonblocking(&self, _nb: bool) -> io::Result<()> {
        Ok(())
    }

    fn recv_batch(
        &self,
        _scratch: &mut [u8],
        bufs: &mut [Vec<u8>],
        sizes: &mut [usize],
        offset: usize,
    ) -> io::Result<usize> {
        let _u = Untracked::enter();
        let mut s = lock(&self.state);
        let input = s.input.pop_front();
        self.ready.update(!s.input.is_empty());
        drop(s);
        match input {
            None => Err(io::ErrorKind::WouldBlock.into()),
            Some(TunInput::Error(kind)) => Err(kind.into()),
            Some(TunInput::Packet(p)) => {
                let (Some(buf), Some(size)) = (bufs.first_mut(), sizes.first_mut()) else {
                    return Err(io::ErrorKind::InvalidInput.into());
                };
                let dst = buf
                    .get_mut(offset..offset + p.len())
                    .ok_or(io::ErrorKind::InvalidInput)?;
                dst.copy_from_slice(&p);
                *size = p.len();
                Ok(1)
            }
            Some(TunInput::Super {
                mut packet,
                segment_size,
            }) => {
                if !self.offload {
                    return Err(io::Error::other("super-packet on a queue without offload"));
                }
                soft::split_super_packet(&mut packet, segment_size, bufs, sizes, offset)
            }
        }
    }

    fn send_batch(
        &self,
        _gro: &mut TunGro,
        bufs: &mut [Vec<u8>],
        offset: usize,
    ) -> io::Result<usize> {
        let _u = Untracked::enter();
        let mut frames = Vec::new();
        if self.offload {
            let mut to_write = Vec::new();
            soft::coalesce(bufs, offset, self.udp_offload, &mut to_write)?;
            for i in to_write {
                let f = &bufs[i][offset - VIRTIO_NET_HDR_LEN..];
                frames.push(TunFrame {
                    gso: soft::frame_gso(f),
                    packet: f[VIRTIO_NET_HDR_LEN..].to_vec(),
                });
            }
        } else {
            for b in bufs.iter() {
                frames.push(TunFrame {
                    gso: None,
                    packet: b[offset..].to_vec(),
                });
            }
        }
        let bytes = frames.iter().map(|f| f.packet.len()).sum();
        lock(&self.state).batches.push(frames);
        Ok(bytes)
    }

    fn send_one(&self, pkt: &[u8]) -> io::Result<usize> {
        let _u = Untracked::enter();
        lock(&self.state).singles.push(pkt.to_vec());
        Ok(pkt.len())
    }
}

/// One message of a scripted `recvmmsg` batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Sender.
    pub from: SocketAddr,
    /// Local address (IP_PKTINFO).
    pub local: Option<IpAddr>,
    /// The message: one datagram, or a GRO run.
    pub payload: Vec<u8>,
    /// Datagram size within `payload` (= its length for one datagram).
    pub stride: usize,
}

impl Incoming {
    /// One datagram.
    #[must_use]
    pub fn single(from: SocketAddr, datagram: Vec<u8>) -> Self {
        Self {
            from,
            local: None,
            stride: datagram.len(),
            payload: datagram,
        }
    }

    /// A GRO run: the datagrams back to back, the stride the first one's
    /// size (all but the last must have it, as the kernel guarantees).
    #[must_use]
    pub fn gro(from: SocketAddr, datagrams: &[Vec<u8>]) -> Self {
        let stride = datagrams.first().map_or(0, Vec::len);
        Self {
            from,
            local: None,
            stride,
            payload: datagrams.concat(),
        }
    }
}

/// One `send` call the worker made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Destination.
    pub to: SocketAddr,
    /// The bytes handed over (several datagrams with GSO).
    pub contents: Vec<u8>,
    /// GSO segment size, `None` for a single datagram.
    pub segment_size: Option<usize>,
}

impl Sent {
    /// The datagrams this send puts on the wire.
    #[must_use]
    pub fn datagrams(&self) -> Vec<&[u8]> {
        match self.segment_size {
            Some(s) if s > 0 => self.contents.chunks(s).collect(),
            _ => vec![&self.contents[..]],
        }
    }
}

#[derive(Debug)]
enum UdpInput {
    Batch(Vec<Incoming>),
    Error(io::ErrorKind),
}

#[derive(Debug, Default)]
struct UdpState {
    input: VecDeque<UdpInput>,
    sent: Vec<Sent>,
    fail_sends: Option<io::ErrorKind>,
}

/// A UDP socket in memory.
#[derive(Debug)]
pub struct FakeUdp {
    ready: Readiness,
    max_segments: usize,
    state: Mutex<UdpState>,
}

impl FakeUdp {
    /// A socket whose GSO sends carry at most `max_segments` datagrams.
    pub fn new(max_segments: usize) -> io::Result<Self> {
        Ok(Self {
            ready: Readiness::new()?,
            max_segments,
            state: Mutex::default(),
        })
    }

    /// Queues what one `recvmmsg` call returns (messages beyond the
    /// caller's buffers stay for the next call).
    pub fn push_batch(&self, messages: Vec<Incoming>) {
        let mut s = lock(&self.state);
        s.input.push_back(UdpInput::Batch(messages));
        self.ready.update(true);
    }

    /// Makes the next receive (after what is queued) fail with `kind`.
    pub fn push_error(&self, kind: io::ErrorKind) {
        let mut s = lock(&self.state);
        s.input.push_back(UdpInput::Error(kind));
        self.ready.update(true);
    }

    /// Makes every send fail with `kind` (`None`: succeed again).
    pub fn fail_sends(&self, kind: Option<io::ErrorKind>) {
        lock(&self.state).fail_sends = kind;
    }

    /// The sends so far, emptied.
    pub fn take_sent(&self) -> Vec<Sent> {
        std::mem::take(&mut lock(&self.state).sent)
    }
}

impl AsFd for FakeUdp {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ready.0.as_fd()
    }
}

impl UdpIo for FakeUdp {
    fn max_gso_segments(&self) -> usize {
        self.max_segments
    }

    fn recv(&self, bufs: &mut [IoSliceMut<'_>], meta: &mut [RecvMeta]) -> io::Result<usize> {
        let _u = Untracked::enter();
        let mut s = lock(&self.state);
        let mut batch = match s.input.pop_front() {
            Some(UdpInput::Batch(b)) => b,
            Some(UdpInput::Error(kind)) => {
                self.ready.update(!s.input.is_empty());
                return Err(kind.into());
            }
            None => {
                self.ready.update(false);
                return Err(io::ErrorKind::WouldBlock.into());
            }
        };
        let n = batch.len().min(bufs.len()).min(meta.len());
        let rest = batch.split_off(n);
        if !rest.is_empty() {
            s.input.push_front(UdpInput::Batch(rest));
        }
        self.ready.update(!s.input.is_empty());
        drop(s);
        for (i, m) in batch.into_iter().enumerate() {
            // The kernel truncates what does not fit; so do we.
            let len = m.payload.len().min(bufs[i].len());
            bufs[i][..len].copy_from_slice(&m.payload[..len]);
            let mut rm = RecvMeta::default();
            rm.addr = m.from;
            rm.len = len;
            rm.stride = m.stride;
            rm.dst_ip = m.local;
            meta[i] = rm;
        }
        Ok(n)
    }

    fn send(
        &self,
        dest: SocketAddr,
        contents: &[u8],
        segment_size: Option<usize>,
    ) -> io::Result<()> {
        let _u = Untracked::enter();
        let mut s = lock(&self.state);
        if let Some(kind) = s.fail_sends {
            return Err(kind.into());
        }
        s.sent.push(Sent {
            to: dest,
            contents: contents.to_vec(),
            segment_size,
        });
        Ok(())
    }
}

#[derive(Debug, Default)]
struct RawState {
    input: VecDeque<(Vec<u8>, IpAddr)>,
    sent: Vec<(IpAddr, Vec<u8>)>,
}

/// A raw ESP socket in memory.
#[derive(Debug)]
pub struct FakeRaw {
    ready: Readiness,
    ip_header: bool,
    state: Mutex<RawState>,
}

impl FakeRaw {
    /// An IPv4 socket (`ip_header`: datagrams arrive with their IP header)
    /// or an IPv6 one (ESP from byte 0).
    pub fn new(ip_header: bool) -> io::Result<Self> {
        Ok(Self {
            ready: Readiness::new()?,
            ip_header,
            state: Mutex::default(),
        })
    }

    /// Queues one datagram from `from`.
    pub fn push(&self, from: IpAddr, datagram: Vec<u8>) {
        let mut s = lock(&self.state);
        s.input.push_back((datagram, from));
        self.ready.update(true);
    }

    /// The packets sent so far, emptied.
    pub fn take_sent(&self) -> Vec<(IpAddr, Vec<u8>)> {
        std::mem::take(&mut lock(&self.state).sent)
    }
}

impl AsFd for FakeRaw {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ready.0.as_fd()
    }
}

impl RawEspIo for FakeRaw {
    fn includes_ip_header(&self) -> bool {
        self.ip_header
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, IpAddr)> {
        let _u = Untracked::enter();
        let mut s = lock(&self.state);
        let item = s.input.pop_front();
        self.ready.update(!s.input.is_empty());
        drop(s);
        let (d, from) = item.ok_or(io::ErrorKind::WouldBlock)?;
        let len = d.len().min(buf.len());
        buf[..len].copy_from_slice(&d[..len]);
        Ok((len, from))
    }

    fn send(&self, dest: IpAddr, esp: &[u8]) -> io::Result<()> {
        let _u = Untracked::enter();
        lock(&self.state).sent.push((dest, esp.to_vec()));
        Ok(())
    }
}
