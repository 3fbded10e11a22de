//! Shrinking a diverging trace while it keeps diverging the same way, and writing
//! the kernel's events into it as annotations.

use super::diff::{diff_trace_on, TraceDiff};
use super::{KernelBackend, Unavailable};
use crate::trace::{self, Dest, Event, ListItem, Op, SqeSpec, Trace};
use crate::{Profile, Sqe};

// ---- minimizing traces ----------------------------------------------------------------

/// Smaller variants of one trace step (numbers shrunk, flag bits cleared), simplest
/// first.
fn shrink_op(op: &Op) -> Vec<Op> {
    fn bits(v: u32) -> impl Iterator<Item = u32> {
        (0..32).map(|b| 1u32 << b).filter(move |b| v & b != 0)
    }
    fn smaller(v: u32) -> Vec<u32> {
        match v {
            0 => vec![],
            1 => vec![0],
            v => vec![0, 1, v / 2],
        }
    }
    let mut out = Vec::new();
    let sqe_variants = |s: &SqeSpec| -> Vec<SqeSpec> {
        let mut v = Vec::new();
        match s {
            SqeSpec::Nop { user_data, flags } => {
                if *user_data != 0 {
                    v.push(SqeSpec::Nop {
                        user_data: 0,
                        flags: *flags,
                    });
                }
                for b in bits((*flags).into()) {
                    v.push(SqeSpec::Nop {
                        user_data: *user_data,
                        flags: flags & !(b as u8),
                    });
                }
            }
            SqeSpec::MsgData {
                ring_fd,
                result,
                user_data,
                user_flags,
                sqe_user_data,
                flags,
            } => {
                let mk = |result, user_data, user_flags, sqe_user_data, flags| SqeSpec::MsgData {
                    ring_fd: ring_fd.clone(),
                    result,
                    user_data,
                    user_flags,
                    sqe_user_data,
                    flags,
                };
                if *result != 0 {
                    v.push(mk(0, *user_data, *user_flags, *sqe_user_data, *flags));
                }
                if *user_data != 0 {
                    v.push(mk(*result, 0, *user_flags, *sqe_user_data, *flags));
                }
                if user_flags.is_some() {
                    v.push(mk(*result, *user_data, None, *sqe_user_data, *flags));
                }
                if *sqe_user_data != 0 {
                    v.push(mk(*result, *user_data, *user_flags, 0, *flags));
                }
                for b in bits((*flags).into()) {
                    let f = flags & !(b as u8);
                    v.push(mk(*result, *user_data, *user_flags, *sqe_user_data, f));
                }
            }
            SqeSpec::SendFd {
                ring_fd,
                fixed_slot_src,
                dest_slot_index,
                user_data,
                skip_cqe,
                sqe_user_data,
                flags,
            } => {
                let base = SqeSpec::SendFd {
                    ring_fd: ring_fd.clone(),
                    fixed_slot_src: *fixed_slot_src,
                    dest_slot_index: *dest_slot_index,
                    user_data: *user_data,
                    skip_cqe: *skip_cqe,
                    sqe_user_data: *sqe_user_data,
                    flags: *flags,
                };
                let with = |f: &dyn Fn(&mut SqeSpec)| {
                    let mut n = base.clone();
                    f(&mut n);
                    n
                };
                let set = |src: Option<u32>,
                           dst: Option<Dest>,
                           ud: Option<u64>,
                           skip: Option<bool>,
                           sud: Option<u64>,
                           fl: Option<u8>| {
                    with(&|n: &mut SqeSpec| {
                        if let SqeSpec::SendFd {
                            fixed_slot_src,
                            dest_slot_index,
                            user_data,
                            skip_cqe,
                            sqe_user_data,
                            flags,
                            ..
                        } = n
                        {
                            if let Some(x) = src {
                                *fixed_slot_src = x;
                            }
                            if let Some(x) = dst {
                                *dest_slot_index = x;
                            }
                            if let Some(x) = ud {
                                *user_data = x;
                            }
                            if let Some(x) = skip {
                                *skip_cqe = x;
                            }
                            if let Some(x) = sud {
                                *sqe_user_data = x;
                            }
                            if let Some(x) = fl {
                                *flags = x;
                            }
                        }
                    })
                };
                for x in smaller(*fixed_slot_src) {
                    v.push(set(Some(x), None, None, None, None, None));
                }
                if let Dest::Index(i) = dest_slot_index {
                    for x in smaller(*i) {
                        v.push(set(None, Some(Dest::Index(x)), None, None, None, None));
                    }
                }
                if *user_data != 0 {
                    v.push(set(None, None, Some(0), None, None, None));
                }
                if *skip_cqe {
                    v.push(set(None, None, None, Some(false), None, None));
                }
                if *sqe_user_data != 0 {
                    v.push(set(None, None, None, None, Some(0), None));
                }
                for b in bits((*flags).into()) {
                    v.push(set(None, None, None, None, None, Some(flags & !(b as u8))));
                }
            }
            SqeSpec::Raw { fd, sqe } => {
                let fields: [fn(&mut Sqe); 11] = [
                    |q| q.user_data = 0,
                    |q| q.off = 0,
                    |q| q.addr = 0,
                    |q| q.len = 0,
                    |q| q.file_index = 0,
                    |q| q.addr3 = 0,
                    |q| q.pad2 = 0,
                    |q| q.ioprio = 0,
                    |q| q.buf_index = 0,
                    |q| q.personality = 0,
                    |q| q.msg_ring_flags = 0,
                ];
                let mut push = |n: Sqe| {
                    if n != *sqe {
                        v.push(SqeSpec::Raw {
                            fd: fd.clone(),
                            sqe: n,
                        });
                    }
                };
                for f in fields {
                    let mut n = *sqe;
                    f(&mut n);
                    push(n);
                }
                for b in bits(sqe.flags.into()) {
                    push(Sqe {
                        flags: sqe.flags & !(b as u8),
                        ..*sqe
                    });
                }
                for b in bits(sqe.msg_ring_flags) {
                    push(Sqe {
                        msg_ring_flags: sqe.msg_ring_flags & !b,
                        ..*sqe
                    });
                }
            }
        }
        v
    };
    match op {
        Op::Setup {
            ring,
            by,
            entries,
            cq_entries,
            flags,
        } => {
            let mk = |entries, cq_entries, flags| Op::Setup {
                ring: ring.clone(),
                by: by.clone(),
                entries,
                cq_entries,
                flags,
            };
            for b in bits(*flags) {
                out.push(mk(*entries, *cq_entries, flags & !b));
            }
            for e in smaller(*entries).into_iter().filter(|&e| e > 0) {
                out.push(mk(e, *cq_entries, *flags));
            }
            for c in smaller(*cq_entries) {
                out.push(mk(*entries, c, *flags));
            }
        }
        Op::Push { ring, sqe } => {
            for s in sqe_variants(sqe) {
                out.push(Op::Push {
                    ring: ring.clone(),
                    sqe: s,
                });
            }
        }
        Op::SyncMsg { by, sqe } => {
            for s in sqe_variants(sqe) {
                out.push(Op::SyncMsg {
                    by: by.clone(),
                    sqe: s,
                });
            }
        }
        Op::Enter {
            by,
            ring,
            to_submit,
            min_complete,
            flags,
        } => {
            let mk = |to_submit, min_complete, flags| Op::Enter {
                by: by.clone(),
                ring: ring.clone(),
                to_submit,
                min_complete,
                flags,
            };
            for m in smaller(*min_complete) {
                out.push(mk(*to_submit, m, *flags));
            }
            for t in smaller(*to_submit) {
                out.push(mk(t, *min_complete, *flags));
            }
            for b in bits(*flags) {
                out.push(mk(*to_submit, *min_complete, flags & !b));
            }
        }
        Op::RegisterFiles { by, ring, files } if files.len() > 1 => {
            out.push(Op::RegisterFiles {
                by: by.clone(),
                ring: ring.clone(),
                files: files[..files.len() / 2].to_vec(),
            });
        }
        Op::RegisterSparse { by, ring, nr } => {
            for n in smaller(*nr) {
                out.push(Op::RegisterSparse {
                    by: by.clone(),
                    ring: ring.clone(),
                    nr: n,
                });
            }
        }
        Op::UpdateFiles {
            by,
            ring,
            off,
            files,
        } => {
            let mk = |off, files: &[ListItem]| Op::UpdateFiles {
                by: by.clone(),
                ring: ring.clone(),
                off,
                files: files.to_vec(),
            };
            for o in smaller(*off) {
                out.push(mk(o, files));
            }
            if files.len() > 1 {
                out.push(mk(*off, &files[..files.len() / 2]));
            }
        }
        Op::AllocRange { by, ring, off, len } => {
            for o in smaller(*off) {
                out.push(Op::AllocRange {
                    by: by.clone(),
                    ring: ring.clone(),
                    off: o,
                    len: *len,
                });
            }
            for l in smaller(*len) {
                out.push(Op::AllocRange {
                    by: by.clone(),
                    ring: ring.clone(),
                    off: *off,
                    len: l,
                });
            }
        }
        Op::Query { ring, slot } => {
            for s in smaller(*slot) {
                out.push(Op::Query {
                    ring: ring.clone(),
                    slot: s,
                });
            }
        }
        _ => {}
    }
    out
}

