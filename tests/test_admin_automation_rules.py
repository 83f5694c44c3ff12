"""The rules editor in the admin area: writing, previewing (without side effects), saving,
switching, reordering and deleting rules; who may write which; every bad input a clear 4xx with
nothing saved; every change audited."""
from __future__ import annotations

import html
import json

import pytest
from sqlalchemy import func, select

from helpdesk import mailin
from helpdesk.extensions import db
from helpdesk.models import AuditEntry, Event, OutboxMail, Rule, Ticket, WebhookDelivery
from support.pages import text_of as _text


def text_of(response) -> str:
    return html.unescape(_text(response))


def form(desk, **over):
    """The editor's fields for the bank-outage rule of the issue."""
    data = {
        "kind": "event", "name": "Bank outages", "description": "The bank's outages go straight to IT Operations.",
        "scope": "desk", "active": "on", "triggers": ["opened"], "match": "all",
        "c-0-field": "sender_domain", "c-0-op": "equals", "c-0-value": "bank.example",
        "c-1-field": "subject", "c-1-op": "contains", "c-1-value": "outage",
        "a-0-type": "set_department", "a-0-value": str(desk.departments["IT Operations"].id),
        "a-1-type": "set_priority", "a-1-value": str(desk.priorities["emergency"].id),
        "a-2-type": "set_team", "a-2-value": str(desk.teams["SysAdmins/Developers"].id),
        "edit": "save",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def rows():
    """How many rows the tables a rule could touch hold (the preview must change none)."""
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in
                 (Ticket, Event, OutboxMail, WebhookDelivery, AuditEntry)) + (
        db.session.scalar(select(func.sum(Ticket.version))),)


def test_the_list_and_an_empty_editor(admin, desk):
    page = text_of(admin.get("/admin/rules"))
    assert "Automation rules" in page and "No rules yet." in page
    page = text_of(admin.get("/admin/rules/new"))
    assert "New rule" in page and "A ticket is opened" in page and "Preview" in page
    page = text_of(admin.get("/admin/rules/new?kind=time"))
    assert "New time rule" in page and "Awaiting the customer for" in page


