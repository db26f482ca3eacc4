#!/usr/bin/env python3
"""Integration test for `trellis-proxy init` (needs root): two network namespaces joined by a
veth pair (198.18.250.0/30), the rules installed in the "pod" namespace, and real listeners
standing in for the proxy (4143 inbound, 4140 outbound), the app and a peer. Each listener
answers with its name and the connection's original destination (SO_ORIGINAL_DST), so the test
sees exactly where a connection landed."""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None
POD_IP = "198.18.250.2"
PEER_IP = "198.18.250.1"

# Listens on every PORT:NAME given; answers "NAME ORIGINAL_DST\n" and closes.
SERVER = r'''
import os, select, socket, struct, sys
socks = {}
for spec in sys.argv[1:]:
    port, name = spec.split(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(16)
    socks[s] = name
open(os.environ["READY_FILE"], "w").close()
while True:
    readable, _, _ = select.select(list(socks), [], [])
    for s in readable:
        conn, _ = s.accept()
        try:
            raw = conn.getsockopt(socket.SOL_IP, 80, 16)  # SO_ORIGINAL_DST
            port = struct.unpack("!H", raw[2:4])[0]
            orig = socket.inet_ntoa(raw[4:8]) + ":" + str(port)
        except OSError:
            orig = "none"
        conn.sendall((socks[s] + " " + orig + "\n").encode())
        conn.close()
'''

# Connects to HOST PORT (optionally as UID) and prints what the listener said.
CLIENT = r'''
import encodings.idna, os, socket, sys  # imported before setuid: the new user may not read them
if len(sys.argv) > 3:
    os.setuid(int(sys.argv[3]))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(s.makefile().readline().strip())
'''


def sh(*args, check=True):
    proc = subprocess.run(list(args), capture_output=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}): {proc.stderr.decode()}")
    return proc


def in_ns(ns, *args, check=True):
    return sh("ip", "netns", "exec", ns, *args, check=check)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip") and shutil.which("iptables"),
                     "needs root, ip and iptables")
class ProxyInitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        suffix = str(os.getpid())
        cls.pod = "trellis-init-pod-" + suffix
        cls.peer = "trellis-init-peer-" + suffix
        cls.tmp = tempfile.TemporaryDirectory()
        cls.servers = []
        sh("ip", "netns", "add", cls.pod)
        sh("ip", "netns", "add", cls.peer)
        # The veth pair is created inside the pod namespace: nothing appears on the host.
        in_ns(cls.pod, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
              "netns", cls.peer)
        for ns, ip in ((cls.pod, POD_IP), (cls.peer, PEER_IP)):
            in_ns(ns, "ip", "link", "set", "lo", "up")
            in_ns(ns, "ip", "addr", "add", ip + "/30", "dev", "eth0")
            in_ns(ns, "ip", "link", "set", "eth0", "up")
        cls.start_server(cls.pod, "4143:proxy-inbound", "4140:proxy-outbound", "8080:app",
                         "4191:admin")
        cls.start_server(cls.peer, "80:peer", "5432:peer-db")

    @classmethod
    def start_server(cls, ns, *specs):
        ready = os.path.join(cls.tmp.name, ns + ".ready")
        script = os.path.join(cls.tmp.name, "server.py")
        with open(script, "w") as f:
            f.write(SERVER)
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, script, *specs],
                                env={**os.environ, "READY_FILE": ready})
        cls.servers.append(proc)
        for _ in range(200):
            if os.path.exists(ready):
                return
            if proc.poll() is not None:
                raise AssertionError(f"listener in {ns} exited with {proc.returncode}")
            time.sleep(0.05)
        raise AssertionError(f"listener in {ns} did not start")

    @classmethod
    def tearDownClass(cls):
        for proc in cls.servers:
            proc.kill()
            proc.wait()
        for ns in (cls.pod, cls.peer):
            sh("ip", "netns", "del", ns, check=False)
        cls.tmp.cleanup()

    def connect(self, ns, host, port, uid=None):
        script = os.path.join(self.tmp.name, "client.py")
        with open(script, "w") as f:
            f.write(CLIENT)
        args = [sys.executable, script, host, str(port)] + ([str(uid)] if uid is not None else [])
        proc = in_ns(ns, *args)
        return proc.stdout.decode().strip()

    def init(self, outbound_ignore="5432"):
        return subprocess.run([ARGS.proxy, "init", "--netns", "/var/run/netns/" + self.pod,
                               "--inbound-ports-to-ignore", "4190,4191",
                               "--outbound-ports-to-ignore", outbound_ignore],
                              capture_output=True, timeout=60)

    def landed(self, ns, host, port, uid=None):
        """The name of the listener a connection reached (not redirected: where it was sent)."""
        return self.connect(ns, host, port, uid).split(" ")[0]

    def nat_rules(self):
        return in_ns(self.pod, "iptables-save", "-t", "nat").stdout.decode()

    def test_1_dry_run_changes_nothing(self):
        proc = subprocess.run([ARGS.proxy, "init", "--dry-run"], capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = proc.stdout.decode()
        self.assertIn("iptables -w -t nat -N PROXY_INIT_REDIRECT\n", out)
        self.assertIn("--uid-owner 2102 -j RETURN", out)
        self.assertNotIn("PROXY_INIT", self.nat_rules())
        # Before any rule, connections land where they are sent.
        self.assertEqual(self.landed(self.peer, POD_IP, 8080), "app")

    def test_2_redirection(self):
        proc = self.init()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Inbound to an app port lands on the proxy's inbound listener, original port kept.
        self.assertEqual(self.connect(self.peer, POD_IP, 8080), f"proxy-inbound {POD_IP}:8080")
        # Ignored inbound port (the admin port) is not redirected.
        self.assertEqual(self.landed(self.peer, POD_IP, 4191), "admin")
        # Outbound from the pod lands on the outbound listener, original destination kept.
        self.assertEqual(self.connect(self.pod, PEER_IP, 80), f"proxy-outbound {PEER_IP}:80")
        # The proxy's own user bypasses the redirect.
        self.assertEqual(self.landed(self.pod, PEER_IP, 80, uid=2102), "peer")
        # Another user does not.
        self.assertEqual(self.connect(self.pod, PEER_IP, 80, uid=2103),
                         f"proxy-outbound {PEER_IP}:80")
        # Loopback traffic (the proxy talking to the app) is never redirected.
        self.assertEqual(self.landed(self.pod, "127.0.0.1", 8080), "app")
        # Ignored outbound port.
        self.assertEqual(self.landed(self.pod, PEER_IP, 5432), "peer-db")

    def test_3_rerun_replaces_rules(self):
        self.assertEqual(self.init().returncode, 0)
        proc = self.init(outbound_ignore="80")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rules = self.nat_rules()
        self.assertEqual(rules.count("-j PROXY_INIT_REDIRECT"), 1, rules)
        self.assertEqual(rules.count("-j PROXY_INIT_OUTPUT"), 1, rules)
        self.assertEqual(rules.count("redirect-all-outgoing-to-proxy-port"), 1, rules)
        # The second run's settings are the ones in force: 80 is now skipped.
        self.assertEqual(self.landed(self.pod, PEER_IP, 80), "peer")
        self.assertEqual(self.init().returncode, 0)
        self.assertEqual(self.connect(self.pod, PEER_IP, 80), f"proxy-outbound {PEER_IP}:80")

    def test_4_errors_are_clear(self):
        proc = subprocess.run([ARGS.proxy, "init", "--inbound-ports-to-ignore", "http"],
                              capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b'--inbound-ports-to-ignore: invalid port "http"', proc.stderr)
        proc = subprocess.run([ARGS.proxy, "init", "--netns", "/nonexistent/netns"],
                              capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"cannot open network namespace /nonexistent/netns", proc.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
