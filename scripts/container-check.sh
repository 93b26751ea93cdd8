#!/usr/bin/env bash
# `npm run container:check`: the containers, built and run, as a deployment would run them.
#  1. ../shared/tools/container-check.sh with SRC = this checkout: installs Podman and podman-compose from
#     Debian, builds local stand-ins for the base images (no container registry is reachable), builds the
#     Dockerfile, solves the README's example with an API and a worker container, then again with
#     docker-compose.yml. Needs root, Debian's packages and the npm registry; about 2-3 minutes.
#     It builds a clone of the checkout, so it checks the commit at HEAD: uncommitted changes are not in it.
#  2. the cluster end-to-end: a three-master Redis Cluster on loopback (redis-server --cluster-enabled yes,
#     redis-cli --cluster create), the image built in step 1 as the API and two worker containers on it,
#     and scripts/cluster-e2e.mjs against them (jobs solved, data spread over the masters, iterates, SSE,
#     list paging, idempotent resubmit, cancel, delete, a worker container SIGKILLed mid-solve). About 1 min.
# Extra environment goes through to the check: KEEP=1 keeps the images, API_PORT / REDIS_PORT move the
# ports, CLUSTER_PORT (default: the first free one from 47001) the first of the cluster's three.
# CLUSTER_ONLY=1 runs step 2 alone, on the levinv:local image a KEEP=1 run left.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHECK=${CONTAINER_CHECK:-$ROOT/../shared/tools/container-check.sh}
[ -f "$CHECK" ] || { echo "container:check: $CHECK not found (shared/tools beside the checkout)" >&2; exit 1; }
echo "container:check: $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-100)"
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]; then
  echo "container:check: uncommitted changes are not checked (the image is built from a clone of HEAD)" >&2
fi

# 1. (the image and the check's work directory stay for step 2; removed at the end unless KEEP=1)
W=${W:-$(mktemp -d)}
if [ "${CLUSTER_ONLY:-0}" != 1 ]; then
  SRC="$ROOT" W="$W" KEEP=1 bash "$CHECK"
fi

# 2. The cluster end-to-end, with the image of step 1.
API_PORT=${API_PORT:-43000}
# three free ports in a row (and their cluster bus ports, +10000)
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -z "${CLUSTER_PORT:-}" ]; then
  for CLUSTER_PORT in $(seq 47001 3 47301); do
    ok=1
    for p in $CLUSTER_PORT $((CLUSTER_PORT + 1)) $((CLUSTER_PORT + 2)); do
      free "$p" && free $((p + 10000)) || ok=0
    done
    [ $ok = 1 ] && break
  done
fi
PORTS="$CLUSTER_PORT,$((CLUSTER_PORT + 1)),$((CLUSTER_PORT + 2))"
NODES="127.0.0.1:$CLUSTER_PORT,127.0.0.1:$((CLUSTER_PORT + 1)),127.0.0.1:$((CLUSTER_PORT + 2))"
CW=$(mktemp -d)
CONTAINERS=(levinv-c-api levinv-w1 levinv-w2)
finish() {
  set +e
  podman rm -f "${CONTAINERS[@]}" >/dev/null 2>&1
  for port in ${PORTS//,/ }; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1; done
  rm -rf "$CW"
  if [ "${KEEP:-0}" != 1 ]; then
    podman rmi -f levinv:local redis:7 node:20-bookworm-slim debian:bookworm-slim >/dev/null 2>&1
    podman image prune -f >/dev/null 2>&1
    rm -rf "$W"
  fi
}
trap finish EXIT
printf '\n== cluster end-to-end: three masters on 127.0.0.1:%s\n' "$PORTS"
for port in ${PORTS//,/ }; do
  mkdir -p "$CW/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$CW/$port/nodes.conf" \
    --dir "$CW/$port" --save '' --appendonly no --daemonize yes --logfile "$CW/$port/log"
done
for port in ${PORTS//,/ }; do
  for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" ping >/dev/null 2>&1 || { echo "redis-server on $port did not start:"; tail -5 "$CW/$port/log"; exit 1; }
done
# shellcheck disable=SC2046
redis-cli --cluster create $(echo "$NODES" | tr ',' ' ') --cluster-replicas 0 --cluster-yes >"$CW/create.log"
for _ in $(seq 1 100); do
  redis-cli -p "$CLUSTER_PORT" cluster info | grep -q 'cluster_state:ok' && break
  sleep 0.1
done
ENVS=(-e "REDIS_URL=redis+cluster://$NODES" -e KEY_PREFIX=e2e)
WORKER_ENVS=(-e WORKER_CONCURRENCY=1 -e LOCK_DURATION_MS=2000 -e STALLED_INTERVAL_MS=1000)
podman run -d --name levinv-c-api --init --network=host "${ENVS[@]}" -e PORT="$API_PORT" -e HOST=127.0.0.1 \
  levinv:local >/dev/null
for w in levinv-w1 levinv-w2; do
  podman run -d --name "$w" --hostname "$w" --init --network=host "${ENVS[@]}" "${WORKER_ENVS[@]}" \
    levinv:local node dist/main/worker.js >/dev/null
done
if ! API="http://127.0.0.1:$API_PORT" PORTS="$PORTS" PREFIX=e2e IMAGE=levinv:local WORKERS=levinv-w1,levinv-w2 \
  node "$ROOT/scripts/cluster-e2e.mjs"; then
  for c in "${CONTAINERS[@]}"; do echo "--- $c"; podman logs --tail 20 "$c" 2>&1 | cut -c1-300; done
  exit 1
fi
# the healthchecks the compose file uses, on the cluster (the worker that was not killed)
podman exec levinv-c-api node dist/main/healthcheck.js api
for w in levinv-w1 levinv-w2; do
  if [ "$(podman container inspect -f '{{.State.Running}}' "$w")" = true ]; then
    podman exec "$w" node dist/main/healthcheck.js worker
  fi
done
podman stop -t 35 "${CONTAINERS[@]}" >/dev/null
echo "container:check: OK (containers, compose, cluster end-to-end)"
