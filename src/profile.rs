//! Kernel version profiles: which kernel line the model behaves as.

use std::fmt;
use std::str::FromStr;

/// A kernel line. Rules that changed between releases consult the profile.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Profile {
    /// Linux 6.18 (checked against a real 6.18.44 kernel).
    #[default]
    V6_18,
}

impl Profile {
    /// Every profile, oldest first.
    pub const ALL: &'static [Profile] = &[Profile::V6_18];

    /// `IORING_OP_LAST` of this kernel line: opcodes at or above it are -EINVAL.
    pub fn op_last(self) -> u8 {
        match self {
            Profile::V6_18 => crate::uapi::op::LAST_6_18,
        }
    }

    /// The profile for a running kernel's `major.minor`, if the model has one.
    pub fn for_kernel(major: u32, minor: u32) -> Option<Profile> {
        match (major, minor) {
            (6, 18..) | (7.., _) => Some(Profile::V6_18),
            _ => None,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::V6_18 => "6.18",
        })
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        Profile::ALL
            .iter()
            .copied()
            .find(|p| p.to_string() == s)
            .ok_or_else(|| {
                let known: Vec<String> = Profile::ALL.iter().map(|p| p.to_string()).collect();
                format!("unknown kernel profile `{s}` (known: {})", known.join(", "))
            })
    }
}
