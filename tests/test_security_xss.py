"""Stored XSS: hostile text in every field a person can fill, rendered on every page, htmx
partial and mail that shows it; nothing in them may run.

To cover a new field: add it to FIELDS (and set it in `fill_desk`). To cover a new page or
partial: add it to PAGES with the fields it must show (proof that the text reached it).
"""
from __future__ import annotations

import mailbox
from html.parser import HTMLParser

import pytest
from flask import render_template_string
from sqlalchemy import select

from helpdesk import audit, settings, tickets
from helpdesk.extensions import db
from helpdesk.mail import outbox
from helpdesk.mail import wording as mail_templates
from helpdesk.models import OutboxMail, Ticket
from helpdesk.security import access_token
from hostile import XSS_PAYLOADS, assert_no_live_markup, live_markup

FIELDS = [
    "customer_name", "subject", "description", "reply", "note", "question", "customer_reply",
    "escalation_note", "resolution", "agent_name", "department", "team", "topic", "instructions",
    "sla", "priority", "desk_name", "collaborator", "mail_template",
]


def hostile(payload: str, field: str) -> str:
    # The marker leads, so it survives when a short field (a priority name) cuts the payload.
    return marker(field) + " " + payload.format(tag=marker(field))


def marker(field: str) -> str:
    return f"XSS{field.replace('_', '')}"


