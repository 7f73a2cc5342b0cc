//! `daemon.ike_pcap`: every IKE message we send or accept, decrypted, in a
//! classic pcap file (LINKTYPE_RAW: IPv4 or IPv6, then UDP, then the IKE
//! message), so `yadokari inspect` and Wireshark read the exchanges without
//! keys. The IKE core re-encodes each message with the SK payload's
//! contents in its place, framed as the datagram it stands for (the
//! non-ESP marker in front on a NAT-T port; `Event::MessageTrace`); this
//! module only puts IP and UDP headers around that and writes it.
//!
//! The file holds identities and proposals in the clear, so it is rewritten
//! at each start with mode 0600 forced (also on a file that existed with a
//! wider mode), and never opened through a symbolic link: a link planted at
//! the path would otherwise have us overwrite whatever it points to.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::SystemTime;

/// LINKTYPE_RAW: each record starts with an IPv4 or IPv6 header.
const LINKTYPE_RAW: u32 = 101;
const IPPROTO_UDP: u8 = 17;

pub struct IkePcap {
    out: BufWriter<File>,
}

impl IkePcap {
    /// Creates (or empties) `path`, mode 0600, and writes the pcap file
    /// header. A symbolic link or anything but a regular file is refused.
    pub fn create(path: &Path) -> std::io::Result<IkePcap> {
        let file = yadokari_sys::files::create_private(path, 0o600)?;
        let mut out = BufWriter::new(file);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?; // microsecond timestamps
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // UTC
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65_535u32.to_le_bytes())?;
        out.write_all(&LINKTYPE_RAW.to_le_bytes())?;
        out.flush()?;
        Ok(IkePcap { out })
    }

    /// Appends one message: `payload` is its UDP payload as the core framed
    /// it. `local`/`remote` are the path it travelled; `outbound` says
    /// which way. Flushed at once: the file is for reading
    /// while the daemon runs, and IKE is low-volume.
    pub fn write(
        &mut self,
        time: SystemTime,
        outbound: bool,
        local: SocketAddr,
        remote: SocketAddr,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let (src, dst) = if outbound {
            (local, remote)
        } else {
            (remote, local)
        };
        let packet = frame(src, dst, payload).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "message too large")
        })?;
        let since = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = u32::try_from(since.as_secs()).unwrap_or(u32::MAX);
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        self.out.write_all(&secs.to_le_bytes())?;
        self.out.write_all(&since.subsec_micros().to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&packet)?;
        self.out.flush()
    }
}

/// IP + UDP around a UDP payload; `None` if it cannot fit one datagram.
fn frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Option<Vec<u8>> {
    let mut udp = Vec::with_capacity(8 + payload.len());
    let udp_len = u16::try_from(8 + payload.len()).ok()?;
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut out = Vec::with_capacity(40 + udp.len());
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + udp.len()).ok()?;
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0x40, 0, 64, IPPROTO_UDP, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = checksum(0, &out);
            out[10..12].copy_from_slice(&c.to_be_bytes());
            // UDP checksum 0: "none" is valid over IPv4 (RFC 768).
        }
        (s, d) => {
            let (s, d) = (v6(s), v6(d));
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&udp_len.to_be_bytes());
            out.extend_from_slice(&[IPPROTO_UDP, 64]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            // Over IPv6 the UDP checksum is mandatory (RFC 8200 §8.1).
            let mut pseudo = Vec::with_capacity(40);
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&u32::from(udp_len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, IPPROTO_UDP]);
            let c = match checksum(sum(0, &pseudo), &udp) {
                0 => 0xffff,
                c => c,
            };
            udp[6..8].copy_from_slice(&c.to_be_bytes());
        }
    }
    out.extend_from_slice(&udp);
    Some(out)
}

fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

/// RFC 1071 running sum of 16-bit words.
fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn checksum(acc: u32, data: &[u8]) -> u16 {
    let mut s = sum(acc, data);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_frame_has_valid_header_checksum_and_keeps_the_marker() {
        let m = [&[0u8; 4][..], &[0xaa; 28]].concat();
        let p = frame(a("192.0.2.1:4500"), a("192.0.2.2:4500"), &m).unwrap();
        assert_eq!(p.len(), 20 + 8 + 4 + 28);
        assert_eq!(checksum(0, &p[..20]), 0, "header checksum verifies");
        assert_eq!(u16::from_be_bytes([p[24], p[25]]), 8 + 4 + 28);
        assert_eq!(&p[28..], &m[..], "the payload as framed by the core");
    }

    #[test]
    fn ipv6_frame_has_valid_udp_checksum() {
        let m = [0x55; 33];
        let p = frame(a("[2001:db8::1]:500"), a("[2001:db8::2]:500"), &m).unwrap();
        assert_eq!(p[0] >> 4, 6);
        let udp = &p[40..];
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&p[8..40]);
        pseudo.extend_from_slice(&(udp.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(checksum(sum(0, &pseudo), udp), 0, "UDP checksum verifies");
    }

    #[test]
    fn file_has_pcap_header_and_records() {
        let dir = std::env::temp_dir().join(format!("yk-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ike.pcap");
        let mut w = IkePcap::create(&path).unwrap();
        w.write(
            SystemTime::now(),
            true,
            a("192.0.2.1:500"),
            a("192.0.2.2:500"),
            &[1; 28],
        )
        .unwrap();
        drop(w);
        let b = std::fs::read(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(&b[..4], &0xa1b2_c3d4u32.to_le_bytes());
        assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 101);
        assert_eq!(
            u32::from_le_bytes(b[32..36].try_into().unwrap()),
            20 + 8 + 28
        );
        assert_eq!(b.len(), 24 + 16 + 56);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("yk-pcap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn symlink_is_refused_and_its_target_kept() {
        let dir = scratch("link");
        let target = dir.join("precious");
        std::fs::write(&target, b"keep me").unwrap();
        let link = dir.join("ike.pcap");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = IkePcap::create(&link)
            .err()
            .expect("a symlink must be refused");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn existing_world_readable_file_becomes_0600_and_is_emptied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let path = dir.join("ike.pcap");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(IkePcap::create(&path).unwrap());
        let meta = std::fs::metadata(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 24, "only the pcap header is left");
    }

    #[test]
    fn hard_link_or_foreign_file_is_refused_and_kept() {
        let dir = scratch("hardlink");
        let other = dir.join("other");
        std::fs::write(&other, b"keep me").unwrap();
        let path = dir.join("ike.pcap");
        std::fs::hard_link(&other, &path).unwrap();
        let e = IkePcap::create(&path).err().expect("refused");
        assert!(e.to_string().contains("hard links"), "{e}");
        assert_eq!(std::fs::read(&other).unwrap(), b"keep me");
        std::fs::remove_file(&path).unwrap();
        if !nix::unistd::geteuid().is_root() {
            return; // cannot give a file away without root
        }
        // A file someone else made (here: user 65534) is not ours to fill.
        std::fs::write(&path, b"theirs").unwrap();
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let e = IkePcap::create(&path).err().expect("refused");
        assert!(e.to_string().contains("belongs to user 65534"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let dir = scratch("fifo");
        let path = dir.join("ike.pcap");
        assert!(std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap()
            .success());
        // O_NONBLOCK write-open of a FIFO without a reader fails (ENXIO)
        // instead of waiting for one.
        assert!(IkePcap::create(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
