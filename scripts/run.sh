#!/usr/bin/env bash
# Set up, upgrade the database, load the demo on first run, and serve on http://127.0.0.1:5000 with gunicorn
# (gunicorn.conf.py), the reminder scheduler process beside it.
#   scripts/run.sh            gunicorn: several workers, recycled after MAX_REQUESTS requests
#   scripts/run.sh --debug    Flask's development server instead: debugger, reloader, static files re-read
set -euo pipefail
cd "$(dirname "$0")/.."
debug=0
for arg in "$@"; do
  case "$arg" in
    --debug) debug=1 ;;
    *) echo "usage: scripts/run.sh [--debug]" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
export FLASK_APP=wsgi
.venv/bin/flask --app wsgi db upgrade
.venv/bin/flask --app wsgi demo --if-empty
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
if .venv/bin/flask --app wsgi scheduler --help >/dev/null 2>&1; then
  .venv/bin/flask --app wsgi scheduler run & pids+=($!)
fi
echo ">> serving on http://127.0.0.1:${PORT:-5000}"
if [ "$debug" = 1 ]; then
  echo ">> development server (--debug): never expose it"
  STATIC_AUTOREFRESH=1 .venv/bin/flask --app wsgi run --debug --host 127.0.0.1 --port "${PORT:-5000}" & pids+=($!)
else
  .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app & pids+=($!)
fi
wait -n "${pids[@]}"
