//! `msgring`: run, format and generate MSG_RING traces (see `docs/tour.md`).

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
