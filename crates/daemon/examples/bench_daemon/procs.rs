//! Daemon processes under measurement: start, stop, memory and CPU time.

use super::*;

/// VmRSS of `pid` in KiB.
pub(crate) fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// User + system CPU time of `pid` in seconds.
pub(crate) fn cpu_secs(pid: u32) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// A yadokarid in a namespace; SIGKILLed on drop (the namespaces go too).
pub(crate) struct Ykd {
    pub(crate) child: Child,
    pub(crate) socket: PathBuf,
    pub(crate) log: PathBuf,
}

impl Ykd {
    pub(crate) fn start(
        opts: &Opts,
        ns: &Netns,
        dir: &Path,
        label: &str,
        config: &str,
    ) -> anyhow::Result<Ykd> {
        std::fs::create_dir_all(dir)?;
        let cfg = dir.join(format!("{label}.toml"));
        std::fs::write(&cfg, config)?;
        let socket = dir.join(format!("{label}.sock"));
        let log = dir.join(format!("{label}.log"));
        let child = ns
            .command(opts.bin("yadokarid").to_str().context("path")?)
            .arg("--config")
            .arg(&cfg)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.join(format!("{label}-state")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start yadokarid")?;
        let mut d = Ykd { child, socket, log };
        // yadokarid's stderr lines carry no time stamps, so each line is
        // stamped here as it arrives (the pipe adds microseconds).
        let mut file = std::fs::File::create(&d.log)?;
        if let Some(err) = d.child.stderr.take() {
            std::thread::spawn(move || {
                use std::io::{BufRead as _, Write as _};
                for line in std::io::BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    let t = epoch().elapsed().as_secs_f64();
                    if writeln!(file, "{t:.6} {line}").is_err() {
                        break;
                    }
                }
            });
        }
        let up = wait_until(Duration::from_secs(20), || {
            matches!(d.child.try_wait(), Ok(None)) && d.status().is_ok()
        });
        if !up {
            bail!(
                "yadokarid {label} did not start:\n{}",
                std::fs::read_to_string(&d.log).unwrap_or_default()
            );
        }
        Ok(d)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn call(&self, r: &Request) -> anyhow::Result<Response> {
        Ok(Client::connect(&self.socket, Some(Duration::from_secs(40)))?.call(r)?)
    }

    /// (IKE SAs, CHILD SAs).
    pub(crate) fn status(&self) -> anyhow::Result<(usize, usize)> {
        match self.call(&Request::Status)? {
            Response::Status(s) => Ok((s.ike_sas, s.child_sas)),
            other => bail!("status: {other:?}"),
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `yadokari --socket S ARGS`, failing on a non-zero exit.
    pub(crate) fn cli(&self, opts: &Opts, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(opts.bin("yadokari"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            bail!(
                "yadokari {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Ykd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
