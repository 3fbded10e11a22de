#!/usr/bin/env python3
"""Summarise one kernel's `msgring --json diff` (or `run`) output for golden.sh.

usage: golden_summary.py MODE LABEL OUT_FILE EXIT_STATUS CONSOLE_LOG

Prints one `RESULT <label> ...` line (`agree`/`DIVERGES`/`ERROR`), then each divergence
with the step and the model's and the kernel's values side by side. Exit status: 0 all
agree, 1 a divergence, 2 no usable output (the guest did not finish, msgring failed).
"""
import json
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
    """Flatten to per-trace dicts."""
    for d in docs:
        if isinstance(d, list):
            yield from trace_reports(d)
        elif isinstance(d, dict) and isinstance(d.get("traces"), list):
            yield from trace_reports(d["traces"])
        elif isinstance(d, dict):
            yield d


def main():
    mode, label, out_file, status, log = sys.argv[1:6]
    try:
        text = open(out_file, encoding="utf-8", errors="replace").read()
    except OSError:
        text = ""
    docs = list(objects(text))
    reports = list(trace_reports(docs))
    if status in ("none", "timeout", "noprofile") or status.startswith(("spawn", "wait", "signal")):
        why = {
            "none": "no GOLDEN-EXIT on the console (boot failed or QEMU timed out)",
            "timeout": "msgring ran past MSGRING_GOLDEN_TIMEOUT",
            "noprofile": "the model has no profile for this kernel",
        }.get(status, status)
        print(f"RESULT {label} ERROR {why}; see {log}")
        print("golden: error: kernel %s: %s" % (label, why))
        return 2
    if not reports:
        print(f"RESULT {label} ERROR msgring exited {status} with no JSON output; see {log}")
        print("golden: error: kernel %s: no output" % label)
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
                print(f"  {base(r.get('file', '?'))}:{m.get('line')}: expected {short(m.get('expected'))} got {short(m.get('actual'))}")
        return 0
    return summarize_diff(label, reports, status, log)


def summarize_diff(label, reports, status, log):
    agree, diverge, skipped = [], [], []
    for r in reports:
        verdict = str(r.get("verdict") or r.get("status") or r.get("result") or "").lower()
        if verdict.startswith("skip") or r.get("skipped"):
            skipped.append(r)
        elif verdict.startswith("diverg") or r.get("divergence") or r.get("divergences"):
            diverge.append(r)
        elif verdict.startswith("agree") or verdict == "ok":
            agree.append(r)
        else:
            diverge.append(r)
    kernel = next((r.get("kernel") for r in reports if r.get("kernel")), None)
    word = "DIVERGES" if diverge else "agree"
    print(
        f"RESULT {label} {word}: {len(agree)} agree, {len(diverge)} diverge, "
        f"{len(skipped)} skipped of {len(reports)} traces (msgring exit {status}"
        + (f", kernel {short(kernel)}" if kernel else "")
        + ")"
    )
    for r in skipped:
        why = r.get("reason") or r.get("note") or r.get("skipped") or ""
        print(f"  skipped  {base(r.get('file', '?'))}: {short(why)}")
    for r in diverge:
        print(f"  DIVERGES {base(r.get('file', '?'))}")
        ds = r.get("divergences") or ([r["divergence"]] if r.get("divergence") else [])
        if not ds:
            print("    " + short(r))
        for d in ds:
            line = d.get("line")
            stp = d.get("step", "")
            print(f"    line {line}: {short(stp)}")
            print(f"      model:  {short(d.get('model'))}")
            print(f"      kernel: {short(d.get('kernel'))}")
    if diverge:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
