"""Macros: writing them in the step editor (and its bad input), who may use and manage which,
applying one on a ticket (each step through the lifecycle: history, thread, mail), a step refused
midway, a manager's step for a plain agent, a macro on a bulk selection, and the canned
response a macro uses, which cannot be deleted."""
import json

import pytest
from sqlalchemy import select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import AuditEntry, CannedResponse, Macro
from support.rows import entries, events, fresh


def _steps(*steps) -> dict:
    """The editor's form fields for these steps: ("reply", {"text": ...}), ("claim", {})..."""
    data = {}
    for n, (do, fields) in enumerate(steps):
        data[f"step-{n}-do"] = do
        for key, value in fields.items():
            data[f"step-{n}-{key}"] = value
    return data


def _post(client, name="Password reset done", steps=(), owner="me", url="/agent/macros", **extra):
    return client.post(url, data={"name": name, "description": "", "owner": owner, "active": "y",
                                  **_steps(*steps), **extra})


def _macro(name) -> Macro:
    db.session.expire_all()
    return db.session.scalar(select(Macro).where(Macro.name == name))


def _make(name, steps, **kw) -> Macro:
    macro = Macro(name=name, actions=json.dumps(steps), **kw)
    db.session.add(macro)
    db.session.commit()
    return macro


def _apply(client, ticket, macro, version=None):
    return client.post(f"/agent/tickets/{ticket.number}/macros/{macro.id}",
                       data={"version": fresh(ticket).version if version is None else version})


@pytest.fixture
def reset_text(desk):
    response = CannedResponse(title="Password reset", body="Hello {customer_name}, the password of #{ticket_number} "
                                                           "is reset. {agent_name}")
    db.session.add(response)
    db.session.commit()
    return response


def test_password_reset_done_replies_resolves_and_mails_the_customer(login, desk, ticket, inbox, reset_text):
    client = login(desk.admin)
    response = _post(client, steps=[("reply", {"canned": str(reset_text.id)}), ("note", {"text": "Reset by phone."}),
                                    ("resolve", {"text": "Solved for {customer_name}."})], owner="desk")
    assert response.status_code == 302
    macro = _macro("Password reset done")
    assert macro.scope == "desk" and [s["do"] for s in macro.steps] == ["reply", "note", "resolve"]
    assert [e.field for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "macro"))] == ["created"]

    tech = login(desk.tech)
    page = tech.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    assert "Password reset done" in page and "Reply to the customer: “Password reset”" in page
    answer = _apply(tech, ticket, macro)
    assert answer.status_code == 302
    assert "was applied" in tech.get(answer.location).get_data(as_text=True)

    t = fresh(ticket)
    assert t.status == "resolved" and t.assignee_id == desk.tech.id
    thread = [(e.kind, e.body) for e in entries(t)][1:]
    assert thread == [("reply", f"Hello Ken, the password of #{t.number} is reset. Tom Technician"),
                      ("note", "Reset by phone."), ("reply", "Solved for Ken.")]
    assert {e.action for e in events(t)} >= {"replied", "note", "claimed", "status"}
    assert all(e.agent_id == desk.tech.id for e in events(t) if e.action != "created")
    inbox.deliver()
    texts = [inbox.text(m) for m in inbox.to("ken@example.net")]
    assert any("the password of #" in x for x in texts) and any("Solved for Ken." in x for x in texts)
    assert not any("Reset by phone." in x for x in texts)  # the note is never mailed


def test_every_step_kind_on_a_ticket(login, desk, ticket, inbox):
    """Ask, resume, priority, SLA plan, assign, claim, close: each its history row."""
    manager = login(desk.manager)
    steps = [("claim", {}), ("request_info", {"text": "Which account?"}), ("resume", {"text": "They called."}),
             ("set_priority", {"target": f"priority:{desk.priorities['low'].id}"}),
             ("set_sla", {"target": f"sla:{desk.slas['Priority'].id}"}),
             ("assign", {"target": f"team:{desk.teams['Senior Support'].id}"}),
             ("close", {"text": "Done."})]
    assert _post(manager, "Everything", steps).status_code == 302
    assert _apply(manager, ticket, _macro("Everything")).status_code == 302
    t = fresh(ticket)
    assert (t.status, t.priority.key, t.sla.name, t.team.name, t.assignee_id) == (
        "closed", "low", "Priority", "Senior Support", desk.manager.id)
    actions = [e.action for e in events(t)]
    for action in ("claimed", "priority", "sla", "team"):
        assert action in actions
    assert [(e.old, e.new) for e in events(t, "status")] == [
        ("New", "Open"), ("Open", "Awaiting customer"), ("Awaiting customer", "Open"), ("Open", "Closed")]
    inbox.deliver()
    assert any("Which account?" in inbox.text(m) for m in inbox.to("ken@example.net"))


