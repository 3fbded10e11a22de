//! Fuzzing oracles: the checks the `fuzz/` targets run, as library functions, so a
//! stable `cargo test` can replay the committed corpus and every regression input
//! (`model-tests/tests/fuzz_replay.rs`) and a crash can be decoded into a readable
//! trace. See `docs/fuzzing.md`.
//!
//! | target | input | oracle |
//! | --- | --- | --- |
//! | `model` | `decode_model_input` (feature `arbitrary`) | [`check_trace_on_model`]: every invariant after every step |
//! | `trace_text` | any bytes | [`check_text`]: parse never panics, errors have a position, print∘parse = id |
//! | `differential` | `decode_model_input` | `check_differential` (feature `real-backend`) |
//! | `sqe_fields` | 64 raw SQE bytes | [`sqe_trace`] on the model and (feature `real-backend`) the kernel |
//!
//! Every function here returns a [`Failure`] for a broken oracle; a panic anywhere
//! below them is a bug too (the fuzzer reports it as a crash).

use crate::check::{check_all_with, check_since_and_refresh, Scratch, Snapshot, Violation};
use crate::choice::RandomChooser;
use crate::trace::{self, Event, FdRef, Op, SqeSpec, Trace, TraceStep};
use crate::uapi::op;
use crate::{Backend, Faults, Sqe, Step, StepResult, World};
use std::fmt;

/// Traces the `model` target generates have at most this many steps (prelude included).
pub const MAX_MODEL_STEPS: usize = 32;

/// Text traces fed to `model`/`differential` (the seed corpus is the golden traces)
/// are cut to this many steps, to keep executions fast.
pub const MAX_TEXT_STEPS: usize = 256;

/// A broken oracle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// An invariant failed after step `step` (0-based index into the trace).
    Invariant {
        step: usize,
        /// `true` for a [`check_transition`](crate::check::check_transition) invariant, `false` for [`check_all`](crate::check::check_all).
        transition: bool,
        violation: Violation,
        /// The trace, in canonical text.
        trace: String,
    },
    /// The parser rejected the input with a position outside it.
    BadPosition { error: String, lines: usize },
    /// Printing a parsed trace and parsing the text again did not give it back.
    RoundTrip {
        /// The canonical text of the first parse.
        printed: String,
        /// What the second parse gave (its canonical text) or its error.
        reparsed: String,
    },
    /// The model and the kernel disagree on a step that no known difference covers.
    Divergence {
        /// 0-based index into the trace.
        step: usize,
        op: String,
        model: String,
        kernel: String,
        trace: String,
    },
    /// The kernel backend cannot run here.
    KernelUnavailable(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invariant {
                step,
                transition,
                violation,
                trace,
            } => {
                let kind = if *transition { "transition" } else { "state" };
                write!(
                    f,
                    "{kind} {violation} after step {step}\n--- trace ---\n{trace}"
                )
            }
            Failure::BadPosition { error, lines } => {
                write!(
                    f,
                    "parse error outside the input ({lines} lines): {error}"
                )
            }
            Failure::RoundTrip { printed, reparsed } => write!(
                f,
                "print/parse round trip changed the trace\n--- printed ---\n{printed}\n--- reparsed ---\n{reparsed}"
            ),
            Failure::Divergence {
                step,
                op,
                model,
                kernel,
                trace,
            } => write!(
                f,
                "model and kernel disagree at step {step} `{op}`\n  model : {model}\n  kernel: {kernel}\n--- trace ---\n{trace}"
            ),
            Failure::KernelUnavailable(why) => write!(f, "kernel backend unavailable: {why}"),
        }
    }
}

impl std::error::Error for Failure {}

// ---- decoding fuzzer inputs ---------------------------------------------------------

/// Whether `data` looks like a text trace (a comment or the version header first).
pub fn looks_like_text(data: &[u8]) -> bool {
    data.starts_with(b"#") || data.starts_with(b"msgring-trace") || data.starts_with(b"\n")
}

/// A decoded `model`/`differential` input: a text trace, or the trace generator's
/// steps with names as numbers ([`trace::Generated`], which runs without building the
/// [`Trace`] it stands for).
#[derive(Clone, Debug)]
pub enum ModelInput {
    Text(Trace),
    Generated(trace::Generated),
}