def fill_desk(client, desk, payload):
    """Every field set to the payload through the way a person sets it; returns (ticket, token)."""
    value = lambda field: hostile(payload, field)  # noqa: E731
    tech, manager = desk.tech, desk.manager
    topic = desk.topics["General inquiry"]
    # As the admin area saves them: the change and its audit entry (the log shows both names).
    for kind, obj, values in (
        ("agent", tech, {"name": value("agent_name")[:120]}),
        ("department", desk.departments["Support"], {"name": value("department")[:120]}),
        ("team", desk.teams["Senior Support"], {"name": value("team")[:120]}),
        ("topic", topic, {"name": value("topic")[:120], "instructions": value("instructions")}),
        ("sla", desk.slas["Standard"], {"name": value("sla")[:120]}),
        ("priority", desk.priorities["normal"], {"name": value("priority")[:60]}),
    ):
        audit.record(kind, obj, audit.apply(obj, values), actor=desk.admin)
    for key, old, new in settings.save({"desk_name": value("desk_name")[:120]}):
        audit.record("setting", None, [(key, old, new)], name=settings.DEFINITIONS[key].label, actor=desk.admin)
    # The reply mail's wording (stored as the admin area stores it, placeholders unchecked).
    _, changes = mail_templates.save("reply_customer", value("mail_template"), value("mail_template") + " {subject}")
    audit.record("mail_template", None, changes, name="Agent replied", actor=desk.admin)
    db.session.commit()

    response = client.post("/new", data={
        "name": value("customer_name")[:120], "email": "ken@example.net", "topic": str(topic.id),
        "subject": value("subject")[:200], "description": value("description"),
        "idempotency_key": "k" * 20,
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    ticket = db.session.scalar(select(Ticket))
    tickets.assign(manager, ticket, agent=tech)
    tickets.add_collaborator(tech, ticket, "cc@example.net", value("collaborator")[:120])
    tickets.reply(tech, ticket, value("reply"))
    tickets.add_note(tech, ticket, value("note"))
    tickets.request_info(tech, ticket, value("question"))
    token = access_token(ticket)
    assert client.post(f"/t/{token}/reply", data={"body": value("customer_reply")}).status_code == 302
    tickets.escalate(tech, ticket, desk.teams["Senior Support"], value("escalation_note"))
    tickets.resume(tech, ticket)
    tickets.resolve(tech, ticket, value("resolution"))
    return ticket, token


# page name -> (who looks: None for the customer, else a desk attribute; url; htmx?; fields it shows)
_ROW = ["customer_name", "subject", "agent_name", "department", "team", "topic", "priority"]
_TICKET = [f for f in FIELDS if f not in ("instructions", "desk_name", "mail_template")]
PAGES = {
    "portal ticket": (None, "/t/{token}", False,
                      ["customer_name", "subject", "description", "reply", "question", "customer_reply", "resolution",
                       "topic", "priority"]),
    "portal ticket (partial)": (None, "/t/{token}", True,
                                ["customer_name", "description", "reply", "question", "customer_reply", "resolution"]),
    "portal new ticket with topic": (None, "/new?topic={topic}", False, ["topic", "instructions", "priority"]),
    "portal topic fields (partial)": (None, "/new/topic-fields?topic={topic}", True, ["topic", "instructions", "priority"]),
    "portal confirmation": (None, "/submitted", False, ["subject"]),
    "agent queue": ("tech", "/agent/queue/closed", False, _ROW),
    "agent queue results (partial)": ("tech", "/agent/queue/closed", True, _ROW),
    "agent search": ("tech", "/agent/queue/closed?q=XSS", False, _ROW),
    "agent counts (partial)": ("tech", "/agent/counts", True, []),
    "agent ticket": ("tech", "/agent/tickets/{number}", False, _TICKET + ["desk_name"]),
    "agent ticket (partial)": ("tech", "/agent/tickets/{number}", True, _TICKET),
    "account": ("tech", "/account", False, ["agent_name"]),
    "admin overview": ("admin", "/admin/", False, []),
    "admin outbox": ("admin", "/admin/outbox", False, ["subject", "agent_name"]),
    "admin outbox list (partial)": ("admin", "/admin/outbox?status=pending", True, ["subject", "agent_name"]),
    "agent new ticket": ("tech", "/agent/new", False, ["topic", "priority", "desk_name"]),
    "admin topics": ("admin", "/admin/topics", False, ["topic", "department", "priority", "sla"]),
    "admin topic form": ("admin", "/admin/topics/{topic}", False, ["topic", "instructions", "desk_name"]),
    "admin SLA plans": ("admin", "/admin/sla-plans", False, ["sla"]),
    "admin SLA plan form": ("admin", "/admin/sla-plans/{sla}", False, ["sla"]),
    "admin departments": ("admin", "/admin/departments", False, ["department", "sla"]),
    "admin department form": ("admin", "/admin/departments/{department}", False, ["department", "sla"]),
    "admin teams": ("admin", "/admin/teams", False, ["team"]),
    "admin team form": ("admin", "/admin/teams/{team}", False, ["team", "agent_name"]),
    "admin agents": ("admin", "/admin/agents", False, ["agent_name", "department", "team"]),
    "admin agent form": ("admin", "/admin/agents/{agent}", False, ["agent_name", "department", "team"]),
    "admin priorities": ("admin", "/admin/priorities", False, ["priority"]),
    "admin priority form (partial)": ("admin", "/admin/priorities/{priority}/edit", True, ["priority"]),
    "admin settings": ("admin", "/admin/settings", False, ["desk_name"]),
    "admin audit log": ("admin", "/admin/audit", False,
                        ["agent_name", "department", "team", "topic", "instructions", "sla", "priority", "desk_name",
                         "mail_template"]),
    "admin mail template": ("admin", "/admin/mail-templates/reply_customer", False, ["mail_template", "desk_name"]),
    "admin dev mailbox": ("admin", "/admin/dev-mailbox", False,
                          ["customer_name", "subject", "description", "reply", "question", "customer_reply",
                           "resolution", "agent_name", "department", "team", "topic", "priority"]),
}


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_nothing_a_person_types_runs_anywhere(app, client, desk, payload, tmp_path):
    ticket, token = fill_desk(client, desk, payload)
    # The dev mailbox shows what the local mail catcher kept: put every queued mail there.
    folder = tmp_path / "mail"
    box = mailbox.Maildir(str(folder), create=True)
    for row in db.session.scalars(select(OutboxMail)):
        box.add(outbox._message(row).as_bytes())
    app.config["HELPDESK_DEV_MAILBOX"] = str(folder)

    signed_in = None
    for name, (who, url, partial, shown) in PAGES.items():
        if who != signed_in:
            client.post("/logout")
            if who:
                agent = getattr(desk, who)
                response = client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email]})
                assert response.status_code == 302
            signed_in = who
        url = url.format(token=token, number=ticket.number, topic=desk.topics["General inquiry"].id,
                         sla=desk.slas["Standard"].id, department=desk.departments["Support"].id,
                         team=desk.teams["Senior Support"].id, agent=desk.tech.id,
                         priority=desk.priorities["normal"].id)
        response = client.get(url, headers={"HX-Request": "true"} if partial else {})
        assert response.status_code == 200, f"{name}: {response.status_code}"
        html = response.get_data(as_text=True)
        assert_no_live_markup(html, name)
        for field in shown:
            assert marker(field) in html, f"{name} should show the {field} (the check would prove nothing)"

    # Every mail the desk wrote: no live markup in the HTML part, no line break in the subject.
    rows = list(db.session.scalars(select(OutboxMail)))
    assert len(rows) >= 8
    for row in rows:
        assert_no_live_markup(row.body_html, f"mail {row.event} to {row.recipient}", allow_own_assets=False)
        assert "\n" not in row.subject and "\r" not in row.subject
    bodies = " ".join(row.body_html for row in rows)
    for field in ("subject", "reply", "question", "resolution", "customer_reply", "description", "mail_template"):
        assert marker(field) in bodies
    assert marker("note") not in " ".join(r.body_html + r.body_text for r in rows if "@example.net" in r.recipient)


