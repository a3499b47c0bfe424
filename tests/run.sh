#!/usr/bin/env bash
# The whole test suite, from a fresh clone with only Python 3.11+:
#   lint and format (ruff), types (mypy --strict), unit + integration + end-to-end tests on the
#   embedded PostgreSQL, the integration and end-to-end tests again on the machine's own
#   PostgreSQL at 127.0.0.1:5432 when one answers, schemathesis over the served OpenAPI
#   document for every role (tests/fuzz_api.py), the benchmark smoke run, and the
#   ten-minute mixed soak of issue 7 (CREDITBANK_SOAK_MINUTES=N runs it for N minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'

# The console's browser tests drive Debian's Chromium through Playwright (never a browser
# Playwright would download), with CJK fonts so Chinese renders in their screenshots.
if [ ! -x /usr/bin/chromium ] || ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed"; then
  echo "== installing Chromium and Noto CJK fonts (apt-get) for the console's browser tests"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk
fi

echo "== ruff (lint and format)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy --strict"
.venv/bin/mypy

echo "== tests on the embedded PostgreSQL"
.venv/bin/pytest -q -p no:cacheprovider

LOCAL_PG=${CREDITBANK_LOCAL_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
if .venv/bin/python - "$LOCAL_PG" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
then
  echo "== integration and end-to-end tests on the machine's PostgreSQL ($LOCAL_PG)"
  CREDITBANK_TEST_DATABASE_URL="$LOCAL_PG" .venv/bin/pytest -q -p no:cacheprovider tests/integration tests/e2e
else
  echo "== no PostgreSQL at $LOCAL_PG; skipped the second run"
fi

echo "== property-based API fuzzing from the served OpenAPI document (schemathesis, every role)"
.venv/bin/python -m tests.fuzz_api

if [ -f bench/run.py ]; then
  echo "== benchmark smoke run (quick mode, no speed thresholds)"
  .venv/bin/python -m bench.run --quick --out "${TMPDIR:-/tmp}/creditbank-bench-quick.md"
fi

echo "== mixed soak (issue 7), ${CREDITBANK_SOAK_MINUTES:-10} minutes"
.venv/bin/python -m bench.soak --minutes "${CREDITBANK_SOAK_MINUTES:-10}" --out "${TMPDIR:-/tmp}/creditbank-soak.md"