impl ModelInput {
    /// The trace the input stands for.
    pub fn into_trace(self) -> Trace {
        match self {
            ModelInput::Text(t) => t,
            ModelInput::Generated(g) => g.to_trace(),
        }
    }
}

/// What a `model`/`differential` input stands for: a text trace if the bytes are one
/// (cut to [`MAX_TEXT_STEPS`]), otherwise the trace generator driven by the bytes (at
/// most [`MAX_MODEL_STEPS`] steps).
#[cfg(feature = "arbitrary")]
pub fn decode_input(data: &[u8]) -> ModelInput {
    if looks_like_text(data) {
        if let Some(mut t) = std::str::from_utf8(data)
            .ok()
            .and_then(|s| trace::parse(s).ok())
        {
            t.steps.truncate(MAX_TEXT_STEPS);
            return ModelInput::Text(t);
        }
    }
    ModelInput::Generated(generated_steps(data, MAX_MODEL_STEPS))
}

/// The trace a `model`/`differential` input stands for ([`decode_input`]).
#[cfg(feature = "arbitrary")]
pub fn decode_model_input(data: &[u8]) -> Trace {
    decode_input(data).into_trace()
}

/// The trace generator ([`trace::generate`]) driven by fuzzer bytes: at most
/// `max_steps` steps, the generator's 5-step prelude included.
#[cfg(feature = "arbitrary")]
pub fn generated_trace(data: &[u8], max_steps: usize) -> Trace {
    generated_steps(data, max_steps).to_trace()
}

/// [`generated_trace`] with names as numbers ([`trace::generate_steps`]).
#[cfg(feature = "arbitrary")]
pub fn generated_steps(data: &[u8], max_steps: usize) -> trace::Generated {
    let mut c = trace::ByteChoices::new(data);
    let extra = u32::try_from(max_steps.saturating_sub(5)).unwrap_or(u32::MAX - 1);
    let steps = c.take(extra) as usize;
    let mut g = trace::generate_steps(&mut c, steps);
    g.truncate(max_steps);
    g
}

// ---- model: invariants after every step ---------------------------------------------

/// A model world that checks every invariant after every step.
struct Checked {
    world: World,
    before: Snapshot,
    scratch: Scratch,
    applied: usize,
    failure: Option<(usize, bool, Violation)>,
    /// Takes the decisions at the model's choice points; `None`: the default path.
    chooser: Option<RandomChooser>,
    /// The decisions each executed step took (trailing defaults left out), so that a
    /// failure's trace replays the same path (`choose` clauses).
    paths: Vec<Vec<crate::Choice>>,
}

impl Checked {
    fn new(profile: crate::Profile) -> Checked {
        let world = World::new(profile);
        Checked {
            before: Snapshot::of(&world),
            world,
            scratch: Scratch::default(),
            applied: 0,
            failure: None,
            chooser: None,
            paths: Vec::new(),
        }
    }

    /// A checker that takes a random legal path (seeded) through the model's choice
    /// points: every invariant must hold on every path, not only the default one.
    fn choosing(profile: crate::Profile, seed: u64) -> Checked {
        Checked {
            chooser: Some(RandomChooser::new(seed)),
            ..Checked::new(profile)
        }
    }

    /// After a step: the invariants, and the transition since the previous one.
    fn after_step(&mut self) {
        let k = self.applied;
        self.applied += 1;
        if let Err(v) = check_all_with(&self.world, &mut self.scratch) {
            self.failure = Some((k, false, v));
        } else if let Err(v) = check_since_and_refresh(&mut self.before, &self.world) {
            self.failure = Some((k, true, v));
        }
    }

    /// The first failure; `executed[k]` is the trace index of the `k`th executed step.
    fn result(self, executed: &[usize], t: impl FnOnce() -> Trace) -> Result<(), Failure> {
        match self.failure {
            None => Ok(()),
            Some((k, transition, violation)) => {
                let mut t = t();
                for (&i, path) in executed.iter().zip(&self.paths) {
                    if let Some(s) = t.steps.get_mut(i) {
                        s.choose.clone_from(path);
                    }
                }
                Err(Failure::Invariant {
                    step: executed.get(k).copied().unwrap_or(k),
                    transition,
                    violation,
                    trace: t.to_string(),
                })
            }
        }
    }
}

