#!/bin/sh
# `make demo`: brings the meshed demo up in the local runtime and says what to look at.
# Usage: examples/demo/up.sh BIN_DIR   (as root, or with sudo available)
# Re-runnable: with a cluster already up, the manifests are applied to it.
set -eu
cd "$(dirname "$0")/../.."
BIN=$(cd "${1:-build/bin}" && pwd)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
T="$SUDO $BIN/trellis"
S=""
[ -z "$SUDO" ] || S="sudo "

"$BIN/trellis" validate -f examples/
if $T get ns >/dev/null 2>&1; then
  echo "A Trellis cluster is already running on this machine: applying examples/demo to it"
  echo "(start from scratch with: ${S}$BIN/trellis down && make demo)"
fi
$T up -f examples/demo --bin-dir "$BIN" --timeout 3m

R="${S}$BIN/trellis"
cat <<MSG

The demo is up and meshed: every pod in namespace demo runs its app next to a trellis-proxy
sidecar (mTLS between pods, identities from trellis-control). The load generator calls the
frontend, which calls users (HTTP/1, TrafficSplit 90% v1 / 10% v2) and catalog (gRPC).

Look at it:
  $R get pods -n demo -o wide                 # READY 2/2 = app + proxy
  $R get all -n demo                          # pods, services, deployments
  $R logs -n demo deploy/load                 # the load generator's summaries
  $R logs -n demo deploy/frontend -c trellis-proxy

Try:
  $R exec -n demo deploy/load -- curl -s http://frontend.demo/      # through both proxies
  $R exec -n demo deploy/users-v1 -- curl -s localhost:4191/metrics | grep '^request_total'
  $R exec -n demo deploy/catalog -- curl -s localhost:4191/metrics | grep 'tls="true"'
  curl -s http://198.18.255.254:9996/api/v1/status                  # the control plane
  $BIN/trellis validate -f examples/demo && less examples/demo/20-users.yaml

Logs of the runtime and the control plane: /run/trellis/daemon.log, /run/trellis/control.log
Stop everything:
  $R down
MSG
