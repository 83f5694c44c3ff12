"""A web worker's memory: the resident size (VmRSS) of a process that imported the app and
served a few requests of each kind, and which imports cost the most. Run by hand, never in CI:

    HELPDESK_DATABASE_URL=sqlite:////tmp/tp-bench.sqlite3 SECRET_KEY=x .venv/bin/python bench/rss.py

The desk must be seeded (bench/seed.py). The requests, through the test client: the sign-in, a
queue page, a ticket page, the public form (GET /new) and a submission (POST /new, which opens
a ticket). Then it prints VmRSS after the import and after the requests, the packages whose
imports took longest (python -X importtime, by top-level package) and how much memory each of
them adds to a process that has Flask and SQLAlchemy already. --top N shows more.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve_a_few() -> tuple[float, float]:
    """Import the app, serve each kind of request three times; RSS after import and after."""
    os.environ.setdefault("HELPDESK_RATELIMIT", "0")
    os.environ.setdefault("HELPDESK_MAX_OPEN_TICKETS", "0")
    os.environ.setdefault("HELPDESK_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    from app import app

    imported = rss_mib()
    token = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    agent = app.test_client()
    page = agent.get("/login").get_data(as_text=True)
    answer = agent.post("/login", data={"csrf_token": token.search(page).group(1),
                                        "email": "tech@example.com", "password": "demo-tech-1"})
    assert answer.status_code == 302, "sign-in failed: is the desk seeded?"
    customer = app.test_client()
    for i in range(3):
        queue = agent.get("/agent/")
        assert queue.status_code == 200
        number = re.search(r"/agent/tickets/([A-Z0-9]{6})", queue.get_data(as_text=True)).group(1)
        assert agent.get(f"/agent/tickets/{number}").status_code == 200
        form = customer.get("/new").get_data(as_text=True)
        topic = re.search(r'<option[^>]*value="(\d+)"[^>]*>General inquiry', form).group(1)
        sent = customer.post("/new", data={
            "csrf_token": token.search(form).group(1), "name": "Memory Check", "email": f"rss{i}@example.org",
            "topic": topic, "subject": "Printer offline", "description": "It stopped this morning.",
            "idempotency_key": os.urandom(8).hex()})
        assert sent.status_code in (200, 302), sent.status_code
    return imported, rss_mib()


def import_times(top: int) -> list[tuple[str, float, list[str]]]:
    """The packages `import app` loads that took longest to import: (package, ms of its own
    modules' import time, the modules of it that were loaded), from python -X importtime."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=ROOT,
                         capture_output=True, text=True, env=os.environ).stderr
    totals: dict[str, float] = defaultdict(float)
    modules: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            package = m.group(2).split(".")[0]
            totals[package] += int(m.group(1)) / 1000
            modules[package].append(m.group(2))
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return [(name, ms, modules[name]) for name, ms in ranked]


BASE = "import flask, flask_sqlalchemy, flask_login, flask_wtf, jinja2, sqlalchemy.orm"


def import_memory(modules: list[str]) -> float:
    """MiB of resident memory importing these modules adds to a process that has Flask and
    SQLAlchemy already (what every worker loads anyway)."""
    code = (f"import re, importlib\n{BASE}\n"
            "rss = lambda: int(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
            f"before = rss()\nfor name in {modules!r}: importlib.import_module(name)\n"
            "print((rss() - before) / 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=os.environ)
    return float(out.stdout.strip() or "nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    imported, served = serve_a_few()
    print(f"VmRSS after `from app import app`: {imported:.1f} MiB; after the requests: {served:.1f} MiB")
    print("\nSlowest imports (ms of their own modules, by top-level package) and the memory each adds "
          "beyond Flask and SQLAlchemy:")
    for name, ms, modules in import_times(args.top):
        extra = "" if name in ("app", "helpdesk") else f"{import_memory(modules):6.1f} MiB"
        print(f"  {name:<24} {ms:8.1f} ms  {len(modules):4d} modules  {extra}")


if __name__ == "__main__":
    main()
