#!/usr/bin/env python3
"""Control-plane resilience and the mTLS proof (issue 4), with real binaries on loopback:

  load (Python keep-alive loop) -> client proxy (ingress, identity web) --mTLS, HTTP/2-->
      server proxy (inbound, identity emoji) -> app          trellis-control: discovery + Certify

- certificates with a 15 s lifetime rotate under load with zero failed requests, and the
  certificate the inbound actually serves changes (serial and notAfter);
- SIGKILL of trellis-control under load: zero failed requests to the known service for 10 s;
  after a restart (same CA, store, token key and ports) the proxies reconnect and discover a
  service added after the restart;
- endpoint additions, changes and removals in the store directory reach a proxy within 1 s of
  the file write;
- a TLS sweep with `openssl s_client` of the mesh inbound and of trellis-control's gRPC port
  (docs/security.md records what it finds);
- an issuer rotation in the CA directory (same anchor) under load: trellis-control signs with the
  new issuer without a restart, the proxies move to it at their next refresh, nothing fails.
"""

import argparse
import http.client
import os
import re
import signal
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
NS = "emojivoto"
WEB_ID = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"
EMOJI_ID = "emoji.emojivoto.serviceaccount.identity.linkerd.cluster.local"
CONTROL_ID = "trellis-control.linkerd.serviceaccount.identity.linkerd.cluster.local"
TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                "TLS_AES_128_CCM_8_SHA256"]

BASE = """apiVersion: v1
kind: Namespace
metadata:
  name: emojivoto
  annotations: {linkerd.io/inject: enabled}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: emojivoto}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: emoji, namespace: emojivoto}
---
apiVersion: v1
kind: Namespace
metadata: {name: plain}
"""


def service(name, ns, port, target, app):
    return f"""apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {app}}}
  ports: [{{name: http, port: {port}, targetPort: {target}}}]
"""


def pod(name, ns, app, sa, port, port_name="http"):
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {app}}}
spec:
  serviceAccountName: {sa}
  containers:
    - name: app
      image: demo
      ports: [{{name: {port_name}, containerPort: {port}}}]
status:
  phase: Running
  podIP: 127.0.0.1
  conditions: [{{type: Ready, status: "True"}}]
