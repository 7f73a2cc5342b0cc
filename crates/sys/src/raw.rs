//! A raw IP socket for ESP as IP protocol 50 (RFC 4303 §2, no UDP
//! encapsulation): what IPsec peers use when no NAT is in the way
//! (RFC 7296 §2.23 only moves ESP into UDP when a NAT was detected).
//!
//! The kernel builds the outer IP header on send (no IP_HDRINCL). On receive
//! an IPv4 raw socket hands over the whole datagram, IP header included,
//! while an IPv6 one starts at the ESP header (RFC 3542 §3); callers strip
//! accordingly (see [`RawEspSocket::includes_ip_header`]). Without kernel
//! ESP (no xfrm state), every protocol-50 datagram addressed to this host
//! reaches every such socket.

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// IP protocol number of ESP (IANA).
pub const IPPROTO_ESP: i32 = 50;

/// How to open a raw ESP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawConfig {
    /// Local address to bind (receives only ESP to it); unspecified for any.
    /// Its family picks the socket's family.
    pub bind: IpAddr,
    /// Receive buffer to force (bytes); 0 keeps the default.
    pub recv_buffer: usize,
    /// Send buffer to force (bytes); 0 keeps the default.
    pub send_buffer: usize,
}

impl RawConfig {
    /// Defaults for `bind`: 4 MiB forced buffers.
    #[must_use]
    pub fn new(bind: IpAddr) -> Self {
        Self {
            bind,
            recv_buffer: 4 << 20,
            send_buffer: 4 << 20,
        }
    }
}

/// A non-blocking raw socket for IP protocol 50 of one address family.
#[derive(Debug)]
pub struct RawEspSocket {
    sock: Socket,
    v6: bool,
}

impl RawEspSocket {
    /// Creates, configures and (for a specific address) binds the socket.
    /// Needs CAP_NET_RAW.
    pub fn open(cfg: &RawConfig) -> io::Result<Self> {
        let v6 = cfg.bind.is_ipv6();
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let sock = Socket::new(
            domain,
            Type::RAW.cloexec(),
            Some(Protocol::from(IPPROTO_ESP)),
        )?;
        if cfg.recv_buffer > 0 {
            crate::udp::force_buffer(&sock, libc::SO_RCVBUFFORCE, cfg.recv_buffer, true)?;
        }
        if cfg.send_buffer > 0 {
            crate::udp::force_buffer(&sock, libc::SO_SNDBUFFORCE, cfg.send_buffer, false)?;
        }
        if !cfg.bind.is_unspecified() {
            sock.bind(&SocketAddr::new(cfg.bind, 0).into())?;
        }
        sock.set_nonblocking(true)?;
        Ok(Self { sock, v6 })
    }

    /// Whether this is the IPv6 socket.
    #[must_use]
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }

    /// Whether received datagrams start with the IP header (IPv4 only).
    #[must_use]
    pub fn includes_ip_header(&self) -> bool {
        !self.v6
    }

    /// Sets the socket's firewall mark; see [`crate::udp::set_mark`].
    pub fn set_mark(&self, mark: u32) -> io::Result<()> {
        crate::udp::set_mark(self.sock.as_fd(), mark)
    }

    /// Receives one datagram into `buf`: its length (truncated to `buf`) and
    /// the sender. Errors `WouldBlock` when empty.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, IpAddr)> {
        // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and
        // the buffer is already initialised; recvfrom only writes bytes into
        // it, never de-initialises them, so `buf` stays valid `[u8]`.
        let uninit: &mut [MaybeUninit<u8>] = unsafe {
            std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<MaybeUninit<u8>>(), buf.len())
        };
        let (n, from) = self.sock.recv_from(uninit)?;
        let from = from
            .as_socket()
            .map(|a| a.ip())
            .ok_or_else(|| io::Error::other("raw datagram without an IP source"))?;
        Ok((n.min(buf.len()), from))
    }

    /// Sends one ESP packet (starting at the SPI) to `dest`; the kernel adds
    /// the IP header. Waits for buffer space (up to 1 s) rather than dropping.
    pub fn send(&self, dest: IpAddr, esp: &[u8]) -> io::Result<()> {
        // An IPv6 raw socket wants port 0 (or its protocol) here.
        let to: SockAddr = SocketAddr::new(dest, 0).into();
        loop {
            match self.sock.send_to(esp, &to) {
                Ok(_) => return Ok(()),
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
                Err(e) => return Err(e),
            }
        }
    }

    /// Datagrams the kernel dropped on this socket (full receive buffer).
    pub fn kernel_drops(&self) -> io::Result<u32> {
        crate::udp::meminfo_drops(self.sock.as_fd())
    }
}

impl AsFd for RawEspSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use crate::netns::scratch::Ns;

    fn roundtrip(lo: IpAddr) {
        let Some(ns) = Ns::new("yksysraw") else {
            return;
        };
        let (a, b) = crate::netns::run_in(&ns.0, move || {
            Ok((
                RawEspSocket::open(&RawConfig::new(lo))?,
                RawEspSocket::open(&RawConfig::new(lo))?,
            ))
        })
        .expect("raw sockets in namespace");
        a.set_mark(0x796b).expect("mark");
        let esp = [0u8, 0, 0x12, 0x34, 0, 0, 0, 1, 0xaa, 0xbb];
        a.send(lo, &esp).expect("send");
        let r =
            crate::poll::wait_readable(&[b.as_fd()], Some(Duration::from_secs(2))).expect("poll");
        assert!(r.is_ready(0), "nothing received");
        let mut buf = [0u8; 2048];
        let (n, from) = b.recv(&mut buf).expect("recv");
        assert_eq!(from, lo);
        let got = if b.includes_ip_header() {
            assert_eq!(buf[0] >> 4, 4);
            assert_eq!(buf[9], 50, "IP protocol");
            let ihl = usize::from(buf[0] & 0x0f) * 4;
            &buf[ihl..n]
        } else {
            &buf[..n]
        };
        assert_eq!(got, esp);
        assert_eq!(b.kernel_drops().expect("meminfo"), 0);
    }

    #[test]
    fn esp_v4_roundtrip_with_ip_header() {
        roundtrip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn esp_v6_roundtrip_without_ip_header() {
        roundtrip(IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
}
