//! The timeline: one lane per ring over the steps (the model's state after each step),
//! a row per side for the step's event, the choices taken, and the first divergence
//! as a red band with its marker.

use super::{ReportInput, RingSnap};
use crate::trace::{Event, FdRef, Op, SqeSpec};
use std::fmt::Write as _;

/// Colours, shared with the legend of the page.
pub(super) const GREEN: &str = "#2ca02c";
pub(super) const BLUE: &str = "#1f77b4";
pub(super) const ORANGE: &str = "#e6550d";
pub(super) const PURPLE: &str = "#9467bd";
pub(super) const RED: &str = "#d62728";
pub(super) const AGREE: &str = "#c7e9c0";

/// Steps drawn at most: a longer trace shows a window around its divergence.
pub(super) const MAX_COLUMNS: usize = 400;

const LEFT: f64 = 120.0;
const TOP: f64 = 44.0;
const LANE: f64 = 84.0;
const ROW: f64 = 22.0;
/// Height of a full CQ bar.
const BAR: f64 = 40.0;

/// XML/HTML text escaping (trace comments and names reach the page).
pub(super) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The steps the timeline draws: all, or [`MAX_COLUMNS`] around the divergence.
pub(super) fn window(input: &ReportInput<'_>) -> std::ops::Range<usize> {
    let n = input.trace.steps.len();
    if n <= MAX_COLUMNS {
        return 0..n;
    }
    let centre = input.divergence.unwrap_or(0);
    let start = centre
        .saturating_sub(MAX_COLUMNS * 3 / 4)
        .min(n - MAX_COLUMNS);
    start..start + MAX_COLUMNS
}

/// The lane a step acts on (by ring name), and a one-letter glyph for it.
fn action(op: &Op) -> Option<(&str, &'static str)> {
    fn name(f: &FdRef) -> Option<&str> {
        match f {
            FdRef::Name(n) => Some(n.as_str()),
            FdRef::Vfd(_) => None,
        }
    }
    let (ring, glyph) = match op {
        Op::Setup { ring, .. } => (Some(ring.as_str()), "S"),
        Op::Push { ring, .. } => (name(ring), "P"),
        Op::Enter { ring, .. } => (name(ring), "E"),
        Op::Reap { ring, .. } => (name(ring), "R"),
        Op::RegisterFiles { ring, .. }
        | Op::RegisterSparse { ring, .. }
        | Op::UpdateFiles { ring, .. }
        | Op::UnregisterFiles { ring, .. }
        | Op::AllocRange { ring, .. } => (name(ring), "F"),
        Op::Enable { ring, .. } => (name(ring), "N"),
        Op::Query { ring, .. } => (name(ring), "Q"),
        Op::Observe { ring } => (name(ring), "O"),
        Op::SyncMsg { sqe, .. } => (sqe.fd_operand().and_then(name), "M"),
        Op::Register { fd, .. } => (name(fd), "G"),
        _ => (None, ""),
    };
    ring.map(|r| (r, glyph))
}

/// Whether a push puts a MSG_RING SQE on the ring (drawn filled).
fn is_msg(op: &Op) -> bool {
    matches!(
        op,
        Op::Push {
            sqe: SqeSpec::MsgData { .. } | SqeSpec::SendFd { .. },
            ..
        }
    )
}

/// What changed on a ring during a step.
struct Delta {
    posted: u32,
    reaped: u32,
    overflow: i64,
    work: i64,
}

fn delta(before: &RingSnap, after: &RingSnap) -> Delta {
    Delta {
        posted: after.cq_tail.wrapping_sub(before.cq_tail),
        reaped: after.cq_head.wrapping_sub(before.cq_head),
        overflow: i64::from(after.overflow) - i64::from(before.overflow),
        work: i64::from(after.local_work) - i64::from(before.local_work),
    }
}

