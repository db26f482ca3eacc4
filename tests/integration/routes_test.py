#!/usr/bin/env python3
"""Traffic policy on the proxy's request path (issue 5, contract C-9), without a control plane:
trellis-proxy reads its services and their TrafficPolicy (protobuf JSON) from a static discovery
file, trellis-demo-app instances are the backends. Retries within the budget, non-retryable POST,
route timeout -> 504 + l5d-proxy-error, a 900/100 split, header routing, mirroring, route metrics
and /config_dump."""

import argparse
import concurrent.futures
import http.client
import http.server
import json
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
DOMAIN = "default.svc.cluster.local"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DemoApp:
    def __init__(self, *args):
        self.port = free_port()
        self.proc = subprocess.Popen([ARGS.app, "serve", f"--http-port={self.port}",
                                      "--bind=127.0.0.1", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("demo app exited")
                time.sleep(0.05)
        raise RuntimeError("demo app did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Recorder:
    """An HTTP/1.1 server that counts the requests it receives (the mirror backend); `delay`
    seconds before each answer."""

    def __init__(self, delay=0.0):
        self.count = 0
        self.lock = threading.Lock()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with rec.lock:
                    rec.count += 1
                if delay:
                    time.sleep(delay)
                self.send_response(200)
                self.send_header("content-length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self):
        with self.lock:
            return self.count

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def authority(name):
    return f"{name}.{DOMAIN}:80"


def backend(name, weight=1):
    return {"authority": authority(name), "service": name, "namespace": "default", "port": 80,
            "weight": weight}


def path_regex(method, regex):
    return {"all": {"matches": [{"method": method}, {"path": {"regex": regex}}]}}


def service(name, port, policy=None):
    p = {"port": 80, "endpoints": [{"address": f"127.0.0.1:{port}"}]}
    if policy is not None:
        p["policy"] = policy
    return {"name": name, "namespace": "default", "ports": [p]}


class Proxy:
    def __init__(self, discovery):
        self.dir = tempfile.mkdtemp(prefix="trellis-routes-test-")
        self.discovery = os.path.join(self.dir, "discovery.yaml")
        with open(self.discovery, "w") as f:
            json.dump(discovery, f)  # JSON is YAML
        self.log_path = os.path.join(self.dir, "proxy.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [ARGS.proxy, "--mode", "ingress", "--discovery-file", self.discovery,
             "--inbound-listen-addr", "127.0.0.1:0", "--outbound-listen-addr", "127.0.0.1:0",
             "--admin-listen-addr", "127.0.0.1:0", "--workers", "2"],
            stdout=self.log, stderr=subprocess.STDOUT)
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

    def admin_get(self, path):
        with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=10) as r:
            return r.read().decode()

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels` ("" = label absent)."""
        total = 0.0
        for line in self.admin_get("/metrics").splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            series, value = line.rsplit(" ", 1)
            have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', series))
            if all(have.get(k, "") == v for k, v in labels.items()):
                total += float(value)
        return total

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Client:
    """A keep-alive HTTP/1.1 client to the proxy's outbound listener."""

    def __init__(self, address, timeout=10):
        host, port = address.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def request(self, method, host, path, headers=None, body=None):
        h = {"host": host, **(headers or {})}
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def close(self):
        self.conn.close()


class RoutesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.users = DemoApp("--version=users", "--seed=7",
                            "--route=/api/users:error-rate=0.3",
                            "--route=/api/slow:latency=10s",
                            "--route=/api/broken:status=500")
        cls.v1 = DemoApp("--version=v1")
        cls.v2 = DemoApp("--version=v2")
        cls.mirror = Recorder()
        cls.slow_mirror = Recorder(delay=10)
        users_policy = {
            "authority": authority("users"), "source": "SOURCE_SERVICE_PROFILE",
            "httpRoutes": [
                {"name": "GET /api/users", "matches": [path_regex("GET", "/api/users")],
                 "backends": [backend("users")],
                 "retry": {"enabled": True, "onClassifiedFailure": True}},
                {"name": "POST /api/users", "matches": [path_regex("POST", "/api/users")],
                 "backends": [backend("users")]},
                {"name": "GET /api/slow/{id}", "matches": [path_regex("GET", "/api/slow/[^/]*")],
                 "backends": [backend("users")], "timeouts": {"requestMs": 2000}},
            ],
            "defaultRoute": {"name": "default", "isDefault": True,
                             "backends": [backend("users")]},
            "retryBudget": {"retryRatio": 0.2, "minRetriesPerSecond": 10, "ttlMs": 10000},
        }
        broken_policy = {
            "httpRoutes": [
                {"name": "GET /api/broken", "matches": [path_regex("GET", "/api/broken")],
                 "backends": [backend("broken")],
                 "retry": {"enabled": True, "onClassifiedFailure": True}}],
        }
        split_policy = {
            "authority": authority("web"), "source": "SOURCE_SERVICE_PROFILE",
            "defaultRoute": {"name": "default", "isDefault": True,
                             "backends": [backend("web-v1", 900), backend("web-v2", 100)]},
        }
        api_policy = {
            "authority": authority("api"), "source": "SOURCE_ROUTES",
            "httpRoutes": [
                {"name": "v2", "matches": [{"all": {"matches": [
                    {"path": {"prefix": "/api"}},
                    {"header": {"name": "x-api-version", "exact": "v2"}}]}}],
                 "backends": [backend("web-v2")]},
                {"name": "v1", "matches": [{"path": {"prefix": "/api"}}],
                 "backends": [backend("web-v1")]},
            ],
        }

        def mirrored(target, numerator):
            return {
                "authority": authority("shadowed"), "source": "SOURCE_ROUTES",
                "defaultRoute": {"name": "default", "isDefault": True,
                                 "backends": [backend("web-v1")],
                                 "filters": [{"requestMirror": {
                                     "backend": backend(target), "numerator": numerator,
                                     "denominator": 100}}]},
            }

        shadow_slow = mirrored("slow-mirror", 100)
        shadow_slow["authority"] = authority("shadowed-slow")
        # The route's timeout bounds each copy too: the 10 s mirror's copies are abandoned at 3 s.
        shadow_slow["defaultRoute"]["timeouts"] = {"requestMs": 3000}
        cls.proxy = Proxy({"services": [
            service("users", cls.users.port, users_policy),
            service("broken", cls.users.port, broken_policy),
            service("web", cls.v1.port, split_policy),
            service("web-v1", cls.v1.port),
            service("web-v2", cls.v2.port),
            service("api", cls.v1.port, api_policy),
            service("shadowed", cls.v1.port, mirrored("mirror", 25)),
            service("shadowed-slow", cls.v1.port, shadow_slow),
            service("mirror", cls.mirror.port),
            service("slow-mirror", cls.slow_mirror.port),
        ]})

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        for app in (cls.users, cls.v1, cls.v2):
            app.stop()
        cls.mirror.stop()
        cls.slow_mirror.stop()

    def route_metric(self, name, dst, route, **labels):
        return self.proxy.metric(name, direction="outbound", dst=dst, rt_route=route, **labels)

    def test_get_retried_within_budget(self):
        n = 400
        client = Client(self.proxy.outbound)
        ok = 0
        for _ in range(n):
            status, _, _ = client.request("GET", "users", "/api/users")
            ok += status == 200
        client.close()
        # 30% of first attempts fail; retries (budget 20% + 10/s over 10 s) recover nearly all.
        self.assertGreaterEqual(ok, n * 0.95, f"{ok} of {n} succeeded")
        dst = authority("users")
        requests = self.route_metric("route_request_total", dst, "GET /api/users")
        actual = self.route_metric("route_actual_request_total", dst, "GET /api/users")
        self.assertEqual(requests, n)
        retries = actual - requests
        self.assertGreater(retries, n * 0.2)  # ~0.3/(1-0.3) of n were needed
        self.assertLessEqual(retries, 0.2 * n + 10 * 10 + 1)
        self.assertEqual(self.route_metric("route_response_total", dst, "GET /api/users",
                                           classification="success"), ok)
        self.assertGreater(self.route_metric("route_actual_response_total", dst,
                                             "GET /api/users", classification="failure",
                                             status_code="500"), 0)

    def test_budget_bounds_retries_of_an_always_failing_route(self):
        n = 200
        client = Client(self.proxy.outbound)
        for _ in range(n):
            status, _, _ = client.request("GET", "broken", "/api/broken")
            self.assertEqual(status, 500)
        client.close()
        dst = authority("broken")
        route = "GET /api/broken"
        retries = (self.route_metric("route_actual_request_total", dst, route) -
                   self.route_metric("route_request_total", dst, route))
        # One connection, one worker, one budget (defaults: 20% of the requests plus a reserve
        # of 10/s over 10 s): every request retries until the budget says no.
        self.assertGreaterEqual(retries, 100)
        self.assertLessEqual(retries, 0.2 * n + 100)
        self.assertEqual(self.route_metric("route_retryable_total", dst, route,
                                           skipped="no_budget"), n)

    def test_post_not_retried(self):
        n = 100
        client = Client(self.proxy.outbound)
        failed = 0
        for _ in range(n):
            status, _, _ = client.request("POST", "users", "/api/users", body=b"{}",
                                          headers={"content-type": "application/json"})
            failed += status == 500
        client.close()
        dst = authority("users")
        self.assertGreater(failed, 0)
        self.assertEqual(self.route_metric("route_request_total", dst, "POST /api/users"), n)
        self.assertEqual(self.route_metric("route_actual_request_total", dst, "POST /api/users"), n)
        self.assertEqual(self.route_metric("route_response_total", dst, "POST /api/users",
                                           status_code="500", classification="failure"), failed)

    def test_route_timeout_answers_504(self):
        client = Client(self.proxy.outbound, timeout=8)  # the app would take 10 s
        status, headers, _ = client.request("GET", "users", "/api/slow/42")
        client.close()
        self.assertEqual(status, 504)
        self.assertIn("timeout", headers.get("l5d-proxy-error", ""))
        self.assertEqual(self.route_metric("route_response_total", authority("users"),
                                           "GET /api/slow/{id}", status_code="504",
                                           error="timeout"), 1)

    def test_split_900_100(self):
        n = 10000

        def run(count):
            client = Client(self.proxy.outbound)
            seen = {}
            for _ in range(count):
                status, headers, _ = client.request("GET", "web", "/")
                key = headers.get("x-demo-version") if status == 200 else f"status {status}"
                seen[key] = seen.get(key, 0) + 1
            client.close()
            return seen

        totals = {}
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for seen in pool.map(run, [n // 4] * 4):
                for k, v in seen.items():
                    totals[k] = totals.get(k, 0) + v
        self.assertEqual(set(totals), {"v1", "v2"}, totals)
        self.assertAlmostEqual(totals["v1"] / n, 0.9, delta=0.02)
        # Attempts count under the backend's authority (the default route has no rt_route).
        self.assertEqual(self.proxy.metric("route_actual_request_total", direction="outbound",
                                           dst=authority("web-v2"), rt_route=""), totals["v2"])
        self.assertEqual(self.route_metric("route_request_total", authority("web"), ""), n)

    def test_header_match_routing(self):
        client = Client(self.proxy.outbound)
        for _ in range(20):
            _, h2, _ = client.request("GET", "api", "/api/items", {"x-api-version": "v2"})
            self.assertEqual(h2.get("x-demo-version"), "v2")
            _, h1, _ = client.request("GET", "api", "/api/items")
            self.assertEqual(h1.get("x-demo-version"), "v1")
            _, h3, _ = client.request("GET", "api", "/api/items", {"x-api-version": "v3"})
            self.assertEqual(h3.get("x-demo-version"), "v1")
        # No route matches and the policy has no default route: 404 from the proxy.
        status, headers, _ = client.request("GET", "api", "/other")
        client.close()
        self.assertEqual(status, 404)
        self.assertIn("l5d-proxy-error", headers)
        self.assertEqual(self.route_metric("route_request_total", authority("api"), "v2"), 20)
        self.assertEqual(self.route_metric("route_request_total", authority("api"), "v1"), 40)

    def test_mirror_share(self):
        n = 400
        client = Client(self.proxy.outbound)
        for _ in range(n):
            status, headers, _ = client.request("GET", "shadowed", "/")
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("x-demo-version"), "v1")
        client.close()
        # Mirrors are fire-and-forget: wait until the proxy has counted every one it sent.
        sent = self.proxy.metric("route_actual_request_total", dst=authority("mirror"))
        deadline = time.time() + 20
        while time.time() < deadline and self.mirror.received() < sent:
            time.sleep(0.05)
        self.assertEqual(self.mirror.received(), sent)
        # 25% of 400: binomial sd ~8.7, so +-40 fails only by a real bug.
        self.assertGreater(sent, 60)
        self.assertLess(sent, 140)

    def test_slow_mirror_does_not_delay_clients(self):
        # Every request is mirrored to a backend that answers after 10 s; each client request
        # has 2 s to complete (it would fail if it waited on the mirror).
        client = Client(self.proxy.outbound, timeout=2)
        for _ in range(10):
            status, headers, _ = client.request("GET", "shadowed-slow", "/")
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("x-demo-version"), "v1")
        client.close()
        deadline = time.time() + 10
        while time.time() < deadline and self.slow_mirror.received() < 10:
            time.sleep(0.05)
        self.assertEqual(self.slow_mirror.received(), 10)
        # Each copy is given up at the route's 3 s timeout, long before the mirror's 10 s answer.
        timed_out = lambda: self.proxy.metric("route_actual_response_total",
                                              dst=authority("slow-mirror"), error="timeout")
        deadline = time.time() + 8
        while time.time() < deadline and timed_out() < 10:
            time.sleep(0.1)
        self.assertEqual(timed_out(), 10)

    def test_config_dump_shows_policies(self):
        dump = json.loads(self.proxy.admin_get("/config_dump"))
        by_authority = {e["authority"]: e for e in dump["outbound"]}
        users = by_authority[authority("users")]
        self.assertEqual(users["source"], "static")
        self.assertEqual([r["name"] for r in users["policy"]["httpRoutes"]],
                         ["GET /api/users", "POST /api/users", "GET /api/slow/{id}"])
        self.assertEqual(users["policy"]["httpRoutes"][2]["timeouts"]["requestMs"], "2000")
        self.assertEqual(by_authority[authority("web-v1")]["source"], "default")
        self.assertIsNone(by_authority[authority("web-v1")]["policy"])
        self.assertIn(authority("web"), dump["inbound"]["authorities"])

    def test_inbound_route_metrics(self):
        # The inbound side matches the policy of the authority the request names.
        client = Client(self.proxy.inbound)
        before = self.proxy.metric("route_request_total", direction="inbound",
                                   dst=authority("api"), rt_route="v2")
        # Without an original destination the inbound listener has no application port: 404,
        # still counted under the route.
        status, _, _ = client.request("GET", authority("api"), "/api/x", {"x-api-version": "v2"})
        client.close()
        self.assertEqual(self.proxy.metric("route_request_total", direction="inbound",
                                           dst=authority("api"), rt_route="v2"), before + 1)
        self.assertEqual(self.proxy.metric("route_response_total", direction="inbound",
                                           dst=authority("api"), rt_route="v2",
                                           status_code=str(status)), 1)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--app", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
