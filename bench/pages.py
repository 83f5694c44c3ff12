"""Page speed as the desk grows: the Open queue (a manager's and an agent's), a filtered queue,
a search, a ticket page and the public submission.

For each desk size it creates a scratch PostgreSQL database, fills it (bench/seed.py), serves
the app with gunicorn and drives it with wrk (several concurrent connections), then prints
requests per second and p50/p99 latency. Run by hand, never in CI:

    make bench            # or: .venv/bin/python bench/pages.py --sizes 1000 100000

To time again without seeding again, name the database and keep it (it is filled only when it
holds fewer tickets than the size), and pick pages:

    .venv/bin/python bench/pages.py --sizes 100000 --database bench_mine --keep \
        --pages open_queue filtered_queue search

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and wrk (apt-get install wrk).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PORT = 58731

SUBMIT_LUA = r"""
local cookie, token, topic = "%(cookie)s", "%(token)s", "%(topic)s"
local counter = 0
request = function()
  counter = counter + 1
  local key = string.format("%%d-%%d-%%d", math.random(1, 1e9), counter, os.time())
  local body = "csrf_token=" .. token .. "&name=Bench+Customer&email=bench" .. math.random(1, 1e6) ..
    "%%40example.org&topic=" .. topic .. "&subject=Load+test+" .. counter ..
    "&description=Nothing+works+since+this+morning.&idempotency_key=" .. key
  return wrk.format("POST", "/new", {["Content-Type"] = "application/x-www-form-urlencoded",
                                     ["Cookie"] = cookie}, body)
end
"""


def sh(*cmd, env=None, check=True, capture=False):
    return subprocess.run(cmd, env=env, check=check, text=True,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None)


PAGES = ("open_queue", "agent_open_queue", "filtered_queue", "search", "ticket_page", "submission")


def scratch_db(name: str, keep: bool = False) -> str:
    """A fresh database of this name; with keep, the existing one (made if missing)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not keep:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not exists or not keep:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def ticket_count(db_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            if not conn.scalar(text("SELECT to_regclass('ticket') IS NOT NULL")):
                return 0
            return conn.scalar(text("SELECT count(*) FROM ticket"))
    finally:
        engine.dispose()


def wrk(url: str, seconds: int, connections: int, headers=(), script=None) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = sh(*cmd, url, capture=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": pct(50), "p99_ms": pct(99),
            "non_2xx": int(errors.group(1)) if errors else 0, "raw": out}


class Session:
    """A cookie-keeping client for logging in and reading a CSRF token."""

    def __init__(self, base: str):
        import http.cookiejar

        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        return self.opener.open(self.base + path).read().decode()

    def post(self, path: str, data: dict) -> str:
        body = urllib.parse.urlencode(data).encode()
        return self.opener.open(self.base + path, body).read().decode()

    def token(self, path: str) -> str:
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.get(path)).group(1)

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def serve_desk(db_url: str, tickets: int, workers: int, port: int, *gunicorn_args: str):
    """Fill the database, serve it with gunicorn and wait until it answers.
    Returns (server process, base URL, scratch instance folder); stop it with stop_desk()."""
    instance = tempfile.mkdtemp(prefix="helpdesk-bench-")
    env = {**os.environ, "HELPDESK_DATABASE_URL": db_url, "SECRET_KEY": "bench-only-secret",
           "HELPDESK_UPLOAD_DIR": instance, "HELPDESK_BASE_URL": f"http://127.0.0.1:{port}",
           # Measure the desk, not the abuse limits: one client address sends everything here.
           "HELPDESK_RATELIMIT": "0", "HELPDESK_MAX_OPEN_TICKETS": "0", "HELPDESK_LOG_LEVEL": "WARNING"}
    missing = tickets - ticket_count(db_url)
    if missing > 0:
        print(f"== {tickets} tickets: seeding {missing}", flush=True)
        sh(PY, str(ROOT / "bench" / "seed.py"), "--tickets", str(missing), env=env)
    server = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", *gunicorn_args, "app:app"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/login")
            break
        except OSError:
            time.sleep(0.2)
    return server, base, instance


def stop_desk(server, instance: str) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(10)
    shutil.rmtree(instance, ignore_errors=True)


def signed_in(base: str, email: str, password: str) -> Session:
    agent = Session(base)
    agent.post("/login", {"csrf_token": agent.token("/login"), "email": email, "password": password})
    return agent


def measure(size: int, seconds: int, connections: int, workers: int, pages=PAGES, database: str = "",
            keep: bool = False) -> dict:
    db_url = scratch_db(database or f"helpdesk_bench_{size}", keep)
    server, base, instance = serve_desk(db_url, size, workers, PORT)
    try:
        manager = signed_in(base, "manager@example.com", "demo-manager-1")
        queue = manager.get("/agent/")
        number = re.search(r"/agent/tickets/([A-Z0-9]{6})", queue).group(1)
        support = re.search(r'<option value="(\d+)"[^>]*>Support</option>', queue).group(1)
        cookie = [f"Cookie: {manager.cookie}"]
        tech = [f"Cookie: {signed_in(base, 'tech@example.com', 'demo-tech-1').cookie}"]
        customer = Session(base)
        form = customer.get("/new")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        topic = re.search(r'<option[^>]*value="(\d+)"[^>]*>General inquiry', form).group(1)
        script = Path(instance) / "submit.lua"
        script.write_text(SUBMIT_LUA % {"cookie": customer.cookie, "token": token, "topic": topic})
        runs = {
            "open_queue": lambda: wrk(f"{base}/agent/", seconds, connections, cookie),
            "agent_open_queue": lambda: wrk(f"{base}/agent/", seconds, connections, tech),
            # A department and a priority: about a tenth of the open tickets.
            "filtered_queue": lambda: wrk(f"{base}/agent/?department={support}&priority=high", seconds,
                                          connections, cookie),
            # Words of subjects; the search also looks at numbers and customers' names and emails.
            "search": lambda: wrk(f"{base}/agent/?q=printer", seconds, connections, cookie),
            "ticket_page": lambda: wrk(f"{base}/agent/tickets/{number}", seconds, connections, cookie),
            "submission": lambda: wrk(f"{base}/new", seconds, connections, script=str(script)),
        }
        results = {name: runs[name]() for name in pages}
    finally:
        stop_desk(server, instance)
    for name, r in results.items():
        print(f"  {name:<12} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.1f} ms   p99 {r['p99_ms']:7.1f} ms"
              f"   non-2xx/3xx {r['non_2xx']}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    parser.add_argument("--database", default="", help="database name (default helpdesk_bench_<size>)")
    parser.add_argument("--keep", action="store_true",
                        help="use the database as it is, only adding tickets up to the size")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    if args.database and len(args.sizes) > 1:
        sys.exit("--database takes one size")
    report = {size: measure(size, args.seconds, args.connections, args.workers, args.pages, args.database,
                            args.keep)
              for size in args.sizes}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"pages-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({str(k): {n: {x: y for x, y in r.items() if x != "raw"} for n, r in v.items()}
                                for k, v in report.items()}, indent=2))
    print("\n| page | " + " | ".join(f"{s} tickets: req/s, p50, p99" for s in args.sizes) + " |")
    for name in args.pages:
        cells = [f"{report[s][name]['rps']:.0f}/s, {report[s][name]['p50_ms']:.0f} ms, {report[s][name]['p99_ms']:.0f} ms"
                 for s in args.sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nSaved {path}")


if __name__ == "__main__":
    main()
