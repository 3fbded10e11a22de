//! `msgring fmt FILE... [--check] [--write]`.

use super::{err, json, load, Code, Out};

#[derive(clap::Args)]
pub struct Args {
    /// Trace files.
    #[arg(required = true)]
    files: Vec<String>,
    /// Only report files that are not in canonical form (exit 1).
    #[arg(long)]
    check: bool,
    /// Rewrite the files in place.
    #[arg(long, short, conflicts_with = "check")]
    write: bool,
}

pub fn main(a: &Args, json_out: bool, out: &mut Out) -> Code {
    let mut code = Code::Ok;
    let (mut not_canonical, mut written, mut errors) = (0usize, 0usize, 0usize);
    for path in &a.files {
        let Some((src, trace)) = load(path, json_out, out) else {
            code = code.max(Code::BadInput);
            errors += 1;
            continue;
        };
        let canon = trace.to_string();
        let canonical = canon == src;
        not_canonical += usize::from(!canonical);
        let mut wrote = false;
        if a.check {
            if !canonical {
                if !json_out {
                    out.line(&format!("{path}: not in canonical form"));
                }
                code = code.max(Code::Mismatch);
            }
        } else if a.write {
            if !canonical {
                match std::fs::write(path, &canon) {
                    Ok(()) => wrote = true,
                    Err(e) => {
                        err(&format!("msgring: {path}: {e}"));
                        if json_out {
                            out.json(&json::error(Some(path), None, None, &e.to_string()));
                        }
                        code = code.max(Code::BadInput);
                        errors += 1;
                    }
                }
            }
        } else if !json_out {
            out.text(&canon);
        }
        written += usize::from(wrote);
        if json_out {
            let mode = if a.check {
                "check"
            } else if a.write {
                "write"
            } else {
                "print"
            };
            let text = if mode == "print" {
                canon.into()
            } else {
                serde_json::Value::Null
            };
            out.json(&json::object(
                "file",
                [
                    ("file", path.as_str().into()),
                    ("mode", mode.into()),
                    ("canonical", canonical.into()),
                    ("written", wrote.into()),
                    ("steps", trace.steps.len().into()),
                    ("text", text),
                ],
            ));
        }
    }
    if json_out {
        out.summary(
            "fmt",
            code,
            [
                ("files", a.files.len().into()),
                ("not_canonical", not_canonical.into()),
                ("written", written.into()),
                ("errors", errors.into()),
            ],
        );
    }
    code
}
