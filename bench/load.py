"""Load test: 32 concurrent clients for 60 s on PostgreSQL with several gunicorn workers, a mix
of ticket submissions (some sent twice, as a double click), customer replies, assignments and
queue views; then checks that nothing was lost or doubled. Run by hand, never in CI:

    .venv/bin/python bench/load.py                     # 32 clients, 60 s, 4 workers
    .venv/bin/python bench/load.py --clients 16 --seconds 20

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust). Rate limits are off for the run
(all clients share one address); everything else is as in production.

Checks: no 5xx and no failed connection; every acknowledged submission is exactly one ticket
(double submits included); ticket numbers unique; exactly one acknowledgement mail per ticket
and one alert per alert-worthy event (nothing queued twice). 409 answers (two managers assigning
the same ticket at once) are the lifecycle refusing a stale form, and are counted, not errors.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import secrets
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pages import ROOT, scratch_db, serve_desk, stop_desk  # noqa: E402

PORT = 58741
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    """A browser: cookies, CSRF tokens, and a record of every answer."""

    def __init__(self, base: str, stats: "Stats"):
        self.base, self.stats = base, stats
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, kind: str, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, body, timeout=30) as response:
                status, text, url = response.status, response.read().decode(), response.url
        except urllib.error.HTTPError as exc:
            status, text, url = exc.code, exc.read().decode(errors="replace"), path
        except OSError as exc:
            status, text, url = 0, str(exc), path
        if status == 400 and "already assigned that way" in text:
            kind += " (already so)"  # a manager picked the current assignee: a correct refusal
        self.stats.add(kind, status, time.perf_counter() - started)
        return status, text, url


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.codes = defaultdict(Counter)
        self.submissions: dict[str, str] = {}  # idempotency key -> subject, for acknowledged submissions
        self.replies = 0

    def add(self, kind, status, seconds):
        with self.lock:
            self.times[kind].append(seconds)
            self.codes[kind][status] += 1


def customer(base, stats, stop, topic):
    """Opens tickets (now and then sending the same form twice) and answers on the ticket's link."""
    c = Client(base, stats)
    while not stop.is_set():
        status, page, _ = c.request("form", "/new")
        if status != 200:
            continue
        key = secrets.token_urlsafe(18)
        subject = f"Load {key[:8]}"
        data = {"csrf_token": TOKEN.search(page).group(1), "name": "Load Customer",
                "email": f"c{secrets.token_hex(5)}@example.org", "topic": topic, "subject": subject,
                "description": "Nothing works since this morning.", "idempotency_key": key}
        sends = 2 if random.random() < 0.15 else 1
        for _ in range(sends):
            status, page, url = c.request("submit", "/new", data)
        if status == 200 and url.endswith("/submitted"):
            with stats.lock:
                stats.submissions[key] = subject
            link = re.search(r'href="(/t/[^"]+)"', page)
            if link and random.random() < 0.6:
                status, ticket_page, _ = c.request("ticket", link.group(1))
                token = TOKEN.search(ticket_page)
                if status == 200 and token:
                    status, _, _ = c.request("reply", link.group(1) + "/reply",
                                             {"csrf_token": token.group(1), "body": "More details: it is down."})
                    if status == 200:
                        with stats.lock:
                            stats.replies += 1


def manager(base, stats, stop, email, password):
    """Looks at the unassigned queue and assigns tickets to agents."""
    c = Client(base, stats)
    _, page, _ = c.request("login-form", "/login")
    c.request("login", "/login", {"csrf_token": TOKEN.search(page).group(1), "email": email, "password": password})
    while not stop.is_set():
        status, page, _ = c.request("queue", "/agent/queue/unassigned?sort=updated")
        numbers = re.findall(r"/agent/tickets/([A-Z0-9]{6})", page)
        if not numbers:
            time.sleep(0.05)
            continue
        status, page, _ = c.request("ticket", f"/agent/tickets/{random.choice(numbers[:10])}")
        form = re.search(r'id="assign_form".*?</form>', page, re.S)
        if status != 200 or not form:
            continue
        action = re.search(r'action="([^"]+)"', form.group(0)).group(1)
        version = re.search(r'name="version"[^>]*value="(\d+)"', form.group(0)).group(1)
        agents = re.findall(r'<option value="(\d+)"', re.search(r'name="agent".*?</select>', form.group(0), re.S).group(0))
        agents = [a for a in agents if a != "0"]
        c.request("assign", action, {"csrf_token": TOKEN.search(page).group(1), "version": version,
                                     "agent": random.choice(agents), "team": ""})


def viewer(base, stats, stop, email, password):
    """Agents reading queues, sorted and searched."""
    c = Client(base, stats)
    _, page, _ = c.request("login-form", "/login")
    c.request("login", "/login", {"csrf_token": TOKEN.search(page).group(1), "email": email, "password": password})
    views = ["/agent/", "/agent/queue/mine", "/agent/queue/unassigned?sort=due", "/agent/queue/closed?page=2",
             "/agent/queue/open?q=load", "/agent/queue/overdue?sort=priority&dir=asc"]
    while not stop.is_set():
        c.request("queue", random.choice(views))


