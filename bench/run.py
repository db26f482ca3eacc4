#!/usr/bin/env python3
"""`make bench`: Trellis side by side with HAProxy and nginx on loopback.

Starts every server itself (free loopback ports, temp dirs), drives them with trellis-loadgen,
samples the proxies' CPU and RSS from /proc, stops everything it started (by pid) and prints a
Markdown report; results.json and results.md go to --out. Python 3 standard library only.
See bench/README.md ("Scenarios") for the method and docs/performance.md for the figures.
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# Identities of the two trellis proxies on the mesh path (C-1 naming).
ID_CLIENT = "client.bench.serviceaccount.identity.linkerd.cluster.local"
ID_SERVER = "web.bench.serviceaccount.identity.linkerd.cluster.local"
SERVICE = "web.bench.svc.cluster.local:80"

SCENARIOS = [
    # key, title, number of proxy processes on the path
    ("direct", "direct (no proxy)"),
    ("trellis", "trellis-proxy one hop"),
    ("haproxy", "HAProxy one hop"),
    ("nginx", "nginx one hop"),
    ("trellis2", "trellis two hops, plaintext"),
    ("trellis-mesh", "trellis mesh (mTLS)"),
    ("haproxy-tls", "HAProxy → TLS 1.3 → HAProxy"),
]
TITLES = dict(SCENARIOS)


class Unavailable(Exception):
    """A scenario that cannot run on this build or machine (reported as such, not a failure)."""


# ---- processes ---------------------------------------------------------------------------------

class Proc:
    """A child process started by the harness, pinned with taskset, logging to a file."""

    running = []

    def __init__(self, name, cmd, workdir, cpu=None, env=None):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "w")
        cmd = pinned(cmd, cpu)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        self.pid = self.proc.pid  # chrt and taskset exec the command: same pid
        Proc.running.append(self)

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.text()}")
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.text()}")

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime (fields 14, 15)

    def rss_kb(self):
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB

    def stop(self):
        if self.proc.poll() is None:
            if SCHED_PREFIX:
                # Back to SCHED_OTHER first: a shutdown path that spin-waits for another thread
                # of its own (trellis-demo-app's main loop does) never lets it run under FIFO.
                subprocess.run(["chrt", "-a", "-o", "-p", "0", str(self.pid)], capture_output=True)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self in Proc.running:
            Proc.running.remove(self)


# Set by main(): ["chrt", "-f", "10"] when the benchmark processes run SCHED_FIFO (BENCH_SCHED=rt).
SCHED_PREFIX = []


def pinned(cmd, cpu):
    """`cmd` pinned to `cpu` (None: not pinned), under the run's scheduling policy."""
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    return [*SCHED_PREFIX, *cmd]


def stop_all():
    for p in list(reversed(Proc.running)):
        p.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def http_get(port, host="localhost", path="/"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


# ---- TLS material ------------------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """An ECDSA P-256 anchor and leaves for the two identities and the HAProxy pair."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bench-anchor",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, dns in [("client", ID_CLIENT), ("server", ID_SERVER),
                      ("hap-a", "haproxy-a.bench.local"), ("hap-b", "haproxy-b.bench.local")]:
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={dns}", cwd=d)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n"
                    f"subjectAltName=DNS:{dns}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
                cwd=d)
        with open(os.path.join(d, f"{name}.pem"), "w") as out:  # HAProxy: cert + key
            for part in (f"{name}.crt", f"{name}.key"):
                with open(os.path.join(d, part)) as f:
                    out.write(f.read())


# ---- scenarios ---------------------------------------------------------------------------------

class Setup:
    """A running scenario: where clients connect and which processes are the proxies."""

    def __init__(self, port, host, proxies, tls=None):
        self.port = port          # the client-facing port on 127.0.0.1
        self.host = host          # Host header the requests carry
        self.proxies = proxies    # [Proc]: CPU and RSS are summed over these
        self.tls = tls            # (port, sni, proxy Proc terminating it) for the handshake test


