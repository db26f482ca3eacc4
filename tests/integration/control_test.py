#!/usr/bin/env python3
"""Integration tests for trellis-control: the real binary with a temporary store and CA
directory (made by `trellis install-ca` when given, else with openssl): readiness, the status
API listing an invalid file's error, the endpoints API following the store, service-account
tokens, the gRPC listener's TLS floor (TLS 1.2 refused, TLS 1.3 + ALPN h2 accepted), SIGTERM."""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

ARGS = None

NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: emojivoto
  annotations:
    linkerd.io/inject: enabled
"""

SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web, namespace: emojivoto}
spec:
  clusterIP: 198.19.0.10
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def pod(ip):
    return """apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: emojivoto
  labels: {app: web}
spec:
  serviceAccountName: web
  containers:
    - name: app
      image: demo
      ports: [{name: http, containerPort: 8080}]
status:
  phase: Running
  podIP: %s
  conditions: [{type: Ready, status: "True"}]
""" % ip


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca_with_openssl(d):
    os.makedirs(d, exist_ok=True)
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n"
                "[issuer]\nbasicConstraints=critical,CA:TRUE,pathlen:0\n"
                "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n")
    p = lambda n: os.path.join(d, n)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("ca.key"))
    openssl("req", "-x509", "-new", "-key", p("ca.key"), "-subj", "/CN=root.linkerd.cluster.local",
            "-days", "365", "-sha256", "-config", ext, "-extensions", "ca", "-out", p("ca.crt"))
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("issuer.ec"))
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", p("issuer.ec"), "-out", p("issuer.key"))
    openssl("req", "-new", "-key", p("issuer.key"), "-subj", "/CN=identity.linkerd.cluster.local",
            "-out", p("issuer.csr"))
    openssl("x509", "-req", "-in", p("issuer.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
            "-CAcreateserial", "-days", "365", "-sha256", "-extfile", ext, "-extensions", "issuer",
            "-out", p("issuer.crt"))
    for n in ("ca.key", "issuer.ec", "issuer.csr", "ext.cnf", "ca.srl"):
        if os.path.exists(p(n)):
            os.remove(p(n))
    os.chmod(p("issuer.key"), 0o600)


class ControlPlane(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.store = os.path.join(self.root, "store")
        self.ca = os.path.join(self.root, "ca")
        self.tokens = os.path.join(self.root, "tokens")
        made = False
        if ARGS.trellis:
            proc = subprocess.run([ARGS.trellis, "install-ca", "--dir", self.ca],
                                  capture_output=True, timeout=60)
            made = proc.returncode == 0
        if not made:
            make_ca_with_openssl(self.ca)
        write(os.path.join(self.store, "ns.yaml"), NAMESPACE)
        write(os.path.join(self.store, "svc.yaml"), SERVICE)
        write(os.path.join(self.store, "pods", "web-1.yaml"), pod("198.18.0.7"))
        write(os.path.join(self.store, "broken.yaml"),
              "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\n  namespace: emojivoto\n"
              "spec:\n  ports: [{port: 99999}]\n")
        self.proc = subprocess.Popen(
            [ARGS.control, "--store-dir", self.store, "--ca-dir", self.ca,
             "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
             "--token-dir", self.tokens, "--token-key-file", os.path.join(self.root, "token.key"),
             "--cert-ttl", "15s", "--log-level", "info"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.log = []
        ready = threading.Event()
        self.grpc = self.admin = None

        def reader():
            for raw in self.proc.stderr:
                line = raw.decode(errors="replace")
                self.log.append(line)
                m = re.search(r"control plane ready: grpc (\S+), admin (\S+)", line)
                if m:
                    self.grpc, self.admin = m.group(1), m.group(2)
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=reader, daemon=True)
        self.reader.start()
        self.assertTrue(ready.wait(30), "".join(self.log))
        self.assertIsNotNone(self.grpc, "".join(self.log))

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.proc.stderr.close()
        self.tmp.cleanup()

    def get(self, path):
        try:
            with urllib.request.urlopen("http://%s%s" % (self.admin, path), timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_ready_and_live(self):
        self.assertEqual(self.get("/ready"), (200, "ready\n"))
        self.assertEqual(self.get("/live")[0], 200)

    def test_status_lists_the_invalid_file(self):
        code, body = self.get("/api/v1/status")
        self.assertEqual(code, 200)
        status = json.loads(body)
        self.assertEqual(status["controlNamespace"], "linkerd")
        self.assertEqual(status["trustDomain"], "cluster.local")
        self.assertEqual(status["store"]["resources"], 3)
        errors = [e for e in status["store"]["errors"] if e["severity"] == "error"]
        self.assertEqual(len(errors), 1, errors)
        self.assertEqual(errors[0]["file"], "broken.yaml")
        self.assertEqual(errors[0]["line"], 7)
        self.assertIn("spec.ports[0].port", errors[0]["message"])
        self.assertEqual(status["ca"]["issuer"]["subject"], "identity.linkerd.cluster.local")
        self.assertTrue(status["ca"]["anchors"][0]["notAfter"].endswith("Z"))

    def endpoints(self):
        code, body = self.get("/api/v1/endpoints?path=web.emojivoto.svc.cluster.local:80&ns=default")
        self.assertEqual(code, 200)
        return json.loads(body)

    def test_endpoints_follow_the_store(self):
        u = self.endpoints()
        self.assertTrue(u["exists"])
        self.assertEqual([e["address"] for e in u["endpoints"]], ["198.18.0.7:8080"])
        self.assertEqual(u["endpoints"][0]["identity"],
                         "web.emojivoto.serviceaccount.identity.linkerd.cluster.local")
        self.assertEqual(u["endpoints"][0]["protocolHint"], "PROTOCOL_HINT_H2")
        write(os.path.join(self.store, "pods", "web-1.yaml"), pod("198.18.0.8"))
        deadline = time.time() + 10
        while time.time() < deadline:
            if [e["address"] for e in self.endpoints()["endpoints"]] == ["198.18.0.8:8080"]:
                break
            time.sleep(0.1)
        self.assertEqual([e["address"] for e in self.endpoints()["endpoints"]], ["198.18.0.8:8080"])
        os.remove(os.path.join(self.store, "svc.yaml"))
        deadline = time.time() + 10
        while time.time() < deadline and self.endpoints()["exists"]:
            time.sleep(0.1)
        self.assertFalse(self.endpoints()["exists"])

    def test_tokens_are_written(self):
        for sa in ("default", "web"):
            path = os.path.join(self.tokens, "emojivoto", sa, "token")
            self.assertTrue(os.path.exists(path), path)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            with open(path) as f:
                self.assertRegex(f.read(), r"^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
        # Never logged.
        with open(os.path.join(self.tokens, "emojivoto", "web", "token")) as f:
            token = f.read()
        self.assertNotIn(token.split(".")[2], "".join(self.log))

    def s_client(self, *args):
        proc = subprocess.run(["openssl", "s_client", "-connect", self.grpc,
                               "-servername",
                               "trellis-control.linkerd.serviceaccount.identity.linkerd.cluster.local",
                               *args],
                              input=b"", capture_output=True, timeout=30)
        return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")

    def test_tls12_refused(self):
        code, out = self.s_client("-tls1_2")
        self.assertNotEqual(code, 0, out)
        # The server answers a TLS 1.2-only ClientHello with a protocol_version alert.
        self.assertIn("alert protocol version", out)
        self.assertIn("Cipher is (NONE)", out)

    def test_tls13_with_alpn_h2_accepted(self):
        code, out = self.s_client("-tls1_3", "-alpn", "h2", "-CAfile", os.path.join(self.ca, "ca.crt"))
        self.assertIn("New, TLSv1.3, Cipher is", out)
        self.assertIn("ALPN protocol: h2", out)
        self.assertIn("Verify return code: 0 (ok)", out)

    def test_sigterm_exits_zero(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(20), 0)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--control", required=True)
    parser.add_argument("--trellis", default="")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
