#!/usr/bin/env python3
"""Integration tests for the control-plane commands of the `trellis` CLI: install-ca, check,
identity and diagnostics endpoints. They run the real binary against a small HTTP server in this
process that serves trellis-control's admin API (contract C-5) and a proxy's admin endpoints
(C-6) from fixtures; certificates are real (made by `trellis install-ca` and openssl). With
--control, the same commands also run against a real trellis-control."""

import argparse
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
VERSION = "0.1.0"
WEB_ID = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"


def run(*args, timeout=60):
    proc = subprocess.run([ARGS.trellis, *args], capture_output=True, timeout=timeout)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def not_after(cert_path):
    """notAfter of a certificate as RFC 3339 (the format of /api/v1/status)."""
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", cert_path],
                         check=True, capture_output=True, text=True).stdout.strip()
    t = time.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fixture:
    """What the fake admin server answers; tests edit it between runs."""

    def __init__(self):
        self.ready = (200, "ready\n")
        self.status = {}
        self.endpoints = {}  # (path, ns) -> Update JSON
        self.identity = None  # PEM or None (404)
        self.proxy_version = VERSION
        self.requests = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        fx = self.server.fixture
        url = urllib.parse.urlsplit(self.path)
        fx.requests.append(self.path)
        if url.path == "/ready":
            self.send(*fx.ready)
        elif url.path == "/live":
            self.send(200, "live\n")
        elif url.path == "/api/v1/status":
            self.send(200, json.dumps(fx.status), "application/json")
        elif url.path == "/api/v1/endpoints":
            q = urllib.parse.parse_qs(url.query)
            key = (q.get("path", [""])[0], q.get("ns", [""])[0])
            self.send(200, json.dumps(fx.endpoints.get(key, {})), "application/json")
        elif url.path == "/identity":
            if fx.identity is None:
                self.send(404, "no certificate\n")
            else:
                self.send(200, fx.identity, "application/x-pem-file")
        elif url.path == "/metrics":
            self.send(200, "# TYPE proxy_build_info gauge\n"
                           f'proxy_build_info{{version="{fx.proxy_version}",vendor="trellis"}} 1\n')
        else:
            self.send(404, "not found\n")


class ControlCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ca_dir = os.path.join(cls.tmp.name, "ca")
        code, out, err = run("install-ca", "--dir", cls.ca_dir)
        assert code == 0, err
        # A proxy leaf for web.emojivoto, issued by the issuer, as the proxy serves it.
        d = cls.tmp.name
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", f"{d}/leaf.key")
        openssl("req", "-new", "-key", f"{d}/leaf.key", "-subj", f"/CN={WEB_ID}", "-out", f"{d}/leaf.csr")
        with open(f"{d}/leaf.ext", "w") as f:
            f.write(f"subjectAltName=DNS:{WEB_ID}\nbasicConstraints=critical,CA:FALSE\n")
        openssl("x509", "-req", "-in", f"{d}/leaf.csr", "-CA", f"{cls.ca_dir}/issuer.crt",
                "-CAkey", f"{cls.ca_dir}/issuer.key", "-set_serial", "4660", "-days", "1",
                "-extfile", f"{d}/leaf.ext", "-out", f"{d}/leaf.crt")
        with open(f"{d}/leaf.crt") as a, open(f"{cls.ca_dir}/issuer.crt") as b:
            cls.chain_pem = a.read() + b.read()
        cls.leaf_not_after = not_after(f"{d}/leaf.crt")
        # A chain from an unrelated CA.
        other = os.path.join(d, "other")
        assert run("install-ca", "--dir", other)[0] == 0
        openssl("x509", "-req", "-in", f"{d}/leaf.csr", "-CA", f"{other}/issuer.crt",
                "-CAkey", f"{other}/issuer.key", "-set_serial", "1", "-days", "1",
                "-extfile", f"{d}/leaf.ext", "-out", f"{d}/foreign.crt")
        with open(f"{d}/foreign.crt") as a, open(f"{other}/issuer.crt") as b:
            cls.foreign_pem = a.read() + b.read()

        cls.fixture = Fixture()
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        cls.server.fixture = cls.fixture
        cls.addr = f"127.0.0.1:{cls.server.server_address[1]}"
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.tmp.cleanup()

    def setUp(self):
        fx = self.fixture
        fx.ready = (200, "ready\n")
        fx.identity = self.chain_pem
        fx.proxy_version = VERSION
        fx.requests.clear()
        fx.status = {
            "version": VERSION, "controlNamespace": "linkerd", "trustDomain": "cluster.local",
            "store": {"dir": "/manifests", "resources": 12, "errors": []},
            "ca": {"anchors": [{"subject": "root.linkerd.cluster.local",
                                "notAfter": not_after(f"{self.ca_dir}/ca.crt")}],
                   "issuer": {"subject": "identity.linkerd.cluster.local",
                              "notAfter": not_after(f"{self.ca_dir}/issuer.crt")}},
            "proxies": [{"identity": WEB_ID, "notAfter": self.leaf_not_after, "version": VERSION,
                         "lastCertified": "2026-01-01T00:00:00Z"}],
        }
        fx.endpoints = {}

    # ---- install-ca ------------------------------------------------------------------------

    def test_install_ca_files_and_refusal(self):
        with tempfile.TemporaryDirectory() as d:
            ca = os.path.join(d, "new")
            code, out, err = run("install-ca", "--dir", ca, "--issuer-lifetime", "720h")
            self.assertEqual(code, 0, err)
            self.assertEqual(stat.S_IMODE(os.stat(f"{ca}/issuer.key").st_mode), 0o600)
            fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                                 f"{ca}/ca.crt"], capture_output=True, text=True).stdout
            self.assertIn(f"trust anchor SHA-256 fingerprint: {fp.strip().split('=', 1)[1]}", out)
            self.assertIn(f"issuer expires: {not_after(f'{ca}/issuer.crt')} (in 30 days)", out)
            verify = subprocess.run(["openssl", "verify", "-CAfile", f"{ca}/ca.crt", f"{ca}/issuer.crt"],
                                    capture_output=True, text=True)
            self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
            subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", f"{ca}/issuer.crt"],
                                     capture_output=True, text=True).stdout
            self.assertIn("CN = identity.linkerd.cluster.local", subject)

            with open(f"{ca}/ca.crt") as f:
                before = f.read()
            code, _, err = run("install-ca", "--dir", ca)
            self.assertEqual(code, 1)
            self.assertIn("refusing to overwrite", err)
            with open(f"{ca}/ca.crt") as f:
                self.assertEqual(f.read(), before)
            code, _, err = run("install-ca", "--dir", ca, "--force")
            self.assertEqual(code, 0, err)
            with open(f"{ca}/ca.crt") as f:
                self.assertNotEqual(f.read(), before)

    # ---- check -----------------------------------------------------------------------------

    def test_check_all_good(self):
        code, out, err = run("check", "--control-admin", self.addr, "--ca-dir", self.ca_dir,
                             "--proxy", self.addr)
        self.assertEqual(code, 0, out + err)
        for line in [f"√ can reach trellis-control admin at {self.addr}",
                     "√ control plane is ready",
                     "√ issuer certificate is signed by a trust anchor",
                     "√ issuer key matches the issuer certificate",
                     "√ issuer certificate is valid for at least 60 days",
                     f"√ control plane uses the issuer in {self.ca_dir}",
                     "√ resources in the store have no errors",
                     "√ certified proxies have valid certificates",
                     f"√ proxy at {self.addr} has a valid certificate",
                     f"√ proxy at {self.addr} runs the CLI's version"]:
            self.assertIn(line + "\n", out)
        self.assertNotIn("×", out)
        self.assertTrue(out.endswith("Status check results are √\n"), out)

    def test_check_reports_failures_with_hints(self):
        fx = self.fixture
        fx.status["store"]["errors"] = [{"file": "a.yaml", "line": 3, "column": 5, "severity": "error",
                                         "message": "Service/web: spec.ports[0].port: missing"}]
        fx.identity = self.foreign_pem
        fx.proxy_version = "0.0.1"
        code, out, err = run("check", "--control-admin", self.addr, "--ca-dir", self.ca_dir,
                             "--proxy", self.addr)
        self.assertEqual(code, 1, out + err)
        self.assertIn("× resources in the store have no errors\n"
                      "    a.yaml:3:5: Service/web: spec.ports[0].port: missing\n"
                      "    hint: fix the manifests (check them with `trellis validate -f /manifests`)", out)
        self.assertIn(f"× proxy at {self.addr} has a valid certificate\n", out)
        self.assertIn("chain does not verify to the anchors in", out)
        self.assertIn(f"‼ proxy at {self.addr} runs the CLI's version\n"
                      "    proxy runs 0.0.1, CLI is 0.1.0\n", out)
        self.assertTrue(out.endswith("Status check results are ×\n"), out)

    def test_check_not_ready(self):
        self.fixture.ready = (503, "store not loaded\n")
        code, out, _ = run("check", "--control-admin", self.addr)
        self.assertEqual(code, 1)
        self.assertIn("× control plane is ready\n    GET /ready answered HTTP 503: store not loaded\n", out)

    def test_check_unreachable(self):
        port = free_port()
        code, out, _ = run("check", "--control-admin", f"127.0.0.1:{port}")
        self.assertEqual(code, 1)
        self.assertIn(f"× can reach trellis-control admin at 127.0.0.1:{port}\n"
                      f"    cannot reach trellis-control admin at 127.0.0.1:{port}: connection refused\n"
                      "    hint: is it running? start it with `trellis-control", out)
        self.assertIn("no CA information", out)

    def test_check_json(self):
        code, out, _ = run("check", "--control-admin", self.addr, "-o", "json")
        self.assertEqual(code, 0, out)
        j = json.loads(out)
        self.assertTrue(j["success"])
        names = [c["categoryName"] for c in j["categories"]]
        self.assertEqual(names, ["trellis-control", "trellis-identity", "trellis-resources",
                                 "trellis-data-plane"])
        results = {k["description"]: k["result"] for c in j["categories"] for k in c["checks"]}
        self.assertEqual(results["issuer certificate is valid for at least 60 days"], "success")

    # ---- identity --------------------------------------------------------------------------

    def test_identity_text_and_pem(self):
        code, out, err = run("identity", self.addr)
        self.assertEqual(code, 0, err)
        self.assertIn(f"Proxy {self.addr}: 2 certificates\n", out)
        self.assertIn(f"  Subject:     CN={WEB_ID}\n  SAN (DNS):   {WEB_ID}\n"
                      "  Issuer:      CN=identity.linkerd.cluster.local\n", out)
        self.assertIn(f"  Not after:   {self.leaf_not_after} (expires in ", out)
        self.assertIn("  Serial:      12:34\n", out)
        self.assertIn("Certificate 2 (issuer):\n  Subject:     CN=identity.linkerd.cluster.local\n", out)
        self.assertIn("/identity", self.fixture.requests)

        code, out, _ = run("identity", self.addr, "-o", "pem")
        self.assertEqual(code, 0)
        self.assertEqual(out, self.chain_pem)

    def test_identity_errors(self):
        self.fixture.identity = None
        code, _, err = run("identity", self.addr)
        self.assertEqual(code, 1)
        self.assertIn(f"the proxy at {self.addr} has no certificate", err)

        code, _, err = run("identity", "web-5d8f7c9b4-x2k")
        self.assertEqual(code, 1)
        self.assertIn("looks like a pod name", err)
        self.assertIn("trellis up", err)

        port = free_port()
        code, _, err = run("identity", f"127.0.0.1:{port}")
        self.assertEqual(code, 1)
        self.assertIn(f"cannot reach the proxy admin at 127.0.0.1:{port}: connection refused", err)

    # ---- diagnostics endpoints -------------------------------------------------------------

    def test_diagnostics_endpoints_table(self):
        authority = "web.emojivoto.svc.cluster.local:80"
        self.fixture.endpoints[(authority, "emojivoto")] = {
            "exists": True,
            "service": {"name": "web", "namespace": "emojivoto", "clusterIps": ["198.19.0.10"],
                        "port": 80},
            "endpoints": [
                {"address": "198.18.0.7:8080", "weight": 1, "identity": WEB_ID,
                 "protocolHint": "PROTOCOL_HINT_H2", "labels": {"pod": "web-1", "namespace": "emojivoto"}},
                {"address": "198.18.0.8:8080", "weight": 1, "labels": {"pod": "web-2"}},
            ]}
        code, out, err = run("diagnostics", "endpoints", authority, "--control-admin", self.addr,
                             "-n", "emojivoto")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(re.split(r"\s{2,}", lines[0]),
                         ["NAMESPACE", "IP", "PORT", "POD", "SERVICE", "IDENTITY"])
        self.assertEqual(re.split(r"\s{2,}", lines[1]),
                         ["emojivoto", "198.18.0.7", "8080", "web-1", "web.emojivoto", WEB_ID])
        self.assertEqual(re.split(r"\s{2,}", lines[2]),
                         ["emojivoto", "198.18.0.8", "8080", "web-2", "web.emojivoto"])
        self.assertIn("/api/v1/endpoints?path=web.emojivoto.svc.cluster.local%3A80&ns=emojivoto",
                      self.fixture.requests)

        code, out, _ = run("diagnostics", "endpoints", authority, "--control-admin", self.addr,
                           "-n", "emojivoto", "-o", "json")
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out)[authority]["endpoints"][0]["address"], "198.18.0.7:8080")

    def test_diagnostics_endpoints_unknown_and_unreachable(self):
        code, out, _ = run("diagnostics", "endpoints", "nope:80", "--control-admin", self.addr)
        self.assertEqual(code, 1)
        self.assertIn("nope:80 is not a known service", out)

        port = free_port()
        code, _, err = run("diagnostics", "endpoints", "web:80", "--control-admin", f"127.0.0.1:{port}")
        self.assertEqual(code, 1)
        self.assertIn(f"cannot reach trellis-control admin at 127.0.0.1:{port}: connection refused "
                      "(is it running? start it with", err)



