//! Kernel error numbers as the model reports them.
//!
//! The kernel returns `-errno` in a CQE's `res` and from system calls. The model keeps
//! the positive number in [`Errno`] and prints the symbolic name (`EBADFD`), so traces,
//! logs and test failures read like kernel documentation.

use std::fmt;

/// A Linux errno value (positive), e.g. [`Errno::EBADFD`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $val:expr),* $(,)?) => {
        impl Errno {
            $(#[doc = concat!("`", stringify!($name), "` (", stringify!($val), ")")]
              pub const $name: Errno = Errno($val);)*
            /// Every errno the model knows by name.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The symbolic name, e.g. `"EBADFD"`, if the model knows this number.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// Parses a symbolic name such as `"EOWNERDEAD"`.
            pub fn from_name(name: &str) -> Option<Errno> {
                match name {
                    $(stringify!($name) => Some(Errno::$name),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1,
    ENOENT = 2,
    EINTR = 4,
    ENXIO = 6,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOSYS = 38,
    EBADR = 53,
    ETIME = 62,
    EOVERFLOW = 75,
    EBADFD = 77,
    EOPNOTSUPP = 95,
    EALREADY = 114,
    ECANCELED = 125,
    EOWNERDEAD = 130,
}

impl Errno {
    /// The value the kernel puts in a CQE or returns from a system call: `-errno`.
    pub const fn neg(self) -> i32 {
        -self.0
    }

    /// Interprets a kernel result: `Some(errno)` if `res` is negative.
    pub fn from_res(res: i32) -> Option<Errno> {
        (res < 0).then(|| Errno(res.wrapping_neg()))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "errno {}", self.0),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Formats a kernel result: `7`, or `-EBADFD` for a known negative errno.
pub fn fmt_res(res: i32) -> String {
    match Errno::from_res(res).and_then(Errno::name) {
        Some(n) => format!("-{n}"),
        None => res.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in Errno::ALL {
            assert_eq!(Errno::from_name(e.name().unwrap()), Some(*e));
        }
        assert_eq!(Errno::EBADFD.to_string(), "EBADFD");
        assert_eq!(Errno(4242).to_string(), "errno 4242");
        assert_eq!(fmt_res(-77), "-EBADFD");
        assert_eq!(fmt_res(3), "3");
        assert_eq!(Errno::from_res(-130), Some(Errno::EOWNERDEAD));
    }
}
