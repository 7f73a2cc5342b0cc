//! A blocking client for the control socket, used by the `yadokari` CLI.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Request, Response};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot connect to yadokarid at {path}: {source} (is the daemon running? see --socket)"
    )]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("lost the connection to yadokarid: {0}")]
    Io(#[from] std::io::Error),
    #[error("yadokarid closed the connection without answering")]
    Closed,
    #[error("yadokarid sent a malformed answer: {0}")]
    Malformed(String),
}

pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    pub fn connect(path: &Path, timeout: Option<Duration>) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_owned(),
            source,
        })?;
        stream.set_read_timeout(timeout)?;
        stream.set_write_timeout(timeout)?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    pub fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        self.writer.write_all(req.to_line().as_bytes())?;
        Ok(())
    }

    /// The next response line.
    pub fn recv(&mut self) -> Result<Response, ClientError> {
        let mut line = String::new();
        // Bound the line so a confused peer cannot make us buffer forever.
        let n = (&mut self.reader).take(16 << 20).read_line(&mut line)?;
        if n == 0 {
            return Err(ClientError::Closed);
        }
        serde_json::from_str(&line).map_err(|e| ClientError::Malformed(e.to_string()))
    }

    /// Sends a request and returns its single response.
    pub fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        self.send(req)?;
        self.recv()
    }

    /// Stops waiting for more responses after `timeout` (for `logs --follow`
    /// the caller passes `None`).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.reader.get_ref().set_read_timeout(timeout)?;
        Ok(())
    }
}

use std::io::Read as _;