/// Whether a candidate trace is well formed: every name it uses is created by an
/// earlier step (the parser checks that).
fn well_formed(t: &Trace) -> bool {
    trace::parse(&t.to_string()).is_ok()
}

/// The steps of `t` at `keep`.
fn subtrace(t: &Trace, keep: &[usize]) -> Trace {
    Trace {
        steps: keep.iter().map(|&i| t.steps[i].clone()).collect(),
        ..t.clone()
    }
}

/// Shrinks a diverging trace while it keeps diverging with the same [`super::signature()`]:
/// delta debugging over its steps (a candidate that uses a name whose creating step
/// was dropped is discarded), then per-step simplification of numbers and flag bits,
/// repeated until nothing changes. At most `max_runs` kernel runs. Annotations,
/// comments and faults are dropped. Returns the trace unchanged (without annotations)
/// if it does not diverge. A divergence that does not reproduce on every run gets up
/// to three runs per candidate.
pub fn minimize_trace(
    trace: &Trace,
    profile: Profile,
    max_runs: usize,
) -> Result<Trace, Unavailable> {
    let mut cur = Trace {
        preamble: Vec::new(),
        trailer: Vec::new(),
        profile: trace.profile,
        steps: trace
            .steps
            .iter()
            .map(|s| trace::TraceStep::new(s.op.clone()))
            .collect(),
    };
    // One kernel backend for every run, reset in between.
    let kb = std::cell::RefCell::new(KernelBackend::for_this_thread()?);
    let sig_of = |t: &Trace| -> Result<Option<String>, Unavailable> {
        let mut kb = kb.borrow_mut();
        kb.reset()?;
        Ok(diff_trace_on(t, profile, &mut kb).signature(t))
    };
    let Some(target) = sig_of(&cur)? else {
        return Ok(cur);
    };
    // A timing-dependent divergence (io-wq, SQPOLL and task_work races) does not show
    // on every run: then a candidate gets three tries.
    let mut tries = 1;
    for _ in 0..2 {
        if sig_of(&cur)?.as_deref() != Some(target.as_str()) {
            tries = 3;
        }
    }
    let diverges = |cand: &Trace| -> Result<bool, Unavailable> {
        if !well_formed(cand) {
            return Ok(false);
        }
        for _ in 0..tries {
            if sig_of(cand)?.as_deref() == Some(target.as_str()) {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let runs_left = |n: &usize| *n < max_runs;
    let mut used = 0usize;
    loop {
        let before = cur.clone();
        // ddmin over the steps.
        let mut n = 2usize;
        while cur.steps.len() >= 2 && runs_left(&used) {
            let len = cur.steps.len();
            let chunk = len.div_ceil(n);
            let mut reduced = false;
            for start in (0..len).step_by(chunk) {
                if !runs_left(&used) {
                    break;
                }
                let keep: Vec<usize> = (0..len)
                    .filter(|j| *j < start || *j >= start + chunk)
                    .collect();
                if keep.is_empty() {
                    continue;
                }
                let cand = subtrace(&cur, &keep);
                used += 1;
                if diverges(&cand)? {
                    cur = cand;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n >= len {
                    break;
                }
                n = (2 * n).min(len);
            }
        }
        // Simplify each step.
        let mut i = 0;
        while i < cur.steps.len() && runs_left(&used) {
            for v in shrink_op(&cur.steps[i].op) {
                if !runs_left(&used) {
                    break;
                }
                let mut cand = cur.clone();
                cand.steps[i].op = v;
                used += 1;
                if diverges(&cand)? {
                    cur = cand;
                    break;
                }
            }
            i += 1;
        }
        if cur == before || !runs_left(&used) {
            break;
        }
    }
    Ok(cur)
}

/// `trace` annotated with the kernel's events (`=>` on every compared step whose
/// event is not a plain `bound`, and on the diverging step), with the model's event
/// as a comment above the divergence.
pub fn annotate_with_kernel(trace: &Trace, d: &TraceDiff) -> Trace {
    let mut t = trace.clone();
    let last = d
        .divergence
        .or(d.stopped.as_ref().map(|s| s.0))
        .unwrap_or(t.steps.len());
    for (i, s) in t.steps.iter_mut().enumerate() {
        s.expect = None;
        let Some(k) = d.kernel.events.get(i) else {
            continue;
        };
        if i > last || matches!(k, Event::Unmodelled) {
            continue;
        }
        if Some(i) == d.divergence {
            let m = d
                .model
                .events
                .get(i)
                .map_or("(none)".into(), |m| m.to_string());
            s.comments
                .push(format!("# DIVERGENCE: the model gives `{m}`"));
            s.expect = Some(k.clone());
        } else if !matches!(k, Event::Bound(_)) {
            s.expect = Some(k.clone());
        }
    }
    t
}
