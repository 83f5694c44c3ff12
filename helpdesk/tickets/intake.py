"""Intake: opening a ticket with its help topic's defaults, from the portal, mail, the API or
an agent; the customer's row, the ticket number and the limit on open tickets per address."""
from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.utils import formataddr

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .. import clock, text
from ..extensions import db
from ..mail import notify
from ..models import (
    ACTIVE_STATUSES,
    SOURCE_LABELS,
    Agent,
    Customer,
    Department,
    FailedMail,
    HelpTopic,
    IdempotencyKey,
    Priority,
    Ticket,
)
from .access import _copied_from_mail
from .assignment import _auto_assign
from .deadlines import _recompute_due
from .rules import (
    NAME_MAX,
    SUBJECT_MAX,
    InvalidInput,
    LifecycleError,
    Rejected,
    TooManyOpen,
    _add_entry,
    _body,
    _event,
    _Unit,
)

_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def _new_number() -> str:
    for _ in range(20):
        number = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))
        if db.session.scalar(select(Ticket.id).where(Ticket.number == number)) is None:
            return number
    raise RuntimeError("could not find a free ticket number")


def _customer(email: str, name: str) -> Customer:
    email = email.strip().lower()
    customer = db.session.scalar(select(Customer).where(Customer.email == email))
    if customer is None:
        # INSERT .. ON CONFLICT DO NOTHING: the same person opening two tickets at the same moment
        # gets one customer row, and the insert stays inside the caller's transaction (a SAVEPOINT
        # on SQLite would commit it on its own and leave it behind if the ticket fails).
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[db.session.get_bind().dialect.name]
        db.session.execute(insert(Customer).values(
            email=email, name=text.one_line(name, NAME_MAX) or email, created_at=clock.utcnow(),
        ).on_conflict_do_nothing(index_elements=["email"]))
        customer = db.session.scalar(select(Customer).where(Customer.email == email))
    return customer


def _default_department() -> Department:
    dept = db.session.scalar(select(Department).where(Department.active.is_(True)).order_by(Department.id))
    if dept is None:
        raise LifecycleError("The desk has no department yet; an admin must create one.")
    return dept


def _priority(key: str) -> Priority:
    return db.session.scalar(select(Priority).where(Priority.key == key))


def open_ticket(
    *,
    name: str,
    email: str,
    subject: str,
    body: str,
    topic: HelpTopic,
    priority: Priority | None = None,
    source: str = "web",
    uploads=(),
    agent: Agent | None = None,
    idempotency_key: str | None = None,
    notify_customer: bool = True,
    record=None,
    department: Department | None = None,
    copied=(),
    api_key=None,
    hold_copied: str | None = None,
) -> Ticket:
    """Open a ticket with the help topic's defaults; acknowledge it and alert the department.

    `record` (optional) is a row saved in the same transaction, e.g. the mail that opened it;
    `department` overrides the topic's (a mailbox's own department); `copied` is (name, email)
    of the people the customer's mail went to as well, put on copy, or only listed for an agent
    when `hold_copied` says why the mail proved nothing (see _copied_from_mail); `api_key` is
    the API key that opens it, recorded as the one key that may write to it."""
    if idempotency_key:
        existing = db.session.scalar(
            select(IdempotencyKey.ticket_id).where(IdempotencyKey.key == idempotency_key)
        )
        if existing:
            return db.session.get(Ticket, existing)
    if topic is None or not topic.active:
        raise InvalidInput("Choose a help topic.")
    if not topic.public and agent is None:
        raise InvalidInput("Choose a help topic.")
    subject = text.one_line(subject)
    if not subject:
        raise InvalidInput("The subject cannot be empty.")
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput(f"The subject is longer than {SUBJECT_MAX} characters.")
    body = _body(body, "description")
    now = clock.utcnow()

    try:
        return _open(name, email, subject, body, topic, priority, source, uploads, agent,
                     idempotency_key, notify_customer, now, record, department, copied, api_key,
                     hold_copied)
    except Rejected as exc:
        if source != "email":  # mail intake keeps the raw mail itself
            _keep_rejected(exc, name, email, subject, body, source)
        raise
    except IntegrityError:
        # The same form was submitted twice at the same moment: the other request won.
        if not idempotency_key:
            raise
        existing = db.session.scalar(
            select(IdempotencyKey.ticket_id).where(IdempotencyKey.key == idempotency_key)
        )
        if existing is None:
            raise
        return db.session.get(Ticket, existing)


