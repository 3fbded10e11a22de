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

/// The answer (README.md shows it for `diff`).
pub fn message(command: &str) -> String {
    format!(
        "msgring {command} runs traces on the running kernel, and this msgring was built \
         without the kernel backend. Build it with the `real-backend` feature (Linux):\n  \
         cargo build --release --features real-backend\nor run it from the repository:\n  \
         cargo run --release --features real-backend -- {command} ..."
    )
}

pub fn main(command: &str, json_out: bool, out: &mut Out) -> Code {
    let message = message(command);
    err(&message);
    if json_out {
        out.json(&json::error(None, None, None, &message));
        out.summary(command, Code::Unavailable, []);
    }
    Code::Unavailable
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Cmd};
    use clap::Parser;

    #[test]
    fn the_readme_shows_the_answer() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&message("diff")),
            "README.md: update the answer of `diff`"
        );
    }

    #[test]
    fn diff_and_check_parse_with_any_arguments() {
        let cli = Cli::try_parse_from(["msgring", "check", "--seconds", "5", "--seed", "1"]);
        assert!(matches!(cli.map(|c| c.cmd), Ok(Cmd::Check(_))));
        let cli = Cli::try_parse_from(["msgring", "--json", "diff", "a.trace", "--kernel", "6.1"]);
        assert!(matches!(cli.map(|c| c.cmd), Ok(Cmd::Diff(_))));
    }
}
