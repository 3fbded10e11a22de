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
    /// Reads only each thread's `stat`: quick enough to poll.
    pub fn busy(&self) -> bool {
        self.scan_busy(false)
    }

    /// [`Host::busy`], and also an io-wq worker whose state reads `S` but that
    /// is not asleep off the run queue (`/proc/<tid>/wchan` is `0`): it has set
    /// TASK_INTERRUPTIBLE and is about to look for work or to sleep, or was preempted
    /// or descheduled in between. An io-wq worker woken for new work passes through
    /// that state before it takes the work (`io_wq_worker`, then
    /// `io_worker_handle_work`), so a single `S` is no proof that it is idle. Reads
    /// `wchan` only for threads in `S`; falls back to [`Host::busy`] on a kernel
    /// whose `wchan` does not name sleeping functions ([`wchan_names_sleepers`]).
    pub fn busy_strict(&self) -> bool {
        self.scan_busy(wchan_names_sleepers())
    }

    fn scan_busy(&self, strict: bool) -> bool {
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
            |tid, ino, st, entry| {
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
                let busy = match kind {
                    ThreadKind::Worker(Some(owner)) if !ours.contains(&owner) => return false,
                    ThreadKind::Worker(_) => stat_is_busy_iowq_worker(st),
                    ThreadKind::Other if !ours.contains(&tid) => return false,
                    ThreadKind::Other => t.state != b'S',
                };
                // Only a worker sets TASK_INTERRUPTIBLE with work waiting for it; a
                // task thread reads `S` only on its way to sleep in its job queue's
                // futex, and task_work queued then wakes it (sets it running).
                busy || (strict && worker && t.state == b'S' && entry.sleeps() == Some(false))
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
        self.any_thread_where(|_, _| false, |tid, _, st, _| pick(tid, st))
    }

    /// [`Host::any_thread`], not reading the threads `skip(tid, ino)` rules out (`ino`:
    /// the inode number of the thread's `/proc/self/task` entry); `pick` also gets the
    /// thread's [`Entry`], to read more of its files.
    fn any_thread_where(
        &self,
        mut skip: impl FnMut(libc::pid_t, u64) -> bool,
        mut pick: impl FnMut(libc::pid_t, u64, &[u8], &Entry<'_>) -> bool,
    ) -> bool {
        let dir = self.task_dir.0;
        if dir.is_null() {
            return false;
        }
        // SAFETY: `dir` is the host's open directory stream (see `TaskDir`), used only
        // through `&self` on one thread at a time (the host is not `Sync`); the
        // dirent pointers are read before the next readdir call.
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
                let entry = Entry { dfd, name };
                let mut st = [0u8; 512];
                let Some(got) = entry.read(b"stat", &mut st) else {
                    continue; // the thread has exited
                };
                if got > 0 && pick(tid, ino, &st[..got], &entry) {
                    return true;
                }
            }
        }
    }
}

/// A thread's directory in the host's open `/proc/self/task` stream.
struct Entry<'a> {
    dfd: libc::c_int,
    /// The thread id as the directory's name (at most 24 digits).
    name: &'a [u8],
}

impl Entry<'_> {
    /// Reads the thread's `file` into `buf`: the length read, `None` if it could not
    /// be opened (the thread has exited) or read.
    fn read(&self, file: &[u8], buf: &mut [u8]) -> Option<usize> {
        let mut path = [0u8; 48];
        let n = self.name.len();
        if n + 1 + file.len() >= path.len() {
            return None;
        }
        path[..n].copy_from_slice(self.name);
        path[n] = b'/';
        path[n + 1..n + 1 + file.len()].copy_from_slice(file);
        // SAFETY: `path` is NUL-terminated (zeroed past the copied bytes, checked to
        // fit); `dfd` is the open directory stream's fd; `buf` is valid for its
        // length; the fd opened here is closed before returning.
        unsafe {
            let fd = libc::openat(
                self.dfd,
                path.as_ptr() as *const libc::c_char,
                libc::O_RDONLY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return None;
            }
            let got = libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
            libc::close(fd);
            usize::try_from(got).ok()
        }
    }

    /// Whether the thread is asleep off the run queue: its `wchan` names the function
    /// it sleeps in. A thread whose state reads `S` can still be on a run queue, or
    /// running: it has set TASK_INTERRUPTIBLE and not yet called `schedule` (an io-wq
    /// worker does so before it looks for work), or was preempted there; `get_wchan`
    /// reports `0` for it (`p->on_rq`). `None` if the file could not be read.
    fn sleeps(&self) -> Option<bool> {
        let mut buf = [0u8; 128];
        let got = self.read(b"wchan", &mut buf)?;
        Some(names_a_function(&buf[..got]))
    }
}

/// Whether a `wchan` text names a function (`0`, or nothing, when the thread is not
/// asleep or the kernel cannot name it).
fn names_a_function(wchan: &[u8]) -> bool {
    !wchan.is_empty() && wchan != b"0"
}

/// Whether this kernel's `/proc/<tid>/wchan` names the function a sleeping thread
/// sleeps in (it needs kallsyms; without them it reads `0` for every thread, and
/// [`Host::busy_strict`] would take every sleeper for busy). Probed once per process
/// with a thread of its own that blocks on a channel.
pub(super) fn wchan_names_sleepers() -> bool {
    static PROBED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROBED.get_or_init(|| {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let Ok(h) = std::thread::Builder::new()
            .name("msgring-wchan".into())
            .spawn(move || {
                let _ = tid_tx.send(current_tid());
                let _ = stop_rx.recv();
            })
        else {
            return false;
        };
        let named = tid_rx.recv().is_ok_and(|tid| {
            let dir = format!("/proc/self/task/{tid}");
            // Up to 1 s for the thread to block (it reads `S` and a function name).
            (0..1000).any(|_| {
                let asleep = std::fs::read(format!("{dir}/stat"))
                    .ok()
                    .and_then(|st| parse_thread_stat(&st).map(|t| t.state == b'S'))
                    .unwrap_or(false);
                let wchan = std::fs::read(format!("{dir}/wchan")).unwrap_or_default();
                let named = asleep && names_a_function(&wchan);
                if !named {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                named
            })
        });
        drop(stop_tx);
        let _ = h.join();
        named
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe must find wchan usable on the kernels this runs on (Debian kernels
    /// and this machine's have kallsyms); if it did not, the strict settle would
    /// silently be the plain one.
    #[test]
    fn wchan_names_a_blocked_thread() {
        assert!(wchan_names_sleepers());
    }
}
