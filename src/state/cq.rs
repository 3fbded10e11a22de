//! The completion queue: a power-of-two ring buffer indexed by free-running u32 head
//! and tail (C2).

/// A completion queue entry as userspace reads it.
///
/// The extra 16 bytes of a CQE32 ring (`big_cqe`, `extra1`/`extra2`) are kept beside
/// the slots ([`Cq::big_at`]): they are zero but for IORING_NOP_CQE32, and what a
/// MSG_RING target CQE leaves in a slot that held such a CQE.
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
/// stays cheap. Two CQs are equal when userspace could not tell them apart: the same
/// size, head, tail and ready CQEs (stale slots and how many are allocated do not
/// count).
#[derive(Clone, Debug)]
pub struct Cq {
    entries: u32,
    head: u32,
    tail: u32,
    slots: Vec<Cqe>,
    /// The extra words of each slot of a CQE32 ring, allocated (`entries` long) when
    /// a non-zero one is first written; empty means all zero.
    big: Vec<[u64; 2]>,
    layout: CqLayout,
}

/// How the CQ takes a 32-byte CQE (a CQE whose flags have IORING_CQE_F_32), which
/// kernels post from 6.18 on (`io_fill_cqe_aux`, `io_cqe_cache_refill`; checked in
/// the 7.2.13 and 7.3.4 sources). Counted in 16-byte slots, as the kernel counts the
/// tail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CqLayout {
    /// IORING_CQE_F_32 means a 32-byte post (6.18+); before, it is only a flag bit.
    pub big_posts: bool,
    /// IORING_SETUP_CQE_MIXED: a 32-byte CQE takes two slots.
    pub mixed: bool,
    /// IORING_SETUP_CQE32: every slot is 32 bytes.
    pub cqe32_ring: bool,
    /// `io_cqe_cache_refill` before 7.3: a 32-byte post at the last slot first fills it
    /// with a padding CQE (`io_fill_nop_cqe`: ud 0, res 0, IORING_CQE_F_SKIP) on any
    /// ring (on 6.18-7.1 a plain ring takes FLAGS_PASS IORING_CQE_F_32 too); 7.3 pads
    /// only CQE_MIXED rings.
    pub pad_any_ring: bool,
}

impl CqLayout {
    /// Whether `cqe` is posted as a 32-byte CQE by these rules. On a CQE32 ring it is
    /// not: every entry is 32 bytes, and a 32-byte post there needs one free entry
    /// like any other, as long as the kernel's CQE cache still holds an entry (the
    /// only case this model covers; see docs/semantics.md C9 for the CQE32 refill
    /// corner it leaves out).
    pub fn is_big(&self, cqe: &Cqe) -> bool {
        self.big_posts && !self.cqe32_ring && cqe.flags & crate::uapi::cqe::F_32 != 0
    }
}

/// `io_fill_nop_cqe`'s padding CQE.
pub const PADDING_CQE: Cqe = Cqe {
    user_data: 0,
    res: 0,
    flags: crate::uapi::cqe::SKIP,
};

impl PartialEq for Cq {
    fn eq(&self, other: &Cq) -> bool {
        (self.entries, self.head, self.tail) == (other.entries, other.head, other.tail)
            && self.layout == other.layout
            && (0..self.ready()).all(|i| {
                let pos = self.head.wrapping_add(i);
                self.at(pos) == other.at(pos)
            })
            // Stale extra words are state too: a later MSG_RING CQE in the slot shows
            // them.
            && (self.big.is_empty() && other.big.is_empty()
                || (0..self.entries).all(|i| self.big_at(i) == other.big_at(i)))
    }
}

impl Eq for Cq {}

