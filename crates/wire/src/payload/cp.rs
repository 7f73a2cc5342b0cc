//! Configuration payload (RFC 7296 §3.15) and its attributes (§3.15.1),
//! with typed views for the address attributes (§3.15.1, RFC 8598 for
//! INTERNAL_DNS_DOMAIN).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireErrorKind};
use crate::payload::{own, Bytes};
use crate::registry::{CfgType, ConfigAttributeType};

/// Most attributes accepted in one CP payload (allocation bound).
pub const MAX_CONFIG_ATTRIBUTES: usize = 256;

/// Configuration payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cp<'a> {
    /// CFG_REQUEST, CFG_REPLY, CFG_SET or CFG_ACK.
    pub cfg_type: CfgType,
    /// Attributes in order.
    pub attributes: Vec<ConfigAttribute<'a>>,
}

/// One configuration attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigAttribute<'a> {
    /// Attribute type (15 bits; the top bit is reserved).
    pub attribute_type: ConfigAttributeType,
    /// Value; empty in a request that asks for any value.
    pub value: Bytes<'a>,
}

impl<'a> ConfigAttribute<'a> {
    /// An attribute.
    pub fn new(attribute_type: ConfigAttributeType, value: impl Into<Bytes<'a>>) -> Self {
        Self {
            attribute_type,
            value: value.into(),
        }
    }

    /// An empty attribute (how a CFG_REQUEST asks for a value).
    pub fn request(attribute_type: ConfigAttributeType) -> ConfigAttribute<'static> {
        ConfigAttribute {
            attribute_type,
            value: Cow::Borrowed(&[]),
        }
    }

    /// An IPv4 address attribute (INTERNAL_IP4_ADDRESS, _NETMASK, _DNS, _NBNS, _DHCP, P_CSCF_IP4_ADDRESS).
    pub fn ipv4(attribute_type: ConfigAttributeType, a: Ipv4Addr) -> ConfigAttribute<'static> {
        ConfigAttribute {
            attribute_type,
            value: Cow::Owned(a.octets().to_vec()),
        }
    }

    /// An IPv6 address attribute with prefix length (INTERNAL_IP6_ADDRESS, INTERNAL_IP6_SUBNET).
    pub fn ipv6_prefix(
        attribute_type: ConfigAttributeType,
        a: Ipv6Addr,
        prefix_len: u8,
    ) -> ConfigAttribute<'static> {
        let mut v = a.octets().to_vec();
        v.push(prefix_len);
        ConfigAttribute {
            attribute_type,
            value: Cow::Owned(v),
        }
    }

    /// A plain IPv6 address attribute (INTERNAL_IP6_DNS, _DHCP, P_CSCF_IP6_ADDRESS).
    pub fn ipv6(attribute_type: ConfigAttributeType, a: Ipv6Addr) -> ConfigAttribute<'static> {
        ConfigAttribute {
            attribute_type,
            value: Cow::Owned(a.octets().to_vec()),
        }
    }

    /// The value as an IPv4 address, if it is 4 bytes long.
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        <[u8; 4]>::try_from(&self.value[..])
            .ok()
            .map(Ipv4Addr::from)
    }

    /// The value as an IPv6 address, if it is 16 bytes long.
    pub fn as_ipv6(&self) -> Option<Ipv6Addr> {
        <[u8; 16]>::try_from(&self.value[..])
            .ok()
            .map(Ipv6Addr::from)
    }

    /// The value as IPv6 address + prefix length, if it is 17 bytes long.
    pub fn as_ipv6_prefix(&self) -> Option<(Ipv6Addr, u8)> {
        let v: &[u8] = &self.value;
        if v.len() != 17 {
            return None;
        }
        let a = <[u8; 16]>::try_from(&v[..16]).ok()?;
        Some((Ipv6Addr::from(a), v[16]))
    }

    /// INTERNAL_IP4_SUBNET: address and netmask, if 8 bytes long.
    pub fn as_ipv4_subnet(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let v: &[u8] = &self.value;
        if v.len() != 8 {
            return None;
        }
        let a = <[u8; 4]>::try_from(&v[..4]).ok()?;
        let m = <[u8; 4]>::try_from(&v[4..]).ok()?;
        Some((Ipv4Addr::from(a), Ipv4Addr::from(m)))
    }

    /// The value as text (APPLICATION_VERSION, INTERNAL_DNS_DOMAIN), if UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.value).ok()
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> ConfigAttribute<'static> {
        ConfigAttribute {
            attribute_type: self.attribute_type,
            value: own(self.value),
        }
    }
}

impl<'a> Cp<'a> {
    /// A CP payload.
    pub fn new(cfg_type: CfgType, attributes: Vec<ConfigAttribute<'a>>) -> Self {
        Self {
            cfg_type,
            attributes,
        }
    }

