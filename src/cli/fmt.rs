//! `msgring fmt FILE... [--check] [--write]`.

use super::{err, load, Code, Out};

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

pub fn main(a: &Args, json: bool, out: &mut Out) -> Code {
    let mut code = Code::Ok;
    for path in &a.files {
        let Some((src, trace)) = load(path) else {
            code = code.max(Code::BadInput);
            continue;
        };
        let canon = trace.to_string();
        if a.check {
            if canon != src {
                out.line(&format!("{path}: not in canonical form"));
                code = code.max(Code::Mismatch);
            }
        } else if a.write {
            if canon != src {
                if let Err(e) = std::fs::write(path, &canon) {
                    err(&format!("msgring: {path}: {e}"));
                    code = code.max(Code::BadInput);
                }
            }
        } else if json {
            out.json(&trace);
        } else {
            out.text(&canon);
        }
    }
    code
}
