//! # `msgring::uring`: the io-uring crate's API on the model
//!
//! A program written against the [io-uring](https://docs.rs/io-uring/0.7) crate runs on
//! msgring's simulated kernel by changing one `use` line:
//!
//! ```
//! // use io_uring::{opcode, types, IoUring};
//! use msgring::uring::{opcode, types, IoUring};
//! use std::os::fd::AsRawFd;
//!
//! # fn main() -> std::io::Result<()> {
//! let mut a = IoUring::new(8)?;
//! let b = IoUring::builder().setup_cqsize(16).build(8)?;
//! let msg = opcode::MsgRingData::new(types::Fd(b.as_raw_fd()), 42, 0xb0b, None)
//!     .build()
//!     .user_data(1);
//! # #[allow(unused_unsafe)]
//! unsafe { a.submission().push(&msg).expect("room in the SQ") };
//! a.submit_and_wait(1)?;
//! let done: Vec<_> = a.completion().map(|c| (c.user_data(), c.result())).collect();
//! assert_eq!(done, [(1, 0)]);
//! # let mut b = b;
//! let got: Vec<_> = b.completion().map(|c| (c.user_data(), c.result())).collect();
//! assert_eq!(got, [(0xb0b, 42)]);
//! # Ok(())
//! # }
//! ```
//!
//! What is there, and how it maps to the model:
//!
//! * [`IoUring`] (`new`, `builder()` with the `setup_*` methods, `submission()`,
//!   `completion()`, `submitter()`, `submit`, `submit_and_wait`, `as_raw_fd`);
//!   [`Submitter`] (submit, submit_and_wait, submit_with_args, register_files /
//!   _sparse / _update, unregister_files, register_enable_rings, and two calls io-uring
//!   0.7 lacks: `register_file_alloc_range` and the ringless `register_sync_msg`);
//!   [`squeue::Entry`], [`cqueue::Entry`]; [`opcode`]`::{MsgRingData, MsgRingSendFd,
//!   Nop}`; [`types`]`::{Fd, Fixed, DestinationSlot, SubmitArgs, Timespec}`.
//! * Every system call is one step of the sequential [`World`](crate::World), taken
//!   atomically under the simulated kernel's lock, by the model task of the calling
//!   thread (the first thread is task 0; each other thread gets a task on its first
//!   call, which exits when a [`sim::thread`] ends). SINGLE_ISSUER, DEFER_TASKRUN
//!   ownership, -EEXIST for a non-owner, and so on come from the model as they do from
//!   the kernel.
//! * Waits sleep until the CQEs are there. A wait that nothing can satisfy does not hang:
//!   when every thread of the run sleeps, the run stops with a [`sim::Report`] (lost
//!   wake-up); on std threads a wait that sees no progress for a while fails too.
//! * Files that are not rings come from [`sim`]: `sim::pipe()`, `sim::eventfd()`,
//!   `sim::regular_file()`. Fds are the model's virtual fds.
//! * Opcodes the model does not model never silently succeed: the next submit fails
//!   with `ErrorKind::Unsupported` naming the opcode, unless the test completes them
//!   itself ([`sim::SimBuilder::external`], "external completion").
//! * Kernel lines: `IoUring::new` with no setup uses a process-wide kernel of line 6.18
//!   (docs/protocols.md says why not 7.3); [`sim::Sim`] scopes a kernel of any line to
//!   a test, and [`sim::Check`] runs a protocol on a fresh kernel per execution, under std threads, loom (`--cfg loom`) or
//!   shuttle (`--cfg shuttle`), taking the kernel's nondeterministic decisions from the
//!   model's choice points. See docs/protocols.md.
//!
//! With the `io-uring` feature (Linux), real `io_uring::squeue::Entry` values convert
//! into [`squeue::Entry`] with `From` (no unsafe code in the caller or in this crate).

pub mod cqueue;
pub mod opcode;
#[cfg(all(feature = "io-uring", target_os = "linux"))]
mod real;
pub mod sim;
pub mod squeue;
mod submit;
pub mod types;