"""


# ---- small helpers ---------------------------------------------------------------------------

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def openssl(*args, cwd=None, stdin=None):
    return subprocess.run(["openssl", *args], cwd=cwd, input=stdin, check=True,
                          capture_output=True, timeout=60).stdout.decode()


def http_get(addr, path, headers=None, timeout=5):
    req = urllib.request.Request(f"http://{addr}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError) as e:  # refused, reset, timed out
        return 0, repr(e)


def pem_blocks(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)


def cert_facts(pem):
    """(serial, notAfter) of a PEM certificate."""
    out = openssl("x509", "-noout", "-serial", "-enddate", stdin=pem.encode())
    serial = re.search(r"serial=(\w+)", out).group(1)
    not_after = re.search(r"notAfter=(.+)", out).group(1).strip()
    return serial, not_after


def metric_sum(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', series))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


def wait_until(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Backend:
    """An HTTP/1.1 app answering "<name> <path>"."""

    def __init__(self, name):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                body = f"{name} {self.path}\n".encode()
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Control:
    """trellis-control; restartable on the same ports with the same directories."""

    def __init__(self, d, cert_ttl):
        self.d = d
        self.store = os.path.join(d, "store")
        self.ca_dir = os.path.join(d, "ca")
        self.tokens = os.path.join(d, "tokens")
        self.cert_ttl = cert_ttl
        self.grpc = self.admin = None
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log_path = os.path.join(self.d, f"control-{self.starts}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [ARGS.control, "--store-dir", self.store, "--ca-dir", self.ca_dir,
             "--listen", self.grpc or "127.0.0.1:0", "--admin-listen", self.admin or "127.0.0.1:0",
             "--token-dir", self.tokens, "--token-key-file", os.path.join(self.d, "token.key"),
             "--cert-ttl", self.cert_ttl],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"control plane ready: grpc (\S+), admin (\S+)", read(self.log_path))
            if m:
                self.grpc, self.admin = m.group(1), m.group(2)
                return
            time.sleep(0.05)
        raise AssertionError("trellis-control did not start:\n" + read(self.log_path))

    def output(self):
        return "".join(read(os.path.join(self.d, f"control-{i}.log"))
                       for i in range(1, self.starts + 1))

    def token(self, sa):
        path = os.path.join(self.tokens, NS, sa, "token")
        wait_until(lambda: os.path.exists(path), 30)
        return path

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=15)
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def metrics(self):
        return http_get(self.admin, "/metrics")[1]


class Proxy:
    def __init__(self, d, name, env):
        self.log_path = os.path.join(d, name + ".log")
        self.log = open(self.log_path, "wb")
        full = {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_PROXY_")}
        full.update({
            "TRELLIS_PROXY_INBOUND_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_OUTBOUND_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_ADMIN_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_WORKERS": "1",
            "TRELLIS_PROXY_SHUTDOWN_GRACE_PERIOD": "1s",
            "TRELLIS_PROXY_NAMESPACE": NS,
        })
        full.update(env)
        self.proc = subprocess.Popen([ARGS.proxy], env=full, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"proxy ready: inbound (\S+), outbound (\S+), admin (\S+),",
                          self.output())
            if m:
                self.inbound, self.outbound, self.admin = m.group(1), m.group(2), m.group(3)
                break
            time.sleep(0.05)
        else:
            raise AssertionError("proxy did not start:\n" + self.output())
        if not wait_until(lambda: http_get(self.admin, "/ready")[0] == 200, 30):
            raise AssertionError("proxy not ready:\n" + self.output())

    def output(self):
        return read(self.log_path)

    def leaf(self):
        status, body = http_get(self.admin, "/identity")
        blocks = pem_blocks(body) if status == 200 else []
        return blocks[0] if blocks else None

    def metric(self, name, **labels):
        return metric_sum(http_get(self.admin, "/metrics")[1], name, **labels)

    def config_dump(self):
        import json
        return json.loads(http_get(self.admin, "/config_dump")[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Load:
    """Requests in a loop on keep-alive connections (one per thread); every failure is kept."""

    def __init__(self, addr, host, threads=2):
        self.addr, self.host = addr, host
        self.ok = 0
        self.failures = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.loop, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def loop(self):
        host, port = self.addr.rsplit(":", 1)
        conn = None
        while not self.stopping.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request("GET", "/load", headers={"Host": self.host})
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or not body.startswith(b"emoji "):
                    raise RuntimeError(f"status {r.status}: {body[:200]!r}")
                with self.lock:
                    self.ok += 1
            except Exception as e:  # noqa: BLE001 — every failure counts
                with self.lock:
                    self.failures.append((time.strftime("%H:%M:%S"), repr(e)))
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
            time.sleep(0.002)
        if conn is not None:
            conn.close()

    def count(self):
        with self.lock:
            return self.ok, list(self.failures)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=20)
        return self.count()


EXT = ("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
       "subjectKeyIdentifier=hash\n"
       "[issuer]\nbasicConstraints=critical,CA:TRUE,pathlen:0\n"
       "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
       "authorityKeyIdentifier=keyid\n")


def make_anchor(pki):
    """The trust anchor, with the openssl CLI (independent of our CA code); its key stays in
    `pki` (outside the CA directory) so that new issuers can be made later."""
    os.makedirs(pki, exist_ok=True)
    write(os.path.join(pki, "ext.cnf"), EXT)
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=pki)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=root.linkerd.cluster.local",
            "-days", "30", "-sha256", "-config", "ext.cnf", "-extensions", "ca", "-out", "ca.crt",
            cwd=pki)


def make_issuer(pki, name):
    """An issuer signed by the anchor: returns (certificate PEM, key PEM)."""
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name + ".ec", cwd=pki)
    openssl("pkcs8", "-topk8", "-nocrypt", "-in", name + ".ec", "-out", name + ".key", cwd=pki)
    openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=identity.linkerd.cluster.local",
            "-out", name + ".csr", cwd=pki)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", "ext.cnf", "-extensions",
            "issuer", "-out", name + ".crt", cwd=pki)
    return read(os.path.join(pki, name + ".crt")), read(os.path.join(pki, name + ".key"))


def install_issuer(ca_dir, crt, key):
    """As an operator would: each file replaced atomically, the key first."""
    write(os.path.join(ca_dir, "issuer.key"), key)
    os.chmod(os.path.join(ca_dir, "issuer.key"), 0o600)
    write(os.path.join(ca_dir, "issuer.crt"), crt)


def make_client_cert(ca_dir, d, identity, name):
    """A leaf for `identity` signed by the CA directory's issuer with the openssl CLI (what a
    meshed peer would present); returns (chain file, key file)."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                f"extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:{identity}\n")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", name + ".key", cwd=d)
    openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + identity,
            "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", os.path.join(ca_dir, "issuer.crt"),
            "-CAkey", os.path.join(ca_dir, "issuer.key"), "-CAcreateserial",
            "-CAserial", os.path.join(d, name + ".srl"), "-days", "1",
            "-extfile", name + ".ext", "-out", name + ".leaf", cwd=d)
    # s_client sends only the -cert file's first certificate; the issuer goes in -cert_chain.
    leaf = os.path.join(d, name + ".crt")
    write(leaf, read(os.path.join(d, name + ".leaf")))
    write(leaf + ".chain", read(os.path.join(ca_dir, "issuer.crt")))
    return leaf, os.path.join(d, name + ".key")


