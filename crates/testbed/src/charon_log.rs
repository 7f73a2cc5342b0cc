//! Extracts IKE SA and CHILD SA key material from a charon debug log.
//!
//! With `ike 4` charon logs, for every IKE SA it keys (RFC 7296 §2.14,
//! also §2.18 for a rekeyed IKE SA), the Diffie-Hellman shared secret
//! (`g^ir`), `SKEYSEED` and `SK_d`, `SK_ai`, `SK_ar`, `SK_ei`, `SK_er`,
//! `SK_pi`, `SK_pr`; with `chd 4`, for every CHILD SA (§2.17), the `seed`
//! of prf+ (`[g^ir (new)] | Ni | Nr`) and the encryption/integrity keys of
//! both directions. Each value is a line `LABEL => N bytes @ 0xADDR`
//! followed by hex-dump lines. With `mgr 2` charon also logs the IKE SPIs
//! (`checkin IKEv2 SA yk[2] with SPIs X_i Y_r`); the CHILD SPIs come from
//! the `established with SPIs` line at level 1.
//!
//! The log is read in order, per thread: key lines of one derivation come
//! from the thread that handles the message, so the role (initiator or
//! responder of the exchange) is the direction of the last message that
//! thread parsed.

use std::collections::{HashMap, HashSet};

/// Keys of one IKE SA as logged by charon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IkeSaKeys {
    /// Connection name (`yk`), once charon knows it.
    pub name: Option<String>,
    /// charon's unique ID of the IKE SA (`yk[2]` → 2).
    pub unique_id: Option<u32>,
    /// Initiator's SPI (RFC 7296 §3.1, IKE SA Initiator's SPI).
    pub spi_i: Option<u64>,
    /// Responder's SPI.
    pub spi_r: Option<u64>,
    /// Whether the logging side is the original initiator of this IKE SA.
    pub original_initiator: Option<bool>,
    /// Exchange that keyed it: `IKE_SA_INIT` or `CREATE_CHILD_SA` (rekey).
    pub exchange: Option<String>,
    /// The proposal charon selected, e.g.
    /// `AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`.
    pub proposal: Option<String>,
    /// Ni and Nr of IKE_SA_INIT, taken from the prf+ seed of the first
    /// CHILD SA (`Ni | Nr`, split in halves: charon's nonces are all the
    /// same length). `None` for rekeyed IKE SAs.
    pub nonces: Option<(Vec<u8>, Vec<u8>)>,
    /// `g^ir`.
    pub shared_secret: Vec<u8>,
    /// SKEYSEED.
    pub skeyseed: Vec<u8>,
    /// SK_d.
    pub sk_d: Vec<u8>,
    /// SK_ai (empty with an AEAD).
    pub sk_ai: Vec<u8>,
    /// SK_ar (empty with an AEAD).
    pub sk_ar: Vec<u8>,
    /// SK_ei (with AES-GCM: key followed by the 4-byte salt).
    pub sk_ei: Vec<u8>,
    /// SK_er.
    pub sk_er: Vec<u8>,
    /// SK_pi.
    pub sk_pi: Vec<u8>,
    /// SK_pr.
    pub sk_pr: Vec<u8>,
}

/// Keys of one CHILD SA as logged by charon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildSaKeys {
    /// CHILD SA config name (`site4`).
    pub name: String,
    /// charon's unique ID (`site4{2}` → 2).
    pub unique_id: u32,
    /// Unique ID of the IKE SA whose log context derived it.
    pub ike_unique_id: Option<u32>,
    /// Exchange that created it: `IKE_AUTH` or `CREATE_CHILD_SA`.
    pub exchange: Option<String>,
    /// Whether the logging side initiated that exchange (and so sends with
    /// the initiator keys).
    pub initiator: Option<bool>,
    /// Selected ESP proposal, e.g. `AES_GCM_16_256/NO_EXT_SEQ`.
    pub proposal: Option<String>,
    /// New `g^ir` of a CREATE_CHILD_SA with KE, if any.
    pub dh_secret: Option<Vec<u8>>,
    /// prf+ seed: `[g^ir (new)] | Ni | Nr` (RFC 7296 §2.17).
    pub seed: Vec<u8>,
    /// Encryption key for initiator → responder (GCM: key | salt).
    pub encr_i: Vec<u8>,
    /// Encryption key for responder → initiator.
    pub encr_r: Vec<u8>,
    /// Integrity key initiator → responder (empty with an AEAD).
    pub integ_i: Vec<u8>,
    /// Integrity key responder → initiator.
    pub integ_r: Vec<u8>,
    /// Inbound SPI of the logging side.
    pub spi_in: Option<u32>,
    /// Outbound SPI of the logging side.
    pub spi_out: Option<u32>,
}

