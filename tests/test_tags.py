"""Tags on tickets: agents add and remove them on the ticket page (type-ahead from the desk's
tags; admins may keep new ones to themselves), the history records them, queues show, filter and
search by them, bulk actions add and remove them, and the CSV export and the API carry them."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import event, select

from factories import make_api_key
from helpdesk import clock, settings, tickets
from helpdesk.extensions import db
from helpdesk.models import Setting, Tag, event_kind, ticket_tag
from helpdesk.tickets.rules import AFFECTS, _bump
from helpdesk.tickets.tags import _add_tags, _remove_tags
from support.forms import settings_data
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
    response = add(client, ticket, names)
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


# --- the type-ahead and the admins' setting -------------------------------------------------------


def test_the_type_ahead_lists_the_desks_tags_matching_what_is_typed(client, login, desk, ticket, make_ticket):
    tickets.add_tags(desk.admin, make_ticket(), ["Billing", "Billing dispute", "Rebill", "VPN"])
    tickets.add_tags(desk.admin, ticket, ["Billing dispute"])
    login(desk.tech)
    response = client.get(f"/agent/tickets/{ticket.number}/tags/suggestions?names=vpn, bil",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="tag-suggestions"')
    picks = re.findall(r'name="pick" value="([^"]+)"', body)
    assert picks == ["Billing", "Rebill"]  # starting with it first; the ticket's own left out
    # Without JavaScript the same address is the ticket page with the list in it.
    page = client.get(f"/agent/tickets/{ticket.number}/tags/suggestions?names=vp")
    assert page.status_code == 200 and 'value="VPN"' in page.get_data(as_text=True)
    # A picked suggestion replaces the name being typed; the others typed are added too.
    response = add(client, ticket, "urgent, bil", pick="Billing")
    assert response.status_code == 302
    assert tags_of(ticket) == ["Billing", "Billing dispute", "urgent"]


def test_when_only_admins_create_tags_agents_pick_existing_ones(client, login, desk, ticket, make_ticket):
    tickets.add_tags(desk.admin, make_ticket(), ["Billing"])
    admin_only_creation(True)
    login(desk.tech)
    response = add(client, ticket, "brand new")
    assert response.status_code == 400
    assert "This is not a tag of the desk yet: “brand new”. Only admins may create new tags" in text_of(response)
    assert "Pick one of the desk's tags: only admins create new ones." in text_of(response)
    assert add(client, ticket, "billing").status_code == 302  # an existing one, in any case
    assert tags_of(ticket) == ["Billing"]
    with pytest.raises(tickets.InvalidInput):
        tickets.add_tags(desk.manager, ticket, ["also new"])
    login(desk.admin)
    assert add(client, ticket, "brand new").status_code == 302
    assert tags_of(ticket) == ["Billing", "brand new"]


def test_the_setting_is_on_the_settings_page_and_audited(client, admin, desk):
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Only admins create new tags" in page
    response = client.post("/admin/settings", data=settings_data(tags_admin_only="y"))
    assert response.status_code == 302
    assert settings.get("tags_admin_only") is True
    assert db.session.get(Setting, "tags_admin_only").value == "1"
    log = client.get("/admin/audit?type=setting").get_data(as_text=True)
    assert "Only admins create new tags" in log


# --- the admin page ---------------------------------------------------------------------------------


def test_admins_create_rename_and_delete_tags_audited(client, admin, desk, ticket, make_ticket):
    assert client.post("/admin/tags", data={"name": "  Hardware  "}).status_code == 302
    response = client.post("/admin/tags", data={"name": "HARDWARE"})
    assert response.status_code == 400 and "There is a tag “HARDWARE” already" in text_of(response)
    assert client.post("/admin/tags", data={"name": "bad/name"}).status_code == 400
    tag = db.session.scalar(select(Tag).where(Tag.key == "hardware"))
    tickets.add_tags(desk.tech, ticket, ["hardware"])
    tickets.add_tags(desk.tech, make_ticket(), ["hardware"])
    listing = client.get("/admin/tags").get_data(as_text=True)
    assert "Hardware" in listing and re.search(r"tag=Hardware\">2</a>", listing)

    assert client.post(f"/admin/tags/{tag.id}", data={"name": "Devices"}).status_code == 302
    assert tags_of(ticket) == ["Devices"]
    page = client.get(f"/admin/tags/{tag.id}").get_data(as_text=True)
    assert "2 tickets carry it" in page and "Take it off the 2 tickets that carry it" in page

    refused = client.post(f"/admin/tags/{tag.id}/delete")
    assert refused.status_code == 409
    assert "2 tickets carry the tag “Devices”. Tick the box to confirm" in text_of(refused)
    assert client.post(f"/admin/tags/{tag.id}/delete", data={"confirm": "2"}).status_code == 302
    assert db.session.get(Tag, tag.id) is None and tags_of(ticket) == []
    assert db.session.scalar(select(db.func.count()).select_from(ticket_tag)) == 0
    log = client.get("/admin/audit?type=tag").get_data(as_text=True)
    for words in ("Hardware", "Devices", "deleted", "tickets"):
        assert words in log


def test_managers_see_the_tags_page_but_only_admins_change_it(client, login, desk):
    login(desk.manager)
    assert client.get("/admin/tags").status_code == 200
    assert client.post("/admin/tags", data={"name": "x"}).status_code == 403
    login(desk.tech)
    assert client.get("/admin/tags").status_code == 403


# --- the inner functions (automations) and webhooks ---------------------------------------------


def test_the_inner_functions_change_tags_inside_the_callers_transaction(app, desk, ticket):
    now = clock.utcnow()
    admin_only_creation(True)
    with pytest.raises(tickets.InvalidInput, match="Only admins may create new tags"):
        tickets.find_or_create_tags(["auto"], may_create=False)
    tags = tickets.find_or_create_tags(["auto", "Auto", "triaged"], may_create=True)
    assert [t.name for t in tags] == ["auto", "triaged"]
    version = ticket.version
    _bump(ticket, now)
    assert [t.name for t in _add_tags(ticket, tags, now=now)] == ["auto", "triaged"]
    assert _add_tags(ticket, tags, now=now) == []  # already there: nothing more
    assert [t.name for t in _remove_tags(ticket, tags[:1], now=now)] == ["auto"]
    db.session.rollback()  # nothing was committed
    assert tags_of(ticket) == [] and fresh(ticket).version == version
    _bump(ticket, now)
    _add_tags(ticket, tickets.find_or_create_tags(["auto"], may_create=True), now=now)
    db.session.commit()
    (tagged,) = events(ticket, "tagged")
    assert tagged.agent_id is None and tagged.actor_name == "System" and tagged.new == "auto"
    assert tagged.version == version + 1
    assert event_kind(tagged) == "ticket.updated"


def test_every_lifecycle_transition_includes_tagging_from_every_status():
    rule = tickets.TRANSITIONS["tag"]
    assert rule.role == "agent" and rule.target == "" and set(rule.sources) == set(tickets.ALL)
    assert AFFECTS["tag"] == frozenset()


# --- queues: the chips, the filter, the search, bulk, the export -----------------------------------


def numbers(html: str) -> list[str]:
    return re.findall(r'<tr id="row-([0-9A-Z]+)"', html)


def test_queue_rows_show_their_tags_and_filter_by_one(client, login, desk, make_ticket):
    a, b, c = make_ticket(subject="Printer jam"), make_ticket(subject="VPN drops"), make_ticket(subject="Login")
    tickets.add_tags(desk.tech, a, ["hardware", "Floor 2"])
    tickets.add_tags(desk.tech, b, ["network"])
    login(desk.tech)
    page = client.get("/agent/").get_data(as_text=True)
    row = re.search(rf'<tr id="row-{a.number}".*?</tr>', page, re.S).group(0)
    assert re.findall(r'class="tag-chip" href="[^"]*tag=([^"]+)"', row) == ["Floor%202", "hardware"]
    assert '<option value="Floor 2">' in page and 'id="f-tag"' in page
    filtered = client.get("/agent/?tag=HARDWARE")
    assert filtered.status_code == 200
    body = filtered.get_data(as_text=True)
    assert numbers(body) == [a.number] and "1–1 of 1 ticket" in body
    assert 'id="f-tag" name="tag" type="text" list="tag-names" value="hardware"' in body
    unknown = client.get("/agent/?tag=nope").get_data(as_text=True)
    assert "There is no such tag; the tag filter was ignored." in unknown
    assert set(numbers(unknown)) == {a.number, b.number, c.number}


def test_search_understands_tag_terms(client, login, desk, make_ticket):
    a, b = make_ticket(subject="Printer jam"), make_ticket(subject="Printer offline")
    c = make_ticket(subject="VPN drops")
    tickets.add_tags(desk.tech, a, ["VIP customer", "hardware"])
    tickets.add_tags(desk.tech, c, ["VIP customer"])
    login(desk.tech)
    assert set(numbers(client.get('/agent/?q=tag:"vip customer"').get_data(as_text=True))) == {
        a.number, c.number}
    assert numbers(client.get('/agent/?q=printer tag:"VIP customer"').get_data(as_text=True)) == [a.number]
    assert numbers(client.get("/agent/?q=tag:hardware tag:vip customer").get_data(as_text=True)) == []
    both = client.get('/agent/?q=Tag:Hardware+tag:"vip customer"').get_data(as_text=True)
    assert numbers(both) == [a.number]
    assert numbers(client.get("/agent/?q=tag:unknown").get_data(as_text=True)) == []
    assert b.number in numbers(client.get("/agent/?q=printer").get_data(as_text=True))


def test_bulk_adds_and_removes_a_tag_ticket_by_ticket(client, login, desk, make_ticket):
    a, b = make_ticket(), make_ticket()
    login(desk.manager)

    def picks(*ts):
        return [f"{t.number}@{fresh(t).version}" for t in ts]

    response = client.post("/agent/queue/open/bulk", data={"do": "tag_add", "tag": "Outage 12", "ticket": picks(a, b)})
    assert response.status_code == 302
    assert tags_of(a) == ["Outage 12"] and tags_of(b) == ["Outage 12"]
    page = client.get("/agent/").get_data(as_text=True)
    assert f"Tagged “Outage 12”: #{a.number}, #{b.number}." in page or f"#{b.number}, #{a.number}" in page
    assert len(events(a, "tagged")) == 1 and events(a, "tagged")[0].agent_id == desk.manager.id

    client.post("/agent/queue/open/bulk", data={"do": "tag_remove", "tag": "outage 12", "ticket": picks(a)})
    assert tags_of(a) == [] and tags_of(b) == ["Outage 12"]
    response = client.post("/agent/queue/open/bulk", headers={"HX-Request": "true"},
                           data={"do": "tag_remove", "tag": "outage 12", "ticket": picks(a, b)})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and tags_of(b) == []
    assert f"#{a.number}: The ticket has no tag “outage 12”." in body

    for data, message in (({"do": "tag_add", "tag": " "}, "Name the tag to add or remove."),
                          ({"do": "tag_add", "tag": "a/b"}, "has characters a tag cannot have")):
        response = client.post("/agent/queue/open/bulk", headers={"HX-Request": "true"},
                               data={**data, "ticket": picks(a)})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    admin_only_creation(True)
    response = client.post("/agent/queue/open/bulk", headers={"HX-Request": "true"},
                           data={"do": "tag_add", "tag": "fresh", "ticket": picks(a, b)})
    assert response.status_code == 400 and "Only admins may create new tags" in response.get_data(as_text=True)
    assert tags_of(a) == [] and tags_of(b) == []


def test_the_bulk_bar_offers_the_tag_actions(client, login, desk, make_ticket):
    make_ticket()
    login(desk.manager)
    page = client.get("/agent/").get_data(as_text=True)
    assert '<option value="tag_add">Add tag</option>' in page and '<option value="tag_remove">Remove tag</option>' in page
    assert 'id="bulk-tag" name="tag"' in page


def test_the_csv_export_has_a_tags_column(client, login, desk, make_ticket):
    a, b = make_ticket(subject="Printer jam"), make_ticket(subject="VPN drops")
    tickets.add_tags(desk.tech, a, ["hardware", "-1.1"])
    login(desk.tech)
    response = client.get("/agent/queue/open/export.csv")
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True)[1:], newline="")))
    assert table[0][-1] == "Tags"
    by_number = {row[0]: row for row in table[1:]}
    assert by_number[a.number][-1] == "'-1.1, hardware"  # a spreadsheet never reads it as a formula
    assert by_number[b.number][-1] == ""
    only = client.get("/agent/queue/open/export.csv?tag=hardware").get_data(as_text=True)
    assert a.number in only and b.number not in only


def test_the_api_shows_a_tickets_tags(client, desk, make_ticket):
    secret = "hd_" + "t" * 40
    make_api_key(secret, scopes="read", created_by=desk.admin)
    t = make_ticket(email="ken@example.net")
    tickets.add_tags(desk.tech, t, ["vip", "Billing"])
    headers = {"Authorization": f"Bearer {secret}"}
    one = client.get(f"/api/v1/tickets/{t.number}", headers=headers)
    assert one.status_code == 200 and one.get_json()["tags"] == ["Billing", "vip"]
    listed = client.get("/api/v1/tickets?email=ken@example.net", headers=headers).get_json()
    assert listed["tickets"][0]["tags"] == ["Billing", "vip"]
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Ticket"]
    assert "tags" in schema["required"] and schema["properties"]["tags"]["items"] == {"type": "string"}


def test_a_queue_page_of_fifty_tagged_tickets_reads_their_tags_in_one_statement(client, login, desk, make_ticket):
    made = [make_ticket(subject=f"Tagged {i}") for i in range(50)]
    for i, t in enumerate(made):
        tickets.add_tags(desk.tech, t, [f"tag {i % 7}", "common"])
    login(desk.manager)
    db.session.expire_all()
    client.get("/agent/?page_size=50")
    statements = []

    def listen(conn, cursor, sql, *rest):
        statements.append(sql)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        client.post("/agent/queue/open/display", data={"page_size": "50"})
        statements.clear()
        page = client.get("/agent/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(numbers(page)) == 50 and page.count('class="tag-chip"') == 100
    reading_tags = [s for s in statements if "ticket_tag" in s]
    assert len(reading_tags) == 1, reading_tags
    assert len(statements) <= 8, statements


def test_with_htmx_a_refused_name_redraws_the_tag_form_with_its_message(client, login, desk, ticket):
    login(desk.tech)
    response = client.post(f"/agent/tickets/{ticket.number}/tags", headers={"HX-Request": "true"},
                           data={"version": fresh(ticket).version, "names": "a/b"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#tag_form"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="tag_form"')
    assert "has characters a tag cannot have" in body and 'value="a/b"' in body
    stale = client.post(f"/agent/tickets/{ticket.number}/tags", headers={"HX-Request": "true"},
                        data={"names": "fine"})
    assert stale.status_code == 400 and "This form is out of date" in stale.get_data(as_text=True)
    assert tags_of(ticket) == []
