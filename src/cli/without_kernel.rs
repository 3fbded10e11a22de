//! `diff` and `check` in a build without the `real-backend` feature: they answer how to
//! get them (exit 3), instead of clap's "unrecognized subcommand".

use super::{err, json, Code, Out};

/// Takes whatever the real command would, so that the answer is the same for any
/// arguments.
#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<String>,
}

pub fn main(command: &str, json_out: bool, out: &mut Out) -> Code {
    let message = format!(
        "msgring {command} runs traces on the running kernel, and this msgring was built \
         without the kernel backend. Build it with the `real-backend` feature (Linux):\n  \
         cargo build --release --features real-backend\nor run it from the repository:\n  \
         cargo run --release --features real-backend -- {command} ..."
    );
    err(&message);
    if json_out {
        out.json(&json::error(None, None, None, &message));
        out.summary(command, Code::Unavailable, []);
    }
    Code::Unavailable
}
