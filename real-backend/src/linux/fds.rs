//! Files and fds: the vfd table (what each vfd stands for, its host fd), pipes,
//! eventfds and memfds, the fd floor (a number the host closed is never handed out
//! again in a run), the identities of the files the host created, and
//! `isolate_fd_table`.

use super::ring::Ring;
use super::sys::{close_fd, errno};
use super::{Host, Kind, Res};
use crate::limits::*;
use crate::{FileId, Vfd, HOST_REFUSED};
use std::sync::atomic::{AtomicU64, Ordering};

/// See [`crate::isolate_fd_table`].
pub fn isolate_fd_table() -> Result<(), i32> {
    const CLOSE_RANGE_UNSHARE: libc::c_uint = 1 << 1;
    // SAFETY: close_range with UNSHARE first gives this thread a private copy of the
    // table and then closes fds >= 3 in that copy only; no pointers are passed.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_UNSHARE) };
    if r < 0 {
        Err(-errno())
    } else {
        Ok(())
    }
}

static MEMFD_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(super) fn fstat_id(fd: i32) -> Option<FileId> {
    // SAFETY: `st` is a plain C struct that fstat fully initializes on success.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is an fd the host owns and `st` is a valid out-pointer.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return None;
    }
    Some(FileId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

impl Host {
    // ---- resources ------------------------------------------------------

    pub(super) fn live_rings(&self) -> usize {
        self.vfds
            .iter()
            .flatten()
            .filter(|r| matches!(r, Res::Ring(_)))
            .count()
    }

    fn live_files(&self) -> usize {
        self.vfds
            .iter()
            .flatten()
            .filter(|r| matches!(r, Res::File { .. }))
            .count()
    }

    pub(super) fn add(&mut self, r: Res) -> Vfd {
        self.vfds.push(Some(r));
        Vfd((self.vfds.len() - 1) as u32)
    }

    pub(super) fn ring(&self, v: Vfd) -> Option<&Ring> {
        match self.vfds.get(v.0 as usize) {
            Some(Some(Res::Ring(r))) => Some(r),
            _ => None,
        }
    }

    pub(super) fn ring_mut(&mut self, v: Vfd) -> Option<&mut Ring> {
        match self.vfds.get_mut(v.0 as usize) {
            Some(Some(Res::Ring(r))) => Some(r),
            _ => None,
        }
    }

    /// The process fd behind `v`, if it is open (for tests and experiments; steps
    /// name files by vfd).
    pub fn host_fd(&self, v: Vfd) -> Option<i32> {
        Some(self.real_fd(v)).filter(|&fd| fd >= 0)
    }

    /// Host fd behind `v`, or -1 for an unknown/closed vfd.
    pub(super) fn real_fd(&self, v: Vfd) -> i32 {
        match self.vfds.get(v.0 as usize) {
            Some(Some(r)) => r.fd(),
            _ => -1,
        }
    }

    pub(super) fn translate_i32(&self, raw: i32) -> i32 {
        if raw < 0 {
            -1
        } else {
            self.real_fd(Vfd(raw as u32))
        }
    }

    pub(super) fn vfd_room(&self, n: usize) -> bool {
        self.vfds.len() + n <= MAX_VFDS as usize
    }

    /// `fd` (just created by this host) moved above every fd this host handed out in
    /// this run (see `fd_floor`); the new number, or `-errno` (then `fd` is closed).
    pub(super) fn fresh_fd(&mut self, fd: i32) -> Result<i32, i32> {
        let fd = if fd < self.fd_floor {
            // SAFETY: `fd` is an fd this host just created and owns; F_DUPFD_CLOEXEC
            // makes a new fd for the same file at or above the floor.
            let moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, self.fd_floor) };
            let e = -errno();
            close_fd(fd);
            if moved < 0 {
                return Err(e);
            }
            moved
        } else {
            fd
        };
        self.fd_floor = fd + 1;
        Ok(fd)
    }

    fn record_file(&mut self, fd: i32, kind: Kind) -> Vfd {
        if let (Ok(link), Some(id)) = (
            std::fs::read_link(format!("/proc/thread-self/fd/{fd}")),
            fstat_id(fd),
        ) {
            let link = link.to_string_lossy().into_owned();
            if let Some(d) = crate::fdinfo::dentry_name_of_link(&link) {
                let ids = self.dnames.entry(d).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            self.paths.insert(link, id);
        }
        self.add(Res::File { fd, _kind: kind })
    }

    /// A pipe: `(read end, write end)`.
    pub fn create_pipe(&mut self) -> Result<(Vfd, Vfd), i32> {
        if self.live_files() + 2 > MAX_FILES || !self.vfd_room(2) {
            return Err(HOST_REFUSED);
        }
        use std::os::fd::IntoRawFd;
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| -e.raw_os_error())?;
        let rfd = self.fresh_fd(r.into_raw_fd());
        let wfd = self.fresh_fd(w.into_raw_fd());
        let (rfd, wfd) = match (rfd, wfd) {
            (Ok(r), Ok(w)) => (r, w),
            (Ok(x), Err(e)) | (Err(e), Ok(x)) => {
                close_fd(x);
                return Err(e);
            }
            (Err(e), Err(_)) => return Err(e),
        };
        let r = self.record_file(rfd, Kind::PipeRead);
        let w = self.record_file(wfd, Kind::PipeWrite);
        Ok((r, w))
    }

    /// An eventfd (counter 0).
    pub fn create_eventfd(&mut self) -> Result<Vfd, i32> {
        if self.live_files() >= MAX_FILES || !self.vfd_room(1) {
            return Err(HOST_REFUSED);
        }
        use std::os::fd::IntoRawFd;
        let fd = rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC)
            .map_err(|e| -e.raw_os_error())?;
        let fd = self.fresh_fd(fd.into_raw_fd())?;
        Ok(self.record_file(fd, Kind::Eventfd))
    }

    /// A regular file: a memfd with a process-unique name.
    pub fn create_regular_file(&mut self) -> Result<Vfd, i32> {
        if self.live_files() >= MAX_FILES || !self.vfd_room(1) {
            return Err(HOST_REFUSED);
        }
        use std::os::fd::IntoRawFd;
        let n = MEMFD_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("msgring-{}-{}", std::process::id(), n);
        let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)
            .map_err(|e| -e.raw_os_error())?;
        let fd = self.fresh_fd(fd.into_raw_fd())?;
        Ok(self.record_file(fd, Kind::Memfd))
    }

    /// Close a vfd (ring: unmap and close). 0, or `-EBADF` if not open.
    pub fn close(&mut self, v: Vfd) -> i32 {
        match self.vfds.get_mut(v.0 as usize).and_then(Option::take) {
            Some(r) => {
                drop(r);
                0
            }
            None => -libc::EBADF,
        }
    }
}
