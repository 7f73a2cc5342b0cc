//! The control socket: one JSON request per line in, JSON response lines out
//! (the format is `yadokari-control`'s). Each request becomes a message to
//! the engine task, which owns all protocol state, so nothing here locks it.
//!
//! Access: the socket is created mode 0600 (root only), or 0660 owned by the
//! configured group. Only a stale socket left by a crashed daemon (a socket
//! nobody answers on) is replaced; a live one (another daemon answers) is
//! an error, so two instances can never silently share a path, and anything
//! that is not a socket (a typo that names the configuration file, say) is
//! an error too, never deleted.
//!
//! Limits: at most `daemon.control_clients` connections at once; a client
//! that sends no request for `daemon.control_idle_timeout` is closed, and
//! when all places are taken a new client gets the place of the one idle
//! the longest (so `yadokari status` works however many idle connections
//! are held), or a JSON error line when every client is busy. Every write
//! has a timeout, so a client that stops reading cannot hold its task.
//! Together with the raised RLIMIT_NOFILE this keeps file descriptors for
//! the data plane and IKE (see `main.rs`).

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, Notify};
use yadokari_control::{Request, Response};

use crate::logging::LogHub;

/// A request on its way to the engine, with where to send the answer.
pub struct EngineCall {
    pub request: Request,
    pub reply: oneshot::Sender<Response>,
}

/// Longest request line accepted; requests are tiny, so anything longer is
/// garbage or an attack on the daemon's memory.
const MAX_LINE: u64 = 64 * 1024;

/// How long one response line may take to write before the client counts
/// as gone (it stopped reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many clients at once and how long one may stay idle.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_clients: usize,
    pub idle: Duration,
}

pub async fn bind(path: &Path, group: Option<&str>) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => bail!(
            "{} exists and is {}, not a socket; refusing to replace it \
             (check daemon.control_socket or --socket)",
            path.display(),
            yadokari_sys::files::kind(&meta.file_type())
        ),
        Ok(_) => match UnixStream::connect(path).await {
            Ok(_) => bail!(
                "another daemon is listening on {}; give each instance its own --socket",
                path.display()
            ),
            // Nobody listens: the socket of a daemon that is gone.
            Err(e) if e.raw_os_error() == Some(nix::libc::ECONNREFUSED) => {
                std::fs::remove_file(path)
                    .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
            }
            Err(e) => bail!(
                "{} is a socket that cannot be checked ({e}); refusing to replace it",
                path.display()
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("cannot inspect {}: {e}", path.display()),
    }
    // The socket must never exist with a wider mode than 0600, not even
    // between bind and chmod.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound.with_context(|| format!("cannot bind {}", path.display()))?;
    let mode = match group {
        Some(name) => {
            let g = nix::unistd::Group::from_name(name)
                .with_context(|| format!("cannot look up group `{name}`"))?
                .with_context(|| format!("no such group `{name}` (control_group)"))?;
            std::os::unix::fs::chown(path, None, Some(g.gid.as_raw()))
                .with_context(|| format!("cannot give {} to group `{name}`", path.display()))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// One connected client: idle since when (None while a request runs), and
/// how to tell it to make room.
struct Slot {
    idle_since: Option<Instant>,
    kick: Arc<Notify>,
}

#[derive(Clone, Default)]
struct Slots(Arc<Mutex<HashMap<u64, Slot>>>);

impl Slots {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a new client, taking the longest-idle client's when all
    /// are taken; `None` when every client is busy.
    fn admit(&self, id: u64, max: usize) -> Option<Arc<Notify>> {
        let mut slots = self.lock();
        if slots.len() >= max {
            let victim = slots
                .iter()
                .filter_map(|(k, s)| s.idle_since.map(|t| (t, *k)))
                .min()
                .map(|(_, k)| k)?;
            if let Some(v) = slots.remove(&victim) {
                v.kick.notify_one();
            }
        }
        let kick = Arc::new(Notify::new());
        slots.insert(
            id,
            Slot {
                idle_since: Some(Instant::now()),
                kick: kick.clone(),
            },
        );
        Some(kick)
    }

    fn set_idle(&self, id: u64, idle: bool) {
        if let Some(s) = self.lock().get_mut(&id) {
            s.idle_since = idle.then(Instant::now);
        }
    }

    fn leave(&self, id: u64) {
        self.lock().remove(&id);
    }
}

pub async fn serve(
    listener: UnixListener,
    engine: mpsc::Sender<EngineCall>,
    logs: LogHub,
    limits: Limits,
) {
    let slots = Slots::default();
    let mut next_id = 0u64;
    let mut last_warn: Option<Instant> = None;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                next_id += 1;
                let id = next_id;
                let Some(kick) = slots.admit(id, limits.max_clients) else {
                    // Every place is held by a busy client. The answer fits
                    // the new socket's empty buffer, so this never waits.
                    let line = error_line(&format!(
                        "too many control clients (at most {}, all busy); try again later",
                        limits.max_clients
                    ));
                    let _ = stream.try_write(line.as_bytes());
                    continue;
                };
                let engine = engine.clone();
                let logs = logs.clone();
                let slots = slots.clone();
                tokio::spawn(async move {
                    if let Err(e) = session(stream, engine, logs, &slots, id, kick, limits).await {
                        tracing::debug!("control client: {e}");
                    }
                    slots.leave(id);
                });
            }
            Err(e) => {
                // EMFILE and the like: say so at most once a minute.
                if last_warn.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    crate::internal_warn!("control socket accept failed: {e}");
                    last_warn = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn error_line(error: &str) -> String {
    Response::Error {
        error: error.to_owned(),
    }
    .to_line()
}

/// Writes one line, giving up on a client that does not read.
async fn send(write: &mut OwnedWriteHalf, line: &str) -> std::io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(line.as_bytes())).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client does not read its answers",
        )),
    }
}