pub use submit::{register_sync_msg, Submitter};

use crate::sqe::{Sqe, Vfd};
use crate::state::Cqe;
use crate::step::{Step, StepResult};
use crate::sync::Arc;
use crate::uapi::setup;
use sim::kernel::{step_ret, RingMeta, SimKernel};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// An io_uring instance on the simulated kernel.
pub struct IoUring {
    pub(crate) kernel: Arc<SimKernel>,
    pub(crate) fd: Vfd,
    pub(crate) params: Parameters,
}

/// How to set up an [`IoUring`].
#[derive(Clone, Debug, Default)]
pub struct Builder {
    flags: u32,
    cq_entries: u32,
    name: Option<String>,
}

/// What `io_uring_setup` reported.
#[derive(Clone, Debug)]
pub struct Parameters {
    flags: u32,
    sq_entries: u32,
    cq_entries: u32,
}

impl Parameters {
    pub fn is_setup_sqpoll(&self) -> bool {
        self.flags & setup::SQPOLL != 0
    }
    pub fn is_setup_iopoll(&self) -> bool {
        self.flags & setup::IOPOLL != 0
    }
    pub fn is_setup_single_issuer(&self) -> bool {
        self.flags & setup::SINGLE_ISSUER != 0
    }
    /// `IORING_FEAT_NODROP` (5.5): the kernel keeps CQEs that do not fit on the
    /// overflow list.
    pub fn is_feature_nodrop(&self) -> bool {
        true
    }
    /// `IORING_FEAT_EXT_ARG` (5.11): waits take a timeout.
    pub fn is_feature_ext_arg(&self) -> bool {
        true
    }
    pub fn sq_entries(&self) -> u32 {
        self.sq_entries
    }
    pub fn cq_entries(&self) -> u32 {
        self.cq_entries
    }
}

impl Builder {
    /// Accepted and ignored (no fork in the model).
    pub fn dontfork(&mut self) -> &mut Self {
        self
    }
    pub fn setup_iopoll(&mut self) -> &mut Self {
        self.flags |= setup::IOPOLL;
        self
    }
    /// SQPOLL (the idle time does not matter to the model).
    pub fn setup_sqpoll(&mut self, _idle: u32) -> &mut Self {
        self.flags |= setup::SQPOLL;
        self
    }
    pub fn setup_sqpoll_cpu(&mut self, _cpu: u32) -> &mut Self {
        self.flags |= setup::SQ_AFF;
        self
    }
    pub fn setup_cqsize(&mut self, entries: u32) -> &mut Self {
        self.flags |= setup::CQSIZE;
        self.cq_entries = entries;
        self
    }
    pub fn setup_clamp(&mut self) -> &mut Self {
        self.flags |= setup::CLAMP;
        self
    }
    pub fn setup_attach_wq(&mut self, _fd: RawFd) -> &mut Self {
        self.flags |= setup::ATTACH_WQ;
        self
    }
    pub fn setup_r_disabled(&mut self) -> &mut Self {
        self.flags |= setup::R_DISABLED;
        self
    }
    pub fn setup_submit_all(&mut self) -> &mut Self {
        self.flags |= setup::SUBMIT_ALL;
        self
    }
    pub fn setup_coop_taskrun(&mut self) -> &mut Self {
        self.flags |= setup::COOP_TASKRUN;
        self
    }
    pub fn setup_taskrun_flag(&mut self) -> &mut Self {
        self.flags |= setup::TASKRUN_FLAG;
        self
    }
    pub fn setup_defer_taskrun(&mut self) -> &mut Self {
        self.flags |= setup::DEFER_TASKRUN;
        self
    }
    pub fn setup_single_issuer(&mut self) -> &mut Self {
        self.flags |= setup::SINGLE_ISSUER;
        self
    }
    pub fn setup_no_sqarray(&mut self) -> &mut Self {
        self.flags |= setup::NO_SQARRAY;
        self
    }
    /// The ring's name in reports (default: the creating thread's name). Not in
    /// io-uring.
    pub fn name(&mut self, name: &str) -> &mut Self {
        self.name = Some(name.to_string());
        self
    }

