#!/usr/bin/env python3
"""Integration tests for trellis-proxy: the real binary on loopback, with curl and Python clients
as peers and real backend servers started (and stopped) by the tests."""

import argparse
import http.server
import os
import re
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

ARGS = None


# ---- backends --------------------------------------------------------------------------------

class Backend:
    """A threaded HTTP/1.1 server on 127.0.0.1:0 that records what it receives."""

    def __init__(self, name="backend", delay=0.0):
        self.name = name
        self.requests = []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body, extra=None):
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(body)))
                self.send_header("x-backend", backend.name)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                backend.requests.append((self.command, self.path, dict(self.headers)))
                if delay:
                    time.sleep(delay)
                if self.path.startswith("/status/"):
                    self.reply(int(self.path.split("/")[2]), b"status\n")
                    return
                if self.path.startswith("/big/"):
                    size = int(self.path.split("/")[2])
                    self.reply(200, b"x" * size)
                    return
                self.reply(200, f"{backend.name} {self.path}\n".encode())

            do_HEAD = do_GET

            def do_POST(self):
                length = self.headers.get("content-length")
                if length is not None:
                    body = self.rfile.read(int(length))
                else:
                    body = b""
                    while True:  # chunked
                        line = self.rfile.readline().strip()
                        n = int(line.split(b";")[0], 16)
                        if n == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            break
                        body += self.rfile.read(n)
                        self.rfile.readline()
                backend.requests.append(("POST", self.path, dict(self.headers)))
                self.reply(200, b"got %d bytes\n" % len(body))

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256  # the default backlog of 5 drops connects under load

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class BannerServer:
    """A server-speaks-first TCP service (like SMTP or MySQL): sends a banner, then echoes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            conn.sendall(b"220 banner ready\r\n")
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                conn.sendall(b"echo:" + data)

    def stop(self):
        self.sock.close()


class WebSocketEcho:
    """A minimal WebSocket server (RFC 6455, stdlib only): answers the opening handshake with 101
    and echoes every frame back unmasked. GET /refuse is answered 426 (a refused upgrade)."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def recv_exact(conn, n):
        out = b""
        while len(out) < n:
            chunk = conn.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def serve(self, conn):
        import base64
        import hashlib
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            head, rest = head.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in lines[1:])}
            self.requests.append((lines[0], headers))
            if lines[0].split()[1] == "/refuse":
                body = b"upgrade refused\n"
                conn.sendall(b"HTTP/1.1 426 Upgrade Required\r\ncontent-length: %d\r\n\r\n" %
                             len(body) + body)
                return
            accept = base64.b64encode(hashlib.sha1(
                (headers["sec-websocket-key"] + self.GUID).encode()).digest()).decode()
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
            buf = rest
            try:
                while True:
                    while len(buf) < 2:
                        buf += self.recv_exact(conn, 1)
                    opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
                    buf = buf[2:]
                    if length == 126:
                        buf += self.recv_exact(conn, max(0, 2 - len(buf)))
                        length, buf = int.from_bytes(buf[:2], "big"), buf[2:]
                    buf += self.recv_exact(conn, max(0, 4 + length - len(buf)))
                    mask, payload, buf = buf[:4], buf[4:4 + length], buf[4 + length:]
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                    if opcode == 8:  # close: echo it and end
                        conn.sendall(bytes([0x88, len(payload)]) + payload)
                        return
                    conn.sendall(ws_frame(payload, opcode, masked=False))
            except (EOFError, OSError):
                return

    def stop(self):
        self.sock.close()


