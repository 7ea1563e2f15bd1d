#!/usr/bin/env bash
# Installs everything Raven needs on a fresh Debian 12 machine: the Debian packages of the
# real components, the npm dependencies (with the pinned Node 24), and nothing else.
# Idempotent and quick when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# etcd for the API server; containerd, runc, the CNI reference plugins, nftables, iproute2 and
# util-linux (nsenter) for real nodes; busybox-static, nginx-light, gcc and libc6-dev to build the
# sandbox's images (src/sandbox/images); socat and curl for port-forward and probes by hand;
# for the neutron backend, OpenStack Neutron and Octavia with the PostgreSQL and RabbitMQ they
# use, and the openstack CLI (src/sandbox/openstack runs them on 127.0.0.1); Keystone for the
# auth tests (test/support/keystone.ts).
packages=(etcd-server etcd-client openssl ca-certificates iproute2
  containerd runc busybox-static nginx-light containernetworking-plugins nftables util-linux
  gcc libc6-dev socat curl
  neutron-server octavia-api octavia-worker rabbitmq-server postgresql keystone
  python3-openstackclient python3-octaviaclient)
# One dpkg-query for all packages (not one per package): keeps a no-op run fast.
missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)
for p in "${packages[@]}"; do
  grep -qx "$p install ok installed" <<<"$installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The packages' postinst would start their services system-wide with stock configs (Neutron
  # and Octavia on 0.0.0.0, PostgreSQL, RabbitMQ): forbid it, unless the machine has a policy.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap '[ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.raven-installed-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