class Mesh:
    """trellis-control + app + server proxy (emoji) + client proxy (web, ingress)."""

    def __init__(self, cert_ttl):
        self.tmp = tempfile.TemporaryDirectory(prefix="trellis-resilience-")
        d = self.d = self.tmp.name
        self.control = Control(d, cert_ttl)
        self.proxies = []
        self.backends = []
        self.pki = os.path.join(d, "pki")
        make_anchor(self.pki)
        write(os.path.join(self.control.ca_dir, "ca.crt"), read(os.path.join(self.pki, "ca.crt")))
        install_issuer(self.control.ca_dir, *make_issuer(self.pki, "issuer1"))
        write(os.path.join(self.control.store, "base.yaml"), BASE)
        self.control.start()
        self.app = self.backend("emoji")
        self.server = self.proxy("server", "emoji", {
            "TRELLIS_PROXY_INBOUND_DEFAULT_PORT": str(self.app.port)})
        inbound_port = self.server.inbound.rsplit(":", 1)[1]
        # The pod's port is the server proxy's inbound: on loopback nothing redirects to it.
        write(os.path.join(self.control.store, "emoji.yaml"),
              service("emoji", NS, 80, inbound_port, "emoji") + "---\n" +
              pod("emoji-1", NS, "emoji", "emoji", inbound_port))
        # Until the control plane has it (a proxy asking earlier is told "does not exist").
        if not wait_until(lambda: inbound_port in http_get(
                self.control.admin, "/api/v1/endpoints?path=emoji.emojivoto.svc.cluster.local:80"
                "&ns=emojivoto")[1], 10):
            raise AssertionError("the emoji service never resolved\n" + self.control.output())
        self.client = self.proxy("client", "web", {"TRELLIS_PROXY_MODE": "ingress"})

    def backend(self, name):
        b = Backend(name)
        self.backends.append(b)
        return b

    def proxy(self, name, sa, env):
        identity = f"{sa}.{NS}.serviceaccount.identity.linkerd.cluster.local"
        p = Proxy(self.d, name, {
            "TRELLIS_PROXY_CONTROL_ADDR": self.control.grpc,
            "TRELLIS_PROXY_IDENTITY_NAME": identity,
            "TRELLIS_PROXY_IDENTITY_TOKEN_FILE": self.control.token(sa),
            "TRELLIS_PROXY_TRUST_ANCHORS_FILE": os.path.join(self.control.ca_dir, "ca.crt"),
            **env})
        self.proxies.append(p)
        return p

    def get(self, host, path="/", timeout=5):
        return http_get(self.client.outbound, path, headers={"Host": host}, timeout=timeout)

    def logs(self):
        return "\n".join(["--- control", self.control.output()] +
                         [f"--- {os.path.basename(p.log_path)}\n{p.output()}"
                          for p in self.proxies])

    def close(self):
        for p in self.proxies:
            p.stop()
        self.control.stop()
        for b in self.backends:
            b.stop()
        self.tmp.cleanup()


