"""Which mail each ticket event causes, and to whom. Mails are written to the outbox only;
the outbox sender delivers them outside any web request.

Customers get: acknowledgement, assignment, replies and questions, escalation, resolution,
closing, reopening, access links, and a copy of what someone on copy writes. Agents get:
new-ticket alerts, assignments, customer replies, escalations to their team, transfers; managers
who ask for it, a weekly summary of their reports.
Internal notes are never mailed to customers.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from contextvars import ContextVar

from flask import render_template
from sqlalchemy import delete, func, insert, or_, select

from .. import settings
from ..extensions import db
from ..models import Agent, Collaborator, OutboxMail, PasswordResetRequest, Team, Ticket, agent_departments
from ..security.tokens import reset_token
from ..security.totp import RECOVERY_FEW
from ..text import one_line
from . import render, wording
from .addresses import desk_domain, is_own_address, ticket_message_id
from .links import agent_link, collaborator_link, customer_link, external_url


def active_collaborators(ticket: Ticket) -> list:
    if ticket.id is None:
        return []
    return list(db.session.scalars(
        select(Collaborator).where(Collaborator.ticket_id == ticket.id, Collaborator.active.is_(True))
        .order_by(Collaborator.id)
    ))


_MUTED: ContextVar[bool] = ContextVar("outbox_muted", default=False)


@contextmanager
def muted():
    """Inside, ticket events queue no mail: for a made-up past (the demo desk's tickets), whose
    customers and agents must never be mailed about it, then or later."""
    token = _MUTED.set(True)
    try:
        yield
    finally:
        _MUTED.reset(token)


def _queue(ticket: Ticket, event: str, recipient: str, template: str, **context) -> None:
    """One mail of a kind (wording.KINDS): its subject and opening message are the
    admin's wording for that kind, else the kind's built-in wording. The subject is stored now;
    the body is rendered when the mail is sent, from what the mail shows as it is now (render.py)."""
    if not recipient or is_own_address(recipient) or _MUTED.get():
        return
    if ticket.id is None:
        db.session.flush()
    context.update(desk_name=settings.get("desk_name"), reopen_days=settings.get("reopen_days"))
    subject, words = wording.apply(ticket, template, context)
    subject = one_line(f"[#{ticket.number}] {subject}", 250)
    _insert({
        "ticket_id": ticket.id,
        "event": event,
        "recipient": recipient,
        "subject": subject,
        "kind": template,
        "context": render.freeze(ticket, context, words.get("message")),
        "message_id": ticket_message_id(ticket.number, recipient),
    })


_BATCH: ContextVar[list | None] = ContextVar("outbox_batch", default=None)


def _insert(row: dict) -> None:
    """Queue one outbox row: a plain INSERT (nothing reads the row back in the transaction, so
    the session need not track it), or one INSERT for all the rows of a `_batched()` block."""
    batch = _BATCH.get()
    if batch is not None:
        batch.append(row)
    else:
        db.session.execute(insert(OutboxMail), [row])


@contextmanager
def _batched():
    """The mails queued inside go in with one statement, at the end of the block."""
    if _BATCH.get() is not None:  # inside another batch: that one inserts them
        yield
        return
    rows: list[dict] = []
    token = _BATCH.set(rows)
    try:
        yield
    finally:
        _BATCH.reset(token)
    if rows:
        db.session.execute(insert(OutboxMail), rows)


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
    link = agent_link(ticket)
    with _batched():
        for agent in agents:
            if agent is None or not agent.active or agent.id in seen or (exclude and agent.id == exclude.id):
                continue
            seen.add(agent.id)
            _queue(ticket, event, agent.email, template, link=link, name=agent.name, **context)
            sent.append(agent.email)
    return sent


def _department_agents(ticket: Ticket) -> list[Agent]:
    """The department's manager first, then its active agents by id: one query."""
    manager_id = ticket.department.manager_id if ticket.department is not None else None
    members = select(agent_departments.c.agent_id).where(agent_departments.c.department_id == ticket.department_id)
    agents = db.session.scalars(
        select(Agent).where(or_(Agent.id.in_(members), Agent.id == manager_id) if manager_id is not None
                            else Agent.id.in_(members))
        .order_by(Agent.id)
    ).all()
    manager = next((a for a in agents if a.id == manager_id), None)
    return ([manager] if manager is not None else []) + [a for a in agents if a.active]


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
# Each event names its kinds of mail; their subjects are written once, in wording.KINDS.


def ticket_created(ticket: Ticket, acknowledge: bool = True) -> None:
    with _batched():
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


def handed_back(ticket: Ticket, team: Team | None, actor: Agent, note: str) -> None:
    """The escalation ended: the assignee hears what the team found (unless they ended it)."""
    if ticket.assignee is not None:
        _to_agents(ticket, "handed_back", [ticket.assignee], "handed_back_agent", exclude=actor, team=team,
                   actor=actor, note=note)


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


def rule_mail(ticket: Ticket, recipient: str, subject: str, message: str) -> None:
    """An automation rule's mail to someone, in the rule's words (placeholders filled now). An
    agent gets the ticket's link; anyone else, its facts only."""
    if not recipient or is_own_address(recipient) or _MUTED.get():
        return
    desk_name = settings.get("desk_name")
    filled = wording.values(ticket, {"desk_name": desk_name})
    agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == recipient.lower(),
                                                  Agent.active.is_(True)))
    context = {"desk_name": desk_name, "name": agent.name if agent else recipient,
               "link": agent_link(ticket) if agent else None}
    _insert({
        "ticket_id": ticket.id, "event": "rule_mail", "recipient": recipient,
        "subject": one_line(f"[#{ticket.number}] {wording.fill(subject, filled)}", 250),
        "kind": "rule_mail", "context": render.freeze(ticket, context, wording.fill(message, filled)),
        "message_id": ticket_message_id(ticket.number, recipient),
    })


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
        message_id=f"<{secrets.token_hex(12)}.{event.replace('_', '-')}@{desk_domain()}>",
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
    _to_account(agent, "recovery_code_used", "A recovery code was used to sign in to {desk_name}",
                "recovery_code_used_agent", left=left, few=RECOVERY_FEW, ip=ip or "unknown", when=when,
                account_link=external_url("account.index"))


