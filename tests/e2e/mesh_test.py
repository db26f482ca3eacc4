"""End-to-end tests of the mesh in the local runtime (issue 6, contract C-10): `trellis up` starts
trellis-control and injects the proxy into the pods of a namespace annotated
`linkerd.io/inject: enabled` (tests/e2e/manifests/mesh.yaml). The tests prove that traffic between
pods is intercepted and mutually authenticated (proxy metrics with tls="true" and the right
client identity on both sides, `l5d-client-id` seen by the application), that plain traffic from
outside the mesh is still served (without tls="true"), that a rolling update under load loses no
request, that a killed meshed pod comes back, and that `trellis down` leaves nothing behind.

Needs root (skipped otherwise). Each run uses a temporary state directory and a unique cluster
name; the runtime's addresses are fixed (198.18.0.0/16), so one run at a time per machine.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from e2e_support import host_state, ready, sh, wait_for

ARGS = None
NS = "mesh"
DOMAIN = "serviceaccount.identity.linkerd.cluster.local"


def restarts(pod):
    return {c["name"]: c["restartCount"] for c in pod["status"]["containerStatuses"]}


def parse_metrics(text, name):
    """[(labels dict, value)] of every sample of metric `name`."""
    out = []
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))
        out.append((labels, float(m.group(2))))
    return out


def total(samples, **want):
    return sum(v for labels, v in samples if all(labels.get(k) == x for k, x in want.items()))


def identity(sa):
    return f"{sa}.{NS}.{DOMAIN}"


@unittest.skipUnless(os.geteuid() == 0, "the local runtime needs root (network namespaces)")
class MeshTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before = host_state()
        cls.name = f"mesh{os.getpid() % 100000}"
        cls.state = tempfile.mkdtemp(prefix="trellis-mesh-")
        cls.work = tempfile.mkdtemp(prefix="trellis-mesh-manifests-")
        cls.pids_seen = set()
        r = sh(ARGS.trellis, "up", "-f", cls.manifest("v1"), "--state-dir", cls.state, "--name",
               cls.name, "--bin-dir", os.path.dirname(ARGS.app), "--timeout", "90s",
               timeout=150, check=False)
        cls.up = r

    @classmethod
    def tearDownClass(cls):
        cls.trellis("down", check=False)
        shutil.rmtree(cls.state, ignore_errors=True)
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def manifest(cls, version):
        with open(os.path.join(os.path.dirname(__file__), "manifests", "mesh.yaml")) as f:
            text = f.read().replace("VERSION", version)
        path = os.path.join(cls.work, f"mesh-{version}.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    @classmethod
    def trellis(cls, *args, check=True, timeout=120):
        return sh(ARGS.trellis, args[0], "--state-dir", cls.state, *args[1:], check=check,
                  timeout=timeout)

    def setUp(self):
        self.assertEqual(self.up.returncode, 0,
                         f"trellis up failed:\n{self.up.stdout}\n{self.up.stderr}\n"
                         f"{self.control_log()}")

    def control_log(self):
        try:
            with open(os.path.join(self.state, "control.log")) as f:
                return "control.log:\n" + f.read()[-3000:]
        except OSError:
            return ""

    def pods(self, app=None):
        items = json.loads(self.trellis("get", "pods", "-n", NS, "-o", "json").stdout)["items"]
        return [p for p in items if app is None or p["metadata"]["labels"].get("app") == app]

    def pod_name(self, app):
        return next(p["metadata"]["name"] for p in self.pods(app) if ready(p))

    def exec(self, pod, *cmd, check=True, timeout=60):
        return self.trellis("exec", "-n", NS, pod, "--", *cmd, check=check, timeout=timeout)

    def metrics(self, pod):
        return self.exec(pod, "curl", "-sf", "-m", "5", "http://localhost:4191/metrics").stdout

    def remember_pids(self):
        for p in self.pods():
            r = sh("ip", "netns", "pids", f"trellis-{self.name}-{p['metadata']['name']}.{NS}",
                   check=False)
            self.pids_seen.update(int(x) for x in r.stdout.split())
        with open(os.path.join(self.state, "ledger")) as f:
            for line in f:
                m = re.match(r"^\+ pid (\d+) ", line)
                if m:
                    self.pids_seen.add(int(m.group(1)))

    def test_01_up_starts_the_control_plane_and_injects_the_proxy(self):
        self.assertIn("all pods are ready", self.up.stdout)
        self.assertIn("control plane: trellis-control", self.up.stdout)
        self.assertIn(os.path.join(self.state, "control.log"), self.up.stdout)
        with urllib.request.urlopen("http://198.18.255.254:9996/ready", timeout=5) as resp:
            self.assertEqual(resp.status, 200)
        for f in ("ca.crt", "issuer.crt", "issuer.key"):
            self.assertTrue(os.path.exists(os.path.join(self.state, "ca", f)), f)
        pods = self.pods()
        self.assertEqual(len(pods), 3)
        for p in pods:
            self.assertTrue(ready(p), p["status"])
            names = [c["name"] for c in p["spec"]["containers"]]
            self.assertEqual(names[0], "trellis-proxy", names)
            self.assertEqual(len(names), 2, names)
            self.assertEqual(p["metadata"]["annotations"]["linkerd.io/proxy-version"], "0.1.0")
            self.assertEqual(p["metadata"]["labels"]["linkerd.io/proxy-deployment"],
                             p["metadata"]["labels"]["app"])
            env = {e["name"]: e["value"] for e in p["spec"]["containers"][0]["env"]}
            self.assertEqual(env["TRELLIS_PROXY_CONTROL_ADDR"], "198.18.255.254:8086")
            self.assertEqual(env["TRELLIS_PROXY_IDENTITY_NAME"],
                             identity(p["spec"]["serviceAccountName"]))
            self.assertEqual(env["TRELLIS_PROXY_POD_NAME"], p["metadata"]["name"])
            # The token is the proxy's alone: UID 2102, mode 0400, in a directory others
            # can traverse but not list.
            st = os.stat(env["TRELLIS_PROXY_IDENTITY_TOKEN_FILE"])
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (2102, 0o400))
            st = os.stat(os.path.dirname(env["TRELLIS_PROXY_IDENTITY_TOKEN_FILE"]))
            self.assertEqual(st.st_mode & 0o777, 0o711)
            # The proxy runs as 2102 and the app does not.
            netns = f"trellis-{self.name}-{p['metadata']['name']}.{NS}"
            uids = set()
            for pid in sh("ip", "netns", "pids", netns).stdout.split():
                with open(f"/proc/{pid}/status") as f:
                    uids.add(int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)))
            self.assertEqual(uids, {0, 2102})
        # web's proxy log level comes from config.linkerd.io/proxy-log-level.
        web = self.pods("web")[0]
        env = {e["name"]: e["value"] for e in web["spec"]["containers"][0]["env"]}
        self.assertEqual(env["TRELLIS_PROXY_LOG_LEVEL"], "debug")
        # What the control plane reads (pods with their proxy container) is valid input.
        sh(ARGS.trellis, "validate", "-f", os.path.join(self.state, "store"))
        table = self.trellis("get", "pods", "-n", NS).stdout
        self.assertEqual(len(re.findall(r"\b2/2\s+Running\s+0\b", table)), 3, table)
        self.remember_pids()

    def test_02_proxy_init_redirects_in_the_pod_namespace(self):
        pod = self.pod_name("web")
        rules = sh("ip", "netns", "exec", f"trellis-{self.name}-{pod}.{NS}", "iptables-save",
                   "-t", "nat").stdout
        self.assertIn("--to-ports 4143", rules)
        self.assertIn("--to-ports 4140", rules)
        self.assertRegex(rules, r"--uid-owner 2102")

    def test_03_traffic_between_pods_is_mtls(self):
        client = self.pod_name("client")
        for _ in range(5):
            r = self.exec(client, "curl", "-sf", "-m", "5", "http://web.mesh/hello")
            doc = json.loads(r.stdout)
            self.assertEqual(doc["clientId"], identity("client"))
        client_metrics = parse_metrics(self.metrics(client), "request_total")
        self.assertGreaterEqual(
            total(client_metrics, direction="outbound", tls="true",
                  server_id=identity("web")), 5, client_metrics)
        inbound = 0
        for web in self.pods("web"):
            samples = parse_metrics(self.metrics(web["metadata"]["name"]), "request_total")
            inbound += total(samples, direction="inbound", tls="true",
                             client_id=identity("client"))
        self.assertGreaterEqual(inbound, 5)

    def test_04_app_upstream_calls_go_through_the_mesh(self):
        # The client app's own --upstream (the demo's frontend → backend path).
        client = self.pod_name("client")
        for _ in range(3):
            r = self.exec(client, "curl", "-s", "-m", "10", "-w", "\n%{http_code}",
                          "http://localhost:9090/")
            body, code = r.stdout.rsplit("\n", 1)
            self.assertEqual(code, "200", body)
            up = json.loads(body)["upstreams"]
            self.assertEqual(len(up), 1, up)
            self.assertTrue(up[0]["ok"], up)
            self.assertEqual(up[0]["version"], "v1")

    def test_05_plain_request_from_the_host_is_served_without_tls(self):
        web = self.pods("web")[0]
        name, ip = web["metadata"]["name"], web["status"]["podIP"]

        def plain_count():
            samples = parse_metrics(self.metrics(name), "request_total")
            return total(samples, direction="inbound", tls="no_identity")
        before = plain_count()
        with urllib.request.urlopen(f"http://{ip}:8080/plain", timeout=5) as resp:
            doc = json.loads(resp.read())
        self.assertNotIn("clientId", doc)
        self.assertEqual(doc["path"], "/plain")
        # A spoofed l5d-client-id from outside the mesh is removed by the inbound proxy.
        req = urllib.request.Request(f"http://{ip}:8080/plain",
                                     headers={"l5d-client-id": identity("client")})
        with urllib.request.urlopen(req, timeout=5) as resp:
            self.assertNotIn("clientId", json.loads(resp.read()))
        self.assertGreaterEqual(plain_count(), before + 2)

    def test_06_proxy_logs(self):
        pod = self.pod_name("web")
        out = self.trellis("logs", "-n", NS, pod, "-c", "trellis-proxy").stdout
        self.assertTrue(out.strip())
        self.assertRegex(out, r"(?i)certif|identity")
        r = self.trellis("logs", "-n", NS, pod, "-c", "nope", check=False)
        self.assertIn("choose one of: [trellis-proxy web]", r.stderr)
        # deploy/NAME picks one of the Deployment's pods, as kubectl does.
        out = self.trellis("logs", "-n", NS, "deploy/web").stdout
        self.assertIn("8080", out)

    def test_07_rolling_update_under_load_loses_no_request(self):
        client = self.pod_name("client")
        load = subprocess.Popen(
            [ARGS.trellis, "exec", "--state-dir", self.state, "-n", NS, client, "--", ARGS.app,
             "load", "--target", "http://web.mesh/", "--rate", "40", "--duration", "25s",
             "--concurrency", "20", "--report-interval", "100s"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(2)
            self.trellis("apply", "-f", self.manifest("v2"))

            def rolled():
                web = self.pods("web")
                return (len(web) == 2 and all(ready(p) for p in web) and
                        all("v2" in p["spec"]["containers"][1]["command"] for p in web))
            wait_for(rolled, timeout=60, what="web rolled to v2")
            out, _ = load.communicate(timeout=60)
        finally:
            if load.poll() is None:
                load.kill()
                load.wait()
        m = re.search(r"load done: .* requests=(\d+) success=(\d+) failures=(\d+)", out)
        self.assertIsNotNone(m, out)
        requests, success, failures = map(int, m.groups())
        if failures:
            # The client's proxy logs at debug (mesh.yaml): why each failed request failed.
            log = self.trellis("logs", "-n", NS, client, "-c", "trellis-proxy", check=False).stdout
            self.fail(f"{failures} failed requests during the rolling update\n{out}\n"
                      f"client proxy log:\n{log[-6000:]}")
        self.assertGreater(success, 500, out)
        # After the update, traffic is still mTLS to the new pods.
        doc = json.loads(self.exec(client, "curl", "-sf", "-m", "5", "http://web.mesh/").stdout)
        self.assertEqual((doc["version"], doc["clientId"]), ("v2", identity("client")))
        self.remember_pids()

    def test_08_killed_meshed_pod_is_restarted_and_traffic_recovers(self):
        # The pod the client's requests go to right now loses every process (proxy and app).
        client = self.pod_name("client")
        get = lambda: json.loads(self.exec(client, "curl", "-sf", "-m", "5",  # noqa: E731
                                           "http://web.mesh/").stdout)
        name = get()["name"]
        web = next(p for p in self.pods("web") if p["metadata"]["name"] == name)
        pids = sh("ip", "netns", "pids", f"trellis-{self.name}-{name}.{NS}").stdout.split()
        self.assertGreaterEqual(len(pids), 2)
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)

        def back():
            p = next((p for p in self.pods("web") if p["metadata"]["name"] == name), None)
            return p if p and ready(p) and restarts(p) == {"trellis-proxy": 1, "web": 1} else None
        wait_for(back, timeout=60, what=f"{name} restarted and ready")
        # The restarted pod serves again (proxy and app), and meshed traffic recovers: ten
        # requests in a row succeed with the client's identity.
        with urllib.request.urlopen(f"http://{web['status']['podIP']}:8080/", timeout=5) as r:
            self.assertEqual(json.loads(r.read())["name"], name)

        def ten_in_a_row():
            for _ in range(10):
                r = self.exec(client, "curl", "-sf", "-m", "5", "http://web.mesh/", check=False)
                if r.returncode != 0 or json.loads(r.stdout)["clientId"] != identity("client"):
                    return False
            return True
        wait_for(ten_in_a_row, timeout=60, what="ten meshed requests in a row")
        self.remember_pids()

    def test_99_down_leaves_nothing(self):
        self.remember_pids()
        r = self.trellis("down", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        netns, links, routes, rules, etc = host_state()
        self.assertNotIn(f"trellis-{self.name}", netns)
        self.assertNotRegex(links, r"\btrellis[0-9a-f]{8}\b")
        self.assertNotIn("198.18.0.0/16", routes)
        self.assertEqual(rules.count("TRELLIS"), self.before[3].count("TRELLIS"))
        self.assertEqual(rules.count("PROXY_INIT"), self.before[3].count("PROXY_INIT"))
        self.assertEqual([e for e in etc if self.name in e], [])

        def running(pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return not f.read().split(") ")[1].startswith("Z")
            except OSError:
                return False
        self.assertEqual([p for p in self.pids_seen if running(p)], [])
        self.assertFalse(os.path.exists(os.path.join(self.state, "tokens")))
        with self.assertRaises(OSError):
            urllib.request.urlopen("http://198.18.255.254:9996/ready", timeout=2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--trellis", required=True)
    parser.add_argument("--app", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
