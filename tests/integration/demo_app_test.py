#!/usr/bin/env python3
"""Integration tests for trellis-demo-app: real processes on 127.0.0.1 with curl, nghttp,
python3-grpcio and raw sockets as clients, two instances calling each other, load mode, and
SIGTERM handling."""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import grpc
except ImportError:
    # python3-grpcio is a Debian package: when `python3` is another interpreter (pyenv),
    # rerun under the system one, which has it.
    if (os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) !=
            os.path.realpath("/usr/bin/python3") and not os.environ.get("DEMO_APP_TEST_REEXEC")):
        os.environ["DEMO_APP_TEST_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    grpc = None

ARGS = None
HELLO = "/trellis.demo.Demo/Hello"
STREAM = "/trellis.demo.Demo/Stream"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class App:
    """One `trellis-demo-app serve` process on free loopback ports."""

    def __init__(self, *flags, grpc_port=False, tcp_port=False):
        self.http = free_port()
        self.grpc = free_port() if grpc_port else None
        self.tcp = free_port() if tcp_port else None
        cmd = [ARGS.app, "serve", "--bind=127.0.0.1", f"--http-port={self.http}"]
        if self.grpc:
            cmd.append(f"--grpc-port={self.grpc}")
        if self.tcp:
            cmd.append(f"--tcp-port={self.tcp}")
        cmd += list(flags)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        for p in (self.http, self.grpc, self.tcp):
            if p and not wait_port(p):
                self.stop()
                raise RuntimeError(f"app did not listen on {p}: {self.output()}")

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.http}{path}"

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def check_clean_exit(self):
        """Stops the app and fails unless it exited 0 without sanitizer reports."""
        rc = self.stop()
        out = self.output()
        if rc != 0 or "Sanitizer" in out or "runtime error:" in out:
            raise AssertionError(f"trellis-demo-app exited {rc}:\n{out}")

    def close(self):
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        try:
            if exc_type is None:
                self.check_clean_exit()
            else:
                self.stop()
        finally:
            self.close()


def curl(*args, timeout=30):
    p = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def get(app, path, method="GET", body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", app.http, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def grpc_frame(payload):
    return b"\0" + len(payload).to_bytes(4, "big") + payload


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = App("--version=v7", "--name=demo-a", "--route=/api/slow:latency=300ms",
                      "--route=/api/broken:status=503", "--route=/big:response-size=5000")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.app.check_clean_exit()
        finally:
            cls.app.close()

    def test_http1_json_document(self):
        rc, out, err = curl("-i", "-H", "l5d-client-id: web.demo.serviceaccount.identity.linkerd."
                            "cluster.local", "--data-binary", "abcdef", self.app.url("/hello?x=1"))
        self.assertEqual(rc, 0, err)
        head, _, body = out.partition("\r\n\r\n")
        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
        self.assertIn("x-demo-version: v7", head.lower())
        doc = json.loads(body)
        self.assertEqual(doc["version"], "v7")
        self.assertEqual(doc["name"], "demo-a")
        self.assertEqual(doc["method"], "POST")
        self.assertEqual(doc["path"], "/hello?x=1")
        self.assertEqual(doc["requestBytes"], 6)
        self.assertEqual(doc["clientId"],
                         "web.demo.serviceaccount.identity.linkerd.cluster.local")
        self.assertEqual(doc["upstreams"], [])

    def test_h2c_prior_knowledge(self):
        rc, out, err = curl("-i", "--http2-prior-knowledge", self.app.url("/x"))
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("HTTP/2 200"), out)
        self.assertEqual(json.loads(out.partition("\r\n\r\n")[2])["version"], "v7")
        rc, out, err = curl("-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                            "--http2-prior-knowledge", self.app.url("/status/503"))
        self.assertEqual(out, "503 2")

    def test_nghttp(self):
        if not shutil.which("nghttp"):
            self.skipTest("nghttp not installed")
        p = subprocess.run(["nghttp", "-v", self.app.url("/api/users")], capture_output=True,
                           timeout=30)
        out = p.stdout.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn(":status: 200", out)
        self.assertIn("x-demo-version: v7", out)
        self.assertIn('"path":"/api/users"', out)

    def test_health_status_delay(self):
        self.assertEqual(get(self.app, "/ready")[0], 200)
        self.assertEqual(get(self.app, "/live")[2], b"ok\n")
        self.assertEqual(get(self.app, "/status/418")[0], 418)
        start = time.time()
        status, _, _ = get(self.app, "/delay/300ms")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.time() - start, 0.29)

    def test_route_overrides(self):
        start = time.time()
        self.assertEqual(get(self.app, "/api/slow/1")[0], 200)
        self.assertGreaterEqual(time.time() - start, 0.29)
        status, headers, body = get(self.app, "/api/broken")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["error"], "injected")
        status, _, body = get(self.app, "/big/x")
        self.assertEqual(len(body), 5001)  # 5000 bytes of JSON and a newline
        self.assertEqual(json.loads(body)["path"], "/big/x")

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.app.http, timeout=10)
        for i in range(20):
            conn.request("GET", f"/k{i}")
            r = conn.getresponse()
            self.assertEqual(json.loads(r.read())["path"], f"/k{i}")
        conn.close()


