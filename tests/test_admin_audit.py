"""Everything an admin changes is in the audit log: every POST route of the admin area, taken from
the app's URL map, is made once with valid data (signed in as the admin, with the CSRF token) and
must write a new audit entry naming the admin and the thing changed, and never a secret. A new
admin POST route fails this test until it has a row in CHANGES. And the guard behind it: an
admin request that commits a change without an audit entry is refused, and nothing is saved."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from factories import enrol_two_factor, make_api_key, make_mailbox, make_webhook, queue_mails
from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import (
    Agent,
    ApiKey,
    AuditEntry,
    Department,
    HelpTopic,
    MailTemplate,
    Priority,
    Rule,
    SLAHoliday,
    SLAPlan,
    Tag,
    Team,
    WebhookDelivery,
)
from support.forms import settings_data
from support.pages import csrf_token

TYPED_PASSWORD = "typed-Agent-pass-42"
MAILBOX_PASSWORD = "mailbox-Secret-77"
SECRETS = [TYPED_PASSWORD, MAILBOX_PASSWORD]


def topic_data(desk, **over):
    return {"name": "VPN access", "parent": "0", "public": "y", "active": "y", "sort": "5", "instructions": "",
            "department": str(desk.departments["IT Operations"].id), "priority": str(desk.priorities["high"].id),
            "sla": str(desk.slas["Priority"].id), "assign_mode": "", "assign_agent": "0", "assign_team": "0",
            **over}


def sla_data(**over):
    return {"name": "Gold", "grace_hours": "24", "first_response_hours": "4", "active": "y", "schedule": "24x7",
            "timezone": "", "overdue_alerts": "y", "escalate_team": "0", **over}


def department_data(**over):
    return {"name": "Billing", "email": "", "manager": "0", "sla": "0", "active": "y", **over}


def team_data(**over):
    return {"name": "Night shift", "lead": "0", "members": [], "active": "y", **over}


def agent_data(**over):
    return {"name": "Nora New", "email": "nora@example.com", "role": "agent", "active": "y", "departments": [],
            "teams": [], "password": TYPED_PASSWORD, **over}


def mailbox_data(desk, **over):
    return {"name": "Support inbox", "department": str(desk.departments["Support"].id), "topic": "0",
            "host": "127.0.0.1", "port": "993", "security": "ssl", "username": "desk", "password": MAILBOX_PASSWORD,
            "folder": "INBOX", "action": "seen", "active": "y", **over}


def made(c, url, data, model, name):
    """Make something through its own admin form (to change or delete it next); its id."""
    assert c.post(url, data=data).status_code == 302
    return db.session.scalar(select(model.id).where(model.name == name))


def switched_off(row):
    row.active = False
    db.session.commit()
    return row.id


def a_mailbox(desk):
    return make_mailbox("Sales inbox", port=993, security="ssl", username="sales", password=MAILBOX_PASSWORD).id


def an_api_key():
    return make_api_key("hd_shop-key", name="Shop", scopes="create").id


def a_failed_mail():
    queue_mails(1, "failed", attempts=12)


def two_factor_on(agent):
    enrol_two_factor(agent)
    return agent.id


def a_holiday(desk):
    holiday = SLAHoliday(sla=desk.slas["Standard"], day=__import__("datetime").date(2026, 12, 26), name="Boxing Day")
    db.session.add(holiday)
    db.session.commit()
    return holiday.id


WEBHOOK_URL = "https://93.184.215.14/hooks/helpdesk"  # a public address: no name to look up


def webhook_data(**over):
    return {"name": "Team chat", "url": WEBHOOK_URL, "events": ["ticket.created", "ticket.resolved"], "active": "y",
            **over}


def a_webhook():
    return make_webhook(WEBHOOK_URL, name="Team chat").id


def a_tag():
    tag = Tag(key="hardware", name="Hardware")
    db.session.add(tag)
    db.session.commit()
    return tag.id


def a_failed_delivery():
    hook = make_webhook(WEBHOOK_URL, name="Team chat")
    delivery = WebhookDelivery(webhook=hook, kind="ticket.created", payload="{}", status="failed", attempts=8)
    db.session.add(delivery)
    db.session.commit()
    return f"/admin/webhooks/{hook.id}/deliveries/{delivery.id}/retry"


def rule_data(d, **over):
    return {"kind": "event", "name": "Bank outages", "scope": "desk", "active": "on", "triggers": "opened",
            "match": "all", "c-0-field": "subject", "c-0-op": "contains", "c-0-value": "outage",
            "a-0-type": "set_priority", "a-0-value": str(d.priorities["emergency"].id), "edit": "save", **over}


def a_rule(d, name="Bank outages"):
    rule = Rule(name=name, triggers="opened", conditions='[{"field": "subject", "op": "contains", "value": "x"}]',
                actions='[{"type": "note", "value": "x"}]')
    db.session.add(rule)
    db.session.commit()
    return rule.id


def a_custom_wording(c):
    assert c.post("/admin/mail-templates/reply_customer", data={"subject": "Our answer", "message": ""}).status_code == 302


# endpoint -> function(client, desk) -> (URL, form data, audit object type, name in the entry)
CHANGES = {
    "admin.topic_new": lambda c, d: ("/admin/topics/new", topic_data(d), "topic", "VPN access"),
    "admin.topic_edit": lambda c, d: (f"/admin/topics/{d.topics['Billing question'].id}",
                                      topic_data(d, name="Billing questions"), "topic", "Billing questions"),
    "admin.topic_deactivate": lambda c, d: (f"/admin/topics/{d.topics['Billing question'].id}/deactivate", {},
                                            "topic", "Billing question"),
    "admin.topic_activate": lambda c, d: (f"/admin/topics/{switched_off(d.topics['Billing question'])}/activate",
                                          {}, "topic", "Billing question"),
    "admin.topic_delete": lambda c, d: (
        f"/admin/topics/{made(c, '/admin/topics/new', topic_data(d, name='Gone'), HelpTopic, 'Gone')}/delete", {},
        "topic", "Gone"),
    "admin.sla_new": lambda c, d: ("/admin/sla-plans/new", sla_data(), "sla", "Gold"),
    "admin.sla_edit": lambda c, d: (f"/admin/sla-plans/{d.slas['Standard'].id}", sla_data(name="Standard plan"),
                                    "sla", "Standard plan"),
    "admin.sla_deactivate": lambda c, d: (f"/admin/sla-plans/{d.slas['Standard'].id}/deactivate", {}, "sla",
                                          "Standard"),
    "admin.sla_activate": lambda c, d: (f"/admin/sla-plans/{switched_off(d.slas['Standard'])}/activate", {}, "sla",
                                        "Standard"),
    "admin.sla_delete": lambda c, d: (
        f"/admin/sla-plans/{made(c, '/admin/sla-plans/new', sla_data(name='Gone'), SLAPlan, 'Gone')}/delete", {},
        "sla", "Gone"),
    "admin.holiday_add": lambda c, d: (f"/admin/sla-plans/{d.slas['Standard'].id}/holidays",
                                       {"holiday-day": "2026-12-25", "holiday-name": "Christmas"}, "sla", "Standard"),
    "admin.holiday_remove": lambda c, d: (
        f"/admin/sla-plans/{d.slas['Standard'].id}/holidays/{a_holiday(d)}/delete", {}, "sla", "Standard"),
    "admin.department_new": lambda c, d: ("/admin/departments/new", department_data(), "department", "Billing"),
    "admin.department_edit": lambda c, d: (f"/admin/departments/{d.departments['Support'].id}",
                                           department_data(name="Support desk"), "department", "Support desk"),
    "admin.department_deactivate": lambda c, d: (f"/admin/departments/{d.departments['Support'].id}/deactivate",
                                                 {}, "department", "Support"),
    "admin.department_activate": lambda c, d: (
        f"/admin/departments/{switched_off(d.departments['Support'])}/activate", {}, "department", "Support"),
    "admin.department_delete": lambda c, d: (
        f"/admin/departments/{made(c, '/admin/departments/new', department_data(name='Gone'), Department, 'Gone')}"
        "/delete", {}, "department", "Gone"),
    "admin.team_new": lambda c, d: ("/admin/teams/new", team_data(), "team", "Night shift"),
    "admin.team_edit": lambda c, d: (f"/admin/teams/{d.teams['Vendor Support'].id}",
                                     team_data(name="Vendor team"), "team", "Vendor team"),
    "admin.team_deactivate": lambda c, d: (f"/admin/teams/{d.teams['Vendor Support'].id}/deactivate", {}, "team",
                                           "Vendor Support"),
    "admin.team_activate": lambda c, d: (f"/admin/teams/{switched_off(d.teams['Vendor Support'])}/activate", {},
                                         "team", "Vendor Support"),
    "admin.team_delete": lambda c, d: (
        f"/admin/teams/{made(c, '/admin/teams/new', team_data(name='Gone'), Team, 'Gone')}/delete", {}, "team", "Gone"),
    "admin.agent_new": lambda c, d: ("/admin/agents/new", agent_data(), "agent", "Nora New"),
    "admin.agent_edit": lambda c, d: (f"/admin/agents/{d.vendor.id}",
                                      agent_data(name="Vic Vendor", email=d.vendor.email, password=""),
                                      "agent", "Vic Vendor"),
    "admin.agent_deactivate": lambda c, d: (f"/admin/agents/{d.vendor.id}/deactivate", {}, "agent", d.vendor.name),
    "admin.agent_activate": lambda c, d: (f"/admin/agents/{switched_off(d.vendor)}/activate", {}, "agent",
                                          d.vendor.name),
    "admin.agent_delete": lambda c, d: (
        f"/admin/agents/{made(c, '/admin/agents/new', agent_data(name='Gone', email='gone@example.com'), Agent, 'Gone')}"
        "/delete", {}, "agent", "Gone"),
    "admin.agent_password": lambda c, d: (f"/admin/agents/{d.tech.id}/password",
                                          {"mode": "set", "password": TYPED_PASSWORD}, "agent", d.tech.name),
    "admin.agent_two_factor_reset": lambda c, d: (f"/admin/agents/{two_factor_on(d.tech)}/two-factor/reset",
                                                  {"confirm": "y"}, "agent", d.tech.name),
    "admin.priority_new": lambda c, d: ("/admin/priorities/new", {"new-name": "Critical", "new-colour": "#7c3aed"},
                                        "priority", "Critical"),
    "admin.priority_save": lambda c, d: (f"/admin/priorities/{d.priorities['low'].id}",
                                         {"name": "Lowest", "colour": "#123456"}, "priority", "Lowest"),
    "admin.priority_move": lambda c, d: (f"/admin/priorities/{d.priorities['low'].id}/move", {"direction": "up"},
                                         "priority", d.priorities["low"].name),
    "admin.priority_delete": lambda c, d: (
        f"/admin/priorities/{made(c, '/admin/priorities/new', {'new-name': 'Gone', 'new-colour': '#000000'}, Priority, 'Gone')}"
        "/delete", {}, "priority", "Gone"),
    "admin.settings_page": lambda c, d: ("/admin/settings", settings_data(), "setting", "name"),
    "admin.mail_template_save": lambda c, d: ("/admin/mail-templates/reply_customer",
                                              {"subject": "Our answer", "message": "Hello {customer_name},"},
                                              "mail_template", ""),
    "admin.mail_template_restore": lambda c, d: (
        a_custom_wording(c) or "/admin/mail-templates/reply_customer/restore", {}, "mail_template", ""),
    "admin.api_keys": lambda c, d: ("/admin/api-keys", {"name": "Website chat", "scope_create": "y",
                                                        "ip_ranges": "10.0.0.0/8\n192.0.2.7"}, "api_key",
                                    "Website chat"),
    "admin.revoke_api_key": lambda c, d: (f"/admin/api-keys/{an_api_key()}/revoke", {}, "api_key", "Shop"),
    "admin.mailboxes": lambda c, d: ("/admin/mailboxes", mailbox_data(d), "mailbox", "Support inbox"),
    "admin.edit_mailbox": lambda c, d: (f"/admin/mailboxes/{a_mailbox(d)}",
                                        mailbox_data(d, name="Sales inbox", username="sales", folder="Sales"),
                                        "mailbox", "Sales inbox"),
    "admin.outbox_retry": lambda c, d: (a_failed_mail() or "/admin/outbox/retry", {}, "outbox", "Failed mail"),
    "admin.webhook_new": lambda c, d: ("/admin/webhooks/new", webhook_data(), "webhook", "Team chat"),
    "admin.webhook_edit": lambda c, d: (f"/admin/webhooks/{a_webhook()}", webhook_data(name="Ops chat", new_secret="y"),
                                        "webhook", "Ops chat"),
    "admin.webhook_delete": lambda c, d: (f"/admin/webhooks/{a_webhook()}/delete", {}, "webhook", "Team chat"),
    "admin.webhook_retry": lambda c, d: (a_failed_delivery(), {}, "webhook", "Team chat"),
    "admin.rule_new": lambda c, d: ("/admin/rules/new", rule_data(d), "rule", "Bank outages"),
    "admin.rule_edit": lambda c, d: (f"/admin/rules/{a_rule(d)}", rule_data(d, name="Bank incidents"), "rule",
                                     "Bank incidents"),
    "admin.rule_switch": lambda c, d: (f"/admin/rules/{a_rule(d)}/switch", {"active": "0"}, "rule", "Bank outages"),
    "admin.rule_move": lambda c, d: (a_rule(d, "Earlier") and f"/admin/rules/{a_rule(d)}/move", {"direction": "up"},
                                     "rule", "Bank outages"),
    "admin.rule_delete": lambda c, d: (f"/admin/rules/{a_rule(d)}/delete", {}, "rule", "Bank outages"),
    "admin.tag_new": lambda c, d: ("/admin/tags", {"name": "Hardware"}, "tag", "Hardware"),
    "admin.tag_edit": lambda c, d: (f"/admin/tags/{a_tag()}", {"name": "Devices"}, "tag", "Devices"),
    "admin.tag_delete": lambda c, d: (f"/admin/tags/{a_tag()}/delete", {}, "tag", "Hardware"),
}
# POST routes that change nothing (a preview of a draft): they must write no audit entry either.
READ_ONLY = {
    "admin.mail_template_preview": lambda c, d: ("/admin/mail-templates/reply_customer/preview",
                                                 {"subject": "Draft", "message": "Draft text"}),
}


def admin_post_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("admin.") and "POST" in rule.methods}


def test_every_admin_post_route_is_in_the_table(app):
    endpoints = admin_post_endpoints(app)
    assert endpoints - CHANGES.keys() - READ_ONLY.keys() == set(), "add the new admin POST routes to CHANGES"
    assert (CHANGES.keys() | READ_ONLY.keys()) - endpoints == set(), "routes in CHANGES that no longer exist"


@pytest.fixture
def admin_with_csrf(app, client, login, desk):
    """The admin, signed in, on an app that checks CSRF tokens; the token to send."""
    login(desk.admin)
    app.config["WTF_CSRF_ENABLED"] = True
    yield csrf_token(client.get("/admin/settings").get_data(as_text=True))
    app.config["WTF_CSRF_ENABLED"] = False


def last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEntry.id))) or 0


@pytest.mark.parametrize("endpoint", sorted(CHANGES))
def test_every_admin_change_writes_an_audit_entry(endpoint, app, client, desk, admin_with_csrf):
    app.config["WTF_CSRF_ENABLED"] = False  # the setup makes things through the forms too
    url, data, kind, name = CHANGES[endpoint](client, desk)
    app.config["WTF_CSRF_ENABLED"] = True
    db.session.expire_all()
    before = last_audit_id()
    response = client.post(url, data={**data, "csrf_token": admin_with_csrf})
    assert response.status_code in (200, 201, 302), (endpoint, response.status_code, response.get_data(as_text=True)[:500])
    db.session.expire_all()
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.id > before)))
    assert entries, f"{endpoint} changed something and wrote no audit entry"
    assert all(e.agent_id == desk.admin.id and e.agent_name == desk.admin.name for e in entries)
    assert any(e.object_type == kind and name.lower() in (e.object_name or "").lower() for e in entries), \
        [(e.object_type, e.object_name, e.field) for e in entries]
    written = " ".join(f"{e.object_name} {e.field} {e.old} {e.new}" for e in entries)
    secrets = SECRETS + re.findall(r"(?:hd|whsec)_[A-Za-z0-9_-]{20,}", response.get_data(as_text=True))  # shown once
    assert not any(secret in written for secret in secrets), written


@pytest.mark.parametrize("endpoint", sorted(READ_ONLY))
def test_admin_posts_that_change_nothing_write_nothing(endpoint, client, desk, admin_with_csrf):
    url, data = READ_ONLY[endpoint](client, desk)
    before = last_audit_id()
    assert client.post(url, data={**data, "csrf_token": admin_with_csrf}).status_code == 200
    assert last_audit_id() == before and db.session.scalar(select(func.count(MailTemplate.key))) == 0


def test_what_keys_and_mailboxes_record(client, login, desk):
    """Scopes, ranges, revocation, each mailbox field and the password only as "changed"."""
    login(desk.admin)
    assert client.post("/admin/api-keys", data={"name": "Website chat", "scope_read": "y",
                                                "ip_ranges": "10.0.0.0/8"}).status_code == 201
    key = db.session.scalar(select(ApiKey))
    client.post(f"/admin/api-keys/{key.id}/revoke")
    fields = {(e.field, e.old, e.new) for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "api_key"))}
    assert {("created", None, "Website chat"), ("scopes", None, "read"), ("ip_ranges", None, "10.0.0.0/8"),
            ("state", "active", "revoked")} <= fields
    box_id = a_mailbox(desk)
    assert client.post(f"/admin/mailboxes/{box_id}", data=mailbox_data(
        desk, name="Sales inbox", host="imap.example.net", port="143", security="starttls", username="sales2",
        password="another-Secret-1", folder="Sales", action="move", move_to="Done", topic=str(desk.topics["Billing question"].id),
        department=str(desk.departments["IT Operations"].id), active="")).status_code == 302
    fields = {e.field: (e.old, e.new) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "mailbox", AuditEntry.object_id == box_id))}
    assert fields == {"host": ("127.0.0.1", "imap.example.net"), "port": ("993", "143"),
                      "security": ("ssl", "starttls"), "username": ("sales", "sales2"), "folder": ("INBOX", "Sales"),
                      "action": ("seen", "move"), "move_to": (None, "Done"), "active": ("yes", "no"),
                      "topic": (None, "Billing question"), "department": ("Support", "IT Operations"),
                      "password": (None, "changed")}
    page = client.get("/admin/audit?type=mailbox").get_data(as_text=True)
    assert "Sales inbox" in page and "another-Secret-1" not in page
    assert "API keys" in client.get("/admin/audit?type=api_key").get_data(as_text=True)


def test_an_admin_change_without_an_audit_entry_is_refused(client, login, desk, monkeypatch):
    """The guard behind the table: a view that forgets its audit entry saves nothing."""
    key_id = an_api_key()
    login(desk.admin)
    monkeypatch.setattr(audit, "record", lambda *args, **kwargs: None)  # a view that forgets to log
    assert client.post(f"/admin/api-keys/{key_id}/revoke").status_code == 500  # loud, and rolled back
    db.session.expire_all()
    assert db.session.get(ApiKey, key_id).revoked_at is None