def test_a_step_refused_midway_stops_and_says_what_was_done(login, desk, ticket, inbox):
    # Resolve, then reply: a resolved ticket takes no reply (preflight refuses it up front).
    client = login(desk.tech)
    assert _post(client, "Bad order", [("resolve", {"text": "Fixed."}), ("reply", {"text": "Hi"})]).status_code == 302
    answer = _apply(client, ticket, _macro("Bad order"))
    assert answer.status_code == 409
    assert "cannot be taken when the ticket is resolved" in answer.get_data(as_text=True)
    assert fresh(ticket).status == "new"  # nothing was done

    # Assign to an agent of another department: only running shows it; the claim stays done.
    manager = login(desk.manager)
    steps = [("claim", {}), ("assign", {"target": f"agent:{desk.sysadmin.id}"}), ("close", {})]
    assert _post(manager, "Hand to Sam", steps).status_code == 302
    answer = _apply(manager, ticket, _macro("Hand to Sam"))
    page = manager.get(answer.location).get_data(as_text=True)
    assert "stopped at step 2 of 3 (Assign to an agent or a team: Sam Sysadmin)" in page
    assert "is not an agent of Support" in page
    assert "Done before it, and they stay done: Assign to me" in page and "Not applied: Close" in page
    t = fresh(ticket)
    assert t.assignee_id == desk.manager.id and t.status == "open"


def test_a_plain_agent_cannot_apply_a_managers_step_and_nothing_is_done(login, desk, ticket):
    macro = _make("Escalate priority", [{"do": "claim"}, {"do": "set_priority",
                                                          "target": f"priority:{desk.priorities['high'].id}"}])
    client = login(desk.tech)
    answer = _apply(client, ticket, macro)
    assert answer.status_code == 403
    assert "The macro “Escalate priority” was not applied: step 2 of 2 (Set the priority) is for a manager or above." in answer.get_data(as_text=True)
    assert fresh(ticket).assignee_id is None and [e.action for e in events(ticket)] == ["created"]


def test_a_priority_already_set_is_noted_and_the_rest_applied(login, desk, ticket):
    macro = _make("Raise", [{"do": "set_priority", "target": f"priority:{ticket.priority_id}"}, {"do": "claim"}])
    client = login(desk.manager)
    page = client.get(_apply(client, ticket, macro).location).get_data(as_text=True)
    assert "was applied: Assign to me" in page and "Already so, nothing to do: Set the priority" in page
    assert fresh(ticket).assignee_id == desk.manager.id


def test_a_stale_page_is_refused_as_a_conflict(login, desk, ticket):
    macro = _make("Close it", [{"do": "close"}])
    client = login(desk.tech)
    version = fresh(ticket).version
    tickets.claim(desk.vendor, fresh(ticket))
    answer = _apply(client, ticket, macro, version=version)
    assert answer.status_code == 409 and "the ticket changed since you opened it" in answer.get_data(as_text=True)
    assert fresh(ticket).status == "open"


def test_scopes_who_may_use_and_manage_which(login, desk, ticket, make_ticket):
    support, it = desk.departments["Support"], desk.departments["IT Operations"]
    mine = _make("Tom's", [{"do": "claim"}], owner=desk.tech)
    theirs = _make("Vic's", [{"do": "claim"}], owner=desk.vendor)
    support_macro = _make("Support's", [{"do": "claim"}], department=support)
    it_macro = _make("IT's", [{"do": "claim"}], department=it)
    _make("Desk", [{"do": "claim"}])
    _make("Old", [{"do": "claim"}], active=False)
    tech = login(desk.tech)
    page = tech.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    for name in ("Tom&#39;s", "Support&#39;s", "Desk"):
        assert name in page
    for name in ("Vic&#39;s", "IT&#39;s", "Old"):
        assert name not in page
    assert _apply(tech, ticket, theirs).status_code == 404
    assert _apply(tech, ticket, it_macro).status_code == 404
    # An IT agent does not use Support's on an IT ticket, nor Support's ticket at all.
    it_ticket = make_ticket("Password reset")
    assert login(desk.sysadmin).post(f"/agent/tickets/{it_ticket.number}/macros/{support_macro.id}",
                                     data={"version": it_ticket.version}).status_code == 404
    # Managing: the agent their own only; the manager their departments'; the admin the shared.
    tech = login(desk.tech)
    assert tech.get(f"/agent/macros/{mine.id}").status_code == 200
    assert tech.get(f"/agent/macros/{support_macro.id}").status_code == 404
    assert tech.post(f"/agent/macros/{theirs.id}/delete").status_code == 404
    assert "Choose who may use the macro." in _post(tech, "Shared", [("claim", {})],
                                                    owner=f"department-{support.id}").get_data(as_text=True)
    manager = login(desk.manager)
    assert manager.get(f"/agent/macros/{support_macro.id}").status_code == 200
    assert _post(manager, "Desk two", [("claim", {})], owner="desk").status_code == 400
    assert manager.post(f"/agent/macros/{it_macro.id}/delete").status_code == 302
    assert _macro("IT's") is None
    assert [(e.field, e.old) for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "macro"))] == [("deleted", "IT Operations")]
    assert login(desk.admin).get(f"/agent/macros/{mine.id}").status_code == 404  # personal: Tom's alone


