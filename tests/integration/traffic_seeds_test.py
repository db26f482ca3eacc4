#!/usr/bin/env python3
"""End-to-end tests of the seed documents' traffic management (issue 5, contract C-9).

A real trellis-control serves a store directory holding the seed manifests as the documents
write them (tests/fixtures/seeds/, extracted from ../shared/seeds). The only additions are what
a test must add: Namespaces, and Services with Endpoints that point at loopback
trellis-demo-app instances (or a counting Python server). A client-side trellis-proxy in ingress
mode, with an identity from the control plane's token, sends the requests: it resolves the Host
header through Destination.Get and executes the policy that Destination.GetProfile delivers.

Cases (issue 5):
  Template3  ServiceProfile with retries: 30 % injected 500s -> GET /api/users succeeds thanks
             to retries, retries stay within the retry budget (route_actual_* - route_*);
             POST /api/users is never retried; a slow GET /api/users/{id} answers 504 with
             l5d-proxy-error after the 5 s route timeout; a backend that always fails shows the
             budget capping retries.
  Splits     Template 4 (v1alpha1 900m/100m) and the third seed (v1alpha2 `trafficRouting`
             form): 90 % +- 2 % over 10,000 requests; the third seed's full rollout (0m/1000m)
             written into the store while load runs: no failed request, everything to v2.
  Template6  HTTPRoute: /api/v2 -> v2, /api -> v1; the header-only rule as Gateway API
             precedence executes it, then fixed the way `trellis validate` says.
  Mirror     HTTPRoute RequestMirror: the shadow backend sees the configured share; the client
             never waits for it.
"""

import argparse
import http.client
import http.server
import json
import os
import re
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

ARGS = None
CLIENT_NS = "clients"
CLIENT_ID = f"default.{CLIENT_NS}.serviceaccount.identity.linkerd.cluster.local"


