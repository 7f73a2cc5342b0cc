//! The linked form (`[sa]`, `[ipsec]`, `[policy]`, `[selector]`, RFC 4301's
//! SPD as racoon2 wrote it) and linking it into connections.

use super::*;

impl Loader<'_, '_> {
    pub(super) fn sa(&mut self, t: &mut TableReader<'_, '_>) -> Option<SaTemplate> {
        let legacy = t.bool(&mut self.sink, "allow_legacy").unwrap_or(false);
        let proposals = match t.str_list(&mut self.sink, "proposals") {
            Some(list) => self.esp_proposals(&list, legacy),
            None => {
                self.sink.error_hint(
                    t.span.clone(),
                    format!("`{}` has no `proposals`", t.path),
                    "e.g. proposals = [\"aes256gcm16\"]",
                );
                return None;
            }
        };
        Some(SaTemplate { proposals })
    }

    pub(super) fn ipsec(
        &mut self,
        t: &mut TableReader<'_, '_>,
    ) -> Option<(IpsecTemplate, Vec<Range<usize>>)> {
        let sink = &mut self.sink;
        let mode = mode(sink, t).unwrap_or(Mode::Tunnel);
        let rekey = duration(sink, t, "rekey").unwrap_or(CHILD_REKEY);
        let tunnel_local = ip(sink, t, "tunnel_local");
        let tunnel_remote = ip(sink, t, "tunnel_remote");
        let Some(list) = t.str_list(sink, "sa") else {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` names no `sa`", t.path),
                "e.g. sa = \"esp-gcm\"",
            );
            return None;
        };
        let (sa, spans) = list
            .into_iter()
            .map(|(s, span)| (s.to_owned(), span))
            .unzip();
        Some((
            IpsecTemplate {
                mode,
                sa,
                lifetime: lifetime_of(sink, t, rekey, "lifetime"),
                tunnel_local,
                tunnel_remote,
            },
            spans,
        ))
    }

    pub(super) fn policy(
        &mut self,
        t: &mut TableReader<'_, '_>,
    ) -> Option<(Policy, Vec<Reference>)> {
        let sink = &mut self.sink;
        let action = t.str(sink, "action");
        let remote = t.str(sink, "remote");
        let ipsec = t.str(sink, "ipsec");
        match action {
            None if remote.is_none() => {
                sink.error_hint(
                    t.span.clone(),
                    format!("`{}` has no `action`", t.path),
                    "use protect, bypass or discard",
                );
                None
            }
            None | Some(("protect", _)) => {
                let (Some((r, rs)), Some((i, is))) = (remote, ipsec) else {
                    sink.error_hint(
                        t.span.clone(),
                        format!(
                            "`{}` protects traffic but lacks `remote` or `ipsec`",
                            t.path
                        ),
                        "a protect policy names the peer (`remote`) and the SA template (`ipsec`)",
                    );
                    return None;
                };
                let refs = vec![(r.to_owned(), rs, "remote"), (i.to_owned(), is, "ipsec")];
                Some((
                    Policy::Protect {
                        remote: r.to_owned(),
                        ipsec: i.to_owned(),
                    },
                    refs,
                ))
            }
            Some(("bypass", _)) => Some((Policy::Bypass, vec![])),
            Some(("discard", _)) => Some((Policy::Discard, vec![])),
            Some((other, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown action `{other}`"),
                    "use protect, bypass or discard",
                );
                None
            }
        }
    }

    pub(super) fn selector(
        &mut self,
        t: &mut TableReader<'_, '_>,
    ) -> Option<(Selector, Range<usize>)> {
        let sink = &mut self.sink;
        let src = spec(sink, t, "src");
        let dst = spec(sink, t, "dst");
        let protocol = protocol(sink, t);
        let src_ports = ports(sink, t, "src_port");
        let dst_ports = ports(sink, t, "dst_port");
        let policy = t.str(sink, "policy");
        let (Some((src, src_span)), Some((dst, _))) = (src, dst) else {
            sink.error(
                t.span.clone(),
                format!("`{}` needs both `src` and `dst`", t.path),
            );
            return None;
        };
        let Some((policy, policy_span)) = policy else {
            sink.error(t.span.clone(), format!("`{}` names no `policy`", t.path));
            return None;
        };
        if let (Some(a), Some(b)) = (src.family(), dst.family()) {
            if a != b {
                sink.error_hint(
                    src_span,
                    format!(
                        "`{}`: src and dst are of different address families",
                        t.path
                    ),
                    "a selector is IPv4 or IPv6",
                );
            }
        }
        if (src_ports != PortRange::ANY || dst_ports != PortRange::ANY)
            && !matches!(
                protocol,
                IpProtocol::TCP | IpProtocol::UDP | IpProtocol::SCTP
            )
        {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` has ports but no TCP, UDP or SCTP protocol", t.path),
                "set protocol = \"tcp\" (or udp, sctp)",
            );
        }
        Some((
            Selector {
                src,
                dst,
                protocol,
                src_ports,
                dst_ports,
                policy: policy.to_owned(),
            },
            policy_span,
        ))
    }

    /// Cross-section checks: unique names, and every reference resolves.
    pub(super) fn link(&mut self, daemon: DaemonSettings, interface: InterfaceSettings) -> Config {
        let raw = std::mem::take(&mut self.raw);
        let early_warnings = std::mem::take(&mut self.warnings);
        let sink = &mut self.sink;
        let remotes = unique(sink, "remote", raw.remotes.into_iter());
        let sa = unique(sink, "sa", raw.sa.into_iter());
        let mut ipsec = BTreeMap::new();
        let mut seen_ipsec: BTreeMap<String, ()> = BTreeMap::new();
        for (name, span, tpl, sa_spans) in raw.ipsec {
            for (s, sspan) in tpl.sa.iter().zip(sa_spans) {
                if !sa.contains_key(s) {
                    dangling(sink, sspan, "sa", s, sa.keys());
                }
            }
            if seen_ipsec.insert(name.clone(), ()).is_some() {
                sink.error(
                    span,
                    format!("`ipsec.{name}` is defined twice (a tunnel defines one of its name)"),
                );
            } else {
                ipsec.insert(name, tpl);
            }
        }
        let mut policies = BTreeMap::new();
        for (name, span, policy, refs) in raw.policies {
            if let Policy::Protect { remote, ipsec: tpl } = &policy {
                if let (Some(r), Some(t)) = (remotes.get(remote), ipsec.get(tpl)) {
                    check_transport_policy(sink, &span, &name, r, t);
                }
            }
            for (target, rspan, kind) in refs {
                let exists = match kind {
                    "remote" => remotes.contains_key(&target),
                    _ => ipsec.contains_key(&target),
                };
                if !exists {
                    match kind {
                        "remote" => dangling(sink, rspan, kind, &target, remotes.keys()),
                        _ => dangling(sink, rspan, kind, &target, ipsec.keys()),
                    }
                }
            }
            if policies.insert(name.clone(), policy).is_some() {
                sink.error(
                    span,
                    format!("`policy.{name}` is defined twice (a tunnel defines one of its name)"),
                );
            }
        }
        let mut selectors = BTreeMap::new();
        let mut per_policy: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, span, sel, _) in &raw.selectors {
            let n = per_policy.entry(sel.policy.as_str()).or_default();
            *n += 1;
            if *n == MAX_ON_THE_WIRE + 1 {
                // Each selector is one TS in TSi and one in TSr; "Number of
                // TSs" is one octet (RFC 7296 §3.13).
                sink.error_hint(
                    span.clone(),
                    format!(
                        "policy `{}` has more than {MAX_ON_THE_WIRE} selectors; a TS payload carries at most {MAX_ON_THE_WIRE}",
                        sel.policy
                    ),
                    "use wider prefixes, or split the traffic over several policies",
                );
            }
        }
        let mut warnings = early_warnings;
        warnings.extend(overlaps(sink, &raw.selectors, &policies));
        for (name, span, sel, pspan) in raw.selectors {
            match policies.get(&sel.policy) {
                None => dangling(sink, pspan, "policy", &sel.policy, policies.keys()),
                Some(Policy::Protect { remote, ipsec: tpl }) => {
                    if let (Some(r), Some(t)) = (remotes.get(remote), ipsec.get(tpl)) {
                        if t.mode == Mode::Transport {
                            check_transport_selector(sink, &span, &name, &sel, r);
                        }
                    }
                }
                Some(_) => {
                    // Bypass and discard are routes, and routes go by
                    // destination only (docs/config.md, Routing).
                    if !sel.protocol.is_any()
                        || sel.src_ports != PortRange::ANY
                        || sel.dst_ports != PortRange::ANY
                    {
                        sink.error_hint(
                            span.clone(),
                            format!(
                                "`selector.{name}` names a bypass or discard policy but restricts \
                                 the protocol or ports"
                            ),
                            "bypass and discard apply to a destination prefix as a whole: \
                             remove `protocol`, `src_port` and `dst_port`",
                        );
                    }
                }
            }
            if selectors.insert(name.clone(), sel).is_some() {
                sink.error(span, format!("`selector.{name}` is defined twice"));
            }
        }
        Config {
            daemon,
            interface,
            remotes,
            selectors,
            policies,
            ipsec,
            sa,
            warnings,
        }
    }
}