/// Consistent with `==`: the size, head, tail and the ready CQEs.
impl std::hash::Hash for Cq {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.entries, self.head, self.tail).hash(h);
        for i in 0..self.ready() {
            self.at(self.head.wrapping_add(i)).hash(h);
        }
    }
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
            big: Vec::new(),
            layout: CqLayout::default(),
        }
    }

    /// The extra words (`big_cqe`) of the slot at free-running position `pos`.
    pub fn big_at(&self, pos: u32) -> [u64; 2] {
        self.big
            .get((pos & (self.entries - 1)) as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Writes the extra words of the slot at position `pos` (a request's CQE writes
    /// its own, zero for all but IORING_NOP_CQE32; a flushed overflow entry its own).
    pub fn set_big(&mut self, pos: u32, big: [u64; 2]) {
        if self.big.is_empty() {
            if big == [0, 0] {
                return;
            }
            self.big = vec![[0, 0]; self.entries as usize];
        }
        self.big[(pos & (self.entries - 1)) as usize] = big;
    }

    /// Whether any slot has held non-zero extra words.
    pub fn has_big(&self) -> bool {
        !self.big.is_empty()
    }

    /// [`Cq::reap`] with each CQE's extra words.
    pub fn reap_big(&mut self, max: u32) -> Vec<(Cqe, [u64; 2])> {
        let head = self.head;
        let cqes = self.reap(max);
        cqes.into_iter()
            .enumerate()
            .map(|(i, c)| (c, self.big_at(head.wrapping_add(i as u32))))
            .collect()
    }

    /// The same CQ taking 32-byte CQEs as `layout` says.
    pub fn with_layout(mut self, layout: CqLayout) -> Cq {
        self.layout = layout;
        self
    }

    pub fn layout(&self) -> CqLayout {
        self.layout
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

    /// Writes `cqe` at the tail and publishes it. Returns false if the ring is full
    /// (for a 32-byte CQE: see [`CqLayout`]; a padding CQE it wrote stays published).
    #[inline]
    pub fn push(&mut self, cqe: Cqe) -> bool {
        if self.layout.is_big(&cqe) {
            let mut w = self.writer();
            let ok = w.push(cqe);
            w.finish();
            return ok;
        }
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

    /// A writer of requests' CQEs at the tail, for a batch of posts (`io_get_cqe` per
    /// CQE, one `io_commit_cqring` at the end). Writing through it is the same as
    /// calling [`Cq::push`] for each CQE until one fails, and zeroing the slot's extra
    /// words ([`Cq::set_big`]).
    pub fn writer(&mut self) -> CqWriter<'_> {
        self.writer_with(true)
    }

    /// [`Cq::writer`] for MSG_RING target CQEs (`io_add_aux_cqe`), which zero a CQE32
    /// slot's extra words only if `clear_big` (C8: with IORING_CQE_F_32 from 6.18, on
    /// every CQE32 ring from 7.3) and otherwise leave them as they were.
    pub fn aux_writer(&mut self, clear_big: bool) -> CqWriter<'_> {
        self.writer_with(clear_big)
    }

    fn writer_with(&mut self, clear_big: bool) -> CqWriter<'_> {
        let room = self.space();
        let mask = self.entries - 1;
        let mut reach = ((self.tail & mask) as usize + room as usize).min(self.entries as usize);
        if self.layout.big_posts && room > 0 {
            reach = self.entries as usize; // a padded post wraps to slot 0
        }
        if self.slots.len() < reach {
            self.slots.resize(reach, Cqe::default());
        }
        let tail = self.tail;
        let big: &mut [[u64; 2]] = if clear_big { &mut self.big } else { &mut [] };
        CqWriter {
            slots: &mut self.slots,
            big,
            published: &mut self.tail,
            tail,
            room,
            mask,
            layout: self.layout,
        }
    }

    /// Userspace reaps up to `max` CQEs: reads them in order and advances the head.
    pub fn reap(&mut self, max: u32) -> Vec<Cqe> {
        let mut out = Vec::new();
        self.reap_into(max, &mut out);
        out
    }

    /// [`Cq::reap`] appending to `out`. Returns how many were reaped. On a CQE_MIXED
    /// ring a 32-byte CQE is one CQE of two slots.
    pub fn reap_into(&mut self, max: u32, out: &mut Vec<Cqe>) -> u32 {
        if self.layout.mixed {
            let (mut n, mut used, ready) = (0, 0, self.ready());
            while used < ready && n < max {
                let c = self.at(self.head.wrapping_add(used));
                used += if self.layout.is_big(&c) && used + 1 < ready {
                    2
                } else {
                    1
                };
                out.push(c);
                n += 1;
            }
            self.head = self.head.wrapping_add(used);
            return n;
        }
        let n = self.ready().min(max);
        if n == 0 {
            return 0;
        }
        let start = (self.head & (self.entries - 1)) as usize;
        let first = (n as usize).min(self.entries as usize - start);
        out.reserve(n as usize);
        out.extend_from_slice(&self.slots[start..start + first]);
        out.extend_from_slice(&self.slots[..n as usize - first]);
        self.head = self.head.wrapping_add(n);
        n
    }

    /// The CQEs between head and tail, oldest first, without reaping them.
    pub fn peek(&self) -> Vec<Cqe> {
        if self.layout.mixed {
            return self.clone().reap(u32::MAX);
        }
        (0..self.ready())
            .map(|i| self.at(self.head.wrapping_add(i)))
            .collect()
    }

    fn at(&self, pos: u32) -> Cqe {
        self.slots[(pos & (self.entries - 1)) as usize]
    }
}

/// See [`Cq::writer`]. The CQEs become visible at [`CqWriter::finish`].
#[must_use = "CQEs written are published by finish()"]
pub struct CqWriter<'a> {
    slots: &'a mut [Cqe],
    /// Extra words to zero as CQEs are written (empty: nothing to zero).
    big: &'a mut [[u64; 2]],
    /// The CQ's tail, written at `finish`.
    published: &'a mut u32,
    tail: u32,
    room: u32,
    mask: u32,
    layout: CqLayout,
}