impl ChildSaKeys {
    /// `(Ni, Nr)` from the seed, assuming both nonces have the same length
    /// (true for charon ⇄ charon).
    #[must_use]
    pub fn nonces(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let skip = self.dh_secret.as_ref().map_or(0, Vec::len);
        let rest = self.seed.get(skip..)?;
        if rest.is_empty() || rest.len() % 2 != 0 {
            return None;
        }
        let (a, b) = rest.split_at(rest.len() / 2);
        Some((a.to_vec(), b.to_vec()))
    }

    /// `(encryption key, integrity key)` the logging side uses to send.
    #[must_use]
    pub fn outbound_keys(&self) -> Option<(&[u8], &[u8])> {
        match self.initiator? {
            true => Some((&self.encr_i, &self.integ_i)),
            false => Some((&self.encr_r, &self.integ_r)),
        }
    }

    /// `(encryption key, integrity key)` the logging side receives with.
    #[must_use]
    pub fn inbound_keys(&self) -> Option<(&[u8], &[u8])> {
        match self.initiator? {
            true => Some((&self.encr_r, &self.integ_r)),
            false => Some((&self.encr_i, &self.integ_i)),
        }
    }
}

/// All key material found in one log, in the order it was derived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogKeys {
    /// IKE SAs (initial and rekeyed).
    pub ike_sas: Vec<IkeSaKeys>,
    /// CHILD SAs (initial and rekeyed).
    pub child_sas: Vec<ChildSaKeys>,
}

/// One log line, split up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line<'a> {
    thread: u32,
    tag_id: Option<u32>,
    msg: &'a str,
}

fn split_line(line: &str) -> Option<Line<'_>> {
    // "15:57:15.600 09[IKE] <yk|1> message"; the time may be absent.
    let mut rest = line;
    if let Some((first, after)) = rest.split_once(' ') {
        if first.contains(':') && !first.contains('[') {
            rest = after;
        }
    }
    let (head, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let open = head.find('[')?;
    if !head.ends_with(']') {
        return None;
    }
    let thread = head[..open].parse().ok()?;
    let mut msg = after;
    let mut tag_id = None;
    if let Some(tagged) = after.strip_prefix('<') {
        if let Some((tag, m)) = tagged.split_once('>') {
            tag_id = tag.rsplit('|').next().and_then(|s| s.parse().ok());
            msg = m.strip_prefix(' ').unwrap_or(m);
        }
    }
    Some(Line {
        thread,
        tag_id,
        msg,
    })
}

/// Bytes of a hex-dump line body (`   0: 0A 25 F6 ...  ascii`), or None if
/// the message is not one.
fn hexdump_bytes(msg: &str) -> Option<Vec<u8>> {
    let t = msg.trim_start();
    let (offset, body) = t.split_once(": ")?;
    if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // 16 bytes take 47 characters; the ASCII column follows after two spaces.
    let hex_part = body.split("  ").next().unwrap_or("");
    let mut out = Vec::new();
    for tok in hex_part.split(' ').filter(|s| !s.is_empty()) {
        if tok.len() != 2 {
            return None;
        }
        out.push(u8::from_str_radix(tok, 16).ok()?);
    }
    if out.is_empty() || out.len() > 16 {
        return None;
    }
    Some(out)
}

/// `LABEL => N bytes @ ...` → (LABEL, N).
fn dump_header(msg: &str) -> Option<(&str, usize)> {
    let (label, rest) = msg.rsplit_once(" => ")?;
    let (num, tail) = rest.split_once(' ')?;
    if !tail.starts_with("bytes") {
        return None;
    }
    Some((label.trim(), num.parse().ok()?))
}

