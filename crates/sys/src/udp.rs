//! The UDP socket that carries UDP-encapsulated ESP and IKE (RFC 3948,
//! port 4500), with batched, offloaded I/O.
//!
//! Receive: `recvmmsg` of up to [`RECV_BATCH`] messages, each of which may be
//! a UDP_GRO run of equal-sized datagrams from one sender (`stride` tells the
//! size). Send: one `sendmsg` per destination with UDP_SEGMENT, so a run of
//! equal-sized ESP packets to one peer costs one syscall. quinn-udp does the
//! cmsg work; this module adds buffer forcing (SO_RCVBUFFORCE/SO_SNDBUFFORCE:
//! as root inside a namespace the `rmem_max` sysctl cannot be raised), the
//! kernel's per-socket drop counter (SO_MEMINFO) and a blocking send that
//! waits for buffer space instead of losing the packet.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use quinn_udp::{Transmit, UdpSockRef, UdpSocketState};
use socket2::{Domain, Protocol, Socket, Type};

pub use quinn_udp::RecvMeta;

/// Messages per `recvmmsg` call.
pub const RECV_BATCH: usize = quinn_udp::BATCH_SIZE;

/// How to open the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpConfig {
    /// Local address; port 4500 for NAT-T, 0 for any.
    pub bind: SocketAddr,
    /// Receive buffer to force (bytes); 0 keeps the default.
    pub recv_buffer: usize,
    /// Send buffer to force (bytes); 0 keeps the default.
    pub send_buffer: usize,
    /// Set SO_REUSEPORT (one socket per worker on the same port).
    pub reuse_port: bool,
    /// For an IPv6 bind: also accept IPv4 (v4-mapped) traffic.
    pub dual_stack: bool,
}

impl UdpConfig {
    /// Defaults for `bind`: 4 MiB forced buffers, no reuse-port, dual stack.
    #[must_use]
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            recv_buffer: 4 << 20,
            send_buffer: 4 << 20,
            reuse_port: false,
            dual_stack: true,
        }
    }
}

/// What the kernel granted, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketInfo {
    /// Effective SO_RCVBUF.
    pub recv_buffer: usize,
    /// Effective SO_SNDBUF.
    pub send_buffer: usize,
    /// Segments per GSO send (1 = no GSO).
    pub gso_segments: usize,
    /// Segments per GRO receive (1 = no GRO).
    pub gro_segments: usize,
}

/// A UDP socket with batched GSO/GRO I/O. Non-blocking underneath; use
/// [`crate::poll::wait_readable`] before [`UdpSocket::recv`].
#[derive(Debug)]
pub struct UdpSocket {
    sock: Socket,
    state: UdpSocketState,
}

const SO_MEMINFO: libc::c_int = 55;
const SK_MEMINFO_DROPS: usize = 8;
const SK_MEMINFO_VARS: usize = 9;

pub(crate) fn force_buffer(
    sock: &Socket,
    force_opt: libc::c_int,
    bytes: usize,
    recv: bool,
) -> io::Result<()> {
    let v = bytes.min(i32::MAX as usize) as libc::c_int;
    match crate::setsockopt_int(sock.as_fd(), libc::SOL_SOCKET, force_opt, v) {
        Ok(()) => Ok(()),
        // Without CAP_NET_ADMIN fall back to the capped option.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            if recv {
                sock.set_recv_buffer_size(bytes)
            } else {
                sock.set_send_buffer_size(bytes)
            }
        }
        Err(e) => Err(e),
    }
}

/// Sets `sock`'s receive buffer to `bytes`, past the `rmem_max` sysctl when
/// we may (SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it, capped). For
/// sockets this crate does not open itself, such as the daemon's IKE
/// sockets, which a burst of IKE_SA_INITs otherwise overflows.
pub fn force_recv_buffer(sock: &Socket, bytes: usize) -> io::Result<()> {
    force_buffer(sock, libc::SO_RCVBUFFORCE, bytes, true)
}

