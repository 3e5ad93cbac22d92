#!/usr/bin/env bash
# Installs (Debian packages) and starts the servers the test suite uses: PostgreSQL and Redis,
# on private ports with their data under .services/, so they never touch a system instance.
#   scripts/services.sh install | start | stop | env
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SVC="$ROOT/.services"
PG_PORT="${STRIDELAB_TEST_PG_PORT:-54329}"
REDIS_PORT="${STRIDELAB_TEST_REDIS_PORT:-63799}"
PG_DIR="$SVC/pg"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] || { echo "PostgreSQL is not installed" >&2; return 1; }
  echo "$d"
}

# As root, PostgreSQL refuses to run: run it as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  local need=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  if [ "${#need[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${need[*]}"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${need[@]}"
  fi
}

start_pg() {
  local bin; bin=$(pg_bin)
  mkdir -p "$SVC"
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    mkdir -p "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
    as_pg "$bin/initdb" -D "$PG_DIR" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PG_DIR"
  if ! as_pg "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PG_DIR" -w -t 60 -l "$PG_DIR/server.log" \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
  fi
  echo "PostgreSQL on 127.0.0.1:$PG_PORT"
}

start_redis() {
  mkdir -p "$SVC/redis"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$SVC/redis" \
      --save "" --appendonly no --logfile "$SVC/redis/redis.log" --pidfile "$SVC/redis/redis.pid"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  redis-cli -p "$REDIS_PORT" ping >/dev/null
  echo "Redis on 127.0.0.1:$REDIS_PORT"
}

stop() {
  if [ -f "$PG_DIR/PG_VERSION" ]; then as_pg "$(pg_bin)/pg_ctl" -D "$PG_DIR" -m fast stop >/dev/null 2>&1 || true; fi
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

env_lines() {
  echo "export STRIDELAB_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export STRIDELAB_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

case "${1:-}" in
  install) install ;;
  start) install; start_pg; start_redis ;;
  stop) stop ;;
  env) env_lines ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
