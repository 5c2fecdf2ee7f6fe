#!/usr/bin/env bash
# Set up, upgrade the database, load the demo on first run, and serve on http://127.0.0.1:5000
# (with the scheduler process beside the web app once reminders exist).
set -euo pipefail
cd "$(dirname "$0")/.."
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
.venv/bin/flask --app wsgi run --host 127.0.0.1 --port "${PORT:-5000}" & pids+=($!)
wait -n "${pids[@]}"