class Bench:
    def __init__(self, args):
        self.args = args
        self.bin = args.bin
        self.tmp = tempfile.mkdtemp(prefix="trellis-bench-")
        cpus = sorted(os.sched_getaffinity(0))
        # Two cores: the load side (loadgen, backend, the harness's own clients) on the first,
        # every proxy on the second, so proxy CPU is not stolen by the load it measures. One core:
        # no pinning.
        self.load_cpu = cpus[0] if len(cpus) > 1 else None
        self.proxy_cpu = cpus[1] if len(cpus) > 1 else None
        if self.load_cpu is not None:
            os.sched_setaffinity(0, {self.load_cpu})
        self.backend = None
        self.pki = None
        self.mesh_settings = self.trellis_has_mesh_settings()

    # -- common pieces --

    def start_backend(self):
        p = Proc("backend", [os.path.join(self.bin, "trellis-demo-app"), "serve", "--http-port",
                             "0", "--bind", "127.0.0.1", "--threads", "1", "--log-level", "info",
                             "--name", "bench"], self.tmp, cpu=self.load_cpu)
        m = p.wait_for(r"listening on \S+ http=(\d+)")
        self.backend = p
        self.backend_port = int(m.group(1))
        wait_port(self.backend_port)
        status, _ = http_get(self.backend_port)
        if status != 200:
            raise RuntimeError("backend does not answer 200")

    def trellis_has_mesh_settings(self):
        try:
            out = subprocess.run([os.path.join(self.bin, "trellis-proxy"), "--config-reference"],
                                 capture_output=True, text=True, timeout=10).stdout
        except OSError:
            return False
        need = ["identity-cert-file", "identity-key-file", "trust-anchors-file", "identity-name"]
        return all(n in out for n in need)

    def trellis(self, name, discovery, extra=()):
        path = os.path.join(self.tmp, name + "-discovery.yaml")
        with open(path, "w") as f:
            f.write(discovery)
        cmd = [os.path.join(self.bin, "trellis-proxy"), "--mode", "ingress", "--workers", "1",
               "--discovery-file", path, "--inbound-listen-addr", "127.0.0.1:0",
               "--outbound-listen-addr", "127.0.0.1:0", "--admin-listen-addr", "127.0.0.1:0",
               "--log-level", "info", *extra]
        p = Proc(name, cmd, self.tmp, cpu=self.proxy_cpu)
        m = p.wait_for(r"proxy ready: inbound (\S+), outbound (\S+), admin (\S+),")
        p.inbound = int(m.group(1).rsplit(":", 1)[1])
        p.outbound = int(m.group(2).rsplit(":", 1)[1])
        p.admin = int(m.group(3).rsplit(":", 1)[1])
        return p

    @staticmethod
    def discovery(port, identity=None):
        lines = ["services:", "  - name: web", "    namespace: bench", "    ports:",
                 "      - port: 80", "        endpoints:",
                 f"          - address: 127.0.0.1:{port}"]
        if identity:
            lines += [f"            identity: {identity}", "            protocolHint: h2"]
        return "\n".join(lines) + "\n"

    def haproxy(self, name, frontend, backend_server, extra_global=""):
        cfg = os.path.join(self.tmp, name + ".cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
  nbthread 1
  maxconn {self.args.maxconn}
  tune.ssl.default-dh-param 2048
  ssl-default-bind-options ssl-min-ver TLSv1.3
  ssl-default-server-options ssl-min-ver TLSv1.3
{extra_global}
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
frontend fe
  {frontend}
  default_backend be
backend be
  server s1 {backend_server}
""")
        subprocess.run(["haproxy", "-c", "-q", "-f", cfg], check=True, capture_output=True)
        return Proc(name, ["haproxy", "-db", "-f", cfg], self.tmp, cpu=self.proxy_cpu)

    # -- the scenarios --

    def setup_direct(self):
        return Setup(self.backend_port, "localhost", [])

    def setup_trellis(self):
        p = self.trellis("trellis", self.discovery(self.backend_port))
        return Setup(p.outbound, SERVICE, [p])

    def setup_haproxy(self):
        port = free_port()
        p = self.haproxy("haproxy", f"bind 127.0.0.1:{port}", f"127.0.0.1:{self.backend_port}")
        wait_port(port)
        return Setup(port, "localhost", [p])

    def setup_nginx(self):
        if shutil.which("nginx") is None:
            raise Unavailable("nginx is not installed")
        port = free_port()
        d = os.path.join(self.tmp, "nginx")
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile 40000;
events {{ worker_connections 30000; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream be {{ server 127.0.0.1:{self.backend_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    keepalive_timeout 120s;
    keepalive_requests 10000000;
    location / {{
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""")
        # master_process off: one process that is the worker, so its pid is the proxy.
        p = Proc("nginx", ["nginx", "-p", d, "-e", f"{d}/error.log", "-c", conf], self.tmp,
                 cpu=self.proxy_cpu)
        wait_port(port)
        return Setup(port, "localhost", [p])

    def setup_trellis2(self):
        inner = self.trellis("trellis-in", "services: []\n",
                             ["--inbound-default-port", str(self.backend_port)])
        outer = self.trellis("trellis-out", self.discovery(inner.inbound))
        return Setup(outer.outbound, SERVICE, [outer, inner])

    def ensure_pki(self):
        if self.pki is None:
            self.pki = os.path.join(self.tmp, "pki")
            os.makedirs(self.pki)
            make_pki(self.pki)
        return self.pki

    def setup_trellis_mesh(self):
        if not self.mesh_settings:
            raise Unavailable("trellis-proxy has no identity-cert-file/identity-key-file/"
                              "trust-anchors-file/identity-name settings yet")
        pki = self.ensure_pki()

        def identity_args(name, ident):
            return ["--identity-name", ident,
                    "--identity-cert-file", os.path.join(pki, name + ".crt"),
                    "--identity-key-file", os.path.join(pki, name + ".key"),
                    "--trust-anchors-file", os.path.join(pki, "ca.crt")]

        inner = self.trellis("mesh-in", "services: []\n",
                             ["--inbound-default-port", str(self.backend_port),
                              *identity_args("server", ID_SERVER)])
        outer = self.trellis("mesh-out", self.discovery(inner.inbound, ID_SERVER),
                             identity_args("client", ID_CLIENT))
        return Setup(outer.outbound, SERVICE, [outer, inner], tls=(inner.inbound, ID_SERVER, inner))

    def setup_haproxy_tls(self):
        pki = self.ensure_pki()
        tls_port, port = free_port(), free_port()
        b = self.haproxy(
            "haproxy-b",
            f"bind 127.0.0.1:{tls_port} ssl crt {pki}/hap-b.pem ca-file {pki}/ca.crt "
            "verify required alpn http/1.1",
            f"127.0.0.1:{self.backend_port}")
        a = self.haproxy(
            "haproxy-a", f"bind 127.0.0.1:{port}",
            f"127.0.0.1:{tls_port} ssl verify required ca-file {pki}/ca.crt crt {pki}/hap-a.pem "
            "sni str(haproxy-b.bench.local) verifyhost haproxy-b.bench.local alpn http/1.1")
        wait_port(tls_port)
        wait_port(port)
        return Setup(port, "localhost", [a, b], tls=(tls_port, "haproxy-b.bench.local", b))


