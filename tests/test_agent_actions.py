"""Every ticket action through the HTTP client: allowed roles (status, page, rows, history, mail),
refused roles (403) and states (409), htmx partials, conflicts and bad input."""
import io
import re

import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Attachment, OutboxMail
from support.pages import without_tokens
from support.rows import entries, events, fresh

HTMX = {"HX-Request": "true"}


def act(client, ticket, action, *, htmx=False, version=None, **data):
    """POST an action form as the page would send it (with the ticket's current version)."""
    current = fresh(ticket)
    data.setdefault("version", current.version if version is None else version)
    return client.post(f"/agent/tickets/{current.number}/{action}", data=data,
                       headers=HTMX if htmx else {}, content_type="multipart/form-data")


def snapshot(ticket):
    """What must stay the same when an action is refused."""
    t = fresh(ticket)
    return (t.version, t.status, t.assignee_id, t.team_id, t.priority_id, t.sla_id, t.department_id,
            len(events(t)), len(entries(t)), db.session.scalar(select(func.count(OutboxMail.id))))


def followed_page(client, response):
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


# --- conversation -----------------------------------------------------------------------------


def test_reply_is_mailed_to_the_customer(client, login, desk, ticket, inbox):
    login(desk.tech)
    response = act(client, ticket, "reply", body="Please restart the app, then try again.")
    assert response.headers["Location"].endswith(f"/agent/tickets/{ticket.number}")
    page = followed_page(client, response)
    assert "Your reply was sent to the customer." in page and "Please restart the app" in page
    t = fresh(ticket)
    assert t.status == "open" and t.assignee_id == desk.tech.id and t.is_answered  # auto-claimed
    assert entries(t)[-1].kind == "reply" and entries(t)[-1].agent_id == desk.tech.id
    assert [e.agent_id for e in events(t, "replied")] == [desk.tech.id]
    inbox.deliver()
    [mail] = inbox.to("ken@example.net")
    assert mail["Subject"] == f"[#{t.number}] Re: Mobile banking down"
    assert "Please restart the app, then try again." in inbox.text(mail)


def test_internal_note_never_reaches_the_customer(client, login, desk, ticket, inbox):
    login(desk.tech)
    page = followed_page(client, act(client, ticket, "note", body="Customer is on the legacy plan."))
    assert "Your internal note was added." in page
    assert 'class="entry entry-note"' in page and "Customer is on the legacy plan." in page
    assert entries(ticket)[-1].kind == "note" and events(ticket, "note")
    inbox.deliver()
    assert inbox.to("ken@example.net") == []
    followed_page(client, act(client, ticket, "reply", body="We are on it."))
    inbox.deliver()
    [mail] = inbox.to("ken@example.net")
    assert "legacy plan" not in inbox.text(mail) and "legacy plan" not in inbox.html(mail)


def test_claim(client, login, desk, ticket, inbox):
    login(desk.tech)
    page = followed_page(client, act(client, ticket, "claim"))
    assert "The ticket is yours now." in page
    t = fresh(ticket)
    assert t.assignee_id == desk.tech.id and t.status == "open"
    assert events(t, "claimed")[0].agent_id == desk.tech.id
    inbox.deliver()
    assert inbox.subjects("ken@example.net") == [f"[#{t.number}] Tom Technician is handling your request"]
    assert ">Claim<" not in page  # no longer offered to the one who holds it


def test_request_info_then_resume(client, login, desk, ticket, inbox):
    login(desk.tech)
    page = followed_page(client, act(client, ticket, "request-info", body="Which app version do you use?"))
    assert "awaits the customer" in page
    assert fresh(ticket).status == "pending"
    inbox.deliver()
    [mail] = inbox.to("ken@example.net")
    assert mail["Subject"] == f"[#{ticket.number}] We need more information: Mobile banking down"
    assert "Which app version do you use?" in inbox.text(mail)
    followed_page(client, act(client, ticket, "resume"))
    assert fresh(ticket).status == "open"
    assert [(e.old, e.new) for e in events(ticket, "status")][-1] == ("Awaiting customer", "Open")