impl Backend for Checked {
    fn name(&self) -> String {
        self.world.name()
    }

    fn apply_step(&mut self, step: &Step, faults: Faults) -> StepResult {
        if self.failure.is_some() {
            return StepResult::Refused("stopped: an invariant failed".into());
        }
        // `before` holds the state after the previous executed step (or the start).
        let r = match &mut self.chooser {
            Some(c) => {
                let (r, path) = self.world.apply_choosing(step, faults, c);
                let end = path
                    .iter()
                    .rposition(|t| t.option != 0)
                    .map_or(0, |e| e + 1);
                self.paths
                    .push(path[..end].iter().map(|t| t.choice()).collect());
                r
            }
            None => {
                self.paths.push(Vec::new());
                self.world.apply_with(step, faults)
            }
        };
        self.after_step();
        r
    }

    fn apply_step_path(
        &mut self,
        step: &Step,
        faults: Faults,
        path: &[crate::Choice],
    ) -> Result<StepResult, crate::choice::PathMisfit> {
        if path.is_empty() || self.failure.is_some() {
            return Ok(self.apply_step(step, faults));
        }
        let r = self.world.apply_path(step, faults, path).map(|(r, _)| r);
        self.paths.push(path.to_vec());
        self.after_step();
        r
    }
}

/// Runs `t` on a fresh model (the trace's profile) and checks [`check_all`](crate::check::check_all) and
/// [`check_transition`](crate::check::check_transition) after every executed step.
pub fn check_trace_on_model(t: &Trace) -> Result<(), Failure> {
    check_trace_on_model_path(t, None)
}

/// [`check_trace_on_model`] taking, where the trace has no `choose` clause, the
/// decisions of a [`RandomChooser`] seeded with `choices` (`None`: the defaults).
pub fn check_trace_on_model_path(t: &Trace, choices: Option<u64>) -> Result<(), Failure> {
    let profile = t.profile.unwrap_or_default();
    let mut b = match choices {
        Some(seed) => Checked::choosing(profile, seed),
        None => Checked::new(profile),
    };
    // The trace index of each executed (not unbound) step.
    let mut executed = Vec::new();
    trace::run_with(t, &mut b, |i, _, _| executed.push(i));
    b.result(&executed, || t.clone())
}

/// [`check_trace_on_model`] of a generated trace, run without building its [`Trace`]
/// (built only to report a failure).
pub fn check_generated_on_model(g: &trace::Generated) -> Result<(), Failure> {
    check_generated_on_model_path(g, None)
}

/// [`check_generated_on_model`] on a random legal path (see
/// [`check_trace_on_model_path`]).
pub fn check_generated_on_model_path(
    g: &trace::Generated,
    choices: Option<u64>,
) -> Result<(), Failure> {
    let mut b = match choices {
        Some(seed) => Checked::choosing(crate::Profile::default(), seed),
        None => Checked::new(crate::Profile::default()),
    };
    let mut executed = Vec::with_capacity(g.len());
    g.run_with(&mut b, |i, _, _| executed.push(i));
    b.result(&executed, || g.to_trace())
}

/// The `model` oracle on raw fuzzer bytes: [`decode_input`], then
/// [`check_trace_on_model`] (a text input) or [`check_generated_on_model`]; the same
/// verdict as `check_trace_on_model(&decode_model_input(data))`.
#[cfg(feature = "arbitrary")]
pub fn check_model_input(data: &[u8]) -> Result<(), Failure> {
    check_decoded_path(&decode_input(data), choice_seed(data))
}

/// Half of the inputs (by a hash of their bytes) take a random legal path through the
/// model's choice points, seeded by that hash, so the invariants are checked off the
/// default path too; the other half take the default path.
pub fn choice_seed(data: &[u8]) -> Option<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h & 1 == 1).then_some(h)
}

/// [`check_trace_on_model`] of a decoded input, on the default path.
pub fn check_decoded(input: &ModelInput) -> Result<(), Failure> {
    check_decoded_path(input, None)
}

