//! `--json`: JSON Lines, one object per line (docs/json.md).
//!
//! Every object has `schema` ([`SCHEMA`]) and `type`; each command prints one object
//! per event, file or finding, then one `summary`. Keys are words, flags are lists of
//! names, results carry their errno name: what a script reads without this crate's
//! Rust types. The shapes are built here, not derived from the library's types, so a
//! change of those types cannot change the documented output by accident.

use msgring::errno::Errno;
use msgring::trace::{self, Event, FileRef, Mismatch};
use msgring::Cqe;
use serde_json::{json, Map, Value};

/// The schema of every object: bumped when a documented key changes meaning or goes.
pub const SCHEMA: &str = "msgring/1";

/// A new object of `type` `ty`.
pub fn record(ty: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("schema".into(), SCHEMA.into());
    m.insert("type".into(), ty.into());
    m
}

/// Builds a record from `(key, value)` pairs.
pub fn object(ty: &str, fields: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut m = record(ty);
    for (k, v) in fields {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// A result value: `{"value": -9, "errno": "EBADF"}` (`errno` null when not an error).
pub fn result(r: i32) -> Value {
    json!({ "value": r, "errno": errno(r) })
}

fn errno(r: i32) -> Value {
    match Errno::from_res(r).and_then(|e| e.name()) {
        Some(n) if r < 0 => Value::from(n),
        _ => Value::Null,
    }
}

/// `{"user_data": 16, "res": 0, "errno": null, "flags": 0}`. CQE flags stay a number:
/// with IORING_MSG_RING_FLAGS_PASS they are the sender's bits, not kernel flags.
pub fn cqe(c: &Cqe) -> Value {
    json!({ "user_data": c.user_data, "res": c.res, "errno": errno(c.res), "flags": c.flags })
}

/// Names of the set bits of `v` (unknown bits as `0x..`).
pub fn flag_names(v: u32, table: trace::Flags) -> Value {
    let mut names: Vec<Value> = Vec::new();
    let mut rest = v;
    for (n, bit) in table {
        if v & bit != 0 {
            names.push(Value::from(*n));
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(Value::from(format!("{rest:#x}")));
    }
    Value::Array(names)
}

fn file_ref(f: &FileRef) -> Value {
    Value::from(f.to_string())
}

/// One step's outcome: `kind`, the kind's own keys, and `text` (the trace format's
/// spelling, as after `=>`).
pub fn event(e: &Event) -> Value {
    let mut m = Map::new();
    let kind = match e {
        Event::Ret(r) => {
            m.insert("ret".into(), result(*r));
            "ret"
        }
        Event::Bound(names) => {
            m.insert("names".into(), json!(names));
            "bound"
        }
        Event::Cqes(c) => {
            m.insert("cqes".into(), c.iter().map(cqe).collect());
            "cqes"
        }
        Event::Cqes32(c) => {
            let with_big = |(c, big): &(Cqe, [u64; 2])| {
                let mut v = cqe(c);
                v["extra1"] = big[0].into();
                v["extra2"] = big[1].into();
                v
            };
            m.insert("cqes".into(), c.iter().map(with_big).collect());
            "cqes"
        }
        Event::Slot(f) => {
            m.insert("file".into(), f.as_ref().map_or(Value::Null, file_ref));
            "slot"
        }
        Event::View(v) => {
            m.insert("sq_flags".into(), flag_names(v.sq_flags, trace::SQ_FLAGS));
            m.insert("cq_overflow".into(), v.cq_overflow.into());
            m.insert("ready".into(), v.ready.into());
            m.insert("overflow".into(), v.overflow.iter().map(cqe).collect());
            m.insert(
                "table".into(),
                v.table
                    .iter()
                    .map(|(slot, f)| json!({ "slot": slot, "file": file_ref(f) }))
                    .collect(),
            );
            "view"
        }
        Event::Refused => "refused",
        Event::Unmodelled => "unmodelled",
        Event::Unbound(n) => {
            m.insert("name".into(), n.as_str().into());
            "unbound"
        }
        Event::Unexpected => "unexpected",
    };
    m.insert("kind".into(), kind.into());
    m.insert("text".into(), e.to_string().into());
    Value::Object(m)
}

/// A `mismatch` record: an annotation that the run did not meet.
pub fn mismatch(file: &str, m: &Mismatch) -> Value {
    object(
        "mismatch",
        [
            ("file", file.into()),
            ("line", m.line.into()),
            ("index", m.step.into()),
            ("expected", event(&m.expected)),
            ("actual", m.actual.as_ref().map_or(Value::Null, event)),
        ],
    )
}

/// An `error` record: input refused (parse error: `line`/`col` set), unreadable or
/// unwritable (`file` set), or a command this build lacks (`file` null).
pub fn error(file: Option<&str>, line: Option<u32>, col: Option<u32>, message: &str) -> Value {
    object(
        "error",
        [
            ("file", file.map_or(Value::Null, Value::from)),
            ("line", line.map_or(Value::Null, Value::from)),
            ("col", col.map_or(Value::Null, Value::from)),
            ("message", message.into()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_readable_keys() {
        let v = event(&Event::Ret(-9));
        assert_eq!(v["kind"], "ret");
        assert_eq!(v["ret"]["errno"], "EBADF");
        assert_eq!(v["text"], "ret -EBADF");
        let v = event(&Event::View(trace::View {
            sq_flags: msgring::uapi::sq::CQ_OVERFLOW | 0x100,
            ..Default::default()
        }));
        assert_eq!(v["sq_flags"], json!(["CQ_OVERFLOW", "0x100"]));
        let v = cqe(&Cqe {
            user_data: 1,
            res: -22,
            flags: 0,
        });
        assert_eq!(v["errno"], "EINVAL");
        assert_eq!(result(3)["errno"], Value::Null);
    }
}