def test_the_check_fails_on_a_vulnerable_template(app):
    """The checker itself: a template that marks user data |safe is caught for every payload."""
    for payload in XSS_PAYLOADS:
        value = hostile(payload, "subject")
        safe = render_template_string("<p>{{ v }}</p>", v=value)
        assert not live_markup(safe), payload
        if payload.startswith("[link]") or payload.startswith("{{"):
            continue  # Markdown / template syntax: only live after rendering, checked below
        in_text = render_template_string("<p>{{ v|safe }}</p>", v=value)
        in_attribute = render_template_string('<input value="{{ v|safe }}">', v=value)
        assert live_markup(in_text) or live_markup(in_attribute), f"the checker missed {payload!r}"
        assert not live_markup(render_template_string('<input value="{{ v }}">', v=value))


def test_rendered_markdown_keeps_no_live_link(app):
    from helpdesk.text import render_body

    for payload in XSS_PAYLOADS:
        assert_no_live_markup(render_body(hostile(payload, "body")), payload)
    # A plain Markdown renderer (what the sanitiser prevents) would have made the link live.
    from markdown_it import MarkdownIt

    raw = MarkdownIt("commonmark", {"html": True}).render("[link](javascript:alert(1)) <img src=x onerror=alert(1)>")
    assert live_markup(raw)


def test_remote_images_are_not_loaded_from_messages(app):
    from helpdesk.text import render_body

    html = render_body("![tracker](https://evil.example/pixel.png) <img src=https://evil.example/p.png>")
    assert "<img" not in html and not live_markup(html)
    assert "&lt;img src=https://evil.example/p.png&gt;" in html  # shown as the text it was


class _Links(HTMLParser):
    """(target, visible text) of every link in a page or mail."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.links, self._open = [], None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open = [dict(attrs).get("href") or "", ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append((self._open[0], self._open[1].strip()))
            self._open = None


DECEPTIVE = "Please sign in here: [https://desk.example/agent/login](https://evil.example/phish) to see it."


def assert_honest(markup: str, where: str) -> None:
    """The evil target is shown as text, and no link shows the desk's address over another target."""
    links = _Links(markup).links
    assert ("https://evil.example/phish", "https://evil.example/phish") in links, (where, links)
    assert not [(href, text) for href, text in links if "desk.example" in text and "desk.example" not in href], where


def test_a_link_whose_text_is_another_address_shows_its_real_target(app, client, desk, inbox, login):
    """A customer's link that shows one address and goes to another (the desk's sign-in page over
    a phishing site) shows where it really goes, on the agent's page, the customer's page and in
    the agents' alert mail (whose customer text is marked as the customer's)."""
    check_links_show_their_target(client, desk, inbox, login)


def test_the_link_check_fails_when_links_are_rendered_as_written(app, client, desk, inbox, login, monkeypatch):
    """The check's vulnerable variant: Markdown links rendered as the writer wrote them."""
    from helpdesk import text

    monkeypatch.setattr(text, "_honest_links", lambda tokens: None)
    with pytest.raises(AssertionError):
        check_links_show_their_target(client, desk, inbox, login)


def check_links_show_their_target(client, desk, inbox, login) -> None:
    topic = desk.topics["General inquiry"]
    response = client.post("/new", data={
        "name": "Mallory", "email": "mallory@example.net", "topic": str(topic.id),
        "subject": "Invoice question", "description": DECEPTIVE, "idempotency_key": "d" * 20,
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    ticket = db.session.scalar(select(Ticket))
    portal = client.get(f"/t/{access_token(ticket)}").get_data(as_text=True)
    assert_honest(portal, "portal ticket")
    assert "https://desk.example/agent/login (" in portal
    login(desk.tech)
    assert_honest(client.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True), "agent ticket")
    inbox.deliver()
    alerts = [m for m in inbox.messages if "New ticket" in str(m["Subject"])]
    assert alerts
    for mail in alerts:
        assert_honest(inbox.html(mail), "alert mail (HTML)")
        text = inbox.text(mail).replace("\r\n", "\n")
        assert "Message from the customer, Mallory <mallory@example.net>, as they wrote it:\n> Please sign in" in text
        assert "https://evil.example/phish" in text
        assert "Message from the customer, Mallory &lt;mallory@example.net&gt;, as they wrote it:" in inbox.html(mail)
    # An honest link (its text is its own address, or plain words) stays a link as written.
    from helpdesk.text import render_body

    for honest in ("[https://desk.example/x](https://desk.example/x/)", "[our page](https://desk.example)"):
        assert len(_Links(render_body(honest)).links) == 1 and " (" not in render_body(honest)
    # An address among words counts too.
    assert_honest(render_body("[Sign in at https://desk.example/agent/login](https://evil.example/phish)"), "words")
