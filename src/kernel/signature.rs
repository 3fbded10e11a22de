//! Signatures: what a divergence is, abstracted from its numbers, so that one model bug
//! gives one signature however many traces show it.

use crate::trace::{self, Event, Op, SqeSpec};
use crate::Cqe;

fn ret_class(r: i32) -> String {
    match r {
        0 => "0".into(),
        r if r > 0 => ">0".into(),
        r => crate::errno::fmt_res(r),
    }
}

fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::Ret(_) => "ret",
        Event::Bound(_) => "bound",
        Event::Cqes(_) | Event::Cqes32(_) => "cqes",
        Event::Slot(_) => "slot",
        Event::View(_) => "view",
        Event::Refused => "refused",
        Event::Unmodelled => "unmodelled",
        Event::Unbound(_) => "unbound",
        Event::Unexpected => "unexpected",
    }
}

/// What differs between two events, abstracted from the exact numbers: `ret 0 vs
/// -EBUSY`, `cqes order`, `cqes count < kernel`, `view sq_flags NEED_WAKEUP`.
fn event_diff(m: &Event, k: &Event) -> String {
    let key = |c: &Cqe| (c.user_data, c.res, c.flags);
    match (m, k) {
        (Event::Ret(a), Event::Ret(b)) => format!("ret {} vs {}", ret_class(*a), ret_class(*b)),
        (Event::Bound(_), Event::Ret(b)) => format!("bound vs ret {}", ret_class(*b)),
        (Event::Ret(a), Event::Bound(_)) => format!("ret {} vs bound", ret_class(*a)),
        (Event::Cqes(a), Event::Cqes(b)) => {
            if a.len() != b.len() {
                let mut sa: Vec<_> = a.iter().map(key).collect();
                let mut sb: Vec<_> = b.iter().map(key).collect();
                sa.sort_unstable();
                sb.sort_unstable();
                let sub = |x: &[(u64, i32, u32)], y: &[(u64, i32, u32)]| {
                    x.iter().all(|e| y.binary_search(e).is_ok())
                };
                let rel = if a.len() < b.len() { "<" } else { ">" };
                let extra = if sub(&sa, &sb) || sub(&sb, &sa) {
                    ""
                } else {
                    " (and different)"
                };
                return format!("cqes count model {rel} kernel{extra}");
            }
            let mut sa: Vec<_> = a.iter().map(key).collect();
            let mut sb: Vec<_> = b.iter().map(key).collect();
            sa.sort_unstable();
            sb.sort_unstable();
            if sa == sb {
                return "cqes order".into();
            }
            match a.iter().zip(b).find(|(x, y)| x != y) {
                Some((x, y)) if x.user_data != y.user_data => "cqes user_data".into(),
                Some((x, y)) if x.res != y.res => {
                    format!("cqes res {} vs {}", ret_class(x.res), ret_class(y.res))
                }
                Some((x, y)) => format!("cqes flags {:#x} vs {:#x}", x.flags, y.flags),
                None => "cqes".into(),
            }
        }
        (Event::View(a), Event::View(b)) => {
            let mut parts = Vec::new();
            if a.sq_flags != b.sq_flags {
                parts.push(format!(
                    "sq_flags {}",
                    trace::fmt_flags(a.sq_flags ^ b.sq_flags, trace::SQ_FLAGS)
                ));
            }
            if a.cq_overflow != b.cq_overflow {
                parts.push("cq_overflow".into());
            }
            if a.ready != b.ready {
                let rel = if a.ready < b.ready { "<" } else { ">" };
                parts.push(format!("ready model {rel} kernel"));
            }
            if a.overflow != b.overflow {
                parts.push("overflow".into());
            }
            if a.table != b.table {
                parts.push("table".into());
            }
            format!("view {}", parts.join(" "))
        }
        (Event::Slot(a), Event::Slot(b)) => match (a, b) {
            (Some(_), None) => "slot full vs empty".into(),
            (None, Some(_)) => "slot empty vs full".into(),
            _ => "slot other file".into(),
        },
        (a, b) => format!("{} vs {}", event_kind(a), event_kind(b)),
    }
}

/// A rule-ish signature of a divergence: the step kind (and SQE kind) and an
/// abstraction of what differs (model first). One model bug tends to produce one
/// signature, whatever the numbers.
pub fn signature(op: &Op, model: &Event, kernel: &Event) -> String {
    let what = match op {
        Op::Push { sqe, .. } | Op::SyncMsg { sqe, .. } => {
            let kind = match sqe {
                SqeSpec::Nop { .. } => "nop".to_string(),
                SqeSpec::MsgData { .. } => "msg_data".to_string(),
                SqeSpec::SendFd { .. } => "send_fd".to_string(),
                SqeSpec::Raw { sqe, .. } => format!("sqe opcode={}", sqe.opcode),
            };
            format!("{} {kind}", op.keyword())
        }
        Op::Setup { flags, .. } => {
            format!("setup {}", trace::fmt_flags(*flags, trace::SETUP_FLAGS))
        }
        Op::Enter { flags, .. } => {
            format!("enter {}", trace::fmt_flags(*flags, trace::ENTER_FLAGS))
        }
        op => op.keyword().to_string(),
    };
    format!("{what}: {}", event_diff(model, kernel))
}
