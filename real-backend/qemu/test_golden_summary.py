#!/usr/bin/env python3
"""Tests of golden_summary.py's verdicts (run by .ci/run): known, new and racy
divergences, and the recheck policy (a new divergence fails unless every rerun ran the
trace and at most half of them diverged at the same line).

usage: python3 real-backend/qemu/test_golden_summary.py
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = os.path.join(HERE, "golden_summary.py")


def summary(*args, check=False):
    """golden_summary.py ARGS..., as golden.sh runs it: (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, SUMMARY, *args], capture_output=True, text=True, check=check)
    return p.returncode, p.stdout, p.stderr


def report(name, line=None):
    r = {"file": f"/golden/runs/full/traces/{name}", "model": "model 6.12",
         "kernel": "kernel 6.12.117", "steps": 5, "compared": 5, "skipped": 0}
    if line is not None:
        r["divergence"] = {"line": line, "step": "reap r0", "model": "cqes [a; b]",
                           "kernel": "cqes [b; a]", "signature": "reap order"}
        r["compared"] = 3
    return r


class Summary(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, content):
        path = os.path.join(self.dir.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content if isinstance(content, str) else "\n".join(json.dumps(r) for r in content))
        return path

    def run_summary(self, full, known="", reruns=()):
        out = self.write("full.out", full)
        kf = self.write("known.txt", known) if known else ""
        rr = [self.write(f"rerun{i}.out", r) for i, r in enumerate(reruns)]
        rc, stdout, stderr = summary("diff", "6.12", out, "1", "console.log", kf, *rr)
        count = [ln for ln in stdout.splitlines() if ln.startswith("COUNT ")]
        self.assertEqual(len(count), 1, stdout + stderr)
        fields = dict(kv.split("=") for kv in count[0].split()[2:])
        return rc, {k: int(v) for k, v in fields.items()}, stdout

    def test_json_lines_output(self):
        # `msgring --json diff` as JSON Lines (docs/json.md): file records with event
        # objects, then a summary record that is not a trace.
        ev = lambda t: {"kind": "cqes", "cqes": [], "text": t}
        a = dict(report("a.trace", 7), schema="msgring/1", type="file", verdict="diverge")
        a["divergence"] = dict(a["divergence"], model=ev("cqes [a; b]"), kernel=ev("cqes [b; a]"))
        b = dict(report("b.trace"), schema="msgring/1", type="file", verdict="agree")
        end = {"schema": "msgring/1", "type": "summary", "command": "diff", "files": 2, "exit": 1}
        rc, c, out = self.run_summary([a, b, end])
        self.assertEqual((rc, c["new"], c["agree"], c["skipped"]), (1, 1, 1, 0))
        self.assertIn("| cqes [a; b]", out)

    def test_json_lines_run_mismatches(self):
        f = {"schema": "msgring/1", "type": "file", "file": "/g/a.trace", "backend": "model 6.1",
             "steps": 3, "annotations": 2, "mismatches": 1}
        m = {"schema": "msgring/1", "type": "mismatch", "file": "/g/a.trace", "line": 4, "index": 2,
             "expected": {"kind": "ret", "text": "ret 0"}, "actual": {"kind": "ret", "text": "ret -EINVAL"}}
        out = self.write("run.out", [{"schema": "msgring/1", "type": "step", "file": "/g/a.trace"}, m, f])
        rc, stdout, _ = summary("run", "6.1", out, "1", "console.log")
        self.assertEqual(rc, 0, stdout)
        self.assertIn("1 traces ran on model 6.1, 1 with annotation mismatches", stdout)
        self.assertIn("a.trace:4: expected ret 0 got ret -EINVAL", stdout)

    def test_new_divergence_without_reruns_fails(self):
        rc, c, _ = self.run_summary([report("a.trace", 7), report("b.trace")])
        self.assertEqual((rc, c["new"], c["agree"], c["racy"]), (1, 1, 1, 0))

    def test_known_divergence_passes(self):
        rc, c, out = self.run_summary([report("a.trace", 7)], known="6.12 a.trace:7 # why\n")
        self.assertEqual((rc, c["new"], c["known"]), (0, 0, 1))
        self.assertIn("[known: why]", out)

    def test_known_at_another_line_is_still_new(self):
        rc, c, _ = self.run_summary([report("a.trace", 8)], known="6.12 a.trace:7 # why\n")
        self.assertEqual((rc, c["new"]), (1, 1))

    def test_deterministic_divergence_fails_after_recheck(self):
        reruns = [[report("a.trace", 7)]] * 5
        rc, c, out = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["new"], c["racy"]), (1, 1, 0))
        self.assertIn("reproduced in 5 of 5 reruns", out)

    def test_majority_reproduction_fails(self):
        reruns = [[report("a.trace", 7)]] * 3 + [[report("a.trace")]] * 2
        rc, c, _ = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["new"], c["racy"]), (1, 1, 0))

    def test_rare_divergence_is_racy_and_passes(self):
        reruns = [[report("a.trace", 7)]] * 2 + [[report("a.trace")]] * 3
        rc, c, out = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["new"], c["racy"]), (0, 0, 1))
        self.assertIn("RACY: diverged here again in 2 of 5 reruns", out)
        self.assertIn("agree-except-racy", out)

    def test_steady_divergence_at_another_line_fails(self):
        # Line 7 raced once; every rerun then diverged at line 9: not a race to wave through.
        reruns = [[report("a.trace", 9)]] * 5
        rc, c, out = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["new"], c["racy"]), (1, 1, 0))
        self.assertIn("reproduced in 0 of 5 reruns; at line 9 in 5", out)

    def test_racy_counts_divergences_elsewhere(self):
        reruns = [[report("a.trace", 7)], [report("a.trace", 9)]] + [[report("a.trace")]] * 3
        rc, c, out = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["racy"]), (0, 1))
        self.assertIn("diverged here again in 1 of 5 reruns (elsewhere in 1)", out)

    def test_missing_rerun_output_keeps_the_divergence_new(self):
        # A recheck boot that printed nothing for one run proves nothing.
        reruns = [[report("a.trace")]] * 4 + [""]
        rc, c, _ = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["new"], c["racy"]), (1, 1, 0))

    def test_new_lists_only_unknown_divergences(self):
        out = self.write("full.out", [report("a.trace", 7), report("b.trace", 3), report("c.trace")])
        kf = self.write("known.txt", "6.12 a.trace:7 # why\n* x.trace:1\n")
        _, stdout, _ = summary("new", "6.12", out, kf, check=True)
        self.assertEqual(stdout.split("\n"), ["b.trace 3", ""])