def test_editing_buttons_redraw_the_form_and_save_nothing(admin, desk):
    response = admin.post("/admin/rules/new", data=form(desk, edit="add-condition"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="c-2-field"' in html
    response = admin.post("/admin/rules/new", data=form(desk, edit="remove-action-0"))
    assert 'name="a-2-type"' not in response.get_data(as_text=True)
    # a field changed to a choice: its operators and a select of values are drawn
    response = admin.post("/admin/rules/new", data=form(desk, edit="refresh", **{"c-0-field": "priority"}))
    html = response.get_data(as_text=True)
    assert '<select id="c-0-value"' in html and "Emergency" in html
    # htmx asks for the form only
    response = admin.post("/admin/rules/new", data=form(desk, edit="add-action"), headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="rule-form"') and 'name="a-3-type"' in html
    assert db.session.scalar(select(func.count(Rule.id))) == 0


def test_preview_shows_what_the_rule_would_do_and_changes_nothing(admin, desk, make_ticket):
    hit = make_ticket(email="ops@bank.example", subject="Outage of the payment API")
    make_ticket(email="ops@bank.example", subject="Invoice question")
    make_ticket(email="someone@other.example", subject="Outage at home")
    before = rows()
    response = admin.post("/admin/rules/new", data=form(desk, edit="preview"))
    assert response.status_code == 200
    page = text_of(response)
    assert "Preview: 1 of the last 3 tickets match" in page
    assert f"#{hit.number}" in page and "Move to department: IT Operations" in page
    assert "Set the priority: Emergency" in page
    assert rows() == before
    assert db.session.scalar(select(func.count(Rule.id))) == 0


def test_saving_a_rule_audits_it_and_the_next_matching_mail_is_handled_so(admin, desk, inbox):
    response = admin.post("/admin/rules/new", data=form(desk))
    assert response.status_code == 302
    rule = db.session.scalar(select(Rule))
    assert rule.name == "Bank outages" and rule.updated_by_id == desk.admin.id
    audit = {(a.field, a.new) for a in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "rule"))}
    assert ("created", "Bank outages") in audit
    assert any(f == "conditions" and "Sender's domain is “bank.example”" in (n or "") for f, n in audit)
    raw = (b"From: Ops <ops@bank.example>\r\nTo: help@desk.test\r\nSubject: Outage: no payments\r\n"
           b"Message-ID: <o1@bank.example>\r\n\r\nNothing goes through.\r\n")
    outcome = mailin.take_in(raw)
    ticket = db.session.get(Ticket, outcome.ticket.id)
    assert ticket.department.name == "IT Operations" and ticket.priority.key == "emergency"
    assert ticket.team.name == "SysAdmins/Developers"
    page = text_of(admin.get(f"/agent/tickets/{ticket.number}"))
    assert "<strong>Rule “Bank outages”</strong> changed the priority" in page


@pytest.mark.parametrize("over, message", [
    ({"name": ""}, "Give the rule a name."),
    ({"triggers": None}, "Choose at least one moment the rule runs at"),
    ({"c-0-field": None, "c-0-op": None, "c-0-value": None, "c-1-field": None, "c-1-op": None, "c-1-value": None},
     "Add at least one condition"),
    ({"c-1-op": "matches", "c-1-value": "(outage"}, "is not a regular expression the desk can run"),
    ({"c-1-op": "matches", "c-1-value": "(?<=a)b"}, "is not a regular expression the desk can run"),
    ({"c-0-value": ""}, "Sender's domain is: enter a value."),
    ({"c-0-field": "priority", "c-0-op": "is", "c-0-value": "99999"}, "Priority: there is no such choice"),
    ({"c-0-field": "nonsense"}, "There is no field “nonsense” to test."),
    ({"a-0-type": None, "a-0-value": None, "a-1-type": None, "a-1-value": None, "a-2-type": None, "a-2-value": None},
     "Add at least one action"),
    ({"a-0-type": "explode"}, "There is no action “explode”."),
    ({"a-1-value": ""}, "Set the priority: choose one of the offered values."),
    ({"a-3-type": "assign_agent", "a-3-value": "TECH"}, "Tom Technician is not an agent of IT Operations"),
    ({"a-3-type": "mail", "a-3-to": "not an address", "a-3-subject": "Hi", "a-3-value": "x"}, "is not a valid email address"),
    ({"a-3-type": "note", "a-3-value": "Hello {nobody}"}, "{nobody} is not a placeholder the desk knows"),
    ({"a-3-type": "no_ack", "triggers": ["opened", "customer_replied"]}, "applies only to a rule that runs when a ticket is opened"),
    ({"a-3-type": "stop", "a-4-type": "note", "a-4-value": "x"}, "“Stop” must be the last action."),
    ({"a-3-type": "set_priority", "a-3-value": "1"}, "Each kind of action may appear once"),
    ({"a-3-type": "reject", "a-3-value": "No."}, "A rule that rejects or marks as spam does nothing else"),
])
def test_bad_rules_are_refused_with_a_clear_message_and_nothing_saved(admin, desk, over, message):
    if over.get("a-3-value") == "TECH":
        over["a-3-value"] = str(desk.tech.id)
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    response = admin.post("/admin/rules/new", data=form(desk, **over))
    assert response.status_code == 400
    page = text_of(response)
    assert message in page and "Nothing was saved." in page
    assert db.session.scalar(select(func.count(Rule.id))) == 0
    assert db.session.scalar(select(func.count(AuditEntry.id))) == before


def test_a_rule_that_would_reject_every_ticket_is_refused(admin, desk, make_ticket):
    for n in range(10):
        make_ticket(subject=f"Help {n}")
    data = {k: v for k, v in form(desk).items() if not k.startswith(("a-", "c-1"))}
    data.update({"c-0-field": "subject", "c-0-op": "matches", "c-0-value": ".*", "a-0-type": "reject",
                 "a-0-value": "We do not accept requests here."})
    response = admin.post("/admin/rules/new", data=data)
    assert response.status_code == 400
    assert "would have rejected every one of the last" in text_of(response)
    data["c-0-value"] = "viagra"
    assert admin.post("/admin/rules/new", data=data).status_code == 302


def test_an_unsaved_name_clash_is_refused(admin, desk):
    assert admin.post("/admin/rules/new", data=form(desk)).status_code == 302
    response = admin.post("/admin/rules/new", data=form(desk, name="bank OUTAGES"))
    assert response.status_code == 400 and "Another rule has this name." in text_of(response)


def test_managers_write_their_departments_rules_only(login, desk, client):
    admin = login(desk.admin)
    assert admin.post("/admin/rules/new", data=form(desk)).status_code == 302
    desk_rule = db.session.scalar(select(Rule))
    manager = login(desk.manager)
    support = desk.departments["Support"]
    # a desk-wide rule: the manager reads it, cannot change it
    page = text_of(manager.get(f"/admin/rules/{desk_rule.id}"))
    assert "Read only." in page
    assert manager.post(f"/admin/rules/{desk_rule.id}", data=form(desk, name="Mine now")).status_code == 403
    assert manager.post(f"/admin/rules/{desk_rule.id}/switch", data={"active": "0"}).status_code == 403
    assert manager.post(f"/admin/rules/{desk_rule.id}/delete").status_code == 403
    # the manager's own department's rule
    mine = form(desk, name="Support VIPs", scope=f"department-{support.id}", **{
        "a-0-type": "set_priority", "a-0-value": str(desk.priorities["high"].id), "a-1-type": None,
        "a-1-value": None, "a-2-type": None, "a-2-value": None})
    response = manager.post("/admin/rules/new", data=mine)
    assert response.status_code == 302, text_of(response)
    rule = db.session.scalar(select(Rule).where(Rule.name == "Support VIPs"))
    assert rule.department_id == support.id
    # the whole desk is not the manager's to choose
    response = manager.post("/admin/rules/new", data={**mine, "name": "Everyone", "scope": "desk"})
    assert response.status_code == 400 and "Choose which tickets the rule is for." in text_of(response)
    # a plain agent has no admin area at all
    agent = login(desk.tech)
    assert agent.get("/admin/rules").status_code == 403
    assert agent.post("/admin/rules/new", data=mine).status_code == 403


def test_switch_move_and_delete_are_audited(admin, desk):
    for name in ("First", "Second"):
        assert admin.post("/admin/rules/new", data=form(desk, name=name)).status_code == 302
    first, second = db.session.scalars(select(Rule).order_by(Rule.position)).all()
    page = text_of(admin.get("/admin/rules"))
    assert page.index("First") < page.index("Second") and "A ticket is opened" in page
    assert admin.post(f"/admin/rules/{second.id}/move", data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [r.name for r in db.session.scalars(select(Rule).order_by(Rule.position))] == ["Second", "First"]
    assert admin.post(f"/admin/rules/{first.id}/switch", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Rule, first.id).active is False
    assert admin.post(f"/admin/rules/{first.id}/delete").status_code == 302
    assert db.session.get(Rule, first.id) is None
    fields = [a.field for a in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "rule"))]
    assert {"order", "active", "deleted"} <= set(fields)
    assert admin.post("/admin/rules/999999/delete").status_code == 404


def test_editing_a_saved_rule_shows_it_and_records_what_changed(admin, desk):
    admin.post("/admin/rules/new", data=form(desk))
    rule = db.session.scalar(select(Rule))
    page = text_of(admin.get(f"/admin/rules/{rule.id}"))
    assert "Bank outages" in page and "Matched 0 times." in page
    response = admin.post(f"/admin/rules/{rule.id}", data=form(desk, **{"c-1-value": "down"}))
    assert response.status_code == 302
    db.session.expire_all()
    assert json.loads(db.session.get(Rule, rule.id).conditions)[1]["value"] == "down"
    change = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "conditions")
                               .order_by(AuditEntry.id.desc()))
    assert "“outage”" in change.old and "“down”" in change.new
    response = admin.post(f"/admin/rules/{rule.id}", data=form(desk, **{"c-1-value": "down"}))
    assert response.status_code == 302
    assert "Nothing was changed." in text_of(admin.get(f"/admin/rules/{rule.id}"))
