//! The `registry!` macro: one newtype per IANA registry.

/// Declares a registry newtype with named constants, `name()`, `KNOWN`,
/// `Debug`, `Display` and conversions from and to the wire integer.
///
/// An entry is `CONST = value` (name = the constant's spelling) or
/// `CONST = value => "IANA name"` when the IANA spelling is not an identifier.
macro_rules! registry {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($int:ty);
        $(
            $(#[$cmeta:meta])*
            $cname:ident = $val:literal $(=> $iana:literal)?
        ),* $(,)?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $int);

        #[allow(non_upper_case_globals)]
        impl $name {
            $(
                $(#[$cmeta])*
                pub const $cname: Self = Self($val);
            )*

            /// Every value with an IANA name, in registry order.
            pub const KNOWN: &'static [Self] = &[$(Self($val)),*];

            /// The IANA name of this value, or `None` if unassigned/unknown here.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some(registry!(@name $cname $(, $iana)?)), )*
                    _ => None,
                }
            }

            /// The wire integer.
            pub const fn get(self) -> $int {
                self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $int {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
    (@name $cname:ident) => { stringify!($cname) };
    (@name $cname:ident, $iana:literal) => { $iana };
}
