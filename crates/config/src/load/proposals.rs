//! The `ike` and `esp` proposal lists, through the one proposal parser.

use super::*;

impl Loader<'_, '_> {
    pub(super) fn ike_proposals(
        &mut self,
        list: &[(&str, Range<usize>)],
        legacy: bool,
    ) -> Vec<IkeProposal> {
        let mut out = Vec::new();
        self.check_proposal_count(list);
        for (text, span) in list {
            match proposal::parse_ike_proposal(text) {
                Ok(p) => {
                    self.check_legacy(text, span, legacy);
                    let n = p.encryption.len() + p.integrity.len() + p.prf.len() + p.ke.len();
                    self.check_transform_count(text, span, n);
                    out.push(p)
                }
                Err(e) => self.sink.error(span.clone(), e),
            }
        }
        out
    }

    pub(super) fn esp_proposals(
        &mut self,
        list: &[(&str, Range<usize>)],
        legacy: bool,
    ) -> Vec<EspProposal> {
        let mut out = Vec::new();
        self.check_proposal_count(list);
        for (text, span) in list {
            match proposal::parse_esp_proposal(text) {
                Ok(p) => {
                    self.check_legacy(text, span, legacy);
                    let n = p.encryption.len() + p.integrity.len() + p.ke.len() + p.esn.len();
                    self.check_transform_count(text, span, n);
                    out.push(p)
                }
                Err(e) => self.sink.error(span.clone(), e),
            }
        }
        out
    }

    /// RFC 7296 §3.3.1: "Num Transforms" is one octet, so a proposal holds
    /// at most 255 transforms; more cannot be put on the wire.
    pub(super) fn check_transform_count(&mut self, text: &str, span: &Range<usize>, n: usize) {
        if n > MAX_ON_THE_WIRE {
            self.sink.error_hint(
                span.clone(),
                format!(
                    "`{}…` has {n} transforms; a proposal carries at most {MAX_ON_THE_WIRE}",
                    text.chars().take(40).collect::<String>()
                ),
                "split it into several proposals",
            );
        }
    }

    /// RFC 7296 §3.3.1: "Proposal Num" is one octet: at most 255 proposals.
    pub(super) fn check_proposal_count(&mut self, list: &[(&str, Range<usize>)]) {
        if let Some((_, span)) = list.get(MAX_ON_THE_WIRE) {
            self.sink.error(
                span.clone(),
                format!(
                    "{} proposals; an SA payload carries at most {MAX_ON_THE_WIRE}",
                    list.len()
                ),
            );
        }
    }

    pub(super) fn check_legacy(&mut self, text: &str, span: &Range<usize>, legacy: bool) {
        if let (Some(reason), false) = (proposal::legacy_reason(text), legacy) {
            self.sink.error_hint(
                span.clone(),
                format!("unsafe algorithm in `{text}`: {reason}"),
                "set allow_legacy = true in this section to accept it anyway",
            );
        }
    }
}