def test_escalate_makes_the_ticket_visible_to_the_team(client, login, desk, ticket, inbox):
    login(desk.sysadmin)
    assert client.get(f"/agent/tickets/{ticket.number}").status_code == 404
    login(desk.tech)
    team = desk.teams["SysAdmins/Developers"]
    page = followed_page(client, act(client, ticket, "escalate", team=team.id, note="Gateway returns 503."))
    assert "The ticket was escalated." in page
    t = fresh(ticket)
    assert t.status == "escalated" and t.team_id == team.id
    [ev] = events(t, "escalated")
    assert ev.new == "SysAdmins/Developers" and ev.note == "Gateway returns 503."
    inbox.deliver()
    assert any("Escalated to SysAdmins/Developers" in s for s in inbox.subjects("sysadmin@example.com"))
    assert inbox.subjects("ken@example.net") == [f"[#{t.number}] Your request was passed to our specialists"]
    assert all("Gateway returns 503" not in inbox.text(m) for m in inbox.to("ken@example.net"))
    login(desk.sysadmin)
    assert client.get(f"/agent/tickets/{t.number}").status_code == 200
    followed_page(client, act(client, t, "resume"))
    assert fresh(t).status == "open"


def test_resolve_close_reopen(client, login, desk, ticket, inbox):
    login(desk.tech)
    page = followed_page(client, act(client, ticket, "resolve", resolution="The gateway was restarted."))
    assert "The resolution was sent to the customer." in page
    assert fresh(ticket).status == "resolved"
    followed_page(client, act(client, ticket, "close", note="Confirmed by phone."))
    t = fresh(ticket)
    assert t.status == "closed" and t.closed_at is not None
    assert entries(t)[-1].kind == "note" and entries(t)[-1].body == "Confirmed by phone."
    page = followed_page(client, act(client, ticket, "reopen", note="It broke again."))
    assert "The ticket was reopened." in page
    assert fresh(ticket).status == "open"
    inbox.deliver()
    subjects = inbox.subjects("ken@example.net")
    n = ticket.number
    assert subjects == [f"[#{n}] Resolved: Mobile banking down", f"[#{n}] Closed: Mobile banking down",
                        f"[#{n}] Reopened: Mobile banking down"]
    assert "The gateway was restarted." in inbox.text(inbox.to("ken@example.net")[0])
    assert all("Confirmed by phone" not in inbox.text(m) for m in inbox.to("ken@example.net"))
    assert [(e.old, e.new) for e in events(ticket, "status")][-3:] == [
        ("New", "Resolved"), ("Resolved", "Closed"), ("Closed", "Open")]


def test_new_access_link(client, login, desk, ticket, inbox):
    old_nonce = fresh(ticket).access_nonce
    login(desk.vendor)
    page = followed_page(client, act(client, ticket, "access-link"))
    assert "A new access link was mailed to the customer" in page
    assert fresh(ticket).access_nonce != old_nonce and events(ticket, "access_link")
    inbox.deliver()
    assert inbox.subjects("ken@example.net") == [f"[#{ticket.number}] Your link to request Mobile banking down"]


# --- manager actions --------------------------------------------------------------------------


def test_manager_assigns_to_agent_and_team(client, login, desk, ticket, inbox):
    login(desk.manager)
    team = desk.teams["Senior Support"]
    page = followed_page(client, act(client, ticket, "assign", agent=desk.tech.id, team=team.id))
    assert "The assignment was changed." in page
    t = fresh(ticket)
    assert (t.assignee_id, t.team_id, t.status) == (desk.tech.id, team.id, "open")
    assert [(e.action, e.new) for e in events(t) if e.action in ("assigned", "team")] == [
        ("assigned", "Tom Technician"), ("team", "Senior Support")]
    inbox.deliver()
    assert f"[#{t.number}] Assigned to you: Mobile banking down" in inbox.subjects("tech@example.com")
    assert inbox.subjects("ken@example.net") == [f"[#{t.number}] Tom Technician is handling your request"]