async fn session(
    stream: UnixStream,
    engine: mpsc::Sender<EngineCall>,
    logs: LogHub,
    slots: &Slots,
    id: u64,
    kick: Arc<Notify>,
    limits: Limits,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    loop {
        slots.set_idle(id, true);
        let mut raw = Vec::new();
        let mut limited = (&mut lines).take(MAX_LINE);
        let n = tokio::select! {
            r = limited.read_until(b'\n', &mut raw) => r?,
            _ = kick.notified() => {
                let why = format!(
                    "closed: this connection was the longest idle and a new client needed \
                     its place (at most {} control clients)",
                    limits.max_clients
                );
                return send(&mut write, &error_line(&why)).await;
            }
            _ = tokio::time::sleep(limits.idle) => {
                let why = format!(
                    "closed: no request for {} s (daemon.control_idle_timeout)",
                    limits.idle.as_secs()
                );
                return send(&mut write, &error_line(&why)).await;
            }
        };
        slots.set_idle(id, false);
        if n == 0 {
            return Ok(());
        }
        if raw.last() != Some(&b'\n') && n as u64 == MAX_LINE {
            return send(&mut write, &error_line("request too long")).await;
        }
        let Ok(line) = String::from_utf8(raw) else {
            send(&mut write, &error_line("the request is not valid UTF-8")).await?;
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let request = match Request::from_line(&line) {
            Ok(r) => r,
            Err(e) => {
                send(&mut write, &Response::Error { error: e }.to_line()).await?;
                continue;
            }
        };
        if let Request::Logs { follow } = request {
            for l in logs.recent() {
                send(&mut write, &Response::Log(l).to_line()).await?;
            }
            if !follow {
                let done = Response::Done {
                    message: "end of log".into(),
                };
                send(&mut write, &done.to_line()).await?;
                continue;
            }
            let mut rx = logs.subscribe();
            let mut probe = [0u8; 1];
            loop {
                let next = tokio::select! {
                    l = rx.recv() => l,
                    // A follower only listens: input or EOF means it is gone
                    // (without this its place stays taken until a log line).
                    _ = lines.read(&mut probe) => return Ok(()),
                };
                match next {
                    Ok(l) => send(&mut write, &Response::Log(l).to_line()).await?,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let note = yadokari_control::LogLine {
                            time: yadokari_control::time::rfc3339(std::time::SystemTime::now()),
                            category: "internal-warning".into(),
                            message: format!("{n} log lines dropped: the client reads too slowly"),
                        };
                        send(&mut write, &Response::Log(note).to_line()).await?;
                    }
                    Err(_) => return Ok(()),
                }
            }
        }
        let (tx, rx) = oneshot::channel();
        if engine
            .send(EngineCall { request, reply: tx })
            .await
            .is_err()
        {
            return send(&mut write, &error_line("the daemon is shutting down")).await;
        }
        let response = rx.await.unwrap_or(Response::Error {
            error: "the daemon is shutting down".into(),
        });
        send(&mut write, &response.to_line()).await?;
    }
}

/// The socket path to use: command line, else config.
pub fn socket_path(cli: Option<&Path>, config: &yadokari_config::Config) -> PathBuf {
    cli.map(Path::to_path_buf)
        .unwrap_or_else(|| config.daemon.control_socket.clone())
}