def seed(name):
    with open(os.path.join(ARGS.source, "tests", "fixtures", "seeds", name)) as f:
        return f.read()


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def replace(path, content):
    """Atomic write, as an editor or `kubectl apply` would change the store."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(content)
    os.rename(tmp, path)


def http_get(addr, path, timeout=10):
    try:
        with urllib.request.urlopen(f"http://{addr}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def wait_for(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def stop_process(proc, timeout=15):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- manifests added by the tests ---------------------------------------------------------

def namespace(name):
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n---\n"


def service(name, ns, port, backends):
    """A Service without selector plus its Endpoints: one subset per (ip, port) backend."""
    subsets = "".join(f"  - addresses: [{{ip: \"{ip}\"}}]\n    ports: [{{port: {p}}}]\n"
                      for ip, p in backends)
    text = (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
            f"spec:\n  ports:\n  - port: {port}\n---\n")
    if backends:
        text += (f"apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
                 f"subsets:\n{subsets}---\n")
    return text


# ---- processes -----------------------------------------------------------------------------

class ControlPlane:
    def __init__(self, d, files):
        self.d = d
        self.store = os.path.join(d, "store")
        os.makedirs(self.store)
        self.ca_dir = os.path.join(d, "ca")
        subprocess.run([ARGS.trellis, "install-ca", "--dir", self.ca_dir], check=True,
                       capture_output=True, timeout=60)
        files = dict(files)
        files["00-clients.yaml"] = namespace(CLIENT_NS)
        for name, text in files.items():
            self.write(name, text)
        self.log_path = os.path.join(d, "control.log")
        self.log = open(self.log_path, "wb")
        self.tokens = os.path.join(d, "tokens")
        self.proc = subprocess.Popen(
            [ARGS.control, "--store-dir", self.store, "--ca-dir", self.ca_dir,
             "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
             "--token-dir", self.tokens, "--token-key-file", os.path.join(d, "token.key")],
            stdout=self.log, stderr=subprocess.STDOUT)
        m = wait_for(lambda: self.proc.poll() is None and re.search(
            r"control plane ready: grpc (\S+), admin (\S+)", read(self.log_path)), 60)
        if not m:
            self.stop()
            raise AssertionError("trellis-control did not start:\n" + read(self.log_path))
        self.grpc, self.admin = m.group(1), m.group(2)
        self.token = os.path.join(self.tokens, CLIENT_NS, "default", "token")
        if not wait_for(lambda: os.path.exists(self.token), 30):
            raise AssertionError("no token for the client:\n" + read(self.log_path))

    def write(self, name, text):
        replace(os.path.join(self.store, name), text)

    def profile(self, authority):
        status, body = http_get(self.admin, "/api/v1/profile?path=" +
                                urllib.parse.quote(authority, safe="") + "&ns=" + CLIENT_NS)
        return json.loads(body) if status == 200 else None

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class Proxy:
    def __init__(self, d, control):
        self.log_path = os.path.join(d, "proxy.log")
        self.log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_PROXY_")}
        env.update({
            "TRELLIS_PROXY_INBOUND_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_OUTBOUND_LISTEN_ADDR": "127.0.0.1:0",
            "TRELLIS_PROXY_ADMIN_LISTEN_ADDR": "127.0.0.1:0",
            # One worker: one retry budget, and a policy change reaches every request at once.
            "TRELLIS_PROXY_WORKERS": "1",
            "TRELLIS_PROXY_SHUTDOWN_GRACE_PERIOD": "1s",
            "TRELLIS_PROXY_MODE": "ingress",
            "TRELLIS_PROXY_CONTROL_ADDR": control.grpc,
            "TRELLIS_PROXY_IDENTITY_NAME": CLIENT_ID,
            "TRELLIS_PROXY_IDENTITY_TOKEN_FILE": control.token,
            "TRELLIS_PROXY_TRUST_ANCHORS_FILE": os.path.join(control.ca_dir, "ca.crt"),
            "TRELLIS_PROXY_NAMESPACE": CLIENT_NS,
            "TRELLIS_PROXY_LOG_LEVEL": os.environ.get("SEEDS_PROXY_LOG_LEVEL", "info"),
        })
        self.proc = subprocess.Popen([ARGS.proxy], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        m = wait_for(lambda: self.proc.poll() is None and re.search(
            r"proxy ready: inbound (\S+), outbound (\S+), admin (\S+),", read(self.log_path)), 30)
        if not m:
            self.stop()
            raise AssertionError("trellis-proxy did not start:\n" + read(self.log_path))
        self.outbound, self.admin = m.group(2), m.group(3)
        if not wait_for(lambda: http_get(self.admin, "/ready")[0] == 200, 30):
            raise AssertionError("trellis-proxy not ready:\n" + read(self.log_path))

    def output(self):
        return read(self.log_path)

    def metrics(self):
        """[(name, labels, value)] from the Prometheus text."""
        out = []
        for line in http_get(self.admin, "/metrics")[1].splitlines():
            m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$", line)
            if not m:
                continue
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
        return out

    def route_count(self, name, rt_route):
        """Sum of an outbound route counter over every dst (actual_* count per backend)."""
        return sum(v for n, labels, v in self.metrics()
                   if n == name and labels.get("rt_route") == rt_route
                   and labels.get("direction", "outbound") == "outbound")

    def policy(self, authority):
        """The policy the proxy holds for an authority (config_dump, C-9), or None."""
        status, body = http_get(self.admin, "/config_dump")
        if status != 200:
            return None
        try:
            dump = json.loads(body)
        except ValueError:
            return None
        for entry in dump.get("outbound") or []:
            if entry.get("authority") == authority and entry.get("source") == "control":
                return entry.get("policy")
        return None

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class DemoApp:
    def __init__(self, d, name, *flags):
        self.log_path = os.path.join(d, f"app-{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [ARGS.app, "serve", "--bind=127.0.0.1", "--http-port=0", f"--name={name}", *flags],
            stdout=self.log, stderr=subprocess.STDOUT)
        m = wait_for(lambda: self.proc.poll() is None and re.search(
            r"listening on \S+: http=(\d+)", read(self.log_path)), 30)
        if not m:
            self.stop()
            raise AssertionError(f"demo app {name} did not start:\n" + read(self.log_path))
        self.port = int(m.group(1))
        self.backend = ("127.0.0.1", self.port)

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class CountingServer:
    """Counts the requests it receives; answers after `delay` seconds."""

    def __init__(self):
        self.count = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with owner.lock:
                    owner.count += 1
                    delay = owner.delay
                if delay:
                    time.sleep(delay)
                body = b'{"version":"shadow"}\n'
                try:
                    self.send_response(200)
                    self.send_header("content-length", str(len(body)))
                    self.send_header("x-demo-version", "shadow")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the proxy may give up on a mirror's response: it is discarded anyway

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.backend = ("127.0.0.1", self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def seen(self):
        with self.lock:
            return self.count

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---- the client side -----------------------------------------------------------------------

class Client:
    """One keep-alive HTTP/1.1 connection to the proxy's outbound listener."""

    def __init__(self, proxy, timeout=30):
        self.host, port = proxy.outbound.rsplit(":", 1)
        self.port = int(port)
        self.timeout = timeout
        self.conn = None

    def request(self, method, authority, path, headers=None, body=None):
        """(status, headers dict lower-case, body text); status 0 on a transport error."""
        h = {"Host": authority}
        h.update(headers or {})
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read().decode(errors="replace")
                out = (r.status, {k.lower(): v for k, v in r.getheaders()}, data)
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return out
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                # A keep-alive connection the proxy closed between requests: reconnect once.
                self.close()
                if attempt == 1:
                    return 0, {}, str(e)
            except OSError as e:
                self.close()
                return 0, {}, str(e)
        return 0, {}, "unreachable"

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def version_of(response):
    status, headers, _ = response
    return headers.get("x-demo-version", f"status {status}")