def check(url: str, stats: Stats, started_at) -> list[str]:
    os.environ["HELPDESK_DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Event, IdempotencyKey, OutboxMail, Ticket

    problems = []
    app = create_app({"HELPDESK_BACKGROUND_SENDER": False})
    with app.app_context():
        keys = dict(db.session.execute(select(IdempotencyKey.key, IdempotencyKey.ticket_id)).all())
        missing = [k for k in stats.submissions if k not in keys]
        if missing:
            problems.append(f"{len(missing)} acknowledged submissions have no ticket")
        new_tickets = db.session.scalar(select(func.count(Ticket.id)).where(Ticket.created_at >= started_at))
        if new_tickets != len(keys):
            problems.append(f"{new_tickets} tickets opened during the run, {len(keys)} submission keys")
        if len(set(keys.values())) != len(keys):
            problems.append("one ticket for two keys")
        dupes = db.session.execute(select(Ticket.number).group_by(Ticket.number).having(func.count() > 1)).all()
        if dupes:
            problems.append(f"duplicate ticket numbers: {dupes[:5]}")
        # Mail: exactly one acknowledgement per new ticket, and no alert more often than its events.
        acks = db.session.execute(
            select(OutboxMail.ticket_id, func.count()).join(Ticket, Ticket.id == OutboxMail.ticket_id)
            .where(Ticket.created_at >= started_at, OutboxMail.event == "created",
                   OutboxMail.recipient.like("c%@example.org")).group_by(OutboxMail.ticket_id)).all()
        if len(acks) != new_tickets or any(n != 1 for _, n in acks):
            problems.append(f"acknowledgements: {len(acks)} tickets acknowledged for {new_tickets}, "
                            f"{sum(1 for _, n in acks if n != 1)} more than once")
        events = Counter((t, a) for t, a in db.session.execute(
            select(Event.ticket_id, Event.action).where(Event.created_at >= started_at)).all())
        mails = db.session.execute(
            select(OutboxMail.ticket_id, OutboxMail.event, OutboxMail.recipient, func.count())
            .where(OutboxMail.created_at >= started_at)
            .group_by(OutboxMail.ticket_id, OutboxMail.event, OutboxMail.recipient)).all()
        action_of = {"assigned": "assigned", "customer_replied": "customer_replied", "created": "created"}
        for ticket_id, event, recipient, n in mails:
            action = action_of.get(event)
            if action and n > events[(ticket_id, action)]:
                problems.append(f"ticket {ticket_id}: {n} '{event}' mails to {recipient} for "
                                f"{events[(ticket_id, action)]} events")
        replies = sum(n for (t, a), n in events.items() if a == "customer_replied")
        if replies < stats.replies:
            problems.append(f"{stats.replies} replies acknowledged, {replies} recorded")
        summary = {
            "tickets": new_tickets, "replies": replies,
            "assignments": sum(n for (t, a), n in events.items() if a == "assigned"),
            "mails": db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.created_at >= started_at)),
        }
        db.session.remove()
        db.engine.dispose()
    print("\nIn the database: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    url = scratch_db("helpdesk_load")
    server, base, instance = serve_desk(url, 300, args.workers, PORT, "--timeout", "60")
    try:
        form = urllib.request.urlopen(base + "/new").read().decode()
        topic = re.search(r'<option[^>]*value="(\d+)"[^>]*>General inquiry', form).group(1)
        from helpdesk.clock import utcnow

        started_at = utcnow()
        stats, stop = Stats(), threading.Event()
        n = args.clients
        plan = ([("customer", customer, (topic,))] * (n * 3 // 8)
                + [("manager", manager, ("manager@example.com", "demo-manager-1"))] * (n // 4)
                + [("viewer", viewer, ("tech@example.com", "demo-tech-1"))] * (n - n * 3 // 8 - n // 4))
        threads = [threading.Thread(target=fn, args=(base, stats, stop, *extra), daemon=True) for _, fn, extra in plan]
        print(f"{len(threads)} clients ({Counter(kind for kind, _, _ in plan)}) for {args.seconds} s "
              f"against {args.workers} gunicorn workers on PostgreSQL", flush=True)
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join(60)
    finally:
        stop_desk(server, instance)

    total = sum(sum(c.values()) for c in stats.codes.values())
    errors = sum(n for c in stats.codes.values() for code, n in c.items() if code == 0 or code >= 500)
    print(f"\n{total} requests in {args.seconds} s: {total / args.seconds:.0f} req/s; errors (5xx or no answer): {errors}")
    print("| kind | requests | answers | p50 ms | p99 ms |")
    for kind, times in sorted(stats.times.items()):
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        print(f"| {kind} | {len(times)} | {dict(stats.codes[kind])} | {statistics.median(times) * 1000:.0f} | {p99:.0f} |")
    print(f"acknowledged submissions: {len(stats.submissions)}; customer replies sent: {stats.replies}")
    problems = check(url, stats, started_at)
    unexpected = {k: {c: n for c, n in codes.items() if c not in (200, 409) and not (c == 400 and "already so" in k)}
                  for k, codes in stats.codes.items()}
    unexpected = {k: v for k, v in unexpected.items() if v}
    if unexpected:
        problems.append(f"unexpected answers: {unexpected}")
    if errors:
        problems.append(f"{errors} errors")
    print("\nChecks: " + ("all passed" if not problems else "FAILED\n  " + "\n  ".join(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
