"""A released schema's data, kept as JSON, so that upgrades are tested on real rows.

Each release adds a file `tests/releases/<alembic revision>.json`: every row of every table
of a desk that a release built and used (the demo desk plus tickets in every state, thread
entries with an attachment, collaborators, an API key, a mailbox, holidays, settings, audit
entries, mail in the outbox, an agent with two-factor sign-in). tests/test_migrations.py
loads each file into a database migrated to that revision, upgrades it to the head and uses
the desk.

Making the file for a release, from a checkout of that release:

    .venv/bin/python tests/release_data.py > tests/releases/$(.venv/bin/flask --app app db heads | cut -d' ' -f1).json
"""
from __future__ import annotations

import base64
import json
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Date, DateTime, LargeBinary, MetaData, create_engine, inspect, text

RELEASES = Path(__file__).resolve().parent / "releases"

# Known sign-ins in every release file (the demo logins, README "Demo logins").
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the IT agent signs in with a second factor
HOSTILE_NAME = '<img src=x onerror=alert(1)> Ünïcødé 🚀'


# --- reading a database out as JSON, and back in ---------------------------------------------


def _encode(value):
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, (bytes, memoryview)):
        return {"bytes": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value, column_type):
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "bytes" in value:
            return base64.b64decode(value["bytes"])
    if value is not None and isinstance(column_type, DateTime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    if value is not None and isinstance(column_type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if value is not None and isinstance(column_type, LargeBinary) and isinstance(value, str):
        return base64.b64decode(value)
    return value


def dump(url: str) -> dict:
    """Every row of every table (but alembic_version), by table, in primary-key order."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    out = {"revision": None, "tables": {}}
    with engine.connect() as conn:
        out["revision"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        for name, table in sorted(meta.tables.items()):
            if name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(table.select().order_by(*order)).mappings().all()
            out["tables"][name] = [{k: _encode(v) for k, v in row.items()} for row in rows]
    engine.dispose()
    return out


def load(url: str, data: dict) -> None:
    """Insert a dump's rows into a database migrated to the dump's revision. Foreign keys are
    not checked while loading (the rows are consistent; the tables refer to each other in a
    cycle: a department's manager is an agent of a department)."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
        for name, rows in data["tables"].items():
            table = meta.tables[name]
            conn.execute(table.delete())  # rows the migrations wrote (priorities, the desk counter)
            if not rows:
                continue
            conn.execute(table.insert(), [
                {k: _decode(v, table.c[k].type) for k, v in row.items()} for row in rows
            ])
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = DEFAULT"))
            # Serial columns carry on after the loaded ids.
            for name, table in meta.tables.items():
                for column in table.primary_key.columns:
                    seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                       {"t": name, "c": column.name}).scalar()
                    if seq:
                        conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT max("{column.name}") '
                                          f'FROM "{name}"), 0) + 1, false)'), {"s": seq})
    engine.dispose()


def release_files() -> list[Path]:
    return sorted(RELEASES.glob("*.json"))


