#!/usr/bin/env python3
"""ctest bench.smoke: runs bench/run.py in quick mode with one repetition and checks the report's
structure: every scenario has a row in each table (measured, or "not available" with a reason),
measured scenarios completed requests, and results.json agrees. No timing assertions."""

import argparse
import json
import os
import subprocess
import sys
import unittest

ARGS = None


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        env = {**os.environ, "BENCH_QUICK": "1", "BENCH_REPS": "1"}
        env.pop("BENCH_SCENARIOS", None)
        cls.proc = subprocess.run([sys.executable, ARGS.run, "--bin", ARGS.bin, "--out", ARGS.out],
                                  capture_output=True, text=True, env=env, timeout=170)
        cls.md_path = os.path.join(ARGS.out, "results.md")
        cls.json_path = os.path.join(ARGS.out, "results.json")

    def test_harness_succeeds(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stdout[-4000:] + self.proc.stderr)

    def test_every_scenario_has_a_row_in_each_table(self):
        sys.path.insert(0, os.path.dirname(ARGS.run))
        import run  # the harness's own scenario list
        with open(self.md_path) as f:
            md = f.read()
        sections = md.split("\n## ")
        tables = [s for s in sections if s.startswith(("Cost and capacity", "Latency"))]
        self.assertEqual(len(tables), 2, md)
        for table in tables:
            rows = [line for line in table.splitlines() if line.startswith("| ")]
            titles = [row.split("|")[1].strip() for row in rows[1:]]  # rows[0] is the header
            self.assertEqual(titles, [title for _, title in run.SCENARIOS], table)
        self.assertIn("## Targets", md)
        self.assertIn(md.strip(), self.proc.stdout)  # printed as well as written

    def test_json_matches_and_measured_scenarios_served_requests(self):
        with open(self.json_path) as f:
            data = json.load(f)
        self.assertTrue(data["meta"]["quick"])
        self.assertEqual(data["meta"]["reps"], 1)
        results = {r["scenario"]: r for r in data["results"]}
        for key in ("direct", "trellis", "haproxy", "nginx", "trellis2", "haproxy-tls"):
            self.assertTrue(results[key]["available"], key)
        for key, r in results.items():
            if not r["available"]:
                self.assertTrue(r["reason"], key)
                continue
            for name in ("1k", "5k", "max"):
                self.assertEqual(len(r["runs"][name]), 1, key)
                self.assertGreater(r["runs"][name][0]["ok"], 0, (key, name))
            if key != "direct":
                self.assertGreater(r["rss_idle_kb"], 0, key)
                self.assertGreater(r["idle_connections"], 0, key)
                self.assertIsNotNone(r["cpu_us_per_req_5k"], key)
            if key in ("trellis-mesh", "haproxy-tls"):
                self.assertGreater(r["handshakes"]["ok"], 0, (key, r["handshakes"]))
        self.assertEqual(len(data["targets"]), 6)
        for t in data["targets"]:
            self.assertIn(t["result"], ("PASS", "MISS", "N/A"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
