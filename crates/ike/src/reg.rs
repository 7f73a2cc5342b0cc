//! The few IANA registry numbers the core decides on (RFC 7296 §3, IANA
//! "IKEv2 Parameters"), spelled as IANA does so a grep for RFC text finds
//! the code. The numbers themselves live once, in the wire crate's
//! registries; these are plain integers taken from there so they can be
//! used as `match` patterns on the raw header fields.

/// Declares `pub const NAME: $int = $registry::NAME.0;` for each name.
macro_rules! from_registry {
    ($registry:path, $int:ty: $($name:ident),* $(,)?) => {
        use $registry as R;
        $( pub const $name: $int = R::$name.0; )*
    };
}

/// Exchange types (§3.1).
pub mod exchange {
    from_registry!(yadokari_wire::registry::ExchangeType, u8:
        IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL, IKE_INTERMEDIATE);
}

/// Notify message types (§3.10.1).
pub mod notify {
    from_registry!(yadokari_wire::registry::NotifyType, u16:
        UNSUPPORTED_CRITICAL_PAYLOAD, INVALID_IKE_SPI, INVALID_MAJOR_VERSION,
        INVALID_SYNTAX, INVALID_MESSAGE_ID, INVALID_SPI, NO_PROPOSAL_CHOSEN,
        INVALID_KE_PAYLOAD, AUTHENTICATION_FAILED, SINGLE_PAIR_REQUIRED,
        NO_ADDITIONAL_SAS, INTERNAL_ADDRESS_FAILURE, FAILED_CP_REQUIRED,
        TS_UNACCEPTABLE, INVALID_SELECTORS, TEMPORARY_FAILURE, CHILD_SA_NOT_FOUND,
        INITIAL_CONTACT, SET_WINDOW_SIZE, ADDITIONAL_TS_POSSIBLE, IPCOMP_SUPPORTED,
        NAT_DETECTION_SOURCE_IP, NAT_DETECTION_DESTINATION_IP, COOKIE,
        USE_TRANSPORT_MODE, HTTP_CERT_LOOKUP_SUPPORTED, REKEY_SA,
        ESP_TFC_PADDING_NOT_SUPPORTED, NON_FIRST_FRAGMENTS_ALSO,
        INTERMEDIATE_EXCHANGE_SUPPORTED, IKEV2_FRAGMENTATION_SUPPORTED,
        SIGNATURE_HASH_ALGORITHMS, USE_PPK, PPK_IDENTITY, NO_PPK_AUTH,
        CHILDLESS_IKEV2_SUPPORTED);

    /// Largest error type; 0..16383 are errors (§3.10.1).
    pub const LAST_ERROR: u16 = INITIAL_CONTACT - 1;

    pub fn is_error(t: u16) -> bool {
        t <= LAST_ERROR
    }
}

/// Protocol IDs (§3.3.1).
pub mod protocol {
    from_registry!(yadokari_wire::registry::ProtocolId, u8: IKE, AH, ESP);
}

/// Authentication methods (§3.8).
pub mod auth_method {
    from_registry!(yadokari_wire::registry::AuthMethod, u8:
        SHARED_KEY_MIC, RSA_DIGITAL_SIGNATURE, ECDSA_SHA256_P256, ECDSA_SHA384_P384,
        ECDSA_SHA512_P521, DIGITAL_SIGNATURE);
    /// The name RFC 7296 §3.8 uses.
    pub const SHARED_KEY_MESSAGE_INTEGRITY_CODE: u8 = SHARED_KEY_MIC;
}

/// Certificate encodings (§3.6).
pub mod cert_encoding {
    from_registry!(yadokari_wire::registry::CertEncoding, u8: X509_CERTIFICATE_SIGNATURE);
}

/// Transform types (§3.3.2).
pub mod transform_type {
    from_registry!(yadokari_wire::registry::TransformType, u8: ENCR, PRF, INTEG, KE, ESN);
}
