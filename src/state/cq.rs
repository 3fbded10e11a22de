//! The completion queue: a power-of-two ring buffer indexed by free-running u32 head
//! and tail (C2).

/// A completion queue entry as userspace reads it.
///
/// On a CQE32 ring every CQE the model produces has `big_cqe = [0, 0]` (R12); the
/// real backend checks that, so the model does not store it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Cqe {
    pub user_data: u64,
    pub res: i32,
    pub flags: u32,
}

/// The CQ ring shared with userspace.
///
/// `head` is written by userspace (reaping), `tail` by the kernel. Occupancy is
/// `tail - head` in wrapping u32 arithmetic; slot `i` lives at `i & (entries - 1)`.
/// Slots are allocated lazily so that cloning a world with large, mostly empty rings
/// stays cheap.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Cq {
    entries: u32,
    head: u32,
    tail: u32,
    slots: Vec<Cqe>,
}

impl Cq {
    /// An empty CQ of `entries` slots (a power of two).
    pub fn new(entries: u32) -> Cq {
        Cq::starting_at(entries, 0)
    }

    /// An empty CQ whose head and tail start at `start`, to exercise u32 wrap-around.
    pub fn starting_at(entries: u32, start: u32) -> Cq {
        debug_assert!(entries.is_power_of_two());
        Cq {
            entries,
            head: start,
            tail: start,
            slots: Vec::new(),
        }
    }

    pub fn entries(&self) -> u32 {
        self.entries
    }
    pub fn head(&self) -> u32 {
        self.head
    }
    pub fn tail(&self) -> u32 {
        self.tail
    }

    /// `__io_cqring_events`: CQEs posted and not yet reaped.
    pub fn ready(&self) -> u32 {
        self.tail.wrapping_sub(self.head)
    }

    /// Free slots: `entries - min(ready, entries)`.
    pub fn space(&self) -> u32 {
        self.entries - self.ready().min(self.entries)
    }

    pub fn is_full(&self) -> bool {
        self.space() == 0
    }

    /// Writes `cqe` at the tail and publishes it. Returns false if the ring is full.
    pub fn push(&mut self, cqe: Cqe) -> bool {
        if self.is_full() {
            return false;
        }
        let idx = (self.tail & (self.entries - 1)) as usize;
        if idx >= self.slots.len() {
            self.slots.resize(idx + 1, Cqe::default());
        }
        self.slots[idx] = cqe;
        self.tail = self.tail.wrapping_add(1);
        true
    }

    /// Userspace reaps up to `max` CQEs: reads them in order and advances the head.
    pub fn reap(&mut self, max: u32) -> Vec<Cqe> {
        let n = self.ready().min(max);
        let out = (0..n).map(|i| self.at(self.head.wrapping_add(i))).collect();
        self.head = self.head.wrapping_add(n);
        out
    }

    /// The CQEs between head and tail, oldest first, without reaping them.
    pub fn peek(&self) -> Vec<Cqe> {
        (0..self.ready())
            .map(|i| self.at(self.head.wrapping_add(i)))
            .collect()
    }

    fn at(&self, pos: u32) -> Cqe {
        self.slots[(pos & (self.entries - 1)) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cqe(ud: u64) -> Cqe {
        Cqe {
            user_data: ud,
            res: 0,
            flags: 0,
        }
    }

    #[test]
    fn c2_head_and_tail_wrap_around_u32() {
        let mut cq = Cq::starting_at(4, u32::MAX - 1);
        for ud in 0..4 {
            assert!(cq.push(cqe(ud)));
        }
        assert!(cq.is_full());
        assert!(!cq.push(cqe(9)), "a full CQ refuses");
        assert_eq!(cq.tail(), 2, "tail wrapped past u32::MAX");
        assert_eq!(cq.ready(), 4);
        let got: Vec<u64> = cq.reap(3).iter().map(|c| c.user_data).collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert!(cq.push(cqe(4)));
        let got: Vec<u64> = cq.reap(10).iter().map(|c| c.user_data).collect();
        assert_eq!(got, vec![3, 4]);
        assert_eq!(cq.ready(), 0);
        assert_eq!(cq.space(), 4);
    }
}