/// A log event after joining dumps to their header lines.
struct Event<'a> {
    line: Line<'a>,
    dump: Option<(&'a str, Vec<u8>)>,
}

fn events(text: &str) -> Vec<Event<'_>> {
    let lines: Vec<Line<'_>> = text.lines().filter_map(split_line).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].clone();
        i += 1;
        let Some((label, n)) = dump_header(line.msg) else {
            if hexdump_bytes(line.msg).is_none() {
                out.push(Event { line, dump: None });
            }
            continue;
        };
        let mut bytes = Vec::with_capacity(n.min(4096));
        // A dump is written in one go under charon's logger lock, but skip
        // lines of other threads anyway rather than trusting that.
        let mut j = i;
        while bytes.len() < n && j < lines.len() {
            let l = &lines[j];
            if l.thread == line.thread {
                match hexdump_bytes(l.msg) {
                    Some(b) => bytes.extend_from_slice(&b),
                    None => break,
                }
            }
            j += 1;
        }
        i = j;
        bytes.truncate(n);
        out.push(Event {
            line,
            dump: Some((label, bytes)),
        });
    }
    out
}

/// `IKE_SA yk[2] state change: CREATED => CONNECTING` → ("yk", 2, "CREATED", "CONNECTING").
fn ike_state_change(msg: &str) -> Option<(&str, u32, &str, &str)> {
    let rest = msg.strip_prefix("IKE_SA ")?;
    let (sa, change) = rest.split_once(" state change: ")?;
    let (name, id) = name_and_id(sa, '[', ']')?;
    let (from, to) = change.split_once(" => ")?;
    Some((name, id, from.trim(), to.trim()))
}

/// `yk[2]` → ("yk", 2); `site4{1}` with `{`/`}`.
fn name_and_id(s: &str, open: char, close: char) -> Option<(&str, u32)> {
    let s = s.strip_suffix(close)?;
    let (name, id) = s.rsplit_once(open)?;
    Some((name, id.parse().ok()?))
}

/// `parsed IKE_AUTH response 1 [ ... ]` → ("IKE_AUTH", true).
fn parsed_message(msg: &str) -> Option<(&str, bool)> {
    let rest = msg.strip_prefix("parsed ")?;
    let mut it = rest.split(' ');
    let exchange = it.next()?;
    let dir = it.next()?;
    let _mid: u32 = it.next()?.parse().ok()?;
    match dir {
        "request" => Some((exchange, false)),
        "response" => Some((exchange, true)),
        _ => None,
    }
}

/// `checkin IKEv2 SA yk[1] with SPIs 0a25f693848d52ab_i 0f165ffbaa9a7156_r`.
fn checkin_spis(msg: &str) -> Option<(u32, u64, u64)> {
    let rest = msg.strip_prefix("checkin IKEv2 SA ")?;
    let (sa, spis) = rest.split_once(" with SPIs ")?;
    let (_, id) = name_and_id(sa, '[', ']')?;
    let mut it = spis.split(' ');
    let i = u64::from_str_radix(it.next()?.strip_suffix("_i")?, 16).ok()?;
    let r = u64::from_str_radix(it.next()?.strip_suffix("_r")?, 16).ok()?;
    Some((id, i, r))
}

/// `[inbound |outbound ]CHILD_SA site4{2} established with SPIs X_i Y_o and TS ...`.
fn child_established(msg: &str) -> Option<(&str, u32, u32, u32)> {
    let m = msg
        .strip_prefix("inbound ")
        .or_else(|| msg.strip_prefix("outbound "))
        .unwrap_or(msg);
    let rest = m.strip_prefix("CHILD_SA ")?;
    let (sa, spis) = rest.split_once(" established with SPIs ")?;
    let (name, id) = name_and_id(sa, '{', '}')?;
    let mut it = spis.split(' ');
    let i = u32::from_str_radix(it.next()?.strip_suffix("_i")?, 16).ok()?;
    let o = u32::from_str_radix(it.next()?.strip_suffix("_o")?, 16).ok()?;
    Some((name, id, i, o))
}

