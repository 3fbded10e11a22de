//! Parser for `/proc/<pid>/fdinfo/<io_uring fd>`: the fixed-file table and the CQ
//! overflow list. One parser for every kernel the project runs on (6.1 to 7.3 under
//! real-backend/qemu/golden.sh, and the host).
//!
//! The `UserFiles:` table comes in two formats:
//!
//! * **Dentry names** (6.1 up to at least 6.12): `UserFiles:\t<n>`, then one line per
//!   slot, `"%5u: %s"` with the dentry's inline name (`d_iname`), or `<none>` for an
//!   empty slot. The names are short: `memfd:NAME` for a memfd, `[eventfd]` for an
//!   eventfd, an empty string for a pipe end. When fdinfo cannot take the ring's
//!   `uring_lock` (it only trylocks) the header is printed without any slot line.
//! * **Paths** (6.18): `UserFiles:\t<n>`, then one line per *occupied* slot with
//!   the file's path as `seq_file_path` prints it (`/memfd:NAME (deleted)`,
//!   `pipe:[INO]`, `anon_inode:[eventfd]`; space, tab, newline and `\` escaped as
//!   `\ooo`). Without the lock the whole section is left out.
//!
//! [`Host`]: crate::Host

/// How a slot line names its file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SlotName {
    /// 6.18 format: the path (`\ooo` escapes undone).
    Path(String),
    /// 6.1/6.12 format: the dentry's inline name.
    Dentry(String),
}

impl SlotName {
    /// Classifies the text after `"%5u: "`. A `seq_file_path` path either starts with
    /// `/` or is a pseudo file's `<fs>:[<name>]` (`pipe:[12]`, `anon_inode:[eventfd]`);
    /// a dentry name is neither (`memfd:NAME`, `[eventfd]`, the empty name of a pipe).
    fn classify(text: &str) -> SlotName {
        let pseudo = text
            .split_once(":[")
            .is_some_and(|(fs, _)| !fs.is_empty() && !fs.contains('/'))
            && text.ends_with(']');
        if text.starts_with('/') || pseudo {
            SlotName::Path(unescape_octal(text))
        } else {
            SlotName::Dentry(text.to_string())
        }
    }
}

/// The `UserFiles:` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileTable {
    /// Number of slots (the header's count).
    pub len: u32,
    /// Occupied slots in the order printed, with their file's name.
    pub occupied: Vec<(u32, SlotName)>,
    /// Slots printed as `<none>` (only the dentry-name format prints empty slots).
    pub none: u32,
}

impl FileTable {
    /// Slot lines printed (occupied and `<none>`).
    pub fn lines(&self) -> u32 {
        self.occupied.len() as u32 + self.none
    }

    /// Whether the text shows the dentry-name format (6.1/6.12): an empty slot printed
    /// as `<none>` or a dentry name. `None` when no slot line tells (no line at all).
    pub fn dentry_format(&self) -> Option<bool> {
        if self.none > 0 {
            return Some(true);
        }
        self.occupied
            .first()
            .map(|(_, n)| matches!(n, SlotName::Dentry(_)))
    }

    /// Whether the table was printed completely. A dentry-format table prints every
    /// slot, so fewer lines than slots means fdinfo did not get the ring's lock.
    /// When no line says which format this is, `prints_every_slot` (what the running
    /// kernel does) decides whether an all-empty table or a missed lock is meant.
    pub fn complete(&self, prints_every_slot: bool) -> bool {
        match self.dentry_format() {
            Some(true) => self.lines() >= self.len,
            Some(false) => true,
            None => self.len == 0 || !prints_every_slot,
        }
    }
}

/// Parsed fdinfo text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FdInfo {
    /// The `UserFiles:` section, if printed.
    pub files: Option<FileTable>,
    /// `CqOverflowList:` as `(user_data, res, flags)` in FIFO order, if printed.
    pub overflow: Option<Vec<(u64, i32, u32)>>,
}

