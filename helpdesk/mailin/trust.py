"""Who a mail may speak for: the one rule (mail_speaks_for). A From address is easily forged,
so a mail proves its sender only by answering one of the desk's own signed Message-IDs sent to
that address about that ticket, or by a pass in the Authentication-Results of the desk's own
receiving server (HELPDESK_MAIL_TRUSTED_AUTHSERV_ID). Also: the people a mail puts on copy."""
from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import func, select

from .. import tickets
from ..extensions import db
from ..mail.addresses import signed_ticket_number
from ..models import Agent, Collaborator, Department, Mailbox, OutboxMail, Ticket
from .parsing import Parsed

# --- the desk's own addresses ------------------------------------------------------------------

DAEMON_LOCAL_PARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


def own_addresses() -> set[str]:
    cfg = current_app.config
    sender = cfg["MAIL_DEFAULT_SENDER"]
    sender = sender if isinstance(sender, str) else sender[1]
    ours = {parseaddr(sender)[1].lower()}
    ours |= {e.lower() for e in db.session.scalars(select(Department.email).where(Department.email.is_not(None)))}
    ours |= {u.lower() for u in db.session.scalars(select(Mailbox.username)) if "@" in u}
    return {a for a in ours if a}


# --- who a mail may speak for ----------------------------------------------------------------------

_COMMENT = re.compile(r"\([^()]*\)")


def _auth_results(value: str) -> tuple[str, list[tuple[str, str, dict]]]:
    """An Authentication-Results value (RFC 8601): its authserv-id and its (method, result,
    {ptype.property: value}), all lower case; comments dropped."""
    for _ in range(3):  # nested comments, innermost first
        value = _COMMENT.sub(" ", value)
    parts = [p.strip() for p in value.replace("\r", " ").replace("\n", " ").split(";")]
    authserv = parts[0].split()[0].lower() if parts and parts[0].split() else ""
    results = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].lower().partition("=")
        props = {}
        for token in tokens[1:]:
            key, sep, val = token.partition("=")
            if sep:
                props[key.lower()] = val.strip('"').lower()
        results.append((method.split("/")[0], result, props))
    return authserv, results


def authenticated_by_desk(parsed: Parsed) -> str | None:
    """What the desk's own receiving server (HELPDESK_MAIL_TRUSTED_AUTHSERV_ID) says about the From
    domain, when it passed: "dmarc=pass" or "dkim=pass". Only the topmost Authentication-Results
    header(s) count, and only above at most HELPDESK_MAIL_TRUSTED_RECEIVED Received headers (the
    hops of the desk's own servers): anything lower may have been written by the sender."""
    trusted = (current_app.config.get("HELPDESK_MAIL_TRUSTED_AUTHSERV_ID") or "").strip().lower()
    if not trusted:
        return None
    hops = current_app.config.get("HELPDESK_MAIL_TRUSTED_RECEIVED") or 0
    domain = parsed.sender.rpartition("@")[2]
    received, seen_ours = 0, False
    for name, value in parsed.trace:
        if name == "received":
            if seen_ours:
                break  # the trusted server's headers end here
            received += 1
            if received > hops:
                return None  # an Authentication-Results below this hop was not added by our servers
            continue
        authserv, results = _auth_results(value)
        if authserv != trusted:
            break  # the topmost results are someone else's: nothing below them counts
        seen_ours = True
        for method, result, props in results:
            if result != "pass":
                continue
            if method == "dmarc" and props.get("header.from") == domain:
                return "dmarc=pass"
            if method == "dkim" and (props.get("header.d") == domain or props.get("header.i", "").endswith("@" + domain)):
                return "dkim=pass"
    return None


@dataclass
class Speaker:
    """Who a mail is from as far as the ticket is concerned, and whether it proved it."""

    who: str  # agent | customer | collaborator | stranger
    proven: bool
    why: str  # how it proved it, or why it did not
    agent: Agent | None = None
    collaborator: Collaborator | None = None


def _answers_desk_mail(parsed: Parsed, ticket: Ticket) -> bool:
    """Does the mail answer one of the desk's mails about this ticket sent to its sender?"""
    refs = [r[:255] for r in parsed.references]
    if not refs:
        return False
    if any(signed_ticket_number(ref, parsed.sender) == ticket.number for ref in refs):
        return True
    # Mail sent before Message-IDs were signed: the outbox still knows whom it went to.
    return db.session.scalar(select(OutboxMail.id).where(
        OutboxMail.message_id.in_(refs), OutboxMail.ticket_id == ticket.id,
        func.lower(OutboxMail.recipient) == parsed.sender).limit(1)) is not None


def mail_speaks_for(parsed: Parsed, ticket: Ticket | None) -> Speaker:
    """The one rule of who a mail may speak for (see the module's docstring). Proven: it answers
    a desk mail sent to the sender about this ticket, or the desk's receiving server authenticated
    the From domain. Otherwise the sender is only claimed."""
    authenticated = authenticated_by_desk(parsed)
    if authenticated:
        proven, why = True, f"the desk's mail server checked it ({authenticated} for {parsed.sender.rpartition('@')[2]})"
    elif ticket is not None and _answers_desk_mail(parsed, ticket):
        proven, why = True, f"it answers the desk's mail to {parsed.sender}"
    else:
        proven = False
        why = (f"the mail did not prove it came from {parsed.sender} (it answers none of the desk's mails "
               "to that address, and the desk's mail server did not vouch for it)")
    if ticket is None:
        return Speaker("stranger", proven, why)
    if parsed.sender != ticket.customer.email:
        agent = _agent(ticket, parsed.sender)
        if agent is not None:
            return Speaker("agent", proven, why, agent=agent)
    if parsed.sender == ticket.customer.email:
        return Speaker("customer", proven, why)
    collab = _collaborator(ticket, parsed.sender)
    if collab is not None:
        return Speaker("collaborator", proven, why, collaborator=collab)
    return Speaker("stranger", proven, why)


def _agent(ticket: Ticket, sender: str) -> Agent | None:
    """The active agent who sent this mail, if they may see the ticket (else None: a stranger)."""
    agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == sender))
    if agent is None or not agent.active or not tickets.can_see(agent, ticket):
        return None
    return agent


def _collaborator(ticket: Ticket, sender: str) -> Collaborator | None:
    return db.session.scalar(select(Collaborator).where(
        Collaborator.ticket_id == ticket.id, Collaborator.email == sender, Collaborator.active.is_(True)))


def copied_people(parsed: Parsed, customer_email: str) -> list[tuple[str, str]]:
    """Whom the customer's mail also went to (To besides the desk, and Cc): the people to put on
    copy of the ticket. Never the desk's own addresses (nor the one the mail was delivered to),
    an agent, the sender or the customer; each once; automatic addresses skipped. The lifecycle
    checks each address and keeps to tickets.MAIL_CC_MAX."""
    skip = own_addresses() | parsed.delivered_to | {parsed.sender, customer_email.lower()}
    people, seen = [], set()
    for name, address in parsed.copied:
        if address in skip or address in seen or address.split("@")[0] in DAEMON_LOCAL_PARTS:
            continue
        seen.add(address)
        people.append((name, address))
        if len(people) >= 4 * tickets.MAIL_CC_MAX:  # a mail to hundreds adds at most the cap anyway
            break
    if people:
        agents = set(db.session.scalars(select(func.lower(Agent.email)).where(
            func.lower(Agent.email).in_([a for _, a in people]))))
        people = [(n, a) for n, a in people if a not in agents]
    return people
