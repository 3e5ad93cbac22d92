#!/usr/bin/env bash
# The container's install path without a container engine: the package built and installed
# outside the repository (as the Dockerfile's `pip install .`), the pose models provisioned
# into the installed package (from the local cache: no download), the source tree out of
# reach (run from a scratch directory with only the installed copy importable), then
# `stridelab serve` started and scripts/smoke.py run against it with a real clip.
#
#   scripts/installed_smoke.sh [CLIP]   (default ../shared/clips/running/side_treadmill_barefoot.mov)
#
# Needs the dev venv (.venv, `make install`). tests/test_installed.py runs it in `make test`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
CLIP="$(realpath "${1:-$ROOT/../shared/clips/running/side_treadmill_barefoot.mov}")"
PORT="${STRIDELAB_SMOKE_PORT:-$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ -z "${KEEP_SMOKE_DIR:-}" ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT
[[ -f "$CLIP" ]] || { echo "no clip at $CLIP" >&2; exit 2; }

echo "== build and install the package into $WORK/site"
"$PY" -m pip wheel --quiet --no-deps --no-build-isolation -w "$WORK/wheel" "$ROOT"
"$PY" -m pip install --quiet --no-deps --target "$WORK/site" "$WORK"/wheel/*.whl
# The installed package must carry its migrations and nothing of the source tree.
test -d "$WORK/site/backend/migrations/versions"
mkdir -p "$WORK/run"
cd "$WORK/run"
export PYTHONPATH="$WORK/site" PYTHONSAFEPATH=1
# The editable install in the dev venv points at the source tree: make sure the installed copy
# is what runs.
"$PY" -c "import backend, sys; p = backend.__file__; print('backend from', p); sys.exit(0 if p.startswith('$WORK/site') else 1)"

echo "== provision the pose models into the installed package (local cache, no download)"
"$PY" -m ml_models.provision --from-dir "$ROOT/ml_models/.cache"

echo "== start stridelab serve (embedded SQLite, in-process worker) on port $PORT"
export STRIDELAB_DATA_DIR="$WORK/data" STRIDELAB_ENVIRONMENT=production
unset STRIDELAB_DATABASE_URL STRIDELAB_REDIS_URL STRIDELAB_MODELS_DIR STRIDELAB_FRONTEND_DIR || true
"$WORK/site/bin/stridelab" serve --host 127.0.0.1 --port "$PORT" > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!

echo "== smoke: healthz, sign up, upload $(basename "$CLIP"), analysis, plan"
if ! "$PY" "$ROOT/scripts/smoke.py" "http://127.0.0.1:$PORT" "$CLIP"; then
  echo "---- server log" >&2; tail -50 "$WORK/serve.log" >&2; exit 1
fi
echo "installed smoke test passed"
