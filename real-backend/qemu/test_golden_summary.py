#!/usr/bin/env python3
"""Tests of golden_summary.py's verdicts (run by .ci/run): known, new and racy
divergences (the recheck names a race, but only the known list lets a divergence pass),
check mode (JSON and text), and the table.

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

    def test_rare_divergence_is_named_racy_and_still_fails(self):
        reruns = [[report("a.trace", 7)]] * 2 + [[report("a.trace")]] * 3
        rc, c, out = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["new"], c["racy"]), (1, 0, 1))
        self.assertIn("RACY: diverged here again in 2 of 5 reruns", out)
        self.assertIn("DIVERGES", out)

    def test_racy_divergence_in_the_known_list_passes(self):
        reruns = [[report("a.trace", 7)]] * 2 + [[report("a.trace")]] * 3
        rc, c, out = self.run_summary([report("a.trace", 7)], known="6.12 a.trace:7 # a race\n", reruns=reruns)
        self.assertEqual((rc, c["known"], c["racy"]), (0, 1, 0))
        self.assertIn("agree-except-known", out)

    def test_steady_divergence_at_another_line_fails(self):
        # Line 7 raced once; every rerun then diverged at line 9: not a race to wave through.
        reruns = [[report("a.trace", 9)]] * 5
        rc, c, out = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["new"], c["racy"]), (1, 1, 0))
        self.assertIn("reproduced in 0 of 5 reruns; at line 9 in 5", out)

    def test_racy_counts_divergences_elsewhere(self):
        reruns = [[report("a.trace", 7)], [report("a.trace", 9)]] + [[report("a.trace")]] * 3
        rc, c, out = self.run_summary([report("a.trace", 7)], reruns=reruns)
        self.assertEqual((rc, c["racy"]), (1, 1))
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


class CheckJson(unittest.TestCase):
    """`msgring --json check`: the report on stdout, traces on stderr."""

    REPORT = {"seed": 1, "steps": 40, "kernel": "7.3.4+deb13-amd64", "profile": "7.3.4",
              "stats": {"traces": 1200, "compared": 50000, "skipped": 3, "mismatches": 7,
                        "distinct": 2, "seconds": 120.0},
              "findings": [
                  {"index": 5, "signature": "observe: view ready", "line": 9, "step": "observe r0",
                   "model": "ready=1", "kernel": "ready=2", "count": 4, "reproduced": 5,
                   "iowq_before": False},
                  {"index": 9, "signature": "reap: cqes order", "line": 12, "step": "reap r1",
                   "model": "a b", "kernel": "b a", "count": 3, "reproduced": 1,
                   "iowq_before": True}],
              "files": ["/tmp/reports/seed1-trace5-observe.trace"]}
    ERR = "msgring check: seed 1\n--- BEGIN seed1-trace5-observe.trace\nmsgring-trace 1\n--- END seed1-trace5-observe.trace\n"

    def run_check(self, report, status):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "k.full.out"), "w", encoding="utf-8") as fh:
                fh.write(json.dumps(report, indent=2))
            with open(os.path.join(d, "k.full.err"), "w", encoding="utf-8") as fh:
                fh.write(self.ERR)
            traces = os.path.join(d, "traces")
            rc, out, _ = summary("check", "7.3", os.path.join(d, "k.full.out"), status, "log", traces)
            return rc, out, sorted(os.listdir(traces)) if os.path.isdir(traces) else []

    def test_json_report_classifies_steady_and_racy(self):
        rc, out, files = self.run_check(self.REPORT, "1")
        self.assertEqual(rc, 1)
        self.assertIn("1200 traces (10/s, 120 s)", out)
        self.assertIn("2 distinct: 1 steady, 1 racy (pending the exact check)", out)
        self.assertIn("STEADY trace 5", out)
        self.assertIn("RACY   trace 9", out)
        self.assertIn("CHECKCOUNT 7.3 traces=1200 mismatches=7 distinct=2 steady=1 racy=1", out)
        self.assertEqual(files, ["seed1-trace5-observe.trace"])

    def test_a_verdict_in_the_report_wins(self):
        r = json.loads(json.dumps(self.REPORT))
        r["findings"][0]["verdict"] = "unknown"
        r["findings"][1]["verdict"] = "diverge"
        _, out, _ = self.run_check(r, "1")
        self.assertIn("STEADY trace 9", out)
        self.assertIn("RACY   trace 5", out)

    def test_extra_fields_do_not_matter(self):
        r = json.loads(json.dumps(self.REPORT))
        r["choices"] = {"points": 4}
        r["stats"]["agree"] = 1190
        rc, out, _ = self.run_check(r, "0")
        self.assertEqual(rc, 0)
        self.assertIn("RESULT 7.3 check-ok", out)


class Table(unittest.TestCase):
    def test_one_row_per_kernel(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "6.1.info"), "w", encoding="utf-8") as f:
                f.write("pkg=linux-image-6.1.0-57-amd64=6.1.192-3\nrelease=6.1.0-57-amd64\nprofile=6.1.192\nseconds=6.2\n")
            with open(os.path.join(d, "summary.txt"), "w", encoding="utf-8") as f:
                f.write("COUNT 6.1 agree=70 new=1 known=1 skipped=0 racy=0\n")
            rc, out, _ = summary("table", d, os.path.join(d, "summary.txt"), "6.1", "7.3")
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("line"))
        self.assertIn("6.1.192", lines[1])
        self.assertIn("70/72", lines[1])
        self.assertIn("ERROR", lines[2])


if __name__ == "__main__":
    unittest.main(verbosity=2)