/// The kernel's drop counter of socket `fd` (SO_MEMINFO); wraps at 2^32.
pub(crate) fn meminfo_drops(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut vals = [0u32; SK_MEMINFO_VARS];
    let mut len = std::mem::size_of_val(&vals) as libc::socklen_t;
    // SAFETY: `vals` is a writable buffer of `len` bytes that outlives the
    // call, and `len` points to its size; `fd` is live for the borrow.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_MEMINFO,
            vals.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(vals[SK_MEMINFO_DROPS])
}

impl UdpSocket {
    /// Creates, configures and binds the socket.
    pub fn bind(cfg: &UdpConfig) -> io::Result<Self> {
        let domain = Domain::for_address(cfg.bind);
        let sock = Socket::new(domain, Type::DGRAM.cloexec(), Some(Protocol::UDP))?;
        if cfg.bind.is_ipv6() {
            sock.set_only_v6(!cfg.dual_stack)?;
        }
        if cfg.reuse_port {
            sock.set_reuse_port(true)?;
        }
        if cfg.recv_buffer > 0 {
            force_buffer(&sock, libc::SO_RCVBUFFORCE, cfg.recv_buffer, true)?;
        }
        if cfg.send_buffer > 0 {
            force_buffer(&sock, libc::SO_SNDBUFFORCE, cfg.send_buffer, false)?;
        }
        sock.bind(&cfg.bind.into())?;
        // Enables UDP_GRO, IP_PKTINFO/IPV6_RECVPKTINFO, probes GSO, sets O_NONBLOCK.
        let state = UdpSocketState::new(UdpSockRef::from(&sock))?;
        Ok(Self { sock, state })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("socket has no IP address"))
    }

    /// Buffer sizes and offload limits in force.
    pub fn info(&self) -> io::Result<SocketInfo> {
        Ok(SocketInfo {
            recv_buffer: self.sock.recv_buffer_size()?,
            send_buffer: self.sock.send_buffer_size()?,
            gso_segments: self.state.max_gso_segments(),
            gro_segments: self.state.gro_segments(),
        })
    }

    /// Sets the socket's firewall mark; see [`set_mark`].
    pub fn set_mark(&self, mark: u32) -> io::Result<()> {
        set_mark(self.sock.as_fd(), mark)
    }

    /// Segments one GSO send may carry (1 when the kernel lacks UDP_SEGMENT).
    #[must_use]
    pub fn max_gso_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// Receives up to `bufs.len()` (≤ [`RECV_BATCH`]) messages. A message
    /// whose `meta.stride < meta.len` holds several datagrams of `stride`
    /// bytes each (the last may be shorter). Errors `WouldBlock` when empty.
    pub fn recv(&self, bufs: &mut [IoSliceMut<'_>], meta: &mut [RecvMeta]) -> io::Result<usize> {
        self.state.recv(UdpSockRef::from(&self.sock), bufs, meta)
    }

    /// Sends `contents` to `dest`: one datagram, or with `segment_size` a run
    /// of datagrams of that size (the last may be shorter) in one call.
    /// Waits for buffer space (up to 1 s) rather than dropping.
    pub fn send(
        &self,
        dest: SocketAddr,
        contents: &[u8],
        segment_size: Option<usize>,
    ) -> io::Result<()> {
        let segment_size = segment_size.filter(|&s| s < contents.len());
        let t = Transmit {
            destination: dest,
            ecn: None,
            contents,
            segment_size,
            src_ip: None,
        };
        loop {
            match self.state.try_send(UdpSockRef::from(&self.sock), &t) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let r = crate::poll::wait_writable(
                        &[self.sock.as_fd()],
                        Some(Duration::from_secs(1)),
                    )?;
                    if r.is_empty() {
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    /// Datagrams the kernel dropped on this socket (full receive buffer, bad
    /// checksum), from SO_MEMINFO; wraps at 2^32.
    pub fn kernel_drops(&self) -> io::Result<u32> {
        meminfo_drops(self.sock.as_fd())
    }

    /// Installs a classic-BPF SO_REUSEPORT selector that picks socket
    /// `spi % group_size` from the first 32-bit word of the UDP payload (the
    /// ESP SPI, RFC 3948 §2.2), so every datagram of one SA lands on the same
    /// worker. IKE (non-ESP marker 0) and keepalives (too short: the load
    /// fails and the program returns 0) go to socket 0. Call on one socket of
    /// the group after all have bound.
    pub fn attach_spi_steering(&self, group_size: u32) -> io::Result<()> {
        if group_size == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty group"));
        }
        // The reuseport program sees the skb with the UDP header pulled, so
        // absolute offset 0 is the first payload byte.
        let mut prog = [
            libc::sock_filter {
                code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
                jt: 0,
                jf: 0,
                k: 0,
            },
            libc::sock_filter {
                code: (libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: group_size,
            },
            libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_A) as u16,
                jt: 0,
                jf: 0,
                k: 0,
            },
        ];
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_mut_ptr(),
        };
        // SAFETY: `fprog` points to `prog`, both live on our stack for the call;
        // the kernel copies the program before returning.
        let rc = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_REUSEPORT_CBPF,
                (&fprog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// Sets SO_MARK on any socket (needs CAP_NET_ADMIN). Marked datagrams can be
/// kept out of routing rules meant for user traffic: the daemon marks its
/// IKE and ESP sockets so that a host route into the TUN for a
/// transport-mode peer does not swallow the datagrams that carry the tunnel.
pub fn set_mark(fd: BorrowedFd<'_>, mark: u32) -> io::Result<()> {
    // The kernel reads the option as an int and keeps its bits as a u32.
    let v = libc::c_int::from_ne_bytes(mark.to_ne_bytes());
    crate::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_MARK, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn set_mark_reads_back() {
        // Nothing is sent: a mark on an unbound socket touches no network.
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
        match set_mark(s.as_fd(), 0x796b) {
            Ok(()) => assert_eq!(s.mark().expect("SO_MARK"), 0x796b),
            // Without CAP_NET_ADMIN the kernel refuses; nothing to check.
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPERM)),
        }
    }

    use crate::netns::scratch::Ns;

    fn loopback() -> UdpSocket {
        let mut cfg = UdpConfig::new(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)));
        cfg.recv_buffer = 1 << 20;
        cfg.send_buffer = 1 << 20;
        UdpSocket::bind(&cfg).expect("bind loopback")
    }

    fn recv_all(s: &UdpSocket) -> Vec<(usize, usize)> {
        let mut storage = vec![0u8; 65536 * 4];
        let mut out = Vec::new();
        let r =
            crate::poll::wait_readable(&[s.as_fd()], Some(Duration::from_secs(2))).expect("poll");
        assert!(r.is_ready(0), "nothing received");
        let mut bufs: Vec<IoSliceMut<'_>> =
            storage.chunks_mut(65536).map(IoSliceMut::new).collect();
        let mut meta = vec![RecvMeta::default(); bufs.len()];
        let n = s.recv(&mut bufs, &mut meta).expect("recv");
        for m in &meta[..n] {
            out.push((m.len, m.stride));
        }
        out
    }

    #[test]
    fn gso_send_arrives_as_segments() {
        let Some(ns) = Ns::new("yksys") else { return };
        let (a, b) = crate::netns::run_in(&ns.0, || Ok((loopback(), loopback())))
            .expect("sockets in namespace");
        let info = a.info().expect("info");
        assert!(
            info.recv_buffer >= 1 << 20,
            "buffer forcing failed: {info:?}"
        );
        let payload = vec![0xabu8; 1000 * 5 + 300];
        a.send(b.local_addr().expect("addr"), &payload, Some(1000))
            .expect("send");
        let got = recv_all(&b);
        let total: usize = got.iter().map(|g| g.0).sum();
        assert_eq!(total, payload.len());
        // Each message is either a GRO run of 1000-byte segments or single datagrams.
        for (len, stride) in got {
            assert!(stride == 1000 || len <= 1000, "len {len} stride {stride}");
        }
        assert_eq!(b.kernel_drops().expect("meminfo"), 0);
    }

    #[test]
    fn spi_steering_program_is_accepted() {
        let Some(ns) = Ns::new("yksys") else { return };
        let a = crate::netns::run_in(&ns.0, || {
            let mut cfg = UdpConfig::new(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)));
            cfg.reuse_port = true;
            UdpSocket::bind(&cfg)
        })
        .expect("bind");
        a.attach_spi_steering(2).expect("cbpf");
        assert!(a.attach_spi_steering(0).is_err());
    }
}
