//! The Markdown table and the raw TSV files.

use super::*;

pub(crate) fn fmt_rate(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0}")
    } else {
        "–".into()
    }
}

pub(crate) fn report(
    opts: &Opts,
    setups: &[SetupRow],
    ups: &[(String, Vec<f64>)],
    tps: &[(String, Vec<(f64, f64)>)],
    floods: &[(String, Vec<(f64, f64)>)],
) -> String {
    let mut md = String::new();
    if !setups.is_empty() {
        let _ = writeln!(
            md,
            "### IKE SA set-ups per second (N initiated at once, median of {} reps)\n",
            opts.reps
        );
        let _ = writeln!(
            md,
            "| pair | N | established (min) | set-ups/s (median) | min–max | responder SAs (min) | responder KiB per IKE+CHILD SA (median) | CPU s initiator / responder (median) | datagrams in per SA at the responder (median) |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &n in &opts.sizes {
            let mut medians = Vec::new();
            for pair in [
                "yadokari ⇄ yadokari",
                "strongSwan ⇄ strongSwan",
                "yadokari ⇄ yadokari, x25519+ML-KEM-768",
            ] {
                let rs: Vec<&SetupRow> = setups
                    .iter()
                    .filter(|r| r.n == n && r.pair == pair)
                    .collect();
                if rs.is_empty() {
                    continue;
                }
                let rates: Vec<f64> = rs.iter().map(|r| r.rate()).collect();
                let fin: Vec<f64> = rates.iter().copied().filter(|x| x.is_finite()).collect();
                let lo = fin.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = fin.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let med = median(&rates);
                medians.push((pair, med));
                let kib: Vec<f64> = rs.iter().map(|r| r.kib_per_sa()).collect();
                let ci: Vec<f64> = rs.iter().map(|r| r.cpu_init).collect();
                let cr: Vec<f64> = rs.iter().map(|r| r.cpu_resp).collect();
                let rx: Vec<f64> = rs.iter().map(|r| r.rx_per_sa()).collect();
                let _ = writeln!(
                    md,
                    "| {pair} | {n} | {} | **{}** | {}–{} | {} | {:.1} | {:.2} / {:.2} | {:.2} |",
                    rs.iter().map(|r| r.established).min().unwrap_or(0),
                    fmt_rate(med),
                    fmt_rate(lo),
                    fmt_rate(hi),
                    rs.iter().map(|r| r.responder_sas).min().unwrap_or(0),
                    median(&kib),
                    median(&ci),
                    median(&cr),
                    median(&rx)
                );
            }
            let of = |p: &str| medians.iter().find(|(q, _)| q.starts_with(p)).map(|m| m.1);
            let yk = of("yadokari ⇄ yadokari")
                .filter(|_| medians.iter().any(|(q, _)| *q == "yadokari ⇄ yadokari"));
            if let (Some(yk), Some(ss)) = (yk, of("strongSwan")) {
                let _ = writeln!(
                    md,
                    "| *ratio yadokari / strongSwan* | {n} | | **{:.2}×** | | | | | |",
                    yk / ss
                );
            }
            if let (Some(yk), Some(pq)) = (yk, of("yadokari ⇄ yadokari, x25519+ML-KEM-768")) {
                let _ = writeln!(
                    md,
                    "| *ratio hybrid / x25519* | {n} | | **{:.2}×** | | | | | |",
                    pq / yk
                );
            }
        }
        md.push('\n');
    }
    if !ups.is_empty() {
        let _ = writeln!(
            md,
            "### Time to bring one tunnel up (command → CHILD SA established, median of {})\n",
            opts.up_reps
        );
        let _ = writeln!(md, "| initiator → responder | median ms | min–max ms |");
        let _ = writeln!(md, "|---|---:|---:|");
        for (pair, v) in ups {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(md, "| {pair} | **{:.1}** | {lo:.1}–{hi:.1} |", median(v));
        }
        md.push('\n');
    }
    if !tps.is_empty() {
        let _ = writeln!(
            md,
            "### TCP throughput through IKE-negotiated tunnels (iperf3, {} s, median of {}, AES-GCM-128)\n",
            opts.seconds, opts.runs
        );
        let med = |path: &str| -> Option<(f64, f64)> {
            let v = &tps.iter().find(|(p, _)| p == path)?.1;
            let mut s = v.clone();
            s.sort_by(|a, b| a.0.total_cmp(&b.0));
            s.get((s.len().max(1) - 1) / 2).copied()
        };
        let veth = med("plain veth").map(|m| m.0);
        let swan = med("strongSwan ⇄ strongSwan").map(|m| m.0);
        let _ = writeln!(
            md,
            "| path | Gbit/s | share of plain veth | × strongSwan ⇄ strongSwan | cores busy |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        for (path, _) in tps {
            let Some((g, c)) = med(path) else { continue };
            let share = veth.map_or("–".into(), |v| format!("{:.1} %", 100.0 * g / v));
            let ratio = swan.map_or("–".into(), |s| format!("{:.1}×", g / s));
            let _ = writeln!(md, "| {path} | **{g:.3}** | {share} | {ratio} | {c:.2} |");
        }
        md.push('\n');
    }
    if !floods.is_empty() {
        let _ = writeln!(
            md,
            "### Throughput under a garbage flood from a third namespace (yadokari ⇄ yadokari, ESP in UDP, iperf3, {} s, median of {}, same tunnel)\n",
            opts.seconds, opts.runs
        );
        let med = |v: &[(f64, f64)]| -> (f64, f64) {
            let mut s = v.to_vec();
            s.sort_by(|a, b| a.0.total_cmp(&b.0));
            s.get((s.len().max(1) - 1) / 2)
                .copied()
                .unwrap_or((0.0, 0.0))
        };
        let base = floods.first().map(|(_, v)| med(v).0);
        let _ = writeln!(md, "| condition | Gbit/s | × without flood | cores busy |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for (cond, v) in floods {
            let (g, c) = med(v);
            let ratio = base.map_or("–".into(), |b| format!("{:.2}×", g / b.max(1e-9)));
            let _ = writeln!(md, "| {cond} | **{g:.3}** | {ratio} | {c:.2} |");
        }
        md.push('\n');
    }
    md
}
