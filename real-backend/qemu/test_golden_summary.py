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


class CheckJson(unittest.TestCase):
    """`msgring --json check --print-traces`: JSON Lines records on stdout (docs/json.md),
    minimized traces on stderr. A finding fails the kernel whatever its re-runs said."""

    START = {"schema": "msgring/1", "type": "start", "seed": 1, "steps_per_trace": 40,
             "model": "model 6.12.118", "kernel": "kernel 6.12.118-amd64"}
    FINDING = {"schema": "msgring/1", "type": "finding", "number": 1, "finding": {
        "file": "/tmp/reports/seed1-trace26-query.trace", "html": None, "seed": 1, "trace": 26,
        "trace_seed": 131, "signature": "query: slot full vs empty", "original_steps": 45,
        "minimized_steps": 9, "line": 22, "step": "query r0 slot=0", "model": "slot empty",
        "kernel": "slot f0", "count": 3, "verdict": "diverge", "nearest_choices": [],
        "reproduced": 1, "reproduce_runs": 5, "fails": True}}
    SUMMARY = {"schema": "msgring/1", "type": "summary", "command": "check", "traces": 1200,
               "steps": 50000, "agree": 1197, "diverge": 3, "unknown": 0,
               "choices": {"iowq_early": 2}, "seed": 1, "steps_per_trace": 40,
               "compared": 50000, "skipped": 12, "distinct": 1, "seconds": 120.0,
               "traces_per_second": 10.0, "reports": "/tmp/reports",
               "files": ["/tmp/reports/seed1-trace26-query.trace"], "exit": 1}
    ERR = ("msgring check: seed 1\n--- BEGIN seed1-trace26-query.trace\n# a comment\n"
           "msgring-trace 1\nsetup r0 entries=1\n--- END seed1-trace26-query.trace\n")

    def run_check(self, records, status):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "k.full.out"), "w", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(r) + "\n" for r in records))
            with open(os.path.join(d, "k.full.err"), "w", encoding="utf-8") as fh:
                fh.write(self.ERR)
            traces = os.path.join(d, "traces")
            rc, out, _ = summary("check", "6.12", os.path.join(d, "k.full.out"), status, "log", traces)
            files = {}
            for n in os.listdir(traces) if os.path.isdir(traces) else []:
                with open(os.path.join(traces, n), encoding="utf-8") as fh:
                    files[n] = fh.read()
            return rc, out, files

    def test_a_finding_fails_even_when_rare_on_rerun(self):
        rc, out, files = self.run_check([self.START, self.FINDING, self.SUMMARY], "1")
        self.assertEqual(rc, 1)
        self.assertIn("RESULT 6.12 CHECK-FAILS: 1200 traces (10/s, 120 s): 1197 agree, 3 diverge, 0 unknown", out)
        self.assertIn("12 unmodelled", out)
        self.assertIn("DIVERGE trace 26 (3 traces; diverged again in 1/5 re-runs", out)
        self.assertIn("kernel: slot f0", out)
        self.assertIn("choice points taken: iowq_early 2", out)
        self.assertIn("CHECKCOUNT 6.12 traces=1200 agree=1197 diverge=3 unknown=0 distinct=1 unmodelled=12", out)
        self.assertEqual(files, {"seed1-trace26-query.trace": "# a comment\nmsgring-trace 1\nsetup r0 entries=1\n"})

    def test_unknown_verdict_is_named(self):
        f = json.loads(json.dumps(self.FINDING))
        f["finding"]["verdict"] = "unknown"
        _, out, _ = self.run_check([self.START, f, self.SUMMARY], "1")
        self.assertIn("UNKNOWN trace 26", out)

    def test_passing_check(self):
        s = dict(self.SUMMARY, agree=1200, diverge=0, distinct=0, files=[], exit=0)
        rc, out, _ = self.run_check([self.START, s], "0")
        self.assertEqual(rc, 0)
        self.assertIn("RESULT 6.12 check-ok: 1200 traces", out)
        self.assertIn("model 6.12.118 vs kernel 6.12.118-amd64", out)

    def test_a_finding_fails_whatever_the_exit_status(self):
        s = dict(self.SUMMARY, exit=0)
        rc, out, _ = self.run_check([self.START, self.FINDING, s], "0")
        self.assertEqual(rc, 1)
        self.assertIn("CHECK-FAILS", out)

    def test_unfinished_check_is_an_error(self):
        rc, out, _ = self.run_check([self.START, self.FINDING], "timeout")
        self.assertEqual(rc, 2)
        self.assertIn("RESULT 6.12 ERROR", out)
        rc, _, _ = self.run_check([self.START, self.FINDING], "1")
        self.assertEqual(rc, 2, "no summary record: the run did not finish")


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

    def test_check_rows(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "summary.txt"), "w", encoding="utf-8") as f:
                f.write("CHECKCOUNT 7.3 traces=12563 agree=12563 diverge=0 unknown=2 distinct=1 unmodelled=40 seconds=120\n")
            rc, out, _ = summary("table", d, os.path.join(d, "summary.txt"), "7.3")
        self.assertEqual(rc, 0)
        head, row = out.splitlines()[:2]
        self.assertEqual(head.split()[5:10], ["traces", "diverge", "unknown", "distinct", "unmodelled"])
        self.assertEqual(row.split()[4:9], ["12563", "0", "2", "1", "40"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