fn tooltip(name: &str, i: usize, s: &RingSnap, d: &Delta) -> String {
    let mut t = format!(
        "{name} after step {i}: CQ {}/{} ready",
        s.cq_ready(),
        s.cq_entries
    );
    if d.posted > 0 {
        let _ = write!(t, ", {} posted", d.posted);
    }
    if d.reaped > 0 {
        let _ = write!(t, ", {} reaped", d.reaped);
    }
    if s.overflow > 0 || d.overflow != 0 {
        let _ = write!(t, "; overflow list {}", s.overflow);
        if d.overflow > 0 {
            let _ = write!(t, " ({} overflowed)", d.overflow);
        } else if d.overflow < 0 {
            let _ = write!(t, " ({} flushed)", -d.overflow);
        }
    }
    if s.dropped > 0 {
        let _ = write!(t, "; {} dropped", s.dropped);
    }
    if s.local_work > 0 || d.work != 0 {
        let _ = write!(t, "; local task_work {}", s.local_work);
        if d.work > 0 {
            let _ = write!(t, " ({} queued)", d.work);
        } else if d.work < 0 {
            let _ = write!(t, " ({} run)", -d.work);
        }
    }
    if s.sq_pending > 0 {
        let _ = write!(t, "; {} SQEs pending", s.sq_pending);
    }
    if s.table_size > 0 {
        let files: Vec<String> = s.table.iter().map(|(k, f)| format!("{k}:{f}")).collect();
        let _ = write!(
            t,
            "; table {}/{} [{}]",
            s.table.len(),
            s.table_size,
            files.join(" ")
        );
    }
    t
}

/// The event rows' colour for step `i`.
fn event_colour(
    input: &ReportInput<'_>,
    i: usize,
    m: Option<&Event>,
    o: Option<&Event>,
) -> &'static str {
    match (m, o) {
        (Some(Event::Unmodelled), _) | (_, Some(Event::Unmodelled)) => "#eeeeee",
        _ if input.divergence == Some(i) => RED,
        _ if input.divergence.is_some_and(|d| i > d) => "#e0e0e0",
        (Some(a), Some(b)) if a == b => AGREE,
        (Some(_), None) => AGREE,
        _ => "#e0e0e0",
    }
}

