#!/usr/bin/env python3
"""Summarise one kernel's `msgring --json diff` (or `run`) output for golden.sh.

usage: golden_summary.py MODE LABEL OUT_FILE EXIT_STATUS CONSOLE_LOG [KNOWN_FILE [RERUN_OUT...]]
       golden_summary.py table OUT_DIR SUMMARY LABEL...
       golden_summary.py new LABEL OUT_FILE [KNOWN_FILE]
       golden_summary.py check LABEL OUT_FILE EXIT_STATUS CONSOLE_LOG TRACE_DIR

Prints one `RESULT <label> ...` line (`agree`/`DIVERGES`/`ERROR`), then each divergence
with the step and the model's and the kernel's values side by side. Exit status: 0 all
agree, 1 a divergence, 2 no usable output (the guest did not finish, msgring failed).

KNOWN_FILE lists divergences already reported: `LABEL TRACE:LINE  # why` per line
(LABEL `*` for every kernel). A listed divergence is printed as `known` and does not
make the result DIVERGES; a listed one that no longer happens is printed as `fixed?`.

RERUN_OUT files are `msgring --json diff` outputs of the same kernel re-running the traces
that diverged in OUT_FILE (golden.sh's recheck). They only describe a new divergence: one
the reruns reproduce in at most half of them is printed as `RACY` with the counts (a kernel
race the trace must not depend on), others with how often they came back. A rerun that
diverges at another line counts as a reproduction: a racy step must not hide a steady
divergence behind it. Either way a divergence that KNOWN_FILE does not name makes the
result DIVERGES: a verdict is never a vote (issue 12).

`check` reads `msgring --json check --print-traces` output (golden.sh's check mode): JSON
Lines on stdout (docs/json.md: `start`, `finding`, `summary`), and on stderr each
minimized trace between `--- BEGIN NAME` and `--- END NAME`, which it writes to
TRACE_DIR/NAME. It prints one `RESULT` line (`check-ok` / `CHECK-FAILS` / `ERROR`) with
the figures, each finding with the exact check's verdict (DIVERGE or UNKNOWN; re-runs are
information only), and a `CHECKCOUNT` line.

`table OUT_DIR SUMMARY LABEL...` prints one row per kernel from OUT_DIR/LABEL.info and
the COUNT/CHECKCOUNT lines of SUMMARY.

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
    if len(sys.argv) >= 4 and sys.argv[1] == "table":
        return table(sys.argv[2], sys.argv[3], sys.argv[4:])
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


def save_traces(lines, trace_dir):
    """Writes each `--- BEGIN NAME` .. `--- END NAME` block to TRACE_DIR/NAME."""
    os.makedirs(trace_dir, exist_ok=True)
    kept, body, name = [], None, None
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
    return kept


def check_records(text):
    """The `start`, `finding` and `summary` records (docs/json.md) of one
    `msgring --json check` run, as (start, [finding], summary); None for a missing one."""
    start, findings, summary = None, [], None
    for d in objects(text):
        if not isinstance(d, dict) or d.get("schema") != "msgring/1":
            continue
        if d.get("type") == "start":
            start = d
        elif d.get("type") == "finding" and isinstance(d.get("finding"), dict):
            findings.append(d["finding"])
        elif d.get("type") == "summary" and d.get("command") == "check":
            summary = d
    return start, findings, summary


def summarize_check(label, out_file, status, log, trace_dir):
    """`msgring --json check --print-traces` ran in the guest: JSON Lines on stdout
    (OUT_FILE: a `start` record, one `finding` per distinct mismatch, a `summary`), the
    minimized traces on stderr (OUT_FILE with .err). Save the traces, print the figures
    and every finding with its verdict (`diverge`: no path through the model's choice
    points explains the kernel; `unknown`: the search or the kernel's settle ran out),
    and a CHECKCOUNT line. There is no vote: any finding fails the kernel."""
    err_file = out_file[:-4] + ".err" if out_file.endswith(".out") else out_file + ".err"
    lines = []
    for p in (out_file, err_file):
        try:
            lines += open(p, encoding="utf-8", errors="replace").read().splitlines()
        except OSError:
            pass
    kept = save_traces(lines, trace_dir)
    try:
        body = open(out_file, encoding="utf-8", errors="replace").read()
    except OSError:
        body = ""
    start, findings, st = check_records(body)
    if status not in ("0", "1") or st is None:
        print(f"RESULT {label} ERROR msgring check exited {status} without its summary record; see {log}")
        print(f"golden: error: kernel {label}: check did not finish")
        return 2
    start = start or {}

    def n(key):
        try:
            return int(st.get(key) or 0)
        except (TypeError, ValueError):
            return 0

    secs = float(st.get("seconds") or 0)
    rate = f"{n('traces') / secs:.0f}/s" if secs > 0 else "?/s"
    word = "check-ok" if status == "0" and not findings else "CHECK-FAILS"
    print(
        f"RESULT {label} {word}: {n('traces')} traces ({rate}, {secs:.0f} s): "
        f"{n('agree')} agree, {n('diverge')} diverge, {n('unknown')} unknown; "
        f"{n('compared')} steps compared, {n('skipped')} unmodelled; {len(findings)} distinct; "
        f"{start.get('model', '?')} vs {start.get('kernel', '?')}, seed {st.get('seed')}; "
        f"{len(kept)} minimized traces in {trace_dir}"
    )
    chose = st.get("choices") if isinstance(st.get("choices"), dict) else {}
    if chose:
        print("  choice points taken: " + ", ".join(f"{k} {v}" for k, v in sorted(chose.items())))
    for f in findings:
        verdict = str(f.get("verdict") or "diverge").upper()
        print(
            f"  {verdict:<7} trace {f.get('trace')} ({f.get('count', 1)} traces; "
            f"diverged again in {f.get('reproduced', '?')}/{f.get('reproduce_runs', '?')} re-runs, "
            f"information only): {f.get('signature')}"
        )
        if f.get("file"):
            print(f"    file:   {base(str(f.get('file')))}")
        print(f"    line {f.get('line')}: {f.get('step')}")
        print(f"    model:  {f.get('model')}")
        print(f"    kernel: {f.get('kernel')}")
    print(
        f"CHECKCOUNT {label} traces={n('traces')} agree={n('agree')} diverge={n('diverge')} "
        f"unknown={n('unknown')} distinct={len(findings)} unmodelled={n('skipped')} seconds={secs:.0f}"
    )
    return 0 if status == "0" and not findings else 1


def table(out_dir, summary_file, labels):
    """One row per kernel: the package, what the guest's /init saw, and the figures of
    the COUNT (diff) or CHECKCOUNT (check) lines of SUMMARY_FILE."""
    counts = {}
    try:
        for ln in open(summary_file, encoding="utf-8", errors="replace"):
            w = ln.split()
            if len(w) > 2 and w[0] in ("COUNT", "CHECKCOUNT"):
                counts[w[1]] = (w[0], dict(kv.split("=", 1) for kv in w[2:] if "=" in kv))
    except OSError:
        pass
    rows = []
    for label in labels:
        info = {}
        try:
            for ln in open(os.path.join(out_dir, f"{label}.info"), encoding="utf-8"):
                k, _, v = ln.strip().partition("=")
                info[k] = v
        except OSError:
            pass
        kind, c = counts.get(label, ("", {}))
        if kind == "CHECKCOUNT":
            figures = [c.get("traces", "?"), c.get("diverge", "?"), c.get("unknown", "?"),
                       c.get("distinct", "?"), c.get("unmodelled", "?")]
        elif kind == "COUNT":
            n = {k: int(v) for k, v in c.items() if v.isdigit()}
            total = n.get("agree", 0) + n.get("new", 0) + n.get("known", 0) + n.get("skipped", 0) + n.get("racy", 0)
            figures = [f"{n.get('agree', 0)}/{total}", str(n.get("new", 0) + n.get("racy", 0)),
                       str(n.get("known", 0)), str(n.get("racy", 0)), str(n.get("skipped", 0))]
        else:
            figures = ["ERROR", "-", "-", "-", "-"]
        rows.append([label, info.get("pkg", "?"), info.get("release", "?"), info.get("profile", "?")]
                    + figures + [info.get("seconds", "?")])
    check = any(counts.get(lb, ("",))[0] == "CHECKCOUNT" for lb in labels)
    head = ["line", "package", "uname -r", "model"] + (
        ["traces", "diverge", "unknown", "distinct", "unmodelled"] if check
        else ["agree/total", "diverge", "known", "racy", "skipped"]) + ["seconds"]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in [head] + rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    return 0


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
    # A race the reruns saw is named (RACY) but still fails: only a divergence listed in
    # KNOWN_FILE, with its reason, is let through (issue 12: at most one per kernel).
    new = [r for r in unknown if key(r) not in racy]
    word = "DIVERGES" if unknown else "agree"
    if not unknown and n_known:
        word = "agree-except-known"
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
                + "; a kernel race the trace must not depend on: make it deterministic,"
                + " or name it in the known list with its reason]"
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
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