def test_a_macro_on_a_bulk_selection_one_refused(login, desk, make_ticket, inbox):
    """Any agent may apply a macro to ticked tickets; each ticket and step is checked on its own."""
    macro = _make("Acknowledge", [{"do": "reply", "text": "We are on it, {customer_name}."}, {"do": "claim"}])
    picks = [make_ticket(email=f"c{n}@example.net", name=f"C{n}") for n in range(3)]
    tickets.resolve(desk.manager, picks[2], "Already done.")
    client = login(desk.tech)
    queue = client.get("/agent/").get_data(as_text=True)
    assert "Apply macro: Acknowledge" in queue
    answer = client.post("/agent/queue/open/bulk", data={
        "do": f"macro:{macro.id}", "ticket": [f"{t.number}@{fresh(t).version}" for t in picks]})
    assert answer.status_code == 302
    page = client.get("/agent/").get_data(as_text=True)
    assert f"The macro “Acknowledge” was applied to: #{picks[0].number}, #{picks[1].number}." in page
    assert (f"#{picks[2].number}: The macro “Acknowledge” was not applied: step 1 of 2 (Reply to the customer) "
            "cannot be taken when the ticket is resolved.") in page
    assert [fresh(t).is_answered for t in picks[:2]] == [True, True]
    inbox.deliver()
    assert "We are on it, C0." in inbox.text(inbox.to("c0@example.net")[-1])
    # A plain agent still may not bulk-close; a macro they may not use is not offered.
    assert client.post("/agent/queue/open/bulk", data={"do": "close", "ticket": [picks[0].number]}).status_code == 403
    other = _make("Vic's", [{"do": "claim"}], owner=desk.vendor)
    assert client.post("/agent/queue/open/bulk", data={"do": f"macro:{other.id}",
                                                      "ticket": [picks[0].number]}).status_code == 400


def test_a_canned_response_in_use_is_not_deleted(login, desk, reset_text):
    admin = login(desk.admin)
    assert _post(admin, "Reset", [("reply", {"canned": str(reset_text.id)})], owner="desk").status_code == 302
    answer = admin.post(f"/agent/canned-responses/{reset_text.id}/delete")
    assert answer.status_code == 409
    assert "is used by the macro “Reset”: change or delete it first." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CannedResponse, reset_text.id) is not None
    admin.post(f"/agent/macros/{_macro('Reset').id}/delete")
    assert admin.post(f"/agent/canned-responses/{reset_text.id}/delete").status_code == 302


