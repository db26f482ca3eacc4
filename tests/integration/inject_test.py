#!/usr/bin/env python3
"""Integration tests for `trellis inject` / `trellis uninject`: golden output on the seed
manifests, `trellis validate` on the results (annotation and --manual injection), and uninject
giving back documents equal to the originals. Regenerate the goldens with --update."""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

ARGS = None


def run(*args, stdin=None, cwd=None):
    proc = subprocess.run([ARGS.trellis, *args], input=stdin, capture_output=True, timeout=60,
                          cwd=cwd or ARGS.source)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def fixture(*parts):
    return os.path.join(ARGS.source, "tests", "fixtures", *parts)


def load_all(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def summary(validate_stdout):
    """(resources, errors, warnings) from the last line of `trellis validate`."""
    m = re.search(r"(\d+) resources?: (\d+) errors?, (\d+) warnings?\s*$", validate_stdout)
    assert m, validate_stdout
    return tuple(int(g) for g in m.groups())


def pod_templates(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        return [doc]
    if kind == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                "ReplicationController"):
        return [doc["spec"]["template"]]
    if kind == "List":
        return [t for item in doc.get("items", []) for t in pod_templates(item)]
    return []


class InjectTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def golden(self, name, actual):
        path = fixture("inject", name)
        if ARGS.update:
            with open(path, "w") as f:
                f.write(actual)
        with open(path) as f:
            self.assertEqual(actual, f.read(), f"differs from {path} (rerun with --update?)")

    def validate(self, path):
        code, out, err = run("validate", "-f", path)
        self.assertIn(code, (0, 1), err)
        return summary(out), out

    # ---- golden output ----

    def test_seeds_golden(self):
        code, out, err = run("inject", "-f", "tests/fixtures/seeds/")
        self.assertEqual(code, 0, err)
        self.golden("seeds.injected.yaml", out)
        self.golden("seeds.report.txt", err)

    def test_workloads_manual_golden(self):
        code, out, err = run("inject", "--manual", "-f", "tests/fixtures/inject/workloads.yaml")
        self.assertEqual(code, 0, err)
        self.golden("workloads.manual.yaml", out)
        self.golden("workloads.manual.report.txt", err)

    # ---- the result is still valid ----

    def test_validate_after_inject_reports_nothing_new(self):
        sources = ["tests/fixtures/seeds/", "examples/", "tests/fixtures/inject/workloads.yaml"]
        for source in sources:
            for mode in ([], ["--manual"]):
                with self.subTest(source=source, mode=mode):
                    code, out, err = run("inject", *mode, "-f", source)
                    self.assertEqual(code, 0, err)
                    before, _ = self.validate(source)
                    after, report = self.validate(self.write("out.yaml", out))
                    self.assertEqual(after, before, report)

    def test_examples_are_clean_after_injection(self):
        for mode in ([], ["--manual"]):
            code, out, err = run("inject", *mode, "-f", "examples/")
            self.assertEqual(code, 0, err)
            (resources, errors, _), report = self.validate(self.write("out.yaml", out))
            self.assertGreater(resources, 0)
            self.assertEqual(errors, 0, report)

    def test_every_pod_template_is_annotated(self):
        code, out, _ = run("inject", "-f", "examples/")
        self.assertEqual(code, 0)
        templates = [t for d in load_all(out) for t in pod_templates(d)]
        self.assertGreater(len(templates), 0)
        for t in templates:
            self.assertEqual(t["metadata"]["annotations"]["linkerd.io/inject"], "enabled")

    def test_manual_sidecar_shape(self):
        code, out, err = run("inject", "--manual", "-f", "examples/")
        self.assertEqual(code, 0, err)
        templates = [t for d in load_all(out) for t in pod_templates(d)]
        self.assertGreater(len(templates), 0)
        for t in templates:
            inits = t["spec"]["initContainers"]
            self.assertEqual([c["name"] for c in inits[:2]], ["trellis-init", "trellis-proxy"])
            self.assertEqual(inits[0]["command"], ["trellis-proxy", "init"])
            proxy = inits[1]
            self.assertEqual(proxy["restartPolicy"], "Always")
            self.assertEqual(proxy["securityContext"]["runAsUser"], 2102)
            env = {e["name"]: e.get("value") for e in proxy["env"]}
            for value in env.values():
                self.assertTrue(value is None or isinstance(value, str), env)
            self.assertRegex(
                env["TRELLIS_PROXY_IDENTITY_NAME"],
                r"^[a-z0-9-]+\.demo\.serviceaccount\.identity\.linkerd\.cluster\.local$")
            self.assertEqual(env["TRELLIS_PROXY_CONTROL_ADDR"],
                             "trellis-control.linkerd.svc.cluster.local:8086")

    # ---- uninject ----

    def test_uninject_restores_equal_documents(self):
        sources = sorted(glob.glob(fixture("seeds", "*.yaml")) +
                         glob.glob(os.path.join(ARGS.source, "examples", "**", "*.yaml"),
                                   recursive=True) + [fixture("inject", "workloads.yaml")])
        self.assertGreater(len(sources), 5)
        for source in sources:
            for mode in ([], ["--manual"]):
                with self.subTest(source=source, mode=mode):
                    with open(source) as f:
                        original = load_all(f.read())
                    code, injected, err = run("inject", *mode, "-f", source)
                    self.assertEqual(code, 0, err)
                    code, restored, err = run("uninject", "-f", "-", stdin=injected.encode())
                    self.assertEqual(code, 0, err)
                    self.assertEqual(load_all(restored), self.strip_seed_inject(original),
                                     source)

    @staticmethod
    def strip_seed_inject(docs):
        # uninject removes linkerd.io/inject from pod templates, also where the original had it.
        for d in docs:
            for t in pod_templates(d):
                ann = (t.get("metadata") or {}).get("annotations")
                if ann and "linkerd.io/inject" in ann:
                    del ann["linkerd.io/inject"]
                    if not ann:
                        del t["metadata"]["annotations"]
                    if not t["metadata"]:
                        del t["metadata"]
        return docs

    def test_uninject_of_untouched_documents_is_verbatim(self):
        with open(fixture("seeds", "001-frontend.yaml")) as f:
            text = f.read()
        code, out, err = run("uninject", "-f", "-", stdin=text.encode())
        self.assertEqual(code, 0, err)
        self.assertEqual(out, text)
        self.assertIn('deployment "frontend" skipped: not injected', err)

    # ---- input forms and errors ----

    def test_stdin_json_and_report(self):
        text = ('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, '
                '"spec": {"containers": [{"name": "a", "image": "a"}]}}')
        code, out, err = run("inject", "-f", "-", stdin=text.encode())
        self.assertEqual(code, 0, err)
        self.assertEqual(err, 'pod "p" injected\n')
        import json
        doc = json.loads(out)
        self.assertEqual(doc["metadata"]["annotations"], {"linkerd.io/inject": "enabled"})

    def test_bad_annotation_exit_code_and_message(self):
        path = self.write("bad.yaml", """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        config.linkerd.io/opaque-ports: "mysql"
    spec:
      containers: [{name: app, image: app}]
""")
        code, out, err = run("inject", "-f", path)
        self.assertEqual(code, 1)
        self.assertIn("Deployment/shop/web: annotation config.linkerd.io/opaque-ports "
                      "(on the pod template)", err)
        with open(path) as f:
            self.assertEqual(out, f.read())

    def test_missing_file(self):
        code, _, err = run("inject", "-f", os.path.join(self.tmp.name, "nope.yaml"))
        self.assertEqual(code, 2)
        self.assertIn("no such file", err)

    def test_help_mentions_comments(self):
        code, out, _ = run("inject", "--help")
        self.assertEqual(code, 0)
        self.assertIn("comments are lost", out)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--trellis", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