impl CqWriter<'_> {
    /// Writes `cqe` at the next free slot; false (and nothing written) when full.
    #[inline]
    pub fn push(&mut self, cqe: Cqe) -> bool {
        if self.layout.is_big(&cqe) {
            return self.push_big(cqe);
        }
        if self.room == 0 {
            return false;
        }
        let idx = (self.tail & self.mask) as usize;
        self.slots[idx] = cqe;
        if !self.big.is_empty() {
            self.big[idx] = [0, 0];
        }
        self.tail = self.tail.wrapping_add(1);
        self.room -= 1;
        true
    }

    /// `io_get_cqe_overflow` + `io_cqe_cache_refill` for a 32-byte CQE (see
    /// [`CqLayout`]): a padding CQE if it would start at the last slot (when the CQ is
    /// not full; it stays even if the CQE then does not fit), then two contiguous free
    /// slots; on a CQE_MIXED ring it takes both, elsewhere one. (The kernel refills its
    /// CQE cache only when fewer than two entries are left in it, and a cached range
    /// never extends past the end of the ring or the free slots, so deciding as if it
    /// refilled at every 32-byte post gives the same result.)
    fn push_big(&mut self, cqe: Cqe) -> bool {
        let entries = self.mask + 1;
        let mut off = self.tail & self.mask;
        if (self.layout.pad_any_ring || self.layout.mixed) && off + 1 == entries {
            if self.room == 0 {
                return false;
            }
            self.slots[off as usize] = PADDING_CQE;
            self.tail = self.tail.wrapping_add(1);
            self.room -= 1;
            off = 0;
        }
        let len = self.room.min(entries - off);
        if len < 2 {
            return false;
        }
        self.slots[off as usize] = cqe;
        self.tail = self.tail.wrapping_add(1);
        self.room -= 1;
        if self.layout.mixed {
            self.slots[off as usize + 1] = Cqe::default(); // the second half: big_cqe
            self.tail = self.tail.wrapping_add(1);
            self.room -= 1;
        }
        true
    }

    /// Writes `cqe(x)` for the items of `items`, in order, while there is room: one
    /// slice loop without a branch per CQE (the lanes' and the flush's hot path).
    /// Returns how many were written (a prefix of `items`). For 16-byte CQEs only:
    /// a 32-byte post (6.18+, IORING_CQE_F_32) goes through [`CqWriter::push`].
    #[inline]
    pub fn write_each<T>(&mut self, items: &[T], cqe: impl Fn(&T) -> Cqe) -> usize {
        let n = items.len().min(self.room as usize);
        let mut tail = self.tail;
        for x in &items[..n] {
            let c = cqe(x);
            debug_assert!(!self.layout.is_big(&c), "a 32-byte post in write_each");
            let idx = (tail & self.mask) as usize;
            self.slots[idx] = c;
            if !self.big.is_empty() {
                self.big[idx] = [0, 0];
            }
            tail = tail.wrapping_add(1);
        }
        self.tail = tail;
        self.room -= n as u32;
        n
    }

    /// Publishes what was written (the new tail). Returns how many CQEs that was.
    pub fn finish(self) -> u32 {
        let n = self.tail.wrapping_sub(*self.published);
        *self.published = self.tail;
        n
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

    #[test]
    fn c2_cq_writer_matches_push_one_by_one() {
        for start in [0, 3, u32::MAX - 2] {
            for pre in 0..=8u64 {
                for n in 0..=10u64 {
                    let mut bulk = Cq::starting_at(8, start);
                    let mut single = bulk.clone();
                    for ud in 0..pre {
                        assert_eq!(bulk.push(cqe(ud)), single.push(cqe(ud)));
                    }
                    bulk.reap(pre as u32 / 2);
                    single.reap(pre as u32 / 2);
                    let mut each = bulk.clone();
                    let items: Vec<u64> = (100..100 + n).collect();
                    let mut w = each.writer();
                    let wrote = w.write_each(&items, |&ud| cqe(ud));
                    assert_eq!(w.finish() as usize, wrote);
                    // The writer's push, one by one until it refuses.
                    let mut w = bulk.writer();
                    let mut refused = None;
                    for ud in 100..100 + n {
                        if !w.push(cqe(ud)) {
                            refused = Some(ud);
                            break;
                        }
                    }
                    let written = w.finish();
                    let mut pushed = 0;
                    for ud in 100..100 + n {
                        if !single.push(cqe(ud)) {
                            break;
                        }
                        pushed += 1;
                    }
                    assert_eq!(written, pushed, "start {start} pre {pre} n {n}");
                    assert_eq!(
                        refused,
                        (pushed < n as u32).then(|| 100 + u64::from(pushed)),
                        "the writer refuses exactly the first CQE that does not fit"
                    );
                    assert_eq!(bulk.peek(), single.peek());
                    assert_eq!(each, single, "write_each = push until full");
                    assert_eq!(wrote as u32, pushed);
                    assert_eq!((bulk.head(), bulk.tail()), (single.head(), single.tail()));
                    assert_eq!(bulk.reap(3), single.reap(3));
                }
            }
        }
    }
}