def test_manager_sets_priority(client, login, desk, ticket):
    login(desk.manager)
    page = followed_page(client, act(client, ticket, "priority", priority=desk.priorities["emergency"].id))
    assert "The priority was changed." in page and "prio prio-emergency" in page
    t = fresh(ticket)
    assert t.priority_id == desk.priorities["emergency"].id and t.urgency == 4
    assert [(e.old, e.new) for e in events(t, "priority")] == [("High", "Emergency")]


def test_manager_sets_sla_and_the_due_time_follows(client, login, desk, make_ticket):
    t = make_ticket(subject="Slow invoices")  # Standard: 48 h
    login(desk.manager)
    followed_page(client, act(client, t, "sla", sla=desk.slas["Emergency"].id))
    t = fresh(t)
    assert t.sla_id == desk.slas["Emergency"].id
    assert abs((t.due_at - t.created_at).total_seconds() - 2 * 3600) < 5
    assert [(e.old, e.new) for e in events(t, "sla")] == [("Standard", "Emergency")]


def test_manager_transfers(client, login, desk, ticket):
    login(desk.manager)
    page = followed_page(client, act(client, ticket, "transfer", department=desk.departments["IT Operations"].id))
    assert "The ticket was transferred." in page
    assert fresh(ticket).department_id == desk.departments["IT Operations"].id
    assert [(e.old, e.new) for e in events(ticket, "transferred")] == [("Support", "IT Operations")]
    login(desk.tech)  # Support only, and not assigned: the ticket left his sight
    assert client.get(f"/agent/tickets/{ticket.number}").status_code == 404


def test_transfer_out_of_sight_goes_back_to_the_queue(client, login, desk, ticket):
    tickets.assign(desk.manager, ticket, team=desk.teams["Senior Support"])
    desk.manager.departments = [desk.departments["Support"]]
    db.session.commit()
    login(desk.manager)
    other = desk.departments["IT Operations"].id
    response = act(client, ticket, "transfer", department=other)
    assert response.status_code == 302 and response.headers["Location"].endswith("/agent/")
    response = act(client, fresh(ticket), "transfer", htmx=True, department=desk.departments["Support"].id)
    assert response.status_code == 404  # he no longer sees it at all


# --- refused: roles, states, visibility -------------------------------------------------------


@pytest.mark.parametrize("action, data", [
    ("assign", lambda d: {"agent": d.tech.id}),
    ("priority", lambda d: {"priority": d.priorities["emergency"].id}),
    ("sla", lambda d: {"sla": d.slas["Emergency"].id}),
    ("transfer", lambda d: {"department": d.departments["IT Operations"].id}),
    ("assign", lambda d: {}),  # even an empty form: forbidden first
])
def test_agents_may_not_manage(client, login, desk, ticket, action, data):
    before = snapshot(ticket)
    login(desk.tech)
    response = act(client, ticket, action, **data(desk))
    assert response.status_code == 403
    assert "manager" in response.get_data(as_text=True)
    assert snapshot(ticket) == before


def test_manager_forms_are_not_offered_to_agents(client, login, desk, ticket):
    login(desk.tech)
    page = client.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    for block in ("assign_form", "set_priority_form", "set_sla_form", "transfer_form"):
        assert f'id="{block}"' not in page
    for block in ("reply_form", "note_form", "claim_form", "escalate_form", "resolve_form", "close_form",
                  "request_info_form", "access_link_form"):
        assert f'id="{block}"' in page
    assert 'id="reopen_form"' not in page and 'id="resume_form"' not in page


