//! `[daemon]` and `[interface]`: the daemon-wide settings and the TUN.

use super::*;

impl Loader<'_, '_> {
    pub(super) fn daemon_defaults(&self) -> DaemonSettings {
        DaemonSettings {
            control_socket: DEFAULT_SOCKET.into(),
            control_group: None,
            control_clients: 64,
            control_idle_timeout: Duration::from_secs(60),
            state_dir: DEFAULT_STATE.into(),
            log_level: LogLevel::Info,
            ike_pcap: None,
            ike_port: 500,
            nat_port: 4500,
            listen: Vec::new(),
            retransmit_timeout: Duration::from_secs(90),
            nat_keepalive: Some(NAT_KEEPALIVE),
            cookie_threshold: 64,
            max_half_open: 4096,
            half_open_per_source: 16,
        }
    }

    pub(super) fn daemon(&mut self, t: &mut TableReader<'_, '_>) -> DaemonSettings {
        let mut d = self.daemon_defaults();
        let sink = &mut self.sink;
        if let Some((s, _)) = t.str(sink, "control_socket") {
            d.control_socket = s.into();
        }
        if let Some((s, _)) = t.str(sink, "control_group") {
            d.control_group = Some(s.to_owned());
        }
        if let Some((n, span)) = t.u64(sink, "control_clients") {
            match usize::try_from(n) {
                Ok(n @ 1..=4096) => d.control_clients = n,
                _ => sink.error(
                    span,
                    format!("`{}` must be 1 to 4096", t.qualified("control_clients")),
                ),
            }
        }
        if let Some(timeout) = duration(sink, t, "control_idle_timeout") {
            d.control_idle_timeout = timeout;
        }
        if let Some((s, _)) = t.str(sink, "state_dir") {
            d.state_dir = s.into();
        }
        if let Some((s, span)) = t.str(sink, "log_level") {
            d.log_level = match s {
                "error" => LogLevel::Error,
                "warn" => LogLevel::Warn,
                "info" => LogLevel::Info,
                "debug" => LogLevel::Debug,
                "trace" => LogLevel::Trace,
                _ => {
                    sink.error_hint(
                        span,
                        format!("unknown log level `{s}`"),
                        "use error, warn, info, debug or trace",
                    );
                    LogLevel::Info
                }
            };
        }
        if let Some((s, _)) = t.str(sink, "ike_pcap") {
            d.ike_pcap = Some(s.into());
        }
        if let Some(p) = port(sink, t, "ike_port") {
            d.ike_port = p;
        }
        if let Some(p) = port(sink, t, "nat_port") {
            d.nat_port = p;
        }
        if d.ike_port == d.nat_port {
            // Both sockets would bind the same port: the second bind fails
            // at start, and IKE on the NAT-T port needs the non-ESP marker
            // (RFC 3948 §2.2) that plain IKE does not carry.
            let span = t
                .value("nat_port")
                .or_else(|| t.value("ike_port"))
                .map_or(t.span.clone(), |v| v.span());
            sink.error_hint(
                span,
                format!(
                    "`daemon.ike_port` and `daemon.nat_port` are both {}",
                    d.ike_port
                ),
                "IKE and NAT-T need two different ports (default 500 and 4500)",
            );
        }
        if let Some(timeout) = duration(sink, t, "retransmit_timeout") {
            d.retransmit_timeout = timeout;
        }
        // "off" (or 0) turns keepalives off; otherwise a duration.
        match t.value("nat_keepalive").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) if s.as_ref() == "off" => d.nat_keepalive = None,
            Some(DeValue::Integer(n)) if n.as_str() == "0" => d.nat_keepalive = None,
            Some(_) => {
                if let Some(k) = duration(sink, t, "nat_keepalive") {
                    d.nat_keepalive = Some(k);
                }
            }
            None => {}
        }
        if let Some(n) = count(sink, t, "cookie_threshold", 0, 1 << 20) {
            d.cookie_threshold = n;
        }
        if let Some(n) = count(sink, t, "max_half_open", 1, 1 << 20) {
            d.max_half_open = n;
        }
        if let Some(n) = count(sink, t, "half_open_per_source", 0, 1 << 20) {
            d.half_open_per_source = n;
        }
        if let Some(list) = t.str_list(sink, "listen") {
            for (s, span) in list {
                match address::parse_address(s) {
                    Ok(a) => d.listen.push(a),
                    Err(e) => sink.error(span, e.0),
                }
            }
        }
        d
    }

    pub(super) fn interface(&mut self, t: &mut TableReader<'_, '_>) -> InterfaceSettings {
        let sink = &mut self.sink;
        let mut i = InterfaceSettings {
            name: "yk0".into(),
            mtu: Mtu::Auto,
            mss_clamp: true,
            workers: None,
        };
        if let Some((s, span)) = t.str(sink, "name") {
            if s.is_empty() || s.len() > 15 || s.contains(['/', ' ', '%']) {
                sink.error_hint(
                    span,
                    format!("`{s}` is not a valid interface name"),
                    "1 to 15 characters, no '/', '%' or spaces",
                );
            } else {
                i.name = s.to_owned();
            }
        }
        if let Some(v) = t.value("mtu") {
            match v.get_ref() {
                DeValue::String(s) if s == "auto" => i.mtu = Mtu::Auto,
                DeValue::Integer(n) => match n.as_str().parse::<u16>() {
                    Ok(m) if (1280..=9000).contains(&m) => i.mtu = Mtu::Fixed(m),
                    _ => sink.error_hint(
                        v.span(),
                        "`interface.mtu` is out of range",
                        "use 1280 to 9000, or \"auto\"",
                    ),
                },
                _ => sink.error_hint(
                    v.span(),
                    "`interface.mtu` must be a number or \"auto\"",
                    "e.g. mtu = 1400",
                ),
            }
        }
        if let Some(b) = t.bool(sink, "mss_clamp") {
            i.mss_clamp = b;
        }
        if let Some((n, span)) = t.u64(sink, "workers") {
            match u16::try_from(n) {
                Ok(w) if (1..=256).contains(&w) => i.workers = Some(w),
                _ => sink.error(span, "`interface.workers` must be 1 to 256"),
            }
        }
        i
    }
}