class CertificateRotationUnderLoad(unittest.TestCase):
    """--cert-ttl 15s: leaves are refreshed every ~10.5 s (70 %); two rotations under load, and
    between them the issuer in the CA directory is replaced (same anchor) without a restart."""

    def test_rotation_under_load_has_no_failed_requests(self):
        mesh = Mesh("15s")
        self.addCleanup(mesh.close)
        status, body = mesh.get("emoji", "/first", timeout=10)
        self.assertEqual((status, body), (200, "emoji /first\n"), mesh.logs())
        first_served = mesh.server.leaf()
        seen = {first_served}
        new_issuer_pem, new_issuer_key = make_issuer(mesh.pki, "issuer2")
        new_issuer = pem_blocks(new_issuer_pem)[0]
        rotated_issuer = False

        def issuer_of(proxy):
            blocks = pem_blocks(http_get(proxy.admin, "/identity")[1])
            return blocks[1] if len(blocks) > 1 else None

        load = Load(mesh.client.outbound, "emoji.emojivoto.svc.cluster.local")
        try:
            # Until the server proxy has served three different leaves (two rotations) and both
            # proxies hold a leaf of the new issuer.
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                leaf = mesh.server.leaf()
                if leaf:
                    seen.add(leaf)
                if len(seen) >= 2 and not rotated_issuer:
                    install_issuer(mesh.control.ca_dir, new_issuer_pem, new_issuer_key)
                    rotated_issuer = True
                if (len(seen) >= 3 and issuer_of(mesh.server) == new_issuer and
                        issuer_of(mesh.client) == new_issuer):
                    break
                time.sleep(0.25)
            # A little more traffic on the newest certificates.
            time.sleep(1)
        finally:
            ok, failures = load.stop()
        self.assertGreaterEqual(len(seen), 3, "fewer than two rotations\n" + mesh.logs())
        print(f"\n{ok} requests across {len(seen) - 1} rotations of the server's certificate, "
              f"{len(failures)} failed", file=sys.stderr)
        self.assertTrue(rotated_issuer)
        self.assertEqual(issuer_of(mesh.server), new_issuer, mesh.logs())
        self.assertEqual(issuer_of(mesh.client), new_issuer, mesh.logs())
        self.assertIn("reloaded the CA directory", mesh.control.output())
        self.assertEqual(failures, [], mesh.logs())
        self.assertGreater(ok, 100)
        # The certificate changed for real: other serial, later notAfter.
        first = cert_facts(first_served)
        last = cert_facts(mesh.server.leaf())
        self.assertNotEqual(first[0], last[0])
        self.assertNotEqual(first[1], last[1])
        # The inbound serves the current leaf to a new connection (not a cached old one).
        served = served_leaf(mesh.server.inbound, EMOJI_ID,
                             os.path.join(mesh.control.ca_dir, "ca.crt"))
        self.assertEqual(cert_facts(served)[0], cert_facts(mesh.server.leaf())[0])
        # The traffic was mTLS all along, with the client's verified identity.
        self.assertGreaterEqual(mesh.server.metric("request_total", direction="inbound",
                                                   tls="true", client_id=WEB_ID), ok)
        self.assertEqual(mesh.server.metric("request_total", direction="inbound",
                                            tls="no_identity"), 0)
        self.assertGreaterEqual(mesh.client.metric("identity_cert_refresh_total"), 3)
        self.assertGreaterEqual(mesh.server.metric("identity_cert_refresh_total"), 3)


def served_leaf(addr, sni, ca_file, cert=None, key=None):
    args = ["openssl", "s_client", "-connect", addr, "-servername", sni, "-CAfile", ca_file,
            "-verify_return_error", "-showcerts", "-tls1_3"]
    if cert:
        args += ["-cert", cert, "-key", key, "-cert_chain", cert + ".chain"]
    p = subprocess.run(args, input=b"", capture_output=True, timeout=30)
    blocks = pem_blocks(p.stdout.decode(errors="replace"))
    if not blocks:
        raise AssertionError("no certificate served:\n" + (p.stdout + p.stderr).decode())
    return blocks[0]


