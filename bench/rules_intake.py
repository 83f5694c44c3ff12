"""Ticket intake with 200 event rules against none: the web form and the mail pipe, in-process.

Builds a desk (bench/seed.py: the demo desk and --desk-tickets tickets), adds --rules event rules
as an admin would write them (checked by automations.conditions/actions): most run when a ticket
is opened, some when the customer writes, with 1-4 conditions each over the sender's domain and
address, subject, message text (contains, RE2 patterns such as `(?i)invoice\\s*#?\\d+`), lists,
topic, priority and channel. Nearly all miss the benchmark's tickets; five hit a share of them
and act (priority, team, topic, a note, a canned reply, a priority raised on a reply), so the
timed path includes acting. Then, in one sitting, alternating runs (rules off, on, off, on...):

- web: GET /new, then POST /new through the app (Flask's test client, as bench/submit.py);
  only the POST is timed;
- mail: helpdesk.mailin.take_in on raw mails (as `flask mail pipe`), varied senders and
  subjects; a fifth of them are the customer's replies ([#NUMBER] in the subject) to tickets
  the run opened, so "customer replied" rules are tested too.

Prints per run and per channel: intake rate (per second of intake time), median and p95 ms, CPU
ms (steadier than the clock on a busy machine), the ratio with rules / without (the target is at
least 0.7), how often rules acted, and the machine's load average before and after each run.
Mail waits in the outbox (MAIL_PORT points at a closed port). Run by hand, never in CI:

    .venv/bin/python bench/rules_intake.py                      # a temporary SQLite file
    .venv/bin/python bench/rules_intake.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_rules

A PostgreSQL database named this way is a scratch one: made afresh (dropped first if it
exists) and dropped at the end unless --keep. --profile prints where the time of the runs
with rules goes (cProfile), the automations' functions first.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="idempotency_key"')

# The benchmark's customers: most from domains no rule names, some from the few that rules pick.
DOMAINS = [f"firm{n}.example" for n in range(40)] + ["bank.example", "bigbank.example", "school.example"]
VIPS = ["ceo@firm3.example", "cfo@firm7.example", "owner@firm11.example"]
SUBJECTS = [
    "The mobile app shows a blank screen", "Printer on the second floor is jammed", "VPN drops every hour",
    "Cannot log in since this morning", "Payments outage at the branch", "Invoice #{n} is wrong",
    "Question about invoice {n}", "Mail bounces from our partner", "Password reset link expired",
    "Report export times out", "New laptop for a colleague", "Outage: the portal is down",
]
BODIES = [
    "Since this morning nothing loads. We tried two browsers and a phone, same result.",
    "Could someone have a look? Three people in the office are affected and we have a deadline.",
    "The amount on the invoice does not match the order; please send a corrected one.",
    "Everything was fine yesterday evening. No change on our side that we know of.",
]
# Words, domains and patterns the rules that miss are made of (none is in the mails above).
MISS_WORDS = ("refund", "chargeback", "gdpr", "subpoena", "warranty", "shipment", "recall", "lawsuit",
              "catering", "parking", "badge", "furniture", "relocation", "payroll", "tender", "audit trail")
MISS_PATTERNS = (r"(?i)order\s*#?\d{7,}", r"\b(refund|chargeback)s?\b", r"(?i)ticket\s+id\s*[:#]\s*\d+",
                 r"^\s*(urgent|asap)\s*!+", r"(?i)contract\s+no\.?\s*[A-Z]{2}-\d{4}", r"\b\d{4}-\d{4}-\d{4}-\d{4}\b",
                 r"(?i)(unsubscribe|opt[- ]out)", r"(?i)delivery\s+(note|slip)\s*#?\d+")


def _ms(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the desk and its rules ------------------------------------------------------------------


def build_desk(url: str, desk_tickets: int) -> None:
    env = dict(os.environ, HELPDESK_DATABASE_URL=url)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), "--tickets", str(desk_tickets),
                           "--mix", "sbs"], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bench/seed.py failed:\n{done.stdout}{done.stderr}")


def scratch_postgres(url: str, drop_only: bool = False) -> None:
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def make_rules(count: int, rng: random.Random, acting_count: int = 5) -> int:
    """Adds `count` inactive event rules named "Bench rule N" (up to five that act on the
    benchmark's tickets, the rest made to miss them); returns how many act."""
    from sqlalchemy import select

    from helpdesk.automations import actions, conditions
    from helpdesk.extensions import db
    from helpdesk.models import CannedResponse, Department, HelpTopic, Priority, Rule, Team

    prio = {p.key: p.id for p in db.session.scalars(select(Priority))}
    teams = {t.name: t.id for t in db.session.scalars(select(Team))}
    topics = {t.name: t.id for t in db.session.scalars(select(HelpTopic))}
    depts = {d.name: d.id for d in db.session.scalars(select(Department))}
    canned = CannedResponse(title="Resetting your password", body="Hello {customer_name},\n\nthe reset link "
                            "lasts one hour; ask for a new one at the sign-in page. Ticket {ticket_number}.")
    db.session.add(canned)
    db.session.flush()

    acting = [  # (name, triggers, match, conditions, actions)
        ("Bank outages", "opened", "all",
         [{"field": "sender_domain", "op": "in_list", "value": "bank.example, bigbank.example"},
          {"field": "subject", "op": "contains", "value": "outage"}],
         [{"type": "set_priority", "value": prio["emergency"]},
          {"type": "set_team", "value": teams["SysAdmins/Developers"]}]),
        ("Invoices to billing", "opened", "any",
         [{"field": "subject", "op": "matches", "value": r"(?i)invoice\s*#?\d+"},
          {"field": "body", "op": "matches", "value": r"(?i)invoice\s*#?\d+"}],
         [{"type": "set_topic", "value": topics["Billing question"]},
          {"type": "note", "value": "An invoice number is in the subject: look it up in the billing system."}]),
        ("Password help by mail", "opened", "all",
         [{"field": "channel", "op": "is", "value": "email"},
          {"field": "body", "op": "contains", "value": "password reset"}],
         [{"type": "canned_reply", "value": canned.id}]),
        ("Important people", "opened", "all",
         [{"field": "sender", "op": "in_list", "value": ", ".join(VIPS)}],
         [{"type": "set_priority", "value": prio["high"]}, {"type": "set_team", "value": teams["Senior Support"]},
          {"type": "note", "value": "Important customer: answer within the hour."}]),
        ("Still broken", "customer_replied", "all",
         [{"field": "body", "op": "matches", "value": r"(?i)\bstill\b.*\b(broken|down|not working)\b"},
          {"field": "priority", "op": "not_in_list", "value": [prio["emergency"]]}],
         [{"type": "set_priority", "value": prio["high"]}]),
    ][:min(count, acting_count)]

    def missing_condition():
        kind = rng.randrange(7)
        if kind == 0:
            return {"field": "sender_domain", "op": "equals", "value": f"partner{rng.randrange(1000)}.example"}
        if kind == 1:
            return {"field": "subject", "op": "contains", "value": rng.choice(MISS_WORDS)}
        if kind == 2:
            return {"field": "body", "op": "contains", "value": " ".join(rng.sample(MISS_WORDS, 2))}
        if kind == 3:
            return {"field": rng.choice(("subject", "body")), "op": "matches", "value": rng.choice(MISS_PATTERNS)}
        if kind == 4:
            return {"field": "sender", "op": "in_list",
                    "value": [f"{w}{rng.randrange(99)}@vendor{rng.randrange(50)}.example" for w in ("ap", "it", "hr")]}
        if kind == 5:
            return {"field": "subject", "op": "starts_with", "value": f"[{rng.choice(MISS_WORDS)}]"}
        return {"field": "recipient", "op": "equals", "value": f"{rng.choice(MISS_WORDS).split()[0]}@example.com"}

    def other_condition():  # may hold or not: topic, priority, channel, a domain suffix
        kind = rng.randrange(4)
        if kind == 0:
            return {"field": "topic", "op": "is", "value": rng.choice(list(topics.values()))}
        if kind == 1:
            if rng.random() < .5:
                return {"field": "priority", "op": "is", "value": rng.choice(list(prio.values()))}
            return {"field": "priority", "op": "in_list", "value": rng.sample(list(prio.values()), 2)}
        if kind == 2:
            return {"field": "channel", "op": "is", "value": rng.choice(("web", "email"))}
        return {"field": "sender_domain", "op": "ends_with", "value": ".example"}

    def some_action():
        kind = rng.randrange(5)
        if kind == 0:
            return {"type": "set_priority", "value": rng.choice(list(prio.values()))}
        if kind == 1:
            return {"type": "set_team", "value": rng.choice(list(teams.values()))}
        if kind == 2:
            return {"type": "note", "value": f"Rule note {rng.randrange(10**6)}: check the contract first."}
        if kind == 3:
            return {"type": "add_cc", "value": f"desk{rng.randrange(99)}@partner.example"}
        return {"type": "mail", "to": "lead@example.com", "subject": "Heads up: {ticket_number}",
                "value": "A ticket for you: {ticket_number}."}

    written = []
    for n in range(count):
        if n < len(acting):
            name, triggers, match, conds, acts = acting[n]
            department = None
        else:
            roll = rng.random()
            triggers = "opened" if roll < .8 else "customer_replied" if roll < .95 else "opened,customer_replied"
            match = "all" if rng.random() < .85 else "any"
            size = rng.randint(1, 4)
            if match == "any":  # every condition misses
                conds = [missing_condition() for _ in range(size)]
            else:  # at least one misses; the others may hold; in any order
                conds = [missing_condition()] + [other_condition() if rng.random() < .5 else missing_condition()
                                                 for _ in range(size - 1)]
                rng.shuffle(conds)
            acts = list({a["type"]: a for a in (some_action() for _ in range(rng.randint(1, 2)))}.values())
            department = depts["Support"] if rng.random() < .1 else None
            name = f"{rng.choice(MISS_WORDS).title()} {n}"
        scope = actions.Scope(kind="event", triggers=frozenset(triggers.split(",")),
                              department_id=department, ticket_department_id=department, author=None)
        written.append(Rule(
            name=f"Bench rule {n:03d}: {name}", kind="event", active=False, position=n, triggers=triggers,
            channels="email" if n >= len(acting) and triggers == "opened" and rng.random() < .15 else "",
            match=match, conditions=json.dumps(conditions.check_all(conds, match)),
            actions=json.dumps(actions.check_all(acts, scope)), department_id=department))
    db.session.add_all(written)
    db.session.commit()
    return len(acting)


def switch_rules(app, on: bool) -> None:
    from sqlalchemy import update

    from helpdesk.clock import utcnow
    from helpdesk.extensions import db
    from helpdesk.models import Rule

    with app.app_context():
        db.session.execute(update(Rule).where(Rule.name.like("Bench rule %")).values(active=on, updated_at=utcnow()))
        db.session.commit()


# --- what comes in ---------------------------------------------------------------------------


class Intake:
    """The customers, subjects and texts of one run; `serial` keeps every mail and key unique."""

    def __init__(self, rng: random.Random, tag: str):
        self.rng, self.tag, self.serial = rng, tag, 0

    def ticket(self) -> dict:
        rng = self.rng
        self.serial += 1
        sender = rng.choice(VIPS) if rng.random() < .05 else \
            f"{rng.choice(('anna', 'ben', 'chen', 'dora', 'emil', 'farah'))}{rng.randrange(500)}@{rng.choice(DOMAINS)}"
        subject = rng.choice(SUBJECTS).format(n=rng.randrange(10000, 99999))
        told = rng.sample(BODIES, 3) + (["I asked for a password reset twice and the link has expired."]
                                        if rng.random() < .1 else [])
        body = "Hello,\n\n" + "\n\n".join(told) + f"\n\nRegards,\n{sender.split('@')[0].title()}"
        return {"email": sender, "name": sender.split("@")[0].title(), "subject": f"{subject} ({self.tag}-{self.serial})",
                "description": body}

    def mail(self, t: dict, reply_to: tuple[str, str] | None = None) -> bytes:
        self.serial += 1
        sender, subject, body = t["email"], t["subject"], t["description"]
        if reply_to is not None:
            number, sender = reply_to
            subject = f"Re: [#{number}] {t['subject']}"
            body = self.rng.choice(("It is still broken after the restart.", "Thanks, that helped.",
                                    "Any news? We are still waiting.")) + "\n\nOn Monday you wrote:\n> earlier text"
        return (f"From: {t['name']} <{sender}>\nTo: support@example.com\nSubject: {subject}\n"
                f"Date: {format_datetime(datetime.now(timezone.utc))}\n"
                f"Message-ID: <bench-{self.tag}-{self.serial}@mail.example>\nMIME-Version: 1.0\n"
                f"Content-Type: text/plain; charset=utf-8\n\n{body}\n").encode()


def run_web(client, topics, intake: Intake, count: int) -> tuple[list, list]:
    times, cpu = [], []
    for _ in range(count):
        t = intake.ticket()
        page = client.get(f"/new?topic={topics[intake.serial % len(topics)]}")
        html = page.get_data(as_text=True)
        key = KEY.search(html)
        form = dict(t, csrf_token=TOKEN.search(html).group(1), idempotency_key=key.group(1) or key.group(2),
                    topic=str(topics[intake.serial % len(topics)]))
        t0, c0 = time.perf_counter(), time.thread_time()
        response = client.post("/new", data=form)
        t1, c1 = time.perf_counter(), time.thread_time()
        assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:400])
        times.append(t1 - t0)
        cpu.append(c1 - c0)
    return times, cpu