/// The timeline SVG.
pub(super) fn timeline(input: &ReportInput<'_>) -> String {
    let steps = window(input);
    let n = steps.len().max(1);
    let w = (1200.0 / n as f64).clamp(9.0, 40.0);
    let rings = &input.model.rings;
    let has_choices = !input.choices.is_empty();
    let rows = if input.other.is_some() { 2 } else { 1 } + usize::from(has_choices);
    let lanes_h = LANE * rings.len().max(1) as f64;
    let height = TOP + lanes_h + ROW * rows as f64 + 16.0;
    let width = LEFT + w * n as f64 + 20.0;
    let x = |i: usize| LEFT + w * (i - steps.start) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="timeline" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    // Step index header and column guides.
    let every = ((28.0 / w).ceil() as usize).max(1);
    for i in steps.clone() {
        let line = input.trace.steps[i].line;
        if (i - steps.start) % 2 == 1 {
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{TOP}" width="{w:.1}" height="{:.1}" fill="#f7f7f7"/>"##,
                x(i),
                lanes_h + ROW * rows as f64
            );
        }
        if (i - steps.start) % every == 0 {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555"><title>step {i}, line {line}</title>{i}</text>"##,
                x(i) + w / 2.0,
                TOP - 6.0
            );
        }
    }
    // Divergence band first, so lanes draw over it.
    if let Some(d) = input.divergence.filter(|d| steps.contains(d)) {
        let _ = write!(
            s,
            r#"<rect id="divergence-band" x="{:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{RED}" fill-opacity="0.16" stroke="{RED}" stroke-width="2"/>"#,
            x(d),
            TOP - 2.0,
            lanes_h + ROW * rows as f64 + 4.0
        );
        let label = format!("first divergence: step {d}");
        let lw = 7.0 * label.len() as f64;
        let lx = (x(d) + w / 2.0 - lw / 2.0).clamp(2.0, width - lw - 2.0);
        let _ = write!(
            s,
            r##"<g id="divergence-marker"><rect x="{lx:.1}" y="2" width="{lw:.1}" height="18" rx="3" fill="{RED}"/><text x="{:.1}" y="15" text-anchor="middle" fill="#fff" font-weight="bold">{}</text></g>"##,
            lx + lw / 2.0,
            esc(&label)
        );
    }
    // Lanes.
    for (k, ring) in rings.iter().enumerate() {
        let top = TOP + LANE * k as f64;
        let base = top + 12.0 + BAR + 4.0;
        let _ = write!(
            s,
            r##"<line x1="0" x2="{width:.0}" y1="{:.1}" y2="{:.1}" stroke="#ccc"/><text x="8" y="{:.1}" font-weight="bold" font-size="13">{}</text><text x="8" y="{:.1}" fill="#666">{}</text>"##,
            top + LANE,
            top + LANE,
            top + 28.0,
            esc(&ring.name),
            top + 44.0,
            esc(&short_flags(ring.flags))
        );
        for i in steps.clone() {
            let Some(snap) = input.model.after.get(i).and_then(|a| a.get(k)) else {
                continue;
            };
            let zero = RingSnap {
                cq_entries: snap.cq_entries,
                ..RingSnap::default()
            };
            let before = if i == 0 || ring.created_at == i {
                &zero
            } else {
                input.model.after[i - 1].get(k).unwrap_or(&zero)
            };
            let d = delta(before, snap);
            let cx = x(i) + w / 2.0;
            let bw = (w * 0.42).max(3.0);
            // CQ capacity outline and fill level.
            let entries = f64::from(snap.cq_entries.max(1));
            let fill = BAR * f64::from(snap.cq_ready().min(snap.cq_entries)) / entries;
            let _ = write!(
                s,
                r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="{bw:.1}" height="{BAR}" fill="#fff" stroke="#bbb"/>"##,
                esc(&tooltip(&ring.name, i, snap, &d)),
                cx - bw,
                top + 12.0
            );
            if fill > 0.0 {
                let _ = write!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="{bw:.1}" height="{fill:.1}" fill="{GREEN}"/>"#,
                    cx - bw,
                    top + 12.0 + BAR - fill
                );
            }
            // SQEs pushed and not yet submitted: a thin bar on the left.
            if snap.sq_pending > 0 {
                let q = BAR * f64::from(snap.sq_pending.min(snap.sq_entries.max(1)))
                    / f64::from(snap.sq_entries.max(1));
                let _ = write!(
                    s,
                    r##"<rect class="sq" x="{:.1}" y="{:.1}" width="3" height="{q:.1}" fill="#555"/>"##,
                    cx - bw - 5.0,
                    top + 12.0 + BAR - q
                );
            }
            // Overflow list beside it (same scale, capped at the bar).
            if snap.overflow > 0 {
                let o = (BAR * f64::from(snap.overflow) / entries).min(BAR);
                let _ = write!(
                    s,
                    r#"<rect class="overflow" x="{cx:.1}" y="{:.1}" width="{bw:.1}" height="{o:.1}" fill="{ORANGE}"/>"#,
                    top + 12.0 + BAR - o
                );
            }
            // Posted / reaped ticks on the bar's edges.
            if d.posted > 0 {
                let _ = write!(
                    s,
                    r#"<path d="M{:.1},{:.1} l4,-5 l4,5 z" fill="{GREEN}"/>"#,
                    cx - bw - 1.0,
                    top + 10.0
                );
            }
            if d.reaped > 0 {
                let _ = write!(
                    s,
                    r#"<path d="M{:.1},{:.1} l4,5 l4,-5 z" fill="{BLUE}"/>"#,
                    cx - bw - 1.0,
                    base + 1.0
                );
            }
            // Local task_work pending: dots under the bar.
            let dots = snap.local_work.min(4);
            for j in 0..dots {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.6" fill="{PURPLE}"/>"#,
                    cx - bw + 3.0 + 6.0 * f64::from(j % 2),
                    base + 10.0 + 6.0 * f64::from(j / 2)
                );
            }
            // Fixed-file table: a strip of occupied/total.
            if snap.table_size > 0 {
                let tw = bw * 2.0;
                let occ = tw * snap.table.len() as f64 / f64::from(snap.table_size);
                let _ = write!(
                    s,
                    r##"<rect x="{:.1}" y="{:.1}" width="{tw:.1}" height="4" fill="#fff" stroke="#999" stroke-width="0.5"/><rect x="{:.1}" y="{:.1}" width="{occ:.1}" height="4" fill="#555"/>"##,
                    cx - bw,
                    top + LANE - 8.0,
                    cx - bw,
                    top + LANE - 8.0
                );
            }
            s.push_str("</g>");
            if w >= 26.0 && (d.posted > 0 || d.reaped > 0 || d.overflow != 0) {
                let mut label = String::new();
                if d.posted > 0 {
                    let _ = write!(label, "+{}", d.posted);
                }
                if d.reaped > 0 {
                    let _ = write!(label, "-{}", d.reaped);
                }
                let _ = write!(
                    s,
                    r##"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="9" fill="#333">{}</text>"##,
                    top + LANE - 12.0,
                    esc(&label)
                );
            }
        }
    }
    // Step glyphs and message arrows.
    for i in steps.clone() {
        let op = &input.trace.steps[i].op;
        let Some((ring, glyph)) = action(op) else {
            continue;
        };
        let Some(k) = rings.iter().position(|r| r.name == ring) else {
            continue;
        };
        let top = TOP + LANE * k as f64;
        let cx = x(i) + w / 2.0;
        let fill = if is_msg(op) { "#333" } else { "#fff" };
        let text = if is_msg(op) { "#fff" } else { "#333" };
        let _ = write!(
            s,
            r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="11" height="11" rx="2" fill="{fill}" stroke="#333"/><text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="9" fill="{text}">{glyph}</text></g>"##,
            esc(&op.to_string()),
            cx - 5.5,
            top + 0.5,
            top + 9.5
        );
        // An enter that posts on other rings: an arrow to each.
        if matches!(op, Op::Enter { .. }) {
            for (j, _) in rings.iter().enumerate().filter(|(j, _)| *j != k) {
                let (Some(a), Some(b)) = (
                    input.model.after.get(i).and_then(|a| a.get(j)),
                    (i > 0).then(|| input.model.after[i - 1].get(j)).flatten(),
                ) else {
                    continue;
                };
                let d = delta(b, a);
                if d.posted > 0 || d.overflow > 0 || d.work > 0 {
                    let y0 = top + 12.0;
                    let y1 = TOP + LANE * j as f64 + 12.0;
                    let _ = write!(
                        s,
                        r#"<path class="message" d="M{cx:.1},{y0:.1} L{cx:.1},{y1:.1}" stroke="{BLUE}" stroke-width="1.4" stroke-dasharray="3,2" marker-end="url(#arrow)"/>"#
                    );
                }
            }
        }
    }
    // Event rows.
    let mut y = TOP + lanes_h;
    let sides: Vec<(&str, Option<&crate::trace::Outcome>)> =
        std::iter::once(("model", Some(&input.model.outcome)))
            .chain(
                input
                    .other
                    .as_ref()
                    .map(|o| (input.other_label.as_str(), Some(o))),
            )
            .collect();
    for (label, outcome) in &sides {
        let _ = write!(
            s,
            r##"<text x="8" y="{:.1}" fill="#333">{}</text>"##,
            y + 15.0,
            esc(&truncate(label, 18))
        );
        for i in steps.clone() {
            let m = input.model.outcome.events.get(i);
            let o = input.other.as_ref().and_then(|o| o.events.get(i));
            let colour = event_colour(input, i, m, o);
            let e = outcome.and_then(|o| o.events.get(i));
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}" stroke="#fff"><title>step {i} ({label}): {}</title></rect>"##,
                x(i) + 1.0,
                y + 3.0,
                (w - 2.0).max(1.0),
                ROW - 6.0,
                esc(&e.map_or("(none)".to_string(), |e| e.to_string()))
            );
        }
        y += ROW;
    }
    if has_choices {
        let _ = write!(
            s,
            r##"<text x="8" y="{:.1}" fill="#333">choices</text>"##,
            y + 15.0
        );
        for c in input.choices.iter().filter(|c| steps.contains(&c.step)) {
            let cx = x(c.step) + w / 2.0;
            let _ = write!(
                s,
                r##"<g class="choice"><title>step {}: {} = {}</title><path d="M{cx:.1},{:.1} l6,7 l-6,7 l-6,-7 z" fill="#17becf" stroke="#0b6c75"/></g>"##,
                c.step,
                esc(&c.point),
                esc(&c.option),
                y + 3.0
            );
        }
    }
    s.push_str(&format!(
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{BLUE}"/></marker></defs>"#
    ));
    s.push_str("</svg>");
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The setup flags that matter in a lane label, short.
fn short_flags(flags: u32) -> String {
    use crate::uapi::setup::*;
    let names = [
        (DEFER_TASKRUN, "DEFER"),
        (SINGLE_ISSUER, "SI"),
        (IOPOLL, "IOPOLL"),
        (SQPOLL, "SQPOLL"),
        (COOP_TASKRUN, "COOP"),
        (CQE32, "CQE32"),
        (R_DISABLED, "DISABLED"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join("|")
}
