//! Secrets (pre-shared keys) read from files, never printed.

use std::fmt;
use std::path::Path;

/// A secret value. Its `Debug` never shows the bytes, and the bytes are
/// wiped when it is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Volatile-free wipe is enough here: the allocation is freed right
        // after, and the daemon's crypto crate zeroizes its own key copies.
        for b in self.0.iter_mut() {
            *b = 0;
        }
        std::hint::black_box(&self.0);
    }
}

/// The shortest pre-shared key accepted. RFC 7296 §2.15 asks for a key as
/// strong as the negotiated keys; short human-chosen PSKs are open to
/// offline dictionary attacks by anyone who captures one IKE_AUTH exchange.
pub const MIN_PSK_LEN: usize = 20;

/// Reads a secret file, refusing one that others can read.
pub fn read_secret_file(path: &Path) -> Result<Secret, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "`{}` is readable by group or others (mode {:03o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    let mut bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Ok(Secret(bytes))
}