def run_load(proxy, authority, path, total, threads=4, headers=None):
    """Sends `total` GETs over `threads` keep-alive connections; returns the responses."""
    results = [None] * total
    next_index = [0]
    lock = threading.Lock()

    def worker():
        c = Client(proxy)
        try:
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= total:
                    return
                results[i] = c.request("GET", authority, path, headers)
        finally:
            c.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


class TrafficTest(unittest.TestCase):
    """Starts the control plane with `files()`, the demo apps of `apps()` and a client proxy."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.d = cls.tmp.name
        cls.apps = {}
        cls.control = cls.proxy = None
        try:
            cls.start_apps()
            cls.control = ControlPlane(cls.d, cls.files())
            cls.proxy = Proxy(cls.d, cls.control)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.proxy:
            cls.proxy.stop()
        if cls.control:
            cls.control.stop()
        for app in cls.apps.values():
            app.stop()
        cls.tmp.cleanup()

    def logs(self):
        return ("\n--- proxy ---\n" + self.proxy.output()[-6000:] + "\n--- control ---\n" +
                read(self.control.log_path)[-3000:])

    def wait_policy(self, authority, *needles, check=None, warmup_path="/"):
        """Waits until the proxy executes the control plane's policy for `authority` whose
        JSON contains every needle (compared without case and underscores, so either protobuf
        JSON name style works) and satisfies `check`, sending a request now and then
        (discovery starts with the first request)."""
        client = Client(self.proxy, timeout=10)

        def norm(text):
            return text.lower().replace("_", "")

        def ready():
            policy = self.proxy.policy(authority)
            if policy is not None:
                text = norm(json.dumps(policy))
                if all(norm(n) in text for n in needles) and (check is None or check(policy)):
                    return policy
            client.request("GET", authority, warmup_path)
            return None

        try:
            policy = wait_for(ready, 30, interval=0.2)
        finally:
            client.close()
        self.assertIsNotNone(policy, f"the proxy never executed the policy for {authority} "
                             f"with {needles}; the proxy has {self.proxy.policy(authority)}; "
                             f"the control plane says {self.control.profile(authority)}" +
                             self.logs())
        return policy


def field(obj, camel):
    """A protobuf JSON field by its lowerCamelCase or its proto name."""
    if not isinstance(obj, dict):
        return None
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def default_weights(policy):
    """{backend authority: weight} of the policy's default route."""
    route = field(policy, "defaultRoute") or {}
    return {b.get("authority"): int(b.get("weight", 0)) for b in field(route, "backends") or []}