def tables_of(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# --- building a used desk with this checkout's code (run when cutting a release) --------------


def build(url: str, upload_dir: str) -> None:
    """Migrate an empty database, load the demo desk and work some tickets through their lives."""
    import flask_migrate
    from sqlalchemy import select

    from helpdesk import create_app, demo, tickets
    from helpdesk.attachments import Upload
    from helpdesk.extensions import db
    from helpdesk.models import (
        Agent,
        ApiKey,
        AuditEntry,
        FailedMail,
        HelpTopic,
        Mailbox,
        Priority,
        ProcessedMail,
        Setting,
        SLAHoliday,
        SLAPlan,
        Team,
        hash_api_key,
    )

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "HELPDESK_UPLOAD_DIR": upload_dir,
                      "HELPDESK_BASE_URL": "http://desk.test", "MAIL_SUPPRESS_SEND": True})
    with app.app_context():
        flask_migrate.upgrade()
        demo.seed()
        agents = {a.email.split("@")[0]: a for a in db.session.scalars(select(Agent))}
        topics = {t.name: t for t in db.session.scalars(select(HelpTopic))}
        teams = {t.name: t for t in db.session.scalars(select(Team))}
        slas = {s.name: s for s in db.session.scalars(select(SLAPlan))}
        prio = {p.key: p for p in db.session.scalars(select(Priority))}
        tech, manager, sysadmin = agents["tech"], agents["manager"], agents["sysadmin"]

        def open_(n, topic, **kw):
            return tickets.open_ticket(name=kw.pop("name", f"Customer {n}"), email=f"customer{n}@example.net",
                                       subject=kw.pop("subject", f"Release ticket {n}"),
                                       body=kw.pop("body", f"Body of ticket {n}."), topic=topics[topic], **kw)

        # new, with an attachment and a hostile customer name
        open_(1, "General inquiry", name=HOSTILE_NAME, subject="Printer on fire <script>alert(1)</script>",
              uploads=[Upload("log.txt", "text/plain", b"line one\nline two\n")])
        # open: claimed and answered
        t = open_(2, "Billing question")
        tickets.claim(tech, t)
        tickets.reply(tech, t, "We are looking at your invoice.")
        # pending, then the customer answers: open again
        t = open_(3, "Business Critical Outage", subject="Customers cannot reach mobile banking")
        tickets.assign(manager, t, agent=tech)
        tickets.set_priority(manager, t, prio["emergency"])
        tickets.set_sla(manager, t, slas["Priority"])
        tickets.request_info(tech, t, "Which app version?")
        tickets.customer_reply(t, "Version 4.2 on Android.")
        # escalated to a team
        tickets.escalate(tech, t, teams["SysAdmins/Developers"], "Load balancer errors.")
        # resolved, then closed, with a note
        t = open_(4, "Password reset")
        tickets.claim(sysadmin, t)
        tickets.add_note(sysadmin, t, "Internal: account was locked by the directory.")
        tickets.resolve(sysadmin, t, "Unlocked; please sign in again.")
        tickets.close(sysadmin, t, "Confirmed by phone.")
        # resolved, then reopened by the customer's reply
        t = open_(5, "General inquiry", priority=prio["high"])
        tickets.claim(tech, t)
        tickets.resolve(tech, t, "Done.")
        tickets.customer_reply(t, "It broke again.")
        # a collaborator and a fresh access link
        t = open_(6, "General inquiry")
        tickets.claim(tech, t)
        tickets.add_collaborator(tech, t, "colleague@example.net", "A Colleague")
        tickets.new_access_link(tech, t)

        sysadmin.totp_secret = TOTP_SECRET
        admin_id = agents["admin"].id
        db.session.add_all([
            ApiKey(name="Monitoring", key_hash=hash_api_key("hd_release_key_for_tests"), prefix="hd_rele",
                   scopes="create,read", ip_ranges="127.0.0.0/8", created_by=agents["admin"]),
            Mailbox(name="Support inbox", department=topics["General inquiry"].department,
                    host="imap.example.net", username="support", password="secret"),
            ProcessedMail(key="<m1@example.net>", message_id="<m1@example.net>", outcome="ignored",
                          note="auto-submitted"),
            FailedMail(source="pipe", error="no sender", raw=b"Subject: x\r\n\r\nbody", size=22, subject="x"),
            SLAHoliday(sla=slas["Standard"], day=date(2026, 12, 25), name="Christmas Day"),
            Setting(key="desk_name", value="Release Desk"),
            AuditEntry(agent_id=admin_id, agent_name="Admin", object_type="sla", object_id=1,
                       object_name="Emergency", field="grace_hours", old="4", new="2"),
        ])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/release.db"
        build(db_url, f"{tmp}/uploads")
        json.dump(dump(db_url), sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
        sys.stdout.write("\n")
