#!/usr/bin/env bash
# Issue #28's figures in one run, the commands one after the other, for a quiet machine:
#
#     bash bench/quiet_run.sh [REVISION] [POSTGRESQL_SERVER_URL] > quiet.log 2>&1
#
# REVISION (default: main) is the earlier tree the start-up and scanner benches compare with. POSTGRESQL_SERVER_URL
# (default: postgresql+psycopg://postgres@127.0.0.1:5432) names a server on which the database quiet_import is
# dropped and created for the PostgreSQL import. Needs bench/work/large.apk (bench/make_large_apk.py) and the
# real-world corpus (python -m fixtures.corpus fetch); the preinstall image is built on the first run and kept for
# later ones (--keep --reuse). Prints `uptime` before each command: a figure is only as quiet as its load.
set -u
cd "$(dirname "$0")/.."
revision=${1:-main}
server=${2:-postgresql+psycopg://postgres@127.0.0.1:5432}
python=.venv/bin/python
corpus=${GATE_CORPUS:-$HOME/.cache/filing-gate/corpus}

"$python" -m compileall -q gate bench  # an installed gate has its bytecode; a checkout may not write it
step() { echo; echo "== $1 | $(date -u +%H:%M:%S) UTC |$(uptime)"; }

step "features vs zipfile"
"$python" bench/scanner_core.py bench/work/large.apk --repeat 9 --revision "$revision"
step "a gate process"
"$python" bench/startup.py "$corpus/app-uiautomator.apk" --revision "$revision" --runs 20
step "the public-suffix table, a process's first look-ups"
"$python" bench/suffix_first_lookup.py --revision "$revision" --runs 11 api.example.co.uk www.example.jp cdn.example.com
for run in 1 2 3; do
  step "HTTP checks, run $run"
  "$python" bench/http_service.py --uploads 600 --concurrency 4 --workers 2
done
step "1M filings, SQLite"
"$python" bench/import_filings.py --records 1000000
step "1M filings, PostgreSQL"
database="${server%/}/quiet_import"
"$python" - "$database" <<'PYTHON'
import sys
from sqlalchemy import create_engine, text
server, name = sys.argv[1].rsplit("/", 1)
engine = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    conn.execute(text(f'CREATE DATABASE "{name}"'))
PYTHON
"$python" bench/import_filings.py --records 1000000 --database-url "$database"
step "preinstall image"
"$python" bench/preinstall_images.py --keep --reuse --repeat 3
step "end"
