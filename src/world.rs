//! [`World`]: every kernel object of a scenario, and the fd table that names them.

use crate::profile::Profile;
use crate::sqe::Vfd;
use crate::state::{Cqe, File, FileId, FileKind, Ring, RingId, Task, TaskId, Work};
use std::collections::VecDeque;

/// The whole modelled system: tasks, files, rings and the process's fd table.
///
/// A `World` is plain data: `Clone` to fork it, `Eq` to compare it, `Debug` to print
/// it. It changes only through [`World::apply`](crate::World::apply).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct World {
    pub(crate) profile: Profile,
    pub(crate) tasks: Vec<Task>,
    pub(crate) files: Vec<File>,
    /// The process-wide fd table: `fds[vfd]` names a file. Lowest free number first.
    pub(crate) fds: Vec<Option<FileId>>,
    pub(crate) rings: Vec<Ring>,
    /// Work punted to io-wq (IOSQE_ASYNC), run in order before a step ends.
    pub(crate) iowq: VecDeque<Work>,
    /// Faults armed for the current step.
    pub(crate) faults: crate::step::Faults,
    /// Requests completed in the current submit or task_work run, whose CQEs are
    /// written at the next flush (`submit_state.compl_reqs`). Empty between steps.
    pub(crate) batch: Vec<crate::state::Completed>,
    /// The `user_data` of the batch's [`Completed::Run`](crate::state::Completed::Run)
    /// entries. Empty between steps.
    pub(crate) batch_user_data: Vec<u64>,
    /// The SQPOLL threads' task (their task_work runs in their loop).
    pub(crate) sq_thread: Task,
    /// Io-wq items run during the last step.
    pub(crate) iowq_ran: u32,
    /// Whether `io_submit_sqes` may take its request-free lanes (see
    /// [`World::set_fast_lanes`]).
    pub(crate) fast_lanes: bool,
    /// The decisions of the current step at its choice points (see [`crate::choice`]).
    /// Inactive (every point takes option 0) outside `apply_choosing` and friends;
    /// empty between steps and ignored by `==`.
    pub(crate) decide: crate::choice::Decider,
    /// The task whose code runs now: the task of the step's system call, or the task
    /// running its task_work in a settle; `None` for io-wq and SQPOLL work and
    /// between steps.
    pub(crate) running: Option<TaskId>,
}

impl Default for World {
    fn default() -> World {
        World::new(Profile::default())
    }
}

impl World {
    /// An empty world with one live task, `TaskId(0)`.
    pub fn new(profile: Profile) -> World {
        World {
            profile,
            tasks: vec![Task {
                alive: true,
                ..Task::default()
            }],
            files: Vec::new(),
            fds: Vec::new(),
            rings: Vec::new(),
            iowq: VecDeque::new(),
            faults: Default::default(),
            batch: Vec::new(),
            batch_user_data: Vec::new(),
            iowq_ran: 0,
            fast_lanes: true,
            decide: Default::default(),
            running: None,
            sq_thread: Task {
                alive: true,
                ..Task::default()
            },
        }
    }

    /// Turns the submission fast lanes on (the default) or off. With them on,
    /// `io_submit_sqes` issues unlinked requests without building a request object
    /// and submits runs of same-shape MSG_DATA SQEs in bulk; with them off, every SQE
    /// takes the general path. Results and states are identical either way (tests
    /// check it step by step); only the speed differs.
    pub fn set_fast_lanes(&mut self, on: bool) {
        self.fast_lanes = on;
    }

    /// The kernel line this world behaves as.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// All rings, in creation order.
    pub fn rings(&self) -> &[Ring] {
        &self.rings
    }

    /// All file objects ever created (released ones have `refs == 0`), in creation
    /// order. Rings are files too.
    pub fn files(&self) -> &[File] {
        &self.files
    }

    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// The fd table: `fd_table()[vfd]` is the file that fd names.
    pub fn fd_table(&self) -> &[Option<FileId>] {
        &self.fds
    }

    /// How many io-wq items the last step ran. The real kernel runs them on worker
    /// threads, concurrently with each other and with task_work; the model runs them
    /// one after the other, so CQE orders that depend on them are one of several the
    /// kernel may show.
    pub fn iowq_items_last_step(&self) -> u32 {
        self.iowq_ran
    }

