#!/bin/sh
# Installs, with apt-get, the Debian 12 packages zmqkit needs to build and
# test, and only those that are missing. Run as root. Nothing is fetched from
# anywhere but the distribution's own archive.
set -eu

packages="g++ cmake make pkg-config
libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libcli11-dev doctest-dev
python3 python3-zmq python3-msgpack nlohmann-json3-dev libxxhash-dev
prometheus-cpp-dev prometheus
clang libclang-rt-14-dev
strace util-linux iproute2 iptables curl jq"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "zmqkit: all build and test packages are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "zmqkit: missing packages:$missing; run this script as root (or: sudo apt-get install$missing)" >&2
  exit 1
fi
echo "zmqkit: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # the list is meant to split into words
apt-get install -y -qq --no-install-recommends $missing >/dev/null
