//! Replays the committed fuzz seed corpus (`fuzz/seeds/<target>/*`) and every regression trace
//! (`model-tests/traces/regressions/*.trace`) through the same oracles the fuzz targets
//! run (`msgring::fuzzing`), on stable Rust, without cargo-fuzz. With the
//! `real-backend` feature the differential oracles run too (skipped when the kernel is
//! unavailable, unless `MSGRING_REQUIRE_KERNEL=1`).
//!
//! Also: a seeded random run of every model-side oracle (seed from
//! `MSGRING_FUZZ_SEED`, printed), and a check that the trace_text dictionary names
//! every keyword the printer uses.

use msgring::fuzzing::{self, Failure};
use msgring::trace::{self, Trace};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every file of `dir` (sorted), as (name, bytes).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v.into_iter()
        .map(|p| {
            let name = p.strip_prefix(root()).unwrap_or(&p).display().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    files(&root().join("fuzz/seeds").join(target))
}

fn regressions() -> Vec<(String, Trace)> {
    files(&root().join("model-tests/traces/regressions"))
        .into_iter()
        .filter(|(n, _)| n.ends_with(".trace"))
        .map(|(name, b)| {
            let src = String::from_utf8(b).expect("UTF-8 trace");
            let t = trace::parse_file(&name, &src).unwrap_or_else(|e| panic!("{e}"));
            (name, t)
        })
        .collect()
}

/// Runs `check` on every item; fails listing every input that failed.
fn all<T>(items: &[(String, T)], check: impl Fn(&T) -> Result<(), Failure>) {
    let failures: Vec<String> = items
        .iter()
        .filter_map(|(name, x)| check(x).err().map(|f| format!("{name}: {f}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn corpus_model() {
    let c = corpus("model");
    assert!(c.len() >= 40, "fuzz/seeds/model has {} inputs", c.len());
    all(&c, |d| fuzzing::check_model_input(d));
    all(&c, |d| {
        fuzzing::check_trace_on_model(&fuzzing::decode_model_input(d))
    });
}

#[test]
fn corpus_trace_text() {
    let c = corpus("trace_text");
    assert!(
        c.len() >= 40,
        "fuzz/seeds/trace_text has {} inputs",
        c.len()
    );
    all(&c, |d| {
        fuzzing::check_text(d)?;
        fuzzing::check_round_trip(&fuzzing::generated_trace(d, fuzzing::MAX_MODEL_STEPS))
    });
}

#[test]
fn corpus_sqe_fields_on_the_model() {
    let c = corpus("sqe_fields");
    assert!(!c.is_empty());
    all(&c, |d| fuzzing::check_sqe_bytes(&fuzzing::sqe_bytes(d)));
}

#[test]
fn corpus_differential_on_the_model() {
    all(&corpus("differential"), |d| {
        fuzzing::check_trace_on_model(&fuzzing::without_faults(&fuzzing::decode_model_input(d)))
    });
}

fn is_open(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|f| f.starts_with("open_"))
}

/// Every regression trace parses, round-trips and holds every invariant on the model.
/// Its `=>` annotations are the correct (kernel) behaviour: they must match the
/// model, except for `open_*.trace` (open model bugs), which must still mismatch, so
/// a fix is noticed and the file renamed.
#[test]
fn regressions_on_the_model() {
    let r = regressions();
    all(&r, |t| {
        fuzzing::check_text(t.to_string().as_bytes())?;
        fuzzing::check_trace_on_model(t)
    });
    let mut bad = Vec::new();
    for (name, t) in &r {
        assert!(
            t.steps.iter().any(|s| s.expect.is_some()),
            "{name} has no annotations"
        );
        let out = trace::run(t, &mut msgring::World::new(t.profile.unwrap_or_default()));
        let mismatches = trace::check_annotations(t, &out);
        if is_open(name) {
            if mismatches.is_empty() {
                bad.push(format!(
                    "{name}: the model now matches: the bug is fixed, drop `open_` from the name"
                ));
            }
        } else {
            bad.extend(mismatches.iter().map(|m| format!("{name}: {m}")));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The seeded random part: random byte strings through every model-side oracle.
#[test]
fn random_inputs_hold_every_oracle() {
    let seed: u64 = std::env::var("MSGRING_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6d73_6772);
    let n = 300;
    eprintln!("fuzz_replay random: seed {seed} ({n} inputs; MSGRING_FUZZ_SEED={seed} to replay)");
    let mut rng = trace::SplitMix(seed);
    for i in 0..n {
        let len = (rng.next_u64() % 300) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let ctx = |f: Failure| format!("seed {seed} input {i} ({data:02x?}): {f}");
        let t = fuzzing::decode_model_input(&data);
        fuzzing::check_trace_on_model(&t).unwrap_or_else(|f| panic!("{}", ctx(f)));
        fuzzing::check_model_input(&data).unwrap_or_else(|f| panic!("{}", ctx(f)));
        fuzzing::check_round_trip(&t).unwrap_or_else(|f| panic!("{}", ctx(f)));
        fuzzing::check_text(&data).unwrap_or_else(|f| panic!("{}", ctx(f)));
        fuzzing::check_sqe_bytes(&fuzzing::sqe_bytes(&data))
            .unwrap_or_else(|f| panic!("{}", ctx(f)));
    }
}

/// The decoding used by the fuzz targets is deterministic, and text inputs decode to
/// the trace they spell.
#[test]
fn decoding_is_deterministic() {
    for (_, d) in corpus("model").iter().take(20) {
        assert_eq!(
            fuzzing::decode_model_input(d),
            fuzzing::decode_model_input(d)
        );
    }
    let src = "# x\nmsgring-trace 1\nsetup r0 entries=4\n";
    assert_eq!(
        fuzzing::decode_model_input(src.as_bytes()),
        trace::parse(src).unwrap()
    );
    // The generator never spins when the bytes run out.
    let t = fuzzing::generated_trace(&[0xff; 3], fuzzing::MAX_MODEL_STEPS);
    assert!(t.steps.len() <= fuzzing::MAX_MODEL_STEPS);
}

#[test]
fn sqe_fields_never_lets_a_dangerous_opcode_through() {
    for o in 0..=255u8 {
        let s = fuzzing::safe_opcode(o);
        assert!(s == msgring::uapi::op::NOP || s == msgring::uapi::op::MSG_RING);
        let mut b = [0u8; 64];
        b[0] = o;
        for ts in &fuzzing::sqe_trace(&b).steps {
            let sqe = match &ts.op {
                trace::Op::Push { sqe, .. } | trace::Op::SyncMsg { sqe, .. } => sqe,
                _ => continue,
            };
            if let trace::SqeSpec::Raw { sqe, .. } = sqe {
                assert!(sqe.opcode == 0 || sqe.opcode == 40, "opcode {o}");
            }
        }
    }
}

#[test]
fn dictionary_names_every_keyword() {
    let dict = std::fs::read_to_string(root().join("fuzz/trace_text.dict")).unwrap();
    let tables = [
        trace::SQE_FLAGS,
        trace::SETUP_FLAGS,
        trace::ENTER_FLAGS,
        trace::MSG_RING_FLAGS,
        trace::SQ_FLAGS,
        trace::OPCODES,
    ];
    let mut missing = Vec::new();
    for (name, _) in tables.iter().flat_map(|t| t.iter()) {
        if !dict.contains(&format!("\"{name}\"")) {
            missing.push(name.to_string());
        }
    }
    for e in msgring::Errno::ALL {
        let name = e.name().unwrap();
        if !dict.contains(&format!("\"-{name}\"")) {
            missing.push(name.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "fuzz/trace_text.dict lacks {missing:?}: run python3 fuzz/seed.py"
    );
}

#[cfg(feature = "real-backend")]
mod kernel {
    use super::*;

    fn require_kernel() -> bool {
        std::env::var("MSGRING_REQUIRE_KERNEL").is_ok_and(|v| v == "1")
    }

    /// Runs every trace on the model and the kernel; returns how many steps were
    /// compared, or `None` when the kernel is unavailable (and not required).
    fn diff_all(traces: &[(String, Trace)]) -> Option<usize> {
        let mut compared = 0;
        let mut failures = Vec::new();
        for (name, t) in traces {
            match fuzzing::check_differential(t) {
                Err(Failure::KernelUnavailable(why)) if !require_kernel() => {
                    eprintln!("!!!!! fuzz_replay differential SKIPPED: {why} !!!!!");
                    return None;
                }
                Err(f) => failures.push(format!("{name}: {f}")),
                Ok(sum) => compared += sum.compared,
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
        eprintln!(
            "fuzz_replay differential: {} traces, {compared} steps compared",
            traces.len()
        );
        Some(compared)
    }

    fn decoded(target: &str, f: impl Fn(&[u8]) -> Trace) -> Vec<(String, Trace)> {
        corpus(target)
            .into_iter()
            .map(|(n, d)| (n, f(&d)))
            .collect()
    }

    #[test]
    fn corpus_differential_on_the_kernel() {
        let t = decoded("differential", fuzzing::decode_model_input);
        if let Some(n) = diff_all(&t) {
            assert!(n >= 5 * t.len(), "only {n} steps compared");
        }
    }

    #[test]
    fn corpus_sqe_fields_on_the_kernel() {
        let t = decoded("sqe_fields", |d| fuzzing::sqe_trace(&fuzzing::sqe_bytes(d)));
        if let Some(n) = diff_all(&t) {
            assert!(n >= 10 * t.len(), "only {n} steps compared");
        }
    }

    /// Closed regressions, `racy_` ones included: the model explains the kernel's
    /// outcome exactly (some path through its choice points gives it). Open ones: it
    /// still cannot (the bug is still there).
    #[test]
    fn regressions_on_the_kernel() {
        let (open, closed): (Vec<_>, Vec<_>) =
            regressions().into_iter().partition(|(n, _)| is_open(n));
        if diff_all(&closed).is_none() {
            return;
        }
        for (name, t) in &open {
            let agrees = fuzzing::check_differential(t).is_ok();
            assert!(
                !agrees,
                "{name}: the model now explains the kernel: drop `open_`"
            );
        }
    }
}

/// Every open bug the differential oracle tolerates has its `open_` regression trace.
#[test]
fn open_bugs_have_regression_traces() {
    for b in fuzzing::OPEN_BUGS.iter().chain(fuzzing::KNOWN_DIFFERENCES) {
        if let Some(file) = b.rule.strip_prefix("open:") {
            let p = root().join("model-tests/traces/regressions").join(file);
            assert!(p.exists(), "{}: no {}", b.rule, p.display());
        }
    }
}

/// The `model` oracle's cost without libFuzzer: decode + check of 2000 random inputs
/// (seeded, printed), as the fuzz target does. `cargo test --release -p
/// msgring-model-tests --test fuzz_replay -- --ignored --nocapture model_oracle_cost`;
/// also the workload profiled with callgrind in docs/performance.md.
#[test]
#[ignore]
fn model_oracle_cost() {
    let seed: u64 = std::env::var("MSGRING_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let n = std::env::var("MSGRING_FUZZ_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut rng = trace::SplitMix(seed);
    let inputs: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            let len = 16 + (rng.next_u64() % 240) as usize;
            (0..len).map(|_| rng.next_u64() as u8).collect()
        })
        .collect();
    let t0 = std::time::Instant::now();
    let decoded: Vec<fuzzing::ModelInput> =
        inputs.iter().map(|d| fuzzing::decode_input(d)).collect();
    let decode = t0.elapsed();
    let t1 = std::time::Instant::now();
    for d in &decoded {
        fuzzing::check_decoded(d).unwrap();
    }
    let check = t1.elapsed();
    let traces: Vec<Trace> = decoded.into_iter().map(|d| d.into_trace()).collect();
    let t2 = std::time::Instant::now();
    for t in &traces {
        std::hint::black_box(trace::run(t, &mut msgring::World::default()));
    }
    let run = t2.elapsed();
    let steps: usize = traces.iter().map(|t| t.steps.len()).sum();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    eprintln!(
        "seed {seed}: {n} inputs, {:.1} steps each: decode {:.2} µs, check {:.2} µs \
         (plain run {:.2} µs) per input => {:.0} exec/s without libFuzzer",
        steps as f64 / n as f64,
        per(decode),
        per(check),
        per(run),
        1e6 / (per(decode) + per(check))
    );
}
