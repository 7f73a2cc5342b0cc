//! The control socket: one JSON request per line in, JSON response lines out
//! (the format is `yadokari-control`'s). Each request becomes a message to
//! the engine task, which owns all protocol state, so nothing here locks it.
//!
//! Access: the socket is created mode 0600 (root only), or 0660 owned by the
//! configured group. A stale socket left by a crashed daemon is replaced; a
//! live one (another daemon answers) is an error, so two instances can never
//! silently share a path.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
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

pub async fn bind(path: &Path, group: Option<&str>) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            bail!(
                "another daemon is listening on {}; give each instance its own --socket",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
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

pub async fn serve(listener: UnixListener, engine: mpsc::Sender<EngineCall>, logs: LogHub) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let engine = engine.clone();
                let logs = logs.clone();
                tokio::spawn(async move {
                    if let Err(e) = session(stream, engine, logs).await {
                        tracing::debug!("control client: {e}");
                    }
                });
            }
            Err(e) => {
                crate::internal_warn!("control socket accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn session(
    stream: UnixStream,
    engine: mpsc::Sender<EngineCall>,
    logs: LogHub,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    loop {
        let mut line = String::new();
        let n = (&mut lines).take(MAX_LINE).read_line(&mut line).await?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') && n as u64 == MAX_LINE {
            write
                .write_all(
                    Response::Error {
                        error: "request too long".into(),
                    }
                    .to_line()
                    .as_bytes(),
                )
                .await?;
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let request = match Request::from_line(&line) {
            Ok(r) => r,
            Err(e) => {
                write
                    .write_all(Response::Error { error: e }.to_line().as_bytes())
                    .await?;
                continue;
            }
        };
        if let Request::Logs { follow } = request {
            for l in logs.recent() {
                write
                    .write_all(Response::Log(l).to_line().as_bytes())
                    .await?;
            }
            if !follow {
                write
                    .write_all(
                        Response::Done {
                            message: "end of log".into(),
                        }
                        .to_line()
                        .as_bytes(),
                    )
                    .await?;
                continue;
            }
            let mut rx = logs.subscribe();
            loop {
                match rx.recv().await {
                    Ok(l) => {
                        write
                            .write_all(Response::Log(l).to_line().as_bytes())
                            .await?
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let note = yadokari_control::LogLine {
                            time: yadokari_control::time::rfc3339(std::time::SystemTime::now()),
                            category: "internal-warning".into(),
                            message: format!("{n} log lines dropped: the client reads too slowly"),
                        };
                        write
                            .write_all(Response::Log(note).to_line().as_bytes())
                            .await?;
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
            write
                .write_all(
                    Response::Error {
                        error: "the daemon is shutting down".into(),
                    }
                    .to_line()
                    .as_bytes(),
                )
                .await?;
            return Ok(());
        }
        let response = rx.await.unwrap_or(Response::Error {
            error: "the daemon is shutting down".into(),
        });
        write.write_all(response.to_line().as_bytes()).await?;
    }
}

/// The socket path to use: command line, else config.
pub fn socket_path(cli: Option<&Path>, config: &yadokari_config::Config) -> PathBuf {
    cli.map(Path::to_path_buf)
        .unwrap_or_else(|| config.daemon.control_socket.clone())
}
