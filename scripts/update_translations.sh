#!/usr/bin/env bash
# Extract every translatable string (Chinese msgids) and merge them into the English catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o grants/translations/messages.pot . >/dev/null 2>&1
.venv/bin/pybabel update -i grants/translations/messages.pot -d grants/translations -l en --no-fuzzy-matching >/dev/null 2>&1
.venv/bin/pybabel compile -f -d grants/translations >/dev/null 2>&1
untranslated=$(.venv/bin/python - <<'PY'
from babel.messages.pofile import read_po
with open("grants/translations/en/LC_MESSAGES/messages.po", "rb") as fh:
    cat = read_po(fh)
print(sum(1 for m in cat if m.id and not m.string))
PY
)
echo "English catalog updated; untranslated messages: $untranslated"
