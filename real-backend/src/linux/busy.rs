//! Whether anything of the host is still working on its own between steps: the scan
//! of `/proc/self/task` that finds busy io-wq workers and task threads that are not
//! asleep waiting for their next job.

use super::tasks::{current_tid, Task};
use super::Host;
#[cfg(doc)]
use crate::Task0;

/// `PF_IO_WORKER` in a task's `flags` (field 9 of `/proc/<pid>/task/<tid>/stat`): the
/// thread is an io thread of the kernel (an io-wq worker or an SQPOLL thread), set
/// from its creation, before the thread first runs and names itself `iou-wrk-*`.
const PF_IO_WORKER: u64 = 0x10;

/// A thread of the process, as [`Host::busy`] classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ThreadKind {
    /// An io-wq worker, with the tid of the task it works for once it has named itself
    /// `iou-wrk-<tid>`.
    Worker(Option<libc::pid_t>),
    /// Anything else (a task thread, an SQPOLL thread, the caller's other threads).
    Other,
}

/// What `/proc/self/task/<tid>/stat` says about a thread: its `comm`, its state
/// letter and its `flags`.
struct ThreadStat<'a> {
    comm: &'a [u8],
    state: u8,
    flags: u64,
}

fn parse_thread_stat(st: &[u8]) -> Option<ThreadStat<'_>> {
    let l = st.iter().position(|&c| c == b'(')?;
    let r = st.iter().rposition(|&c| c == b')')?;
    if l >= r {
        return None;
    }
    // After ") ": state ppid pgrp session tty_nr tpgid flags ...
    let rest = std::str::from_utf8(st.get(r + 2..)?).ok()?;
    let mut f = rest.split_ascii_whitespace();
    let state = *f.next()?.as_bytes().first()?;
    let flags = f.nth(5)?.parse().ok()?;
    Some(ThreadStat {
        comm: &st[l + 1..r],
        state,
        flags,
    })
}

/// The thread is an io-wq worker that is not idle: an io thread other than an SQPOLL
/// thread (`iou-sqp-*`, which polls on its own schedule) that is running, runnable
/// (also a worker just created, not yet named) or blocked uninterruptibly (e.g. on a
/// ring's `uring_lock`). An idle worker waits interruptibly (`S`); `Z`/`X` are exiting.
fn stat_is_busy_iowq_worker(st: &[u8]) -> bool {
    parse_thread_stat(st).is_some_and(|t| {
        t.flags & PF_IO_WORKER != 0
            && !t.comm.starts_with(b"iou-sqp")
            && !matches!(t.state, b'S' | b'I' | b'Z' | b'X')
    })
}

/// An open `/proc/self/task` directory stream (null if it could not be opened).
pub(super) struct TaskDir(*mut libc::DIR);

// SAFETY: the stream is owned by one host and only used through it; moving it to
// another thread with the host is fine (no thread-local state).
unsafe impl Send for TaskDir {}

impl TaskDir {
    pub(super) fn open() -> TaskDir {
        // SAFETY: a NUL-terminated path; a null result is kept and checked for.
        TaskDir(unsafe { libc::opendir(c"/proc/self/task".as_ptr()) })
    }
}

impl Drop for TaskDir {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: opened by opendir and not closed before.
            unsafe { libc::closedir(self.0) };
        }
    }
}

impl Host {
    /// Whether an io-wq worker of this process is busy (see
    /// `stat_is_busy_iowq_worker`): running or runnable, just created and not yet
    /// named, or blocked on a lock. Between steps they should all wait idle. Reads
    /// each thread's `stat` through a `/proc/self/task` directory stream the host
    /// keeps open.
    pub fn iowq_busy(&self) -> bool {
        self.any_thread(|_, st| stat_is_busy_iowq_worker(st))
    }