/// Parses fdinfo text of an io_uring fd (either format, see the module docs).
pub fn parse(text: &str) -> FdInfo {
    let mut files: Option<FileTable> = None;
    let mut overflow: Option<Vec<(u64, i32, u32)>> = None;
    let mut section = "";
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("UserFiles:") {
            section = "files";
            files = Some(FileTable {
                len: rest.trim().parse().unwrap_or(0),
                ..FileTable::default()
            });
            continue;
        }
        if line.starts_with("CqOverflowList:") {
            section = "overflow";
            overflow = Some(Vec::new());
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if !indented {
            section = "";
            continue;
        }
        match (section, files.as_mut(), overflow.as_mut()) {
            ("files", Some(table), _) => {
                // "%5u: %s": the name may be empty (a pipe's dentry), and a tool
                // may have stripped the trailing space.
                let Some((idx, rest)) = line.trim_start().split_once(':') else {
                    continue;
                };
                let Ok(i) = idx.trim().parse::<u32>() else {
                    continue;
                };
                let text = rest.strip_prefix(' ').unwrap_or(rest);
                if text == "<none>" {
                    table.none += 1;
                } else {
                    table.occupied.push((i, SlotName::classify(text)));
                }
            }
            ("overflow", _, Some(list)) => {
                // "  user_data=%llu, res=%d, flags=%x" (maybe followed by more fields)
                let (mut ud, mut res, mut fl) = (None, None, None);
                for part in line.trim().split(',') {
                    let part = part.trim();
                    if let Some(v) = part.strip_prefix("user_data=") {
                        ud = v.parse::<u64>().ok();
                    } else if let Some(v) = part.strip_prefix("res=") {
                        res = v.parse::<i32>().ok();
                    } else if let Some(v) = part.strip_prefix("flags=") {
                        fl = u32::from_str_radix(v.trim_start_matches("0x"), 16).ok();
                    }
                }
                if let (Some(u), Some(r), Some(f)) = (ud, res, fl) {
                    list.push((u, r, f));
                }
            }
            _ => {}
        }
    }
    FdInfo { files, overflow }
}

/// The dentry name (6.1/6.12 format) of a file whose `/proc/self/fd` link reads
/// `link`: `/memfd:NAME (deleted)` -> `memfd:NAME`, `anon_inode:[eventfd]` ->
/// `[eventfd]`, `pipe:[INO]` -> the empty name. `None` for anything else.
pub fn dentry_name_of_link(link: &str) -> Option<String> {
    if let Some(m) = link.strip_prefix("/memfd:") {
        return Some(format!(
            "memfd:{}",
            m.strip_suffix(" (deleted)").unwrap_or(m)
        ));
    }
    if let Some(a) = link.strip_prefix("anon_inode:") {
        return Some(a.to_string());
    }
    if link.starts_with("pipe:[") {
        return Some(String::new());
    }
    None
}

/// Undo `seq_file_path`'s `\ooo` escapes (it escapes space, tab, newline, `\`).
pub fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use SlotName::{Dentry, Path};

    /// 6.18.44 (host), verbatim from the `fdinfo_dump` example: table [memfd, -,
    /// pipe r, pipe w, eventfd], two CQEs in the CQ and two on the overflow list.
    const FDINFO_6_18: &str = "pos:\t0
flags:\t02000002
mnt_id:\t17
ino:\t1416410
SqMask:\t0x0
SqHead:\t0
SqTail:\t0
CachedSqHead:\t0
CqMask:\t0x1
CqHead:\t0
CqTail:\t2
CachedCqTail:\t2
SQEs:\t0
CQEs:\t2
    0: user_data:100, res:0, flag:0
    1: user_data:101, res:1, flag:0
SqThread:\t-1
SqThreadCpu:\t-1
SqTotalTime:\t0
SqWorkTime:\t0
UserFiles:\t5
    0: /memfd:msgring-504-0\\040(deleted)
    2: pipe:[1416411]
    3: pipe:[1416411]
    4: anon_inode:[eventfd]
UserBufs:\t0
PollList:
CqOverflowList:
  user_data=102, res=2, flags=0
  user_data=103, res=3, flags=0
NAPI:\tdisabled

";

    /// 6.1.192 / 6.12.117 (Debian, QEMU), the same ring. The `UserFiles` block is
    /// what both kernels printed (docs/kernels.md, G1): every slot, the dentry's
    /// inline name, `<none>` for the empty slot, an empty name for the pipe ends.
    /// The lines around it follow `__io_uring_show_fdinfo` of 6.1.
    const FDINFO_6_1: &str = "pos:\t0
