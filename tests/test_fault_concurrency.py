"""Two people changing one ticket at the same moment: the one who saves second gets a conflict
(409, with what changed), never a server error, whichever point of the save notices it."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Ticket


def _changed_elsewhere(ticket):
    """Another worker saves the ticket (a new version) behind this session's back."""
    with db.engine.begin() as conn:
        conn.execute(update(Ticket).where(Ticket.id == ticket.id).values(version=Ticket.version + 1))


@pytest.mark.parametrize("action", ["assign", "reply", "set_priority"])
def test_a_change_saved_meanwhile_is_a_conflict(desk, make_ticket, action):
    ticket = make_ticket()
    _changed_elsewhere(ticket)
    calls = {
        "assign": lambda: tickets.assign(desk.manager, ticket, agent=desk.tech),
        "reply": lambda: tickets.reply(desk.manager, ticket, "On it."),
        "set_priority": lambda: tickets.set_priority(desk.manager, ticket, desk.priorities["high"]),
    }
    with pytest.raises(tickets.Conflict):
        calls[action]()
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).assignee_id is None


def test_the_panel_answers_409_when_an_assignment_races(client, desk, login, make_ticket):
    ticket = make_ticket()
    login(desk.manager)
    version = ticket.version
    _changed_elsewhere(ticket)
    response = client.post(f"/agent/tickets/{ticket.number}/assign",
                           data={"version": version, "agent": desk.tech.id, "team": ""})
    assert response.status_code == 409
    assert "Traceback" not in response.get_data(as_text=True)
