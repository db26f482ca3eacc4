#!/usr/bin/env python3
"""Integration tests for the proxy's identity and control-plane clients (contracts C-6, C-3, C-4):
static credentials loaded from files and rotated in place, errors that name the file, and —
with --control (a real trellis-control) and --trellis (for install-ca) — a proxy that certifies
with a mounted token, reports ready only after its first certificate, serves /identity, and
discovers a service from the control plane."""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import http.server
import socketserver

ARGS = None
WEB_ID = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """anchor → issuer → leaf for WEB_ID, with openssl (independent of our own CA code)."""
    with open(os.path.join(d, "issuer.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=d)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=root.linkerd.cluster.local",
            "-days", "365", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", "ca.crt", cwd=d)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "issuer.key", cwd=d)
    openssl("req", "-new", "-key", "issuer.key", "-subj", "/CN=identity.linkerd.cluster.local",
            "-out", "issuer.csr", cwd=d)
    openssl("x509", "-req", "-in", "issuer.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "365", "-extfile", "issuer.ext", "-out", "issuer.crt", cwd=d)


def make_leaf(d, name, identity):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                f"extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:{identity}\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key", cwd=d)
    openssl("req", "-new", "-key", name + ".key", "-subj", f"/CN={identity}", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "issuer.crt", "-CAkey", "issuer.key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".leaf", cwd=d)
    with open(os.path.join(d, name + ".crt"), "w") as out:
        for part in (name + ".leaf", "issuer.crt"):
            with open(os.path.join(d, part)) as f:
                out.write(f.read())


def replace(path, content):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(content)
    os.rename(tmp, path)


def read(path):
    with open(path) as f:
        return f.read()


def pem_blocks(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)


def http_get(addr, path, headers=None, timeout=5):
    req = urllib.request.Request(f"http://{addr}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Proxy:
    def __init__(self, tmp, extra_env, name="proxy"):
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_PROXY_")}
        env.update({
            "TRELLIS_PROXY_INBOUND_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_OUTBOUND_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_ADMIN_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_WORKERS": "1",
            "TRELLIS_PROXY_SHUTDOWN_GRACE_PERIOD": "1s",
        })
        env.update(extra_env)
        self.proc = subprocess.Popen([ARGS.proxy], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.admin = self.outbound = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"proxy ready: inbound (\S+), outbound (\S+), admin (\S+),", self.output())
            if m:
                self.outbound, self.admin = m.group(2), m.group(3)
                break
            time.sleep(0.05)

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if http_get(self.admin, "/ready")[0] == 200:
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class StaticIdentityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.d = cls.tmp.name
        make_pki(cls.d)
        make_leaf(cls.d, "web", WEB_ID)
        make_leaf(cls.d, "web2", WEB_ID)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def env(self, cert="live.crt", key="live.key"):
        return {"TRELLIS_PROXY_IDENTITY_CERT_FILE": os.path.join(self.d, cert),
                "TRELLIS_PROXY_IDENTITY_KEY_FILE": os.path.join(self.d, key),
                "TRELLIS_PROXY_TRUST_ANCHORS_FILE": os.path.join(self.d, "ca.crt")}

    def test_loads_serves_and_rotates_the_certificate(self):
        replace(os.path.join(self.d, "live.crt"), read(os.path.join(self.d, "web.crt")))
        replace(os.path.join(self.d, "live.key"), read(os.path.join(self.d, "web.key")))
        p = Proxy(self.d, self.env())
        try:
            self.assertIsNotNone(p.admin, p.output())
            self.assertTrue(p.wait_ready(), p.output())
            status, body = http_get(p.admin, "/identity")
            self.assertEqual(status, 200)
            self.assertEqual(pem_blocks(body), pem_blocks(read(os.path.join(self.d, "web.crt"))))
            dump = json.loads(http_get(p.admin, "/config_dump")[1])
            self.assertEqual(dump["identity"]["name"], WEB_ID)
            self.assertRegex(dump["identity"]["notAfter"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            metrics = http_get(p.admin, "/metrics")[1]
            self.assertRegex(metrics, r"identity_cert_expiration_timestamp_seconds \d{10}")
            # Rotation: new files are picked up without a restart.
            replace(os.path.join(self.d, "live.key"), read(os.path.join(self.d, "web2.key")))
            replace(os.path.join(self.d, "live.crt"), read(os.path.join(self.d, "web2.crt")))
            want = pem_blocks(read(os.path.join(self.d, "web2.crt")))
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and pem_blocks(http_get(p.admin, "/identity")[1]) != want:
                time.sleep(0.1)
            self.assertEqual(pem_blocks(http_get(p.admin, "/identity")[1]), want)
            # A broken file is reported by name and the current certificate stays.
            replace(os.path.join(self.d, "live.crt"), "garbage\n")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and "not reloaded" not in p.output():
                time.sleep(0.1)
            self.assertIn("identity certificate file " + os.path.join(self.d, "live.crt"), p.output())
            self.assertEqual(pem_blocks(http_get(p.admin, "/identity")[1]), want)
        finally:
            p.stop()

    def test_without_identity_there_is_no_identity_endpoint(self):
        p = Proxy(self.d, {}, name="plain")
        try:
            self.assertTrue(p.wait_ready(), p.output())
            self.assertEqual(http_get(p.admin, "/identity")[0], 404)
        finally:
            p.stop()

    def test_errors_name_the_file_and_stop_the_proxy(self):
        bad = os.path.join(self.d, "bad.key")
        replace(bad, "not a key\n")
        p = Proxy(self.d, self.env(cert="web.crt", key="bad.key"), name="bad")
        try:
            self.assertEqual(p.proc.wait(timeout=30), 1)
            self.assertIn("identity key file " + bad, p.output())
        finally:
            p.stop()
        env = self.env(cert="web.crt", key="web.key")
        env["TRELLIS_PROXY_IDENTITY_NAME"] = "other.emojivoto.serviceaccount.identity.linkerd.cluster.local"
        p = Proxy(self.d, env, name="mismatch")
        try:
            self.assertEqual(p.proc.wait(timeout=30), 1)
            self.assertIn("is for " + WEB_ID + ", not identity-name other.", p.output())
        finally:
            p.stop()


MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: emojivoto
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: emojivoto
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
    targetPort: {port}
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
    - containerPort: {port}
status:
  phase: Running
  podIP: 127.0.0.1
"""


class Backend:
    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                body = f"web {self.path}\n".encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RealControlPlaneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        control = ARGS.control or os.environ.get("TRELLIS_CONTROL")
        trellis = ARGS.trellis or os.environ.get("TRELLIS_CLI")
        if not control or not trellis:
            raise unittest.SkipTest("needs --control (trellis-control) and --trellis (install-ca)")
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.d = cls.tmp.name
        cls.ca_dir = os.path.join(d, "ca")
        subprocess.run([trellis, "install-ca", "--dir", cls.ca_dir], check=True, capture_output=True, timeout=60)
        cls.backend = Backend()
        store = os.path.join(d, "store")
        os.makedirs(store)
        with open(os.path.join(store, "web.yaml"), "w") as f:
            f.write(MANIFESTS.replace("{port}", str(cls.backend.port)))
        cls.tokens = os.path.join(d, "tokens")
        cls.log_path = os.path.join(d, "control.log")
        cls.log = open(cls.log_path, "wb")
        cls.proc = subprocess.Popen(
            [control, "--store-dir", store, "--ca-dir", cls.ca_dir, "--listen", "127.0.0.1:0",
             "--admin-listen", "127.0.0.1:0", "--token-dir", cls.tokens,
             "--token-key-file", os.path.join(d, "token.key"), "--cert-ttl", "15s"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.grpc = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and cls.proc.poll() is None:
            m = re.search(r"control plane ready: grpc (\S+), admin (\S+)", read(cls.log_path))
            if m:
                cls.grpc = m.group(1)
                break
            time.sleep(0.1)
        if not cls.grpc:
            cls.tearDownClass()
            raise AssertionError("trellis-control did not start:\n" + read(cls.log_path))
        cls.token = os.path.join(cls.tokens, "emojivoto", "web", "token")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.exists(cls.token):
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.terminate()
            cls.proc.wait(timeout=15)
        cls.log.close()
        cls.backend.stop()
        cls.tmp.cleanup()

    def env(self):
        return {"TRELLIS_PROXY_CONTROL_ADDR": self.grpc,
                "TRELLIS_PROXY_IDENTITY_NAME": WEB_ID,
                "TRELLIS_PROXY_IDENTITY_TOKEN_FILE": self.token,
                "TRELLIS_PROXY_TRUST_ANCHORS_FILE": os.path.join(self.ca_dir, "ca.crt"),
                "TRELLIS_PROXY_NAMESPACE": "emojivoto",
                "TRELLIS_PROXY_MODE": "ingress"}

    def test_certifies_refreshes_and_discovers(self):
        p = Proxy(self.d, self.env(), name="meshed")
        try:
            self.assertIsNotNone(p.admin, p.output())
            self.assertTrue(p.wait_ready(), p.output() + read(self.log_path))
            status, body = http_get(p.admin, "/identity")
            self.assertEqual(status, 200)
            first = pem_blocks(body)
            self.assertGreaterEqual(len(first), 2)  # leaf + issuer
            text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                                  input=first[0].encode(), capture_output=True, timeout=30).stdout.decode()
            self.assertIn("DNS:" + WEB_ID, text)
            self.assertNotIn(read(self.token).strip(), p.output(), "the token was logged")
            # A 15 s certificate is refreshed at 70 % of its life (clamped to at least 10 s).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and pem_blocks(http_get(p.admin, "/identity")[1])[0] == first[0]:
                time.sleep(0.2)
            self.assertNotEqual(pem_blocks(http_get(p.admin, "/identity")[1])[0], first[0])
            # Discovery through the control plane: a short name resolves in our namespace.
            status, body = http_get(p.outbound, "/hello", headers={"Host": "web"}, timeout=10)
            self.assertEqual((status, body), (200, "web /hello\n"), p.output())
        finally:
            p.stop()


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--control")
    parser.add_argument("--trellis")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
