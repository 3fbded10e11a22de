//! Observation without side effects: a ring's fixed-file table and CQ overflow list
//! read from `/proc/thread-self/fdinfo`, and the identities of the files they name.

use super::fds::fstat_id;
use super::sys::{close_fd, sys_register, sys_setup, Params, REG_FILES};
use super::Host;
use crate::fdinfo::{FdInfo, FileTable, SlotName};
use crate::{FileId, Vfd};
use std::time::Duration;

/// Whether the running kernel's fdinfo prints every fixed-file slot (6.1/6.12:
/// dentry names, `<none>` for an empty slot) rather than only the occupied ones
/// (6.18: paths). Found out once per process on a scratch ring with one empty slot;
/// it decides whether a table header without slot lines is an all-empty table or
/// a read that missed the ring's lock (see [`crate::fdinfo::FileTable::complete`]).
fn fdinfo_prints_every_slot() -> bool {
    static EVERY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *EVERY.get_or_init(|| {
        let mut p = Params::default();
        let fd = sys_setup(1, &mut p);
        if fd < 0 {
            return false;
        }
        let slot = [-1i32];
        let every = sys_register(fd, REG_FILES, slot.as_ptr() as *const libc::c_void, 1) == 0
            && std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{fd}"))
                .ok()
                .and_then(|t| crate::fdinfo::parse(&t).files)
                .is_some_and(|t| t.lines() > 0);
        close_fd(fd);
        every
    })
}

impl Host {
    // ---- observation without side effects -------------------------------

    fn fdinfo(&self, ring: Vfd) -> Option<FdInfo> {
        let r = self.ring(ring)?;
        // fdinfo only trylocks the ring's uring_lock; with SQPOLL the SQ thread
        // may hold it, so retry a few times. Without the lock 6.18 leaves the
        // table out, 6.1/6.12 print its header without slot lines.
        for i in 0..50 {
            if let Ok(text) = std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{}", r.fd))
            {
                let info = crate::fdinfo::parse(&text);
                if info
                    .files
                    .as_ref()
                    .is_some_and(|t| t.complete(fdinfo_prints_every_slot()))
                {
                    return Some(info);
                }
            }
            std::thread::sleep(Duration::from_micros(100 * (i + 1)));
        }
        None
    }

    /// The identity of the file a slot line names. A dentry name that several
    /// created files share with different identities (two pipes) cannot be told
    /// apart: `None`.
    fn slot_id(&self, name: &SlotName) -> Option<FileId> {
        match name {
            SlotName::Path(p) => self.paths.get(p).copied(),
            SlotName::Dentry(d) => match self.dnames.get(d).map(Vec::as_slice) {
                Some([id]) => Some(*id),
                _ => None,
            },
        }
    }

    /// One entry per slot from a parsed table; a file the host cannot name shows as
    /// [`FileId::UNNAMED`].
    fn slots_of(&self, t: &FileTable) -> Vec<Option<FileId>> {
        let mut out = vec![None; t.len.min(1 << 20) as usize];
        for (i, name) in &t.occupied {
            if let Some(slot) = out.get_mut(*i as usize) {
                *slot = Some(self.slot_id(name).unwrap_or(FileId::UNNAMED));
            }
        }
        out
    }

    /// The registered file table of `ring` as seen by `/proc/self/fdinfo`:
    /// `None` if the ring is unknown or fdinfo could not be read (lock busy);
    /// otherwise one entry per slot (an empty `Vec` when no table is registered),
    /// `None` for an empty slot. A file the host cannot name (a dentry name several of
    /// its files share, 6.1/6.12) shows as [`FileId::UNNAMED`].
    pub fn file_table(&self, ring: Vfd) -> Option<Vec<Option<FileId>>> {
        let info = self.fdinfo(ring)?;
        Some(self.slots_of(info.files.as_ref()?))
    }

    /// What file fixed slot `slot` of `ring` holds (no side effects on the
    /// ring). `None`: empty slot, out of range, no table, or fdinfo unreadable.
    pub fn slot_identity(&self, ring: Vfd, slot: u32) -> Option<FileId> {
        self.file_table(ring)?.get(slot as usize).copied().flatten()
    }

    /// `(st_dev, st_ino)` of a live vfd (rings included).
    pub fn file_identity(&self, v: Vfd) -> Option<FileId> {
        match self.vfds.get(v.0 as usize) {
            Some(Some(r)) => fstat_id(r.fd()),
            _ => None,
        }
    }

    /// The kernel's CQ overflow list of `ring`, FIFO order, as
    /// `(user_data, res, flags)`, read from fdinfo without side effects.
    pub fn overflow_list(&self, ring: Vfd) -> Option<Vec<(u64, i32, u32)>> {
        self.fdinfo(ring)?.overflow
    }

    /// The file table and the overflow list of `ring` from a single fdinfo read
    /// (see [`Host::file_table`] and [`Host::overflow_list`]). `None` if the ring
    /// is unknown or fdinfo could not be read.
    pub fn table_and_overflow(&self, ring: Vfd) -> Option<crate::TableAndOverflow> {
        let info = self.fdinfo(ring)?;
        let table = self.slots_of(info.files.as_ref()?);
        Some((table, info.overflow.unwrap_or_default()))
    }

    /// Raw fdinfo text of a ring (for debugging / experiments).
    pub fn fdinfo_text(&self, ring: Vfd) -> Option<String> {
        let r = self.ring(ring)?;
        std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{}", r.fd)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots in the 6.1/6.12 format (dentry names) resolve to the files the host
    /// created; the empty name of a pipe only while the host has one pipe.
    #[test]
    fn resolves_dentry_format_slots() {
        let Ok(mut h) = Host::new() else {
            eprintln!("io_uring unavailable: skipped");
            return;
        };
        let m = h.create_regular_file().unwrap();
        let (pr, _pw) = h.create_pipe().unwrap();
        let ev = h.create_eventfd().unwrap();
        let link = std::fs::read_link(format!("/proc/thread-self/fd/{}", h.real_fd(m))).unwrap();
        let mname = crate::fdinfo::dentry_name_of_link(&link.to_string_lossy()).unwrap();
        assert!(mname.starts_with("memfd:msgring-"), "{mname}");
        let text = format!(
            "UserFiles:\t6\n    0: {mname}\n    1: <none>\n    2: \n    3: \n    4: [eventfd]\n    5: x\n"
        );
        let t = crate::fdinfo::parse(&text).files.unwrap();
        let id = |v| h.file_identity(v);
        let unknown = Some(FileId::UNNAMED);
        assert_eq!(
            h.slots_of(&t),
            vec![id(m), None, id(pr), id(pr), id(ev), unknown]
        );
        h.create_pipe().unwrap();
        assert_eq!(h.slots_of(&t)[2], unknown, "two pipes: ambiguous");
    }
}
