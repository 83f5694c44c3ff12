"""Settings take effect where they are used (desk name, reopen days, attachment limits and types),
their validation, their audit entries; auto-close, a setting once, is the time rule "Close resolved
tickets" now (its old setting row is harmless)."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from helpdesk import settings, tickets
from helpdesk.automations import timed
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import AuditEntry, Event, Rule, Setting, Ticket
from helpdesk.security import access_token
from support.files import png_bytes
from support.forms import settings_data
from support.pages import text_of
from test_portal import PDF, ticket_form

ROOT = Path(__file__).resolve().parent.parent


def test_the_desk_name_shows_in_the_top_bar_everywhere(admin, desk, client):
    assert admin.post("/admin/settings", data=settings_data()).status_code == 302
    assert '<a class="brand" href="/agent/">Acme Support</a>' in text_of(admin.get("/agent/"))
    client.post("/logout")
    assert "Acme Support" in text_of(client.get("/"))
    entries = {e.field: (e.old, e.new, e.object_name) for e in db.session.scalars(select(AuditEntry))}
    assert entries == {"desk_name": ("Helpdesk", "Acme Support", "Desk name"),
                       "timezone": ("UTC", "Europe/Berlin", "Time zone")}


def test_the_time_zone_setting_shows_times_in_it(admin, desk, make_ticket):
    ticket = make_ticket()
    admin.post("/admin/settings", data=settings_data())
    page = text_of(admin.get(f"/agent/tickets/{ticket.number}"))
    local = ticket.created_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Berlin"))
    assert local.strftime("%d %b %Y, %H:%M") in page


def test_nothing_changed_writes_nothing(admin, desk):
    admin.post("/admin/settings", data=settings_data(desk_name="Helpdesk", timezone="UTC"))
    assert db.session.scalar(select(func.count(Setting.key))) == 0
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


@pytest.mark.parametrize("over, message", [
    ({"desk_name": ""}, "Give the desk a name."),
    ({"desk_name": "x" * 121}, "At most 120 characters."),
    ({"timezone": "Moon/Base"}, "That is not a known time zone."),
    ({"timezone": ""}, "Give a time zone."),
    ({"max_attachment_mb": "0"}, "From 1 to 100 MB."),
    ({"max_attachment_mb": "1000"}, "From 1 to 100 MB."),
    ({"max_attachment_mb": "ten"}, "Not a valid integer value."),
    ({"max_attachments": "21"}, "From 1 to 20."),
    ({"allowed_types": None}, "Allow at least one type of file."),
    ({"allowed_types": ["text/html"]}, "That choice is not available."),
    ({"reopen_days": "-1"}, "From 0 to 3650 days."),
    ({"access_link_days": "0"}, "From 1 to 3650 days."),
])
def test_bad_settings_are_refused(admin, desk, over, message):
    response = admin.post("/admin/settings", data=settings_data(**over))
    assert response.status_code == 400 and message in text_of(response)
    assert db.session.scalar(select(func.count(Setting.key))) == 0
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_the_settings_page_shows_the_current_values_and_defaults(admin, desk, app):
    app.config["HELPDESK_REOPEN_DAYS"] = 21
    html = text_of(admin.get("/admin/settings"))
    assert 'id="reopen_days" name="reopen_days" type="text" value="21"' in html or 'value="21"' in html
    assert "Default: 21." in html


def test_reopen_days_are_used_by_the_portal(admin, desk, make_ticket, client):
    ticket = make_ticket()
    tickets.close(desk.tech, ticket)
    ticket.closed_at = utcnow() - timedelta(days=5)
    db.session.commit()
    link = f"/t/{access_token(ticket)}"
    assert 'name="body"' in text_of(client.get(link))  # 14 days by default
    admin.post("/admin/settings", data=settings_data(reopen_days="3"))
    client.post("/logout")
    page = text_of(client.get(link))
    assert "can no longer be reopened" in page and 'name="body"' not in page
    assert client.post(f"{link}/reply", data={"body": "Again"}).status_code == 409


def test_the_attachment_size_limit_is_enforced_by_the_portal_form(admin, desk, client):
    admin.post("/admin/settings", data=settings_data(max_attachment_mb="1", max_attachments="2"))
    client.post("/logout")
    assert "Up to 2 files, at most 1 MB each" in text_of(client.get("/new"))
    big = [(io.BytesIO(b"a" * (1024 * 1024 + 1)), "big.txt")]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": big},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "big.txt is larger than 1 MB, the limit for one file." in text_of(response)
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_a_larger_limit_than_configured_is_accepted_too(admin, desk, client, app):
    app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 1
    admin.post("/admin/settings", data=settings_data(max_attachment_mb="3", max_attachments="1"))
    client.post("/logout")
    two_mb = [(io.BytesIO(b"a" * (2 * 1024 * 1024)), "two.txt")]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": two_mb},
                           content_type="multipart/form-data")
    assert response.status_code == 302  # the request size limit follows the setting


def test_only_the_allowed_types_are_accepted(admin, desk, client):
    admin.post("/admin/settings", data=settings_data(allowed_types=["application/pdf"]))
    client.post("/logout")
    png = [(io.BytesIO(png_bytes()), "screen.png")]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": png},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "screen.png looks like image/png, which cannot be attached." in text_of(response)
    pdf = [(io.BytesIO(PDF), "invoice.pdf")]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": pdf},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "allowed_types"))
    assert entry.new == "application/pdf"


def test_a_setting_falls_back_to_the_configuration(app, desk):
    app.config["HELPDESK_REOPEN_DAYS"] = 30
    settings.clear_cache()
    assert settings.get("reopen_days") == 30
    db.session.add(Setting(key="reopen_days", value="7"))
    db.session.commit()
    settings.clear_cache()
    assert settings.get("reopen_days") == 7
    db.session.get(Setting, "reopen_days").value = "garbage"
    db.session.commit()
    settings.clear_cache()
    assert settings.get("reopen_days") == 30


# --- auto-close: the time rule "Close resolved tickets" ----------------------------------------


def _auto_close_after(days):
    timed.ensure_system_rules()  # as the upgrade writes it (the test desk is made without migrations)
    rule = db.session.scalar(select(Rule).where(Rule.system == "auto_close"))
    rule.active, rule.wait_minutes = True, days * 1440
    db.session.commit()


def test_the_settings_page_says_where_auto_close_lives_and_ignores_the_old_setting(admin, desk):
    db.session.add(Setting(key="auto_close_days", value="7"))  # written before auto-close was a rule
    db.session.commit()
    page = text_of(admin.get("/admin/settings"))
    assert "Close resolved tickets after" not in page
    assert "Automation rules</a>, “Close resolved tickets”" in page
    assert admin.post("/admin/settings", data=settings_data(auto_close_days="3")).status_code == 302
    assert db.session.get(Setting, "auto_close_days").value == "7"  # not a setting any more: left alone
    assert "auto_close_days" not in settings.values()


def test_auto_close_closes_old_resolved_tickets_and_mails_the_customer(desk, make_ticket, inbox):
    old = make_ticket(email="old10@example.net", status="resolved", at=utcnow() - timedelta(days=10))
    recent = make_ticket(email="old2@example.net", status="resolved", at=utcnow() - timedelta(days=2))
    timed.ensure_system_rules()
    assert timed.run_due() == []  # switched off by default
    _auto_close_after(7)
    inbox.deliver()
    inbox.clear()
    assert [str(d) for d in timed.run_due()] == [f"#{old.number}: rule “Close resolved tickets”"]
    db.session.expire_all()
    assert old.status == "closed" and recent.status == "resolved"
    event = db.session.scalars(select(Event).where(Event.ticket_id == old.id).order_by(Event.id.desc())).first()
    assert (event.action, event.old, event.new) == ("status", "Resolved", "Closed")
    assert event.note == "Closed by the rule “Close resolved tickets”" and event.agent_id is None
    assert event.rule_name == "Close resolved tickets"
    inbox.deliver()
    assert inbox.subjects("old10@example.net") == [f"[#{old.number}] Closed: {old.subject}"]
    assert inbox.to("tech@example.com") == []  # not "closed by the customer"
    assert timed.run_due() == []  # a second run finds nothing


def test_the_auto_close_command_runs_the_time_rules(app, desk, make_ticket, app_config):
    make_ticket(email="old10@example.net", status="resolved", at=utcnow() - timedelta(days=10))
    _auto_close_after(3)
    env = {**os.environ, "HELPDESK_DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
           "HELPDESK_UPLOAD_DIR": app_config["HELPDESK_UPLOAD_DIR"]}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "tickets", "auto-close"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Auto-close is the time rule “Close resolved tickets”" in result.stdout
    assert "1 ticket acted on by time rules." in result.stdout
    db.session.expire_all()
    assert db.session.scalar(select(Ticket.status)) == "closed"


def test_the_auto_close_command_with_the_rule_switched_off(app, desk, make_ticket):
    make_ticket(status="resolved", at=utcnow() - timedelta(days=100))
    result = app.test_cli_runner().invoke(args=["tickets", "auto-close"])
    assert result.exit_code == 0 and "0 tickets acted on by time rules." in result.output
    assert db.session.scalar(select(Ticket.status)) == "resolved"
