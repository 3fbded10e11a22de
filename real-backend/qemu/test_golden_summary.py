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
        p = subprocess.run([sys.executable, SUMMARY, "diff", "6.12", out, "1", "console.log", kf, *rr],
                           capture_output=True, text=True, check=False)
        count = [ln for ln in p.stdout.splitlines() if ln.startswith("COUNT ")]
        self.assertEqual(len(count), 1, p.stdout + p.stderr)
        fields = dict(kv.split("=") for kv in count[0].split()[2:])
        return p.returncode, {k: int(v) for k, v in fields.items()}, p.stdout

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
        p = subprocess.run([sys.executable, SUMMARY, "new", "6.12", out, kf],
                           capture_output=True, text=True, check=True)
        self.assertEqual(p.stdout.split("\n"), ["b.trace 3", ""])


if __name__ == "__main__":
    unittest.main(verbosity=2)
