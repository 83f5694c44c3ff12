"""Which mail each ticket event causes, and to whom. Mails are written to the outbox only;
the outbox sender delivers them outside any web request.

Customers get: acknowledgement, assignment, replies and questions, escalation, resolution,
closing, reopening, access links, and a copy of what someone on copy writes. Agents get:
new-ticket alerts, assignments, customer replies, escalations to their team, transfers.
Internal notes are never mailed to customers.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from email.utils import parseaddr

from flask import current_app, render_template
from sqlalchemy import select

from . import mail_templates, settings
from .extensions import db
from .models import Agent, OutboxMail, Team, Ticket, agent_departments
from .text import one_line


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail, from HELPDESK_BASE_URL (works outside a request too)."""
    adapter = current_app.url_map.bind("localhost", url_scheme="http")
    return current_app.config["HELPDESK_BASE_URL"] + adapter.build(endpoint, values)


def customer_link(ticket: Ticket) -> str:
    from .security import access_token

    return external_url("portal.ticket", token=access_token(ticket))


def collaborator_link(collaborator) -> str:
    from .security import collaborator_token

    return external_url("portal.ticket", token=collaborator_token(collaborator))


def active_collaborators(ticket: Ticket) -> list:
    from .models import Collaborator

    if ticket.id is None:
        return []
    return list(db.session.scalars(
        select(Collaborator).where(Collaborator.ticket_id == ticket.id, Collaborator.active.is_(True))
        .order_by(Collaborator.id)
    ))


def agent_link(ticket: Ticket) -> str:
    return external_url("agent.ticket", number=ticket.number)


def _domain() -> str:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    address = parseaddr(sender if isinstance(sender, str) else sender[1])[1]
    return address.rpartition("@")[2] or "helpdesk.invalid"


