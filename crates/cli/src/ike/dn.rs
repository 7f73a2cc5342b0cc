//! A readable form of a DER-encoded X.500 Name (RFC 5280 §4.1.2.4), for
//! ID_DER_ASN1_DN identities: `C=CH, O=strongSwan, CN=moon.example`, in the
//! order of the encoding, as strongSwan prints them. Anything this small
//! reader does not understand makes it give up (the caller shows hex).

/// Reads one DER TLV at the start of `d`: (tag, contents, rest). Only
/// definite lengths up to 4 bytes are accepted (DER forbids indefinite).
fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, d) = d.split_first()?;
    let (&first, mut d) = d.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, rest) = d.split_at_checked(n)?;
        d = rest;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (contents, rest) = d.split_at_checked(len)?;
    Some((tag, contents, rest))
}

fn oid_text(oid: &[u8]) -> Option<String> {
    let (&first, rest) = oid.split_first()?;
    let mut arcs = vec![u64::from(first / 40), u64::from(first % 40)];
    let mut acc: u64 = 0;
    for &b in rest {
        acc = acc.checked_mul(128)? | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

fn attribute_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.42" => "G",
        "2.5.4.43" => "I",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "1.2.840.113549.1.9.1" => "E",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return None,
    })
}

/// `C=CH, O=strongSwan, CN=moon`, or `None` if `der` is not a Name whose
/// values are strings.
#[must_use]
pub fn dn_to_string(der: &[u8]) -> Option<String> {
    let (tag, mut rdns, rest) = tlv(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (tag, mut set, rest) = tlv(rdns)?;
        rdns = rest;
        if tag != 0x31 {
            return None;
        }
        while !set.is_empty() {
            let (tag, atv, rest) = tlv(set)?;
            set = rest;
            if tag != 0x30 {
                return None;
            }
            let (tag, oid, value) = tlv(atv)?;
            if tag != 0x06 {
                return None;
            }
            let (vtag, v, end) = tlv(value)?;
            if !end.is_empty() {
                return None;
            }
            let text = match vtag {
                // UTF8String, PrintableString, TeletexString, IA5String,
                // VisibleString: shown as (lossy) UTF-8.
                0x0C | 0x13 | 0x14 | 0x16 | 0x1A => String::from_utf8_lossy(v).into_owned(),
                // BMPString: UTF-16BE.
                0x1E if v.len() % 2 == 0 => {
                    let units: Vec<u16> = v
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16_lossy(&units)
                }
                _ => format!("#{}", hex::encode(v)),
            };
            let oid = oid_text(oid)?;
            let key = attribute_name(&oid).map_or(oid.clone(), str::to_owned);
            parts.push(format!("{key}={text}"));
        }
    }
    Some(parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atv(oid: &[u8], tag: u8, v: &[u8]) -> Vec<u8> {
        let mut inner = vec![0x06, oid.len() as u8];
        inner.extend_from_slice(oid);
        inner.extend_from_slice(&[tag, v.len() as u8]);
        inner.extend_from_slice(v);
        let mut seq = vec![0x30, inner.len() as u8];
        seq.extend_from_slice(&inner);
        let mut set = vec![0x31, seq.len() as u8];
        set.extend_from_slice(&seq);
        set
    }

    #[test]
    fn parse_name() {
        let mut body = atv(&[0x55, 0x04, 0x06], 0x13, b"CH");
        body.extend(atv(&[0x55, 0x04, 0x0A], 0x0C, b"strongSwan"));
        body.extend(atv(&[0x55, 0x04, 0x03], 0x0C, b"moon.example"));
        body.extend(atv(
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01],
            0x16,
            b"a@b",
        ));
        let mut der = vec![0x30, body.len() as u8];
        der.extend_from_slice(&body);
        assert_eq!(
            dn_to_string(&der).unwrap(),
            "C=CH, O=strongSwan, CN=moon.example, E=a@b"
        );
        for n in 0..der.len() {
            assert_eq!(dn_to_string(&der[..n]), None);
        }
        assert_eq!(dn_to_string(b"\x30\x80"), None);
    }
}
