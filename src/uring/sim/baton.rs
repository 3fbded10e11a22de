//! Seeded scheduling of std threads (the "baton").
//!
//! On std threads a [`Check`](super::Check) does not leave the interleaving to the
//! operating system: the threads spawned through [`super::thread`] run one at a time,
//! and at every *switch point* (each msgring call, [`super::note`],
//! [`super::yield_now`]) the thread holding the baton hands it to a runnable thread
//! picked by a seeded PRNG (possibly itself). A run is then a function of its seed:
//! races between system calls show up deterministically and replay from the seed.
//!
//! What this does not see: interleavings *between* two switch points (userspace code
//! runs atomically from one msgring call to the next; loom and shuttle explore those).
//! A thread holding the baton must not block outside msgring (a lock held across a
//! msgring call, a channel, a condvar): the others would wait for the baton forever.
//! A watchdog turns that into a [`ViolationKind::WaitTimeout`] report naming the
//! holder.

use super::kernel::{SimKernel, State, TState};
#[cfg(not(any(loom, shuttle)))]
use super::ViolationKind;
use crate::sync::MutexGuard;
use crate::trace::SplitMix;

/// Who holds the baton, and the PRNG that picks the next holder.
pub(crate) struct Sched {
    pub running: Option<usize>,
    rng: SplitMix,
    /// Switches made (in reports).
    pub switches: u64,
    /// `sim::yield_now` calls in a row by a thread that was the only runnable one,
    /// with nothing changing in the kernel, and the generation they saw.
    #[cfg_attr(any(loom, shuttle), allow(dead_code))]
    spins: u32,
    #[cfg_attr(any(loom, shuttle), allow(dead_code))]
    spin_gen: u64,
}

/// How many fruitless `yield_now` calls in a row make a livelock.
#[cfg_attr(any(loom, shuttle), allow(dead_code))]
const MAX_SPINS: u32 = 100_000;

impl Sched {
    pub(crate) fn new(seed: u64) -> Sched {
        Sched {
            running: None,
            rng: SplitMix(seed ^ 0x5eed_ba70_0000_0000),
            switches: 0,
            spins: 0,
            spin_gen: u64::MAX,
        }
    }
}

impl State {
    /// Whether the baton is in force (a violation ends it: threads then run freely to
    /// their ends, every msgring call failing).
    pub(crate) fn controlled(&self) -> bool {
        self.sched.is_some() && self.violation.is_none()
    }

    /// Whether thread `i` can use the baton now.
    fn runnable(&self, i: usize) -> bool {
        let t = &self.threads[i];
        t.registered
            && match &t.state {
                TState::Running => true,
                TState::Waiting {
                    seen, timed_out, ..
                } => *seen != self.gen || *timed_out,
                TState::Joining(x) => self.threads[*x].state == TState::Done,
                TState::Done => false,
            }
    }
}

impl SimKernel {
    /// Hands the baton to a runnable thread (picked by the PRNG). With none runnable,
    /// the run is stuck: the deadlock check decides (a timed wait times out, making
    /// its thread runnable, or the run gets its lost-wake-up report).
    pub(crate) fn pass(&self, st: &mut State) {
        loop {
            if !st.controlled() {
                return;
            }
            let cands: Vec<usize> = (0..st.threads.len()).filter(|&i| st.runnable(i)).collect();
            if let Some(sched) = st.sched.as_mut() {
                if !cands.is_empty() {
                    let pick = cands[(sched.rng.next_u64() % cands.len() as u64) as usize];
                    if sched.running != Some(pick) {
                        sched.switches += 1;
                    }
                    sched.running = Some(pick);
                    self.cv.notify_all();
                    return;
                }
                sched.running = None;
            }
            let gen = st.gen;
            self.detect(st);
            if st.violation.is_some() || st.gen == gen {
                // A verdict, or threads the kernel does not schedule may still act.
                self.cv.notify_all();
                return;
            }
            // A timed wait timed out: its thread is runnable now.
        }
    }

