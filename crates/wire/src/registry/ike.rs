//! Message-level IKEv2 registries: exchange and payload types, protocol
//! IDs, ID types, authentication methods, certificate encodings, traffic
//! selector types, configuration types and attributes, gateway identity
//! types (RFC 5685), hash algorithms (RFC 7427) and EAP codes (RFC 3748).

registry! {
    /// IKEv2 Exchange Types (RFC 7296 §3.1; RFC 5723; G-IKEv2; RFC 9242; RFC 9370).
    pub struct ExchangeType(u8);
    IKE_SA_INIT = 34,
    IKE_AUTH = 35,
    CREATE_CHILD_SA = 36,
    INFORMATIONAL = 37,
    IKE_SESSION_RESUME = 38,
    GSA_AUTH = 39,
    GSA_REGISTRATION = 40,
    GSA_REKEY = 41,
    GSA_INBAND_REKEY = 42,
    IKE_INTERMEDIATE = 43,
    IKE_FOLLOWUP_KE = 44,
}

registry! {
    /// IKEv2 Payload Types (RFC 7296 §3.2). `name()` is the IANA notation
    /// ("IDi", "N", "SK"); [`PayloadType::label`] a readable short name.
    pub struct PayloadType(u8);
    NO_NEXT_PAYLOAD = 0 => "No Next Payload",
    SA = 33 => "SA",
    KE = 34 => "KE",
    IDI = 35 => "IDi",
    IDR = 36 => "IDr",
    CERT = 37 => "CERT",
    CERTREQ = 38 => "CERTREQ",
    AUTH = 39 => "AUTH",
    NONCE = 40 => "Ni, Nr",
    NOTIFY = 41 => "N",
    DELETE = 42 => "D",
    VENDOR_ID = 43 => "V",
    TSI = 44 => "TSi",
    TSR = 45 => "TSr",
    SK = 46 => "SK",
    CP = 47 => "CP",
    EAP = 48 => "EAP",
    /// Generic Secure Password Methods (RFC 6467).
    GSPM = 49 => "GSPM",
    /// Group Identification (G-IKEv2).
    IDG = 50 => "IDg",
    /// Group Security Association (G-IKEv2).
    GSA = 51 => "GSA",
    /// Key Download (G-IKEv2).
    KD = 52 => "KD",
    /// Encrypted and Authenticated Fragment (RFC 7383).
    SKF = 53 => "SKF",
    /// Puzzle Solution (RFC 8019).
    PS = 54 => "PS",
}

impl PayloadType {
    /// A readable short name used in error messages ("Notify", "Nonce").
    pub const fn label(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NoNextPayload",
            33 => "SA",
            34 => "KE",
            35 => "IDi",
            36 => "IDr",
            37 => "CERT",
            38 => "CERTREQ",
            39 => "AUTH",
            40 => "Nonce",
            41 => "Notify",
            42 => "Delete",
            43 => "VendorID",
            44 => "TSi",
            45 => "TSr",
            46 => "SK",
            47 => "CP",
            48 => "EAP",
            49 => "GSPM",
            50 => "IDg",
            51 => "GSA",
            52 => "KD",
            53 => "SKF",
            54 => "PS",
            _ => return None,
        })
    }

    /// Whether this crate decodes the payload's body into a typed form
    /// (everything else becomes [`crate::payload::Payload::Other`]).
    pub const fn is_typed(self) -> bool {
        matches!(self.0, 33..=48 | 53)
    }
}

registry! {
    /// IKEv2 Security Protocol Identifiers (RFC 7296 §3.3.1, §3.10, §3.11).
    pub struct ProtocolId(u8);
    /// Used in Notify payloads that concern no SA.
    NONE = 0 => "NONE",
    IKE = 1,
    AH = 2,
    ESP = 3,
    FC_ESP_HEADER = 4,
    FC_CT_AUTHENTICATION = 5,
}

registry! {
    /// IKEv2 Identification Payload ID Types (RFC 7296 §3.5; RFC 7619).
    pub struct IdType(u8);
    ID_IPV4_ADDR = 1,
    ID_FQDN = 2,
    ID_RFC822_ADDR = 3,
    ID_IPV6_ADDR = 5,
    ID_DER_ASN1_DN = 9,
    ID_DER_ASN1_GN = 10,
    ID_KEY_ID = 11,
    ID_FC_NAME = 12,
    ID_NULL = 13,
}

registry! {
    /// IKEv2 Authentication Method (RFC 7296 §3.8; RFC 4754; RFC 6467; RFC 7619; RFC 7427).
    pub struct AuthMethod(u8);
    RSA_DIGITAL_SIGNATURE = 1 => "RSA Digital Signature",
    SHARED_KEY_MIC = 2 => "Shared Key Message Integrity Code",
    DSS_DIGITAL_SIGNATURE = 3 => "DSS Digital Signature",
    ECDSA_SHA256_P256 = 9 => "ECDSA with SHA-256 on the P-256 curve",
    ECDSA_SHA384_P384 = 10 => "ECDSA with SHA-384 on the P-384 curve",
    ECDSA_SHA512_P521 = 11 => "ECDSA with SHA-512 on the P-521 curve",
    GENERIC_SECURE_PASSWORD = 12 => "Generic Secure Password Authentication Method",
    NULL_AUTHENTICATION = 13 => "NULL Authentication",
    /// RFC 7427: AUTH data starts with an ASN.1 AlgorithmIdentifier.
    DIGITAL_SIGNATURE = 14 => "Digital Signature",
}

