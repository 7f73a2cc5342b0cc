//! A minimal client for strongSwan's VICI protocol (the Versatile IKE
//! Control Interface that `swanctl` speaks), enough to drive a charon in a
//! test: `version`, `initiate`, `terminate`, `rekey`, `list-sas`.
//!
//! Wire format (strongSwan's `src/libcharon/plugins/vici/README.md`): every
//! packet is a 32-bit big-endian length followed by a one-byte packet type;
//! named packet types carry a one-byte name length and the name; requests,
//! responses and events then carry a message, a sequence of elements
//! (section start/end, key/value, list start/item/end) whose names are
//! length-prefixed with one byte and whose values with two bytes.
//! This is not IKE (no RFC); it is strongSwan's local control protocol.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

const CMD_REQUEST: u8 = 0;
const CMD_RESPONSE: u8 = 1;
const CMD_UNKNOWN: u8 = 2;
const EVENT_REGISTER: u8 = 3;
const EVENT_UNREGISTER: u8 = 4;
const EVENT_CONFIRM: u8 = 5;
const EVENT_UNKNOWN: u8 = 6;
const EVENT: u8 = 7;

const SECTION_START: u8 = 1;
const SECTION_END: u8 = 2;
const KEY_VALUE: u8 = 3;
const LIST_START: u8 = 4;
const LIST_ITEM: u8 = 5;
const LIST_END: u8 = 6;

/// Upper bound for one packet: charon's own limit is 512 KiB; anything
/// larger means a desynchronised stream, not a real answer.
const MAX_PACKET: usize = 512 * 1024;
/// Sections nest a handful of levels deep in practice; the cap keeps a
/// corrupt stream from recursing without bound.
const MAX_DEPTH: usize = 32;

/// One value in a VICI message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A key/value pair's value (bytes shown lossily as UTF-8).
    Str(String),
    /// A list of items.
    List(Vec<String>),
    /// A nested section.
    Section(Section),
}

/// An ordered VICI section (a message is the top-level section).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// Entries in the order they appeared on the wire.
    pub entries: Vec<(String, Value)>,
}

impl Section {
    /// An empty section.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: add a key/value pair.
    #[must_use]
    pub fn kv(mut self, key: &str, value: impl Into<String>) -> Self {
        self.entries
            .push((key.to_owned(), Value::Str(value.into())));
        self
    }

    /// Builder: add a list.
    #[must_use]
    pub fn list(mut self, key: &str, items: Vec<String>) -> Self {
        self.entries.push((key.to_owned(), Value::List(items)));
        self
    }

    /// Builder: add a subsection.
    #[must_use]
    pub fn section(mut self, key: &str, section: Section) -> Self {
        self.entries.push((key.to_owned(), Value::Section(section)));
        self
    }

    /// The first value named `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The first key/value string named `key`.
    #[must_use]
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The first subsection named `key`.
    #[must_use]
    pub fn sub(&self, key: &str) -> Option<&Section> {
        match self.get(key) {
            Some(Value::Section(s)) => Some(s),
            _ => None,
        }
    }