# ---- seed template 3: ServiceProfile with retries ------------------------------------------

T3_AUTHORITY = "my-service.my-namespace.svc.cluster.local:80"


class Template3(TrafficTest):
    """Template 3 verbatim. my-service has two endpoints (retries may use either), each with
    30 % injected 500s; paths under /api/users/ are slow (20 s) and never fail."""

    @classmethod
    def start_apps(cls):
        for i in (1, 2):
            cls.apps[f"flaky{i}"] = DemoApp(cls.d, f"flaky{i}", "--version=v1",
                                            "--error-rate=0.3", f"--seed={i}",
                                            "--route=/api/users/:latency=20s,error-rate=0")
        for i in (1, 2):
            cls.apps[f"broken{i}"] = DemoApp(cls.d, f"broken{i}", "--version=broken",
                                             "--error-rate=1")

    @classmethod
    def files(cls):
        return {"10-namespace.yaml": namespace("my-namespace"),
                "20-service.yaml": cls.my_service(["flaky1", "flaky2"]),
                "30-profile.yaml": seed("000-template3-service-profile.yaml")}

    @classmethod
    def my_service(cls, apps):
        return service("my-service", "my-namespace", 80, [cls.apps[a].backend for a in apps])

    def setUp(self):
        self.wait_policy(T3_AUTHORITY, "GET /api/users", "POST /api/users", warmup_path="/")

    def test_1_get_succeeds_thanks_to_retries_within_the_budget(self):
        route = "GET /api/users"
        before_req = self.proxy.route_count("route_request_total", route)
        before_actual = self.proxy.route_count("route_actual_request_total", route)
        # A moderate rate (about 25 requests per second), so the budget's 10 retries per second
        # plus 20 % of the requests cover the ~43 % extra attempts that 30 % failures need.
        failures_before = self.failed_attempts(route)
        client = Client(self.proxy)
        statuses = []
        started = time.monotonic()
        for _ in range(200):
            statuses.append(client.request("GET", T3_AUTHORITY, "/api/users")[0])
            time.sleep(0.04)
        elapsed = time.monotonic() - started
        client.close()
        ok = statuses.count(200)
        self.assertGreaterEqual(ok, 196, f"statuses {sorted(set(statuses))}: {ok}/200 succeeded"
                                + self.logs())
        requests = self.proxy.route_count("route_request_total", route) - before_req
        actual = self.proxy.route_count("route_actual_request_total", route) - before_actual
        retries = actual - requests
        self.assertEqual(requests, 200, "route_request_total{rt_route=\"GET /api/users\"}")
        # 30 % of the 200 first attempts fail: retries happened (about 86 expected) ...
        self.assertGreaterEqual(retries, 30, f"actual {actual}, requests {requests}")
        # ... and stayed within the budget: 20 % of the requests plus 10 per second over the
        # run and the 10 s ttl.
        budget = 0.2 * requests + 10 * (elapsed + 10)
        self.assertLessEqual(retries, budget, f"actual {actual}, requests {requests}")
        # Every attempt's response is counted with its classification: each retry follows a
        # failed attempt, and the requests that still failed end with one.
        failed_attempts = self.failed_attempts(route) - failures_before
        self.assertEqual(failed_attempts, retries + (200 - ok))

    def failed_attempts(self, route):
        return sum(v for n, labels, v in self.proxy.metrics()
                   if n == "route_actual_response_total" and labels.get("rt_route") == route
                   and labels.get("classification") == "failure")

    def test_2_post_is_not_retried(self):
        route = "POST /api/users"
        before_req = self.proxy.route_count("route_request_total", route)
        before_actual = self.proxy.route_count("route_actual_request_total", route)
        client = Client(self.proxy)
        statuses = [client.request("POST", T3_AUTHORITY, "/api/users",
                                   {"content-type": "application/json"}, '{"name":"x"}')[0]
                    for _ in range(200)]
        client.close()
        failed = statuses.count(500)
        self.assertEqual(failed + statuses.count(200), 200, sorted(set(statuses)))
        # The injected 30 % reach the client (binomial: 60 +- 6.5; 6 sigma bounds).
        self.assertGreaterEqual(failed, 21, statuses)
        self.assertLessEqual(failed, 99, statuses)
        requests = self.proxy.route_count("route_request_total", route) - before_req
        actual = self.proxy.route_count("route_actual_request_total", route) - before_actual
        self.assertEqual(requests, 200)
        self.assertEqual(actual, requests, "a POST was retried")

    def test_3_slow_get_by_id_times_out_with_504_after_5s(self):
        client = Client(self.proxy, timeout=60)
        started = time.monotonic()
        status, headers, body = client.request("GET", T3_AUTHORITY, "/api/users/42")
        elapsed = time.monotonic() - started
        client.close()
        self.assertEqual(status, 504, body + self.logs())
        self.assertIn("l5d-proxy-error", headers, headers)
        # The route's 5 s timeout, not the app's 20 s latency.
        self.assertGreaterEqual(elapsed, 4.9)
        self.assertLess(elapsed, 15)
        counted = sum(v for n, labels, v in self.proxy.metrics()
                      if n == "route_response_total"
                      and labels.get("rt_route") == "GET /api/users/{id}"
                      and labels.get("status_code") == "504")
        self.assertEqual(counted, 1)

    def test_4_budget_caps_retries_when_every_attempt_fails(self):
        route = "GET /api/users"
        started = time.monotonic()
        self.control.write("20-service.yaml", self.my_service(["broken1", "broken2"]))
        try:
            probe = Client(self.proxy, timeout=10)
            self.assertTrue(wait_for(lambda: '"broken' in probe.request(
                "GET", T3_AUTHORITY, "/probe")[2], 30), self.logs())
            probe.close()
            before_req = self.proxy.route_count("route_request_total", route)
            before_actual = self.proxy.route_count("route_actual_request_total", route)
            results = run_load(self.proxy, T3_AUTHORITY, "/api/users", 400)
            elapsed = time.monotonic() - started
            statuses = [r[0] for r in results]
            # Without a budget these requests would retry forever (isRetryable, no limit).
            self.assertEqual(statuses.count(500), 400, sorted(set(statuses)))
            requests = self.proxy.route_count("route_request_total", route) - before_req
            actual = self.proxy.route_count("route_actual_request_total", route) - before_actual
            retries = actual - requests
            self.assertEqual(requests, 400)
            self.assertGreater(retries, 0)
            # Deposits of 20 % of every request in the 10 s window (test 1's included) plus
            # the 10 per second reserve.
            total_requests = self.proxy.route_count("route_request_total", route)
            self.assertLessEqual(retries, 0.2 * total_requests + 10 * (elapsed + 10),
                                 f"{retries} retries for {requests} requests")
        finally:
            self.control.write("20-service.yaml", self.my_service(["flaky1", "flaky2"]))


