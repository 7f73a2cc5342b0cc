//! Host names in the configuration: looked up again when their TTL runs
//! out, on a task of their own, and connections whose peer moved rebuilt.

use std::time::Instant;

use super::*;

impl Engine {
    /// Starts a lookup of the names whose TTL ran out (on a task: the
    /// engine keeps serving IKE meanwhile).
    pub(super) fn refresh_names(&mut self, now: Instant) {
        let Some(r) = &self.resolver else {
            return;
        };
        if self.dns_pending {
            return;
        }
        let due = self.dns.due(now);
        if due.is_empty() {
            return;
        }
        self.dns_pending = true;
        let (r, tx) = (r.clone(), self.dns_tx.clone());
        tokio::spawn(async move {
            let _ = tx.send(r.lookup_all(due).await).await;
        });
    }

    /// New answers: connections whose addresses changed are rebuilt as a
    /// reload rebuilds changed ones (their SAs go, and they start again if
    /// they initiate); the others keep their SAs.
    pub(super) async fn on_resolved(&mut self, results: DnsResults) {
        let now = Instant::now();
        let changed = self.dns.update(now, results);
        if changed.is_empty() {
            return;
        }
        for (name, old, new) in &changed {
            tracing::info!(%name, old = %old.map_or("none".into(), |a| a.to_string()), %new, "host name now resolves to another address");
        }
        let conns = match translate::connections(
            &self.config,
            self.config.daemon.ike_port,
            &self.dns.addresses(),
        ) {
            Ok(c) => c,
            Err(e) => {
                crate::internal_warn!("addresses not updated: {e:#}");
                return;
            }
        };
        let moved: Vec<String> = conns
            .iter()
            .filter(|n| {
                self.conns
                    .iter()
                    .find(|c| c.name == n.name && !c.retired)
                    .is_some_and(|c| !same_addresses(&c.conn, &n.conn))
            })
            .map(|n| n.name.clone())
            .collect();
        let report = ReloadReport {
            added: Vec::new(),
            removed: Vec::new(),
            changed: moved,
            unchanged: Vec::new(),
        };
        let config = self.config.clone();
        if let Err(e) = self.apply(config, conns, &report).await {
            crate::internal_warn!("addresses not updated: {e}");
            return;
        }
        tracing::info!(changed = %report.changed.join(", "), "connections follow the new addresses");
    }
}
