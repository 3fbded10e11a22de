//! The page around the timeline: title and verdict, legend, the divergence up close
//! (both sides' events with the differing fields marked), and the table of steps.

use super::svg::{self, esc, AGREE, BLUE, GREEN, ORANGE, PURPLE, RED};
use super::ReportInput;
use crate::errno::fmt_res;
use crate::trace::{Event, View};
use crate::Cqe;
use std::fmt::Write as _;

const STYLE: &str = "
body { font-family: sans-serif; margin: 16px 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px 0; }
h2 { font-size: 16px; margin: 22px 0 6px 0; }
.verdict { font-size: 15px; padding: 6px 10px; border-radius: 4px; display: inline-block; }
.verdict.diverge { background: #fde0e0; border: 2px solid #d62728; }
.verdict.agree { background: #e5f5e0; border: 2px solid #2ca02c; }
.notes { color: #555; margin: 6px 0; padding-left: 18px; }
.scroll { overflow-x: auto; border: 1px solid #ddd; padding: 4px; }
.legend span { display: inline-block; margin-right: 14px; }
.sw { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin-right: 4px; border: 1px solid #999; }
code, .mono { font-family: monospace; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: 2px 6px; font-size: 12px; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.diff { background: #ffd6d6; outline: 2px solid #d62728; outline-offset: -2px; font-weight: bold; }
tr.div td { background: #fde0e0; }
tr.div td.diff { background: #ffb3b3; }
tr.after td { color: #999; }
.field { display: inline-block; background: #d62728; color: #fff; border-radius: 3px; padding: 0 5px; margin: 0 3px; font-family: monospace; }
.steps td:nth-child(3), .steps td:nth-child(4), .steps td:nth-child(5) { font-family: monospace; }
";

/// The whole page.
pub fn render(input: &ReportInput<'_>) -> String {
    let mut p = String::with_capacity(64 * 1024);
    let _ = writeln!(p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>msgring: {}</title><style>{STYLE}</style></head><body>",
        esc(&input.title)
    );
    let _ = writeln!(p, "<h1>{}</h1>", esc(&input.title));
    let model_label = input.model.label.clone();
    let steps = input.trace.steps.len();
    match (input.divergence, &input.other) {
        (Some(d), _) => {
            let line = input.trace.steps.get(d).map_or(0, |s| s.line);
            let _ = writeln!(p, "<p class=\"verdict diverge\">{} and {} <b>diverge at step {d}</b> (line {line}) of {steps}: <a href=\"#divergence\">see below</a></p>",
                esc(&model_label),
                esc(&input.other_label)
            );
        }
        (None, Some(_)) => {
            let _ = writeln!(
                p,
                "<p class=\"verdict agree\">{} and {} agree on all {steps} steps</p>",
                esc(&model_label),
                esc(&input.other_label)
            );
        }
        (None, None) => {
            let _ = writeln!(
                p,
                "<p class=\"verdict agree\">{} alone, {steps} steps</p>",
                esc(&model_label)
            );
        }
    }
    if !input.notes.is_empty() {
        p.push_str("<ul class=\"notes\">");
        for n in &input.notes {
            let _ = write!(p, "<li>{}</li>", esc(n));
        }
        p.push_str("</ul>\n");
    }
    legend(&mut p, input);
    let window = svg::window(input);
    if window.len() < steps {
        let _ = write!(
            p,
            "<p class=\"notes\">Steps {}..{} of {steps} are drawn (at most {} around the divergence).</p>",
            window.start,
            window.end - 1,
            svg::MAX_COLUMNS
        );
    }
    let _ = writeln!(p, "<div class=\"scroll\">{}</div>", svg::timeline(input));
    if let (Some(d), Some(other)) = (input.divergence, &input.other) {
        divergence(&mut p, input, d, other, &model_label);
    }
    step_table(&mut p, input, window, &model_label);
    let _ = writeln!(p, "<p class=\"notes\">msgring {}: self-contained page, no scripts, no network.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    p
}

fn legend(p: &mut String, input: &ReportInput<'_>) {
    let sw = |colour: &str, what: &str| {
        format!("<span><span class=\"sw\" style=\"background:{colour}\"></span>{what}</span>")
    };
    p.push_str("<p class=\"legend\">");
    p.push_str(&sw("#555", "SQEs pushed, not yet submitted (thin bar)"));
    p.push_str(&sw(GREEN, "CQEs ready (bar: CQ capacity; ▲ posted)"));
    p.push_str(&sw(BLUE, "▼ reaped, ⇣ message to another ring"));
    p.push_str(&sw(ORANGE, "overflow list"));
    p.push_str(&sw(PURPLE, "local task_work pending"));
    p.push_str(&sw(
        "#555",
        "fixed-file slots in use (strip under the lane)",
    ));
    p.push_str(&sw(AGREE, "events agree"));
    p.push_str(&sw(RED, "first divergence"));
    p.push_str("<span>glyphs: S setup, P push (filled: MSG_RING), E enter, R reap, F files, M sync msg, G register, O observe, Q query</span>");
    if !input.choices.is_empty() {
        p.push_str(&sw(
            "#17becf",
            "choice taken by the model (hover for point = option)",
        ));
    }
    p.push_str("</p>\n");
}

/// The fields in which two events differ, as paths (`cqes[1].user_data`).
pub(super) fn differing_fields(a: &Event, b: &Event) -> Vec<String> {
    let mut f = Vec::new();
    match (a, b) {
        (Event::Ret(x), Event::Ret(y)) if x != y => f.push("ret".into()),
        (Event::Cqes(x), Event::Cqes(y)) => cqe_fields("cqes", x, y, &mut f),
        (Event::Cqes32(x), Event::Cqes32(y)) => {
            let (a, b): (Vec<Cqe>, Vec<Cqe>) = (
                x.iter().map(|c| c.0).collect(),
                y.iter().map(|c| c.0).collect(),
            );
            cqe_fields("cqes", &a, &b, &mut f);
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p.1 != q.1 {
                    f.push(format!("cqes[{i}].extra"));
                }
            }
        }
        (Event::View(x), Event::View(y)) => view_fields(x, y, &mut f),
        (Event::Slot(x), Event::Slot(y)) if x != y => f.push("slot".into()),
        (Event::Bound(x), Event::Bound(y)) if x != y => f.push("bound".into()),
        (Event::Unbound(x), Event::Unbound(y)) if x != y => f.push("unbound".into()),
        (x, y) if std::mem::discriminant(x) != std::mem::discriminant(y) => f.push("kind".into()),
        _ => {}
    }
    f
}

fn cqe_fields(what: &str, x: &[Cqe], y: &[Cqe], f: &mut Vec<String>) {
    if x.len() != y.len() {
        f.push(format!("{what}.len"));
    }
    for i in 0..x.len().max(y.len()) {
        match (x.get(i), y.get(i)) {
            (Some(a), Some(b)) => {
                if a.user_data != b.user_data {
                    f.push(format!("{what}[{i}].user_data"));
                }
                if a.res != b.res {
                    f.push(format!("{what}[{i}].res"));
                }
                if a.flags != b.flags {
                    f.push(format!("{what}[{i}].flags"));
                }
            }
            _ => f.push(format!("{what}[{i}]")),
        }
    }
}

fn view_fields(x: &View, y: &View, f: &mut Vec<String>) {
    if x.sq_flags != y.sq_flags {
        f.push("sq_flags".into());
    }
    if x.cq_overflow != y.cq_overflow {
        f.push("cq_overflow".into());
    }
    if x.ready != y.ready {
        f.push("ready".into());
    }
    cqe_fields("overflow", &x.overflow, &y.overflow, f);
    if x.table != y.table {
        f.push("table".into());
    }
}

fn cell(text: String, diff: bool) -> String {
    if diff {
        format!("<td class=\"diff\">{}</td>", esc(&text))
    } else {
        format!("<td>{}</td>", esc(&text))
    }
}

/// Two CQE lists side by side, row by row, each differing field marked.
fn cqe_table(
    p: &mut String,
    what: &str,
    labels: (&str, &str),
    x: &[Cqe],
    y: &[Cqe],
    fields: &[String],
) {
    let _ = write!(
        p,
        "<table class=\"cqes\"><tr><th>{what}</th><th colspan=3>{}</th><th colspan=3>{}</th></tr><tr><th>#</th><th>user_data</th><th>res</th><th>flags</th><th>user_data</th><th>res</th><th>flags</th></tr>",
        esc(labels.0),
        esc(labels.1)
    );
    let marked = |i: usize, field: &str| {
        fields
            .iter()
            .any(|f| *f == format!("{what}[{i}].{field}") || *f == format!("{what}[{i}]"))
    };
    for i in 0..x.len().max(y.len()) {
        p.push_str(&format!("<tr><td>{i}</td>"));
        for c in [x.get(i), y.get(i)] {
            match c {
                Some(c) => {
                    p.push_str(&cell(format!("{:#x}", c.user_data), marked(i, "user_data")));
                    p.push_str(&cell(fmt_res(c.res), marked(i, "res")));
                    p.push_str(&cell(format!("{:#x}", c.flags), marked(i, "flags")));
                }
                None => p.push_str("<td class=\"diff\" colspan=3>(none)</td>"),
            }
        }
        p.push_str("</tr>");
    }
    p.push_str("</table>");
}

fn divergence(
    p: &mut String,
    input: &ReportInput<'_>,
    d: usize,
    other: &crate::trace::Outcome,
    model_label: &str,
) {
    let step = &input.trace.steps[d];
    let mut code = step.clone();
    code.expect = None;
    let (m, o) = (input.model.outcome.events.get(d), other.events.get(d));
    let _ = write!(
        p,
        "<h2 id=\"divergence\">First divergence: step {d}, line {}</h2><p><code>{}</code></p>",
        step.line,
        esc(&code.code())
    );
    let (Some(m), Some(o)) = (m, o) else {
        p.push_str("<p>One side has no event for this step.</p>");
        return;
    };
    let fields = differing_fields(m, o);
    p.push_str("<p>Differs in: ");
    for f in &fields {
        let _ = write!(p, "<span class=\"field\">{}</span>", esc(f));
    }
    p.push_str("</p>");
    let labels = (model_label, input.other_label.as_str());
    match (m, o) {
        (Event::Cqes(x), Event::Cqes(y)) => cqe_table(p, "cqes", labels, x, y, &fields),
        (Event::View(x), Event::View(y)) => {
            let has = |f: &str| fields.iter().any(|g| g == f);
            let _ = write!(
                p,
                "<table><tr><th>field</th><th>{}</th><th>{}</th></tr>",
                esc(labels.0),
                esc(labels.1)
            );
            let rows: [(&str, String, String); 4] = [
                (
                    "sq_flags",
                    crate::trace::fmt_flags(x.sq_flags, crate::trace::SQ_FLAGS),
                    crate::trace::fmt_flags(y.sq_flags, crate::trace::SQ_FLAGS),
                ),
                (
                    "cq_overflow",
                    x.cq_overflow.to_string(),
                    y.cq_overflow.to_string(),
                ),
                ("ready", x.ready.to_string(), y.ready.to_string()),
                ("table", format!("{:?}", x.table), format!("{:?}", y.table)),
            ];
            for (f, a, b) in rows {
                let _ = write!(
                    p,
                    "<tr><td>{f}</td>{}{}</tr>",
                    cell(a, has(f)),
                    cell(b, has(f))
                );
            }
            p.push_str("</table>");
            if !x.overflow.is_empty() || !y.overflow.is_empty() {
                cqe_table(p, "overflow", labels, &x.overflow, &y.overflow, &fields);
            }
        }
        _ => {
            let _ = write!(
                p,
                "<table><tr><th>{}</th><th>{}</th></tr><tr>{}{}</tr></table>",
                esc(labels.0),
                esc(labels.1),
                cell(m.to_string(), true),
                cell(o.to_string(), true)
            );
        }
    }
    for (label, o) in [(labels.0, &input.model.outcome), (labels.1, other)] {
        if let Some(Some(n)) = o.notes.get(d) {
            let _ = write!(p, "<p class=\"notes\">{}: {}</p>", esc(label), esc(n));
        }
    }
}

fn step_table(
    p: &mut String,
    input: &ReportInput<'_>,
    window: std::ops::Range<usize>,
    model_label: &str,
) {
    let other = input.other.as_ref();
    let _ = write!(
        p,
        "<h2>Steps</h2><table class=\"steps\"><tr><th>#</th><th>line</th><th>step</th><th>{}</th>{}<th></th></tr>",
        esc(model_label),
        other.map_or(String::new(), |_| format!("<th>{}</th>", esc(&input.other_label)))
    );
    for i in window {
        let s = &input.trace.steps[i];
        let mut code = s.clone();
        code.expect = None;
        let m = input.model.outcome.events.get(i);
        let o = other.and_then(|o| o.events.get(i));
        let class = match input.divergence {
            Some(d) if d == i => " class=\"div\"",
            Some(d) if i > d => " class=\"after\"",
            _ => "",
        };
        let same = match (m, o) {
            (_, None) if other.is_none() => "",
            (Some(a), Some(b)) if a == b => "✓",
            (Some(Event::Unmodelled), _) | (_, Some(Event::Unmodelled)) => "–",
            _ => "✗",
        };
        let fields = match (m, o) {
            (Some(a), Some(b)) if input.divergence == Some(i) => differing_fields(a, b),
            _ => Vec::new(),
        };
        let show = |e: Option<&Event>| e.map_or(String::new(), |e| e.to_string());
        let _ = write!(
            p,
            "<tr{class}><td>{i}</td><td>{}</td><td>{}</td>{}{}<td>{same}</td></tr>",
            s.line,
            esc(&code.code()),
            cell(show(m), !fields.is_empty()),
            if other.is_some() {
                cell(show(o), !fields.is_empty())
            } else {
                String::new()
            }
        );
    }
    p.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_fields_name_each_cqe_field() {
        let c = |ud, res| Cqe {
            user_data: ud,
            res,
            flags: 0,
        };
        let f = differing_fields(
            &Event::Cqes(vec![c(1, 0), c(2, 0)]),
            &Event::Cqes(vec![c(2, 0), c(1, -22)]),
        );
        assert_eq!(f, ["cqes[0].user_data", "cqes[1].user_data", "cqes[1].res"]);
        assert_eq!(differing_fields(&Event::Ret(0), &Event::Ret(-1)), ["ret"]);
        assert_eq!(differing_fields(&Event::Ret(0), &Event::Refused), ["kind"]);
        assert!(differing_fields(&Event::Ret(0), &Event::Ret(0)).is_empty());
    }
}
