#!/usr/bin/env bash
# Until the first release the schema is one initial revision: regenerate it from the models.
# After the first release, add new revisions with `flask --app wsgi db migrate -m "..."` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/blank.sqlite" GRANTS_INSTANCE_DIR="$tmp" .venv/bin/flask --app wsgi db migrate -m "initial schema" --rev-id 0001 >/dev/null
rm -rf "$tmp"
ls migrations/versions