    /// The first list named `key` (empty if absent).
    #[must_use]
    pub fn items(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    /// All subsections, with their names, in wire order.
    pub fn subsections(&self) -> impl Iterator<Item = (&str, &Section)> {
        self.entries.iter().filter_map(|(k, v)| match v {
            Value::Section(s) => Some((k.as_str(), s)),
            _ => None,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        for (key, value) in &self.entries {
            match value {
                Value::Str(s) => {
                    out.push(KEY_VALUE);
                    put_name(out, key)?;
                    put_value(out, s.as_bytes())?;
                }
                Value::List(items) => {
                    out.push(LIST_START);
                    put_name(out, key)?;
                    for item in items {
                        out.push(LIST_ITEM);
                        put_value(out, item.as_bytes())?;
                    }
                    out.push(LIST_END);
                }
                Value::Section(s) => {
                    out.push(SECTION_START);
                    put_name(out, key)?;
                    s.encode(out)?;
                    out.push(SECTION_END);
                }
            }
        }
        Ok(())
    }

    /// Decodes a message; errors name the byte offset in `buf`.
    pub fn decode(buf: &[u8]) -> Result<Section> {
        let mut cur = Cursor { buf, pos: 0 };
        let section = decode_section(&mut cur, 0)?;
        if cur.pos != buf.len() {
            bail!("vici message: trailing data at byte {}", cur.pos);
        }
        Ok(section)
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u8(&mut self, field: &str) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| anyhow!("vici message: {field} truncated at byte {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn bytes(&mut self, n: usize, field: &str) -> Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| anyhow!("vici message: {field} truncated at byte {}", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn name(&mut self) -> Result<String> {
        let n = usize::from(self.u8("name length")?);
        Ok(String::from_utf8_lossy(self.bytes(n, "name")?).into_owned())
    }

    fn value(&mut self) -> Result<String> {
        let hi = self.u8("value length")?;
        let lo = self.u8("value length")?;
        let n = usize::from(u16::from_be_bytes([hi, lo]));
        Ok(String::from_utf8_lossy(self.bytes(n, "value")?).into_owned())
    }
}

fn decode_section(cur: &mut Cursor<'_>, depth: usize) -> Result<Section> {
    if depth > MAX_DEPTH {
        bail!(
            "vici message: sections nested deeper than {MAX_DEPTH} at byte {}",
            cur.pos
        );
    }
    let mut section = Section::new();
    while cur.pos < cur.buf.len() {
        let at = cur.pos;
        match cur.u8("element type")? {
            SECTION_START => {
                let name = cur.name()?;
                let sub = decode_section(cur, depth + 1)?;
                section.entries.push((name, Value::Section(sub)));
            }
            SECTION_END => {
                if depth == 0 {
                    bail!("vici message: unbalanced section end at byte {at}");
                }
                return Ok(section);
            }
            KEY_VALUE => {
                let name = cur.name()?;
                let value = cur.value()?;
                section.entries.push((name, Value::Str(value)));
            }
            LIST_START => {
                let name = cur.name()?;
                let mut items = Vec::new();
                loop {
                    match cur.u8("list element type")? {
                        LIST_ITEM => items.push(cur.value()?),
                        LIST_END => break,
                        other => bail!(
                            "vici message: element {other} inside a list at byte {}",
                            cur.pos - 1
                        ),
                    }
                }
                section.entries.push((name, Value::List(items)));
            }
            other => bail!("vici message: unknown element type {other} at byte {at}"),
        }
    }
    if depth != 0 {
        bail!("vici message: section not closed at end of message");
    }
    Ok(section)
}

fn put_name(out: &mut Vec<u8>, name: &str) -> Result<()> {
    let n = u8::try_from(name.len()).context("vici name longer than 255 bytes")?;
    out.push(n);
    out.extend_from_slice(name.as_bytes());
    Ok(())
}

fn put_value(out: &mut Vec<u8>, value: &[u8]) -> Result<()> {
    let n = u16::try_from(value.len()).context("vici value longer than 65535 bytes")?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// A connection to one charon's VICI socket.
pub struct Client {
    stream: UnixStream,
}

impl Client {
    /// Connects to the socket at `path`; every read waits at most `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Client> {
        let stream = UnixStream::connect(path)
            .with_context(|| format!("connect to vici socket {}", path.display()))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Client { stream })
    }

    fn send(&mut self, ptype: u8, name: Option<&str>, msg: Option<&Section>) -> Result<()> {
        let mut body = vec![ptype];
        if let Some(name) = name {
            put_name(&mut body, name)?;
        }
        if let Some(msg) = msg {
            msg.encode(&mut body)?;
        }
        let len = u32::try_from(body.len()).context("vici packet too long")?;
        self.stream.write_all(&len.to_be_bytes())?;
        self.stream.write_all(&body)?;
        Ok(())
    }

    fn recv(&mut self) -> Result<(u8, Vec<u8>)> {
        let mut len = [0u8; 4];
        self.stream
            .read_exact(&mut len)
            .context("read vici packet length")?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_PACKET {
            bail!("vici packet length {len} out of range");
        }
        let mut body = vec![0u8; len];
        self.stream
            .read_exact(&mut body)
            .context("read vici packet")?;
        let ptype = body[0];
        body.remove(0);
        Ok((ptype, body))
    }

    /// Sends the command `cmd` and returns its response message. Events
    /// for `stream_event` (registered around the call) are collected and
    /// returned too: that is how `list-sas` delivers its SAs.
    pub fn call_streamed(
        &mut self,
        cmd: &str,
        msg: &Section,
        stream_event: Option<&str>,
    ) -> Result<(Section, Vec<Section>)> {
        if let Some(ev) = stream_event {
            self.send(EVENT_REGISTER, Some(ev), None)?;
            let (t, _) = self.recv()?;
            match t {
                EVENT_CONFIRM => {}
                EVENT_UNKNOWN => bail!("vici: unknown event {ev}"),
                other => bail!("vici: unexpected packet type {other} registering {ev}"),
            }
        }
        self.send(CMD_REQUEST, Some(cmd), Some(msg))?;
        let mut events = Vec::new();
        let response = loop {
            let (t, body) = self.recv()?;
            match t {
                CMD_RESPONSE => break Section::decode(&body)?,
                CMD_UNKNOWN => bail!("vici: unknown command {cmd}"),
                EVENT => {
                    let mut cur = Cursor { buf: &body, pos: 0 };
                    let _name = cur.name()?;
                    events.push(Section::decode(&body[cur.pos..])?);
                }
                other => bail!("vici: unexpected packet type {other} during {cmd}"),
            }
        };
        if let Some(ev) = stream_event {
            self.send(EVENT_UNREGISTER, Some(ev), None)?;
            loop {
                let (t, _) = self.recv()?;
                if t == EVENT_CONFIRM || t == EVENT_UNKNOWN {
                    break;
                }
            }
        }
        Ok((response, events))
    }

    /// Sends a command and returns the response message.
    pub fn call(&mut self, cmd: &str, msg: &Section) -> Result<Section> {
        Ok(self.call_streamed(cmd, msg, None)?.0)
    }

    /// Sends a command whose response carries `success=yes|no` and
    /// `errmsg`, and turns `success=no` into an error.
    pub fn call_ok(&mut self, cmd: &str, msg: &Section) -> Result<Section> {
        let r = self.call(cmd, msg)?;
        if r.str("success") == Some("yes") {
            Ok(r)
        } else {
            bail!(
                "vici {cmd} failed: {}",
                r.str("errmsg").unwrap_or("(no errmsg)")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip() {
        let msg = Section::new()
            .kv("child", "site4")
            .list("ts", vec!["192.0.2.0/24".into(), "2001:db8::/32".into()])
            .section("inner", Section::new().kv("a", "b"));
        let mut buf = Vec::new();
        msg.encode(&mut buf).unwrap();
        assert_eq!(buf[0], KEY_VALUE);
        assert_eq!(Section::decode(&buf).unwrap(), msg);
    }

    #[test]
    fn decode_truncated_is_error() {
        let msg = Section::new().kv("child", "site4");
        let mut buf = Vec::new();
        msg.encode(&mut buf).unwrap();
        for n in 1..buf.len() {
            assert!(Section::decode(&buf[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn decode_rejects_unbalanced() {
        assert!(Section::decode(&[SECTION_END]).is_err());
        assert!(Section::decode(&[SECTION_START, 1, b'a']).is_err());
        assert!(Section::decode(&[9]).is_err());
    }
}
