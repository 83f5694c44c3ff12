#!/usr/bin/env bash
# The side-by-side comparison with django-helpdesk, in one command: the harness of
# ../shared/bench (copied to $SBS), the peer's desks and ours seeded with the same shape where
# they are missing, then for each size the peer and this desk back to back, with the machine's
# load before and after each run. Run by hand from the checkout (its .venv built), never in CI:
#
#   bench/side_by_side.sh 1000 100000 1000000
#
# Environment:
#   SBS        where the harness is copied and its results/ written (default /tmp/sbs)
#   PEER_DIR   the peer's venv and desks (default /tmp/sbs-peer); PEER_SIZES: the sizes the peer
#              is measured at (default: 1000 100000; a million takes the peer hours to seed)
#   OURS_DIR   this desk's SQLite desks db_<N>.sqlite3 (default /tmp/sbs-ours)
#   OURS_PG    a PostgreSQL server URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432): this
#              desk is measured on database bench_<N> there too (seeded when missing)
#   QUEUES     this desk's queues for the list scenario (default: open mine unassigned overdue
#              unassigned?department=1, the last a filtered queue)
#   ARGS       harness arguments (default: the issue's settings, 8 clients, 15 s after 2 s)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SBS="${SBS:-/tmp/sbs}"
PEER_DIR="${PEER_DIR:-/tmp/sbs-peer}"
OURS_DIR="${OURS_DIR:-/tmp/sbs-ours}"
PEER_SIZES="${PEER_SIZES:-1000 100000}"
QUEUES="${QUEUES:-open mine unassigned overdue unassigned?department=1}"
ARGS="${ARGS:---concurrency 8 --duration 15 --warmup 2}"
SIZES=("$@"); [ ${#SIZES[@]} -eq 0 ] && SIZES=(1000 100000 1000000)
PY="$ROOT/.venv/bin/python"

[ -d "$SBS" ] || cp -r "$ROOT/../shared/bench" "$SBS"
mkdir -p "$SBS/results" "$OURS_DIR" "$PEER_DIR"
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg) ($1)"; }

seed_ours() {  # $1: N, $2: database URL
  HELPDESK_DATABASE_URL="$2" SECRET_KEY=bench "$PY" "$ROOT/bench/seed.py" --tickets "$1" --mix sbs | tail -1
}

for N in "${SIZES[@]}"; do
  echo "=== $N tickets"
  if [[ " $PEER_SIZES " == *" $N "* ]]; then
    [ -f "$PEER_DIR/db_${N}.sqlite3" ] || PEER_DIR="$PEER_DIR" bash "$SBS/peer/django_helpdesk/setup.sh" "$N"
    load "before the peer"
    PEER_DIR="$PEER_DIR" bash "$SBS/run_peer.sh" "$N" --scenarios list,detail,submit $ARGS \
      --json-out "$SBS/results/peer_n$N.json"
    load "after the peer"
  fi
  DB="$OURS_DIR/db_${N}.sqlite3"
  [ -f "$DB" ] || seed_ours "$N" "sqlite:///$DB"
  HELPDESK_DATABASE_URL="sqlite:///$DB" SECRET_KEY=bench "$ROOT/.venv/bin/flask" --app app db upgrade 2>/dev/null
  first=1
  for Q in $QUEUES; do
    scenarios=list; [ $first = 1 ] && scenarios=list,detail,submit; first=0
    load "before ours on SQLite, queue $Q"
    PROJECT="$ROOT" OURS_DIR="$OURS_DIR" OURS_PG= NO_BASELINE=$([ "$Q" = open ] && echo 0 || echo 1) \
      bash "$SBS/run_ours.sh" "$N" --scenarios "$scenarios" $ARGS --opt "queue=$Q" \
      --json-out "$SBS/results/ours_sqlite_n${N}_${Q//[^a-z0-9]/_}.json"
  done
  load "after ours on SQLite"
  if [ -n "${OURS_PG:-}" ]; then
    URL="$OURS_PG/bench_$N"
    if ! psql "${URL/postgresql+psycopg:/postgresql:}" -Atc "SELECT 1 FROM ticket LIMIT 1" >/dev/null 2>&1; then
      psql "${OURS_PG/postgresql+psycopg:/postgresql:}/postgres" -qc "CREATE DATABASE bench_$N" || true
      seed_ours "$N" "$URL"
    fi
    HELPDESK_DATABASE_URL="$URL" SECRET_KEY=bench "$ROOT/.venv/bin/flask" --app app db upgrade 2>/dev/null
    first=1
    for Q in $QUEUES; do
      scenarios=list; [ $first = 1 ] && scenarios=list,detail,submit; first=0
      load "before ours on PostgreSQL, queue $Q"
      PROJECT="$ROOT" OURS_DIR="$OURS_DIR" OURS_PG="$URL" NO_BASELINE=1 \
        bash "$SBS/run_ours.sh" "$N" --scenarios "$scenarios" $ARGS --opt "queue=$Q" \
        --json-out "$SBS/results/ours_pg_n${N}_${Q//[^a-z0-9]/_}.json"
    done
    load "after ours on PostgreSQL"
  fi
done
