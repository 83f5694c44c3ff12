"""The rows tests make, built through the product's own code, so that no factory can make a state
the desk could not reach: a ticket is opened the way a channel opens one (tickets.open_ticket)
and walked to the status asked for through the lifecycle's own transitions; the configuration
rows (API keys, mailboxes, queued mail, two-factor sign-in) are made as the admin pages, the
account page and the mail code make them.

Each factory works in the test's app context and commits, as the code it stands for does. A
topic, department or team given by name is looked up on the desk (the demo desk of the `desk`
fixture); numbered defaults (customer addresses, subjects) start from 1 in each test.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select

from helpdesk import clock, tickets
from helpdesk.extensions import db
from helpdesk.models import (
    ROLE_RANK,
    Agent,
    ApiKey,
    Department,
    HelpTopic,
    Mailbox,
    OutboxMail,
    Team,
    Ticket,
    Webhook,
    hash_api_key,
)
from helpdesk.security import totp as twofactor

STATUSES = ("new", "open", "pending", "escalated", "resolved", "closed")

_numbers = itertools.count(1)


def restart_numbering() -> None:
    """Number the next test's defaults from 1 again (the `app` fixture calls it)."""
    global _numbers
    _numbers = itertools.count(1)


def _named(model, value):
    """A row given as itself or by its name."""
    if not isinstance(value, str):
        return value
    row = db.session.scalar(select(model).where(model.name == value))
    if row is None:
        raise LookupError(f"no {model.__name__} named {value!r} on this desk")
    return row


# --- tickets --------------------------------------------------------------------------------------


def make_ticket(status: str | None = None, *, topic: HelpTopic | str = "General inquiry", name: str = "Ken Customer",
                email: str | None = None, subject: str | None = None, body: str = "It does not work.",
                by: Agent | None = None, team: Team | str | None = None, at: datetime | None = None,
                **channel) -> Ticket:
    """A ticket opened as a channel opens one, then walked to `status` through the lifecycle.

    It is opened as the web form opens it, unless `channel` says otherwise with open_ticket's own
    arguments (source="email" / "phone" / "api", agent=, api_key=, uploads=, priority=,
    idempotency_key=, notify_customer=, ...). The customer's address and the subject are numbered
    when not given (customer1@example.net, "Problem 1"). Then `by` takes it to `status`:

    - None (the default): as opened: new, or open when the topic assigns its tickets to an agent;
    - new: as opened, and refused for a topic that assigns its tickets to an agent;
    - open: claimed;
    - pending: claimed, then a question asked of the customer ("Which version?");
    - escalated: claimed, then escalated to `team` ("Looks like DNS");
    - resolved: claimed, then the resolution posted ("Fixed.");
    - closed: claimed, then closed.

    `by` defaults to the first active agent of the ticket's department, plain agents before
    managers and admins (Tom Technician in Support, Sam Sysadmin in IT Operations); `team` to the
    first active team `by` is not a member of. `at`: everything happens at that moment (the
    lifecycle's clock shows it meanwhile), e.g. a ticket resolved ten days ago.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    n = next(_numbers)
    with _lifecycle_clock(at):
        ticket = tickets.open_ticket(
            name=name, email=email or f"customer{n}@example.net", subject=subject or f"Problem {n}",
            body=body, topic=_named(HelpTopic, topic), **channel,
        )
        if status is None:
            return ticket
        if status == "new":
            if ticket.status != "new":
                raise ValueError(f"a ticket of {ticket.topic.name!r} opens {ticket.status}, never new")
            return ticket
        by = by or _first_agent_of(ticket.department)
        if ticket.status == "new":
            tickets.claim(by, ticket)
        if status == "pending":
            tickets.request_info(by, ticket, "Which version?")
        elif status == "escalated":
            tickets.escalate(by, ticket, _named(Team, team) if team else _another_team(by, ticket), "Looks like DNS")
        elif status == "resolved":
            tickets.resolve(by, ticket, "Fixed.")
        elif status == "closed":
            tickets.close(by, ticket)
    assert ticket.status == status, (ticket.status, status)
    return ticket


@contextmanager
def _lifecycle_clock(at: datetime | None):
    if at is None:
        yield
        return
    before = clock.utcnow  # the test's own clock, if it has one
    clock.utcnow = lambda: at
    try:
        yield
    finally:
        clock.utcnow = before


def _first_agent_of(department: Department) -> Agent:
    agents = sorted((a for a in department.agents if a.active), key=lambda a: (ROLE_RANK[a.role], a.id))
    if not agents:
        raise LookupError(f"no active agent works in {department.name}")
    return agents[0]


def _another_team(agent: Agent, ticket: Ticket) -> Team:
    teams = db.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.id))
    for team in teams:
        if team.id != ticket.team_id and agent not in team.members:
            return team
    raise LookupError(f"no active team to escalate to from {agent.name}")


# --- channels -------------------------------------------------------------------------------------


def make_api_key(secret: str | None = None, *, name: str = "Chat", scopes: str = "create,read", ip_ranges: str = "",
                 created_by: Agent | None = None) -> ApiKey:
    """An API key as the admin page issues it: only the hash of `secret` (a new one when not
    given) and its first ten characters are stored."""
    secret = secret or ApiKey.generate()
    key = ApiKey(name=name, key_hash=hash_api_key(secret), prefix=secret[:10], scopes=scopes, ip_ranges=ip_ranges,
                 created_by=created_by)
    db.session.add(key)
    db.session.commit()
    return key


def make_mailbox(name: str = "Support inbox", *, department: Department | str = "Support", host: str = "127.0.0.1",
                 username: str = "desk", **fields) -> Mailbox:
    """An IMAP mailbox of a department; `fields` are the Mailbox's own (port, security, password
    (stored encrypted), topic, folder, action, ...), the model's defaults otherwise."""
    box = Mailbox(name=name, department=_named(Department, department), host=host, username=username, **fields)
    db.session.add(box)
    db.session.commit()
    return box


def make_webhook(url: str, *, name: str = "Chat ops", events=("ticket.created", "ticket.updated", "ticket.replied",
                 "ticket.resolved"), secret: str = "whsec_test-secret", active: bool = True) -> Webhook:
    """A webhook as Admin -> Webhooks saves one (its secret stored encrypted); the URL is not
    checked here, so a test can point it anywhere."""
    hook = Webhook(name=name, url=url, events=",".join(events), active=active)
    hook.secret = secret
    db.session.add(hook)
    db.session.commit()
    return hook


def queue_mails(n: int, status: str = "pending", **values) -> list[OutboxMail]:
    """`n` mails in the outbox (to r0@example.net, r1@..., "Test mail 0", ...), as the notify code
    queues them, in `status` ("pending", "failed", "sent"); `values` set the other columns."""
    rows = [OutboxMail(event="test", recipient=f"r{i}@example.net", subject=f"Test mail {i}", body_text="x",
                       body_html="<p>x</p>", message_id=f"<t{status}{i}@desk.test>", status=status, **values)
            for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return rows


# --- agents ---------------------------------------------------------------------------------------


def enrol_two_factor(agent: Agent) -> tuple[str, list[str]]:
    """Two-factor sign-in on for the agent, as the account page's enrolment leaves it: an app
    secret and a fresh set of recovery codes. Returns (the secret, the codes)."""
    agent = db.session.get(Agent, agent.id)
    agent.totp_secret = twofactor.new_secret()
    codes = twofactor.new_recovery_codes(agent)
    db.session.commit()
    return agent.totp_secret, codes