# ---- seed template 4 and the third seed: TrafficSplit --------------------------------------

T4_AUTHORITY = "my-service.my-namespace.svc.cluster.local:80"
S2_AUTHORITY = "my-app.default.svc.cluster.local:80"


class Splits(TrafficTest):
    @classmethod
    def start_apps(cls):
        for name in ("apex", "stable", "canary", "app-apex", "app-v1", "app-v2"):
            version = {"apex": "apex", "stable": "v1", "canary": "v2", "app-apex": "apex",
                       "app-v1": "v1", "app-v2": "v2"}[name]
            cls.apps[name] = DemoApp(cls.d, name, f"--version={version}")

    @classmethod
    def files(cls):
        a = cls.apps
        return {
            "10-namespace.yaml": namespace("my-namespace"),
            # Template 4's Services, which the document assumes exist. The apex has its own
            # endpoint: anything that reaches it was not split.
            "20-services.yaml": service("my-service", "my-namespace", 80, [a["apex"].backend]) +
                                service("my-service-stable", "my-namespace", 80,
                                        [a["stable"].backend]) +
                                service("my-service-canary", "my-namespace", 80,
                                        [a["canary"].backend]),
            "30-template4.yaml": seed("000-template4-traffic-split.yaml"),
            # The third seed's `my-app` Service selects pods labelled version v2 on port 8080;
            # it is replaced here by the same Service pointing at a loopback app, and the
            # my-app-v1 / my-app-v2 Services the split names (the document never defines them:
            # its "service-v2.yaml" is another my-app) are added.
            "40-seed2-services.yaml": service("my-app", "default", 80, [a["app-apex"].backend]) +
                                      service("my-app-v1", "default", 80, [a["app-v1"].backend]) +
                                      service("my-app-v2", "default", 80, [a["app-v2"].backend]),
            "50-seed2-split.yaml": seed("002-traffic-split-90-10.yaml"),
        }

    def check_ninety_ten(self, authority, v1, v2):
        self.wait_policy(authority, check=lambda p: default_weights(p) == {v1: 900, v2: 100})
        results = run_load(self.proxy, authority, "/api", 10000)
        versions = {}
        for r in results:
            versions[version_of(r)] = versions.get(version_of(r), 0) + 1
        self.assertEqual(set(versions) - {"v1", "v2"}, set(), versions)
        self.assertAlmostEqual(versions.get("v1", 0) / 10000, 0.9, delta=0.02, msg=versions)
        self.assertAlmostEqual(versions.get("v2", 0) / 10000, 0.1, delta=0.02, msg=versions)

    def test_template4_ninety_ten(self):
        self.check_ninety_ten(T4_AUTHORITY, "my-service-stable.my-namespace.svc.cluster.local:80",
                              "my-service-canary.my-namespace.svc.cluster.local:80")

    def test_seed2_ninety_ten_then_full_rollout_under_load(self):
        v1, v2 = "my-app-v1.default.svc.cluster.local:80", "my-app-v2.default.svc.cluster.local:80"
        self.check_ninety_ten(S2_AUTHORITY, v1, v2)
        # Load keeps running while the store file is rewritten with the full rollout.
        records = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker():
            c = Client(self.proxy)
            try:
                while not stop.is_set():
                    t = time.monotonic()
                    r = c.request("GET", S2_AUTHORITY, "/api")
                    with lock:
                        records.append((t, r[0], version_of(r)))
            finally:
                c.close()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(1)
            self.control.write("50-seed2-split.yaml", seed("002-traffic-split-full-rollout.yaml"))
            applied = wait_for(lambda: default_weights(self.proxy.policy(S2_AUTHORITY)) ==
                               {v1: 0, v2: 1000} and time.monotonic(), 30, interval=0.02)
            self.assertTrue(applied, "the full rollout never reached the proxy" + self.logs())
            time.sleep(2)
        finally:
            stop.set()
            for t in threads:
                t.join()
        statuses = {}
        for _, status, _ in records:
            statuses[status] = statuses.get(status, 0) + 1
        self.assertEqual(list(statuses), [200], f"failed requests during the switch: {statuses}")
        after = [v for t, _, v in records if t > applied]
        self.assertGreater(len(after), 50)
        self.assertEqual(set(after), {"v2"})
        before = [v for t, _, v in records if t < applied - 0.5]
        self.assertIn("v1", before)


