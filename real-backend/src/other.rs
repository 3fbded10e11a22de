//! Stub for targets other than Linux: no `Host` can be constructed.

use crate::{Cqe, FileId, FileSlot, PushError, RingInfo, Task0, TaskId, Unavailable, Vfd};
use std::convert::Infallible;
use std::time::Duration;

/// Never constructed off Linux; every method is unreachable.
pub struct Host {
    never: Infallible,
}

#[allow(unused_variables, clippy::too_many_arguments)]
impl Host {
    pub fn new() -> Result<Host, Unavailable> {
        Err(Unavailable {
            reason: "not Linux".into(),
        })
    }
    pub fn new_with(task0: Task0) -> Result<Host, Unavailable> {
        Host::new()
    }
    pub fn task0_mode(&self) -> Option<Task0> {
        match self.never {}
    }
    pub fn reset(&mut self) -> Result<(), i32> {
        match self.never {}
    }
    pub fn reset_with(&mut self, task0: Task0) -> Result<(), i32> {
        match self.never {}
    }
    pub fn spawn_task(&mut self) -> Result<TaskId, i32> {
        match self.never {}
    }
    pub fn exit_task(&mut self, t: TaskId) -> i32 {
        match self.never {}
    }
    pub fn task_alive(&self, t: TaskId) -> bool {
        match self.never {}
    }
    pub fn setup_ring(
        &mut self,
        t: TaskId,
        entries: u32,
        cq_entries: u32,
        flags: u32,
    ) -> Result<Vfd, i32> {
        match self.never {}
    }
    pub fn ring_info(&self, ring: Vfd) -> Option<RingInfo> {
        match self.never {}
    }
    pub fn create_pipe(&mut self) -> Result<(Vfd, Vfd), i32> {
        match self.never {}
    }
    pub fn create_eventfd(&mut self) -> Result<Vfd, i32> {
        match self.never {}
    }
    pub fn create_regular_file(&mut self) -> Result<Vfd, i32> {
        match self.never {}
    }
    pub fn close(&mut self, v: Vfd) -> i32 {
        match self.never {}
    }
    pub fn busy(&self) -> bool {
        match self.never {}
    }
    pub fn iowq_busy(&self) -> bool {
        match self.never {}
    }
    pub fn busy_strict(&self) -> bool {
        match self.never {}
    }
    pub fn kick_tasks(&self) -> usize {
        match self.never {}
    }
    pub fn task0_iowq_started(&self) -> bool {
        match self.never {}
    }
    pub fn host_fd(&self, v: Vfd) -> Option<i32> {
        match self.never {}
    }
    pub fn register_files(&mut self, t: TaskId, ring: Vfd, fds: &[Option<Vfd>]) -> i32 {
        match self.never {}
    }
    pub fn register_files_sparse(&mut self, t: TaskId, ring: Vfd, nr: u32) -> i32 {
        match self.never {}
    }
    pub fn update_files(&mut self, t: TaskId, ring: Vfd, offset: u32, fds: &[Option<Vfd>]) -> i32 {
        match self.never {}
    }
    pub fn update_files_slots(
        &mut self,
        t: TaskId,
        ring: Vfd,
        offset: u32,
        fds: &[FileSlot],
    ) -> i32 {
        match self.never {}
    }
    pub fn unregister_files(&mut self, t: TaskId, ring: Vfd) -> i32 {
        match self.never {}
    }
    pub fn file_alloc_range(&mut self, t: TaskId, ring: Vfd, off: u32, len: u32) -> i32 {
        match self.never {}
    }
    pub fn enable_rings(&mut self, t: TaskId, ring: Vfd) -> i32 {
        match self.never {}
    }
    pub fn sync_msg(&mut self, t: TaskId, sqe: [u8; 64]) -> i32 {
        match self.never {}
    }
    pub fn register_raw(
        &mut self,
        t: TaskId,
        fd: crate::RegFd,
        opcode: u32,
        arg: crate::RawRegArg,
        nr_args: u32,
    ) -> i32 {
        match self.never {}
    }
    pub fn enter_registered(
        &mut self,
        t: TaskId,
        index: u32,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Duration,
    ) -> i32 {
        match self.never {}
    }
    pub fn push_sqe(&mut self, ring: Vfd, sqe: [u8; 64]) -> Result<(), PushError> {
        match self.never {}
    }
    pub fn enter(
        &mut self,
        t: TaskId,
        ring: Vfd,
        to_submit: u32,
        min_complete: u32,
        flags: u32,
        timeout: Duration,
    ) -> i32 {
        match self.never {}
    }
    pub fn reap(&mut self, ring: Vfd, max: u32) -> Vec<Cqe> {
        match self.never {}
    }
    pub fn sq_flags(&self, ring: Vfd) -> u32 {
        match self.never {}
    }
    pub fn cq_overflow(&self, ring: Vfd) -> u32 {
        match self.never {}
    }
    pub fn cq_ready(&self, ring: Vfd) -> u32 {
        match self.never {}
    }
    pub fn sq_pending(&self, ring: Vfd) -> u32 {
        match self.never {}
    }
    pub fn file_table(&self, ring: Vfd) -> Option<Vec<Option<FileId>>> {
        match self.never {}
    }
    pub fn slot_identity(&self, ring: Vfd, slot: u32) -> Option<FileId> {
        match self.never {}
    }
    pub fn file_identity(&self, v: Vfd) -> Option<FileId> {
        match self.never {}
    }
    pub fn overflow_list(&self, ring: Vfd) -> Option<Vec<(u64, i32, u32)>> {
        match self.never {}
    }
    pub fn table_and_overflow(&self, ring: Vfd) -> Option<crate::TableAndOverflow> {
        match self.never {}
    }
    pub fn fdinfo_text(&self, ring: Vfd) -> Option<String> {
        match self.never {}
    }
}
