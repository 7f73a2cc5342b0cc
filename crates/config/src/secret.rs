//! Secrets (pre-shared keys) read from files, never printed.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use yadokari_sys::secmem::SecretBox;

/// A secret value. Its `Debug` never shows the bytes; they live on pages of
/// their own that core dumps leave out (MADV_DONTDUMP) and that are wiped
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Secret(Arc<SecretBox>);

impl Secret {
    /// Moves `bytes` into secret memory and wipes the vector.
    pub fn new(mut bytes: Vec<u8>) -> Self {
        let s = Secret(Arc::new(SecretBox::copy_of(&bytes)));
        bytes.fill(0);
        std::hint::black_box(&bytes);
        s
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The secret memory itself, to share without copying it (the IKE core
    /// keeps this handle, not a copy).
    pub fn shared(&self) -> Arc<dyn AsRef<[u8]> + Send + Sync> {
        self.0.clone()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// The shortest pre-shared key accepted. RFC 7296 §2.15 asks for a key as
/// strong as the negotiated keys; short human-chosen PSKs are open to
/// offline dictionary attacks by anyone who captures one IKE_AUTH exchange.
pub const MIN_PSK_LEN: usize = 20;

/// The largest secret file accepted. A key is a few dozen bytes; anything
/// near this is a wrong path (a log, a disk image) that would otherwise be
/// read whole into memory.
pub const MAX_SECRET_FILE: usize = 64 * 1024;

/// Reads a secret file, refusing one that others can read, one that is not
/// a regular file (a FIFO would block the reader until someone writes to
/// it: `--check` would hang, a reload would freeze the daemon), and one
/// larger than [`MAX_SECRET_FILE`]. The bytes go straight into secret
/// memory, never through a growing heap buffer that leaves copies behind.
pub fn read_secret_file(path: &Path) -> Result<Secret, String> {
    use std::os::unix::fs::PermissionsExt;
    let cannot = |e: &dyn fmt::Display| format!("cannot read `{}`: {e}", path.display());
    // O_NONBLOCK: opening a FIFO does not wait for a writer; the check on
    // the opened descriptor then refuses it before any read.
    let file = yadokari_sys::files::open_regular(path, true).map_err(|e| cannot(&e))?;
    let meta = file.metadata().map_err(|e| cannot(&e))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "`{}` is readable by group or others (mode {:03o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        ));
    }
    let too_big = || {
        format!(
            "`{}` is too large for a secret file (more than {} KiB)",
            path.display(),
            MAX_SECRET_FILE / 1024
        )
    };
    if meta.len() > MAX_SECRET_FILE as u64 {
        return Err(too_big());
    }
    // One byte of room past the limit tells a file that grew since fstat.
    let mut buf = SecretBox::zeroed(MAX_SECRET_FILE + 1);
    let mut n = 0;
    let mut reader = file.take(MAX_SECRET_FILE as u64 + 1);
    loop {
        match reader.read(&mut buf.as_mut_slice()[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot(&e)),
        }
        if n > MAX_SECRET_FILE {
            return Err(too_big());
        }
    }
    let bytes = &buf.as_slice()[..n];
    let end = bytes
        .iter()
        .rposition(|b| *b != b'\n' && *b != b'\r')
        .map_or(0, |i| i + 1);
    Ok(Secret(Arc::new(SecretBox::copy_of(&bytes[..end]))))
}

/// Reads a text file of at most `max` bytes (the configuration itself),
/// refusing FIFOs and other non-regular files as [`read_secret_file`] does.
pub fn read_text_file(path: &Path, max: usize) -> std::io::Result<String> {
    let file = yadokari_sys::files::open_regular(path, true)?;
    let mut text = String::new();
    file.take(max as u64 + 1).read_to_string(&mut text)?;
    if text.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", max >> 20),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "yk-secret-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn fifo_is_refused_at_once() {
        let d = dir();
        let p = d.join("key.fifo");
        let _ = std::fs::remove_file(&p);
        let st = std::process::Command::new("mkfifo")
            .arg("-m")
            .arg("600")
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
        let t = Instant::now();
        let e = read_secret_file(&p).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(e.contains("not a regular file (it is a FIFO)"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn oversized_file_is_refused_and_newlines_are_trimmed() {
        let d = dir();
        let big = d.join("big.psk");
        std::fs::write(&big, vec![b'a'; MAX_SECRET_FILE + 1]).unwrap();
        std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = read_secret_file(&big).unwrap_err();
        assert!(e.contains("too large"), "{e}");
        let ok = d.join("ok.psk");
        std::fs::write(&ok, b"0123456789abcdefghij\r\n").unwrap();
        std::fs::set_permissions(&ok, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = read_secret_file(&ok).unwrap();
        assert_eq!(s.expose(), b"0123456789abcdefghij");
        assert_eq!(format!("{s:?}"), "Secret(20 bytes)");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