def ws_frame(payload, opcode=1, masked=True):
    """One final WebSocket frame (payloads under 64 KiB)."""
    head = bytes([0x80 | opcode])
    mask_bit = 0x80 if masked else 0
    if len(payload) < 126:
        head += bytes([mask_bit | len(payload)])
    else:
        head += bytes([mask_bit | 126]) + len(payload).to_bytes(2, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_ws_frame(sock):
    def exact(n):
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise EOFError("closed after %r" % out)
            out += chunk
        return out
    b0, b1 = exact(2)
    length = b1 & 0x7F
    if length == 126:
        length = int.from_bytes(exact(2), "big")
    return b0 & 0x0F, exact(length)


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


# ---- the proxy -------------------------------------------------------------------------------

class Proxy:
    def __init__(self, discovery_yaml, extra_args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="trellis-proxy-test-")
        self.discovery = os.path.join(self.dir, "discovery.yaml")
        self.write_discovery(discovery_yaml)
        self.log_path = os.path.join(self.dir, "proxy.log")
        self.log = open(self.log_path, "w")
        cmd = [ARGS.proxy, "--mode", "ingress", "--discovery-file", self.discovery,
               "--inbound-listen-addr", "127.0.0.1:0", "--outbound-listen-addr", "127.0.0.1:0",
               "--admin-listen-addr", "127.0.0.1:0", *extra_args]
        if "--workers" not in extra_args:
            cmd += ["--workers", "2"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log_path) as f:
                text = f.read()
            m = re.search(r"proxy ready: inbound (\S+), outbound (\S+), admin (\S+),", text)
            if m:
                self.inbound, self.outbound, self.admin = m.group(1), m.group(2), m.group(3)
                return
            if self.proc.poll() is not None:
                raise RuntimeError("proxy exited: " + text)
            time.sleep(0.05)
        raise RuntimeError("proxy did not become ready: " + open(self.log_path).read())

    def write_discovery(self, text):
        tmp = self.discovery + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.discovery)

    def metrics(self):
        with urllib.request.urlopen(f"http://{self.admin}/metrics", timeout=10) as r:
            return r.read().decode()

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            series, value = line.rsplit(" ", 1)
            have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', series))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(value)
        return total

    def stop(self, sig=15, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def curl(*args, timeout=20):
    p = subprocess.run(["curl", "-sS", "--max-time", "15", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def raw_exchange(address, data, read_timeout=5):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        s.settimeout(read_timeout)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def discovery_for(services):
    """services: {name: [ports of endpoints]} -> discovery YAML (one port 80 per service)."""
    lines = ["services:"]
    for name, ports in services.items():
        lines += [f"  - name: {name}", "    namespace: default", "    ports:", "      - port: 80",
                  "        endpoints:"]
        if not ports:
            lines[-1] = "        endpoints: []"
        for p in ports:
            lines += [f"          - address: 127.0.0.1:{p}",
                      f"            labels: {{pod: {name}-{p}, namespace: default}}"]
    return "\n".join(lines) + "\n"


# ---- tests -----------------------------------------------------------------------------------

class OutboundHttp1(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Backend("a")
        cls.b = Backend("b")
        cls.proxy = Proxy(discovery_for({"web": [cls.a.port, cls.b.port], "empty": []}),
                          ["--outbound-failfast-timeout", "300ms"])

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.a.stop()
        cls.b.stop()

    def test_routes_by_host_and_balances(self):
        # Concurrent requests: P2C over peak-EWMA sends sequential requests to the endpoint that
        # has proven fast, and spreads load once requests are in flight at the same time.
        results = []

        def one(i):
            results.append((i, curl("-H", "Host: web", f"http://{self.proxy.outbound}/hello/{i}")))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        seen = set()
        for i, (code, out, err) in results:
            self.assertEqual(code, 0, err)
            self.assertTrue(out.endswith(f"/hello/{i}\n"), out)
            seen.add(out.split()[0])
        self.assertEqual(len(results), 40)
        self.assertEqual(seen, {"a", "b"})
        self.assertGreaterEqual(self.proxy.metric("request_total", direction="outbound",
                                                  authority="web.default.svc.cluster.local:80"), 40)
        self.assertGreaterEqual(self.proxy.metric("response_total", direction="outbound",
                                                  status_code="200", classification="success"), 40)
        # request_total carries the dst_* labels of the endpoint that served each request.
        per_pod = sum(self.proxy.metric("request_total", direction="outbound", dst_pod=f"web-{p}")
                      for p in (self.a.port, self.b.port))
        self.assertEqual(per_pod, self.proxy.metric("request_total", direction="outbound",
                                                    authority="web.default.svc.cluster.local:80"))
        self.assertGreaterEqual(per_pod, 40)

    def test_dst_override_header_wins_and_is_removed(self):
        code, out, err = curl("-H", "Host: elsewhere", "-H", "l5d-dst-override: web.default.svc.cluster.local:80",
                              f"http://{self.proxy.outbound}/override")
        self.assertEqual(code, 0, err)
        headers = [h for (m, p, h) in self.a.requests + self.b.requests if p == "/override"]
        self.assertEqual(len(headers), 1)
        self.assertNotIn("l5d-dst-override", {k.lower() for k in headers[0]})

    def test_keep_alive_post_chunked_and_large_bodies(self):
        code, out, err = curl("-H", "Host: web", "-H", "Transfer-Encoding: chunked", "--data-binary",
                              "@-", f"http://{self.proxy.outbound}/upload", "--next", "-H", "Host: web",
                              f"http://{self.proxy.outbound}/big/3000000")
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith("got 0 bytes\n"), out[:100])
        self.assertEqual(len(out) - len("got 0 bytes\n"), 3000000)
        big = b"z" * 1_000_000
        p = subprocess.run(["curl", "-sS", "-H", "Host: web", "--data-binary", "@-",
                            f"http://{self.proxy.outbound}/upload"], input=big, capture_output=True,
                           timeout=30)
        self.assertEqual(p.stdout, b"got 1000000 bytes\n")

    def test_unknown_authority_is_404_with_proxy_error(self):
        code, out, err = curl("-i", "-H", "Host: nothere", f"http://{self.proxy.outbound}/")
        self.assertIn("HTTP/1.1 404", out)
        self.assertIn("l5d-proxy-error: no service or address found for \"nothere\"", out)

    def test_no_endpoints_fails_fast_with_503(self):
        start = time.time()
        code, out, err = curl("-i", "-H", "Host: empty", f"http://{self.proxy.outbound}/")
        self.assertIn("HTTP/1.1 503", out)
        self.assertIn("l5d-proxy-error: no available endpoints for empty.default.svc.cluster.local:80", out)
        self.assertLess(time.time() - start, 10)
        self.assertGreaterEqual(self.proxy.metric("response_total", status_code="503", error="fail_fast"), 1)

    def test_connect_failure_is_502(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        code, out, err = curl("-i", "-H", f"Host: 127.0.0.1:{port}", f"http://{self.proxy.outbound}/")
        self.assertIn("HTTP/1.1 502", out)
        self.assertIn("l5d-proxy-error: connect to 127.0.0.1:%d failed" % port, out)

    def test_smuggling_vectors_are_rejected_before_the_backend(self):
        vectors = [
            b"POST /s1 HTTP/1.1\r\nHost: web\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /s2 HTTP/1.1\r\nHost: web\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
            b"POST /s3 HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
            b"GET /s4 HTTP/1.1\r\nHost: web\r\nX-A: a\r\n  folded\r\n\r\n",
            b"GET /s5 HTTP/1.1\r\nHost: web\r\nX-A: a\rb\r\n\r\n",
            b"GET /s6 HTTP/1.1\r\nHost : web\r\n\r\n",
            b"GET /s7 HTTP/1.1\r\nHost: web\r\nX-A: a\x00b\r\n\r\n",
            b"GET /s8 HTTP/1.1\r\nHost: web\r\nBad[Name]: x\r\n\r\n",
        ]
        for v in vectors:
            out = raw_exchange(self.proxy.outbound, v)
            self.assertTrue(out.startswith(b"HTTP/1.1 400"), (v, out[:200]))
        paths = {p for (_, p, _) in self.a.requests + self.b.requests}
        for i in range(1, 9):
            self.assertNotIn(f"/s{i}", paths)

    def test_header_limits(self):
        many = b"GET /many HTTP/1.1\r\nHost: web\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n"
        self.assertTrue(raw_exchange(self.proxy.outbound, many).startswith(b"HTTP/1.1 431"))
        long_target = b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: web\r\n\r\n"
        self.assertTrue(raw_exchange(self.proxy.outbound, long_target).startswith(b"HTTP/1.1 414"))

    def test_admin_endpoints(self):
        curl("-H", "Host: web", f"http://{self.proxy.outbound}/for-metrics")
        with urllib.request.urlopen(f"http://{self.proxy.admin}/ready", timeout=5) as r:
            self.assertEqual(r.status, 200)
        with urllib.request.urlopen(f"http://{self.proxy.admin}/config_dump", timeout=5) as r:
            dump = r.read().decode()
        self.assertIn('"fqdn": "web.default.svc.cluster.local"', dump)
        m = self.proxy.metrics()
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "proxy_build_info",
                     "response_latency_ms_bucket", "tcp_open_connections"):
            self.assertIn(name, m)


class Tunnels(unittest.TestCase):
    """Upgrade (WebSocket) and CONNECT: after the 101 / 200 the connection is a byte tunnel."""

    @classmethod
    def setUpClass(cls):
        cls.ws = WebSocketEcho()
        cls.banner = BannerServer()
        cls.proxy = Proxy(
            "services:\n"
            "  - name: ws\n    namespace: default\n    ports:\n      - port: 80\n"
            f"        endpoints: [{{address: 127.0.0.1:{cls.ws.port}, labels: {{pod: ws-0}}}}]\n"
            "  - name: smtp\n    namespace: default\n    ports:\n      - port: 25\n"
            f"        endpoints: [{{address: 127.0.0.1:{cls.banner.port}}}]\n")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.ws.stop()
        cls.banner.stop()

    def connect(self):
        host, port = self.proxy.outbound.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
        s.settimeout(10)
        return s

    def test_websocket_handshake_and_echo(self):
        with self.connect() as s:
            s.sendall(b"GET /chat HTTP/1.1\r\nHost: ws\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      b"Sec-WebSocket-Version: 13\r\n\r\n" + ws_frame(b"early"))
            head = read_head(s)
            self.assertTrue(head.startswith("HTTP/1.1 101"), head)
            self.assertIn("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".lower(), head.lower())
            self.assertIn("upgrade: websocket", head.lower())
            self.assertEqual(read_ws_frame(s), (1, b"early"))
            for i in range(3):
                payload = b"frame %d " % i + b"x" * (i * 1000)
                s.sendall(ws_frame(payload))
                self.assertEqual(read_ws_frame(s), (1, payload))
            s.sendall(ws_frame(b"\x03\xe8", opcode=8))
            self.assertEqual(read_ws_frame(s), (8, b"\x03\xe8"))
            self.assertEqual(s.recv(10), b"")  # the server closed; the FIN came through
        line, headers = self.ws.requests[-1]
        self.assertEqual(line, "GET /chat HTTP/1.1")
        self.assertEqual(headers.get("upgrade"), "websocket")
        self.assertEqual(self.proxy.metric("response_total", direction="outbound", status_code="101",
                                           dst_pod="ws-0"), 1)

    def test_refused_upgrade_is_an_ordinary_response(self):
        with self.connect() as s:
            s.sendall(b"GET /refuse HTTP/1.1\r\nHost: ws\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      b"Sec-WebSocket-Version: 13\r\n\r\n")
            data = b""
            while b"upgrade refused\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 426"), data)
        self.assertTrue(data.endswith(b"upgrade refused\n"), data)

    def test_connect_to_an_address(self):
        with self.connect() as s:
            target = f"127.0.0.1:{self.banner.port}".encode()
            s.sendall(b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n")
            head = read_head(s)
            self.assertTrue(head.startswith("HTTP/1.1 200"), head)
            self.assertEqual(s.recv(100), b"220 banner ready\r\n")
            s.sendall(b"ping")
            self.assertEqual(s.recv(100), b"echo:ping")
            s.shutdown(socket.SHUT_WR)  # half-close: the server sees EOF and closes
            self.assertEqual(s.recv(100), b"")

    def test_connect_to_a_service_uses_its_endpoints(self):
        with self.connect() as s:
            s.sendall(b"CONNECT smtp.default.svc.cluster.local:25 HTTP/1.1\r\n"
                      b"Host: smtp.default.svc.cluster.local:25\r\n\r\n")
            head = read_head(s)
            self.assertTrue(head.startswith("HTTP/1.1 200"), head)
            self.assertEqual(s.recv(100), b"220 banner ready\r\n")
        self.assertGreaterEqual(self.proxy.metric(
            "request_total", direction="outbound", authority="smtp.default.svc.cluster.local:25"), 1)

    def test_connect_to_nothing_is_502(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        with self.connect() as s:
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (port, port))
            head = read_head(s)
        self.assertTrue(head.startswith("HTTP/1.1 502"), head)


class QueueCapacity(unittest.TestCase):
    def test_requests_beyond_the_queue_are_shed_with_503(self):
        proxy = Proxy(discovery_for({"empty": []}), ["--workers", "1", "--queue-capacity", "2",
                                                     "--outbound-failfast-timeout", "3s"])
        try:
            results = []

            def one():
                results.append(curl("-i", "-H", "Host: empty", f"http://{proxy.outbound}/"))

            threads = [threading.Thread(target=one) for _ in range(5)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            outs = [out for _, out, _ in results]
            shed = [o for o in outs if "l5d-proxy-error: too many requests waiting" in o]
            failfast = [o for o in outs if "l5d-proxy-error: no available endpoints" in o]
            self.assertEqual(len(shed), 3, outs)
            self.assertEqual(len(failfast), 2, outs)
            self.assertTrue(all(o.startswith("HTTP/1.1 503") for o in outs), outs)
            self.assertEqual(proxy.metric("outbound_http_errors_total", error="queue_full"), 3)
        finally:
            proxy.stop()


class DiscoveryReload(unittest.TestCase):
    def test_endpoints_added_while_running(self):
        a = Backend("a")
        proxy = Proxy(discovery_for({"svc": []}), ["--outbound-failfast-timeout", "5s"])
        try:
            results = []
            t = threading.Thread(target=lambda: results.append(
                curl("-H", "Host: svc", f"http://{proxy.outbound}/waited")))
            t.start()
            time.sleep(0.3)  # the request is now waiting for an endpoint
            proxy.write_discovery(discovery_for({"svc": [a.port]}))
            t.join(30)
            code, out, err = results[0]
            self.assertEqual(out, "a /waited\n", err)
        finally:
            proxy.stop()
            a.stop()


class InboundAndOpaque(unittest.TestCase):
    def test_inbound_delivers_to_the_app_and_strips_spoofed_identity(self):
        app = Backend("app")
        proxy = Proxy("services: []\n", ["--inbound-default-port", str(app.port)])
        try:
            code, out, err = curl("-H", "l5d-client-id: admin.evil.serviceaccount.identity.linkerd.cluster.local",
                                  f"http://{proxy.inbound}/in")
            self.assertEqual(out, "app /in\n", err)
            self.assertNotIn("l5d-client-id", {k.lower() for k in app.requests[-1][2]})
            self.assertEqual(proxy.metric("request_total", direction="inbound"), 1)
        finally:
            proxy.stop()
            app.stop()

    def test_server_speaks_first_on_an_opaque_port_needs_no_detect_timeout(self):
        banner = BannerServer()
        proxy = Proxy("services: []\n", ["--inbound-default-port", str(banner.port),
                                          "--opaque-ports", str(banner.port)])
        try:
            host, port = proxy.inbound.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.settimeout(5)
                self.assertEqual(s.recv(100), b"220 banner ready\r\n")
                s.sendall(b"ping")
                self.assertEqual(s.recv(100), b"echo:ping")
        finally:
            proxy.stop()
            banner.stop()

    def test_non_http_client_is_forwarded_opaquely_after_detection(self):
        banner = BannerServer()
        proxy = Proxy("services: []\n", ["--inbound-default-port", str(banner.port),
                                          "--detect-timeout", "200ms"])
        try:
            host, port = proxy.inbound.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.settimeout(5)
                s.sendall(b"\x00\x01binary")  # clearly not HTTP: forwarded at once
                data = b""
                while b"echo:" not in data:
                    data += s.recv(100)
                self.assertTrue(data.startswith(b"220 banner ready\r\n"), data)
            self.assertGreaterEqual(proxy.metric("protocol_detect_total", direction="inbound",
                                                 protocol="opaque"), 1)
        finally:
            proxy.stop()
            banner.stop()


class GracefulShutdown(unittest.TestCase):
    def test_sigterm_under_load_loses_no_request(self):
        slow = Backend("slow", delay=0.2)
        proxy = Proxy(discovery_for({"web": [slow.port]}))
        failures, successes = [], []
        stop = threading.Event()

        def client():
            while not stop.is_set():
                try:
                    with socket.create_connection(tuple(proxy.outbound.rsplit(":", 1)[0:1]) +
                                                  (int(proxy.outbound.rsplit(":", 1)[1]),), timeout=10) as s:
                        s.sendall(b"GET /load HTTP/1.1\r\nHost: web\r\n\r\n")
                        s.settimeout(10)
                        data = b""
                        while b"slow /load\n" not in data:
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                        (successes if data.startswith(b"HTTP/1.1 200") and b"slow /load\n" in data
                         else failures).append(data[:400])
                except ConnectionRefusedError:
                    return  # the listener is closed: the proxy is shutting down
                except OSError as e:
                    failures.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        code = proxy.stop(sig=15)
        stop.set()
        for t in threads:
            t.join(30)
        slow.stop()
        self.assertEqual(code, 0)
        self.assertGreater(len(successes), 8)
        self.assertEqual(failures, [], "requests in flight during shutdown must complete: %r" % failures)


class ConfigReference(unittest.TestCase):
    def test_docs_match_the_settings_table(self):
        out = subprocess.run([ARGS.proxy, "--config-reference"], capture_output=True, timeout=30).stdout.decode()
        docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "proxy-config.md")
        with open(docs) as f:
            self.assertEqual(out, f.read(), "regenerate: trellis-proxy --config-reference > docs/proxy-config.md")

    def test_bad_settings_are_rejected_by_name(self):
        p = subprocess.run([ARGS.proxy], capture_output=True, timeout=30,
                           env={**os.environ, "TRELLIS_PROXY_DETECT_TIMEOUT": "soon",
                                "TRELLIS_PROXY_WORKRES": "2"})
        self.assertEqual(p.returncode, 2)
        err = p.stderr.decode()
        self.assertIn('TRELLIS_PROXY_DETECT_TIMEOUT="soon" is not valid', err)
        self.assertIn("unknown setting TRELLIS_PROXY_WORKRES (did you mean TRELLIS_PROXY_WORKERS?)", err)
        p = subprocess.run([ARGS.proxy, "--outbound-listen-addr", "nope"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn('--outbound-listen-addr="nope" is not valid', p.stderr.decode())


class Http2AndGrpc(unittest.TestCase):
    """h2c and gRPC through the proxy to trellis-demo-app: HTTP/2 is kept end to end and gRPC
    statuses land in response_total's grpc_status/classification labels."""

    @classmethod
    def setUpClass(cls):
        if not ARGS.app:
            raise unittest.SkipTest("--app not given")
        cls.ports = []
        for _ in range(2):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            cls.ports.append(s.getsockname()[1])
            s.close()
        cls.app = subprocess.Popen([ARGS.app, "serve", f"--http-port={cls.ports[0]}",
                                    f"--grpc-port={cls.ports[1]}", "--version=v9"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.ports[1]), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        cls.proxy = Proxy("services:\n  - name: app\n    ports:\n"
                          f"      - port: 80\n        endpoints: [{{address: 127.0.0.1:{cls.ports[0]}}}]\n"
                          f"      - port: 9090\n        endpoints: [{{address: 127.0.0.1:{cls.ports[1]}}}]\n")

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.app.terminate()
        cls.app.wait(30)

    def test_h2c_prior_knowledge(self):
        code, out, err = curl("--http2-prior-knowledge", "-H", "Host: app", f"http://{self.proxy.outbound}/h2")
        self.assertEqual(code, 0, err)
        self.assertIn('"version":"v9"', out)

    def test_grpc_unary_and_error_status(self):
        script = f"""
import grpc, json
ch = grpc.insecure_channel("{self.proxy.outbound}", options=[("grpc.default_authority", "app.default:9090")])
hello = ch.unary_unary("/trellis.demo.Demo/Hello", request_serializer=None, response_deserializer=None)
print(json.loads(hello(json.dumps({{"name": "mesh"}}).encode(), timeout=10))["message"])
try:
    ch.unary_unary("/trellis.demo.Demo/Nope", request_serializer=None, response_deserializer=None)(b"{{}}", timeout=10)
except grpc.RpcError as e:
    print(e.code().name)
"""
        p = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, timeout=60)
        if b"No module named 'grpc'" in p.stderr:
            self.skipTest("python3-grpcio is not installed")
        self.assertEqual(p.stdout.decode().split(), ["hello", "mesh", "UNIMPLEMENTED"], p.stderr.decode())
        self.assertEqual(self.proxy.metric("response_total", direction="outbound", grpc_status="0",
                                           classification="success"), 1)
        self.assertEqual(self.proxy.metric("response_total", direction="outbound", grpc_status="12",
                                           classification="failure"), 1)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--app")
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
