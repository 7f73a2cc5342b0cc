//! `[remote.NAME]` and the compact `[tunnel.NAME]`: one peer's settings, and
//! a tunnel expanded into the linked form.

use super::*;

impl Loader<'_, '_> {
    pub(super) fn remote_common(
        &mut self,
        t: &mut TableReader<'_, '_>,
        address_key: &'static str,
        local_key: &'static str,
    ) -> Option<Remote> {
        let legacy = t.bool(&mut self.sink, "allow_legacy").unwrap_or(false);
        let sink = &mut self.sink;
        let address =
            t.str(sink, address_key)
                .and_then(|(s, span)| match address::parse_address(s) {
                    Ok(a) => Some((a, span)),
                    Err(e) => {
                        sink.error(span, e.0);
                        None
                    }
                });
        let local_address =
            t.str(sink, local_key)
                .and_then(|(s, span)| match address::parse_address(s) {
                    Ok(a) => Some((a, span)),
                    Err(e) => {
                        sink.error(span, e.0);
                        None
                    }
                });
        let local_id = identity(sink, t, "local_id");
        let remote_id = identity(sink, t, "remote_id");
        let start = match t.str(sink, "start") {
            None => StartAction::Respond,
            Some(("initiate", _)) => StartAction::Initiate,
            Some(("respond", _)) => StartAction::Respond,
            Some(("on-demand", _)) => StartAction::OnDemand,
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown start action `{s}`"),
                    "use initiate, respond or on-demand",
                );
                StartAction::Respond
            }
        };
        let encap = t.bool(sink, "encap").unwrap_or(false);
        let window = count(sink, t, "window", 1, 64).unwrap_or(1);
        let dpd_delay = duration(sink, t, "dpd");
        let dpd_action = match t.str(sink, "dpd_action") {
            None | Some(("restart", _)) => DpdAction::Restart,
            Some(("clear", _)) => DpdAction::Clear,
            Some(("hold", _)) => DpdAction::Hold,
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown DPD action `{s}`"),
                    "use clear, restart or hold",
                );
                DpdAction::Restart
            }
        };
        // RFC 6023.
        let childless = match t.str(sink, "childless") {
            None | Some(("allow", _)) => Childless::Allow,
            Some(("never", _)) => Childless::Never,
            Some(("prefer", _)) => Childless::Prefer,
            Some(("force", _)) => Childless::Force,
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown `{}` value `{s}`", t.qualified("childless")),
                    "use allow, prefer, force or never",
                );
                Childless::Allow
            }
        };
        let keyingtries = match t.u64(sink, "keyingtries") {
            None => 0,
            Some((n, span)) => u32::try_from(n).unwrap_or_else(|_| {
                sink.error_hint(
                    span,
                    format!("`{}` is too large", t.qualified("keyingtries")),
                    "0 means forever",
                );
                0
            }),
        };
        // Durations are whole seconds above zero: at least 1 s.
        let retry_max_interval =
            duration(sink, t, "retry_max_interval").unwrap_or(Duration::from_secs(60));
        let ike_rekey = duration(sink, t, "ike_rekey");
        let reauth_span = t.value("reauth").map(|v| v.span());
        let reauth = duration(sink, t, "reauth");
        if let (Some(_), Some(span)) = (ike_rekey, reauth_span) {
            sink.error_hint(
                span,
                format!(
                    "`{}` and `{}` are both set",
                    t.qualified("reauth"),
                    t.qualified("ike_rekey")
                ),
                "set one: a reauthentication also renews the IKE SA's keys",
            );
        }
        // Recognised, but not implemented yet: say so instead of silently
        // ignoring a setting the operator relies on.
        if let Some(v) = t.value("mobike") {
            sink.error_hint(
                v.span(),
                format!("`{}` is not supported yet", t.qualified("mobike")),
                "remove it; IKE runs without MOBIKE (RFC 4555)",
            );
        }
        // RFC 7383: on unless turned off; the size is the IP datagram's.
        let fragmentation = t.bool(sink, "fragmentation").unwrap_or(true);
        let fragment_size = count(sink, t, "fragment_size", 576, 9000)
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(FRAGMENT_SIZE);
        let auth = self.auth(t, fragmentation);
        let ppk = self.ppk(t);
        let ike_proposals = match t.str_list(&mut self.sink, "ike") {
            Some(list) => self.ike_proposals(&list, legacy),
            None => proposal::default_ike(),
        };
        let sink = &mut self.sink;
        let Some((address, addr_span)) = address else {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` has no `{address_key}`", t.path),
                "the peer's address, host name or IP_ANY",
            );
            return None;
        };
        // The IKE identity defaults to our literal address; without one
        // there is nothing to send as IDi/IDr.
        if local_id.is_none() && !matches!(local_address, Some((Address::Ip(_), _))) {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` has no `local_id`", t.path),
                format!("set local_id (e.g. \"vpn.example.org\"), or a literal `{local_key}` address to use as the identity"),
            );
        }
        if let (Some(a), Some((l, _))) = (address.family(), &local_address) {
            if l.family().is_some_and(|b| b != a) {
                sink.error(
                    addr_span,
                    format!(
                        "`{}`: {address_key} and {local_key} are of different address families",
                        t.path
                    ),
                );
            }
        }
        Some(Remote {
            address,
            local_address: local_address.map(|(a, _)| a),
            local_id,
            remote_id,
            auth: auth?,
            ike_proposals,
            start,
            encap,
            dpd: dpd_delay.map(|delay| Dpd {
                delay,
                action: dpd_action,
            }),
            ike_lifetime: lifetime_of(
                sink,
                t,
                reauth.or(ike_rekey).unwrap_or(IKE_REKEY),
                "ike_lifetime",
            ),
            reauth: reauth.is_some(),
            window: u32::try_from(window).unwrap_or(1),
            fragment_size: fragmentation.then_some(fragment_size),
            ppk: ppk?,
            childless,
            keyingtries,
            retry_max_interval,
        })
    }

    pub(super) fn remote(&mut self, t: &mut TableReader<'_, '_>) -> Option<Remote> {
        self.remote_common(t, "address", "local_address")
    }

    /// The compact form: one table that becomes a remote, selectors, a
    /// policy, an ipsec and an sa template, all named after the tunnel.
    pub(super) fn tunnel(
        &mut self,
        name: &str,
        name_span: Range<usize>,
        t: &mut TableReader<'_, '_>,
    ) {
        let legacy_esp = t.bool(&mut self.sink, "allow_legacy").unwrap_or(false);
        let remote = self.remote_common(t, "remote", "local");
        let sink = &mut self.sink;
        let mode = mode(sink, t).unwrap_or(Mode::Tunnel);
        let rekey = duration(sink, t, "rekey").unwrap_or(CHILD_REKEY);
        let child_lifetime = lifetime_of(sink, t, rekey, "lifetime");
        let protocol = protocol(sink, t);
        let local_ts = ts_list(sink, t, "local_ts");
        let remote_ts = ts_list(sink, t, "remote_ts");
        let esp = match t.str_list(sink, "esp") {
            Some(list) => self.esp_proposals(&list, legacy_esp),
            None => proposal::default_esp(),
        };
        // Check the selectors even when the peer part had errors, so that
        // one run reports everything.
        let Some(remote) = remote else {
            if let (Some(l), Some(r)) = (&local_ts, &remote_ts) {
                self.pair_selectors(name, &name_span, &t.path, l, r, protocol);
            }
            return;
        };
        // Without selectors the tunnel protects the hosts themselves.
        let host = |a: &Address| AddressSpec::Host(a.clone());
        let local_ts = local_ts.unwrap_or_else(|| {
            let me = remote.local_address.clone().unwrap_or(Address::Macro {
                kind: address::AddrMacro::MyIp,
                ifname: None,
            });
            vec![(host(&me), t.span.clone())]
        });
        let remote_ts = remote_ts.unwrap_or_else(|| vec![(host(&remote.address), t.span.clone())]);
        let selectors =
            self.pair_selectors(name, &name_span, &t.path, &local_ts, &remote_ts, protocol);
        self.raw.selectors.extend(selectors);
        self.raw
            .remotes
            .push((name.to_owned(), name_span.clone(), remote));
        self.raw.sa.push((
            name.to_owned(),
            name_span.clone(),
            SaTemplate { proposals: esp },
        ));
        self.raw.ipsec.push((
            name.to_owned(),
            name_span.clone(),
            IpsecTemplate {
                mode,
                sa: vec![name.to_owned()],
                lifetime: child_lifetime,
                tunnel_local: None,
                tunnel_remote: None,
            },
            vec![name_span.clone()],
        ));
        self.raw.policies.push((
            name.to_owned(),
            name_span.clone(),
            Policy::Protect {
                remote: name.to_owned(),
                ipsec: name.to_owned(),
            },
            vec![],
        ));
    }

    /// One selector per (local, remote) pair of the same address family;
    /// a prefix left without a partner of its family is an error.
    pub(super) fn pair_selectors(
        &mut self,
        name: &str,
        name_span: &Range<usize>,
        path: &str,
        local_ts: &[(AddressSpec, Range<usize>)],
        remote_ts: &[(AddressSpec, Range<usize>)],
        protocol: IpProtocol,
    ) -> Vec<(String, Range<usize>, Selector, Range<usize>)> {
        let mut out = Vec::new();
        for (l, lspan) in local_ts {
            let peers: Vec<_> = remote_ts
                .iter()
                .filter(|(r, _)| same_family(l.family(), r.family()))
                .collect();
            if peers.is_empty() {
                self.sink.error(
                    lspan.clone(),
                    format!("`{path}`: local_ts `{l}` has no remote_ts of the same address family"),
                );
            }
            for (r, _) in peers {
                let sel = Selector {
                    src: l.clone(),
                    dst: r.clone(),
                    protocol,
                    src_ports: PortRange::ANY,
                    dst_ports: PortRange::ANY,
                    policy: name.to_owned(),
                };
                out.push((
                    format!("{name}/{}", out.len() + 1),
                    name_span.clone(),
                    sel,
                    name_span.clone(),
                ));
            }
        }
        for (r, rspan) in remote_ts {
            if !local_ts
                .iter()
                .any(|(l, _)| same_family(l.family(), r.family()))
            {
                self.sink.error(
                    rspan.clone(),
                    format!("`{path}`: remote_ts `{r}` has no local_ts of the same address family"),
                );
            }
        }
        out
    }
}