registry! {
    /// IKEv2 Certificate Encodings (RFC 7296 §3.6; RFC 4806; RFC 7670).
    pub struct CertEncoding(u8);
    PKCS7_WRAPPED_X509 = 1 => "PKCS #7 wrapped X.509 certificate",
    PGP_CERTIFICATE = 2 => "PGP Certificate",
    DNS_SIGNED_KEY = 3 => "DNS Signed Key",
    X509_CERTIFICATE_SIGNATURE = 4 => "X.509 Certificate - Signature",
    KERBEROS_TOKEN = 6 => "Kerberos Token",
    CRL = 7 => "Certificate Revocation List (CRL)",
    ARL = 8 => "Authority Revocation List (ARL)",
    SPKI_CERTIFICATE = 9 => "SPKI Certificate",
    X509_CERTIFICATE_ATTRIBUTE = 10 => "X.509 Certificate - Attribute",
    RAW_RSA_KEY = 11 => "Raw RSA Key",
    HASH_AND_URL_X509_CERTIFICATE = 12 => "Hash and URL of X.509 certificate",
    HASH_AND_URL_X509_BUNDLE = 13 => "Hash and URL of X.509 bundle",
    OCSP_CONTENT = 14 => "OCSP Content",
    RAW_PUBLIC_KEY = 15 => "Raw Public Key",
}

registry! {
    /// IKEv2 Traffic Selector Types (RFC 7296 §3.13.1; RFC 4595; RFC 9478).
    pub struct TsType(u8);
    TS_IPV4_ADDR_RANGE = 7,
    TS_IPV6_ADDR_RANGE = 8,
    TS_FC_ADDR_RANGE = 9,
    TS_SECLABEL = 10,
}

registry! {
    /// IKEv2 Configuration Payload CFG Types (RFC 7296 §3.15).
    pub struct CfgType(u8);
    CFG_REQUEST = 1,
    CFG_REPLY = 2,
    CFG_SET = 3,
    CFG_ACK = 4,
}

registry! {
    /// IKEv2 Configuration Payload Attribute Types (RFC 7296 §3.15.1 and
    /// extensions: RFC 5739, 5996, 6097, 7651, 8598, 9464). 15 bits on the wire.
    pub struct ConfigAttributeType(u16);
    INTERNAL_IP4_ADDRESS = 1,
    INTERNAL_IP4_NETMASK = 2,
    INTERNAL_IP4_DNS = 3,
    INTERNAL_IP4_NBNS = 4,
    INTERNAL_IP4_DHCP = 6,
    APPLICATION_VERSION = 7,
    INTERNAL_IP6_ADDRESS = 8,
    INTERNAL_IP6_DNS = 10,
    INTERNAL_IP6_DHCP = 12,
    INTERNAL_IP4_SUBNET = 13,
    SUPPORTED_ATTRIBUTES = 14,
    INTERNAL_IP6_SUBNET = 15,
    MIP6_HOME_PREFIX = 16,
    INTERNAL_IP6_LINK = 17,
    INTERNAL_IP6_PREFIX = 18,
    HOME_AGENT_ADDRESS = 19,
    P_CSCF_IP4_ADDRESS = 20,
    P_CSCF_IP6_ADDRESS = 21,
    FTT_KAT = 22,
    EXTERNAL_SOURCE_IP4_NAT_INFO = 23,
    TIMEOUT_PERIOD_FOR_LIVENESS_CHECK = 24,
    INTERNAL_DNS_DOMAIN = 25,
    INTERNAL_DNSSEC_TA = 26,
    ENCDNS_IP4 = 27,
    ENCDNS_IP6 = 28,
    ENCDNS_DIGEST_INFO = 29,
}

registry! {
    /// IKEv2 Gateway Identity Types, used by REDIRECT and REDIRECTED_FROM (RFC 5685 §10).
    pub struct GatewayIdType(u8);
    IPV4_ADDR = 1 => "IPv4 address of the new VPN gateway",
    IPV6_ADDR = 2 => "IPv6 address of the new VPN gateway",
    FQDN = 3 => "FQDN of the new VPN gateway",
}

registry! {
    /// IKEv2 Hash Algorithms, carried in SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4).
    pub struct HashAlgorithm(u16);
    SHA1 = 1,
    SHA2_256 = 2,
    SHA2_384 = 3,
    SHA2_512 = 4,
    IDENTITY = 5 => "Identity",
    STREEBOG_256 = 6,
    STREEBOG_512 = 7,
}

registry! {
    /// IKEv2 Notification IPCOMP Transform IDs (RFC 7296 §3.10.1, IPCOMP_SUPPORTED).
    pub struct IpcompId(u8);
    IPCOMP_OUI = 1,
    IPCOMP_DEFLATE = 2,
    IPCOMP_LZS = 3,
    IPCOMP_LZJH = 4,
}

registry! {
    /// EAP packet codes (RFC 3748 §4; RFC 6696 adds Initiate/Finish).
    pub struct EapCode(u8);
    REQUEST = 1 => "Request",
    RESPONSE = 2 => "Response",
    SUCCESS = 3 => "Success",
    FAILURE = 4 => "Failure",
    INITIATE = 5 => "Initiate",
    FINISH = 6 => "Finish",
}
