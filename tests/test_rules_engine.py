"""Event rules: each trigger, condition and action, order and stop-on-match, the loop guard, a
refused action, reject and spam on every channel, run through the lifecycle as the desk's
channels run it (in the transaction of the change that fired them)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from factories import make_mailbox, make_webhook
from helpdesk import mailin, tickets
from helpdesk.automations import actions, conditions, engine
from helpdesk.extensions import db
from helpdesk.models import (
    CannedResponse,
    Collaborator,
    Event,
    FailedMail,
    OutboxMail,
    ProcessedMail,
    Rule,
    ThreadEntry,
    Ticket,
    WebhookDelivery,
)
from support.rows import fresh
from test_portal import ticket_form


def make_rule(name, conditions, actions, *, triggers=("opened",), match="all", position=0, department=None,
              channels=(), active=True):
    rule = Rule(name=name, kind="event", triggers=",".join(triggers), channels=",".join(channels), match=match,
                conditions=json.dumps(conditions), actions=json.dumps(actions), position=position,
                department_id=department.id if department is not None else None, active=active)
    db.session.add(rule)
    db.session.commit()
    return rule


def history(ticket):
    return [(e.action, e.new, e.rule_name) for e in db.session.scalars(
        select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id))]


def by_rule(ticket, name):
    return [(action, new) for action, new, rule in history(ticket) if rule == name]


ALWAYS = [{"field": "subject", "op": "not_empty", "value": None}]


def mail(sender="ops@bank.example", subject="Outage", body="Nothing works.", to="help@desk.test", mid="m1"):
    return (f"From: Someone <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}@x.example>\r\n"
            f"\r\n{body}\r\n").encode()


# --- conditions --------------------------------------------------------------------------------


@pytest.mark.parametrize("condition, subject, email, hit", [
    ({"field": "subject", "op": "equals", "value": "outage"}, "OUTAGE", None, True),
    ({"field": "subject", "op": "not_equals", "value": "outage"}, "Outage", None, False),
    ({"field": "subject", "op": "contains", "value": "down"}, "Banking is DOWN", None, True),
    ({"field": "subject", "op": "not_contains", "value": "down"}, "Banking is DOWN", None, False),
    ({"field": "subject", "op": "starts_with", "value": "urgent"}, "Urgent: help", None, True),
    ({"field": "subject", "op": "ends_with", "value": "help"}, "Urgent: help", None, True),
    ({"field": "subject", "op": "matches", "value": r"invoice\s*#?\d+"}, "Re: Invoice #4411", None, True),
    ({"field": "subject", "op": "matches", "value": r"^invoice$"}, "Re: Invoice #4411", None, False),
    ({"field": "subject", "op": "in_list", "value": "a, b, hello"}, "Hello", None, True),
    ({"field": "body", "op": "contains", "value": "it does not work"}, "x", None, True),
    ({"field": "sender", "op": "equals", "value": "ken@bank.example"}, "x", "Ken@Bank.example", True),
    ({"field": "sender_domain", "op": "ends_with", "value": ".example"}, "x", "ken@bank.example", True),
    ({"field": "customer", "op": "starts_with", "value": "ken@"}, "x", "ken@bank.example", True),
    ({"field": "recipient", "op": "is_empty", "value": None}, "x", None, True),
    ({"field": "channel", "op": "is", "value": "web"}, "x", None, True),
    ({"field": "channel", "op": "in_list", "value": ["email", "api"]}, "x", None, False),
    ({"field": "status", "op": "is", "value": "new"}, "x", None, True),
    ({"field": "assignee", "op": "is_empty", "value": None}, "x", None, True),
    ({"field": "team", "op": "not_empty", "value": None}, "x", None, False),
])
def test_each_condition(desk, make_ticket, condition, subject, email, hit):
    make_rule("Test", [conditions.check(condition)], [{"type": "note", "value": "matched"}])
    ticket = make_ticket(subject=subject, **({"email": email} if email else {}))
    assert (("noted", None, "Test") in history(ticket)) is hit


def test_choice_conditions_on_topic_department_priority_and_sla(desk, make_ticket):
    topic = desk.topics["Business Critical Outage"]
    make_rule("Choices", [
        conditions.check({"field": "topic", "op": "is", "value": str(topic.id)}),
        conditions.check({"field": "department", "op": "in_list", "value": [str(d.id) for d in desk.departments.values()]}),
        conditions.check({"field": "priority", "op": "is_not", "value": str(desk.priorities["low"].id)}),
        conditions.check({"field": "sla", "op": "not_empty", "value": None}),
    ], [{"type": "note", "value": "matched"}])
    assert ("noted", None, "Choices") in history(make_ticket("Business Critical Outage"))
    assert ("noted", None, "Choices") not in history(make_ticket("General inquiry"))


def test_any_of_the_conditions(desk, make_ticket):
    make_rule("Any", [conditions.check({"field": "subject", "op": "contains", "value": "refund"}),
                      conditions.check({"field": "body", "op": "contains", "value": "money back"})],
              [{"type": "note", "value": "matched"}], match="any")
    assert by_rule(make_ticket(subject="Hello", body="I want my money back"), "Any")
    assert not by_rule(make_ticket(subject="Hello", body="Thanks"), "Any")


def test_business_hours_condition(desk, make_ticket, clock):
    from datetime import datetime
    plan = desk.slas["Standard"]  # Mon-Fri 09:00-17:00 in the desk's time zone
    make_rule("Out of hours", [conditions.check({"field": "time", "op": "outside", "value": str(plan.id)})],
              [{"type": "note", "value": "We are closed now."}])
    clock.set(datetime(2026, 12, 5, 12, 0))  # a Saturday
    assert by_rule(make_ticket(), "Out of hours")
    clock.set(datetime(2026, 12, 7, 11, 0))  # a Monday morning
    assert not by_rule(make_ticket(), "Out of hours")


def test_a_regular_expression_runs_in_linear_time_on_hostile_text(desk, make_ticket):
    # (a+)+$ is catastrophic for a backtracking engine on "aaaa...!"; RE2 answers at once.
    make_rule("Hostile", [conditions.check({"field": "body", "op": "matches", "value": "(a+)+$"})],
              [{"type": "note", "value": "matched"}])
    ticket = make_ticket(body="a" * 5000 + "!")
    assert not by_rule(ticket, "Hostile")


def test_mail_conditions_on_recipient_and_mailbox(desk):
    box = make_mailbox(name="Bank line", department=desk.departments["IT Operations"])
    make_rule("To the bank line", [conditions.check({"field": "recipient", "op": "equals", "value": "bank@desk.test"})],
              [{"type": "note", "value": "Sent to the bank line"}])
    make_rule("Through the box", [conditions.check({"field": "mailbox", "op": "is", "value": str(box.id)})],
              [{"type": "note", "value": "Came through the box"}])
    first = mailin.take_in(mail(to="bank@desk.test", mid="r1")).ticket
    assert by_rule(first, "To the bank line") and not by_rule(first, "Through the box")
    second = mailin.take_in(mail(to="help@desk.test", mid="r2"), mailbox=box).ticket
    assert by_rule(second, "Through the box") and not by_rule(second, "To the bank line")


# --- triggers ------------------------------------------------------------------------------------


def test_triggers_each_fire_on_their_moment_only(desk, make_ticket):
    for trigger in ("customer_replied", "agent_replied", "status_changed", "priority_changed",
                    "assignee_changed", "team_changed", "reopened"):
        make_rule(trigger, ALWAYS, [{"type": "note", "value": trigger}], triggers=(trigger,))
    ticket = make_ticket()
    assert not any(rule for _, _, rule in history(ticket))
    tickets.claim(desk.tech, fresh(ticket))
    assert by_rule(ticket, "assignee_changed") and by_rule(ticket, "status_changed")
    tickets.set_priority(desk.manager, fresh(ticket), desk.priorities["low"])
    assert by_rule(ticket, "priority_changed")
    tickets.reply(desk.tech, fresh(ticket), "Try again?")
    assert by_rule(ticket, "agent_replied")
    tickets.customer_reply(fresh(ticket), "Still broken.")
    assert by_rule(ticket, "customer_replied")
    tickets.escalate(desk.tech, fresh(ticket), desk.teams["SysAdmins/Developers"], "DNS?")
    assert by_rule(ticket, "team_changed")
    tickets.resolve(desk.tech, fresh(ticket), "Fixed.")
    assert not by_rule(ticket, "reopened")
    tickets.customer_reply(fresh(ticket), "No, it is not.")
    assert by_rule(ticket, "reopened")


def test_opened_through_chosen_channels_only(desk, make_ticket):
    make_rule("Phone only", ALWAYS, [{"type": "note", "value": "phone"}], channels=("phone",))
    assert not by_rule(make_ticket(), "Phone only")
    assert by_rule(make_ticket(source="phone", agent=desk.tech), "Phone only")


def test_a_departments_rule_acts_on_its_departments_tickets_only(desk, make_ticket):
    make_rule("IT only", ALWAYS, [{"type": "note", "value": "IT"}], department=desk.departments["IT Operations"])
    assert not by_rule(make_ticket("General inquiry"), "IT only")
    it_topic = next(t for t in desk.topics.values() if t.effective_department.name == "IT Operations")
    assert by_rule(make_ticket(it_topic), "IT only")


def test_a_switched_off_rule_does_nothing(desk, make_ticket):
    make_rule("Off", ALWAYS, [{"type": "note", "value": "x"}], active=False)
    assert not by_rule(make_ticket(), "Off")


# --- order, stop, loops ----------------------------------------------------------------------


def test_rules_run_in_order_and_stop_ends_the_run(desk, make_ticket):
    make_rule("Second", ALWAYS, [{"type": "set_priority", "value": desk.priorities["low"].id}], position=20)
    make_rule("First", ALWAYS, [{"type": "set_priority", "value": desk.priorities["high"].id}], position=10)
    ticket = make_ticket()
    assert fresh(ticket).priority.key == "low"  # First, then Second
    assert [r for _, _, r in history(ticket) if r] == ["First", "Second"]
    db.session.execute(Rule.__table__.update().where(Rule.name == "First").values(
        actions=json.dumps([{"type": "set_priority", "value": desk.priorities["high"].id}, {"type": "stop"}]),
        updated_at=func.now()))
    db.session.commit()
    ticket = make_ticket()
    assert fresh(ticket).priority.key == "high" and not by_rule(ticket, "Second")


def test_rules_firing_rules_stop_at_the_depth_limit_and_never_twice(desk, make_ticket):
    # A sets the priority when the team changes; B sets the team when the priority changes: each
    # fires the other. Each acts once on the ticket, and the chain ends.
    make_rule("A", ALWAYS, [{"type": "set_priority", "value": desk.priorities["emergency"].id}],
              triggers=("team_changed",))
    make_rule("B", ALWAYS, [{"type": "set_team", "value": desk.teams["Senior Support"].id}],
              triggers=("priority_changed", "opened"))
    ticket = make_ticket()
    assert by_rule(ticket, "B") == [("team", "Senior Support")]
    assert by_rule(ticket, "A") == [("priority", "Emergency")]
    assert engine.MAX_DEPTH >= 2


def test_loop_depth_is_bounded(desk, make_ticket, caplog):
    # Three rules in a ring, each firing the next: the fourth round is never run.
    make_rule("R1", ALWAYS, [{"type": "set_priority", "value": desk.priorities["high"].id}], triggers=("opened",))
    make_rule("R2", ALWAYS, [{"type": "set_team", "value": desk.teams["Senior Support"].id}],
              triggers=("priority_changed",))
    make_rule("R3", ALWAYS, [{"type": "assign_agent", "value": desk.tech.id}], triggers=("team_changed",))
    make_rule("R4", ALWAYS, [{"type": "note", "value": "too deep"}], triggers=("assignee_changed",))
    ticket = make_ticket()
    assert by_rule(ticket, "R1") and by_rule(ticket, "R2") and by_rule(ticket, "R3")
    assert not by_rule(ticket, "R4")
    assert "rules stopped after 3 rounds" in caplog.text


def test_an_action_that_cannot_apply_is_written_down_and_the_rest_still_run(desk, make_ticket):
    it_agent = desk.sysadmin  # not an agent of Support
    make_rule("Mixed", ALWAYS, [{"type": "assign_agent", "value": it_agent.id},
                                {"type": "set_priority", "value": desk.priorities["high"].id}])
    ticket = make_ticket("General inquiry")
    refused = [e for e in db.session.scalars(select(Event).where(Event.ticket_id == ticket.id,
                                                                 Event.action == "rule_refused"))]
    assert len(refused) == 1 and "not an agent of Support" in refused[0].note
    assert fresh(ticket).assignee is None and fresh(ticket).priority.key == "high"


def test_counters_count_matches(desk, make_ticket):
    rule = make_rule("Count", [conditions.check({"field": "subject", "op": "contains", "value": "x"})],
                     [{"type": "note", "value": "x"}])
    make_ticket(subject="x1")
    make_ticket(subject="y")
    make_ticket(subject="x2")
    db.session.expire_all()
    rule = db.session.get(Rule, rule.id)
    assert rule.matched_count == 2 and rule.last_matched_at is not None


# --- actions --------------------------------------------------------------------------------------


def test_setting_fields(desk, make_ticket):
    topic = desk.topics["Billing question"]
    make_rule("Fields", ALWAYS, [
        {"type": "set_department", "value": desk.departments["IT Operations"].id},
        {"type": "set_topic", "value": topic.id},
        {"type": "set_sla", "value": desk.slas["Emergency"].id},
        {"type": "assign_agent", "value": desk.sysadmin.id},
    ])
    ticket = fresh(make_ticket("General inquiry"))
    assert ticket.department.name == "IT Operations" and ticket.topic_id == topic.id
    assert ticket.sla.name == "Emergency" and ticket.due_at is not None
    assert ticket.assignee_id == desk.sysadmin.id and ticket.status == "open"


def test_round_robin_in_a_team(desk, make_ticket):
    team = desk.teams["Senior Support"]
    team.members.append(desk.vendor)
    db.session.commit()
    make_rule("Turns", ALWAYS, [{"type": "round_robin", "value": team.id}])
    got = [fresh(make_ticket("General inquiry")).assignee.name for _ in range(3)]
    assert got[0] != got[1] and got[0] == got[2]


def test_notes_copies_canned_reply_and_mail(desk, make_ticket, inbox):
    canned = CannedResponse(title="Outage", body="Hello {customer_name}, we know about #{ticket_number}.")
    db.session.add(canned)
    db.session.commit()
    make_rule("Talk", ALWAYS, [
        {"type": "note", "value": "Check the status page."},
        {"type": "add_cc", "value": ["boss@bank.example"]},
        {"type": "canned_reply", "value": canned.id},
        {"type": "mail", "to": ["oncall@bank.example"], "subject": "Ticket {ticket_number}", "value": "Look at it: {subject}"},
    ])
    ticket = make_ticket(name="Ken", email="ken@bank.example", subject="Payments down")
    kinds = {(e.kind, e.via): e for e in db.session.scalars(select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id))}
    assert kinds[("note", "rule")].body == "Check the status page."
    assert kinds[("reply", "rule")].body == f"Hello Ken, we know about #{ticket.number}."
    assert db.session.scalar(select(Collaborator.email).where(Collaborator.ticket_id == ticket.id)) == "boss@bank.example"
    inbox.deliver()
    assert any(f"we know about #{ticket.number}." in inbox.text(m) for m in inbox.to("ken@bank.example"))
    [oncall] = inbox.to("oncall@bank.example")
    assert f"Ticket {ticket.number}" in str(oncall["Subject"]) and "Look at it: Payments down" in inbox.text(oncall)
    assert fresh(ticket).first_responded_at is None  # an automatic reply is no agent's answer
    assert ("rule_mailed", "oncall@bank.example", "Talk") in history(ticket)


def test_no_acknowledgement(desk, make_ticket, inbox):
    make_rule("Quiet", [conditions.check({"field": "sender_domain", "op": "equals", "value": "noreply.example"})],
              [{"type": "no_ack"}])
    quiet = make_ticket(email="bot@noreply.example")
    loud = make_ticket(email="ken@example.net")
    inbox.deliver()
    assert inbox.to("bot@noreply.example") == [] and len(inbox.to("ken@example.net")) == 1
    assert ("acknowledgement_held", None, "Quiet") in history(quiet) and not by_rule(loud, "Quiet")


def test_resolve_and_close(desk, make_ticket, inbox):
    make_rule("Auto answer", [conditions.check({"field": "subject", "op": "contains", "value": "opening hours"})],
              [{"type": "resolve", "value": "We are open 9 to 5, {customer_name}."}])
    ticket = make_ticket(name="Ken", email="ken@example.net", subject="Your opening hours?")
    assert fresh(ticket).status == "resolved"
    inbox.deliver()
    assert any("We are open 9 to 5, Ken." in inbox.text(m) for m in inbox.to("ken@example.net"))
    make_rule("Closer", ALWAYS, [{"type": "close"}], triggers=("customer_replied",))
    other = make_ticket()
    tickets.customer_reply(fresh(other), "Thanks, done.")
    assert fresh(other).status == "closed"


def test_a_webhook_called_by_a_rule(desk, make_ticket, receiver):
    hook = make_webhook(receiver.url, events=())
    make_rule("Hook", ALWAYS, [{"type": "webhook", "value": hook.id}])
    ticket = make_ticket()
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    body = json.loads(delivery.payload)
    assert delivery.kind == "rule.matched" and body["ticket"]["number"] == ticket.number
    assert body["event"]["by"] == {"type": "rule", "name": "Hook"}


# --- reject and spam, on every channel ------------------------------------------------------


def test_reject_on_the_web_form_says_why_and_keeps_the_request(desk, client):
    make_rule("No sales", [conditions.check({"field": "subject", "op": "contains", "value": "seo services"})],
              [{"type": "reject", "value": "This desk is for our customers' problems only."}])
    response = client.post("/new", data=ticket_form(desk, client, subject="Cheap SEO services"))
    assert response.status_code == 422
    assert "for our customers" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    kept = db.session.scalar(select(FailedMail))
    assert "Rejected by the rule “No sales”" in kept.error and b"Cheap SEO services" in kept.raw


def test_spam_by_mail_keeps_the_raw_mail_and_opens_nothing(desk, inbox):
    make_rule("Spam", [conditions.check({"field": "sender_domain", "op": "equals", "value": "spam.example"})],
              [{"type": "spam"}])
    raw = mail(sender="win@spam.example", subject="You won", mid="s1")
    outcome = mailin.take_in(raw)
    assert outcome.outcome == "spam"
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    kept = db.session.scalar(select(FailedMail))
    assert kept.raw == raw and "Marked as spam by the rule “Spam”" in kept.error
    assert db.session.scalar(select(ProcessedMail.outcome)) == "spam"
    inbox.deliver()
    assert inbox.to("win@spam.example") == []
    assert mailin.take_in(raw).outcome == "duplicate"


def test_reject_through_the_api(desk, client):
    from factories import make_api_key
    from helpdesk.models import ApiKey
    from test_api import new_ticket
    secret = ApiKey.generate()
    make_api_key(secret, created_by=desk.admin)
    make_rule("No chat spam", [conditions.check({"field": "channel", "op": "is", "value": "chat"}),
                               conditions.check({"field": "body", "op": "contains", "value": "crypto"})],
              [{"type": "reject", "value": "Not accepted."}])
    response = client.post("/api/v1/tickets", json=new_ticket(desk, message="Buy crypto now"),
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 422 and "Not accepted." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(FailedMail.id))) == 1


def test_nothing_is_mailed_for_a_rejected_ticket(desk, client, inbox):
    make_rule("Reject all x", [conditions.check({"field": "subject", "op": "starts_with", "value": "xx"})],
              [{"type": "reject", "value": "No."}])
    client.post("/new", data=ticket_form(desk, client, subject="xx spam"))
    assert db.session.scalar(select(func.count(OutboxMail.id))) == 0


def test_describing_actions_for_the_preview(desk, make_ticket):
    ticket = make_ticket()
    what, changes = actions.describe({"type": "set_priority", "value": ticket.priority_id}, ticket)
    assert "(already so)" in what and not changes
    what, changes = actions.describe({"type": "set_priority", "value": desk.priorities["emergency"].id}, ticket)
    assert what == "Set the priority: Emergency" and changes


def test_conditions_on_the_same_text_compare_it_trimmed_and_in_any_case(desk, make_ticket):
    make_rule("Bank outage note", [{"field": "subject", "op": "contains", "value": "outage"},
                                   {"field": "subject", "op": "matches", "value": r"^total\s+OUTAGE"},
                                   {"field": "sender_domain", "op": "equals", "value": "bank.example"},
                                   {"field": "topic", "op": "is", "value": desk.topics["General inquiry"].id}],
              [{"type": "note", "value": "Call the bank back."}])
    hit = make_ticket(email="Ops@BANK.example", subject="  Total Outage of payments ")
    miss = make_ticket(email="ops@shop.example", subject="Total outage of the shop")
    assert by_rule(hit, "Bank outage note")
    assert [r for _, _, r in history(miss) if r] == []


def test_a_later_rule_sees_what_an_earlier_rule_changed(desk, make_ticket):
    make_rule("Urgent words", [conditions.check({"field": "subject", "op": "contains", "value": "urgent"})],
              [{"type": "set_priority", "value": desk.priorities["emergency"].id}], position=10)
    make_rule("Emergencies to seniors", [conditions.check(
        {"field": "priority", "op": "is", "value": str(desk.priorities["emergency"].id)})],
        [{"type": "set_team", "value": desk.teams["Senior Support"].id}], position=20)
    ticket = fresh(make_ticket("General inquiry", subject="URGENT: locked out"))
    assert ticket.priority.key == "emergency" and ticket.team.name == "Senior Support"


def test_tags_as_condition_and_action(desk, make_ticket):
    make_rule("Tag VIPs", [conditions.check({"field": "sender_domain", "op": "equals", "value": "bank.example"})],
              [{"type": "add_tags", "value": ["VIP", "Bank"]}], position=10)
    make_rule("VIPs are urgent", [conditions.check({"field": "tags", "op": "equals", "value": "vip"})],
              [{"type": "set_priority", "value": desk.priorities["high"].id},
               {"type": "remove_tags", "value": ["bank"]}], position=20)
    ticket = fresh(make_ticket("General inquiry", email="ken@bank.example"))
    assert [t.name for t in ticket.tags] == ["VIP"]  # the second rule saw the first's tag, then took one off
    assert ticket.priority.key == "high"
    assert ("tagged", "VIP", "Tag VIPs") in history(ticket) and ("untagged", None, "VIPs are urgent") in history(ticket)
    other = fresh(make_ticket("General inquiry", email="ken@shop.example"))
    assert other.tags == [] and other.priority.key == "normal"


def test_a_rule_may_not_create_tags_for_a_manager_when_only_admins_may(desk):
    from helpdesk import settings
    from helpdesk.automations import actions as acts
    settings.save({"tags_admin_only": True})
    db.session.commit()
    scope = acts.Scope(kind="event", triggers=frozenset({"opened"}), department_id=None, ticket_department_id=None,
                       author=desk.manager)
    with pytest.raises(conditions.RuleError, match="not a tag of the desk yet"):
        acts.check({"type": "add_tags", "value": "brand new"}, scope)
    assert acts.check({"type": "add_tags", "value": "brand new"}, acts.Scope(
        kind="event", triggers=frozenset({"opened"}), department_id=None, ticket_department_id=None,
        author=desk.admin))["value"] == ["brand new"]


def test_a_canned_response_a_rule_sends_is_not_deleted(login, desk):
    canned = CannedResponse(title="Outage", body="We know.")
    db.session.add(canned)
    db.session.commit()
    rule = make_rule("Outage reply", ALWAYS, [{"type": "canned_reply", "value": canned.id}])
    admin = login(desk.admin)
    answer = admin.post(f"/agent/canned-responses/{canned.id}/delete")
    assert answer.status_code == 409
    assert "is sent by the automation rule “Outage reply”: change it first" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CannedResponse, canned.id) is not None
    admin.post(f"/admin/rules/{rule.id}/delete")
    assert admin.post(f"/agent/canned-responses/{canned.id}/delete").status_code == 302