def is_own_address(recipient: str) -> bool:
    """The desk's own sending address: never mailed (no loops, no auto-replies to ourselves)."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    own = parseaddr(sender if isinstance(sender, str) else sender[1])[1].strip().lower()
    return bool(own) and parseaddr(recipient or "")[1].strip().lower() == own


# The desk's Message-IDs for ticket mail: <nonce.NUMBER.signature@domain>. The signature (HMAC
# with a key derived from SECRET_KEY) covers the nonce, the ticket number and the recipient, so
# only the desk can make one, and an answer that quotes it proves it comes from a mailbox the desk
# wrote to about that ticket (see mailin.mail_speaks_for). It is checked by computation, so it
# works once the outbox is pruned too.
# Short enough that the header is not folded: nonce and signature of 64 bits each.
_SIGNED_MSGID = re.compile(r"^<([0-9a-f]{16})\.([A-Z0-9]{4,12})\.([0-9a-f]{16})@[^<>\s]+>$")


def _msgid_signature(nonce: str, number: str, recipient: str) -> str:
    key = hashlib.sha256(b"helpdesk: message-id v1\0" + current_app.config["SECRET_KEY"].encode("utf-8")).digest()
    recipient = parseaddr(recipient or "")[1].strip().lower()
    return hmac.new(key, f"{nonce}.{number}.{recipient}".encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def ticket_message_id(number: str, recipient: str) -> str:
    """A new signed Message-ID for a mail about ticket `number` to `recipient`."""
    nonce = secrets.token_hex(8)
    return f"<{nonce}.{number}.{_msgid_signature(nonce, number, recipient)}@{_domain()}>"


def signed_ticket_number(message_id: str, recipient: str) -> str | None:
    """The ticket number of a Message-ID the desk made for a mail to `recipient`, else None (not
    the desk's, or made for someone else: the same shape proves nothing)."""
    match = _SIGNED_MSGID.match(message_id or "")
    if match is None:
        return None
    nonce, number, signature = match.groups()
    if not hmac.compare_digest(signature, _msgid_signature(nonce, number, recipient)):
        return None
    return number


def _queue(ticket: Ticket, event: str, recipient: str, template: str, **context) -> None:
    """One mail of a kind (mail_templates.KINDS): its subject and opening message are the
    admin's wording for that kind, else the kind's built-in wording."""
    if not recipient or is_own_address(recipient):
        return
    if ticket.id is None:
        db.session.flush()
    context.update(ticket=ticket, desk_name=settings.get("desk_name"), reopen_days=settings.get("reopen_days"))
    subject, wording = mail_templates.apply(ticket, template, context)
    subject = one_line(f"[#{ticket.number}] {subject}", 250)
    db.session.add(
        OutboxMail(
            ticket_id=ticket.id,
            event=event,
            recipient=recipient,
            subject=subject,
            body_text=render_template(f"email/{template}.txt", **context, message=wording.get("message")),
            body_html=render_template(f"email/{template}.html", **context, message=wording.get("message_html")),
            message_id=ticket_message_id(ticket.number, recipient),
        )
    )


def _to_customer(ticket, event, template, cc=False, **context):
    """Mail the customer; with cc, also everyone on copy, each with their own link."""
    _queue(ticket, event, ticket.customer.email, template,
           link=customer_link(ticket), name=ticket.customer.name, **context)
    if not cc:
        return
    for collab in active_collaborators(ticket):
        _queue(ticket, event, collab.email, template, link=collaborator_link(collab),
               name=collab.name, collaborator=collab, **context)


def _to_agents(ticket, event, agents, template, exclude=None, **context) -> list[str]:
    seen = set()
    sent = []
    for agent in agents:
        if agent is None or not agent.active or agent.id in seen or (exclude and agent.id == exclude.id):
            continue
        seen.add(agent.id)
        _queue(ticket, event, agent.email, template,
               link=agent_link(ticket), name=agent.name, **context)
        sent.append(agent.email)
    return sent


def _department_agents(ticket: Ticket) -> list[Agent]:
    members = db.session.scalars(
        select(Agent).join(agent_departments).where(
            agent_departments.c.department_id == ticket.department_id, Agent.active.is_(True)
        ).order_by(Agent.id)
    ).all()
    manager = ticket.department.manager
    return ([manager] if manager else []) + list(members)


def _team_agents(team: Team) -> list[Agent]:
    return ([team.lead] if team.lead else []) + list(team.members)


def _responsible(ticket: Ticket) -> list[Agent]:
    """Who hears about a customer's message: the assignee, else the team, else the department."""
    if ticket.assignee and ticket.assignee.active:
        return [ticket.assignee]
    if ticket.team:
        return _team_agents(ticket.team)
    return _department_agents(ticket)


# --- events ----------------------------------------------------------------------------------
# Each event names its kinds of mail; their subjects are written once, in mail_templates.KINDS.


def ticket_created(ticket: Ticket, acknowledge: bool = True) -> None:
    if acknowledge:
        _to_customer(ticket, "created", "created_customer")
    _to_agents(ticket, "created", _department_agents(ticket), "created_agent",
               entry=ticket.entries[0] if ticket.entries else None)


def assigned(ticket: Ticket, agent: Agent, actor: Agent | None) -> None:
    _to_agents(ticket, "assigned", [agent], "assigned_agent", exclude=actor, actor=actor)
    if actor is None:  # auto-assigned at intake: the acknowledgement just went out
        return
    _to_customer(ticket, "assigned", "assigned_customer", agent=agent)


def claimed(ticket: Ticket, agent: Agent) -> None:
    _to_customer(ticket, "assigned", "assigned_customer", agent=agent)


def team_assigned(ticket: Ticket, team: Team, actor: Agent | None, by: str | None = None) -> None:
    _to_agents(ticket, "team_assigned", _team_agents(team), "team_agent", exclude=actor, team=team, actor=actor,
               by=by)


def transferred(ticket: Ticket, actor: Agent) -> None:
    dept = ticket.department
    recipients = [dept.manager] if dept.manager else _department_agents(ticket)
    _to_agents(ticket, "transferred", recipients, "transferred_agent", exclude=actor, actor=actor)


def agent_replied(ticket: Ticket, entry) -> None:
    _to_customer(ticket, "reply", "reply_customer", entry=entry, cc=True)


def info_requested(ticket: Ticket, entry) -> None:
    _to_customer(ticket, "info_requested", "info_requested_customer", entry=entry, cc=True)


def escalated(ticket: Ticket, team: Team, actor: Agent, note: str) -> None:
    _to_agents(ticket, "escalated", _team_agents(team), "escalated_agent", exclude=actor, team=team, actor=actor,
               note=note)
    _to_customer(ticket, "escalated", "escalated_customer", team=team, cc=True)


def resolved(ticket: Ticket, entry) -> None:
    _to_customer(ticket, "resolved", "resolved_customer", entry=entry, cc=True)


def closed(ticket: Ticket, actor: Agent | None, automatic: bool = False) -> None:
    _to_customer(ticket, "closed", "closed_customer", cc=True)
    if actor is None and not automatic and ticket.assignee:
        _to_agents(ticket, "closed", [ticket.assignee], "closed_agent")


def reopened(ticket: Ticket, agent: Agent | None) -> None:
    _to_customer(ticket, "reopened", "reopened_customer", cc=True)


def customer_replied(ticket: Ticket, entry, reopened: bool = False) -> None:
    """The customer's or a collaborator's message: the agents are alerted (a reply to a finished
    ticket reopens it: a kind of mail of its own, with its own wording); a collaborator's message
    also goes to the customer (the ticket is theirs). Notes never come here."""
    _to_agents(ticket, "customer_replied", _responsible(ticket),
               "customer_reopened_agent" if reopened else "customer_replied_agent", entry=entry, reopened=reopened)
    collaborator = getattr(entry, "collaborator", None)
    if collaborator is not None and entry.is_public and collaborator.email != ticket.customer.email:
        _queue(ticket, "collaborator_message", ticket.customer.email, "collaborator_message_customer",
               link=customer_link(ticket), name=ticket.customer.name, entry=entry)


def overdue(ticket: Ticket, target: str, due, escalation: list[str]) -> list[str]:
    """The overdue alert: to the assignee and the department manager (else whoever is
    responsible for the ticket). Returns the addresses it went to."""
    recipients = [a for a in (ticket.assignee, ticket.department.manager) if a is not None and a.active]
    return _to_agents(ticket, "overdue", recipients or _responsible(ticket), "overdue_agent",
                      target=target, due=due, escalation=escalation)


def access_link(ticket: Ticket) -> None:
    _to_customer(ticket, "access_link", "access_link_customer")


def _to_account(agent: Agent, event: str, subject: str, template: str, **context) -> None:
    """A mail about the agent's own account (not about a ticket); `{desk_name}` in the subject is
    the desk's name as the admin set it, as in every other mail."""
    if is_own_address(agent.email):
        return
    desk_name = settings.get("desk_name")
    subject = subject.format(desk_name=desk_name)
    context.update(name=agent.name, desk_name=desk_name)
    db.session.add(OutboxMail(
        ticket_id=None, event=event, recipient=agent.email, subject=one_line(subject, 250),
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
        message_id=f"<{secrets.token_hex(12)}.{event.replace('_', '-')}@{_domain()}>",
    ))


def password_reset(agent: Agent, link: str) -> None:
    """The link that lets an agent choose a new password."""
    _to_account(agent, "password_reset", "Choose a new password for {desk_name}", "password_reset_agent",
                link=link)


def two_factor_reset(agent: Agent, actor: Agent, required: bool) -> None:
    """An admin reset the agent's two-factor sign-in: say who, what stopped working, what next."""
    _to_account(agent, "two_factor_reset", "Your two-factor sign-in at {desk_name} was reset",
                "two_factor_reset_agent", actor=actor, required=required,
                link=external_url("auth.login"), account_link=external_url("account.index"))


def recovery_code_used(agent: Agent, left: int, ip: str | None, when) -> None:
    """Someone signed in as the agent with a recovery code: when, from where, how many are left."""
    from .twofactor import RECOVERY_FEW

    _to_account(agent, "recovery_code_used", "A recovery code was used to sign in to {desk_name}",
                "recovery_code_used_agent", left=left, few=RECOVERY_FEW, ip=ip or "unknown", when=when,
                account_link=external_url("account.index"))


def two_factor_off(agent: Agent, ip: str | None, when) -> None:
    """The agent turned two-factor sign-in off on their account page: when, and from where."""
    _to_account(agent, "two_factor_off", "Two-factor sign-in was turned off for you at {desk_name}",
                "two_factor_off_agent", ip=ip or "unknown", when=when, account_link=external_url("account.index"))
