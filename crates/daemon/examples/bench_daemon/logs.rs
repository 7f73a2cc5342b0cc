//! Time stamps from both daemons' logs, and the medians the tables show.

use super::*;

/// Seconds since midnight from `HH:MM:SS.fff` at the start of `s`.
pub(crate) fn tod(s: &str) -> Option<f64> {
    let mut it = s.splitn(3, ':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let rest = it.next()?;
    let sec: f64 = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?
        .parse()
        .ok()?;
    Some(h * 3600.0 + m * 60.0 + sec)
}

/// First time a line matching `start` appears, last time one matching
/// `end` does, and how many `end` lines there are. `stamp` extracts the
/// time of day from a line.
pub(crate) fn span(
    log: &str,
    stamp: impl Fn(&str) -> Option<f64>,
    start: impl Fn(&str) -> bool,
    end: impl Fn(&str) -> bool,
) -> (Option<f64>, Option<f64>, usize) {
    let (mut first, mut last, mut count) = (None, None, 0);
    for l in log.lines() {
        let Some(t) = stamp(l) else { continue };
        if first.is_none() && start(l) {
            first = Some(t);
        }
        if end(l) {
            count += 1;
            last = Some(t);
        }
    }
    (first, last, count)
}

/// The reference point of the stamps on yadokarid's log lines.
pub(crate) fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// yadokarid's log as [`Ykd`] saves it: `SECONDS  INFO …`, seconds since
/// [`epoch`].
pub(crate) fn yk_stamp(l: &str) -> Option<f64> {
    l.split_whitespace().next()?.parse().ok()
}

/// charon's file log: `17:55:01.123 07[IKE] …`.
pub(crate) fn charon_stamp(l: &str) -> Option<f64> {
    tod(l)
}

pub(crate) fn secs_between(a: f64, b: f64) -> f64 {
    // Across midnight the time of day wraps.
    if b >= a {
        b - a
    } else {
        b + 86_400.0 - a
    }
}

pub(crate) fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}
