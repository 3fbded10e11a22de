//! Tasks as threads: each task but a `Task0::Caller` task 0 is a thread of its own
//! that runs the jobs the host sends it (`Host::run_on`), so ring setup, enter and
//! register calls run on the task the step names.

use super::Host;
use crate::limits::*;
#[cfg(doc)]
use crate::Task0;
use crate::{TaskId, HOST_REFUSED};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

/// A live task: a thread of its own, or (task 0 of a [`Task0::Caller`] host) the
/// thread that owns the host.
pub(super) enum Task {
    Thread {
        tx: Option<mpsc::Sender<Job>>,
        handle: Option<JoinHandle<()>>,
        /// The thread's kernel tid (see [`wait_task_released`]).
        tid: libc::pid_t,
    },
    /// Task 0 is the thread with this kernel tid: its system calls run inline.
    Caller(libc::pid_t),
}

impl Task {
    pub(super) fn spawn() -> Result<Task, i32> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (tid_tx, tid_rx) = mpsc::sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("msgring-task".into())
            .spawn(move || {
                let _ = tid_tx.send(current_tid());
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .map_err(|e| -e.raw_os_error().unwrap_or(libc::EAGAIN))?;
        let tid = tid_rx.recv().map_err(|_| -libc::EAGAIN)?;
        Ok(Task::Thread {
            tx: Some(tx),
            handle: Some(handle),
            tid,
        })
    }

    pub(super) fn tid(&self) -> libc::pid_t {
        match self {
            Task::Thread { tid, .. } | Task::Caller(tid) => *tid,
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Task::Thread { tx, handle, tid } = self {
            drop(tx.take());
            if let Some(h) = handle.take() {
                let _ = h.join();
                wait_task_released(*tid);
            }
        }
    }
}

/// Waits (at most a second) until the exited thread `tid` is gone from
/// `/proc/self/task`. `pthread_join` returns when the kernel clears the thread's tid,
/// in `exit_mm`, before `do_exit` reaches `exit_task_work`; until then another task's
/// `task_work_add` on it still succeeds and the callback runs with PF_EXITING set
/// (io_msg_tw_fd_complete's -EOWNERDEAD through task_work: M12 in docs/semantics.md).
/// A thread leaves `/proc/self/task` in `release_task`, after `exit_task_work`, so
/// from then on `task_work_add` on it fails (R24.1), which is what the model's exit
/// step promises the next step.
fn wait_task_released(tid: libc::pid_t) {
    let path = format!("/proc/self/task/{tid}");
    let start = std::time::Instant::now();
    while std::path::Path::new(&path).exists() && start.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// The kernel's id of the calling thread (cached per thread).
pub(super) fn current_tid() -> libc::pid_t {
    thread_local! {
        static TID: libc::pid_t = rustix::thread::gettid().as_raw_nonzero().get();
    }
    TID.with(|t| *t)
}

impl Host {
    // ---- tasks ----------------------------------------------------------

    /// Start a new task (OS thread). `Err(-errno)` if the thread cannot be
    /// created, `Err(HOST_REFUSED)` past [`MAX_TASKS`] live tasks.
    pub fn spawn_task(&mut self) -> Result<TaskId, i32> {
        if self.tasks.iter().flatten().count() >= MAX_TASKS || self.tasks.len() >= u32::MAX as usize
        {
            return Err(HOST_REFUSED);
        }
        let t = Task::spawn()?;
        self.tasks.push(Some(t));
        Ok(TaskId((self.tasks.len() - 1) as u32))
    }

    /// Exit task `t`: its thread returns and is joined. Rings it created stay
    /// open (the host keeps their fds). 0, or `HOST_REFUSED` for an unknown task.
    /// On a [`Task0::Caller`] host task 0 cannot exit: `HOST_REFUSED`.
    pub fn exit_task(&mut self, t: TaskId) -> i32 {
        if matches!(self.tasks.get(t.0 as usize), Some(Some(Task::Caller(_)))) {
            return HOST_REFUSED;
        }
        match self.tasks.get_mut(t.0 as usize).and_then(Option::take) {
            Some(task) => {
                drop(task);
                0
            }
            None => HOST_REFUSED,
        }
    }

    /// Whether task `t` is alive.
    pub fn task_alive(&self, t: TaskId) -> bool {
        matches!(self.tasks.get(t.0 as usize), Some(Some(_)))
    }

    /// Make every live task thread return to userspace once, so task_work queued on it
    /// with TWA_SIGNAL_NO_IPI (COOP_TASKRUN and SQPOLL rings) runs now, as it would at
    /// the task's next system call. Returns how many tasks were kicked.
    pub fn kick_tasks(&self) -> usize {
        let live: Vec<TaskId> = (0..self.tasks.len() as u32)
            .map(TaskId)
            .filter(|&t| self.task_alive(t))
            .collect();
        for &t in &live {
            // A system call that returns at once: returning runs pending task_work.
            let _ = self.run_on(t, rustix::process::getpid);
        }
        live.len()
    }

    /// Run `f` on task `t`'s thread and wait for its result (inline for a
    /// [`Task0::Caller`] task 0 called from its thread; refused from another thread).
    pub(super) fn run_on<R: Send + 'static>(
        &self,
        t: TaskId,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, i32> {
        let task = self
            .tasks
            .get(t.0 as usize)
            .and_then(Option::as_ref)
            .ok_or(HOST_REFUSED)?;
        let tx = match task {
            Task::Caller(tid) if *tid == current_tid() => return Ok(f()),
            Task::Caller(_) => return Err(HOST_REFUSED),
            Task::Thread { tx, .. } => tx.as_ref().ok_or(HOST_REFUSED)?,
        };
        let (rtx, rrx) = mpsc::sync_channel(1);
        tx.send(Box::new(move || {
            let _ = rtx.send(f());
        }))
        .map_err(|_| HOST_REFUSED)?;
        rrx.recv().map_err(|_| HOST_REFUSED)
    }
}
