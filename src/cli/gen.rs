//! `msgring gen --seed S --steps N [--kernel X.Y]`.

use super::{json, Code, Out};

#[derive(clap::Args)]
pub struct Args {
    /// PRNG seed (decimal or 0x hex).
    #[arg(long, value_parser = parse_u64)]
    seed: u64,
    /// Number of steps after the prelude (at most 9000).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(0..=9_000))]
    steps: u32,
    /// Write a `kernel X.Y` line: the release the trace is for (5.18 or later).
    #[arg(long, value_name = "RELEASE")]
    kernel: Option<msgring::Profile>,
}

pub fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s}: {e}"))
}

pub fn main(a: &Args, json_out: bool, out: &mut Out) -> Code {
    let mut t = msgring::trace::gen(a.seed, a.steps as usize);
    t.preamble = vec![format!(
        "# msgring gen --seed {} --steps {}{}",
        a.seed,
        a.steps,
        a.kernel.map_or(String::new(), |k| format!(" --kernel {k}"))
    )];
    t.profile = a.kernel;
    if let Some(w) = a.kernel.and_then(|k| k.newer_warning()) {
        super::err(&w);
    }
    if json_out {
        out.json(&json::object(
            "trace",
            [
                ("seed", a.seed.into()),
                ("steps", t.steps.len().into()),
                ("text", t.to_string().into()),
            ],
        ));
        out.summary("gen", Code::Ok, [("traces", 1.into())]);
    } else {
        out.text(&t.to_string());
    }
    Code::Ok
}
