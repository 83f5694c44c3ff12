"""The wording of the desk's mails that admins may change: per kind of mail, the subject and the
opening message. Everything else in a mail (the greeting, the quoted reply, the ticket's facts,
the link to the ticket and the footer) stays the built-in template's, so no wording can break
or remove a customer's link.

Placeholders are `{name}` from a short fixed list per kind of mail, filled with plain strings
by a regular expression: no attribute access, no format specs, no template language. Saving
text with any other `{...}` is refused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import MailTemplate
from ..text import format_datetime, one_line
from .links import external_url

SUBJECT_MAX = 200
MESSAGE_MAX = 5000

# Every mail about a ticket can use these.
COMMON = {
    "ticket_number": "The ticket's number",
    "subject": "The ticket's subject",
    "customer_name": "The customer's name",
    "agent_name": "The agent it is about (who replied, or is assigned)",
    "desk_name": "The desk's name",
    "status": "The ticket's status",
    "priority": "The ticket's priority",
    "department": "The ticket's department",
    "topic": "The ticket's help topic",
    "due": "When the ticket is due",
}
EXTRA = {
    "team_name": "The team it went to",
    "target": "Which target was missed (resolution or first response)",
    "collaborator_name": "Who on copy wrote",
}


@dataclass(frozen=True)
class Kind:
    key: str  # the built-in template: templates/email/<key>.{txt,html}
    title: str
    audience: str  # "customer" or "agent"
    when: str
    builtin_subject: str  # in placeholders: what notify.py sends unless an admin wrote another
    extra: tuple[str, ...] = ()
    to: str = ""  # who gets it, when not the audience's usual people

    @property
    def placeholders(self) -> list[str]:
        return list(COMMON) + list(self.extra)

    @property
    def recipients(self) -> str:
        if self.to:
            return self.to
        return "The customer (and everyone on copy)" if self.audience == "customer" else "Agents"


# Every mail about a ticket is one of these kinds: template, title, recipients, when it is sent and
# its built-in subject (the only place it is written; notify.py sends it, the admin's page shows it).
KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("created_customer", "Request received", "customer",
         "A customer opens a ticket.",
         "We received your request: {subject}"),
    Kind("assigned_customer", "Agent assigned", "customer",
         "An agent takes on the customer's ticket.",
         "{agent_name} is handling your request"),
    Kind("reply_customer", "Agent replied", "customer",
         "An agent replies.",
         "Re: {subject}"),
    Kind("info_requested_customer", "Information requested", "customer",
         "An agent asks the customer for more information.",
         "We need more information: {subject}"),
    Kind("escalated_customer", "Request escalated", "customer",
         "The ticket is escalated to a team.",
         "Your request was passed to our specialists", ("team_name",)),
    Kind("resolved_customer", "Request resolved", "customer",
         "An agent resolves the ticket.",
         "Resolved: {subject}"),
    Kind("closed_customer", "Request closed", "customer",
         "The ticket is closed.",
         "Closed: {subject}"),
    Kind("reopened_customer", "Request reopened", "customer",
         "The ticket is reopened.",
         "Reopened: {subject}"),
    Kind("access_link_customer", "Access link", "customer",
         "An agent sends the customer a new link.",
         "Your link to request {subject}"),
    Kind("collaborator_message_customer", "Message from someone on copy", "customer",
         "Someone on copy writes on the ticket (by mail or on its page).",
         "{collaborator_name} wrote on your request: {subject}", ("collaborator_name",), to="The customer"),
    Kind("created_agent", "New ticket", "agent",
         "A ticket comes in (to the department's agents).",
         "New ticket: {subject}"),
    Kind("assigned_agent", "Assigned to you", "agent",
         "A ticket is assigned to an agent.",
         "Assigned to you: {subject}"),
    Kind("team_agent", "Assigned to your team", "agent",
         "A ticket is assigned to a team.",
         "Assigned to {team_name}: {subject}", ("team_name",)),
    Kind("transferred_agent", "Transferred", "agent",
         "A ticket moves to another department.",
         "Transferred to {department}: {subject}"),
    Kind("customer_replied_agent", "Customer replied", "agent",
         "The customer (or someone on copy) replies to an unfinished ticket.",
         "Customer replied: {subject}"),
    Kind("customer_reopened_agent", "Reopened by the customer", "agent",
         "The customer (or someone on copy) replies to a resolved or closed ticket, which reopens it.",
         "Reopened by the customer: {subject}"),
    Kind("escalated_agent", "Escalated to your team", "agent",
         "A ticket is escalated to a team.",
         "Escalated to {team_name}: {subject}", ("team_name",)),
    Kind("handed_back_agent", "Escalation handed back", "agent",
         "The team a ticket was escalated to hands it back (to the ticket's assignee).",
         "Handed back by {team_name}: {subject}", ("team_name",)),
    Kind("overdue_agent", "Overdue", "agent",
         "A ticket misses its SLA target.",
         "Overdue ({target}): {subject}", ("target",)),
    Kind("closed_agent", "Closed by the customer", "agent",
         "The customer confirms the resolution.",
         "Closed by the customer: {subject}"),
)}

# Kinds of mail whose whole wording is written where they are sent from (an automation rule's
# "mail someone"), not on the mail templates page.
OWN_WORDING = {"rule_mail": "A rule's mail to someone about a ticket"}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_BRACED = re.compile(r"\{([^{}]*)\}")


def unknown_placeholders(kind: Kind, text: str) -> list[str]:
    """Every `{...}` in the text that is not one of the kind's placeholders."""
    return unknown_among(kind.placeholders, text)


