"""What a rule can test, and how: the fields (FIELDS), their operators, checking a condition an
admin wrote (check) and testing it against what happened (Facts, matches).

A condition is {"field": key, "op": key, "value": ...}. Text is compared without regard to case.
Regular expressions run on RE2, whose time is linear in the text: no pattern an admin writes can
make intake slow, whatever the mail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import re2
from sqlalchemy import select

from ..extensions import db
from ..models import (
    SOURCE_LABELS,
    STATUS_LABELS,
    Agent,
    Department,
    HelpTopic,
    Mailbox,
    Priority,
    SLAPlan,
    Team,
    ThreadEntry,
    Ticket,
)

VALUE_MAX = 500  # characters of one text value
LIST_MAX = 100  # items of one list
CONDITIONS_MAX = 30


class RuleError(ValueError):
    """A rule as written cannot be saved: the message says what to change."""


@dataclass
class Facts:
    """What a rule sees of one ticket at one moment: the ticket, what happened (triggers), the
    message or answer that did (None for changes and time rules), and for mail, where it was sent."""

    ticket: Ticket
    now: datetime
    triggers: frozenset[str] = frozenset()
    message: ThreadEntry | None = None
    recipients: tuple[str, ...] = ()
    mailbox_id: int | None = None
    tags: tuple[str, ...] | None = None
    # The text fields as tests compare them, read once: nothing a rule does changes who wrote,
    # where to, the subject or the message (the ticket's choices are read afresh every time).
    texts: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def sender(self) -> str:
        entry = self.message
        if entry is not None:
            if entry.collaborator is not None:
                return entry.collaborator.email
            if entry.customer is not None:
                return entry.customer.email
            if entry.agent is not None:
                return entry.agent.email
            return ""
        return self.ticket.customer.email if self.ticket.customer else ""

    @property
    def body(self) -> str:
        if self.message is not None:
            return self.message.body or ""
        entries = self.ticket.entries
        return entries[0].body if entries else ""


# --- the operators ---------------------------------------------------------------------------

TEXT_OPS = {
    "equals": "is", "not_equals": "is not", "contains": "contains", "not_contains": "does not contain",
    "starts_with": "starts with", "ends_with": "ends with", "matches": "matches the pattern",
    "in_list": "is one of", "is_empty": "is empty", "not_empty": "is not empty",
}
CHOICE_OPS = {
    "is": "is", "is_not": "is not", "in_list": "is one of", "not_in_list": "is none of",
    "is_empty": "is not set", "not_empty": "is set",
}
HOURS_OPS = {"within": "is within the business hours of", "outside": "is outside the business hours of"}
NO_VALUE = {"is_empty", "not_empty"}
LISTS = {"in_list", "not_in_list"}


def _compile(pattern: str):
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        why = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise RuleError(f"The pattern “{pattern}” is not a regular expression the desk can run: {why}.") from None


_PATTERNS: dict[str, object] = {}


def pattern(text: str):
    """The compiled pattern (kept: a rule's pattern is compiled once per process)."""
    found = _PATTERNS.get(text)
    if found is None:
        if len(_PATTERNS) > 2000:
            _PATTERNS.clear()
        found = _PATTERNS[text] = _compile(text)
    return found


def _normal(text) -> str:
    return (text or "").strip().lower()


def _text_test(op: str, value, actual: str) -> bool:
    """`actual` is _normal already."""
    if op == "is_empty":
        return not actual
    if op == "not_empty":
        return bool(actual)
    if op == "matches":
        return pattern(value).search(actual) is not None
    if op == "in_list":
        return actual in value
    if op == "equals":
        return actual == value
    if op == "not_equals":
        return actual != value
    if op == "contains":
        return value in actual
    if op == "not_contains":
        return value not in actual
    if op == "starts_with":
        return actual.startswith(value)
    return actual.endswith(value)  # ends_with


def _choice_test(op: str, value, actual) -> bool:
    if op == "is_empty":
        return actual is None
    if op == "not_empty":
        return actual is not None
    if op == "is":
        return actual == value
    if op == "is_not":
        return actual != value
    if op == "in_list":
        return actual in value
    return actual not in value  # not_in_list


# --- the fields ------------------------------------------------------------------------------


def _rows(model, label=lambda r: r.name, where=None):
    def choices():
        query = select(model).order_by(model.name)
        if where is not None:
            query = query.where(where(model))
        return [(row.id, label(row)) for row in db.session.scalars(query)]
    return choices


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # text | choice | hours
    read: Callable[[Facts], object]
    choices: Callable[[], list[tuple[object, str]]] | None = None
    many: bool = False  # text: the value is several strings (any one may match)
    fixed: bool = True  # text: no rule's action changes it (read once per ticket and moment)
    help: str = ""
    ops: dict = field(default_factory=dict)

    @property
    def operators(self) -> dict[str, str]:
        if self.ops:
            return self.ops
        return {"text": TEXT_OPS, "choice": CHOICE_OPS, "hours": HOURS_OPS}[self.kind]


def _domain(address: str) -> str:
    return address.rpartition("@")[2] if "@" in address else ""


def _business_hours(facts: Facts, plan_id) -> bool:
    from .. import sla
    from ..tickets.deadlines import schedule  # the SLA clock's own reading of a plan

    plan = db.session.get(SLAPlan, plan_id)
    return sla.is_open(schedule(plan), facts.now)


FIELDS: dict[str, Field] = {f.key: f for f in (
    Field("channel", "Channel", "choice", lambda f: f.ticket.source, lambda: list(SOURCE_LABELS.items()),
          ops={k: v for k, v in CHOICE_OPS.items() if k not in NO_VALUE}),
    Field("sender", "Sender's address", "text", lambda f: f.sender,
          help="Who wrote the message: the customer, someone on copy, or the agent who answered."),
    Field("sender_domain", "Sender's domain", "text", lambda f: _domain(f.sender), help="e.g. bank.example"),
    Field("recipient", "Sent to (mail)", "text", lambda f: f.recipients, many=True,
          help="The addresses a mail was sent to (To, Cc and delivery); empty for other channels."),
    Field("mailbox", "Mailbox it came through", "choice", lambda f: f.mailbox_id, _rows(Mailbox)),
    Field("subject", "Subject", "text", lambda f: f.ticket.subject),
    Field("body", "Message text", "text", lambda f: f.body,
          help="The message that fired the rule; for a new ticket, its description."),
    Field("customer", "Customer's address", "text", lambda f: f.ticket.customer.email if f.ticket.customer else ""),
    Field("tags", "Tags", "text", lambda f: [t.key for t in f.ticket.tags], many=True, fixed=False,
          ops={"equals": "include", "not_equals": "do not include", "is_empty": "are none", "not_empty": "are some"},
          help="A tag's name, in any case."),
    Field("topic", "Help topic", "choice", lambda f: f.ticket.topic_id, _rows(HelpTopic)),
    Field("department", "Department", "choice", lambda f: f.ticket.department_id, _rows(Department)),
    Field("priority", "Priority", "choice", lambda f: f.ticket.priority_id,
          lambda: [(p.id, p.name) for p in db.session.scalars(select(Priority).order_by(Priority.urgency.desc()))],
          ops={k: v for k, v in CHOICE_OPS.items() if k not in NO_VALUE}),
    Field("status", "Status", "choice", lambda f: f.ticket.status, lambda: list(STATUS_LABELS.items()),
          ops={k: v for k, v in CHOICE_OPS.items() if k not in NO_VALUE}),
    Field("assignee", "Assignee", "choice", lambda f: f.ticket.assignee_id, _rows(Agent)),
    Field("team", "Team", "choice", lambda f: f.ticket.team_id, _rows(Team)),
    Field("sla", "SLA plan", "choice", lambda f: f.ticket.sla_id, _rows(SLAPlan)),
    Field("time", "The time", "hours", lambda f: f, _rows(SLAPlan, where=lambda m: m.schedule == "business"),
          help="Now, against an SLA plan's business hours (its days, hours and holidays)."),
)}


# --- checking what an admin wrote ------------------------------------------------------------


def _text_value(field: Field, op: str, raw) -> object:
    if op in NO_VALUE:
        return None
    if op == "in_list":
        items = raw if isinstance(raw, list) else str(raw or "").replace("\n", ",").split(",")
        items = [str(i).strip().lower() for i in items if str(i).strip()]
        if not items:
            raise RuleError(f"{field.label} {field.operators[op]}: list at least one value, separated by commas.")
        if len(items) > LIST_MAX:
            raise RuleError(f"{field.label} {field.operators[op]}: at most {LIST_MAX} values.")
        if any(len(i) > VALUE_MAX for i in items):
            raise RuleError(f"{field.label}: a value is longer than {VALUE_MAX} characters.")
        return items
    value = str(raw if raw is not None else "").strip()
    if not value:
        raise RuleError(f"{field.label} {field.operators[op]}: enter a value.")
    if len(value) > VALUE_MAX:
        raise RuleError(f"{field.label}: the value is longer than {VALUE_MAX} characters.")
    if op == "matches":
        pattern(value)
        return value
    return value.lower()


def _choice_value(field: Field, op: str, raw) -> object:
    if op in NO_VALUE:
        return None
    known = {str(key): key for key, _ in field.choices()}
    items = raw if isinstance(raw, list) else [raw]
    items = [str(i).strip() for i in items if i not in (None, "") and str(i).strip()]
    if not items:
        raise RuleError(f"{field.label} {field.operators[op]}: choose a value.")
    unknown = [i for i in items if i not in known]
    if unknown:
        raise RuleError(f"{field.label}: there is no such choice ({', '.join(unknown[:3])}).")
    values = [known[i] for i in dict.fromkeys(items)]
    if op in LISTS:
        return values
    if len(values) != 1:
        raise RuleError(f"{field.label} {field.operators[op]}: choose one value.")
    return values[0]


def check(condition) -> dict:
    """The condition as it is stored, or RuleError saying what is wrong with it."""
    if not isinstance(condition, dict):
        raise RuleError("A condition must name a field, an operator and a value.")
    field = FIELDS.get(condition.get("field"))
    if field is None:
        raise RuleError(f"There is no field “{condition.get('field')}” to test.")
    op = condition.get("op")
    if op not in field.operators:
        raise RuleError(f"{field.label} cannot be tested with “{op}”.")
    raw = condition.get("value")
    value = _text_value(field, op, raw) if field.kind == "text" else _choice_value(field, op, raw)
    return {"field": field.key, "op": op, "value": value}


def check_all(conditions, match: str) -> list[dict]:
    if match not in ("all", "any"):
        raise RuleError("Choose whether all or any of the conditions must hold.")
    if not conditions:
        raise RuleError("Add at least one condition: a rule acts only on the tickets its conditions pick.")
    if len(conditions) > CONDITIONS_MAX:
        raise RuleError(f"A rule may have at most {CONDITIONS_MAX} conditions.")
    return [check(c) for c in conditions]


# --- testing ---------------------------------------------------------------------------------


def holds(condition: dict, facts: Facts) -> bool:
    field = FIELDS[condition["field"]]
    op, value = condition["op"], condition["value"]
    if field.kind == "hours":
        inside = _business_hours(facts, value)
        return inside if op == "within" else not inside
    if field.kind == "choice":
        return _choice_test(op, value, field.read(facts))
    actual = facts.texts.get(field.key)
    if actual is None:
        raw = field.read(facts)
        actual = tuple(_normal(a) for a in raw if a) if field.many else _normal(raw)
        if field.fixed:
            facts.texts[field.key] = actual
    if field.many:
        if op in NO_VALUE:
            return bool(actual) == (op == "not_empty")
        if op in ("not_equals", "not_contains"):
            return all(_text_test(op, value, a) for a in actual)
        return any(_text_test(op, value, a) for a in actual)
    return _text_test(op, value, actual)


def matches(conditions: list[dict], match: str, facts: Facts) -> bool:
    if match == "any":
        return any(holds(c, facts) for c in conditions)
    return all(holds(c, facts) for c in conditions)


def describe(condition: dict) -> str:
    """The condition in words: 'Sender's domain is bank.example'."""
    field = FIELDS.get(condition.get("field"))
    if field is None:
        return "(an unknown condition)"
    op = field.operators.get(condition.get("op"), condition.get("op"))
    value = condition.get("value")
    if condition.get("op") in NO_VALUE:
        return f"{field.label} {op}"
    if field.kind in ("choice", "hours"):
        names = dict(field.choices())
        items = value if isinstance(value, list) else [value]
        shown = ", ".join(str(names.get(i, f"(gone: {i})")) for i in items)
    else:
        shown = ", ".join(value) if isinstance(value, list) else f"“{value}”"
    return f"{field.label} {op} {shown}"