    /// A switch point of thread `me`: if it holds the baton, it hands it on (perhaps
    /// to itself) and waits until it has it again.
    pub(crate) fn switch_point<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        me: usize,
    ) -> MutexGuard<'a, State> {
        if !st.controlled() || !st.threads[me].registered {
            return st;
        }
        if st.sched.as_ref().and_then(|s| s.running) == Some(me) {
            self.pass(&mut st);
        }
        self.acquire(st, me)
    }

    /// `sim::yield_now` by thread `me` (std threads): a switch point that also notices a thread
    /// spinning alone, waiting for something no other thread can do.
    #[cfg_attr(any(loom, shuttle), allow(dead_code))]
    pub(crate) fn yield_point<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        me: usize,
    ) -> MutexGuard<'a, State> {
        if !st.controlled() || !st.threads[me].registered {
            return st;
        }
        let alone = (0..st.threads.len()).all(|i| i == me || !st.runnable(i));
        let gen = st.gen;
        let spins = match st.sched.as_mut() {
            Some(s) if alone && s.spin_gen == gen => {
                s.spins += 1;
                s.spins
            }
            Some(s) => {
                s.spins = 0;
                s.spin_gen = gen;
                0
            }
            None => 0,
        };
        if spins >= MAX_SPINS {
            let msg = format!(
                "thread '{}' spins in sim::yield_now and no other thread can run: it waits \
                 for something that cannot happen",
                st.threads[me].name
            );
            self.fail_locked(&mut st, super::ViolationKind::LostWakeup, msg);
            self.cv.notify_all();
            return st;
        }
        self.switch_point(st, me)
    }

    /// Waits until thread `me` holds the baton (or the baton ended).
    pub(crate) fn acquire<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        me: usize,
    ) -> MutexGuard<'a, State> {
        loop {
            if !st.controlled() || !st.threads[me].registered {
                return st;
            }
            let holder = st.sched.as_ref().and_then(|s| s.running);
            if holder == Some(me) {
                return st;
            }
            if holder.is_none() {
                // Nobody holds it (a thread the kernel does not schedule changed
                // something, or the baton was never handed out): take part again.
                self.pass(&mut st);
                if st.sched.as_ref().and_then(|s| s.running) == Some(me) {
                    return st;
                }
            }
            st = self.baton_wait(st, holder);
        }
    }

    #[cfg(not(any(loom, shuttle)))]
    fn baton_wait<'a>(
        &'a self,
        st: MutexGuard<'a, State>,
        holder: Option<usize>,
    ) -> MutexGuard<'a, State> {
        let switches = st.sched.as_ref().map_or(0, |s| s.switches);
        let gen = st.gen;
        let (mut st, to) = self
            .cv
            .wait_timeout(st, self.config.wait_timeout)
            .unwrap_or_else(|e| e.into_inner());
        let same = st.sched.as_ref().map_or(0, |s| s.switches) == switches
            && st.gen == gen
            && st.sched.as_ref().and_then(|s| s.running) == holder;
        if to.timed_out() && same && st.controlled() {
            let who = holder.map_or_else(|| "nobody".to_string(), |h| st.threads[h].name.clone());
            let msg = format!(
                "thread '{who}' has held the scheduler for {:?} without reaching a msgring call: \
                 is it blocked on a lock, channel or condvar msgring cannot see? In a Check, \
                 threads block only in msgring calls and sim::thread joins, and spin with \
                 sim::yield_now()",
                self.config.wait_timeout
            );
            self.fail_locked(&mut st, ViolationKind::WaitTimeout, msg);
            self.cv.notify_all();
        }
        st
    }

    #[cfg(any(loom, shuttle))]
    fn baton_wait<'a>(
        &'a self,
        st: MutexGuard<'a, State>,
        _holder: Option<usize>,
    ) -> MutexGuard<'a, State> {
        self.cv.wait(st).unwrap_or_else(|e| e.into_inner())
    }
}
