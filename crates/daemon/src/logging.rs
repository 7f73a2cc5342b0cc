//! Logging with racoon2's categories, on `tracing`.
//!
//! racoon2 sorted every message into one of seven categories; yadokari keeps
//! them as `tracing` targets so operators can filter by them
//! (`--log yadokari::protocol=debug`), and maps them onto levels as the
//! style guide says:
//!
//! | category          | level | target                         |
//! |-------------------|-------|--------------------------------|
//! | critical          | ERROR | `yadokari::critical`           |
//! | internal error    | ERROR | `yadokari::internal::error`    |
//! | internal warning  | WARN  | `yadokari::internal::warning`  |
//! | protocol error    | WARN  | `yadokari::protocol::error`    |
//! | protocol warning  | WARN  | `yadokari::protocol::warning`  |
//! | info              | INFO  | any                            |
//! | debug             | DEBUG/TRACE | any                      |
//!
//! Events from the library crates (whose targets are their module paths) are
//! sorted by level and origin: a warning from the IKE core or the data plane
//! is a protocol warning, one from elsewhere an internal warning.
//!
//! Besides stderr, every event goes into a bounded ring buffer that the
//! control API's `logs` command reads, and to live `logs --follow` clients.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};
use yadokari_control::LogLine;

/// Lines kept for `yadokari logs`.
const RING_LINES: usize = 2000;

#[macro_export]
macro_rules! critical { ($($t:tt)*) => { tracing::error!(target: "yadokari::critical", $($t)*) } }
#[macro_export]
macro_rules! internal_error { ($($t:tt)*) => { tracing::error!(target: "yadokari::internal::error", $($t)*) } }
#[macro_export]
macro_rules! internal_warn { ($($t:tt)*) => { tracing::warn!(target: "yadokari::internal::warning", $($t)*) } }
#[macro_export]
macro_rules! proto_error { ($($t:tt)*) => { tracing::warn!(target: "yadokari::protocol::error", $($t)*) } }
#[macro_export]
macro_rules! proto_warn { ($($t:tt)*) => { tracing::warn!(target: "yadokari::protocol::warning", $($t)*) } }

/// The racoon2 category of an event.
pub fn category(level: &Level, target: &str) -> &'static str {
    match target {
        "yadokari::critical" => return "critical",
        "yadokari::internal::error" => return "internal-error",
        "yadokari::internal::warning" => return "internal-warning",
        "yadokari::protocol::error" => return "protocol-error",
        "yadokari::protocol::warning" => return "protocol-warning",
        _ => {}
    }
    let protocol = [
        "yadokari_ike",
        "yadokari_esp",
        "yadokari_dataplane",
        "yadokari_wire",
    ]
    .iter()
    .any(|p| target.starts_with(p));
    match *level {
        Level::ERROR => "internal-error",
        Level::WARN if protocol => "protocol-warning",
        Level::WARN => "internal-warning",
        Level::INFO => "info",
        _ => "debug",
    }
}

/// The shared ring buffer and live feed behind `yadokari logs`.
#[derive(Clone)]
pub struct LogHub {
    ring: Arc<Mutex<VecDeque<LogLine>>>,
    live: broadcast::Sender<LogLine>,
}

impl Default for LogHub {
    fn default() -> Self {
        LogHub {
            ring: Arc::new(Mutex::new(VecDeque::with_capacity(RING_LINES))),
            live: broadcast::channel(1024).0,
        }
    }
}

impl LogHub {
    pub fn recent(&self) -> Vec<LogLine> {
        self.ring
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }

    fn push(&self, line: LogLine) {
        if let Ok(mut r) = self.ring.lock() {
            if r.len() == RING_LINES {
                r.pop_front();
            }
            r.push_back(line.clone());
        }
        // No receivers is the normal case; nothing to do then.
        let _ = self.live.send(line);
    }
}

struct HubLayer(LogHub);

#[derive(Default)]
struct Render(String);

impl Visit for Render {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for HubLayer {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        let meta = event.metadata();
        let mut r = Render::default();
        event.record(&mut r);
        self.0.push(LogLine {
            time: yadokari_control::time::rfc3339(SystemTime::now()),
            category: category(meta.level(), meta.target()).to_owned(),
            message: r.0.trim_start().to_owned(),
        });
    }
}

/// Installs the global subscriber: stderr (journald keeps it with its own
/// timestamps when run under systemd) and the hub. `filter` is an
/// `EnvFilter` directive such as `info` or `info,yadokari::protocol=debug`.
pub fn init(filter: &str, hub: LogHub) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("bad --log filter `{filter}`: {e}"))?;
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true)
        .with_ansi(false);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(HubLayer(hub));
    // `without_time` cannot be undone by a later timer, so pick one here.
    if journald {
        registry.with(stderr.without_time()).try_init()?;
    } else {
        registry.with(stderr).try_init()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_racoon2() {
        assert_eq!(
            category(&Level::WARN, "yadokari::protocol::error"),
            "protocol-error"
        );
        assert_eq!(
            category(&Level::WARN, "yadokari_ike::endpoint"),
            "protocol-warning"
        );
        assert_eq!(
            category(&Level::WARN, "yadokarid::control"),
            "internal-warning"
        );
        assert_eq!(category(&Level::ERROR, "yadokarid"), "internal-error");
        assert_eq!(category(&Level::ERROR, "yadokari::critical"), "critical");
        assert_eq!(category(&Level::TRACE, "x"), "debug");
    }

    #[test]
    fn ring_is_bounded() {
        let hub = LogHub::default();
        for i in 0..RING_LINES + 5 {
            hub.push(LogLine {
                time: String::new(),
                category: "info".into(),
                message: i.to_string(),
            });
        }
        let r = hub.recent();
        assert_eq!(r.len(), RING_LINES);
        assert_eq!(r[0].message, "5");
    }
}
