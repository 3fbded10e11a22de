#!/usr/bin/env python3
"""Summarise one kernel's `msgring --json diff` (or `run`) output for golden.sh.

usage: golden_summary.py MODE LABEL OUT_FILE EXIT_STATUS CONSOLE_LOG [KNOWN_FILE [RERUN_OUT...]]
       golden_summary.py new LABEL OUT_FILE [KNOWN_FILE]
       golden_summary.py check LABEL OUT_FILE EXIT_STATUS CONSOLE_LOG TRACE_DIR

Prints one `RESULT <label> ...` line (`agree`/`DIVERGES`/`ERROR`), then each divergence
with the step and the model's and the kernel's values side by side. Exit status: 0 all
agree, 1 a divergence, 2 no usable output (the guest did not finish, msgring failed).

KNOWN_FILE lists divergences already reported: `LABEL TRACE:LINE  # why` per line
(LABEL `*` for every kernel). A listed divergence is printed as `known` and does not
make the result DIVERGES; a listed one that no longer happens is printed as `fixed?`.

RERUN_OUT files are `msgring --json diff` outputs of the same kernel re-running the traces
that diverged in OUT_FILE (golden.sh's recheck). A new divergence that the reruns reproduce
in at most half of them is a kernel race, not a model bug: it is
printed as `RACY` with the counts and does not make the result DIVERGES (the same policy as
`msgring check`'s `Finding::fails`). A rerun that diverges at another line counts as a
reproduction: a racy step must not hide a steady divergence behind it. Without reruns
every new divergence fails.

`check` reads `msgring check --print-traces` output (golden.sh's check mode): it writes
each minimized trace between `--- BEGIN NAME` and `--- END NAME` to TRACE_DIR/NAME and
prints one `RESULT` line (`check-ok` / `CHECK-FAILS` / `ERROR`) with msgring's summary
lines and the MISMATCH headers.

`new` prints the new (not known) divergences of OUT_FILE as `TRACE LINE` lines: the traces
golden.sh re-runs.
"""
import json
import os
import sys


def objects(text):
    """Every JSON value in `text` (msgring prints one pretty object per trace, or one
    document with a list)."""
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        try:
            v, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            # Skip a non-JSON line (should not happen: stdout only holds JSON).
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        yield v


def short(v):
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"))


def base(path):
    return path.rsplit("/", 1)[-1]


def trace_reports(docs):
    """Flatten to per-trace dicts. JSON Lines output (docs/json.md, `schema`
    msgring/1): the `file` records, with a `run`'s `mismatch` records gathered into
    their file's `mismatches` list; older output: every object."""
    docs = list(docs)
    mismatches = {}
    for d in docs:
        if isinstance(d, dict) and d.get("type") == "mismatch":
            mismatches.setdefault(d.get("file"), []).append(d)
    for d in docs:
        if isinstance(d, list):
            yield from trace_reports(d)
        elif isinstance(d, dict) and isinstance(d.get("traces"), list):
            yield from trace_reports(d["traces"])
        elif isinstance(d, dict) and "schema" in d:
            if d.get("type") == "file":
                if isinstance(d.get("mismatches"), int):
                    d = dict(d, mismatches=mismatches.get(d.get("file"), []))
                yield d
        elif isinstance(d, dict):
            yield d


def read_reports(path):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    return list(trace_reports(objects(text)))


def text(v):
    """An event as its trace-format text (JSON Lines events carry it in `text`)."""
    if isinstance(v, dict) and isinstance(v.get("text"), str):
        return v["text"]
    return short(v)


def divergence_key(r):
    return (base(r.get("file", "?")), (r.get("divergence") or {}).get("line"))


def print_new(label, out_file, known_file):
    known = load_known(known_file, label)
    for r in read_reports(out_file):
        if r.get("divergence") and divergence_key(r) not in known:
            print(*divergence_key(r))
    return 0