class ControlPlaneFailures(unittest.TestCase):
    """One mesh (long-lived certificates) for discovery latency, the TLS sweep and the control
    plane's death; the tests run in the order of their names."""

    @classmethod
    def setUpClass(cls):
        cls.mesh = Mesh("1h")

    @classmethod
    def tearDownClass(cls):
        cls.mesh.close()

    def test_1_endpoint_changes_reach_the_proxy_within_a_second(self):
        mesh = self.mesh
        a, b = mesh.backend("echo-a"), mesh.backend("echo-b")
        store = mesh.control.store
        write(os.path.join(store, "echo.yaml"), service("echo", "plain", 80, "http", "echo"))
        host = "echo.plain.svc.cluster.local"

        def endpoints():
            for s in mesh.client.config_dump()["services"]:
                if s["fqdn"].startswith(host):
                    return sorted(ep["address"] for p in s["ports"] for ep in p["endpoints"])
            return None

        # The proxy learns targets on demand: the first request subscribes (no endpoints: 503).
        mesh.get(host, timeout=10)
        self.assertTrue(wait_until(lambda: endpoints() == [], 10), mesh.logs())

        def within_a_second(change, check):
            change()
            written = time.monotonic()
            while time.monotonic() - written < 1.0:
                if check():
                    return time.monotonic() - written
                time.sleep(0.05)
            self.fail(f"not visible 1 s after the write ({change.__name__})\n" + mesh.logs())

        # Added.
        def add():
            write(os.path.join(store, "echo-pod.yaml"), pod("echo-1", "plain", "echo", "default",
                                                             a.port))
        took = within_a_second(add, lambda: endpoints() == [f"127.0.0.1:{a.port}"])
        self.assertEqual(mesh.get(host, "/x"), (200, "echo-a /x\n"))
        # Changed (the pod's port moves to another app): seen on the data path.
        def change():
            write(os.path.join(store, "echo-pod.yaml"), pod("echo-1", "plain", "echo", "default",
                                                             b.port))
        took = max(took, within_a_second(change, lambda: mesh.get(host, "/y", timeout=1) ==
                                         (200, "echo-b /y\n")))
        # A second endpoint added next to it.
        def add_second():
            write(os.path.join(store, "echo-pod-2.yaml"),
                  pod("echo-2", "plain", "echo", "default", a.port))
        took = max(took, within_a_second(
            add_second, lambda: endpoints() == sorted([f"127.0.0.1:{a.port}",
                                                       f"127.0.0.1:{b.port}"])))
        # Removed.
        def remove():
            os.remove(os.path.join(store, "echo-pod-2.yaml"))
        took = max(took, within_a_second(remove, lambda: endpoints() == [f"127.0.0.1:{b.port}"]))
        def remove_all():
            os.remove(os.path.join(store, "echo-pod.yaml"))
        took = max(took, within_a_second(remove_all, lambda: endpoints() == []))
        print(f"\nslowest endpoint change seen after {took * 1000:.0f} ms", file=sys.stderr)

    def test_2_tls_sweep(self):
        mesh = self.mesh
        ca = os.path.join(mesh.control.ca_dir, "ca.crt")
        cert, key = make_client_cert(mesh.control.ca_dir, mesh.d, WEB_ID, "sweep")
        report = tls_sweep(self, "mesh inbound", mesh.server.inbound, EMOJI_ID, ca, cert, key)
        report += tls_sweep(self, "control gRPC", mesh.control.grpc, CONTROL_ID, ca, cert, key)
        # mTLS on the inbound: without a client certificate, or with one from another CA, the
        # handshake fails (the alert arrives after the client's Finished, hence the wait).
        p = s_client(mesh.server.inbound, EMOJI_ID, ca, ["-tls1_3"], stdin_delay=0.5)
        self.assertIn("alert certificate required", p.out)
        report.append("mesh inbound: no client certificate -> refused (certificate_required)")
        stranger_pki = os.path.join(mesh.d, "stranger")
        make_anchor(stranger_pki)
        make_issuer(stranger_pki, "issuer")
        stranger = make_client_cert(stranger_pki, mesh.d, WEB_ID, "stranger")
        p = s_client(mesh.server.inbound, EMOJI_ID, ca, ["-tls1_3"], stdin_delay=0.5,
                     cert=stranger[0], key=stranger[1])
        self.assertIn("alert unknown ca", p.out)
        report.append("mesh inbound: client certificate of another CA -> refused (unknown_ca)")
        # The control plane: a certificate of another CA is refused too; none at all is fine
        # for the handshake (Certify authenticates by token).
        p = s_client(mesh.control.grpc, CONTROL_ID, ca, ["-tls1_3"], stdin_delay=0.5,
                     cert=stranger[0], key=stranger[1])
        self.assertIn("alert unknown ca", p.out)
        p = s_client(mesh.control.grpc, CONTROL_ID, ca, ["-tls1_3"], stdin_delay=0.5)
        self.assertIn("New, TLSv1.3", p.out)
        self.assertNotIn("alert", p.out)
        report.append("control gRPC: client certificate of another CA -> refused (unknown_ca); "
                      "none -> handshake accepted")
        # Wrong SNI on the inbound: passed through to the app untouched (the proxy presents no
        # certificate; the plain-HTTP app cannot answer a ClientHello).
        before = mesh.server.metric("tcp_open_total", direction="inbound", tls="no_identity")
        p = s_client(mesh.server.inbound, "other.example", ca, ["-tls1_3"])
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("BEGIN CERTIFICATE", p.out)
        self.assertTrue(wait_until(lambda: mesh.server.metric(
            "tcp_open_total", direction="inbound", tls="no_identity") > before, 5))
        report.append("mesh inbound: SNI other.example -> passed through (no certificate "
                      "presented, opaque TCP to the app)")
        # The control plane speaks only TLS: a plaintext HTTP/2 preface gets no HTTP/2 answer.
        answer = raw_exchange(mesh.control.grpc, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                                 b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        self.assertFalse(answer[3:4] == b"\x04", answer[:32])  # no SETTINGS frame
        kind = "a TLS alert" if answer[:1] == b"\x15" else "closed"
        report.append(f"control gRPC: plaintext HTTP/2 preface -> {kind}, no HTTP/2")
        # Destination without a client certificate: refused (covered by control_plane_test);
        # between the proxies the hop is always TLS.
        self.assertEqual(mesh.server.metric("request_total", direction="inbound",
                                            tls="no_identity"), 0)
        print("\n" + "\n".join(report), file=sys.stderr)

    def test_3_control_plane_killed_under_load(self):
        mesh = self.mesh
        self.assertEqual(mesh.get("emoji", "/warm", timeout=10), (200, "emoji /warm\n"),
                         mesh.logs())
        load = Load(mesh.client.outbound, "emoji.emojivoto.svc.cluster.local")
        try:
            self.assertTrue(wait_until(lambda: load.count()[0] > 20, 10))
            mesh.control.kill()
            killed_at_ok = load.count()[0]
            # Written while nobody watches: the proxies must resynchronise after the restart
            # (echo is still subscribed from test_1, with no endpoints).
            echo_c = mesh.backend("echo-c")
            write(os.path.join(mesh.control.store, "echo-pod.yaml"),
                  pod("echo-1", "plain", "echo", "default", echo_c.port))
            time.sleep(11)
            during = load.count()[0] - killed_at_ok
            # Both proxies keep serving /ready and their identity while the control plane is away.
            self.assertEqual(http_get(mesh.client.admin, "/ready")[0], 200)
            self.assertIsNotNone(mesh.server.leaf())
            mesh.control.start()
            time.sleep(1)
        finally:
            ok, failures = load.stop()
        self.assertEqual(failures, [], mesh.logs())
        self.assertGreater(during, 100)
        print(f"\n{ok} requests, {during} of them in the 11 s without a control plane, "
              "0 failed", file=sys.stderr)
        # The subscription that existed before resynchronised: the change made while the control
        # plane was down arrives.
        def echo_endpoints():
            for svc in mesh.client.config_dump()["services"]:
                if svc["fqdn"].startswith("echo.plain.svc"):
                    return sorted(ep["address"] for p in svc["ports"] for ep in p["endpoints"])
            return None
        self.assertTrue(wait_until(lambda: echo_endpoints() == [f"127.0.0.1:{echo_c.port}"], 30),
                        mesh.logs())
        self.assertEqual(mesh.get("echo.plain.svc.cluster.local", "/c"), (200, "echo-c /c\n"))
        # A service that appears after the restart is discovered: the proxies reconnected.
        extra = mesh.backend("extra")
        write(os.path.join(mesh.control.store, "extra.yaml"),
              service("extra", "plain", 80, "http", "extra") + "---\n" +
              pod("extra-1", "plain", "extra", "default", extra.port))
        self.assertTrue(wait_until(lambda: mesh.get("extra.plain.svc.cluster.local", "/z",
                                                    timeout=3) == (200, "extra /z\n"), 30),
                        mesh.logs())
        # Seen from the restarted control plane: the proxies' streams are back.
        self.assertGreater(metric_sum(mesh.control.metrics(), "destination_streams"), 0)


class Result:
    def __init__(self, p):
        self.returncode = p.returncode
        self.out = (p.stdout + p.stderr).decode(errors="replace")


def s_client(addr, sni, ca, extra, stdin_delay=0.0, cert=None, key=None):
    args = ["openssl", "s_client", "-connect", addr, "-servername", sni, "-CAfile", ca,
            "-verify_return_error", *extra]
    if cert:
        args += ["-cert", cert, "-key", key, "-cert_chain", cert + ".chain"]
    if stdin_delay <= 0:
        return Result(subprocess.run(args, input=b"", capture_output=True, timeout=30))
    # Keep the connection open a moment so that post-handshake messages (session tickets) are
    # read before closing.
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(stdin_delay)
    out, err = p.communicate(input=b"", timeout=30)

    class P:
        pass
    r = P()
    r.returncode, r.stdout, r.stderr = p.returncode, out, err
    return Result(r)


def raw_exchange(addr, data, timeout=5):
    host, port = addr.rsplit(":", 1)
    out = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return out


def tls_sweep(test, what, addr, sni, ca, cert, key):
    """Protocol versions, TLS 1.3 suites, session tickets / resumption and 0-RTT of one port.
    Returns human-readable findings."""
    report = []
    legacy = ["-cipher", "DEFAULT@SECLEVEL=0"]
    for flag, name in (("-tls1", "TLS 1.0"), ("-tls1_1", "TLS 1.1"), ("-tls1_2", "TLS 1.2")):
        p = s_client(addr, sni, ca, [flag, *legacy], cert=cert, key=key)
        test.assertNotEqual(p.returncode, 0, f"{what}: {name} accepted\n{p.out}")
        test.assertNotIn("BEGIN CERTIFICATE", p.out)
        report.append(f"{what}: {name} refused")
    accepted = []
    for suite in TLS13_SUITES:
        p = s_client(addr, sni, ca, ["-tls1_3", "-ciphersuites", suite], cert=cert, key=key)
        m = re.search(r"New, (TLSv1\.3), Cipher is (\S+)", p.out)
        if p.returncode == 0 and m:
            test.assertEqual(m.group(2), suite)
            accepted.append(suite)
            report.append(f"{what}: TLS 1.3 {suite} -> negotiated")
        else:
            report.append(f"{what}: TLS 1.3 {suite} -> refused")
    test.assertIn("TLS_AES_128_GCM_SHA256", accepted)
    # All suites offered at once: the server's pick, and no session ticket after the handshake.
    with tempfile.TemporaryDirectory() as d:
        sess = os.path.join(d, "session.pem")
        p = s_client(addr, sni, ca, ["-tls1_3", "-sess_out", sess], stdin_delay=1.0,
                     cert=cert, key=key)
        test.assertIn("Verify return code: 0 (ok)", p.out)
        m = re.search(r"New, TLSv1\.3, Cipher is (\S+)", p.out)
        test.assertIsNotNone(m, p.out)
        report.append(f"{what}: default offer -> TLSv1.3 {m.group(1)}, peer verified to the "
                      "trust anchors")
        test.assertNotIn("New Session Ticket arrived", p.out, f"{what}: a ticket was sent")
        report.append(f"{what}: no session ticket sent")
        if os.path.exists(sess):
            # Whatever s_client saved cannot be resumed, and early data is not accepted.
            early = os.path.join(d, "early.txt")
            write(early, "GET / HTTP/1.1\r\n\r\n")
            p = s_client(addr, sni, ca, ["-tls1_3", "-sess_in", sess, "-early_data", early],
                         cert=cert, key=key)
            test.assertNotIn("Reused, TLSv1.3", p.out)
            test.assertNotIn("Early data was accepted", p.out)
        report.append(f"{what}: no resumption, no 0-RTT")
    return report


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--control", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