@pytest.mark.parametrize("setup, action, data", [
    ("closed", "reply", {"body": "Hello?"}),
    ("closed", "resolve", {"resolution": "Done"}),
    ("closed", "claim", {}),
    ("closed", "escalate", {"team": "SysAdmins/Developers", "note": "why"}),
    ("new", "resume", {}),
    ("new", "reopen", {}),
    ("pending", "request-info", {"body": "More?"}),
    ("closed", "close", {}),
])
def test_wrong_state_is_409(client, login, desk, ticket, setup, action, data):
    if setup == "closed":
        tickets.close(desk.manager, ticket)
    elif setup == "pending":
        tickets.request_info(desk.manager, ticket, "Tell me more.")
    if "team" in data:
        data = {**data, "team": desk.teams[data["team"]].id}
    before = snapshot(ticket)
    login(desk.tech)
    response = act(client, ticket, action, **data)
    assert response.status_code == 409
    assert "cannot take this action" in response.get_data(as_text=True)
    assert snapshot(ticket) == before


def test_wrong_state_with_htmx_answers_with_a_flash(client, login, desk, ticket):
    tickets.close(desk.manager, ticket)
    login(desk.tech)
    response = act(client, ticket, "reply", htmx=True, body="Hello?")
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and response.headers["HX-Reswap"] == "none"
    assert 'id="flash"' in body and "hx-swap-oob" in body and "cannot take this action" in body


@pytest.mark.parametrize("action", ["reply", "note", "claim", "escalate", "resolve", "close", "access-link",
                                    "assign", "priority", "sla", "transfer", "request-info", "resume", "reopen"])
def test_invisible_ticket_is_404_for_every_action(client, login, desk, ticket, action):
    before = snapshot(ticket)
    login(desk.sysadmin)  # IT Operations and SysAdmins only; this is a Support ticket
    response = act(client, ticket, action, body="x", note="x", resolution="x")
    assert response.status_code == 404
    assert snapshot(ticket) == before


def test_unknown_ticket_is_404_like_an_invisible_one(client, login, desk, ticket):
    login(desk.sysadmin)
    invisible = client.get(f"/agent/tickets/{ticket.number}")
    missing = client.get("/agent/tickets/ZZZZZZ")
    assert invisible.status_code == missing.status_code == 404
    assert without_tokens(invisible.get_data(as_text=True)) == without_tokens(missing.get_data(as_text=True))
    assert client.post("/agent/tickets/ZZZZZZ/reply", data={"body": "x", "version": 1}).status_code == 404


# --- htmx -------------------------------------------------------------------------------------


def test_htmx_success_returns_the_ticket_block_and_a_trigger(client, login, desk, ticket):
    login(desk.tech)
    response = act(client, ticket, "reply", htmx=True, body="Swapped in place.")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert body.lstrip().startswith('<div id="ticket"') and "<html" not in body
    assert "Swapped in place." in body
    assert '<div id="flash" class="flash-area" aria-live="polite" hx-swap-oob="true">' in body
    assert "Your reply was sent to the customer." in body
    assert f'name="version" type="hidden" value="{fresh(ticket).version}"' in body


@pytest.mark.parametrize("action, data", [
    ("claim", {}), ("note", {"body": "n"}), ("close", {}), ("access-link", {}),
])
def test_htmx_variants_of_other_actions(client, login, desk, ticket, action, data):
    login(desk.tech)
    response = act(client, ticket, action, htmx=True, **data)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "ticket-updated"
    assert response.get_data(as_text=True).lstrip().startswith('<div id="ticket"')


def test_htmx_validation_error_rerenders_only_the_form(client, login, desk, ticket):
    login(desk.tech)
    response = act(client, ticket, "escalate", htmx=True, team="", note="")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#escalate_form" and response.headers["HX-Reswap"] == "outerHTML"
    assert body.lstrip().startswith('<details id="escalate_form"') and 'id="ticket"' not in body
    assert "Choose the team to escalate to." in body and "Say why you escalate" in body
    assert "HX-Trigger" not in response.headers


# --- conflicts ----------------------------------------------------------------------------------


def _version_in(body, action):
    return int(re.search(rf'id="{action}-version" name="version" type="hidden" value="(\d+)"', body).group(1))