def rerun_counts(paths):
    """{trace: (runs that reported it, {line it diverged at: count})} over the reruns."""
    counts = {}
    for p in paths:
        for r in read_reports(p):
            ran, lines = counts.setdefault(base(r.get("file", "?")), (0, {}))
            if r.get("divergence"):
                ln = r["divergence"].get("line")
                lines[ln] = lines.get(ln, 0) + 1
            counts[base(r.get("file", "?"))] = (ran + 1, lines)
    return counts


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "new":
        return print_new(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
    mode, label, out_file, status, log = sys.argv[1:6]
    if mode == "check":
        return summarize_check(label, out_file, status, log, sys.argv[6])
    known = load_known(sys.argv[6] if len(sys.argv) > 6 else "", label)
    reruns = sys.argv[7:]
    reports = read_reports(out_file)
    if status in ("none", "timeout", "noprofile") or status.startswith(("spawn", "wait", "signal")):
        why = {
            "none": "no GOLDEN-EXIT on the console (boot failed or QEMU timed out)",
            "timeout": "msgring ran past MSGRING_GOLDEN_TIMEOUT",
            "noprofile": "the model has no profile for this kernel",
        }.get(status, status)
        print(f"RESULT {label} ERROR {why}; see {log}")
        print("golden: error: kernel %s: %s" % (label, why))
        print(f"COUNT {label} agree=0 new=1 known=0 skipped=0")
        return 2
    if not reports:
        print(f"RESULT {label} ERROR msgring exited {status} with no JSON output; see {log}")
        print("golden: error: kernel %s: no output" % label)
        print(f"COUNT {label} agree=0 new=1 known=0 skipped=0")
        return 2
    if mode == "run":
        bad = [r for r in reports if r.get("mismatches")]
        backend = reports[0].get("backend", "?")
        print(
            f"RESULT {label} pipeline-only: {len(reports)} traces ran on {backend}, "
            f"{len(bad)} with annotation mismatches (annotations are 6.18's; exit {status})"
        )
        for r in bad:
            for m in r["mismatches"]:
                print(f"  {base(r.get('file', '?'))}:{m.get('line')}: expected {text(m.get('expected'))} got {text(m.get('actual'))}")
        return 0
    return summarize_diff(label, reports, status, log, known, reruns)


def summarize_check(label, out_file, status, log, trace_dir):
    """`msgring check` ran in the guest: save its minimized traces, echo its findings."""
    try:
        lines = open(out_file, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        lines = []
    os.makedirs(trace_dir, exist_ok=True)
    kept, headers, body, name = [], [], None, None
    for line in lines:
        if name is not None:
            if line == f"--- END {name}":
                with open(os.path.join(trace_dir, name), "w", encoding="utf-8") as f:
                    f.write("\n".join(body) + "\n")
                kept.append(name)
                name = None
            else:
                body.append(line)
        elif line.startswith("--- BEGIN "):
            name, body = os.path.basename(line[len("--- BEGIN "):]), []
        elif line.startswith("MISMATCH "):
            headers.append(line)
        elif line.startswith(("  line ", "  model:", "  kernel:")) and headers:
            headers.append(line)
    summary = [ln for ln in lines if " traces, " in ln and " steps compared" in ln]
    if status not in ("0", "1") or not summary:
        print(f"RESULT {label} ERROR msgring check exited {status} without its summary; see {log}")
        print(f"golden: error: kernel {label}: check did not finish")
        return 2
    word = "check-ok" if status == "0" else "CHECK-FAILS"
    print(f"RESULT {label} {word}: {summary[-1].strip()}; {len(kept)} minimized traces in {trace_dir}")
    tail = lines[lines.index(summary[-1]) + 1:]
    for ln in tail:
        print(f"  {ln}")
    for ln in headers:
        print(f"  {ln}")
    return 0 if status == "0" else 1


def load_known(path, label):
    """{(trace, line): why} for `label`."""
    known = {}
    if not path:
        return known
    for raw in open(path, encoding="utf-8"):
        line, _, why = raw.partition("#")
        parts = line.split()
        if len(parts) != 2 or parts[0] not in (label, "*"):
            continue
        trace, _, ln = parts[1].rpartition(":")
        if trace and ln.isdigit():
            known[(trace, int(ln))] = why.strip()
    return known


def summarize_diff(label, reports, status, log, known, reruns=()):
    """`msgring --json diff` prints one object per trace: file, model, kernel, steps,
    compared, skipped (steps one side reported unmodelled), stopped {line, step, reason}
    (a state-changing step was unmodelled: comparison ended there), divergence {line,
    step, model, kernel, model_note, kernel_note, signature} (the first differing step).

    Per trace: a divergence -> diverges; else stopped -> skipped; else agrees."""
    agree, diverge, skipped = [], [], []
    for r in reports:
        if r.get("divergence"):
            diverge.append(r)
        elif r.get("stopped") or not r.get("compared"):
            skipped.append(r)
        else:
            agree.append(r)
    models = sorted({str(r.get("model")) for r in reports})
    kernels = sorted({str(r.get("kernel")) for r in reports})
    steps_unmodelled = sum(int(r.get("skipped") or 0) for r in agree)
    key = divergence_key
    unknown = [r for r in diverge if key(r) not in known]
    n_known = len(diverge) - len(unknown)
    # A new divergence stays new unless the reruns show it is a race: every rerun ran the
    # trace and at most half of them diverged at all. A rerun that diverges at another
    # line counts against the trace too: a racy step must not hide a steady divergence
    # after it.
    counts = rerun_counts(reruns)
    racy = {}
    for r in unknown:
        ran, lines = counts.get(key(r)[0], (0, {}))
        again = sum(lines.values())
        if reruns and ran == len(reruns) and 2 * again <= ran:
            racy[key(r)] = (lines.get(key(r)[1], 0), again, ran)
    new = [r for r in unknown if key(r) not in racy]
    word = "DIVERGES" if new else "agree"
    if not new and (n_known or racy):
        word = "agree-except-known" if not racy else "agree-except-racy"
    print(
        f"RESULT {label} {word}: {len(agree)} agree, {len(diverge)} diverge"
        + (f" ({n_known} known)" if n_known else "")
        + (f" ({len(racy)} racy)" if racy else "")
        + ", "
        f"{len(skipped)} skipped of {len(reports)} traces "
        f"({', '.join(models)} vs {', '.join(kernels)}; msgring exit {status})"
    )
    if steps_unmodelled:
        part = [f"{base(r['file'])}:{r['skipped']}" for r in agree if r.get("skipped")]
        print(f"  agreeing traces with unmodelled steps left out: {' '.join(part)}")
    for r in skipped:
        st = r.get("stopped") or {}
        if st:
            print(
                f"  skipped  {base(r.get('file', '?'))}:{st.get('line')} `{st.get('step')}`: "
                f"{st.get('reason')} ({r.get('compared')} steps agreed before)"
            )
        else:
            print(f"  skipped  {base(r.get('file', '?'))}: nothing compared")
    for r in diverge:
        d = r["divergence"]
        # FileId(u32::MAX): the kernel backend saw a slot it could not name. On 6.1 and
        # 6.12 that is every slot: their fdinfo prints d_iname and `<none>`.
        tag = "  [harness: fdinfo slot names unreadable]" if "@4294967295" in text(d.get("kernel")) else ""
        if key(r) in known:
            tag += f"  [known: {known[key(r)]}]"
        elif key(r) in racy:
            here, again, ran = racy[key(r)]
            tag += (
                f"  [RACY: diverged here again in {here} of {ran} reruns"
                + (f" (elsewhere in {again - here})" if again > here else "")
                + "; a kernel race the trace must not depend on: make it deterministic]"
            )
        elif reruns:
            ran, lines = counts.get(key(r)[0], (0, {}))
            tag += (
                f"  [reproduced in {lines.get(key(r)[1], 0)} of {ran} reruns"
                + "".join(f"; at line {ln} in {n}" for ln, n in sorted(lines.items()) if ln != key(r)[1])
                + "]"
            )
        print(
            f"  DIVERGES {base(r.get('file', '?'))}:{d.get('line')} "
            f"after {r.get('compared')} agreeing steps{tag}"
        )
        print(f"    step:   {d.get('step')}")

        def col(v, n):
            return v + (f"  ({n})" if n else "")

        m = col(text(d.get("model")), d.get("model_note"))
        k = col(text(d.get("kernel")), d.get("kernel_note"))
        lm, lk = str(r.get("model")), str(r.get("kernel"))
        w = max(len(lm), len(lk))
        print(f"    {lm:<{w}} | {m}")
        print(f"    {lk:<{w}} | {k}")
    print(
        f"COUNT {label} agree={len(agree)} new={len(new)} known={n_known} "
        f"skipped={len(skipped)} racy={len(racy)}"
    )
    seen = {key(r) for r in diverge}
    for (trace, ln), why in sorted(known.items()):
        if (trace, ln) not in seen:
            print(f"  known    {trace}:{ln} did not diverge this time ({why})")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
