"""The live poll of an open queue page against the hello-world baseline, with the side-by-side
benchmark's server settings (gunicorn, 2 sync workers) and wrk as the load generator.

When nothing changed, the page's two live regions (the queue's results and the navigation
counts) ask every few seconds with the ETag of what they show and get 304 Not Modified. This
serves a copy of a seeded desk (bench/seed.py), signs in as the demo admin, takes each region's
URL and ETag as the page gives them, then runs wrk on each with the headers htmx sends, and on
the hello-world app of ../shared/bench/baseline. Run by hand, never in CI:

    .venv/bin/python bench/live_poll.py --database /tmp/sbs-ours/db_1000000.sqlite3
    .venv/bin/python bench/live_poll.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_1000

Prints requests per second and latency per URL, the share of 304 answers, and each URL's rate
as a share of the baseline's.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT.parent / "shared" / "bench" / "baseline"
WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: str, cwd: Path, env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), app, "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"], cwd=cwd, env={**os.environ, **env}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/", timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.1)
    return process, url


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def wrk(url: str, headers: dict, seconds: int, connections: int, status_of: str | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_LUA)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url]
    for name, value in headers.items():
        command[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    requests, micros, p50, p99 = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)", out).groups()
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": int(requests) / (int(micros) / 1e6), "p50_ms": float(p50), "p99_ms": float(p99),
            "requests": int(requests), "errors": int(non_2xx.group(1)) if non_2xx else 0}


def sign_in(base: str) -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"email": "admin@example.com", "password": "demo-admin-1", **({"csrf_token": token.group(1)} if token else {})}
    opener.open(base + "/login", urllib.parse.urlencode(form).encode())
    return opener, jar


def regions(opener, base: str) -> list[tuple[str, str, dict]]:
    """(name, URL, headers) of each live region of the Open queue page, as htmx sends them."""
    page = opener.open(base + "/agent/").read().decode()
    found = []
    for region in ("results", "queue_counts"):
        tag = re.search(rf'<[^>]+id="{region}"[^>]*>', page, re.S)
        if not tag:
            continue
        attrs = {name: double or single for name, double, single
                 in re.findall(r'([\w-]+)=(?:"([^"]*)"|\'([^\']*)\')', tag.group(0))}
        headers = json.loads(unescape(attrs.get("hx-headers", "{}")))
        headers.update({"HX-Request": "true", "HX-Trigger": region, "HX-Current-URL": base + "/agent/"})
        found.append((region, base + unescape(attrs["hx-get"]), headers))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a seeded SQLite file (copied) or a PostgreSQL URL")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="live-poll-")
    url = args.database
    if "://" not in url:
        shutil.copyfile(url, os.path.join(work, "desk.sqlite3"))
        url = f"sqlite:///{work}/desk.sqlite3"
    env = {"HELPDESK_DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "HELPDESK_RATELIMIT": "0",
           "HELPDESK_LOG_LEVEL": "WARNING", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": "9",
           "HELPDESK_UPLOAD_DIR": os.path.join(work, "files")}
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "app", "db", "upgrade"], cwd=ROOT,
                   env={**os.environ, **env}, check=True, capture_output=True)
    desk, base = serve("app:app", ROOT, env, args.workers)
    hello, hello_url = serve("hello_wsgi:app", BASELINE, {}, args.workers)
    try:
        opener, jar = sign_in(base)
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        load = open("/proc/loadavg").read().split()[:3]
        print(f"load before: {' '.join(load)}")
        baseline = wrk(hello_url + "/", {}, args.seconds, args.connections)
        print(f"{'hello-world baseline':28s} {baseline['rps']:8.1f} req/s  p50 {baseline['p50_ms']:6.2f} ms  "
              f"p99 {baseline['p99_ms']:6.2f} ms")
        for name, poll_url, headers in regions(opener, base):
            check = urllib.request.Request(poll_url, headers={**headers, "Cookie": cookie})
            try:
                status = urllib.request.urlopen(check).status
            except urllib.error.HTTPError as answer:
                status = answer.code
            result = wrk(poll_url, {**headers, "Cookie": cookie}, args.seconds, args.connections)
            print(f"{'poll ' + name + ' (' + str(status) + ')':28s} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                  f"p99 {result['p99_ms']:6.2f} ms  {result['rps'] / baseline['rps']:.2f}x baseline"
                  + (f"  ({result['errors']} non-2xx/3xx)" if result["errors"] else ""))
        print(f"load after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    finally:
        stop(desk)
        stop(hello)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