def test_the_editor_adds_moves_and_removes_steps_without_saving(login, desk):
    client = login(desk.tech)
    page = _post(client, "Draft", [("claim", {}), ("note", {"text": "A"})], edit="add")
    assert page.status_code == 200 and 'name="step-2-do"' in page.get_data(as_text=True)
    page = _post(client, "Draft", [("claim", {}), ("note", {"text": "A"})], edit="up-1").get_data(as_text=True)
    assert page.index('name="step-0-text" rows="3">A<') < page.index('name="step-1-do"')
    page = _post(client, "Draft", [("claim", {}), ("note", {"text": "A"})], edit="remove-0").get_data(as_text=True)
    assert 'name="step-1-do"' not in page and ">A</textarea>" in page
    assert _macro("Draft") is None
    part = client.post("/agent/macros", data={"name": "Draft", "owner": "me", **_steps(("claim", {})), "edit": "add"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part and 'id="macro-editor"' in part and 'name="step-1-do"' in part
    assert _post(client, "Draft", [("claim", {})], edit="sideways").status_code == 400


@pytest.mark.parametrize("steps, message", [
    ([], "Add at least one step."),
    ([("dance", {})], "Step 1: there is no step “dance”; choose one of the list."),
    ([("claim", {}), ("reply", {})], "Step 2 (Reply to the customer): write the text or choose a canned response."),
    ([("note", {"text": "Hi {foo}"})], "Step 1 (Add an internal note): unknown placeholder {foo}."),
    ([("reply", {"canned": "999999"})], "Step 1 (Reply to the customer): there is no such canned response"),
    ([("assign", {"target": "agent:999999"})], "Step 1 (Assign to an agent or a team): there is no such agent or team"),
    ([("assign", {})], "Step 1 (Assign to an agent or a team): choose the agent or team."),
    ([("set_priority", {"target": "team:1"})], "Step 1 (Set the priority): choose the priority, not a team."),
    ([("set_priority", {"target": "priority:x"})], "Step 1 (Set the priority): there is no such priority"),
    ([("claim", {})] * 21, "A macro has at most 20 steps; this one has 21."),
])
def test_bad_steps_are_refused_with_a_message_and_nothing_saved(login, desk, steps, message):
    client = login(desk.tech)
    answer = _post(client, "Bad", steps)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page and 'role="alert"' in page
    assert _macro("Bad") is None
    # An edit with bad steps keeps the saved macro as it was.
    assert _post(client, "Good", [("claim", {})]).status_code == 302
    good = _macro("Good")
    assert _post(client, "Good", steps, url=f"/agent/macros/{good.id}").status_code == 400
    assert _macro("Good").steps == [{"do": "claim"}]


def test_bad_names_and_a_personal_canned_in_a_shared_macro(login, desk):
    client = login(desk.manager)
    assert "Give the macro a name." in _post(client, " ", [("claim", {})]).get_data(as_text=True)
    assert "The name is too long" in _post(client, "x" * 121, [("claim", {})]).get_data(as_text=True)
    personal = CannedResponse(title="Mine", body="Mine", agent=desk.manager)
    db.session.add(personal)
    db.session.commit()
    support = desk.departments["Support"]
    answer = _post(client, "Shared", [("reply", {"canned": str(personal.id)})], owner=f"department-{support.id}")
    assert answer.status_code == 400 and "not one every user of this macro may use" in answer.get_data(as_text=True)
    assert _post(client, "Mine", [("reply", {"canned": str(personal.id)})]).status_code == 302


def test_a_step_naming_something_gone_refuses_the_macro_before_anything(login, desk, ticket, reset_text):
    macro = _make("Gone", [{"do": "claim"}, {"do": "reply", "canned": reset_text.id + 1000}])
    answer = _apply(login(desk.tech), ticket, macro)
    assert answer.status_code == 400
    assert ("The macro “Gone” was not applied: step 2 of 2 (Reply to the customer): the canned response it uses "
            "was deleted.") in answer.get_data(as_text=True)
    assert fresh(ticket).assignee_id is None


def test_the_live_update_of_the_ticket_keeps_its_macros(login, desk, ticket):
    _make("Take it", [{"do": "claim"}])
    client = login(desk.tech)
    since = fresh(ticket).version
    tickets.add_note(desk.vendor, fresh(ticket), "Someone else's note")
    part = client.get(f"/agent/tickets/{ticket.number}/live?since={since}&shown={since}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="ticket-actions"' in part and 'id="macros_form"' in part and "Take it" in part


def test_the_demo_macros_are_valid_steps(app, desk):
    from helpdesk import demo
    from helpdesk.tickets import macro_steps
    demo.seed_macros()
    for macro in db.session.scalars(select(Macro)):
        rows = [macro_steps.as_row(s) for s in macro.steps]
        assert macro_steps.clean(rows, lambda response: True) == macro.steps


def test_tag_steps_add_and_remove_tags(login, desk, ticket):
    tickets.add_tags(desk.admin, ticket, ["Password", "Waiting"])
    [password, waiting] = sorted(fresh(ticket).tags, key=lambda t: t.name)
    client = login(desk.tech)
    response = _post(client, name="Tidy tags", steps=[("remove_tag", {"target": f"tag:{waiting.id}"}),
                                                      ("add_tag", {"target": f"tag:{password.id}"})])
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _apply(client, ticket, _macro("Tidy tags")).status_code in (200, 302)
    assert [t.name for t in fresh(ticket).tags] == ["Password"]
    assert [(e.action, e.old or e.new) for e in events(ticket) if e.action in ("tagged", "untagged")][-1] == \
        ("untagged", "Waiting")
    response = _post(client, name="Bad tag", steps=[("add_tag", {"target": "tag:999999"})])
    assert response.status_code == 400 and "there is no such tag" in response.get_data(as_text=True)