# ---- measurements ------------------------------------------------------------------------------

def proxies_cpu(setup):
    return sum(p.cpu_seconds() for p in setup.proxies)


def proxies_rss_kb(setup):
    return sum(p.rss_kb() for p in setup.proxies)


def run_loadgen(bench, setup, rate, duration, warmup, connections, tag):
    out = os.path.join(bench.tmp, f"lg-{tag}.json")
    cmd = [os.path.join(bench.bin, "trellis-loadgen"), "--duration", f"{duration}s",
           "--warmup", f"{warmup}s", "-c", str(connections), "--host", setup.host,
           "--timeout", "5s", "--json", out, "-q"]
    cmd += ["--closed"] if rate == 0 else ["--rate", str(rate), "--jitter", "0.5"]
    cmd.append(f"http://127.0.0.1:{setup.port}/")
    cmd = pinned(cmd, bench.load_cpu)
    cpu0 = proxies_cpu(setup)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + warmup + 60)
    cpu1 = proxies_cpu(setup)
    if p.returncode != 0:
        raise RuntimeError(f"loadgen failed ({p.returncode}): {p.stderr}")
    with open(out) as f:
        j = json.load(f)
    total = j["requests"]["sent"] + j["requests"]["warmup"]
    return {
        "rate": rate,
        "achieved_rps": j["rate"]["achieved_rps"],
        "sent": j["requests"]["sent"],
        "ok": j["requests"]["ok"],
        "errors": j["requests"]["errors"],
        "unsent": j["requests"]["unsent"],
        "latency_us": j["latency_us"],
        "histogram": j["latency_histogram_ns"],
        "proxy_cpu_s": cpu1 - cpu0,
        "cpu_us_per_req": (cpu1 - cpu0) * 1e6 / total if setup.proxies and total else None,
    }


