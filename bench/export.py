"""Queue export speed and memory: a scratch desk of N tickets, all in the Open queue, exported as CSV.

    .venv/bin/python bench/export.py --tickets 100000              # SQLite file in a scratch folder
    .venv/bin/python bench/export.py --tickets 100000 --postgres   # scratch PostgreSQL database

Fills the desk with bench/seed.py, moves every ticket into the Open queue (so one export holds all
of them), then downloads /agent/queue/open/export.csv as the manager through the app (test client,
response consumed piece by piece as a browser would) and prints: rows, size, time to the first
piece and to the end, the process's peak RSS growth, and the peak of Python allocations during
the export next to what holding all rows at once would take. Run by hand, never in CI.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import PY, scratch_db, sh  # noqa: E402


def rss_mb(field: str = "VmHWM") -> float:
    """This process's resident memory (VmRSS) or its peak (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_rss_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: 5 > /proc/self/clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def _has_tickets(url: str) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM ticket")).scalar())
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def download(client) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get("/agent/queue/open/export.csv?sort=updated&dir=desc", buffered=False)
    assert response.status_code == 200, response.status_code
    first, size, lines = None, 0, 0
    for piece in response.response:
        if first is None:
            first = time.perf_counter() - start
        size += len(piece)
        lines += piece.count(b"\r\n")
    response.close()
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "first_ms": first * 1000,
            "bytes": size, "rows": lines - 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="a scratch PostgreSQL database on 127.0.0.1:5432")
    parser.add_argument("--database", help="use (and keep) this database URL; seeded only while it has no tickets")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="helpdesk-export-bench-")
    if args.database:
        url = args.database
    else:
        url = scratch_db("helpdesk_bench_export") if args.postgres else f"sqlite:///{scratch}/bench.db"
    os.environ.update(HELPDESK_DATABASE_URL=url, SECRET_KEY="bench-only-secret", HELPDESK_UPLOAD_DIR=scratch,
                      HELPDESK_LOG_LEVEL="WARNING", HELPDESK_RATELIMIT="0")
    try:
        print(f"== {args.tickets} tickets on {url.split(':')[0]}", flush=True)
        if not (args.database and _has_tickets(url)):
            sh(PY, str(ROOT / "bench" / "seed.py"), "--tickets", str(args.tickets))

        from sqlalchemy import func, select, update

        from helpdesk import create_app
        from helpdesk.extensions import db
        from helpdesk.models import Ticket
        from helpdesk.tickets import export

        app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
        with app.app_context():
            db.session.execute(update(Ticket).values(status="open", resolved_at=None, closed_at=None))
            db.session.commit()
            total = db.session.scalar(select(func.count(Ticket.id)))
            db.session.remove()
        client = app.test_client()
        assert client.post("/login", data={"email": "manager@example.com",
                                           "password": "demo-manager-1"}).status_code == 302

        client.get("/agent/queue/open/export.csv?q=warm-up").close()  # imports, first connection
        reset_rss_peak()
        before = rss_mb("VmRSS")
        plain = download(client)
        rss_growth = rss_mb("VmHWM") - before
        assert plain["rows"] == total, (plain["rows"], total)

        tracemalloc.start()
        traced = download(client)
        streamed_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.reset_peak()
        with app.test_request_context():
            rows = db.session.execute(export._columns(export.utcnow())).all()  # every ticket is in Open
            all_at_once_peak = tracemalloc.get_traced_memory()[1] / 2**20
            del rows
            db.session.remove()
        tracemalloc.stop()

        print(f"  rows exported          {plain['rows']:>10,}   ({plain['bytes'] / 2**20:.1f} MB of CSV)")
        print(f"  time to first piece    {plain['first_ms']:>10.0f} ms")
        print(f"  time to the last row   {plain['seconds']:>10.2f} s   ({plain['rows'] / plain['seconds']:,.0f} rows/s,"
              f" {plain['cpu']:.1f} s of CPU)")
        print(f"  peak RSS growth        {rss_growth:>10.1f} MB   (from {before:.0f} MB before the download)")
        print(f"  Python peak, streamed  {streamed_peak:>10.1f} MB   (under tracemalloc: {traced['seconds']:.1f} s)")
        print(f"  Python peak, all rows  {all_at_once_peak:>10.1f} MB   (the same query read at once, for scale)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if args.postgres and not args.database:
            from pages import PG_ADMIN
            from sqlalchemy import create_engine, text

            # WITH (FORCE) also ends this process's own pooled connections.
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text('DROP DATABASE IF EXISTS "helpdesk_bench_export" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
