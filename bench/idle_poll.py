"""What idle agents cost: N agents with a queue page open, each polling its two live regions
(queue results and sidebar counts) every few seconds with If-None-Match, as the page does.

Creates a scratch PostgreSQL database, fills it (bench/seed.py), serves the app with gunicorn
(several workers), then runs two phases: idle (nothing changes) and busy (one ticket change
every few seconds, so every agent re-renders both regions once per change). For each phase it
prints the requests made, how many were 304, the latency of the check (p50/p99, client side)
and the server CPU used (gunicorn processes and PostgreSQL processes, from /proc). Run by hand,
never in CI:

    .venv/bin/python bench/idle_poll.py                 # 200 agents, 3 s, 60 s per phase
    .venv/bin/python bench/idle_poll.py --agents 50 --seconds 20

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pages import ROOT, Session, scratch_db, serve_desk, stop_desk  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
DB_NAME = "helpdesk_bench_idle"
LOGINS = [("manager@example.com", "demo-manager-1"), ("tech@example.com", "demo-tech-1"),
          ("admin@example.com", "demo-admin-1"), ("vendor@example.com", "demo-vendor-1"),
          ("sysadmin@example.com", "demo-sysadmin-1")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- CPU of the server's processes, from /proc ----------------------------------------------


def _stat(pid: int):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return cmdline, int(fields[1]), int(fields[11]) + int(fields[12])  # cmdline, ppid, utime+stime


def cpu_seconds(gunicorn_pid: int) -> dict:
    """CPU seconds used so far by gunicorn (master and workers) and by the PostgreSQL backends
    serving the benchmark's database (other databases on the server are not counted)."""
    stats = {int(p): _stat(int(p)) for p in os.listdir("/proc") if p.isdigit()}
    gunicorn = sum(s[2] for pid, s in stats.items() if s and (pid == gunicorn_pid or s[1] == gunicorn_pid))
    postgres = sum(s[2] for s in stats.values() if s and s[0].startswith("postgres:") and f" {DB_NAME} " in s[0])
    return {"gunicorn": gunicorn / TICK, "postgres": postgres / TICK}


# --- the simulated agents --------------------------------------------------------------------


async def request(port: int, path: str, cookie: str, etag: str | None):
    headers = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", f"Cookie: {cookie}", "HX-Request: true",
               "Connection: close"]
    if etag:
        headers.append(f"If-None-Match: {etag}")
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    elapsed = time.perf_counter() - started
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split(" ", 2)[1])
    match = re.search(r"^ETag: (.+)$", head, re.M | re.I)
    return status, match.group(1).strip() if match else etag, elapsed


async def agent(port, regions, cookie, interval, stop_at, results):
    """One idle agent: both regions every `interval` seconds, each with the ETag it last got."""
    etags = dict(regions)
    await asyncio.sleep(random.uniform(0, interval))  # pages were opened at different moments
    while time.monotonic() < stop_at:
        began = time.monotonic()
        for path in list(etags):
            try:
                status, etags[path], elapsed = await request(port, path, cookie, etags[path])
            except OSError:
                results["errors"] += 1
                continue
            results["latency"].append(elapsed)
            results["status"][status] = results["status"].get(status, 0) + 1
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))


async def run_agents(port, sessions, agents, interval, seconds):
    results = {"latency": [], "status": {}, "errors": 0}
    stop_at = time.monotonic() + seconds
    tasks = [agent(port, *sessions[i % len(sessions)], interval, stop_at, results) for i in range(agents)]
    await asyncio.gather(*tasks)
    return results


# --- changes made elsewhere --------------------------------------------------------------------


