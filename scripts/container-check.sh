#!/usr/bin/env bash
# `npm run container:check`: the containers, built and run (tracker issue #7).
#  1. ../shared/tools/container-check.sh with SRC = this checkout: installs Podman and podman-compose from
#     Debian, builds local stand-ins for the base images (no container registry is reachable), builds the
#     Dockerfile, solves the README's example with an API and a worker container, then again with
#     docker-compose.yml. Needs root, Debian's packages and the npm registry; about 2-3 minutes.
#     It builds a clone of the checkout, so it checks the commit at HEAD: uncommitted changes are not in it.
#  2. (to come) the cluster end-to-end.
# Extra environment goes through to the check: KEEP=1 keeps the images, API_PORT / REDIS_PORT move the ports.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHECK=${CONTAINER_CHECK:-$ROOT/../shared/tools/container-check.sh}
[ -f "$CHECK" ] || { echo "container:check: $CHECK not found (shared/tools beside the checkout)" >&2; exit 1; }
echo "container:check: $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-100)"
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]; then
  echo "container:check: uncommitted changes are not checked (the image is built from a clone of HEAD)" >&2
fi

SRC="$ROOT" bash "$CHECK"

# The cluster end-to-end goes here.
