#!/usr/bin/env python3
"""Integration tests for `trellis validate`: runs the real binary on files, directories and
standard input, and checks exit codes, output formats and verdicts on the seed manifests."""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

ARGS = None


def run(*args, stdin=None):
    proc = subprocess.run([ARGS.trellis, *args], input=stdin, capture_output=True, timeout=60)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def seeds_dir():
    return os.path.join(ARGS.source, "tests", "fixtures", "seeds")


class ValidateCli(unittest.TestCase):
    def write(self, directory, name, text):
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_clean_manifest_exits_zero(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.write(d, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n")
            code, out, _ = run("validate", "-f", p)
            self.assertEqual(code, 0, out)
            self.assertIn("1 file, 1 resource: 0 errors, 0 warnings", out)

    def test_errors_exit_one_with_compiler_style_lines(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.write(d, "bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n  labls: {}\n")
            code, out, _ = run("validate", "-f", p)
            self.assertEqual(code, 1, out)
            self.assertIn(f'{p}:5:3: error: Namespace/demo: metadata.labls: unknown field "labls" '
                          f'(did you mean "labels"?)', out)

    def test_warnings_only_exit_zero(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.write(d, "vs.yaml", "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                                         "metadata:\n  name: x\n  namespace: demo\nspec: {}\n")
            code, out, _ = run("validate", "-f", p)
            self.assertEqual(code, 0, out)
            self.assertIn("warning: VirtualService/demo/x: networking.istio.io/v1beta1 VirtualService is "
                          "not a Trellis resource and is ignored", out)

    def test_directory_is_recursive_and_skips_hidden_and_other_files(self):
        with tempfile.TemporaryDirectory() as d:
            self.write(d, "a/one.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n")
            self.write(d, "a/b/two.yml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n")
            self.write(d, "three.json", '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"c"}}')
            self.write(d, ".hidden/bad.yaml", "nonsense: [\n")
            self.write(d, "notes.txt", "nonsense: [\n")
            code, out, _ = run("validate", "-f", d)
            self.assertEqual(code, 0, out)
            self.assertIn("3 files, 3 resources: 0 errors, 0 warnings", out)

    def test_stdin_and_json_output(self):
        doc = ('{"apiVersion":"v1","kind":"List","items":['
               '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ok"}},'
               '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"Not_OK"}}]}')
        code, out, _ = run("validate", "-f", "-", "-o", "json", stdin=doc.encode())
        self.assertEqual(code, 1, out)
        report = json.loads(out)
        self.assertEqual(report["resources"], 2)
        self.assertEqual(report["errors"], 1)
        diag = report["diagnostics"][0]
        self.assertEqual(diag["file"], "<stdin>")
        self.assertEqual(diag["field"], "metadata.name")
        self.assertEqual(diag["object"]["kind"], "Namespace")
        self.assertEqual(diag["severity"], "error")
        self.assertTrue(diag["message"].startswith('invalid name "Not_OK"'))

    def test_usage_and_io_errors_exit_two(self):
        code, _, err = run("validate", "-f", "/nonexistent/path.yaml")
        self.assertEqual(code, 2)
        self.assertIn("/nonexistent/path.yaml: no such file or directory", err)
        code, _, _ = run("validate")
        self.assertEqual(code, 2)
        code, _, err = run("validate", "-f", seeds_dir(), "-o", "xml")
        self.assertEqual(code, 2)
        self.assertIn('unsupported output format "xml"', err)

    def test_never_crashes_on_garbage(self):
        rng = random.Random(1234)
        alphabet = b"{}[]:,-? \n\t\"'!&*#|>%@`abcz019.\x00\xff"
        with open(os.path.join(seeds_dir(), "001-canary.yaml"), "rb") as f:
            seed_text = f.read()
        for i in range(150):
            if i % 2 == 0:
                data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
            else:
                data = bytearray(seed_text)
                for _ in range(rng.randint(1, 20)):
                    data[rng.randrange(len(data))] = rng.choice(alphabet)
                data = bytes(data)
            code, out, err = run("validate", "-f", "-", stdin=data)
            self.assertIn(code, (0, 1), f"input {data!r}\nstdout {out}\nstderr {err}")

    def test_deeply_nested_input_is_an_error_not_a_crash(self):
        code, out, _ = run("validate", "-f", "-", stdin=b"[" * 100000)
        self.assertEqual(code, 1, out)
        code, out, _ = run("validate", "-f", "-", stdin=b"a: " + b"{b: " * 5000 + b"}" * 5000)
        self.assertIn(code, (0, 1), out)


class SeedVerdicts(unittest.TestCase):
    """Which seed manifests are clean, which warn, and which fail (messages: seeds_test.cc)."""

    EXPECTED = {
        # file: (exit code, must-contain substrings)
        "000-template3-service-profile.yaml": (0, []),
        "000-template4-traffic-split.yaml": (0, []),
        "000-template6-httproute.yaml": (0, ["the match on header x-api-version: v2 (no path, so "
                                             "PathPrefix / is implied) does not apply to requests "
                                             "under /api"]),
        "000-template5-server-authorization.yaml": (0, ["is deprecated"]),
        "000-template2-inject.yaml": (1, ["spec.selector: missing required field"]),
        "001-frontend.yaml": (0, ["VirtualService is not a Trellis resource",
                                  "TrafficSplit is not a linkerd.io kind"]),
        "001-canary.yaml": (1, ['unknown field "schedule"', "autoscalingRef"]),
        "002-traffic-split-90-10.yaml": (0, ["trafficRouting"]),
        "002-traffic-split-full-rollout.yaml": (0, ["trafficRouting"]),
        "002-my-app-v2.yaml": (0, []),
    }

    def test_each_seed(self):
        for name, (want_code, needles) in self.EXPECTED.items():
            with self.subTest(seed=name):
                code, out, _ = run("validate", "-f", os.path.join(seeds_dir(), name))
                self.assertEqual(code, want_code, out)
                for needle in needles:
                    self.assertIn(needle, out)
                if want_code == 0 and not needles:
                    self.assertIn("0 errors, 0 warnings", out)


class SeedGolden(unittest.TestCase):
    """The exact output of `trellis validate` over every seed manifest, reviewed by hand and kept
    in tests/fixtures/seeds/expected-validate.txt: which manifests are clean, which warn, which
    fail, and every message. Regenerate with
    `build/bin/trellis validate -f tests/fixtures/seeds/ > tests/fixtures/seeds/expected-validate.txt`
    (run from the repository root) and review the diff."""

    def test_output_matches(self):
        proc = subprocess.run([ARGS.trellis, "validate", "-f", "tests/fixtures/seeds/"],
                              cwd=ARGS.source, capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        with open(os.path.join(seeds_dir(), "expected-validate.txt")) as f:
            expected = f.read()
        self.assertEqual(proc.stdout.decode(), expected)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--trellis", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
