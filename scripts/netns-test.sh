#!/usr/bin/env bash
# Runs one superstep tcp job with every rank on its own "host": a Linux network namespace
# with its own address on a private bridge and its own loopback, so that ranks can reach each
# other only over the (virtual) network: nothing can depend on a shared loopback or memory. Needs root and iproute2 (Debian: apt-get install iproute2).
#
#   scripts/netns-test.sh [P] [script] [script args...]      (default: 3 examples/hello.ts)
#
# Exit status: the first non-zero rank status, 0 if every rank succeeded, 77 if this machine
# refuses network namespaces (the message says why). Every namespace, link and process it
# creates is removed on exit, whatever happens.
set -uo pipefail
cd "$(dirname "$0")/.."
P=${1:-3}; shift || true
SCRIPT=${1:-examples/hello.ts}; shift || true
tag="ss$$"
net="10.$((200 + $$ % 50)).$(($$ / 50 % 250)).0"
prefix=${net%.0}
bridge="br-$tag"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for i in $(seq 0 $((P - 1))); do ip netns del "$tag-$i" 2>/dev/null; done
  ip link del "$bridge" 2>/dev/null
  return 0
}
trap cleanup EXIT INT TERM

if ! command -v ip >/dev/null 2>&1; then echo "netns-test: 'ip' (iproute2) is not installed"; exit 77; fi
if ! err=$(ip netns add "$tag-probe" 2>&1); then echo "netns-test: this machine refuses network namespaces: $err"; exit 77; fi
ip netns del "$tag-probe"
if ! err=$(ip link add "$bridge" type bridge 2>&1); then echo "netns-test: cannot create a bridge: $err"; exit 77; fi
ip link set "$bridge" up

for i in $(seq 0 $((P - 1))); do
  ns="$tag-$i"
  ip netns add "$ns"
  ip link add "v$tag-$i" type veth peer name eth0 netns "$ns"
  ip link set "v$tag-$i" master "$bridge" up
  ip -n "$ns" addr add "$prefix.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
  # Each namespace's loopback is its own: ranks reach each other only over eth0. (lo must be up
  # for a host to reach its own address, as rank 0 does when it hosts the coordinator.)
  ip -n "$ns" link set lo up
done

secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
coord="$prefix.10:7650"
echo "netns-test: $P ranks on $prefix.10..$prefix.$((9 + P)), coordinator $coord"
for i in $(seq 0 $((P - 1))); do
  ip netns exec "$tag-$i" env SUPERSTEP_RANK="$i" SUPERSTEP_SIZE="$P" SUPERSTEP_COORD="$coord" SUPERSTEP_SECRET="$secret" \
    SUPERSTEP_CONNECT_TIMEOUT_MS=60000 node --import tsx "$SCRIPT" "$@" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid"; s=$?
  if [ "$s" -ne 0 ] && [ "$status" -eq 0 ]; then status=$s; fi
done
pids=()
exit "$status"
