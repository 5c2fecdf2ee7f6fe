#!/usr/bin/env bash
# Set up and run the whole suite: once on SQLite, once on PostgreSQL. Browser tests run in Debian's
# Chromium. With CI=true nothing may be skipped: PostgreSQL is started if it is down.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

pg_url=${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
pg_up() { .venv/bin/python - "$pg_url" <<'PY'
import sys, psycopg
url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
}
if ! pg_up && [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
  echo ">> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi

# The abuse limits are tested against Redis, as production runs them (RATELIMIT_STORAGE_URI).
redis_up() { .venv/bin/python -c "import redis; redis.Redis.from_url('${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}', socket_connect_timeout=2).ping()" 2>/dev/null; }
if ! redis_up && command -v redis-server >/dev/null; then
  echo ">> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
  for _ in $(seq 1 20); do redis_up && break; sleep 0.25; done
fi

# The browser tests and those marked slow run once, in the PostgreSQL pass; without PostgreSQL the
# SQLite pass takes them (GRANTS_TEST_ALL=1) so that nothing goes untested.
have_pg=0; pg_up && have_pg=1
echo "== tests on SQLite"
GRANTS_TEST_ALL=$([ "$have_pg" = 1 ] && echo 0 || echo 1) GRANTS_TEST_DB=sqlite .venv/bin/python -m pytest "$@"
if [ "$have_pg" = 1 ] && pg_up; then
  echo "== tests on PostgreSQL"
  GRANTS_TEST_DB=postgresql TEST_POSTGRES_URL="$pg_url" .venv/bin/python -m pytest "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable at $pg_url and CI requires it" >&2
  exit 1
else
  echo "== PostgreSQL not reachable at $pg_url: its run was skipped (start it, or set TEST_POSTGRES_URL)"
fi
