//! Choosing the next step: the kind (by swarm weight), then what a setup, a new
//! file, a registration or an update looks like.

use super::choices::Choices;
use super::state::{GRing, Kind, G, KINDS};
use super::steps::{GFd, GList, GOp, FILE, RING, T0, TASK};
use crate::trace::SqeSpec;
use crate::uapi::setup;

impl<C: Choices + ?Sized> G<'_, C> {
    pub(super) fn one(&mut self, total: u32) {
        // The kind whose weight interval holds `x`: the first with `x < cumulative`.
        let x = self.c.below(total.max(1));
        let kind = KINDS
            .get(self.cumulative.partition_point(|&c| c <= x))
            .copied()
            .unwrap_or(Kind::Data);
        match kind {
            Kind::Setup if self.rings.len() < 5 => self.setup(),
            Kind::NewFile if self.files.len() < 6 => self.new_file(),
            Kind::Spawn if self.tasks.len() < 4 => {
                let task = self.name(TASK);
                self.tasks.push(task);
                self.push(GOp::Spawn { task });
            }
            Kind::Exit if self.tasks.len() > 1 => {
                let task = self
                    .tasks
                    .remove(1 + self.c.below(self.tasks.len() as u32 - 1) as usize);
                self.push(GOp::Exit { task });
            }
            Kind::Register => self.register(),
            Kind::Sparse => {
                if let Some(i) = self.ring_idx() {
                    self.sparse_on(i);
                }
            }
            Kind::Update => self.update(),
            Kind::AllocRange => {
                if let Some(i) = self.ring_idx() {
                    let nr = self.rings[i].nr.max(1);
                    let off = self.c.below(nr);
                    let extra = u32::from(self.chance(8));
                    let len = self.c.below(nr - off + 1 + extra);
                    let by = self.actor(i);
                    let ring = self.rings[i].name;
                    self.push(GOp::AllocRange { by, ring, off, len });
                }
            }
            Kind::Enable => {
                if let Some(i) = self.rings.iter().position(|r| r.disabled) {
                    let by = self.any_task();
                    let r = &mut self.rings[i];
                    r.disabled = false;
                    r.owner = by;
                    let ring = r.name;
                    self.push(GOp::Enable { by, ring });
                }
            }
            Kind::Data | Kind::SendFd | Kind::Nop | Kind::Raw => self.push_sqe(kind),
            Kind::Submit => self.submit(),
            Kind::GetEvents => self.getevents(),
            Kind::Reap => {
                if let Some(i) = self.ring_idx() {
                    let max = if self.chance(3) {
                        1 + self.c.below(4)
                    } else {
                        u32::MAX
                    };
                    let ring = self.rings[i].name;
                    self.push(GOp::Reap { ring, max });
                }
            }
            Kind::Sync => {
                if let Some(mut sqe) = self.sqe(Kind::Data) {
                    if let SqeSpec::MsgData {
                        sqe_user_data,
                        flags,
                        ..
                    } = &mut sqe.spec
                    {
                        *sqe_user_data = 0;
                        *flags = 0;
                    }
                    let by = self.any_task();
                    self.push(GOp::SyncMsg { by, sqe });
                }
            }
            Kind::Query => {
                if let Some(i) = self.ring_idx() {
                    let slot = self.c.below(self.rings[i].nr + 1);
                    let ring = self.rings[i].name;
                    self.push(GOp::Query { ring, slot });
                }
            }
            Kind::Observe => {
                if let Some(i) = self.ring_idx() {
                    let ring = self.rings[i].name;
                    self.push(GOp::Observe { ring });
                }
            }
            Kind::Close if !self.files.is_empty() => {
                let i = self.c.below(self.files.len() as u32) as usize;
                let fd = self.files.remove(i);
                self.push(GOp::Close { fd });
            }
            _ => self.push_sqe(Kind::Data),
        }
    }

    pub(super) fn setup(&mut self) {
        let ring = self.name(RING);
        let mut by = T0;
        let mut flags = match self.c.below(10) {
            0..=2 => 0,
            3 | 4 => setup::DEFER_TASKRUN | setup::SINGLE_ISSUER | setup::TASKRUN_FLAG,
            5 => setup::DEFER_TASKRUN | setup::SINGLE_ISSUER,
            6 => setup::IOPOLL,
            7 => setup::COOP_TASKRUN | setup::TASKRUN_FLAG,
            8 => setup::SINGLE_ISSUER,
            _ => setup::R_DISABLED,
        };
        if flags & setup::SINGLE_ISSUER != 0 && self.tasks.len() > 1 && !self.chance(3) {
            let i = 1 + self.c.below(self.tasks.len() as u32 - 1) as usize;
            by = self.tasks.get(i).copied().unwrap_or(T0);
        }
        if flags == setup::R_DISABLED && self.chance(2) {
            flags |= setup::DEFER_TASKRUN | setup::SINGLE_ISSUER;
        }
        let entries = 1 + self.c.below(8);
        let mut cq_entries = 0;
        if self.chance(2) {
            flags |= setup::CQSIZE;
            // Tiny CQs force overflow; now and then an invalid size (C1).
            cq_entries = if self.chance(16) {
                self.c.below(entries)
            } else {
                entries + self.c.below(3)
            };
        }
        let sq = entries.next_power_of_two();
        let valid = flags & setup::CQSIZE == 0 || cq_entries >= entries.max(1);
        self.push(GOp::Setup {
            ring,
            by,
            entries,
            cq_entries,
            flags,
        });
        if valid {
            self.rings.push(GRing {
                name: ring,
                flags,
                owner: by,
                disabled: flags & setup::R_DISABLED != 0,
                nr: 0,
                sq,
                pending: 0,
            });
        }
    }

    pub(super) fn new_file(&mut self) {
        match self.c.below(4) {
            0 => {
                let (read, write) = (self.name(FILE), self.name(FILE));
                self.files.push(read);
                self.files.push(write);
                self.push(GOp::Pipe { read, write });
            }
            1 => {
                let file = self.name(FILE);
                self.files.push(file);
                self.push(GOp::Eventfd { file });
            }
            _ => {
                let file = self.name(FILE);
                self.files.push(file);
                self.push(GOp::File { file });
            }
        }
    }

    fn file_item(&mut self) -> GFd {
        if self.files.is_empty() || self.chance(4) {
            GFd::Vfd(-1)
        } else {
            GFd::Name(self.any_file())
        }
    }

    pub(super) fn register(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let n = 1 + self.c.below(4);
        let mut files = GList::EMPTY;
        for _ in 0..n {
            let f = self.file_item();
            files.push(Some(f));
        }
        let by = self.actor(i);
        let r = &mut self.rings[i];
        if r.nr == 0 {
            r.nr = n;
        }
        let ring = r.name;
        self.push(GOp::RegisterFiles { by, ring, files });
    }

    pub(super) fn sparse_on(&mut self, i: usize) {
        let Some(r) = self.rings.get(i) else { return };
        let ring = r.name;
        let nr = 1 + self.c.below(6);
        let by = self.actor(i);
        if self.rings[i].nr == 0 {
            self.rings[i].nr = nr;
        }
        self.push(GOp::RegisterSparse { by, ring, nr });
    }

    fn update(&mut self) {
        let Some(i) = self.ring_idx() else { return };
        let off = self.c.below(self.rings[i].nr.max(1) + 1);
        let n = 1 + self.c.below(3);
        let mut files = GList::EMPTY;
        for _ in 0..n {
            let item = if self.chance(5) {
                None
            } else {
                Some(self.file_item())
            };
            files.push(item);
        }
        let by = self.actor(i);
        let ring = self.rings[i].name;
        self.push(GOp::UpdateFiles {
            by,
            ring,
            off,
            files,
        });
    }
}