# ---- seed template 6: HTTPRoute ------------------------------------------------------------

T6_AUTHORITY = "my-service.my-namespace.svc.cluster.local:8080"

T6_FIXED = """\
apiVersion: policy.linkerd.io/v1beta2
kind: HTTPRoute
metadata:
  name: my-route
  namespace: my-namespace
spec:
  parentRefs:
    - name: my-service
      kind: Service
      group: core
      port: 8080
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /api/v2
        - headers:
            - name: x-api-version
              value: v2
        - path:
            type: PathPrefix
            value: /api
          headers:
            - name: x-api-version
              value: v2
      backendRefs:
        - name: my-service-v2
          port: 8080
    - matches:
        - path:
            type: PathPrefix
            value: /api
      backendRefs:
        - name: my-service-v1
          port: 8080
"""


class Template6(TrafficTest):
    """The seed document's intent ("x-api-version: v2 goes to v2") meets Gateway API
    precedence: the header-only match is implicitly `PathPrefix /`, and a longer path match
    wins whatever the headers, so under /api the header does not reach v2 — in Linkerd and in
    every Gateway API implementation, and in Trellis. `trellis validate` warns about exactly
    this and says how to fix the route; the test checks the manifest as written (executed as
    the precedence rules say) and then as fixed the way the warning says, where the document's
    intent holds."""

    @classmethod
    def start_apps(cls):
        for name in ("apex", "v1", "v2"):
            cls.apps[name] = DemoApp(cls.d, name, f"--version={name}")

    @classmethod
    def files(cls):
        a = cls.apps
        return {"10-namespace.yaml": namespace("my-namespace"),
                "20-services.yaml": service("my-service", "my-namespace", 8080,
                                            [a["apex"].backend]) +
                                    service("my-service-v1", "my-namespace", 8080,
                                            [a["v1"].backend]) +
                                    service("my-service-v2", "my-namespace", 8080,
                                            [a["v2"].backend]),
                "30-route.yaml": seed("000-template6-httproute.yaml")}

    def get(self, path, headers=None):
        c = Client(self.proxy)
        try:
            return c.request("GET", T6_AUTHORITY, path, headers)
        finally:
            c.close()

    def test_as_written_then_fixed_as_validate_says(self):
        route_file = os.path.join(self.control.store, "30-route.yaml")
        proc = subprocess.run([ARGS.trellis, "validate", "-f", route_file], capture_output=True,
                              timeout=60)
        out = proc.stdout.decode()
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn("spec.rules[0].matches[1]: the match on header x-api-version: v2 (no path, "
                      "so PathPrefix / is implied) does not apply to requests under /api", out)
        self.assertIn("add to this rule a match with `path: {type: PathPrefix, value: /api}` and "
                      "the same headers", out)

        self.wait_policy(T6_AUTHORITY, "/api/v2", "x-api-version", warmup_path="/api")
        v2 = {"x-api-version": "v2"}
        self.assertEqual(version_of(self.get("/api/v2/users")), "v2", self.logs())
        self.assertEqual(version_of(self.get("/api/users")), "v1")
        # As written: the longer /api match wins over the header-only match (the warning).
        self.assertEqual(version_of(self.get("/api/users", v2)), "v1")
        # Outside /api the header match applies.
        self.assertEqual(version_of(self.get("/health", v2)), "v2")
        # Nothing matches: Gateway API semantics, 404 from the proxy (the apex gets nothing).
        status, headers, _ = self.get("/health")
        self.assertEqual(status, 404)
        self.assertNotIn("x-demo-version", headers)

        # Fixed as the warning says: the header now wins under /api too.
        fixed = os.path.join(self.d, "fixed.yaml")
        replace(fixed, T6_FIXED)
        proc = subprocess.run([ARGS.trellis, "validate", "-f", fixed], capture_output=True,
                              timeout=60)
        self.assertIn("0 errors, 0 warnings", proc.stdout.decode())
        self.control.write("30-route.yaml", T6_FIXED)
        self.assertTrue(wait_for(lambda: version_of(self.get("/api/users", v2)) == "v2", 30),
                        self.logs())
        self.assertEqual(version_of(self.get("/api/users")), "v1")
        self.assertEqual(version_of(self.get("/api/v2/users")), "v2")
        for _ in range(20):
            self.assertEqual(version_of(self.get("/api/orders/7", v2)), "v2")
            self.assertEqual(version_of(self.get("/api/orders/7")), "v1")