    /// Io-wq work not yet run (empty between steps).
    pub fn iowq(&self) -> &VecDeque<Work> {
        &self.iowq
    }

    /// The file `fd` names, if it is open.
    pub fn fd_file(&self, fd: Vfd) -> Option<FileId> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get(i).copied().flatten())
    }

    /// The ring `fd` names, if it is an open io_uring fd.
    pub fn ring_of_fd(&self, fd: Vfd) -> Option<RingId> {
        match self.file(self.fd_file(fd)?).kind {
            FileKind::Ring(r) => Some(r),
            _ => None,
        }
    }

    /// The ring with this id.
    pub fn ring(&self, id: RingId) -> &Ring {
        &self.rings[id.0 as usize]
    }

    /// The fd of a ring (the first fd that names it).
    pub fn ring_fd(&self, id: RingId) -> Option<Vfd> {
        let file = self.ring(id).file;
        self.fds
            .iter()
            .position(|f| *f == Some(file))
            .map(|i| i as Vfd)
    }

    pub fn file(&self, id: FileId) -> &File {
        &self.files[id.0 as usize]
    }

    pub(crate) fn ring_mut(&mut self, id: RingId) -> &mut Ring {
        &mut self.rings[id.0 as usize]
    }

    pub(crate) fn task(&self, id: TaskId) -> Option<&Task> {
        if id == TaskId::SQPOLL {
            return Some(&self.sq_thread);
        }
        self.tasks.get(id.0 as usize)
    }

    pub(crate) fn task_mut(&mut self, id: TaskId) -> &mut Task {
        if id == TaskId::SQPOLL {
            return &mut self.sq_thread;
        }
        &mut self.tasks[id.0 as usize]
    }

    /// Creates a file object with one reference and returns its id.
    pub(crate) fn new_file(&mut self, kind: FileKind) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(File { kind, refs: 1 });
        id
    }

    /// Installs `file` at the next fd (the reference moves to the fd). Virtual fds are
    /// handed out in order from 0 and never reused, as the real backend numbers them.
    pub(crate) fn install_fd(&mut self, file: FileId) -> Vfd {
        self.fds.push(Some(file));
        (self.fds.len() - 1) as Vfd
    }

    /// The identity class of a file, as the real backend can tell files apart: by
    /// (st_dev, st_ino). Both ends of a pipe share an inode, and all eventfds share the
    /// anonymous inode, so each class is named by its first member.
    pub fn identity_class(&self, f: FileId) -> FileId {
        match self.file(f).kind {
            FileKind::PipeWrite if f.0 > 0 => FileId(f.0 - 1),
            FileKind::Eventfd => {
                let first = self.files.iter().position(|x| x.kind == FileKind::Eventfd);
                FileId(first.unwrap_or(f.0 as usize) as u32)
            }
            _ => f,
        }
    }

    /// What userspace (and fdinfo) can see of a ring now.
    pub fn observe(&self, id: RingId) -> RingView {
        let r = self.ring(id);
        RingView {
            sq_flags: r.sq_flags,
            cq_overflow: r.cq_overflow,
            cq_ready: r.cq.ready(),
            overflow: r.overflow.iter().copied().collect(),
            table: r
                .table
                .occupied()
                .map(|(slot, f)| (slot, self.identity_class(f)))
                .collect(),
        }
    }

    /// `get_file`.
    pub(crate) fn get_file(&mut self, f: FileId) {
        self.files[f.0 as usize].refs += 1;
    }

    /// `fput`.
    pub(crate) fn put_file(&mut self, f: FileId) {
        let file = &mut self.files[f.0 as usize];
        debug_assert!(file.refs > 0, "fput of a released file");
        file.refs = file.refs.saturating_sub(1);
    }
}

/// The visible state of a ring: the shared `sq_flags` word and overflow counter, the
/// CQEs ready in the CQ, the overflow list (read from fdinfo by the real backend) and
/// the fixed-file table by file identity class.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RingView {
    pub sq_flags: u32,
    pub cq_overflow: u32,
    pub cq_ready: u32,
    pub overflow: Vec<Cqe>,
    pub table: Vec<(u32, FileId)>,
}