WEB_MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: emojivoto
  annotations:
    linkerd.io/inject: enabled
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: emojivoto
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: emojivoto
  labels:
    app: web
spec:
  serviceAccountName: web
  containers:
  - name: web
    image: demo
    ports:
    - containerPort: 8080
status:
  phase: Running
  podIP: 198.18.0.7
"""

BAD_MANIFEST = """\
apiVersion: v1
kind: Service
metadata:
  name: broken
  namespace: emojivoto
spec:
  prots: []
"""


class RealControlPlaneTest(unittest.TestCase):
    """The same commands against a real trellis-control on loopback."""

    @classmethod
    def setUpClass(cls):
        control = ARGS.control or os.environ.get("TRELLIS_CONTROL")
        if not control:
            raise unittest.SkipTest("no trellis-control binary given (--control)")
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.ca_dir = os.path.join(d, "ca")
        assert run("install-ca", "--dir", cls.ca_dir)[0] == 0
        store = os.path.join(d, "store")
        os.makedirs(store)
        with open(os.path.join(store, "web.yaml"), "w") as f:
            f.write(WEB_MANIFESTS)
        with open(os.path.join(store, "bad.yaml"), "w") as f:
            f.write(BAD_MANIFEST)
        cls.log_path = os.path.join(d, "control.log")
        cls.log = open(cls.log_path, "wb")
        cls.proc = subprocess.Popen(
            [control, "--store-dir", store, "--ca-dir", cls.ca_dir, "--listen", "127.0.0.1:0",
             "--admin-listen", "127.0.0.1:0", "--token-dir", os.path.join(d, "tokens"),
             "--token-key-file", os.path.join(d, "token.key")],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.admin = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and cls.proc.poll() is None:
            with open(cls.log_path, errors="replace") as f:
                m = re.search(r"control plane ready: grpc (\S+), admin (\S+)", f.read())
            if m:
                cls.admin = m.group(2)
                break
            time.sleep(0.1)
        if cls.admin is None:
            cls.stop()
            with open(cls.log_path, errors="replace") as f:
                raise RuntimeError("trellis-control did not become ready:\n" + f.read())
        # Ready once the store's first load is in.
        while time.monotonic() < deadline:
            if run_ready(cls.admin):
                break
            time.sleep(0.1)

    @classmethod
    def stop(cls):
        if cls.proc.poll() is None:
            os.kill(cls.proc.pid, signal.SIGTERM)
            try:
                cls.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(cls.proc.pid, signal.SIGKILL)
                cls.proc.wait()
        cls.log.close()

    @classmethod
    def tearDownClass(cls):
        cls.stop()
        cls.tmp.cleanup()

    def test_check_lists_store_errors(self):
        code, out, err = run("check", "--control-admin", self.admin, "--ca-dir", self.ca_dir)
        self.assertEqual(code, 1, out + err)
        for line in [f"√ can reach trellis-control admin at {self.admin}",
                     "√ control plane is ready",
                     "√ control plane and CLI versions match",
                     "√ issuer certificate is signed by a trust anchor",
                     f"√ control plane uses the issuer in {self.ca_dir}",
                     "× resources in the store have no errors"]:
            self.assertIn(line + "\n", out)
        self.assertRegex(out, r"\n    \S*bad\.yaml:\d+:\d+: .*prots")

    def test_diagnostics_endpoints(self):
        code, out, err = run("diagnostics", "endpoints", "web.emojivoto.svc.cluster.local:80",
                             "--control-admin", self.admin)
        self.assertEqual(code, 0, out + err)
        lines = out.splitlines()
        self.assertEqual(re.split(r"\s{2,}", lines[0]),
                         ["NAMESPACE", "IP", "PORT", "POD", "SERVICE", "IDENTITY"])
        self.assertEqual(re.split(r"\s{2,}", lines[1]),
                         ["emojivoto", "198.18.0.7", "8080", "web-1", "web.emojivoto", WEB_ID])

        code, out, _ = run("diagnostics", "endpoints", "web:80", "-n", "emojivoto",
                           "--control-admin", self.admin)
        self.assertEqual(code, 0, out)
        self.assertIn("198.18.0.7", out)

        code, out, _ = run("diagnostics", "endpoints", "nothing.emojivoto.svc.cluster.local:80",
                           "--control-admin", self.admin)
        self.assertEqual(code, 1, out)
        self.assertIn("is not a known service", out)


def run_ready(admin):
    """True when trellis-control's /ready answers 200."""
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://{admin}/ready", timeout=5) as r:
            return r.status == 200
    except Exception:
        return False


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--trellis", required=True)
    parser.add_argument("--control", default="", help="trellis-control binary (optional)")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