    /// Whether anything of this host may still be working on its own: an io-wq
    /// worker is busy ([`Host::iowq_busy`]), or a task thread (other than the calling
    /// thread) is not asleep waiting for its next job, e.g. woken to run task_work
    /// queued with TWA_SIGNAL, or blocked in the kernel. Task_work queued with
    /// TWA_SIGNAL_NO_IPI does not wake its thread: [`Host::kick_tasks`] runs it.
    pub fn busy(&self) -> bool {
        let me = current_tid();
        let ours: Vec<libc::pid_t> = self.tasks.iter().flatten().map(Task::tid).collect();
        let kinds = &self.thread_kinds;
        self.any_thread_where(
            |tid, ino| {
                tid == me
                    || match kinds.borrow().get(&(tid, ino)) {
                        Some(ThreadKind::Other) => !ours.contains(&tid),
                        Some(ThreadKind::Worker(Some(owner))) => !ours.contains(owner),
                        _ => false,
                    }
            },
            |tid, ino, st| {
                let Some(t) = parse_thread_stat(st) else {
                    return false;
                };
                let worker = t.flags & PF_IO_WORKER != 0 && !t.comm.starts_with(b"iou-sqp");
                let kind = if worker {
                    let owner = t
                        .comm
                        .strip_prefix(b"iou-wrk-")
                        .and_then(|o| std::str::from_utf8(o).ok())
                        .and_then(|o| o.parse().ok());
                    ThreadKind::Worker(owner)
                } else {
                    ThreadKind::Other
                };
                kinds.borrow_mut().insert((tid, ino), kind);
                match kind {
                    ThreadKind::Worker(Some(owner)) if !ours.contains(&owner) => false,
                    ThreadKind::Worker(_) => stat_is_busy_iowq_worker(st),
                    ThreadKind::Other => ours.contains(&tid) && t.state != b'S',
                }
            },
        )
    }

    /// Whether the calling thread, as task 0 of a [`Task0::Caller`] host, has io-wq
    /// workers (threads named `iou-wrk-<its tid>`). The kernel creates them on the
    /// first request punted to io-wq and keeps the last one until the task exits, so
    /// from then on a punt starts at once instead of after a worker creation: the
    /// task's io-wq is warm for good. `false` for a [`Task0::Thread`] host.
    pub fn task0_iowq_started(&self) -> bool {
        let Some(Some(Task::Caller(tid))) = self.tasks.first() else {
            return false;
        };
        let want = format!("iou-wrk-{tid}");
        self.any_thread(|_, st| parse_thread_stat(st).is_some_and(|t| t.comm == want.as_bytes()))
    }

    /// Whether `pick(tid, stat)` holds for a thread of this process (`stat`: the text
    /// of its `/proc/self/task/<tid>/stat`).
    fn any_thread(&self, pick: impl Fn(libc::pid_t, &[u8]) -> bool) -> bool {
        self.any_thread_where(|_, _| false, |tid, _, st| pick(tid, st))
    }

    /// [`Host::any_thread`], not reading the threads `skip(tid, ino)` rules out (`ino`:
    /// the inode number of the thread's `/proc/self/task` entry).
    fn any_thread_where(
        &self,
        mut skip: impl FnMut(libc::pid_t, u64) -> bool,
        mut pick: impl FnMut(libc::pid_t, u64, &[u8]) -> bool,
    ) -> bool {
        let dir = self.task_dir.0;
        if dir.is_null() {
            return false;
        }
        // SAFETY: `dir` is the host's open directory stream (see `TaskDir`), used only
        // through `&self` on one thread at a time (the host is not `Sync`); the
        // dirent pointers are read before the next readdir call; `buf` and the
        // NUL-terminated path live across the calls that use them.
        unsafe {
            libc::rewinddir(dir);
            let dfd = libc::dirfd(dir);
            loop {
                let ent = libc::readdir(dir);
                if ent.is_null() {
                    return false;
                }
                let name = std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()).to_bytes();
                if name.is_empty() || name.len() > 24 || !name.iter().all(u8::is_ascii_digit) {
                    continue;
                }
                let tid = std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let ino = (*ent).d_ino;
                if skip(tid, ino) {
                    continue;
                }
                let mut path = [0u8; 48];
                path[..name.len()].copy_from_slice(name);
                path[name.len()..name.len() + 5].copy_from_slice(b"/stat");
                let fd = libc::openat(
                    dfd,
                    path.as_ptr() as *const libc::c_char,
                    libc::O_RDONLY | libc::O_CLOEXEC,
                );
                if fd < 0 {
                    continue; // the thread has exited
                }
                let mut st = [0u8; 512];
                let got = libc::read(fd, st.as_mut_ptr() as *mut libc::c_void, st.len());
                libc::close(fd);
                if got > 0 && pick(tid, ino, &st[..got as usize]) {
                    return true;
                }
            }
        }
    }
}