/// [`check_decoded`] on the random legal path `choices` seeds (`None`: the default).
pub fn check_decoded_path(input: &ModelInput, choices: Option<u64>) -> Result<(), Failure> {
    match input {
        ModelInput::Text(t) => check_trace_on_model_path(t, choices),
        ModelInput::Generated(g) => check_generated_on_model_path(g, choices),
    }
}

// ---- trace_text ---------------------------------------------------------------------

/// The `trace_text` oracle: parsing `data` (lossily decoded as UTF-8) never panics; an
/// error names a line and column inside the input; a parsed trace prints to text
/// that parses back to the same trace and prints the same.
pub fn check_text(data: &[u8]) -> Result<(), Failure> {
    let src = String::from_utf8_lossy(data);
    match trace::parse(&src) {
        Err(e) => {
            let lines = src.split('\n').count();
            if e.line == 0 || e.col == 0 || e.line as usize > lines {
                return Err(Failure::BadPosition {
                    error: e.to_string(),
                    lines,
                });
            }
            Ok(())
        }
        Ok(t) => check_round_trip(&t),
    }
}

/// `parse(print(t)) == t`, and printing that again gives the same text.
pub fn check_round_trip(t: &Trace) -> Result<(), Failure> {
    let printed = t.to_string();
    match trace::parse(&printed) {
        Ok(t2) if t2 == *t && t2.to_string() == printed => Ok(()),
        Ok(t2) => Err(Failure::RoundTrip {
            printed,
            reparsed: t2.to_string(),
        }),
        Err(e) => Err(Failure::RoundTrip {
            printed,
            reparsed: format!("error: {e}"),
        }),
    }
}

// ---- sqe_fields: one hostile SQE in a fixed two-ring world ---------------------------

/// Maps an opcode to one the real kernel may execute here: NOP and MSG_RING stay,
/// every other opcode becomes NOP (even) or MSG_RING (odd). The real-backend host
/// refuses other opcodes anyway; this keeps the input meaningful on both sides.
pub fn safe_opcode(o: u8) -> u8 {
    match o {
        op::NOP | op::MSG_RING => o,
        o if o & 1 == 0 => op::NOP,
        _ => op::MSG_RING,
    }
}

/// The fixed world of `sqe_fields` and the hostile SQE's steps, as a trace.
///
/// World: rings `r0` and `r1` (8 entries, set up by `t0`), a regular file `f0`
/// registered in `r0`'s table, a sparse 4-slot table on `r1`, a pipe (`f1`, `f2`),
/// so vfds 0..=4 exist. The SQE's `fd` is kept in -1..=6, else folded into it (the real backend maps an
/// unknown vfd to -1 anyway); its opcode goes through [`safe_opcode`]. Then: push it
/// on `r0`, submit, reap both rings, observe both; then the same SQE through the
/// synchronous `IORING_REGISTER_SEND_MSG_RING` path (MSG_RING only), reap, observe.
pub fn sqe_trace(bytes: &[u8; 64]) -> Trace {
    let mut sqe = Sqe::from_bytes(bytes);
    sqe.opcode = safe_opcode(sqe.opcode);
    let fd = if (-1..=6).contains(&sqe.fd) {
        sqe.fd
    } else {
        (sqe.fd as u32 % 8) as i32 - 1
    };
    sqe.fd = 0;
    let n = |s: &str| s.to_string();
    let r = |s: &str| FdRef::Name(s.to_string());
    let mut ops = vec![
        Op::Setup {
            ring: n("r0"),
            by: n("t0"),
            entries: 8,
            cq_entries: 0,
            flags: 0,
        },
        Op::Setup {
            ring: n("r1"),
            by: n("t0"),
            entries: 8,
            cq_entries: 0,
            flags: 0,
        },
        Op::File { file: n("f0") },
        Op::RegisterFiles {
            by: n("t0"),
            ring: r("r0"),
            files: vec![r("f0")],
        },
        Op::RegisterSparse {
            by: n("t0"),
            ring: r("r1"),
            nr: 4,
        },
        Op::Pipe {
            read: n("f1"),
            write: n("f2"),
        },
        Op::Push {
            ring: r("r0"),
            sqe: SqeSpec::Raw {
                fd: FdRef::Vfd(fd),
                sqe,
            },
        },
        Op::Enter {
            by: n("t0"),
            ring: r("r0"),
            to_submit: 1,
            min_complete: 0,
            flags: 0,
        },
        Op::Reap {
            ring: r("r0"),
            max: 16,
        },
        Op::Reap {
            ring: r("r1"),
            max: 16,
        },
        Op::Observe { ring: r("r0") },
        Op::Observe { ring: r("r1") },
    ];
    if sqe.opcode == op::MSG_RING {
        ops.extend([
            Op::SyncMsg {
                by: n("t0"),
                sqe: SqeSpec::Raw {
                    fd: FdRef::Vfd(fd),
                    sqe,
                },
            },
            Op::Reap {
                ring: r("r1"),
                max: 16,
            },
            Op::Observe { ring: r("r1") },
        ]);
    }
    Trace {
        preamble: vec!["# sqe_fields: one hostile SQE in the fixed two-ring world".into()],
        profile: None,
        steps: ops.into_iter().map(TraceStep::new).collect(),
        trailer: Vec::new(),
    }
}