def two_factor_off(agent: Agent, ip: str | None, when) -> None:
    """The agent turned two-factor sign-in off on their account page: when, and from where."""
    _to_account(agent, "two_factor_off", "Two-factor sign-in was turned off for you at {desk_name}",
                "two_factor_off_agent", ip=ip or "unknown", when=when, account_link=external_url("account.index"))


def weekly_report(agent: Agent, period: str, **context) -> None:
    """A manager's weekly summary of their reports (helpdesk/reports/weekly.py gives the figures)."""
    _to_account(agent, "weekly_report", f"{{desk_name}} weekly summary: {period}", "weekly_report_agent",
                period=period, account_link=external_url("account.index") + "#weekly-report", **context)


def mail_reset_links(limit: int = 50) -> int:
    """The outbox sender's first step each round: for each recorded request, queue a reset link
    if the address is an active agent's, else nothing; return how many were queued. A request is
    taken by deleting its row, in the transaction that queues its mail, so when several senders
    run at once each request is handled once."""
    queued = 0
    pending = db.session.execute(select(PasswordResetRequest.id, PasswordResetRequest.email)
                                 .order_by(PasswordResetRequest.id).limit(limit)).all()
    for request_id, email in pending:
        taken = db.session.execute(delete(PasswordResetRequest).where(PasswordResetRequest.id == request_id))
        if taken.rowcount != 1:
            db.session.rollback()
            continue
        agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == email))
        if agent is not None and agent.active:
            password_reset(agent, external_url("account.reset", token=reset_token(agent)))
            queued += 1
        db.session.commit()
    return queued