/// What a thread or an IKE SA's log context last saw.
#[derive(Default, Clone)]
struct Context {
    last_parsed: Option<(String, bool)>,
    ike_proposal: Option<String>,
    esp_proposal: Option<String>,
}

#[derive(Default)]
struct ThreadState {
    ctx: Context,
    ike: Option<(Option<u32>, IkeSaKeys)>,
    child: Option<ChildSaKeys>,
}

/// Parses a charon log (see the module docs for the levels it needs).
#[must_use]
pub fn parse(text: &str) -> LogKeys {
    let mut threads: HashMap<u32, ThreadState> = HashMap::new();
    let mut tags: HashMap<u32, Context> = HashMap::new();
    let mut ike_done: Vec<(Option<u32>, IkeSaKeys)> = Vec::new();
    let mut children: Vec<ChildSaKeys> = Vec::new();
    // IKE SAs in CONNECTING, with the tag of the line that announced it.
    let mut connecting: Vec<(u32, Option<u32>)> = Vec::new();
    let mut keyed: HashSet<u32> = HashSet::new();
    let mut spis: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut names: HashMap<u32, String> = HashMap::new();

    for ev in events(text) {
        let l = &ev.line;
        let st = threads.entry(l.thread).or_default();
        if let Some((label, bytes)) = ev.dump {
            match label {
                "shared Diffie Hellman secret" => {
                    // A responder derives the keys of a new IKE SA lazily,
                    // when the IKE_AUTH request arrives, possibly on another
                    // thread than the one that handled IKE_SA_INIT; the SA's
                    // own context says so. A rekey is handled on one thread
                    // (its keys may carry the new SA's tag), so there the
                    // thread's context is the right one.
                    let ctx = l
                        .tag_id
                        .and_then(|t| tags.get(&t))
                        .filter(|c| {
                            c.last_parsed
                                .as_ref()
                                .is_some_and(|(e, _)| e == "IKE_SA_INIT")
                        })
                        .unwrap_or(&st.ctx);
                    let mut k = IkeSaKeys {
                        shared_secret: bytes,
                        proposal: ctx.ike_proposal.clone(),
                        ..IkeSaKeys::default()
                    };
                    if let Some((exchange, response)) = &ctx.last_parsed {
                        k.exchange = Some(exchange.clone());
                        k.original_initiator = Some(*response);
                    }
                    st.ike = Some((l.tag_id, k));
                }
                "SKEYSEED" | "Sk_d secret" | "Sk_ai secret" | "Sk_ar secret" | "Sk_ei secret"
                | "Sk_er secret" | "Sk_pi secret" | "Sk_pr secret" => {
                    if let Some((_, k)) = st.ike.as_mut() {
                        let slot = match label {
                            "SKEYSEED" => &mut k.skeyseed,
                            "Sk_d secret" => &mut k.sk_d,
                            "Sk_ai secret" => &mut k.sk_ai,
                            "Sk_ar secret" => &mut k.sk_ar,
                            "Sk_ei secret" => &mut k.sk_ei,
                            "Sk_er secret" => &mut k.sk_er,
                            "Sk_pi secret" => &mut k.sk_pi,
                            _ => &mut k.sk_pr,
                        };
                        *slot = bytes;
                    }
                    if label == "Sk_pr secret" {
                        if let Some((tag, mut k)) = st.ike.take() {
                            // Which SA: the tagged one if it is still
                            // waiting for keys (initial SA, or the new SA on
                            // a rekey responder), else the newest SA that
                            // was announced under this tag (rekey initiator).
                            let id = tag
                                .filter(|t| {
                                    connecting.iter().any(|(c, _)| c == t) && !keyed.contains(t)
                                })
                                .or_else(|| {
                                    connecting
                                        .iter()
                                        .rev()
                                        .find(|(c, at)| *at == tag && !keyed.contains(c))
                                        .map(|(c, _)| *c)
                                });
                            if let Some(id) = id {
                                keyed.insert(id);
                            }
                            k.unique_id = id;
                            ike_done.push((id, k));
                        }
                    }
                }
                "DH secret" => {
                    if let Some(c) = st.child.as_mut() {
                        c.dh_secret = Some(bytes);
                    }
                }
                "seed" => {
                    if let Some(c) = st.child.as_mut() {
                        c.seed = bytes;
                    }
                }
                "encryption initiator key"
                | "encryption responder key"
                | "integrity initiator key"
                | "integrity responder key" => {
                    if let Some(c) = st.child.as_mut() {
                        let slot = match label {
                            "encryption initiator key" => &mut c.encr_i,
                            "encryption responder key" => &mut c.encr_r,
                            "integrity initiator key" => &mut c.integ_i,
                            _ => &mut c.integ_r,
                        };
                        *slot = bytes;
                    }
                }
                _ => {}
            }
            continue;
        }
        let msg = l.msg;
        let tag_ctx = l.tag_id.map(|t| tags.entry(t).or_default());
        if let Some((exchange, response)) = parsed_message(msg) {
            let v = Some((exchange.to_owned(), response));
            st.ctx.last_parsed.clone_from(&v);
            if let Some(c) = tag_ctx {
                c.last_parsed = v;
            }
        } else if let Some(p) = msg.strip_prefix("selected proposal: IKE:") {
            let v = Some(p.trim().to_owned());
            st.ctx.ike_proposal.clone_from(&v);
            if let Some(c) = tag_ctx {
                c.ike_proposal = v;
            }
        } else if let Some(p) = msg.strip_prefix("selected proposal: ESP:") {
            st.ctx.esp_proposal = Some(p.trim().to_owned());
        } else if let Some((name, id, from, to)) = ike_state_change(msg) {
            if name != "(unnamed)" {
                names.insert(id, name.to_owned());
            }
            if from == "CREATED" && to == "CONNECTING" {
                connecting.push((id, l.tag_id));
            }
        } else if let Some((id, i, r)) = checkin_spis(msg) {
            if r != 0 {
                spis.insert(id, (i, r));
            }
        } else if let Some(rest) = msg.strip_prefix("CHILD_SA ") {
            if let Some((sa, change)) = rest.split_once(" state change: ") {
                if change.trim() == "CREATED => INSTALLING" {
                    if let Some((name, id)) = name_and_id(sa, '{', '}') {
                        let (exchange, initiator) = match &st.ctx.last_parsed {
                            Some((e, r)) => (Some(e.clone()), Some(*r)),
                            None => (None, None),
                        };
                        st.child = Some(ChildSaKeys {
                            name: name.to_owned(),
                            unique_id: id,
                            ike_unique_id: l.tag_id,
                            exchange,
                            initiator,
                            proposal: st.ctx.esp_proposal.clone(),
                            ..ChildSaKeys::default()
                        });
                    }
                }
            }
        }
        if let Some((name, id, spi_in, spi_out)) = child_established(msg) {
            if let Some(mut c) = st.child.take() {
                if c.name == name && c.unique_id == id {
                    c.spi_in = Some(spi_in);
                    c.spi_out = Some(spi_out);
                    children.push(c);
                } else {
                    st.child = Some(c);
                }
            }
        }
    }

    let mut ike_sas: Vec<IkeSaKeys> = ike_done
        .into_iter()
        .map(|(id, mut k)| {
            if let Some(id) = id {
                if let Some((i, r)) = spis.get(&id) {
                    k.spi_i = Some(*i);
                    k.spi_r = Some(*r);
                }
                k.name = names.get(&id).cloned();
            }
            k
        })
        .collect();
    // Ni | Nr of IKE_SA_INIT are the seed of the CHILD SA made in IKE_AUTH.
    for k in &mut ike_sas {
        if k.exchange.as_deref() != Some("IKE_SA_INIT") {
            continue;
        }
        k.nonces = children
            .iter()
            .find(|c| {
                c.exchange.as_deref() == Some("IKE_AUTH")
                    && c.ike_unique_id.is_some()
                    && c.ike_unique_id == k.unique_id
            })
            .and_then(ChildSaKeys::nonces);
    }
    LogKeys {
        ike_sas,
        child_sas: children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_line_with_and_without_tag() {
        let l =
            split_line("15:57:15.600 09[IKE] <yk|1> initiating IKE_SA yk[1] to 192.0.2.2").unwrap();
        assert_eq!(l.thread, 9);
        assert_eq!(l.tag_id, Some(1));
        assert_eq!(l.msg, "initiating IKE_SA yk[1] to 192.0.2.2");
        let l = split_line("15:57:15.605 02[NET] received packet").unwrap();
        assert_eq!((l.thread, l.tag_id, l.msg), (2, None, "received packet"));
        let l = split_line(
            "15:57:15.604 13[IKE] <1> IKE_SA (unnamed)[1] state change: CREATED => CONNECTING",
        )
        .unwrap();
        assert_eq!(l.tag_id, Some(1));
        assert!(split_line("garbage").is_none());
    }

    #[test]
    fn hexdump_line() {
        assert_eq!(
            hexdump_bytes(
                "   0: 0A 25 F6 93 84 8D 52 AB 00 00 00 00 00 00 00 00  .%....R........."
            ),
            Some(vec![
                0x0a, 0x25, 0xf6, 0x93, 0x84, 0x8d, 0x52, 0xab, 0, 0, 0, 0, 0, 0, 0, 0
            ])
        );
        assert_eq!(
            hexdump_bytes("  16: C0 32 95 24 00 00                                .2.$.."),
            Some(vec![0xc0, 0x32, 0x95, 0x24, 0, 0])
        );
        // An ASCII column that looks like hex must not be read as bytes.
        assert_eq!(hexdump_bytes("  32: 41 42  AB").map(|v| v.len()), Some(2));
        assert_eq!(hexdump_bytes("config: 198.51.100.0/24"), None);
    }

    /// A trimmed excerpt of a real charon 5.9.8 initiator log (keys shortened).
    const INITIATOR_LOG: &str = "\
15:57:15.600 09[IKE] <yk|1> IKE_SA yk[1] state change: CREATED => CONNECTING
15:57:15.601 09[MGR] <yk|1> checkin IKEv2 SA yk[1] with SPIs 0a25f693848d52ab_i 0000000000000000_r
15:57:15.607 12[ENC] <yk|1> parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) ]
15:57:15.608 12[CFG] <yk|1> selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519
15:57:15.608 12[IKE] <yk|1> shared Diffie Hellman secret => 4 bytes @ 0x7f0d14003190
15:57:15.608 12[IKE] <yk|1>    0: 01 02 03 04                                      ....
15:57:15.608 12[IKE] <yk|1> SKEYSEED => 2 bytes @ 0x7f0d1400a7c0
15:57:15.608 12[IKE] <yk|1>    0: AA BB                                            ..
15:57:15.608 12[IKE] <yk|1> Sk_d secret => 2 bytes @ 0x7f0d1400a7c0
15:57:15.608 12[IKE] <yk|1>    0: 0D 0D                                            ..
15:57:15.608 12[IKE] <yk|1> Sk_ei secret => 18 bytes @ 0x7f0d1400a730
15:57:15.608 12[IKE] <yk|1>    0: 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F  ................
15:57:15.608 12[IKE] <yk|1>   16: 10 11                                            ..
15:57:15.608 12[IKE] <yk|1> Sk_er secret => 2 bytes @ 0x7f0d1400a754
15:57:15.608 12[IKE] <yk|1>    0: E1 E2                                            ..
15:57:15.608 12[IKE] <yk|1> Sk_pi secret => 2 bytes @ 0x7f0d1400aa60
15:57:15.608 12[IKE] <yk|1>    0: 91 92                                            ..
15:57:15.608 12[IKE] <yk|1> Sk_pr secret => 2 bytes @ 0x7f0d14006f70
15:57:15.608 12[IKE] <yk|1>    0: 93 94                                            ..
15:57:15.610 12[MGR] <yk|1> checkin IKEv2 SA yk[1] with SPIs 0a25f693848d52ab_i 0f165ffbaa9a7156_r
15:57:15.614 11[ENC] <yk|1> parsed IKE_AUTH response 1 [ IDr AUTH SA TSi TSr ]
15:57:15.615 11[IKE] <yk|1> IKE_SA yk[1] state change: CONNECTING => ESTABLISHED
15:57:15.615 11[CFG] <yk|1> selected proposal: ESP:AES_GCM_16_256/NO_EXT_SEQ
15:57:15.616 11[CHD] <yk|1> CHILD_SA site4{1} state change: CREATED => INSTALLING
15:57:15.616 11[CHD] <yk|1> seed => 4 bytes @ 0x7f0d42b50960
15:57:15.616 11[CHD] <yk|1>    0: 11 22 33 44                                      .\"3D
15:57:15.616 11[CHD] <yk|1> encryption initiator key => 2 bytes @ 0x7f0d1400bed0
15:57:15.616 11[CHD] <yk|1>    0: C1 C2                                            ..
15:57:15.616 11[CHD] <yk|1> encryption responder key => 2 bytes @ 0x7f0d0c001c90
15:57:15.616 11[CHD] <yk|1>    0: C3 C4                                            ..
15:57:15.616 11[IKE] <yk|1> CHILD_SA site4{1} established with SPIs 4afff68a_i 2ffdaf4f_o and TS 198.51.100.0/24 === 203.0.113.0/24
15:58:35.467 10[IKE] <yk|1> IKE_SA yk[2] state change: CREATED => CONNECTING
15:58:35.472 12[ENC] <yk|1> parsed CREATE_CHILD_SA response 2 [ SA No KE ]
15:58:35.472 12[IKE] <yk|1> shared Diffie Hellman secret => 1 bytes @ 0x7f0d14006f40
15:58:35.472 12[IKE] <yk|1>    0: 05                                               .
15:58:35.472 12[IKE] <yk|1> Sk_pr secret => 1 bytes @ 0x7f0d14001850
15:58:35.472 12[IKE] <yk|1>    0: 06                                               .
15:58:35.472 12[MGR] <yk|1> checkin IKEv2 SA yk[2] with SPIs 0620a27e8b727d3c_i 72abf80d9f31be89_r
";

    #[test]
    fn parse_initiator_log() {
        let k = parse(INITIATOR_LOG);
        assert_eq!(k.ike_sas.len(), 2);
        let a = &k.ike_sas[0];
        assert_eq!(a.unique_id, Some(1));
        assert_eq!(a.name.as_deref(), Some("yk"));
        assert_eq!(a.spi_i, Some(0x0a25_f693_848d_52ab));
        assert_eq!(a.spi_r, Some(0x0f16_5ffb_aa9a_7156));
        assert_eq!(a.original_initiator, Some(true));
        assert_eq!(a.exchange.as_deref(), Some("IKE_SA_INIT"));
        assert_eq!(
            a.proposal.as_deref(),
            Some("AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519")
        );
        assert_eq!(a.shared_secret, vec![1, 2, 3, 4]);
        assert_eq!(a.skeyseed, vec![0xaa, 0xbb]);
        assert_eq!(a.sk_ei, (0u8..18).collect::<Vec<_>>());
        assert_eq!(a.sk_er, vec![0xe1, 0xe2]);
        assert!(a.sk_ai.is_empty());
        assert_eq!(a.nonces, Some((vec![0x11, 0x22], vec![0x33, 0x44])));

        let b = &k.ike_sas[1];
        assert_eq!(b.unique_id, Some(2));
        assert_eq!(b.exchange.as_deref(), Some("CREATE_CHILD_SA"));
        assert_eq!(b.spi_i, Some(0x0620_a27e_8b72_7d3c));
        assert_eq!(b.nonces, None);

        assert_eq!(k.child_sas.len(), 1);
        let c = &k.child_sas[0];
        assert_eq!((c.name.as_str(), c.unique_id), ("site4", 1));
        assert_eq!(c.initiator, Some(true));
        assert_eq!(c.spi_in, Some(0x4aff_f68a));
        assert_eq!(c.spi_out, Some(0x2ffd_af4f));
        assert_eq!(c.outbound_keys().unwrap().0, &[0xc1, 0xc2]);
        assert_eq!(c.inbound_keys().unwrap().0, &[0xc3, 0xc4]);
        assert_eq!(c.proposal.as_deref(), Some("AES_GCM_16_256/NO_EXT_SEQ"));
    }

    #[test]
    fn parse_garbage_is_empty() {
        let k = parse("nothing\n\u{0}\u{1}\n=> 5 bytes\n   0: ZZ\n");
        assert_eq!(k, LogKeys::default());
    }
}
