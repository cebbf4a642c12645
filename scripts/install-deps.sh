#!/usr/bin/env bash
# Installs what building and testing need on Debian 12, skipping whatever is already there, so that
# `make run` and `make test` work on a fresh machine and cost nothing on a prepared one.
#   scripts/install-deps.sh          build and run deps
#   scripts/install-deps.sh --test   also test deps (chromium, redis-server, nginx + nchan, python test packages)
#   scripts/install-deps.sh --bench  also the benchmark peers (nginx + libnginx-mod-nchan; never started as a service)
set -euo pipefail

want_test=0
want_bench=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--bench" ] && want_bench=1

packages=(pkg-config libwebsockets-dev libssl-dev libcurl4-openssl-dev libhiredis-dev)
if [ "$want_test" = 1 ]; then
  # redis-server (with redis-cli): GatewayRedisTests start their own servers.
  packages+=(chromium cmake g++ make curl python3-venv redis-server)
fi

# nginx + nchan: the benchmark's peer, and the smoke run of chat-bench in `make test` runs it too.
want_nginx=0
if [ "$want_test" = 1 ] || [ "$want_bench" = 1 ]; then
  want_nginx=1
  packages+=(nginx libnginx-mod-nchan)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  # chat-bench starts nginx itself, on loopback, per run: keep the package from starting a
  # system-wide one on port 80 (Debian's policy-rc.d convention), unless a policy already exists.
  policy_added=0
  if [ "$want_nginx" = 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$policy_added" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi

if ! command -v swift >/dev/null; then
  echo "error: no Swift toolchain on PATH (Swift 6.x is expected, e.g. /opt/swift/usr/bin)" >&2
  exit 1
fi

if [ "$want_test" = 1 ]; then
  if ! python3 -c 'import websockets, pytest, playwright' 2>/dev/null; then
    echo "installing Python test packages (tests/requirements.txt)" >&2
    python3 -m pip install -q --disable-pip-version-check -r "$(dirname "$0")/../tests/requirements.txt"
  fi
fi