def pooled_percentiles(runs, quantiles=(0.5, 0.99, 0.999)):
    """Percentiles over the pooled histograms of several runs (never the mean of percentiles)."""
    buckets = {}
    exact_max = 0.0
    for r in runs:
        exact_max = max(exact_max, r["latency_us"]["max"])
        for lo, hi, n in r["histogram"]:
            buckets[(lo, hi)] = buckets.get((lo, hi), 0) + n
    ordered = sorted(buckets.items())
    total = sum(n for _, n in ordered)
    result = {}
    for q in quantiles:
        if total == 0:
            result[q] = None
            continue
        rank = max(1, int(-(-q * total // 1)))  # nearest rank: ceil(q * total)
        seen = 0
        for (lo, hi), n in ordered:
            seen += n
            if seen >= rank:
                result[q] = min(hi / 1000.0, exact_max)
                break
    return result


def idle_connections(setup, count, host):
    """Opens `count` keep-alive connections, one request each (64 in flight), leaves them idle.
    Returns the sockets (the caller closes them) and how many completed their request."""
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    socks, done, pending, started = [], 0, 0, 0
    bufs = {}

    def start_one():
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", setup.port))
        sel.register(s, selectors.EVENT_WRITE)
        socks.append(s)
        bufs[s] = b""

    deadline = time.time() + 120
    while (started < count or pending) and time.time() < deadline:
        while started < count and pending < 64:
            start_one()
            started += 1
            pending += 1
        for key, events in sel.select(timeout=1):
            s = key.fileobj
            if events & selectors.EVENT_WRITE:
                try:
                    s.send(request)
                except OSError:
                    sel.unregister(s)
                    pending -= 1
                    continue
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                pending -= 1
                continue
            bufs[s] += data
            head, sep, body = bufs[s].partition(b"\r\n\r\n")
            if not sep:
                continue
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if m and len(body) >= int(m.group(1)):
                sel.unregister(s)
                pending -= 1
                done += 1
                bufs[s] = b""
    sel.close()
    return socks, done


class HandshakeClient:
    """Full TLS 1.3 handshakes with a client certificate, as fast as `threads` loops manage."""

    def __init__(self, pki, port, sni, client):
        self.port, self.sni = port, sni
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(pki, client + ".crt"),
                                 os.path.join(pki, client + ".key"))
        self.ok = 0
        self.failed = 0
        self.lock = threading.Lock()
        self.last_error = None

    def loop(self, until):
        ok = failed = 0
        while time.time() < until:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
                    with self.ctx.wrap_socket(raw, server_hostname=self.sni) as s:
                        # The server's NewSessionTicket arrives after its Finished; reading it
                        # makes sure the server has processed our certificate and Finished.
                        s.settimeout(0.001)
                        try:
                            s.recv(1)
                        except (socket.timeout, ssl.SSLError, OSError):
                            pass
                ok += 1
            except (OSError, ssl.SSLError) as e:
                failed += 1
                self.last_error = str(e)
        with self.lock:
            self.ok += ok
            self.failed += failed

    def run(self, seconds, threads=2):
        until = time.time() + seconds
        ts = [threading.Thread(target=self.loop, args=(until,)) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return self.ok, self.failed


def wrk_crosscheck(bench, setup, duration, connections):
    if shutil.which("wrk") is None:
        return None
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-H", f"Host: {setup.host}",
           f"http://127.0.0.1:{setup.port}/"]
    cmd = pinned(cmd, bench.load_cpu)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    return float(m.group(1)) if m else None


# ---- the run -----------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def measure(bench, key, plan, log):
    setup_fn = getattr(bench, "setup_" + key.replace("-", "_"))
    result = {"scenario": key, "title": TITLES[key], "available": True}
    try:
        setup = setup_fn()
    except Unavailable as e:
        log(f"  {key}: not available: {e}")
        return {"scenario": key, "title": TITLES[key], "available": False, "reason": str(e)}
    try:
        status, _ = http_get(setup.port, setup.host)
        if status != 200:
            raise RuntimeError(f"{key}: first request answered {status}")
        for _ in range(100):
            http_get(setup.port, setup.host)
        result["rss_idle_kb"] = proxies_rss_kb(setup) if setup.proxies else None
        result["processes"] = [p.name for p in setup.proxies]

        runs = {"1k": [], "5k": [], "max": []}
        for rep in range(plan["reps"]):
            for name, rate in (("1k", 1000), ("5k", 5000), ("max", 0)):
                r = run_loadgen(bench, setup, rate, plan["duration"], plan["warmup"],
                                plan["max_connections"] if rate == 0 else 16,
                                f"{key}-{name}-{rep}")
                runs[name].append(r)
                log(f"  {key} rep {rep + 1} {name:>3}: {r['achieved_rps']:9.0f} rps  "
                    f"p50 {r['latency_us']['p50']:7.1f} µs  "
                    f"p99 {r['latency_us']['p99']:7.1f} µs  "
                    f"errors {r['errors']}  unsent {r['unsent']}  "
                    + (f"cpu {r['cpu_us_per_req']:.1f} µs/req" if r['cpu_us_per_req'] else ""))
        result["runs"] = {k: [{x: v for x, v in r.items() if x != "histogram"} for r in rs]
                          for k, rs in runs.items()}
        for name in ("1k", "5k"):
            pooled = pooled_percentiles(runs[name])
            result["latency_" + name] = {str(q): v for q, v in pooled.items()}
            result["cpu_us_per_req_" + name] = median(r["cpu_us_per_req"] for r in runs[name])
            result["errors_" + name] = sum(r["errors"] + r["unsent"] for r in runs[name])
        result["max_rps"] = median(r["achieved_rps"] for r in runs["max"])
        result["cpu_us_per_req_max"] = median(r["cpu_us_per_req"] for r in runs["max"])
        result["errors_max"] = sum(r["errors"] for r in runs["max"])

        if setup.proxies:
            time.sleep(0.5)
            before = proxies_rss_kb(setup)
            socks, done = idle_connections(setup, plan["idle_connections"], setup.host)
            time.sleep(1.0)
            with_conns = proxies_rss_kb(setup)
            for s in socks:
                s.close()
            result["idle_connections"] = done
            result["rss_before_conns_kb"] = before
            result["rss_conns_kb"] = with_conns
            result["kb_per_conn"] = (with_conns - before) / done if done else None
            log(f"  {key}: RSS idle {result['rss_idle_kb'] / 1024:.1f} MB, "
                f"{done} idle connections {with_conns / 1024:.1f} MB "
                f"({result['kb_per_conn'] or 0:.2f} KB/conn)")
            time.sleep(0.5)

        if setup.tls:
            port, sni, terminator = setup.tls
            client = HandshakeClient(bench.pki, port, sni,
                                     "client" if key == "trellis-mesh" else "hap-a")
            cpu0 = terminator.cpu_seconds()
            ok, failed = client.run(plan["handshake_s"])
            cpu1 = terminator.cpu_seconds()
            result["handshakes"] = {
                "ok": ok, "failed": failed, "per_s": ok / plan["handshake_s"],
                "server_cpu_us": (cpu1 - cpu0) * 1e6 / ok if ok else None,
                "last_error": client.last_error if failed else None}
            log(f"  {key}: {ok / plan['handshake_s']:.0f} handshakes/s ({failed} failed), "
                f"server {result['handshakes']['server_cpu_us'] or 0:.0f} µs CPU each")

        if key == "trellis" and plan["wrk_s"]:
            rps = wrk_crosscheck(bench, setup, plan["wrk_s"], plan["max_connections"])
            result["wrk_max_rps"] = rps
            log(f"  {key}: wrk cross-check {rps or 0:.0f} rps "
                f"(loadgen closed loop {result['max_rps']:.0f})")
    finally:
        for p in setup.proxies:
            p.stop()
    return result


def fmt(v, digits=0, unit=""):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}{unit}"


def ratio(v, base):
    if v is None or not base:
        return "—"
    return f"{v / base:.2f}×"


def report(results, meta):
    by = {r["scenario"]: r for r in results}
    hap = by.get("haproxy") if by.get("haproxy", {}).get("available") else None
    direct = by.get("direct") if by.get("direct", {}).get("available") else None
    lines = [f"# Trellis bench — {meta['date']}", "",
             f"{meta['machine']}; {meta['reps']} repetition(s), medians (latency percentiles "
             f"over the pooled repetitions); HTTP/1.1 keep-alive GET / against trellis-demo-app; "
             f"pinning: {meta['pinning']}; scheduling: {meta['scheduling']}.", ""]

    lines += ["## Cost and capacity", "",
              "| scenario | proxy CPU µs/req @5k rps | vs HAProxy | @1k rps | @max | max req/s "
              "| vs HAProxy | RSS idle MB | RSS with N idle conns MB | KB/conn | mTLS handshakes/s "
              "(server CPU µs each) |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, title in SCENARIOS:
        r = by.get(key)
        if r is None:
            continue
        if not r["available"]:
            lines.append(f"| {title} | not available: {r['reason']} |" + " |" * 10)
            continue
        hs = r.get("handshakes")
        hs_text = (f"{hs['per_s']:,.0f} ({fmt(hs['server_cpu_us'])})" if hs else "—")
        conns = (f"{fmt(r.get('rss_conns_kb') and r['rss_conns_kb'] / 1024, 1)} "
                 f"(N={r.get('idle_connections', 0):,})" if r.get("rss_conns_kb") else "—")
        lines.append(
            f"| {title} | {fmt(r['cpu_us_per_req_5k'], 1)} | "
            f"{ratio(r['cpu_us_per_req_5k'], hap and hap['cpu_us_per_req_5k'])} | "
            f"{fmt(r['cpu_us_per_req_1k'], 1)} | {fmt(r['cpu_us_per_req_max'], 1)} | "
            f"{fmt(r['max_rps'])} | {ratio(r['max_rps'], hap and hap['max_rps'])} | "
            f"{fmt(r['rss_idle_kb'] and r['rss_idle_kb'] / 1024, 1)} | {conns} | "
            f"{fmt(r.get('kb_per_conn'), 2)} | {hs_text} |")

    lines += ["", "## Latency (µs, open loop, 16 connections; added = over direct)", "",
              "| scenario | @1k p50 | p99 | p99.9 | added p50 | added p99 | added p99.9 "
              "| @5k p50 | p99 | p99.9 | added p50 | added p99 | added p99.9 | errors |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, title in SCENARIOS:
        r = by.get(key)
        if r is None:
            continue
        if not r["available"]:
            lines.append(f"| {title} | not available |" + " |" * 12)
            continue
        cells = []
        for name in ("1k", "5k"):
            lat = r["latency_" + name]
            base = direct["latency_" + name] if direct else {}
            for q in ("0.5", "0.99", "0.999"):
                cells.append(fmt(lat[q], 0))
            for q in ("0.5", "0.99", "0.999"):
                known = base.get(q) is not None and lat[q] is not None
                cells.append(fmt(lat[q] - base[q], 0) if known else "—")
        errors = r["errors_1k"] + r["errors_5k"] + r["errors_max"]
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {errors} |")

    lines += ["", "## Targets (issue 7)", "", "| target | measured | result |", "|---|---|---|"]
    for t in targets(by):
        lines.append(f"| {t['target']} | {t['measured']} | {t['result']} |")
    if by.get("trellis", {}).get("wrk_max_rps"):
        t = by["trellis"]
        lines += ["", f"Cross-check (trellis-proxy one hop, closed loop, same connections): "
                      f"wrk {t['wrk_max_rps']:,.0f} req/s vs trellis-loadgen "
                      f"{t['max_rps']:,.0f} req/s."]
    return "\n".join(lines) + "\n"


def targets(by):
    def get(key, field):
        r = by.get(key)
        return r.get(field) if r and r.get("available") else None

    out = []

    def add(target, value, limit, text):
        if value is None or limit is None:
            out.append({"target": target, "measured": text or "not measured", "result": "N/A"})
        else:
            out.append({"target": target, "measured": text,
                        "result": "PASS" if value <= limit else "MISS"})

    t, h = get("trellis", "cpu_us_per_req_5k"), get("haproxy", "cpu_us_per_req_5k")
    add("CPU/req one hop HTTP/1.1 keep-alive ≤ HAProxy (@5k rps)", t, h,
        f"{fmt(t, 1)} vs {fmt(h, 1)} µs" if t is not None and h is not None else None)
    m = get("trellis-mesh", "cpu_us_per_req_5k")
    add("Mesh path CPU/req (both proxies) ≤ 2× HAProxy one hop (@5k rps)", m,
        2 * h if h is not None else None,
        f"{fmt(m, 1)} vs 2×{fmt(h, 1)} µs" if m is not None and h is not None else
        by.get("trellis-mesh", {}).get("reason"))
    lat = get("trellis-mesh", "latency_1k")
    base = get("direct", "latency_1k")
    for q, limit, label in (("0.5", 100, "p50"), ("0.99", 300, "p99")):
        known = lat and base and lat[q] is not None and base[q] is not None
        v = lat[q] - base[q] if known else None
        add(f"Mesh added {label} @1k rps ≤ {limit} µs", v, limit,
            f"{fmt(v, 0)} µs" if v is not None else by.get("trellis-mesh", {}).get("reason"))
    rss = get("trellis", "rss_idle_kb")
    add("trellis-proxy RSS idle ≤ 8 MB", rss and rss / 1024, 8,
        f"{fmt(rss and rss / 1024, 1)} MB" if rss else None)
    kb = get("trellis", "kb_per_conn")
    add("trellis-proxy ≤ 4 KB per idle connection", kb, 4,
        f"{fmt(kb, 2)} KB" if kb is not None else None)
    return out


def main():
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "build", "bin"),
                    help="directory holding trellis-proxy, trellis-demo-app, trellis-loadgen")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "build", "bench"))
    ap.add_argument("--quick", action="store_true", default=quick,
                    help="~1 minute smoke variant (also BENCH_QUICK=1)")
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", "0")) or None)
    ap.add_argument("--scenarios", default=os.environ.get("BENCH_SCENARIOS", ""),
                    help="comma list of scenario keys (default: all)")
    ap.add_argument("--idle-connections", type=int, default=None)
    args = ap.parse_args()

    plan = ({"reps": 1, "duration": 1, "warmup": 0.3, "max_connections": 32,
             "idle_connections": 1000, "handshake_s": 1, "wrk_s": 1} if args.quick else
            {"reps": 3, "duration": 5, "warmup": 1, "max_connections": 32,
             "idle_connections": 10000, "handshake_s": 3, "wrk_s": 4})
    if args.reps:
        plan["reps"] = args.reps
    if args.idle_connections:
        plan["idle_connections"] = args.idle_connections
    keys = [k for k, _ in SCENARIOS]
    if args.scenarios:
        wanted = args.scenarios.split(",")
        unknown = set(wanted) - set(keys)
        if unknown:
            ap.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
        keys = [k for k in keys if k in wanted]
    for tool in ("trellis-proxy", "trellis-demo-app", "trellis-loadgen"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            ap.error(f"{tool} not found in {args.bin} (build first)")

    # 10,000 idle connections need that many descriptors here and in the proxies (inherited).
    # HAProxy wants two descriptors per maxconn, so ask for 2N + margin; root may raise the hard
    # limit too, anyone else gets the hard limit and fewer connections.
    want = 2 * plan["idle_connections"] + 4000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    plan["idle_connections"] = max(100, min(plan["idle_connections"], (soft - 4000) // 2))

    calm = calm_scheduling(os.environ.get("BENCH_SCHED", "nice"))
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    args.maxconn = plan["idle_connections"] + 200
    bench = Bench(args)
    started = time.time()

    def log(msg):
        print(f"[{time.time() - started:6.1f}s] {msg}", flush=True)

    pinning = (f"trellis-loadgen, backend and harness clients on CPU {bench.load_cpu}, every "
               f"proxy process on CPU {bench.proxy_cpu}" if bench.load_cpu is not None
               else "none (one CPU)")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu_model()}), "
                   f"kernel {platform.release()}",
        "reps": plan["reps"], "pinning": pinning, "plan": plan, "quick": args.quick,
        "versions": versions(args.bin),
        "trellis_mesh_settings": bench.mesh_settings,
        "scheduling": calm,
    }
    log(f"bench in {bench.tmp}; plan {plan}; pinning: {pinning}")
    results = []
    try:
        bench.start_backend()
        for key in keys:
            log(f"scenario {key}: {TITLES[key]}")
            results.append(measure(bench, key, plan, log))
    finally:
        stop_all()
    text = report(results, meta)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results, "targets": targets(
            {r["scenario"]: r for r in results})}, f, indent=2)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print()
    print(text)
    log(f"done; results in {args.out}/results.md and results.json")
    shutil.rmtree(bench.tmp, ignore_errors=True)