    /// `io_uring_setup(entries, params)` on the current simulated kernel, by the
    /// calling thread.
    pub fn build(&self, entries: u32) -> io::Result<IoUring> {
        let kernel = sim::current();
        let flags = self.flags;
        let cq_entries = self.cq_entries;
        let name = self.name.clone();
        let (fd, params) = kernel.syscall(|st, me, task| {
            let r = st.apply(
                me,
                Step::Setup {
                    task,
                    entries,
                    cq_entries,
                    flags,
                },
            );
            let fd = step_ret("io_uring_setup", r)?;
            let rid = st.ring_id(fd).expect("setup made a ring");
            let ring = st.world.ring(rid);
            let params = Parameters {
                flags: ring.flags,
                sq_entries: ring.sq_entries,
                cq_entries: ring.cq.entries(),
            };
            let name = name.unwrap_or_else(|| st.threads[me].name.clone());
            st.rings.insert(
                fd,
                RingMeta {
                    name,
                    ..RingMeta::default()
                },
            );
            Ok((fd, params))
        })?;
        Ok(IoUring { kernel, fd, params })
    }
}

impl IoUring {
    /// A ring with `entries` SQ entries and default setup.
    pub fn new(entries: u32) -> io::Result<IoUring> {
        IoUring::builder().build(entries)
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    pub fn submitter(&self) -> Submitter<'_> {
        Submitter { ring: self }
    }

    pub fn params(&self) -> &Parameters {
        &self.params
    }

    pub fn submit(&self) -> io::Result<usize> {
        self.submitter().submit()
    }

    pub fn submit_and_wait(&self, want: usize) -> io::Result<usize> {
        self.submitter().submit_and_wait(want)
    }

    /// The submitter, the submission queue and the completion queue at once.
    pub fn split(
        &mut self,
    ) -> (
        Submitter<'_>,
        squeue::SubmissionQueue<'_>,
        cqueue::CompletionQueue<'_>,
    ) {
        let this: &IoUring = self;
        (
            Submitter { ring: this },
            squeue::SubmissionQueue::new(this),
            cqueue::CompletionQueue::new(this),
        )
    }

