//! Threads the simulated kernel knows about: spawned with [`spawn`], they inherit the
//! spawner's kernel, get a model task on their first system call, exit that task when
//! they end (M10: pending task_work runs, later `task_work_add` fails), and take part in
//! the lost-wake-up check: when every such thread sleeps in a wait or joins one that
//! does, the run stops with a report instead of hanging.
//!
//! Under `--cfg loom` / `--cfg shuttle` these are loom / shuttle threads.

use super::kernel::SimKernel;
use crate::sync::{thread as sys, Arc};

/// Spawns a thread named `name` on the current simulated kernel.
pub fn spawn<F, T>(name: &str, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let kernel = super::current();
    let idx = kernel.preregister(name);
    let k = Arc::clone(&kernel);
    let inner = sys::spawn(move || {
        k.claim(idx);
        let _scope = super::Scope::enter(Arc::clone(&k));
        let _exit = ExitGuard {
            kernel: Arc::clone(&k),
            idx,
        };
        f()
    });
    JoinHandle { inner, kernel, idx }
}

/// Marks the thread finished even if its body panics.
struct ExitGuard {
    kernel: Arc<SimKernel>,
    idx: usize,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.kernel.thread_exit(self.idx);
    }
}

/// An owned permission to join a [`spawn`]ed thread.
pub struct JoinHandle<T> {
    inner: sys::JoinHandle<T>,
    kernel: Arc<SimKernel>,
    idx: usize,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish. While it waits, the joining thread counts as
    /// blocked on the joined one for the lost-wake-up check.
    pub fn join(self) -> std::thread::Result<T> {
        let me = self.kernel.current_index();
        self.kernel.start_join(me, self.idx);
        let r = self.inner.join();
        self.kernel.end_join(me);
        r
    }
}
