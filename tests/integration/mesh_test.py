#!/usr/bin/env python3
"""Meshed traffic between two trellis-proxy instances (contract C-7): static credentials made
with the openssl CLI (ECDSA P-256 anchor -> leaves with DNS SAN = identity), a discovery file
whose endpoint is the server proxy's inbound with that identity and protocolHint h2.

  curl -> client proxy (outbound) --mTLS, HTTP/2 + l5d-orig-proto--> server proxy (inbound) -> app
"""

import argparse
import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import proxy_test  # noqa: E402  (Proxy, curl, raw_exchange, BannerServer)

ARGS = None
CLIENT_ID = "web.default.serviceaccount.identity.linkerd.cluster.local"
SERVER_ID = "emoji.default.serviceaccount.identity.linkerd.cluster.local"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(directory):
    """An anchor and one leaf per identity; returns {identity: (cert, key)} and the anchor path."""
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key",
            cwd=directory)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=root.linkerd.cluster.local",
            "-days", "30", "-out", "ca.crt", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    leaves = {}
    for name in (CLIENT_ID, SERVER_ID):
        short = name.split(".")[0]
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                short + ".key", cwd=directory)
        openssl("req", "-new", "-key", short + ".key", "-subj", "/CN=" + name, "-out",
                short + ".csr", cwd=directory)
        with open(os.path.join(directory, short + ".ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s\n" % name)
        openssl("x509", "-req", "-in", short + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", short + ".crt", "-extfile", short + ".ext",
                cwd=directory)
        leaves[name] = (os.path.join(directory, short + ".crt"),
                        os.path.join(directory, short + ".key"))
    return leaves, os.path.join(directory, "ca.crt")


class EchoHeaders:
    """An HTTP/1.1 app that answers with the request's version and headers as JSON."""

    def __init__(self):
        self.requests = []
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                app.requests.append((self.request_version, dict(self.headers)))
                body = json.dumps({"version": self.request_version, "path": self.path,
                                   "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
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


class Mesh(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        proxy_test.ARGS = ARGS
        cls.dir = tempfile.mkdtemp(prefix="trellis-mesh-test-")
        leaves, anchors = make_pki(cls.dir)
        cls.leaves, cls.anchors = leaves, anchors
        cls.app = EchoHeaders()
        cls.banner = proxy_test.BannerServer()

        def identity_args(name):
            cert, key = leaves[name]
            return ["--identity-cert-file", cert, "--identity-key-file", key,
                    "--trust-anchors-file", anchors, "--identity-name", name]

        cls.server = proxy_test.Proxy("services: []\n", ["--inbound-default-port", str(cls.app.port),
                                                         *identity_args(SERVER_ID)])
        inbound = cls.server.inbound
        cls.client = proxy_test.Proxy(
            "services:\n"
            "  - name: emoji\n    namespace: default\n    ports:\n      - port: 80\n"
            f"        endpoints:\n          - address: {inbound}\n"
            f"            identity: {SERVER_ID}\n            protocolHint: h2\n"
            "            labels: {pod: emoji-0, namespace: default}\n",
            identity_args(CLIENT_ID))

    @classmethod
    def tearDownClass(cls):
        cls.client.stop()
        cls.server.stop()
        cls.app.stop()
        cls.banner.stop()

    def test_http1_travels_as_mtls_http2_and_reaches_the_app_as_http1(self):
        code, out, err = proxy_test.curl("-H", "Host: emoji",
                                         "-H", "l5d-client-id: spoofed.identity",
                                         f"http://{self.client.outbound}/mesh")
        self.assertEqual(code, 0, err)
        seen = json.loads(out)
        self.assertEqual(seen["path"], "/mesh")
        self.assertEqual(seen["version"], "HTTP/1.1")
        self.assertEqual(seen["headers"].get("l5d-client-id"), CLIENT_ID)
        self.assertNotIn("l5d-orig-proto", seen["headers"])
        # Outbound: TLS to the endpoint's identity, dst labels from discovery.
        self.assertGreaterEqual(self.client.metric("request_total", direction="outbound", tls="true",
                                                   server_id=SERVER_ID, dst_pod="emoji-0"), 1)
        self.assertGreaterEqual(self.client.metric("response_total", direction="outbound",
                                                   tls="true", status_code="200"), 1)
        # Inbound: terminated mTLS with the verified client identity.
        self.assertGreaterEqual(self.server.metric("request_total", direction="inbound", tls="true",
                                                   client_id=CLIENT_ID, server_id=SERVER_ID), 1)
        self.assertGreaterEqual(self.server.metric("tcp_open_total", direction="inbound", tls="true",
                                                   client_id=CLIENT_ID), 1)
        # The mesh hop was HTTP/2 over TLS: the inbound detected h2 inside TLS.
        self.assertGreaterEqual(self.server.metric("protocol_detect_total", direction="inbound",
                                                   protocol="tls"), 1)

    def test_tls12_is_refused_on_the_mesh_path(self):
        p = subprocess.run(["openssl", "s_client", "-connect", self.server.inbound, "-servername",
                            SERVER_ID, "-tls1_2"], input=b"", capture_output=True, timeout=30)
        text = (p.stdout + p.stderr).decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, text)
        self.assertNotIn("BEGIN CERTIFICATE", text)
        self.assertGreaterEqual(self.server.metric("inbound_http_errors_total",
                                                   error="tls_unsupported_protocol"), 1)

    def test_plain_http_to_the_inbound_is_served_without_identity(self):
        code, out, err = proxy_test.curl("-H", "l5d-client-id: " + CLIENT_ID,
                                         f"http://{self.server.inbound}/plain")
        self.assertEqual(code, 0, err)
        seen = json.loads(out)
        self.assertNotIn("l5d-client-id", seen["headers"])
        self.assertGreaterEqual(self.server.metric("request_total", direction="inbound",
                                                   tls="no_identity"), 1)

    def test_other_sni_passes_through_as_opaque_bytes(self):
        # A ClientHello for another name is not ours to terminate: the application receives the
        # hello byte for byte (here a recorder standing in for an app that does its own TLS).
        recorder = Recorder()
        cert, key = self.leaves[SERVER_ID]
        proxy = proxy_test.Proxy("services: []\n", [
            "--inbound-default-port", str(recorder.port), "--identity-cert-file", cert,
            "--identity-key-file", key, "--trust-anchors-file", self.anchors,
            "--identity-name", SERVER_ID])
        try:
            client = subprocess.Popen(["openssl", "s_client", "-connect", proxy.inbound,
                                       "-servername", "other.example", "-tls1_3"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT)
            got = recorder.wait_for(b"other.example")
            client.kill()  # the recorder never answers: the handshake cannot finish
            text = client.communicate(timeout=30)[0].decode(errors="replace")
            self.assertNotIn("BEGIN CERTIFICATE", text)  # the proxy never answered the hello
            self.assertTrue(got.startswith(b"\x16\x03"), got[:16])
            self.assertIn(b"other.example", got)
            self.assertGreaterEqual(proxy.metric("tcp_open_total", direction="inbound",
                                                 tls="no_identity"), 1)
            self.assertEqual(proxy.metric("inbound_http_errors_total"), 0)
        finally:
            proxy.stop()
            recorder.stop()


class MeshTunnels(unittest.TestCase):
    """A WebSocket upgrade between meshed proxies stays HTTP/1 (never HTTP/2) over mTLS, and
    the tunnel carries frames both ways."""

    def test_websocket_over_mtls(self):
        pki = tempfile.mkdtemp(prefix="trellis-mesh-ws-")
        leaves, anchors = make_pki(pki)
        ws = proxy_test.WebSocketEcho()

        def identity_args(name):
            cert, key = leaves[name]
            return ["--identity-cert-file", cert, "--identity-key-file", key,
                    "--trust-anchors-file", anchors, "--identity-name", name]

        server = proxy_test.Proxy("services: []\n", ["--inbound-default-port", str(ws.port),
                                                      *identity_args(SERVER_ID)])
        client = None
        try:
            client = proxy_test.Proxy(
                "services:\n  - name: ws\n    namespace: default\n    ports:\n      - port: 80\n"
                f"        endpoints:\n          - address: {server.inbound}\n"
                f"            identity: {SERVER_ID}\n            protocolHint: h2\n",
                identity_args(CLIENT_ID))
            host, port = client.outbound.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.settimeout(10)
                s.sendall(b"GET /chat HTTP/1.1\r\nHost: ws\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          b"Sec-WebSocket-Version: 13\r\n\r\n")
                head = proxy_test.read_head(s)
                self.assertTrue(head.startswith("HTTP/1.1 101"), head)
                s.sendall(proxy_test.ws_frame(b"through the mesh"))
                self.assertEqual(proxy_test.read_ws_frame(s), (1, b"through the mesh"))
            line, headers = ws.requests[-1]
            self.assertEqual(headers.get("l5d-client-id"), CLIENT_ID)
            self.assertNotIn("l5d-orig-proto", headers)
            self.assertGreaterEqual(server.metric("request_total", direction="inbound", tls="true",
                                                  client_id=CLIENT_ID), 1)
        finally:
            if client:
                client.stop()
            server.stop()
            ws.stop()


class Recorder:
    """Accepts TCP connections and records every byte received (sends nothing)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.data = b""
        self.lock = threading.Lock()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                with self.lock:
                    self.data += chunk

    def wait_for(self, needle, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if needle in self.data:
                    return self.data
            time.sleep(0.05)
        with self.lock:
            return self.data

    def stop(self):
        self.sock.close()


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--app")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