/// The model half of `sqe_fields`: [`sqe_trace`] on the model with every invariant,
/// and its text round trip.
pub fn check_sqe_bytes(bytes: &[u8; 64]) -> Result<(), Failure> {
    let t = sqe_trace(bytes);
    check_round_trip(&t)?;
    check_trace_on_model(&t)
}

/// `data` as 64 SQE bytes (zero-padded or cut).
pub fn sqe_bytes(data: &[u8]) -> [u8; 64] {
    let mut b = [0u8; 64];
    let n = data.len().min(64);
    b[..n].copy_from_slice(&data[..n]);
    b
}

// ---- differential -------------------------------------------------------------------

/// A divergence the differential oracle does not report: a documented, intended
/// difference ([`KNOWN_DIFFERENCES`], keyed by the rule id of `docs/semantics.md`) or
/// an open model bug ([`OPEN_BUGS`], keyed by its regression trace).
#[derive(Clone, Copy, Debug)]
pub struct KnownDifference {
    /// The rule id (`R13`, `C3`, ...) or, for an open bug, `open:<regression file>`.
    pub rule: &'static str,
    /// Where the difference is documented.
    pub doc: &'static str,
    /// Whether the divergence at step `i` of the trace (the model's event, the
    /// kernel's event) is this difference.
    pub matches: fn(&Trace, usize, &Event, &Event) -> bool,
}

/// The allowlist of documented differences, keyed by rule id. Empty: on 6.18.44 no
/// model/kernel difference is documented (the drain ordering the fuzzers found was a
/// model bug, fixed in e17e15b). Add an entry only together with its rule's
/// documentation.
pub const KNOWN_DIFFERENCES: &[KnownDifference] = &[];

/// Model bugs the fuzzers found that are not fixed yet, each with a minimized
/// `model-tests/traces/regressions/open_*.trace` (rule `open:<file>`), listed so
/// fuzzing keeps finding *other* bugs; an entry goes when its bug is fixed. Empty.
pub const OPEN_BUGS: &[KnownDifference] = &[];

/// The `IOSQE_*` flags of a push or sync_msg step's SQE (0 for other steps).
pub fn sqe_flags_of(op: &Op) -> u8 {
    let spec = match op {
        Op::Push { sqe, .. } | Op::SyncMsg { sqe, .. } => sqe,
        _ => return 0,
    };
    match spec {
        SqeSpec::Nop { flags, .. }
        | SqeSpec::MsgData { flags, .. }
        | SqeSpec::SendFd { flags, .. } => *flags,
        SqeSpec::Raw { sqe, .. } => sqe.flags,
    }
}

/// The known difference or open bug a divergence at step `i` of `t` is, if any.
pub fn known_difference(
    t: &Trace,
    i: usize,
    model: &Event,
    kernel: &Event,
) -> Option<&'static KnownDifference> {
    KNOWN_DIFFERENCES
        .iter()
        .chain(OPEN_BUGS)
        .find(|d| (d.matches)(t, i, model, kernel))
}