def calm_scheduling(mode):
    """How the benchmark competes with whatever else runs on the machine (BENCH_SCHED).

    `nice` (default): own session, and that session's autogroup at nice -15. With
    CONFIG_SCHED_AUTOGROUP the CPU is shared between sessions first, so a build in another session
    delays our servers' wake-ups whatever a per-process nice says. `rt`: every benchmark process
    (servers, proxies, loadgen) also runs SCHED_FIFO (chrt -f 10), so a woken server preempts
    background work at once; the kernel's RT throttling still leaves others 5%. Use it for figures
    on a shared machine. `off`: no change. Both need root (CAP_SYS_NICE)."""
    global SCHED_PREFIX
    if mode == "off":
        return "default"
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write("-15")
        with open("/proc/self/autogroup") as f:
            text = f.read().strip()
    except OSError as e:
        text = f"default (autogroup: {e.strerror})"
    if mode == "rt":
        if subprocess.run(["chrt", "-f", "10", "true"], capture_output=True).returncode == 0:
            SCHED_PREFIX = ["chrt", "-f", "10"]
            text += ", benchmark processes SCHED_FIFO 10"
        else:
            text += ", SCHED_FIFO refused"
    return text


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.+)", f.read())
            return m.group(1).strip() if m else "unknown CPU"
    except OSError:
        return "unknown CPU"


def versions(bin_dir):
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return None
    return {"haproxy": first_line(["haproxy", "-v"]), "nginx": first_line(["nginx", "-v"]),
            "openssl": first_line(["openssl", "version"])}


if __name__ == "__main__":
    main()
