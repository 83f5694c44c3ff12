"""The concurrency rule: a change saved after an agent loaded the ticket refuses their action only
if it touched what the action is about (tickets.rules.AFFECTS); the page's live updates count as
seen for customers' messages."""
import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Event, ThreadEntry

# What someone else does after the agent loaded the ticket (an open ticket, Tom's).
CHANGES = {
    "customer replied": lambda d, t: tickets.customer_reply(t, "Here are more details."),
    "note": lambda d, t: tickets.add_note(d.admin, t, "Checked the logs."),
    "priority": lambda d, t: tickets.set_priority(d.admin, t, d.priorities["high"]),
    "claim": lambda d, t: tickets.claim(d.admin, t),
    "reply": lambda d, t: tickets.reply(d.admin, t, "We are on it."),
    "escalate": lambda d, t: tickets.escalate(d.admin, t, d.teams["Vendor Support"], "Vendor bug"),
    "resolve": lambda d, t: tickets.resolve(d.admin, t, "Fixed on our side."),
}

# What the agent then does from the page they loaded (Maya, a manager, with the old version).
ACTIONS = {
    "escalate": lambda d, t, v, s: tickets.escalate(d.manager, t, d.teams["Senior Support"], "Needs seniors",
                                                    expected_version=v),
    "assign": lambda d, t, v, s: tickets.assign(d.manager, t, agent=d.vendor, expected_version=v),
    "set_priority": lambda d, t, v, s: tickets.set_priority(d.manager, t, d.priorities["emergency"],
                                                            expected_version=v),
    "reply": lambda d, t, v, s: tickets.reply(d.manager, t, "Hello", expected_version=v, seen_version=s),
    "resolve": lambda d, t, v, s: tickets.resolve(d.manager, t, "Done", expected_version=v, seen_version=s),
}

# Which (change, action) pairs collide; every other pair goes through.
REFUSED = {
    ("customer replied", "reply"), ("customer replied", "resolve"),  # a message the page did not show
    ("priority", "set_priority"),
    ("claim", "assign"),
    ("reply", "reply"), ("reply", "resolve"),
    ("escalate", "escalate"), ("escalate", "assign"), ("escalate", "resolve"),
    *(("resolve", action) for action in ACTIONS),  # a resolved ticket takes none of them
}


def _counts(t):
    return (db.session.scalar(select(func.count(ThreadEntry.id)).where(ThreadEntry.ticket_id == t.id)),
            db.session.scalar(select(func.count(Event.id)).where(Event.ticket_id == t.id)))


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_refuses_only_the_actions_it_affects(desk, make_ticket, change, action):
    t = make_ticket(status="open")
    loaded = t.version
    CHANGES[change](desk, t)
    before = _counts(t)
    if (change, action) in REFUSED:
        with pytest.raises(tickets.Conflict) as err:
            ACTIONS[action](desk, t, loaded, None)
        assert err.value.status == 409 and err.value.changes
        db.session.rollback()
        assert _counts(t) == before  # nothing of the refused action was saved
    else:
        ACTIONS[action](desk, t, loaded, None)
        db.session.refresh(t)
        assert t.version > loaded + 1 and _counts(t)[1] > before[1]


@pytest.mark.parametrize("action", ["reply", "resolve"])
def test_a_customer_message_the_page_showed_does_not_refuse_an_answer(desk, make_ticket, action):
    t = make_ticket(status="open")
    loaded = t.version
    tickets.customer_reply(t, "One more thing: it fails on Sundays.")
    shown = t.version  # the live update showed the message
    ACTIONS[action](desk, t, loaded, shown)
    assert t.is_answered


def test_another_agents_answer_refuses_an_answer_even_when_shown(desk, make_ticket):
    t = make_ticket(status="open")
    loaded = t.version
    tickets.reply(desk.admin, t, "We are on it.")
    with pytest.raises(tickets.Conflict) as err:
        tickets.reply(desk.manager, t, "Hello", expected_version=loaded, seen_version=t.version)
    assert [e.action for e in err.value.changes] == ["replied"]


def test_a_customer_reply_to_a_question_does_not_refuse_an_escalation(desk, make_ticket):
    # The review's case: the ticket awaited the customer, they answered (pending -> open) while
    # the agent had it open; the agent escalates from the page they loaded.
    t = make_ticket(status="pending")
    loaded = t.version
    tickets.customer_reply(t, "Version 4.2, on Windows.")
    assert t.status == "open"
    tickets.escalate(desk.manager, t, desk.teams["Senior Support"], "Needs seniors", expected_version=loaded)
    assert t.status == "escalated" and t.team.name == "Senior Support"


def test_an_action_the_change_made_impossible_is_a_conflict_not_an_error(desk, make_ticket):
    t = make_ticket(status="pending")
    loaded = t.version
    tickets.customer_reply(t, "Version 4.2, on Windows.")  # woke it: "resume" has nothing to do
    with pytest.raises(tickets.Conflict) as err:
        tickets.resume(desk.tech, t, expected_version=loaded)
    assert {e.action for e in err.value.changes} == {"customer_replied", "status"}


def test_two_agents_claiming_collide(desk, make_ticket):
    t = make_ticket()
    loaded = t.version
    tickets.claim(desk.tech, t)
    with pytest.raises(tickets.Conflict):
        tickets.claim(desk.vendor, t, expected_version=loaded)


def test_people_on_copy_and_notes_never_collide(desk, make_ticket):
    t = make_ticket(status="open")
    loaded = t.version
    tickets.add_collaborator(desk.admin, t, "boss@example.net")
    tickets.add_note(desk.tech, t, "Asked the boss.", expected_version=loaded)
    tickets.add_collaborator(desk.manager, t, "cfo@example.net", expected_version=loaded)
    tickets.new_access_link(desk.manager, t, expected_version=loaded)
    loaded = t.version
    tickets.new_access_link(desk.admin, t)
    with pytest.raises(tickets.Conflict):  # both sending the customer a new link: one is enough
        tickets.new_access_link(desk.manager, t, expected_version=loaded)
