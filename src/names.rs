//! One table of names per choice: [`choice!`] declares an enum whose names are written once, and
//! `name()`, `from_name()`, serde and the CLI's value parser (clap) all read them — so a link, a
//! manifest, a flag and the page cannot spell a choice differently. Older spellings stay readable
//! as aliases.

/// Declares a choice enum: each variant with its name and any aliases, e.g.
/// `Guide = "guide" | "layer-guide"`. Generates `ALL`, `NAMES`, `name()`, `aliases()`,
/// `from_name()` (name or alias), serde by name and, natively, `clap::ValueEnum`.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $name:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $ty {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            /// Every choice's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// Its name in links, manifests, flags and the page.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            /// Older names it is still read by.
            pub fn aliases(self) -> &'static [&'static str] {
                match self {
                    $($ty::$variant => &[$($alias),*]),+
                }
            }

            /// The choice of a name or an alias.
            pub fn from_name(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|c| c.name() == s || c.aliases().contains(&s))
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Self::from_name(&s).ok_or_else(|| serde::de::Error::unknown_variant(&s, Self::NAMES))
            }
        }

        #[cfg(not(target_arch = "wasm32"))]
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                Self::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.name()).aliases(self.aliases().iter().copied()))
            }
        }
    };
}

pub(crate) use choice;
