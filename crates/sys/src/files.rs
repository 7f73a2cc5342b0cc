//! Opening files the daemon trusts only as far as it must: a file named in
//! the configuration may turn out to be a FIFO (whose open and read block
//! until someone writes), a device, or a link somewhere unexpected.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens `path` for reading without blocking (O_NONBLOCK: a FIFO opens at
/// once instead of waiting for a writer) and refuses anything that is not a
/// regular file, judged on the opened descriptor (no race with a rename).
/// With `follow` false a symbolic link is refused too (O_NOFOLLOW).
pub fn open_regular(path: &Path, follow: bool) -> io::Result<File> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| nofollow_error(e, follow))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file (it is {})", kind(&meta.file_type())),
        ));
    }
    Ok(file)
}

/// Opens (creating it if missing) a regular file for writing, never through
/// a symbolic link (O_NOFOLLOW), without blocking on a FIFO, forces its mode
/// to `mode` (fchmod: a file that existed keeps no wider mode) and empties it.
/// A file that exists must be ours and have no other hard link: otherwise
/// whoever made it (in a shared directory, say) could read what we write, or
/// have us empty a file of theirs by another name.
pub fn create_private(path: &Path, mode: u32) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| nofollow_error(e, false))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file (it is {})", kind(&meta.file_type())),
        ));
    }
    // SAFETY: geteuid has no arguments and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("it exists and belongs to user {}, not to us", meta.uid()),
        ));
    }
    if meta.nlink() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it exists and has other hard links",
        ));
    }
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.set_len(0)?;
    Ok(file)
}

/// ELOOP from O_NOFOLLOW means "this is a symbolic link": say so.
fn nofollow_error(e: io::Error, follow: bool) -> io::Error {
    if !follow && e.raw_os_error() == Some(libc::ELOOP) {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a symbolic link; name the file itself",
        )
    } else {
        e
    }
}

/// A file type in words.
#[must_use]
pub fn kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "of an unknown type"
    }
}