/// `t` without fault injection (the kernel cannot inject faults) and without
/// annotations.
pub fn without_faults(t: &Trace) -> Trace {
    let mut t = t.clone();
    for s in &mut t.steps {
        s.faults = Faults::default();
        s.expect = None;
    }
    t
}

/// What a differential run compared.
#[cfg(feature = "real-backend")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffSummary {
    /// Steps whose results agreed.
    pub compared: usize,
    /// Steps skipped (unmodelled on one side, or after a side stopped).
    pub skipped: usize,
    /// Divergences that are [`KNOWN_DIFFERENCES`] or [`OPEN_BUGS`] (by rule id); the
    /// run stops at one.
    pub known: Vec<&'static str>,
    /// The choice points where the path that explains the kernel left the default.
    pub choices: Vec<crate::ChoicePoint>,
}

/// Runs `t` (faults removed) on a fresh model with the running kernel's profile and a
/// fresh [`KernelBackend`](crate::kernel::KernelBackend) (`kernel::diff_trace_on`),
/// after checking the model's invariants on it. The check is exact: the kernel's
/// outcome must be one the model's choice points allow; if no path gives it (or the
/// search runs out of budget), the first step where the nearest path differs is a
/// [`Failure::Divergence`], unless a [`KNOWN_DIFFERENCES`] or [`OPEN_BUGS`] entry
/// explains it. One kernel run: no reruns, no votes.
#[cfg(feature = "real-backend")]
pub fn check_differential(t: &Trace) -> Result<DiffSummary, Failure> {
    use crate::kernel;
    let unavailable = |e: kernel::Unavailable| Failure::KernelUnavailable(e.reason);
    let info = kernel::probe().map_err(unavailable)?;
    let profile = kernel::kernel_profile(&info).map_err(unavailable)?;
    let mut t = without_faults(t);
    t.profile = Some(profile);
    check_trace_on_model(&t)?;
    let mut kb = kernel::KernelBackend::new().map_err(unavailable)?;
    let d = kernel::diff_trace_on(&t, profile, &mut kb);
    let mut sum = DiffSummary {
        compared: d.compared,
        skipped: d.skipped,
        known: Vec::new(),
        choices: d.non_default_points(),
    };
    if d.agrees() {
        return Ok(sum);
    }
    if let Some((i, m, k)) = d.divergent_events() {
        let op = &t.steps[i].op;
        if let Some(known) = known_difference(&t, i, m, k) {
            sum.known.push(known.rule);
            return Ok(sum);
        }
        let note = |o: &trace::Outcome| match o.notes.get(i).cloned().flatten() {
            Some(n) => format!(" ({n})"),
            None => String::new(),
        };
        let unknown = if d.verdict == crate::explain::Verdict::Unknown {
            " [search budget ran out]"
        } else {
            ""
        };
        return Err(Failure::Divergence {
            step: i,
            op: op.to_string(),
            model: format!("{m}{}{unknown}", note(&d.model)),
            kernel: format!("{k}{}", note(&d.kernel)),
            trace: t.to_string(),
        });
    }
    Ok(sum)
}

/// `sqe_fields` against the kernel: [`check_sqe_bytes`], then [`check_differential`]
/// of [`sqe_trace`].
#[cfg(feature = "real-backend")]
pub fn check_sqe_bytes_differential(bytes: &[u8; 64]) -> Result<DiffSummary, Failure> {
    check_sqe_bytes(bytes)?;
    check_differential(&sqe_trace(bytes))
}

// ---- decoding a crash ---------------------------------------------------------------

/// The readable form of a fuzzer input for `target` (`model`, `differential`,
/// `trace_text`, `sqe_fields`, `empty`): the trace it stands for, in canonical text.
pub fn describe_input(target: &str, data: &[u8]) -> String {
    match target {
        #[cfg(feature = "arbitrary")]
        "model" | "differential" => decode_model_input(data).to_string(),
        "sqe_fields" => sqe_trace(&sqe_bytes(data)).to_string(),
        "trace_text" => {
            let src = String::from_utf8_lossy(data);
            match trace::parse(&src) {
                Ok(t) => format!("{t}"),
                Err(e) => format!("# does not parse: {e}\n{src}"),
            }
        }
        _ => format!("# {} bytes: {:02x?}", data.len(), data),
    }
}
