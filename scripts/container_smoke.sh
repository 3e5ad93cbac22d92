#!/usr/bin/env bash
# Smoke test of the Docker image: build it, start it, wait for /healthz, then an athlete signs
# up and a real running clip is analysed through the API (scripts/smoke.py).
#
#   scripts/container_smoke.sh [CLIP]   (default ../shared/clips/running/side_treadmill_barefoot.mov)
#
# Needs a Docker engine (`docker info` must answer) and the package index reachable from the
# build (pip install, and the pose model provisioned from the mediapipe wheel). Where no engine
# runs, scripts/installed_smoke.sh checks the same install path (the package installed outside
# the source tree, models provisioned into it, `stridelab serve`) on the host.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
CLIP="$(realpath "${1:-$ROOT/../shared/clips/running/side_treadmill_barefoot.mov}")"
PORT="${STRIDELAB_SMOKE_PORT:-18766}"
IMAGE="${STRIDELAB_SMOKE_IMAGE:-stridelab:smoke}"
NAME="stridelab-smoke-$$"
docker info >/dev/null 2>&1 || { echo "no Docker engine answers (docker info failed); scripts/installed_smoke.sh checks the install path without one" >&2; exit 2; }
[[ -f "$CLIP" ]] || { echo "no clip at $CLIP" >&2; exit 2; }
cleanup() { docker logs "$NAME" 2>&1 | tail -40 || true; docker rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

echo "== build $IMAGE"
docker build -t "$IMAGE" "$ROOT"
echo "== start it on port $PORT"
docker run -d --name "$NAME" -p "127.0.0.1:$PORT:8000" \
  -e STRIDELAB_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')" "$IMAGE"
echo "== smoke"
"$PY" "$ROOT/scripts/smoke.py" "http://127.0.0.1:$PORT" "$CLIP"
status="$(docker inspect --format '{{.State.Health.Status}}' "$NAME" 2>/dev/null || echo unknown)"
echo "container health: $status"
echo "container smoke test passed"
