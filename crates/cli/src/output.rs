//! Renders [`MessageRecord`]s: JSON Lines (one object per message, the
//! format documented in `docs/inspect.md`) or a table for people, with an
//! optional indented tree of every decoded payload field.

use std::io::{self, Write};

use serde_json::Value;

use crate::inspect::Summary;
use crate::record::{Body, MessageRecord, PayloadRecord};

/// Writes one JSON object per line.
pub fn write_json(messages: &[MessageRecord], w: &mut dyn Write) -> io::Result<()> {
    for m in messages {
        serde_json::to_writer(&mut *w, m)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

fn flags_text(m: &MessageRecord) -> String {
    let mut s = String::new();
    if m.initiator == Some(true) {
        s.push('I');
    }
    if m.response == Some(true) {
        s.push('R');
    }
    if m.higher_version == Some(true) {
        s.push('V');
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// A compact name for one payload: `N(COOKIE)`, `SK{IDi AUTH}`, `SKF(2/3)`.
fn payload_summary(p: &PayloadRecord) -> String {
    match &p.body {
        Body::Notify(n) => match &n.notify_name {
            Some(name) => format!("N({name})"),
            None => format!("N({})", n.notify_type),
        },
        Body::Encrypted(e) => {
            let mut s = p.name.clone();
            if let (Some(n), Some(t)) = (e.fragment_number, e.total_fragments) {
                s.push_str(&format!("({n}/{t})"));
            }
            let chain = e.reassembled.as_ref().or(e.inner.as_ref());
            if let Some(inner) = chain {
                let names: Vec<String> = inner.iter().map(payload_summary).collect();
                s.push('{');
                s.push_str(&names.join(" "));
                s.push('}');
            } else if e.decrypt_error.is_some() {
                s.push_str("{?}");
            }
            s
        }
        Body::Error { .. } => format!("{}!", p.name),
        _ => p.name.clone(),
    }
}

fn message_summary(m: &MessageRecord) -> String {
    let names: Vec<String> = m.payloads.iter().map(payload_summary).collect();
    names.join(" ")
}

/// Writes the table, then (with `verbose`) the fields of every payload
/// under its message, then a one-line summary.
pub fn write_table(
    messages: &[MessageRecord],
    summary: &Summary,
    verbose: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let header = [
        "FRAME",
        "TIME",
        "SOURCE",
        "",
        "DESTINATION",
        "EXCHANGE",
        "MSGID",
        "FLAGS",
        "SPIi",
        "SPIr",
        "PAYLOADS",
    ];
    let rows: Vec<[String; 11]> = messages
        .iter()
        .map(|m| {
            [
                m.frame.to_string(),
                m.time.clone().unwrap_or_else(|| "-".into()),
                m.src.clone(),
                "->".into(),
                m.dst.clone(),
                match (&m.exchange, m.exchange_type) {
                    (Some(n), _) => n.clone(),
                    (None, Some(t)) => t.to_string(),
                    (None, None) => "?".into(),
                },
                m.message_id.map_or_else(|| "?".into(), |i| i.to_string()),
                flags_text(m),
                m.ispi.clone().unwrap_or_else(|| "?".into()),
                m.rspi.clone().unwrap_or_else(|| "?".into()),
                message_summary(m),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |w: &mut dyn Write, cells: &[&str]| -> io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else if i == 0 {
                s.push_str(&format!("{c:>width$} ", width = widths[i]));
            } else {
                s.push_str(&format!("{c:<width$} ", width = widths[i]));
            }
        }
        writeln!(w, "{}", s.trim_end())
    };
    line(w, &header)?;
    for (m, r) in messages.iter().zip(&rows) {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(w, &cells)?;
        let indent = " ".repeat(widths[0] + 1);
        if let Some(e) = &m.error {
            writeln!(w, "{indent}error: {e}")?;
        }
        if m.truncated {
            writeln!(w, "{indent}(capture truncated)")?;
        }
        if let Some(f) = &m.ip_fragments {
            let list: Vec<String> = f.iter().map(u64::to_string).collect();
            writeln!(w, "{indent}IP fragments in frames {}", list.join(", "))?;
        }
        if verbose {
            for p in &m.payloads {
                write_payload_tree(w, p, &indent)?;
            }
        }
    }
    writeln!(
        w,
        "{} IKE message(s) in {} frame(s); {} ESP-in-UDP, {} NAT-keepalive(s), {} undecodable frame(s)",
        summary.ike_messages, summary.frames, summary.esp, summary.keepalives, summary.undecodable
    )
}

fn write_payload_tree(w: &mut dyn Write, p: &PayloadRecord, indent: &str) -> io::Result<()> {
    let crit = if p.critical { " critical" } else { "" };
    writeln!(
        w,
        "{indent}{} ({}{crit}, {} bytes)",
        p.name, p.payload_type, p.length
    )?;
    let Ok(Value::Object(mut fields)) = serde_json::to_value(p) else {
        return Ok(());
    };
    for k in ["type", "name", "critical", "length", "inner", "reassembled"] {
        fields.remove(k);
    }
    let sub = format!("{indent}    ");
    for (k, v) in &fields {
        write_value(w, k, v, &sub)?;
    }
    if let Body::Encrypted(e) = &p.body {
        for (label, chain) in [("inner", &e.inner), ("reassembled", &e.reassembled)] {
            if let Some(chain) = chain {
                writeln!(w, "{sub}{label}:")?;
                for q in chain {
                    write_payload_tree(w, q, &format!("{sub}    "))?;
                }
            }
        }
    }
    Ok(())
}

fn write_value(w: &mut dyn Write, key: &str, v: &Value, indent: &str) -> io::Result<()> {
    match v {
        // Empty SPIs, data and attribute lists are noise in a tree.
        Value::String(s) if s.is_empty() => Ok(()),
        Value::Array(a) if a.is_empty() => Ok(()),
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            writeln!(w, "{indent}{key}:")?;
            for (i, item) in items.iter().enumerate() {
                write_value(w, &format!("[{}]", i + 1), item, &format!("{indent}    "))?;
            }
            Ok(())
        }
        Value::Object(map) => {
            writeln!(w, "{indent}{key}:")?;
            for (k, v) in map {
                write_value(w, k, v, &format!("{indent}    "))?;
            }
            Ok(())
        }
        Value::String(s) => writeln!(w, "{indent}{key}: {s}"),
        other => writeln!(w, "{indent}{key}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::NotifyRecord;

    fn sample() -> MessageRecord {
        let mut m = MessageRecord::new(
            7,
            Some("2026-01-01T00:00:00.000001Z".into()),
            "192.0.2.1:500".into(),
            "[2001:db8::2]:4500".into(),
        );
        m.exchange = Some("IKE_SA_INIT".into());
        m.exchange_type = Some(34);
        m.message_id = Some(0);
        m.initiator = Some(true);
        m.response = Some(false);
        m.ispi = Some("0123456789abcdef".into());
        m.rspi = Some("0000000000000000".into());
        m.payloads.push(PayloadRecord {
            payload_type: 41,
            name: "Notify".into(),
            critical: false,
            length: 8,
            body: Body::Notify(NotifyRecord {
                notify_type: 16390,
                notify_name: Some("COOKIE".into()),
                protocol_id: 0,
                spi: String::new(),
                data: "abcd".into(),
                decoded: None,
            }),
        });
        m
    }

    #[test]
    fn table_lists_each_message() {
        let mut out = Vec::new();
        write_table(
            &[sample()],
            &Summary {
                frames: 9,
                ike_messages: 1,
                ..Summary::default()
            },
            true,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("FRAME"));
        assert!(lines[1].contains("IKE_SA_INIT"));
        assert!(lines[1].contains("[2001:db8::2]:4500"));
        assert!(lines[1].ends_with("N(COOKIE)"));
        assert!(text.contains("notify_name: COOKIE"));
        assert!(lines
            .last()
            .unwrap()
            .starts_with("1 IKE message(s) in 9 frame(s)"));
    }

    #[test]
    fn json_lines() {
        let mut out = Vec::new();
        write_json(&[sample(), sample()], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        let v: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["payloads"][0]["notify_name"], "COOKIE");
        assert_eq!(v["frame"], 7);
    }
}