class CheckMode(unittest.TestCase):
    """`check`: minimized traces are written out, the verdict follows msgring's exit."""

    OUT = """msgring check: seed 1, 40 steps per trace, model 6.12 vs kernel 6.12.117 (replay: --seed 1)
MISMATCH 1: trace 26 (seed 0x83), 45 -> 9 steps, reproduces 5/5: /tmp/reports/seed1-trace26-query.trace
  line 22: query r0 slot=0
  model:  slot empty
  kernel: slot f0
--- BEGIN seed1-trace26-query.trace
# a comment
msgring-trace 1
setup r0 entries=1
--- END seed1-trace26-query.trace
  3 traces: query: slot full vs empty
100 traces, 4000 steps compared, 0 skipped, 3 mismatches (1 distinct, in /tmp/reports), 9 traces/s, seed 1
1 distinct mismatches reproduce
"""

    def run_check(self, out, status):
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "out")
            with open(f, "w", encoding="utf-8") as fh:
                fh.write(out)
            traces = os.path.join(d, "traces")
            rc, stdout, _ = summary("check", "6.12", f, status, "log", traces)
            files = {n: open(os.path.join(traces, n), encoding="utf-8").read()
                     for n in (os.listdir(traces) if os.path.isdir(traces) else [])}
            return rc, stdout, files

    def test_failing_check_writes_its_traces(self):
        rc, out, files = self.run_check(self.OUT, "1")
        self.assertEqual(rc, 1)
        self.assertIn("RESULT 6.12 CHECK-FAILS: 100 traces", out)
        self.assertIn("MISMATCH 1: trace 26", out)
        self.assertEqual(files, {"seed1-trace26-query.trace": "# a comment\nmsgring-trace 1\nsetup r0 entries=1\n"})

    def test_passing_check(self):
        rc, out, _ = self.run_check(self.OUT, "0")
        self.assertEqual(rc, 0)
        self.assertIn("RESULT 6.12 check-ok", out)

    def test_unfinished_check_is_an_error(self):
        rc, out, _ = self.run_check(self.OUT.split("  3 traces")[0], "timeout")
        self.assertEqual(rc, 2)
        self.assertIn("RESULT 6.12 ERROR", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