def _keep_rejected(exc: Rejected, name: str, email: str, subject: str, body: str, source: str) -> None:
    """What a rule refused to open, kept as a message for the admins (Failed mail), never lost."""
    message = EmailMessage()
    message["From"] = formataddr((text.one_line(name, NAME_MAX), (email or "").strip()))
    message["Subject"] = subject
    message["X-Helpdesk-Source"] = source
    message.set_content(body)
    raw = message.as_bytes()
    db.session.add(FailedMail(source=f"{SOURCE_LABELS.get(source, source)} (rejected)",
                              error=text.one_line(exc.reason, 500),
                              raw=raw, size=len(raw), sender=(email or "")[:254] or None, subject=subject[:255]))
    db.session.commit()


def _lock_customer(customer: Customer) -> None:
    """Hold the customer's row until the transaction ends, so that two tickets for one address
    are opened one after the other, each counting the other's (the open-ticket cap). PostgreSQL:
    a row lock. SQLite: its one write lock, taken by a write to the row before anything is
    counted (a transaction that only read could count while another one inserts)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    else:
        db.session.execute(update(Customer).where(Customer.id == customer.id).values(id=Customer.id)
                           .execution_options(synchronize_session=False))


def _check_open_limit(email: str) -> None:
    """A customer may have at most HELPDESK_MAX_OPEN_TICKETS tickets being worked at once.
    Called with the customer's row locked (_lock_customer), so tickets opened at the same
    moment are counted too."""
    limit = current_app.config.get("HELPDESK_MAX_OPEN_TICKETS") or 0
    if not limit:
        return
    count = db.session.scalar(
        select(func.count(Ticket.id)).join(Customer)
        .where(Customer.email == (email or "").strip().lower(), Ticket.status.in_(ACTIVE_STATUSES))
    )
    if count >= limit:
        raise TooManyOpen(
            f"You already have {count} open requests with us, the most we accept from one address. "
            "Please reply on one of them, or wait until one is resolved."
        )


def _open(name, email, subject, body, topic, priority, source, uploads, agent, idempotency_key,
          notify_customer, now, record=None, department=None, copied=(), api_key=None,
          hold_copied=None) -> Ticket:
    with _Unit() as unit:
        customer = _customer(email, name)
        # Every channel takes the lock, so a ticket opened by mail or the API at the moment a
        # form is counted is counted too.
        _lock_customer(customer)
        if agent is None and source == "web":  # the public form; API keys and mailboxes are trusted
            _check_open_limit(customer.email)
        if agent is None and not topic.customer_sets_priority:
            priority = None
        priority = priority or topic.effective_priority or _priority("normal")
        department = department or topic.effective_department or _default_department()
        sla = topic.effective_sla or (department.sla if department.sla and department.sla.active else None)
        ticket = Ticket(
            number=_new_number(), subject=subject, status="new", priority=priority,
            urgency=priority.urgency, topic=topic, department=department, sla=sla,
            source=source, customer=customer, created_at=now, updated_at=now, version=1,
            api_key_id=api_key.id if api_key is not None else None,
        )
        _recompute_due(ticket, now)
        db.session.add(ticket)
        _add_entry(ticket, "message", body, customer=customer, uploads=uploads, now=now,
                   stored=unit.stored, via="email" if source == "email" else None)
        _event(ticket, "created", agent=agent, customer=None if agent else customer,
               new=f"{topic.name} via {source}", now=now)
        db.session.flush()  # the ticket's id goes into the access link mailed below
        # Nothing below reads back what it adds: what is left goes in with the commit, in one
        # flush (a query in between need not write it first); the mails and the key are plain
        # INSERTs.
        with db.session.no_autoflush:
            _copied_from_mail(ticket, copied, customer, now, held=hold_copied)
            notify.ticket_created(ticket, acknowledge=topic.auto_acknowledge and notify_customer)
            _auto_assign(ticket, topic, now)
            if idempotency_key:
                db.session.execute(insert(IdempotencyKey).values(key=idempotency_key, ticket_id=ticket.id))
            if record is not None:
                record.ticket_id = ticket.id
                db.session.add(record)
    return ticket