@pytest.mark.parametrize("htmx", [False, True])
def test_stale_reply_is_a_conflict_that_keeps_the_text(client, login, desk, ticket, inbox, htmx):
    seen = fresh(ticket).version
    tickets.reply(desk.manager, ticket, "Manager answered.")  # meanwhile
    inbox.deliver().clear()
    before = snapshot(ticket)
    login(desk.tech)
    response = act(client, ticket, "reply", htmx=htmx, version=seen, body="My carefully typed answer & <b>more</b>")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed by someone else" in body and 'class="conflict"' in body
    assert "Maya Manager</strong> replied to the customer" in body
    assert "My carefully typed answer &amp; &lt;b&gt;more&lt;/b&gt;</textarea>" in body
    assert _version_in(body, "reply") == fresh(ticket).version  # submitting again posts anyway
    assert snapshot(ticket) == before
    if htmx:
        assert body.lstrip().startswith('<div id="ticket"')
    again = act(client, ticket, "reply", version=_version_in(body, "reply"), body="My carefully typed answer")
    assert again.status_code == 302
    inbox.deliver()
    assert inbox.subjects("ken@example.net") == [f"[#{ticket.number}] Re: Mobile banking down"]


def test_conflict_on_an_action_no_longer_possible_still_shows_the_text(client, login, desk, ticket):
    seen = fresh(ticket).version
    tickets.close(desk.manager, ticket)
    login(desk.tech)
    response = act(client, ticket, "resolve", version=seen, resolution="Long resolution text")
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Your text (not sent)" in body and "Long resolution text</textarea>" in body
    assert "Maya Manager</strong> changed the status (New → Closed)" in body


def test_stale_manager_action_is_a_conflict(client, login, desk, ticket):
    seen = fresh(ticket).version
    tickets.set_priority(desk.admin, ticket, desk.priorities["emergency"])
    before = snapshot(ticket)
    login(desk.manager)
    response = act(client, ticket, "priority", version=seen, priority=desk.priorities["low"].id)
    assert response.status_code == 409 and "Ada Admin</strong> changed the priority" in response.get_data(as_text=True)
    assert snapshot(ticket) == before