def changer(url: str, every: float, stop: threading.Event, made: list):
    """One ticket change every `every` seconds, through the lifecycle (notes and new tickets)."""
    from sqlalchemy import select

    from helpdesk import create_app, tickets
    from helpdesk.extensions import db
    from helpdesk.models import Agent, HelpTopic, Ticket

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_BACKGROUND_SENDER": False})
    with app.app_context():
        manager = db.session.scalar(select(Agent).where(Agent.email == "manager@example.com"))
        topic = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "General inquiry"))
        while not stop.wait(every):
            if len(made) % 2:
                ticket = db.session.scalar(select(Ticket).where(Ticket.status == "open").limit(1))
                tickets.add_note(manager, ticket, "Checked again.")
            else:
                tickets.open_ticket(name="Bench", email="bench@example.org", subject=f"Bench change {len(made)}",
                                    body="Something broke.", topic=topic)
            made.append(time.time())
        db.session.remove()


def phase(name, port, pid, sessions, args, url=None):
    stop, made = threading.Event(), []
    thread = None
    if url:
        thread = threading.Thread(target=changer, args=(url, args.change_every, stop, made), daemon=True)
        thread.start()
    before, started = cpu_seconds(pid), time.monotonic()
    results = asyncio.run(run_agents(port, sessions, args.agents, args.interval, args.seconds))
    wall = time.monotonic() - started
    after = cpu_seconds(pid)
    stop.set()
    if thread:
        thread.join(10)
    lat = sorted(results["latency"])
    total = len(lat)

    def pct(p):
        return lat[min(total - 1, int(p / 100 * total))] * 1000 if total else float("nan")

    row = {
        "phase": name, "agents": args.agents, "interval_s": args.interval, "seconds": round(wall, 1),
        "changes": len(made), "requests": total, "req_per_s": round(total / wall, 1),
        "status": results["status"], "errors": results["errors"],
        "share_304": round(results["status"].get(304, 0) / total, 3) if total else 0,
        "p50_ms": round(pct(50), 2), "p99_ms": round(pct(99), 2),
        "cpu_gunicorn_pct": round(100 * (after["gunicorn"] - before["gunicorn"]) / wall, 1),
        "cpu_postgres_pct": round(100 * (after["postgres"] - before["postgres"]) / wall, 1),
    }
    row["cpu_total_pct"] = round(row["cpu_gunicorn_pct"] + row["cpu_postgres_pct"], 1)
    print(f"  {name:<5} {row['requests']:6d} requests ({row['req_per_s']}/s), {row['changes']} changes, "
          f"304: {100 * row['share_304']:.1f}%, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
          f"CPU gunicorn {row['cpu_gunicorn_pct']}% + postgres {row['cpu_postgres_pct']}% "
          f"= {row['cpu_total_pct']}% of one core", flush=True)
    print(f"        load average during the phase: {os.getloadavg()[0]:.1f} (other processes share the machine)",
          flush=True)
    row["loadavg_1min"] = round(os.getloadavg()[0], 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between a page's polls")
    parser.add_argument("--seconds", type=int, default=60, help="length of each phase")
    parser.add_argument("--change-every", type=float, default=3.0, help="seconds between changes (busy phase)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tickets", type=int, default=1000)
    args = parser.parse_args()

    port = free_port()
    url = scratch_db(DB_NAME)
    server, base, instance = serve_desk(url, args.tickets, args.workers, port)
    try:
        sessions = []
        for email, password in LOGINS:
            s = Session(base)
            s.post("/login", {"csrf_token": s.token("/login"), "email": email, "password": password})
            page = s.get("/agent/")
            regions = []
            for region in ("results", "queue_counts"):
                tag = re.search(rf'<[a-z]+ id="{region}"[^>]*>', page, re.S).group(0)
                path = re.search(r'hx-get="([^"]+)"', tag).group(1).replace("&amp;", "&")
                etag = json.loads(re.search(r"hx-headers='([^']+)'", tag).group(1).replace("&#34;", '"'))
                regions.append((path, etag["If-None-Match"]))
            sessions.append((regions, s.cookie))
        print(f"== {args.agents} agents, both regions every {args.interval:g} s, {args.workers} gunicorn workers, "
              f"{args.seconds} s per phase", flush=True)
        report = [phase("idle", port, server.pid, sessions, args),
                  phase("busy", port, server.pid, sessions, args, url=url)]
    finally:
        stop_desk(server, instance)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"idle-poll-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nSaved {path}")


if __name__ == "__main__":
    main()