    /// The attributes of one type.
    pub fn attributes_of(
        &self,
        t: ConfigAttributeType,
    ) -> impl Iterator<Item = &ConfigAttribute<'a>> {
        self.attributes
            .iter()
            .filter(move |a| a.attribute_type == t)
    }

    /// Parses a CP body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let cfg_type = CfgType(r.u8("cfg_type")?);
        r.skip(3, "reserved")?;
        r.set_context(Context::ConfigAttribute);
        let mut attributes = Vec::new();
        while !r.is_empty() {
            if attributes.len() == MAX_CONFIG_ATTRIBUTES {
                return Err(r.err(
                    "attributes",
                    WireErrorKind::TooMany {
                        max: MAX_CONFIG_ATTRIBUTES,
                    },
                ));
            }
            // The top bit is RESERVED and MUST be ignored on receipt.
            let t = r.u16("attribute_type")? & 0x7fff;
            let len = r.u16("length")? as usize;
            let value = r.take(len, "value")?;
            attributes.push(ConfigAttribute {
                attribute_type: ConfigAttributeType(t),
                value: Cow::Borrowed(value),
            });
        }
        Ok(Self {
            cfg_type,
            attributes,
        })
    }

    /// Emits a CP body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.cfg_type.0);
        w.zeros(3);
        let ctx = w.context();
        w.set_context(Context::ConfigAttribute);
        for a in &self.attributes {
            if a.attribute_type.0 > 0x7fff {
                return Err(w.err(
                    "attribute_type",
                    WireErrorKind::Overflow {
                        value: a.attribute_type.0.into(),
                        max: 0x7fff,
                    },
                ));
            }
            w.u16(a.attribute_type.0);
            let l = w.fit_u16(a.value.len(), "length")?;
            w.u16(l);
            w.bytes(&a.value);
        }
        w.set_context(ctx);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Cp<'static> {
        Cp {
            cfg_type: self.cfg_type,
            attributes: self
                .attributes
                .into_iter()
                .map(ConfigAttribute::into_owned)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::PayloadType;

    static BODY: [u8; 24] = [
        0x02, 0x00, 0x00, 0x00, // CFG_REPLY
        0x00, 0x01, 0x00, 0x04, 192, 0, 2, 10, // INTERNAL_IP4_ADDRESS
        0x00, 0x03, 0x00, 0x04, 192, 0, 2, 53, // INTERNAL_IP4_DNS
        0x00, 0x0e, 0x00, 0x00, // SUPPORTED_ATTRIBUTES, empty
    ];

    fn parse(b: &[u8]) -> Result<Cp<'_>> {
        Cp::parse(&mut Reader::new(b, 0, Context::Payload(PayloadType::CP)))
    }

    fn repr() -> Cp<'static> {
        Cp::new(
            CfgType::CFG_REPLY,
            vec![
                ConfigAttribute::ipv4(
                    ConfigAttributeType::INTERNAL_IP4_ADDRESS,
                    Ipv4Addr::new(192, 0, 2, 10),
                ),
                ConfigAttribute::ipv4(
                    ConfigAttributeType::INTERNAL_IP4_DNS,
                    Ipv4Addr::new(192, 0, 2, 53),
                ),
                ConfigAttribute::request(ConfigAttributeType::SUPPORTED_ATTRIBUTES),
            ],
        )
    }

    #[test]
    fn deconstruct() {
        let cp = parse(&BODY).unwrap();
        assert_eq!(cp, repr());
        let a: Vec<_> = cp
            .attributes_of(ConfigAttributeType::INTERNAL_IP4_DNS)
            .collect();
        assert_eq!(a[0].as_ipv4(), Some(Ipv4Addr::new(192, 0, 2, 53)));
    }

    #[test]
    fn construct() {
        let mut v = Vec::new();
        repr()
            .emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::CP)))
            .unwrap();
        assert_eq!(v, BODY);
    }

    #[test]
    fn truncated() {
        for n in 0..BODY.len() {
            let r = parse(&BODY[..n]);
            // Cuts on an attribute boundary leave a shorter valid payload.
            if [4, 12, 20].contains(&n) {
                assert_eq!(r.unwrap().attributes.len(), (n - 4) / 8);
            } else {
                assert!(r.is_err(), "{n}");
            }
        }
    }

    #[test]
    fn reserved_bit_ignored() {
        let mut b = BODY;
        b[4] |= 0x80;
        assert_eq!(parse(&b).unwrap(), repr());
    }

    #[test]
    fn typed_views() {
        let s = ConfigAttribute::new(
            ConfigAttributeType::INTERNAL_IP4_SUBNET,
            vec![198, 51, 100, 0, 255, 255, 255, 0],
        );
        assert_eq!(
            s.as_ipv4_subnet(),
            Some((
                Ipv4Addr::new(198, 51, 100, 0),
                Ipv4Addr::new(255, 255, 255, 0)
            ))
        );
        let d = ConfigAttribute::new(
            ConfigAttributeType::INTERNAL_DNS_DOMAIN,
            b"example.com".to_vec(),
        );
        assert_eq!(d.as_str(), Some("example.com"));
        let v6 = ConfigAttribute::ipv6(
            ConfigAttributeType::INTERNAL_IP6_DNS,
            "2001:db8::53".parse().unwrap(),
        );
        assert_eq!(v6.as_ipv6(), Some("2001:db8::53".parse().unwrap()));
        assert_eq!(v6.as_ipv4(), None);
    }
}