def test_a_change_to_something_else_does_not_refuse_the_action(client, login, desk, ticket):
    seen = fresh(ticket).version
    tickets.claim(desk.tech, ticket)
    tickets.customer_reply(fresh(ticket), "Any news?")
    login(desk.manager)
    response = act(client, ticket, "priority", version=seen, priority=desk.priorities["low"].id)
    assert response.status_code == 302
    assert fresh(ticket).priority.key == "low" and fresh(ticket).assignee == desk.tech


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action, data, message", [
    ("reply", {"body": ""}, "Write the reply first."),
    ("reply", {"body": "   "}, "Write the reply first."),
    ("reply", {"body": "x" * 20001}, "The reply is too long."),
    ("note", {"body": ""}, "Write the note first."),
    ("request-info", {"body": ""}, "Write the question first."),
    ("resolve", {"resolution": ""}, "Write the resolution first."),
    ("escalate", {"note": "why"}, "Choose the team to escalate to."),
    ("escalate", {"team": "SysAdmins/Developers", "note": ""}, "Say why you escalate"),
    ("escalate", {"team": "99999", "note": "why"}, "That choice is not available"),
    ("escalate", {"team": "abc", "note": "why"}, "That choice is not available"),
    ("close", {"note": "n" * 501}, "Field cannot be longer than 500 characters."),
    ("reply", {"body": "hi", "version": ""}, "This form is out of date"),
    ("reply", {"body": "hi", "version": "abc"}, "This form is out of date"),
    ("reply", {"body": "hi", "version": str(2**31)}, "This form is out of date"),  # beyond the column
    ("note", {"body": "hi", "version": str(2**63)}, "This form is out of date"),
])
def test_bad_input_is_400_with_a_message(client, login, desk, ticket, action, data, message):
    if data.get("team") == "SysAdmins/Developers":
        data = {**data, "team": desk.teams["SysAdmins/Developers"].id}
    before = snapshot(ticket)
    login(desk.tech)
    response = act(client, ticket, action, **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert snapshot(ticket) == before


@pytest.mark.parametrize("action, data, message", [
    ("assign", {"agent": "99999"}, "That choice is not available"),
    ("assign", {"agent": "4"}, "That choice is not available"),  # Sam: not in the Support department
    ("assign", {"agent": "1 OR 1=1"}, "That choice is not available"),
    ("assign", {"team": "-1"}, "That choice is not available"),
    ("assign", {}, "Choose an agent or a team."),
    ("priority", {"priority": "99999"}, "That choice is not available"),
    ("priority", {"priority": ""}, "Choose a priority."),
    ("priority", {"priority": "high"}, "That choice is not available"),
    ("sla", {"sla": "0"}, "Choose an SLA plan."),
    ("sla", {"sla": "424242"}, "That choice is not available"),
    ("transfer", {"department": "1"}, "That choice is not available"),  # its own department
    ("transfer", {"department": "x"}, "That choice is not available"),
])
def test_tampered_manager_forms_are_400(client, login, desk, ticket, action, data, message):
    before = snapshot(ticket)
    login(desk.manager)
    response = act(client, ticket, action, **data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert snapshot(ticket) == before


@pytest.mark.parametrize("htmx", [False, True])
def test_a_value_already_set_is_information_not_an_error(client, login, desk, ticket, htmx):
    before = snapshot(ticket)
    login(desk.manager)
    response = act(client, ticket, "priority", htmx=htmx, priority=desk.priorities["high"].id)  # already High
    if not htmx:
        assert response.status_code == 302
        response = client.get(response.headers["Location"])
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="flash flash-info" role="status">The priority is already High. Nothing changed.' in body
    assert "flash-error" not in body and snapshot(ticket) == before


def test_an_error_replaces_the_previous_success_message(client, login, desk, ticket):
    login(desk.manager)
    ok = act(client, ticket, "priority", htmx=True, priority=desk.priorities["low"].id)
    assert "The priority was changed." in ok.get_data(as_text=True)
    refused = act(client, ticket, "escalate", htmx=True, version=fresh(ticket).version, note="why")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Choose the team to escalate to." in body
    # The message area comes along, empty: the earlier success is gone from the page.
    assert '<div id="flash" class="flash-area" aria-live="polite" hx-swap-oob="true">' in body
    assert "The priority was changed." not in body


def test_forbidden_attachment_is_400_and_nothing_is_saved(client, login, desk, ticket):
    before = snapshot(ticket)
    login(desk.tech)
    response = act(client, ticket, "reply", body="See attached.",
                   attachments=(io.BytesIO(b"<html><script>alert(1)</script></html>"), "page.html"))
    assert response.status_code == 400
    assert "cannot be attached" in response.get_data(as_text=True)
    assert "See attached.</textarea>" in response.get_data(as_text=True)
    assert snapshot(ticket) == before
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_reply_with_attachment(client, login, desk, ticket, inbox):
    login(desk.tech)
    page = followed_page(client, act(client, ticket, "reply", body="Log attached.",
                                     attachments=(io.BytesIO(b"line one\nline two\n"), "server.log.txt")))
    [att] = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
    assert att.filename == "server.log.txt" and att.entry_id == entries(ticket)[-1].id
    assert f'href="/agent/files/{att.id}"' in page


def test_actions_need_the_csrf_token(app_config, desk, ticket):
    """With CSRF protection on, as in production: no token, no change; the page's token works."""
    from helpdesk import create_app

    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email],
                                "csrf_token": token})
    before = snapshot(ticket)
    version = fresh(ticket).version
    path = f"/agent/tickets/{ticket.number}/reply"
    assert client.post(path, data={"body": "Hi", "version": version}).status_code == 400
    assert client.post(path, data={"body": "Hi", "version": version},
                       headers={**HTMX, "X-CSRFToken": "forged"}).status_code == 400
    assert snapshot(ticket) == before
    page = client.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    token = re.search(r'id="reply-csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(path, data={"body": "Hi", "version": version, "csrf_token": token}).status_code == 302
    header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post(f"/agent/tickets/{ticket.number}/note", data={"body": "n", "version": version + 1},
                           headers={**HTMX, "X-CSRFToken": header_token})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "ticket-updated"
