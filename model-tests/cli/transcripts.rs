//! Transcript tests (trycmd): every ```console block of README.md and docs/tour.md, and
//! the cases in model-tests/cli/cmd/, run the `msgring` command and must print exactly
//! what they show (`[..]` and `...` elide). The tour runs in a copy of docs/tour.in/.
//!
//! After a deliberate change of output: `TRYCMD=overwrite cargo test --test
//! cli_transcripts` rewrites the transcripts; read the diff before committing it.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn transcripts() {
    trycmd::TestCases::new()
        .register_bin("msgring", PathBuf::from(env!("CARGO_BIN_EXE_msgring")))
        .case(root().join("README.md"))
        .case(root().join("docs/tour.md"))
        .case(root().join("model-tests/cli/cmd/*.trycmd"));
}

/// The tour's count of golden traces is the number of files in model-tests/traces.
#[test]
fn the_tour_counts_the_golden_traces() {
    let tour = std::fs::read_to_string(root().join("docs/tour.md")).expect("docs/tour.md");
    let stated: usize = tour
        .split("`model-tests/traces/`: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("docs/tour.md says how many golden traces there are");
    let actual = std::fs::read_dir(root().join("model-tests/traces"))
        .expect("model-tests/traces")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "trace"))
        .count();
    assert_eq!(
        stated, actual,
        "docs/tour.md: update the golden trace count"
    );
}

/// The tour's `hello.trace` listing is the file the transcripts run.
#[test]
fn the_tour_shows_the_files_it_runs() {
    let tour = std::fs::read_to_string(root().join("docs/tour.md")).expect("docs/tour.md");
    let hello = std::fs::read_to_string(root().join("docs/tour.in/hello.trace")).expect("hello");
    assert!(
        tour.contains(&format!("```text\n{hello}```")),
        "docs/tour.md's listing of hello.trace differs from docs/tour.in/hello.trace"
    );
}