class ErrorRateTest(unittest.TestCase):
    def test_thousand_requests_at_thirty_percent(self):
        with App("--error-rate=0.3", "--seed=7") as app:
            conn = http.client.HTTPConnection("127.0.0.1", app.http, timeout=10)
            counts = {}
            for _ in range(1000):
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
                counts[r.status] = counts.get(r.status, 0) + 1
            conn.close()
            self.assertEqual(set(counts), {200, 500})
            self.assertGreaterEqual(counts[500], 250, counts)
            self.assertLessEqual(counts[500], 350, counts)
            # /ready is never failed by injection.
            self.assertTrue(all(get(app, "/ready")[0] == 200 for _ in range(20)))


@unittest.skipIf(grpc is None, "python3-grpcio not installed")
class GrpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = App("--version=v3", "--name=catalog-0",
                      "--route=/trellis.demo.Demo/Stream:latency=0s", grpc_port=True)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.app.grpc}")

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        try:
            cls.app.check_clean_exit()
        finally:
            cls.app.close()

    def hello(self, channel=None):
        return (channel or self.channel).unary_unary(HELLO, request_serializer=None,
                                                     response_deserializer=None)

    def test_hello(self):
        reply = json.loads(self.hello()(b'{"name":"x"}', timeout=10))
        self.assertEqual(reply, {"version": "v3", "name": "catalog-0", "message": "hello x",
                                 "index": 0})

    def test_hello_on_the_http_port(self):
        with grpc.insecure_channel(f"127.0.0.1:{self.app.http}") as ch:
            self.assertEqual(json.loads(self.hello(ch)(b"{}", timeout=10))["message"],
                             "hello world")

    def test_stream(self):
        stream = self.channel.unary_stream(STREAM, request_serializer=None,
                                           response_deserializer=None)
        replies = [json.loads(m) for m in stream(b'{"name":"s","count":5}', timeout=10)]
        self.assertEqual([r["index"] for r in replies], [0, 1, 2, 3, 4])
        self.assertTrue(all(r["message"] == "hello s" for r in replies))

    def test_unknown_method_and_bad_request(self):
        bad = self.channel.unary_unary("/trellis.demo.Demo/Nope", request_serializer=None,
                                       response_deserializer=None)
        with self.assertRaises(grpc.RpcError) as e:
            bad(b"{}", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        with self.assertRaises(grpc.RpcError) as e:
            self.hello()(b"not json", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_error_injection_and_deadline(self):
        with App("--error-rate=1", grpc_port=True) as failing, \
                grpc.insecure_channel(f"127.0.0.1:{failing.grpc}") as ch:
            with self.assertRaises(grpc.RpcError) as e:
                self.hello(ch)(b"{}", timeout=10)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        with App("--latency=2s", grpc_port=True) as slow, \
                grpc.insecure_channel(f"127.0.0.1:{slow.grpc}") as ch:
            with self.assertRaises(grpc.RpcError) as e:
                self.hello(ch)(b"{}", timeout=0.3)
            self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            # The server itself answers DEADLINE_EXCEEDED (trailers-only) at the deadline.
            start = time.time()
            with tempfile.NamedTemporaryFile() as body:
                body.write(grpc_frame(b"{}"))
                body.flush()
                rc, out, err = curl("-i", "--http2-prior-knowledge", "-H",
                                    "content-type: application/grpc", "-H", "te: trailers", "-H",
                                    "grpc-timeout: 200m", "--data-binary", f"@{body.name}",
                                    f"http://127.0.0.1:{slow.grpc}{HELLO}")
            self.assertEqual(rc, 0, err)
            self.assertIn("grpc-status: 4", out)
            self.assertLess(time.time() - start, 1.5)


class TcpTest(unittest.TestCase):
    def test_echo_with_banner(self):
        with App("--tcp-banner=SSH-2.0-trellis-demo", tcp_port=True) as app:
            with socket.create_connection(("127.0.0.1", app.tcp), timeout=10) as s:
                # Server speaks first: the banner arrives before we send anything.
                self.assertEqual(s.recv(100), b"SSH-2.0-trellis-demo\n")
                s.sendall(b"ping 1\n")
                self.assertEqual(s.recv(100), b"ping 1\n")
                s.shutdown(socket.SHUT_WR)
                self.assertEqual(s.recv(100), b"")  # echo closes after our FIN

    def test_echo_without_banner(self):
        with App(tcp_port=True) as app:
            with socket.create_connection(("127.0.0.1", app.tcp), timeout=10) as s:
                data = os.urandom(100000)
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                self.assertEqual(got, data)


class UpstreamTest(unittest.TestCase):
    def test_frontend_calls_http_and_grpc_upstreams(self):
        with App("--version=v1", "--name=backend", grpc_port=True) as backend:
            with App("--version=frontend", f"--upstream=http://localhost:{backend.http}/api/users",
                     f"--upstream=grpc://127.0.0.1:{backend.grpc}") as frontend:
                for path in ("/", "/api/x"):
                    status, _, body = get(frontend, path)
                    self.assertEqual(status, 200, body)
                    doc = json.loads(body)
                    self.assertEqual(doc["version"], "frontend")
                    ups = doc["upstreams"]
                    self.assertEqual([u["url"] for u in ups],
                                     [f"http://localhost:{backend.http}/api/users",
                                      f"grpc://127.0.0.1:{backend.grpc}"])
                    self.assertTrue(all(u["ok"] and u["version"] == "v1" for u in ups), ups)
                    self.assertEqual(ups[1]["grpcStatus"], 0)
                # Other paths do not call upstreams.
                self.assertEqual(json.loads(get(frontend, "/other")[2])["upstreams"], [])
                self.assertEqual(backend.stop(), 0)
                status, _, body = get(frontend, "/")
                self.assertEqual(status, 502, body)
                self.assertEqual(json.loads(body)["error"], "upstream")

    def test_upstream_errors_tolerated(self):
        with App("--error-rate=1") as backend, \
                App(f"--upstream=http://127.0.0.1:{backend.http}/", "--tolerate-upstream-errors") \
                as frontend:
            status, _, body = get(frontend, "/")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["upstreams"][0]["status"], 500)
            self.assertFalse(json.loads(body)["upstreams"][0]["ok"])


SUMMARY = re.compile(r"load (done|report): target=(\S+) elapsed=\S+ requests=(\d+) success=(\d+) "
                     r"failures=(\d+) \(([^)]*)\) skipped=(\d+) p50=([\d.]+)ms p99=([\d.]+)ms")


def run_load(*flags, timeout=60):
    p = subprocess.run([ARGS.app, "load", *flags], capture_output=True, timeout=timeout)
    lines = [SUMMARY.search(line) for line in p.stdout.decode().splitlines()]
    out = p.stdout.decode() + p.stderr.decode()
    if "Sanitizer" in out or "runtime error:" in out:
        raise AssertionError(f"sanitizer report from load mode:\n{out}")
    return p.returncode, [m for m in lines if m], out


class LoadTest(unittest.TestCase):
    def test_http_load_counts(self):
        with App() as app:
            rc, lines, out = run_load(f"--target={app.url('/')}", "--rate=50", "--duration=2s",
                                      "--report-interval=1s")
            self.assertEqual(rc, 0, out)
            done = [m for m in lines if m.group(1) == "done"]
            self.assertEqual(len(done), 1, out)
            self.assertGreaterEqual(len([m for m in lines if m.group(1) == "report"]), 1, out)
            requests, success = int(done[0].group(3)), int(done[0].group(4))
            self.assertGreaterEqual(requests, 90, out)
            self.assertLessEqual(requests, 101, out)
            self.assertEqual(success, requests, out)

    def test_grpc_load(self):
        with App(grpc_port=True) as app:
            rc, lines, out = run_load(f"--target=grpc://127.0.0.1:{app.grpc}", "--rate=40",
                                      "--duration=1s")
            self.assertEqual(rc, 0, out)
            self.assertGreaterEqual(int(lines[-1].group(4)), 35, out)
            self.assertEqual(lines[-1].group(5), "0", out)

    def test_failures_by_status_and_max_failures(self):
        with App("--error-rate=1") as app:
            rc, lines, out = run_load(f"--target={app.url('/')}", "--rate=100", "--duration=5s",
                                      "--max-failures=5")
            self.assertEqual(rc, 1, out)
            self.assertIn("exceed --max-failures=5", out)
            last = lines[-1]
            self.assertEqual(last.group(4), "0")
            self.assertRegex(last.group(6), r"^500=\d+$")
            self.assertGreater(int(last.group(5)), 5)
        # Nothing listening: connection failures are counted, not fatal without --max-failures.
        rc, lines, out = run_load(f"--target=http://127.0.0.1:{free_port()}/", "--rate=20",
                                  "--duration=500ms")
        self.assertEqual(rc, 0, out)
        self.assertIn("connect=", lines[-1].group(6))

    def test_sigterm_exits_zero_with_summary(self):
        with App() as app:
            p = subprocess.Popen([ARGS.app, "load", f"--target={app.url('/')}", "--rate=20"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            time.sleep(1.0)
            p.send_signal(signal.SIGTERM)
            out, _ = p.communicate(timeout=20)
            self.assertEqual(p.returncode, 0, out)
            self.assertNotIn(b"Sanitizer", out)
            m = SUMMARY.search(out.decode())
            self.assertIsNotNone(m, out)
            self.assertEqual(m.group(1), "done")
            self.assertGreaterEqual(int(m.group(3)), 10)


class LifecycleTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight_requests(self):
        app = App()
        results = {}

        def slow(key, path, h2=False):
            args = ["--http2-prior-knowledge"] if h2 else []
            results[key] = curl("-o", "/dev/null", "-w", "%{http_code}", *args, app.url(path))

        threads = [threading.Thread(target=slow, args=("h1", "/delay/1s")),
                   threading.Thread(target=slow, args=("h2", "/delay/1s", True))]
        for t in threads:
            t.start()
        time.sleep(0.4)
        start = time.time()
        app.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        # No longer accepting.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", app.http), timeout=2).close()
        for t in threads:
            t.join(30)
        self.assertEqual(results["h1"][1], "200", results)
        self.assertEqual(results["h2"][1], "200", results)
        self.assertEqual(app.proc.wait(20), 0, app.output())
        app.check_clean_exit()
        self.assertLess(time.time() - start, 10)
        app.close()

    def test_idle_server_exits_promptly(self):
        app = App(grpc_port=True, tcp_port=True)
        # An idle keep-alive connection must not hold the shutdown up.
        idle = socket.create_connection(("127.0.0.1", app.http))
        idle.sendall(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        idle.recv(4096)
        start = time.time()
        self.assertEqual(app.stop(), 0, app.output())
        self.assertLess(time.time() - start, 5)
        app.check_clean_exit()
        idle.close()
        app.close()

    def test_bad_flags(self):
        p = subprocess.run([ARGS.app, "serve", "--error-rate=2", "--route=/x"],
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--error-rate", p.stderr.decode())
        self.assertIn("--route", p.stderr.decode())
        p = subprocess.run([ARGS.app, "frobnicate"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([ARGS.app, "serve", "--help"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--upstream", p.stdout.decode())

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            p = subprocess.run([ARGS.app, "serve", "--bind=127.0.0.1", f"--http-port={port}"],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 1)
            self.assertIn("cannot listen", p.stdout.decode() + p.stderr.decode())

    def test_threads(self):
        with App("--threads=3", "--version=mt") as app:
            self.assertTrue(all(json.loads(get(app, f"/{i}")[2])["version"] == "mt"
                                for i in range(30)))


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