flags:\t02000002
mnt_id:\t15
ino:\t1057
SqMask:\t0x0
SqHead:\t0
SqTail:\t0
CachedSqHead:\t0
CqMask:\t0x1
CqHead:\t0
CqTail:\t2
CachedCqTail:\t2
SQEs:\t0
CQEs:\t2
    0: user_data:100, res:0, flag:0
    1: user_data:101, res:1, flag:0
SqThread:\t-1
SqThreadCpu:\t-1
UserFiles:\t5
    0: memfd:msgring-85-0
    1: <none>
    2:\x20
    3:\x20
    4: [eventfd]
UserBufs:\t0
PollList:
CqOverflowList:
  user_data=102, res=2, flags=0
  user_data=103, res=3, flags=0
";

    #[test]
    fn parses_6_18_paths() {
        let i = parse(FDINFO_6_18);
        let t = i.files.unwrap();
        assert_eq!(t.len, 5);
        assert_eq!(
            t.occupied,
            vec![
                (0, Path("/memfd:msgring-504-0 (deleted)".into())),
                (2, Path("pipe:[1416411]".into())),
                (3, Path("pipe:[1416411]".into())),
                (4, Path("anon_inode:[eventfd]".into())),
            ]
        );
        assert_eq!(t.dentry_format(), Some(false));
        assert!(t.complete(false) && t.complete(true));
        assert_eq!(i.overflow.unwrap(), vec![(102, 2, 0), (103, 3, 0)]);
    }

    #[test]
    fn parses_6_1_and_6_12_dentry_names() {
        let i = parse(FDINFO_6_1);
        let t = i.files.unwrap();
        assert_eq!(t.len, 5);
        assert_eq!(t.none, 1);
        assert_eq!(
            t.occupied,
            vec![
                (0, Dentry("memfd:msgring-85-0".into())),
                (2, Dentry(String::new())),
                (3, Dentry(String::new())),
                (4, Dentry("[eventfd]".into())),
            ]
        );
        assert_eq!(t.dentry_format(), Some(true));
        assert!(t.complete(true));
        assert_eq!(i.overflow.unwrap(), vec![(102, 2, 0), (103, 3, 0)]);
        // Trailing spaces stripped by a tool: the pipe slots still parse.
        let stripped = FDINFO_6_1.replace(": \n", ":\n");
        assert_ne!(stripped, FDINFO_6_1);
        let t = parse(&stripped).files.unwrap();
        assert_eq!(t.occupied[1], (2, Dentry(String::new())));
    }

    #[test]
    fn lock_miss_and_empty_tables() {
        // 6.1/6.12 without the lock: header only. 6.18 without the lock: no section.
        let miss = parse("UserFiles:\t4\nUserBufs:\t0\n").files.unwrap();
        assert!(
            !miss.complete(true),
            "a dentry-format kernel prints every slot"
        );
        assert!(
            miss.complete(false),
            "a path-format kernel: all four slots empty"
        );
        assert!(parse("SqMask:\t0x3\nUserBufs:\t0\n").files.is_none());
        // Part of a dentry-format table (cannot happen in one read, but is incomplete).
        let part = parse("UserFiles:\t3\n    0: <none>\n").files.unwrap();
        assert!(!part.complete(true) && !part.complete(false));
        // An all-empty dentry-format table is complete.
        let t = parse("UserFiles:\t2\n    0: <none>\n    1: <none>\n")
            .files
            .unwrap();
        assert!(t.complete(false) && t.occupied.is_empty());
        let t = parse("UserFiles:\t0\nUserBufs:\t0\n").files.unwrap();
        assert!(t.complete(true));
    }

    #[test]
    fn dentry_names_of_links() {
        assert_eq!(
            dentry_name_of_link("/memfd:msgring-85-0 (deleted)").as_deref(),
            Some("memfd:msgring-85-0")
        );
        assert_eq!(
            dentry_name_of_link("anon_inode:[eventfd]").as_deref(),
            Some("[eventfd]")
        );
        assert_eq!(dentry_name_of_link("pipe:[43781]").as_deref(), Some(""));
        assert_eq!(dentry_name_of_link("/tmp/x"), None);
    }

    #[test]
    fn unescapes() {
        assert_eq!(
            unescape_octal("/memfd:x\\040(deleted)"),
            "/memfd:x (deleted)"
        );
        assert_eq!(unescape_octal("a\\04"), "a\\04");
    }
}