# ---- mirroring -----------------------------------------------------------------------------

MIRROR_AUTHORITY = "web.shop.svc.cluster.local:80"

MIRROR_ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web-shadow
  namespace: shop
spec:
  parentRefs:
    - name: web
      kind: Service
      group: ""
      port: 80
  rules:
    - backendRefs:
        - name: web-primary
          port: 80
      filters:
        - type: RequestMirror
          requestMirror:
            backendRef:
              name: web-shadow
              port: 80
            percent: 25
"""


class Mirror(TrafficTest):
    @classmethod
    def start_apps(cls):
        cls.apps["primary"] = DemoApp(cls.d, "primary", "--version=primary")
        cls.shadow = CountingServer()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.shadow.stop()

    @classmethod
    def files(cls):
        return {"10-namespace.yaml": namespace("shop"),
                "20-services.yaml": service("web", "shop", 80, []) +
                                    service("web-primary", "shop", 80,
                                            [cls.apps["primary"].backend]) +
                                    service("web-shadow", "shop", 80, [cls.shadow.backend]),
                "30-route.yaml": MIRROR_ROUTE}

    def test_shadow_sees_the_share_and_the_client_never_waits(self):
        self.wait_policy(MIRROR_AUTHORITY, "requestMirror")
        start = self.shadow.seen()
        results = run_load(self.proxy, MIRROR_AUTHORITY, "/api/items", 2000)
        self.assertEqual({version_of(r) for r in results}, {"primary"})

        # Mirrors are sent in the background: wait until the count settles.
        def settled():
            a = self.shadow.seen()
            time.sleep(0.5)
            return a == self.shadow.seen()
        wait_for(settled, 30)
        share = (self.shadow.seen() - start) / 2000
        # 25 %: binomial sd ~1 %; 4 sigma bounds.
        self.assertAlmostEqual(share, 0.25, delta=0.04, msg=f"{share:.3f}" + self.logs())

        # A shadow that takes 3 s does not slow the client down.
        self.shadow.delay = 3.0
        try:
            def mirrors_fired():
                return sum(v for n, labels, v in self.proxy.metrics()
                           if n == "route_actual_request_total"
                           and labels.get("dst") == "web-shadow.shop.svc.cluster.local:80")
            before = mirrors_fired()
            client = Client(self.proxy)
            slowest = 0
            for _ in range(40):
                t = time.monotonic()
                status, _, _ = client.request("GET", MIRROR_AUTHORITY, "/api/items")
                slowest = max(slowest, time.monotonic() - t)
                self.assertEqual(status, 200)
            client.close()
            # The proxy kept mirroring while the shadow was slow (counted when each copy is
            # sent; the shadow's own count is checked above, where its answers are quick).
            self.assertGreater(mirrors_fired(), before, self.logs())
            self.assertLess(slowest, 2.0, "a client request waited for the mirror")
        finally:
            self.shadow.delay = 0


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--trellis", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
