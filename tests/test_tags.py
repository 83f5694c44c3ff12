"""Tags on tickets: agents add and remove them on the ticket page (type-ahead from the desk's
tags; admins may keep new ones to themselves), the history records them, queues show, filter and
search by them, bulk actions add and remove them, and the CSV export and the API carry them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpdesk import settings, tickets
from helpdesk.extensions import db
from helpdesk.models import Tag
from support.pages import text_of
from support.rows import events, fresh


def page_of(client, ticket) -> str:
    response = client.get(f"/agent/tickets/{ticket.number}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def tags_of(ticket) -> list[str]:
    return [t.name for t in fresh(ticket).tags]


def add(client, ticket, names="", pick=None, **extra):
    data = {"version": fresh(ticket).version, "names": names, **extra}
    if pick is not None:
        data["pick"] = pick
    return client.post(f"/agent/tickets/{ticket.number}/tags", data=data)


def remove(client, ticket, name, **headers):
    return client.post(f"/agent/tickets/{ticket.number}/tags/remove",
                       data={"version": fresh(ticket).version, "remove": name}, headers=headers)


def admin_only_creation(on: bool) -> None:
    settings.save({"tags_admin_only": on})
    db.session.commit()


# --- the ticket page ------------------------------------------------------------------------------


def test_an_agent_adds_tags_sees_the_chips_and_the_history(client, login, desk, ticket):
    login(desk.tech)
    version = fresh(ticket).version
    response = add(client, ticket, "Billing,  VIP customer ")
    assert response.status_code == 302
    assert tags_of(ticket) == ["Billing", "VIP customer"]
    assert fresh(ticket).version == version + 1
    assert [(e.action, e.new, e.agent_id) for e in events(ticket, "tagged")] == [
        ("tagged", "Billing", desk.tech.id), ("tagged", "VIP customer", desk.tech.id)]
    page = page_of(client, ticket)
    assert "Tagged “Billing”, “VIP customer”." in page
    chips = re.search(r'<ul class="tag-list" aria-label="Tags of this ticket">.*?</ul>', page, re.S).group(0)
    assert ">Billing</a>" in chips and ">VIP customer</a>" in chips
    assert 'aria-label="Remove the tag Billing"' in chips
    history = re.search(r'<section id="history".*?</section>', page, re.S).group(0)
    assert re.search(r"Tom Technician</strong> added a tag:\s*<span class=\"to\">Billing</span>", history)


def test_tags_are_one_per_name_whatever_the_case(client, login, desk, ticket, make_ticket):
    login(desk.tech)
    add(client, ticket, "billing")
    other = make_ticket()
    assert add(client, other, "BILLING").status_code == 302
    assert tags_of(other) == ["billing"]  # the desk's tag, as first written
    assert db.session.scalar(select(db.func.count()).select_from(Tag)) == 1
    response = add(client, other, "Billing")
    assert response.status_code == 302
    assert "The ticket has that tag already. Nothing changed." in page_of(client, other)
    assert len(events(other, "tagged")) == 1


def test_an_agent_removes_a_tag_and_the_history_says_so(client, login, desk, ticket):
    login(desk.tech)
    add(client, ticket, "billing, urgent")
    response = remove(client, ticket, "BILLING", **{"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "The tag “billing” was removed." in body
    assert tags_of(ticket) == ["urgent"]
    (untagged,) = events(ticket, "untagged")
    assert (untagged.old, untagged.new, untagged.agent_id) == ("billing", None, desk.tech.id)
    history = re.search(r'<section id="history".*?</section>', page_of(client, ticket), re.S).group(0)
    assert re.search(r"removed a tag:\s*<span class=\"from\">billing</span>", history)
    again = remove(client, ticket, "billing")
    assert again.status_code == 302
    assert "The ticket has no tag “billing”. Nothing changed." in page_of(client, ticket)


@pytest.mark.parametrize("names, message", [
    ("", "Give the name of a tag."),
    (" , ,", "Give the name of a tag."),
    ("x" * 41, "is too long: at most 40 characters."),
    ("<script>", "has characters a tag cannot have"),
    ("a/b", "has characters a tag cannot have"),
    ("...", "needs at least one letter or digit."),
])
def test_bad_names_are_refused_with_a_message(client, login, desk, ticket, names, message):
    login(desk.tech)
    response = add(client, ticket, names, **{"HX-Request": "true"}) if False else add(client, ticket, names)
    assert response.status_code == 400
    assert message in text_of(response)
    assert tags_of(ticket) == [] and events(ticket, "tagged") == []


def test_a_ticket_carries_at_most_twenty_tags(client, login, desk, ticket):
    login(desk.tech)
    assert add(client, ticket, ", ".join(f"t{i}" for i in range(20))).status_code == 302
    response = add(client, ticket, "one more")
    assert response.status_code == 400
    assert "A ticket carries at most 20 tags" in text_of(response)
    assert len(tags_of(ticket)) == 20
    assert db.session.scalar(select(Tag.id).where(Tag.key == "one more")) is None


def test_agents_outside_the_ticket_cannot_tag_it(client, login, desk, ticket):
    login(desk.sysadmin)  # IT Operations: not the ticket's department
    assert add(client, ticket, "peek").status_code == 404
    assert remove(client, ticket, "peek").status_code == 404
    assert client.get(f"/agent/tickets/{ticket.number}/tags/suggestions?names=pe").status_code == 404
    with pytest.raises(tickets.NotAllowed):
        tickets.add_tags(desk.sysadmin, ticket, ["peek"])
    assert tags_of(ticket) == []


def test_closed_tickets_take_tags_too(client, login, desk, make_ticket):
    t = make_ticket(status="closed")
    login(desk.tech)
    assert add(client, t, "follow-up").status_code == 302
    assert tags_of(t) == ["follow-up"] and fresh(t).status == "closed"