def unknown_among(names, text: str) -> list[str]:
    """Every `{...}` in the text that is not one of these placeholder names."""
    allowed = set(names)
    found = []
    for match in _BRACED.finditer(text or ""):
        if match.group(1) not in allowed and match.group(0) not in found:
            found.append(match.group(0))
    return found


def allowed_text(kind: Kind) -> str:
    return ", ".join("{" + name + "}" for name in kind.placeholders)


def fill(text: str, values: dict[str, str]) -> str:
    """Put each value in place of its placeholder; anything else stays as it was written."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), text)


def as_html(text: str) -> Markup:
    """Plain text as HTML: escaped as a whole; blank lines part paragraphs, line breaks stay."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in p.split("\n")))
        for p in paragraphs if p.strip()
    )


def subject_text(value: str) -> str:
    return one_line(value, SUBJECT_MAX)


def values(ticket, context: dict) -> dict[str, str]:
    """The placeholders' values for a mail about this ticket (plain strings)."""
    entry = context.get("entry")
    agent = (context.get("agent") or (entry.agent if entry is not None and getattr(entry, "agent", None) else None)
             or context.get("actor") or ticket.assignee)
    due = context.get("due") or ticket.due_at
    team = context.get("team")
    return {
        "ticket_number": str(ticket.number),
        "subject": ticket.subject or "",
        "customer_name": ticket.customer.name if ticket.customer else "",
        "agent_name": agent.name if agent is not None else "our team",
        "desk_name": str(context.get("desk_name") or ""),
        "status": ticket.status_label,
        "priority": ticket.priority.name if ticket.priority else "",
        "department": ticket.department.name if ticket.department else "",
        "topic": ticket.topic.name if ticket.topic else "-",
        "due": format_datetime(due) if due else "no due time",
        "team_name": team.name if team is not None else "",
        "target": str(context.get("target") or ""),
        "collaborator_name": entry.collaborator.name if entry is not None and getattr(entry, "collaborator", None)
        else "",
    }


_OVERRIDES = "helpdesk_mail_templates"


def override(key: str) -> MailTemplate | None:
    """The admin's wording of a kind, if any. All of it is read in one query per transaction
    (a request that queues five mails asks once), and read again after any change to it."""
    if key not in KINDS:
        return None
    cached = db.session.info.get(_OVERRIDES)
    if cached is None or cached[0] is None or cached[0] is not db.session().get_transaction():
        rows = {row.key: row for row in db.session.scalars(select(MailTemplate))}
        # Taken after the query, which begins the transaction when none is open.
        cached = db.session.info[_OVERRIDES] = (db.session().get_transaction(), rows)
    return cached[1].get(key)


def forget_overrides() -> None:
    db.session.info.pop(_OVERRIDES, None)


