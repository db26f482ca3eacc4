"""What the end-to-end tests of the local runtime share: running commands, waiting, reading the
host's network state (to prove `trellis down` leaves nothing behind) and pod status."""

import os
import subprocess
import time


def sh(*cmd, check=True, timeout=120, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstdout: {r.stdout}\n"
                             f"stderr: {r.stderr}")
    return r


def wait_for(predicate, timeout=60, interval=0.3, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def host_state():
    """What a cluster may leave behind on the host: namespaces, links, routes, rules, dirs."""
    netns = sh("ip", "netns", "list").stdout
    links = sh("ip", "-o", "link", "show").stdout
    routes = sh("ip", "route", "show").stdout
    rules = sh("iptables-save", check=False).stdout
    etc = sorted(os.listdir("/etc/netns")) if os.path.isdir("/etc/netns") else []
    return netns, links, routes, rules, etc


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod["status"].get("conditions", []))