    pub fn submission(&mut self) -> squeue::SubmissionQueue<'_> {
        squeue::SubmissionQueue::new(self)
    }

    /// The submission queue through a shared reference (`unsafe` in io-uring, where
    /// two of them would race on the SQ memory; here each sync is atomic).
    pub fn submission_shared(&self) -> squeue::SubmissionQueue<'_> {
        squeue::SubmissionQueue::new(self)
    }

    pub fn completion(&mut self) -> cqueue::CompletionQueue<'_> {
        cqueue::CompletionQueue::new(self)
    }

    /// The completion queue through a shared reference (`unsafe` in io-uring).
    pub fn completion_shared(&self) -> cqueue::CompletionQueue<'_> {
        cqueue::CompletionQueue::new(self)
    }

    // ---- what the queues ask of the kernel --------------------------------------------

    /// Userspace reads the shared ring memory: a switch point, no system call.
    fn with_ring<R>(&self, f: impl FnOnce(&crate::state::Ring) -> R, or: R) -> R {
        let (st, _) = self.kernel.lock_at_switch();
        match st.ring_id(self.fd) {
            Some(r) => f(st.world.ring(r)),
            None => or,
        }
    }

    pub(crate) fn sq_len(&self) -> usize {
        self.with_ring(|r| r.sq.len(), 0)
    }

    pub(crate) fn sq_flags(&self) -> u32 {
        self.with_ring(|r| r.sq_flags, 0)
    }

    pub(crate) fn cq_overflow(&self) -> u32 {
        self.with_ring(|r| r.cq_overflow, 0)
    }

    pub(crate) fn peek_cq(&self) -> Vec<Cqe> {
        self.with_ring(|r| r.cq.peek(), Vec::new())
    }

    /// Userspace advances the CQ head by `n` (frees the slots).
    pub(crate) fn consume(&self, n: u32) {
        let ring = self.fd;
        let _ = self.kernel.syscall(|st, me, _| {
            st.apply(me, Step::Reap { ring, max: n });
            Ok(())
        });
    }

    /// Userspace makes `sqes` visible in the SQ. SQEs of opcodes the model does not
    /// model are completed by the kernel's external-completion handler, or refused
    /// (the next submit fails naming them).
    pub(crate) fn publish(&self, mut sqes: Vec<Sqe>) {
        if sqes.is_empty() {
            return;
        }
        let mut notes = Vec::new();
        let mut refused = None;
        if !sqes.iter().all(surely_modelled) {
            let why: Vec<Option<String>> = {
                let st = self.kernel.lock();
                sqes.iter().map(|s| st.world.unmodelled_sqe(s)).collect()
            };
            let external = self.kernel.config.external.clone();
            let mut keep = Vec::with_capacity(sqes.len());
            for (sqe, why) in sqes.into_iter().zip(why) {
                let Some(why) = why else {
                    keep.push(sqe);
                    continue;
                };
                match external.as_ref().and_then(|f| f(&squeue::Entry(sqe))) {
                    Some(res) => {
                        notes.push(format!(
                            "external completion of {why} (user_data {:#x}) with {}",
                            sqe.user_data,
                            crate::errno::fmt_res(res)
                        ));
                        keep.push(external_completion(&sqe, res));
                    }
                    None => {
                        refused.get_or_insert_with(|| {
                            format!(
                                "msgring: the SQE with user_data {:#x} has {why}, which the model \
                                 does not implement: it was refused and not submitted. Complete \
                                 such SQEs yourself with Sim::builder().external(..) or \
                                 Check::external(..) (docs/protocols.md, \"External completion\")",
                                sqe.user_data
                            )
                        });
                    }
                }
            }
            sqes = keep;
        }
        let ring = self.fd;
        let _ = self.kernel.syscall(|st, me, _| {
            for n in notes {
                st.note(me, n);
            }
            if let Some(why) = refused {
                st.note(me, why.clone());
                if let Some(m) = st.rings.get_mut(&ring) {
                    m.refused.get_or_insert(why);
                }
            }
            for sqe in sqes {
                let r = st.apply(me, Step::Push { ring, sqe });
                debug_assert!(matches!(r, StepResult::Ret(0)), "push: {r:?}");
            }
            Ok(())
        });
    }
}

/// MSG_RING and plain NOPs are always modelled (checked without the lock).
fn surely_modelled(s: &Sqe) -> bool {
    s.opcode == crate::uapi::op::MSG_RING
        || (s.opcode == crate::uapi::op::NOP && s.msg_ring_flags == 0)
}

/// The SQE that stands for an externally completed one: a NOP with
/// `IORING_NOP_INJECT_RESULT`, same user_data and `IOSQE_*` flags, so the CQE is posted
/// (and links, CQE_SKIP_SUCCESS and drains behave) as for any request.
fn external_completion(sqe: &Sqe, res: i32) -> Sqe {
    Sqe {
        opcode: crate::uapi::op::NOP,
        flags: sqe.flags,
        msg_ring_flags: crate::uapi::NOP_INJECT_RESULT,
        len: res as u32,
        user_data: sqe.user_data,
        ..Sqe::default()
    }
}

/// The ring's (virtual) fd: what `types::Fd` of a MSG_RING names.
impl AsRawFd for IoUring {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl Drop for IoUring {
    /// Ring teardown is outside the model: the ring stays in the world (messages to it
    /// still land), marked dropped in reports.
    fn drop(&mut self) {
        let mut st = self.kernel.lock();
        if let Some(m) = st.rings.get_mut(&self.fd) {
            m.dropped = true;
        }
    }
}

impl std::fmt::Debug for IoUring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoUring")
            .field("fd", &self.fd)
            .field("params", &self.params)
            .finish()
    }
}