def apply(ticket, template: str, context: dict) -> tuple[str, dict]:
    """The subject and the extra template context for one mail of a kind: the admin's wording,
    else the built-in one. The context carries `message` as plain text (for the .txt part) and
    `message_html`, only when the admin wrote a message."""
    kind = KINDS[template]
    row = override(template)
    allowed = set(kind.placeholders)
    filled = {name: value for name, value in values(ticket, context).items() if name in allowed}
    if row is None or not row.subject:
        subject = fill(kind.builtin_subject, filled)
    else:
        subject = subject_text(fill(row.subject, filled))
    if row is None or not row.message:
        return subject, {}
    text = fill(row.message, filled)
    return subject, {"message": text, "message_html": as_html(text)}


def save(key: str, subject: str, message: str) -> tuple[MailTemplate | None, list[tuple[str, str, str]]]:
    """Store the wording (empty fields: the built-in one); returns the row and the changes."""
    forget_overrides()
    row = db.session.get(MailTemplate, key)
    old = (row.subject or "", row.message or "") if row else ("", "")
    new = (subject_text(subject or ""), (message or "").replace("\r\n", "\n").strip())
    changes = [(field, before, after) for field, before, after in zip(("subject", "message"), old, new)
               if before != after]
    if not changes:
        return row, []
    if not any(new):
        if row is not None:
            db.session.delete(row)
        return None, changes
    if row is None:
        row = MailTemplate(key=key)
        db.session.add(row)
    row.subject, row.message, row.updated_at = new[0] or None, new[1] or None, clock.utcnow()
    return row, changes


# --- the preview ------------------------------------------------------------------------------


# The preview's ticket number, in the form real ones take (six characters of
# tickets.intake._NUMBER_ALPHABET), so a wording is judged as customers will read it.
SAMPLE_NUMBER = "K4TR7M"


def sample_context(kind: Kind, desk_name: str) -> dict:
    """A made-up ticket and its people, for previews: nothing is read from or added to the database."""
    from datetime import timedelta
    from types import SimpleNamespace as NS

    agent = NS(name="Alex Agent", email="alex@example.com")
    customer = NS(name="Kim Customer", email="kim@example.net")
    team = NS(name="Second Line")
    ticket = NS(
        number=SAMPLE_NUMBER, subject="The printer on floor 2 jams", status="open", status_label="Open",
        customer=customer, assignee=agent, topic=NS(name="Hardware"), priority=NS(name="Normal"),
        department=NS(name="Support"), sla=NS(name="Standard"), due_at=clock.utcnow() + timedelta(hours=20),
    )
    entry = NS(agent=agent, collaborator=None, attachments=[],
               body="Could you send us a photo of the printer's display?",
               body_html="<p>Could you send us a photo of the printer's display?</p>")
    if kind.key in ("created_agent", "customer_replied_agent", "customer_reopened_agent"):
        entry = NS(agent=None, collaborator=None, attachments=[], body="The printer shows error E-42.",
                   body_html="<p>The printer shows error E-42.</p>")
    if kind.key == "collaborator_message_customer":
        entry = NS(agent=None, collaborator=NS(name="Pat Partner", email="pat@example.org"), attachments=[],
                   body="The printer shows error E-42.", body_html="<p>The printer shows error E-42.</p>")
    customer_mail = kind.audience == "customer"
    link = external_url("portal.ticket", token="sample-link") if customer_mail else \
        external_url("agent.ticket", number=ticket.number)
    return {
        "ticket": ticket, "entry": entry, "agent": agent, "actor": agent, "team": team, "by": None,
        "note": "Needs a technician on site.", "target": "resolution", "due": ticket.due_at,
        "escalation": [], "reopened": kind.key == "customer_reopened_agent",
        "name": customer.name if customer_mail else agent.name,
        "link": link, "desk_name": desk_name, "reopen_days": 14,
    }


def preview(kind: Kind, subject: str, message: str, desk_name: str) -> dict:
    """The mail a sample ticket would get with this wording (empty fields: the built-in one)."""
    from flask import render_template

    context = sample_context(kind, desk_name)
    filled = {name: value for name, value in values(context["ticket"], context).items()
              if name in kind.placeholders}
    subject = subject_text(fill(subject or kind.builtin_subject, filled))
    text = fill(message, filled) if message else None
    return {
        "subject": one_line(f"[#{context['ticket'].number}] {subject}", 250),
        "text": render_template(f"email/{kind.key}.txt", **context, message=text),
        "html": render_template(f"email/{kind.key}.html", **context,
                                message=as_html(text) if text else None),
        "message_html": as_html(text) if text else None,
    }