def run_mail(app, intake: Intake, count: int) -> tuple[list, list]:
    from helpdesk import mailin

    times, cpu, opened = [], [], []
    for i in range(count):
        t = intake.ticket()
        reply = opened[intake.rng.randrange(len(opened))] if opened and i % 5 == 4 else None
        raw = intake.mail(t, reply)
        t0, c0 = time.perf_counter(), time.thread_time()
        with app.app_context():
            outcome = mailin.take_in(raw, source="pipe")
            got = outcome.outcome, (outcome.ticket.number, outcome.ticket.customer.email) if outcome.ticket else None
        t1, c1 = time.perf_counter(), time.thread_time()
        assert got[0] == ("replied" if reply else "created"), (got, raw[:300])
        if reply is None:
            opened.append(got[1])
        times.append(t1 - t0)
        cpu.append(c1 - c0)
    return times, cpu


# --- the sitting -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300, help="tickets (mails) per channel per run")
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="runs per channel with and without rules")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file; or a PostgreSQL URL "
                        "(a scratch database: made afresh, dropped at the end unless --keep)")
    parser.add_argument("--desk-tickets", type=int, default=1000, help="tickets the desk holds before the runs")
    parser.add_argument("--acting", type=int, default=5, choices=range(6),
                        help="how many of the rules act on some tickets (0: every rule misses: the cost of testing alone)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the runs with rules")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="rules-bench-")
    url = args.database or f"sqlite:///{work}/desk.sqlite3"
    postgres = url.startswith("postgresql")
    os.environ.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret"), HELPDESK_RATELIMIT="0",
        HELPDESK_MAX_OPEN_TICKETS="0", HELPDESK_BACKGROUND_SENDER="0", MAIL_SERVER="127.0.0.1", MAIL_PORT="9",
        HELPDESK_UPLOAD_DIR=os.path.join(work, "files"), HELPDESK_LOG_LEVEL="WARNING", HELPDESK_DATABASE_URL=url)
    if postgres:
        scratch_postgres(url)
    started = time.perf_counter()
    build_desk(url, args.desk_tickets)

    from sqlalchemy import func, select

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Event, HelpTopic, Rule

    app = create_app()
    rng = random.Random(args.seed)
    with app.app_context():
        acting = make_rules(args.rules, rng, args.acting)
        topics = [t.id for t in db.session.scalars(select(HelpTopic).where(
            HelpTopic.customer_sets_priority.is_(False)).order_by(HelpTopic.id))]
    print(f"desk: {args.desk_tickets} tickets and {args.rules} event rules ({acting} acting on some of the "
          f"benchmark's tickets) on {'PostgreSQL' if postgres else 'SQLite'}, built in "
          f"{time.perf_counter() - started:.0f} s; {args.tickets} tickets per channel per run, "
          f"{args.runs} runs each way, alternating")

    client = app.test_client()
    runs = {(c, on): [] for c in ("web", "mail") for on in (False, True)}  # [(times, cpu)] per run
    profile = cProfile.Profile() if args.profile else None

    def one(channel, on, count, tag, keep=True):
        intake = Intake(random.Random(f"{args.seed}-{tag}"), tag)
        prof = profile if (profile and on and keep) else None
        before = load()
        if prof:
            prof.enable()
        times, cpu = run_web(client, topics, intake, count) if channel == "web" else run_mail(app, intake, count)
        if prof:
            prof.disable()
        if keep:
            runs[(channel, on)].append((times, cpu))
            print(f"  {channel:4} {'with' if on else 'no  '} rules  {count / sum(times):7.1f}/s  "
                  f"p50 {_ms(times, .5):6.1f} ms  p95 {_ms(times, .95):6.1f} ms  CPU p50 {_ms(cpu, .5):6.1f} ms  "
                  f"load {before} -> {load()}", flush=True)

    for on in (True, False):  # warm-up: imports, compiled rules and patterns, caches
        switch_rules(app, on)
        for channel in ("web", "mail"):
            one(channel, on, args.warmup, f"w{int(on)}{channel}", keep=False)
    with app.app_context():
        first_event = db.session.scalar(select(func.max(Event.id))) or 0
        matched_before = db.session.scalar(select(func.sum(Rule.matched_count)))
    for run in range(args.runs):  # without, with; with, without; ...: a drift weighs on both alike
        for on in (False, True) if run % 2 == 0 else (True, False):
            switch_rules(app, on)
            for channel in ("web", "mail"):
                one(channel, on, 1, f"s{run}{int(on)}{channel}", keep=False)  # the rules are read again here
                one(channel, on, args.tickets, f"r{run}{int(on)}{channel}")
    with app.app_context():
        acted = db.session.scalar(select(func.sum(Rule.matched_count))) - matched_before
        by_rules = select(Event).where(Event.rule_name.is_not(None), Event.id > first_event).subquery()
        events, tickets_acted = db.session.execute(
            select(func.count(), func.count(func.distinct(by_rules.c.ticket_id))).select_from(by_rules)).one()

    timed = args.runs * args.tickets
    print(f"\nrules acted {acted} times on {tickets_acted} of the {2 * timed} tickets and mails taken in with "
          f"rules ({events} history events by rules)")
    print(f"{'channel':8} {'rules':>5} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8}")
    for channel in ("web", "mail"):
        for on in (False, True):
            times = [t for r in runs[(channel, on)] for t in r[0]]
            cpu = [t for r in runs[(channel, on)] for t in r[1]]
            print(f"{channel:8} {args.rules if on else 0:5} {len(times) / sum(times):8.1f} {_ms(times, .5):8.2f} "
                  f"{_ms(times, .95):8.2f} {_ms(cpu, .5):8.2f}")
    for channel in ("web", "mail"):
        off, on = runs[(channel, False)], runs[(channel, True)]
        rate = sum(sum(r[0]) for r in off) / sum(sum(r[0]) for r in on)
        pairs = [sum(a[0]) / sum(b[0]) for a, b in zip(off, on)]
        cpu = sum(sum(r[1]) for r in off) / sum(sum(r[1]) for r in on)
        verdict = "meets" if rate >= 0.7 else "MISSES"
        print(f"{channel}: intake with {args.rules} rules runs at {rate:.2f}x the rate without "
              f"(run by run: {', '.join(f'{p:.2f}' for p in pairs)}; CPU time: {cpu:.2f}x); {verdict} the 0.7x target")
    print(f"load average at the end: {load()} ({os.cpu_count()} CPUs)"
          + ("; the profiler slowed the runs with rules: their ratios mean nothing" if profile else ""))
    if profile:
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
        stats.print_stats(r"automations|mailin/route|tickets/intake", 25)
        stats.sort_stats("tottime").print_stats(25)
        print("\n--- profile of the runs with rules ---\n" + out.getvalue())
        if os.environ.get("BENCH_PROFILE_FILE"):
            profile.dump_stats(os.environ["BENCH_PROFILE_FILE"])
    if postgres and not args.keep:
        db_engine_dispose(app)
        scratch_postgres(url, drop_only=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def db_engine_dispose(app) -> None:
    from helpdesk.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
