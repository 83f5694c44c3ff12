"""What a rule can do (ACTIONS): checking an action an admin wrote (check), saying what it would
do to a ticket (describe, for the preview) and doing it (apply, through tickets.system).

An action is {"type": key, "value": ...}; "mail someone" also has "to", "subject" and "text".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import or_, select

from .. import settings, tickets, webhooks
from ..extensions import db
from ..mail import wording
from ..models import (
    Agent,
    CannedResponse,
    Department,
    HelpTopic,
    Priority,
    Rule,
    SLAPlan,
    Team,
    Ticket,
    Webhook,
)
from ..tickets import system
from ..tickets import tags as tag_rules
from ..tickets.access import _collaborator_email
from .conditions import RuleError

TEXT_MAX = 5000
ACTIONS_MAX = 20
ADDRESSES_MAX = 10
REPEATABLE = {"note", "mail", "add_cc", "webhook"}


@dataclass
class Run:
    """One rule acting on one ticket: what its actions need to know."""

    rule: Rule
    ticket: Ticket
    now: datetime


@dataclass(frozen=True)
class Scope:
    """Where a rule may act, for checking its actions: its department (a manager's rule), the
    department its tickets are known to be in when it acts, and who writes it."""

    kind: str  # event | time
    triggers: frozenset[str]
    department_id: int | None
    ticket_department_id: int | None
    author: Agent | None


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    value: str  # what it takes: none | choice | text | addresses | tags | mail
    choices: Callable[[Scope | None], list[tuple[int, str]]] | None = None
    on_open_only: bool = False
    help: str = ""


def _active(model):
    def choices(scope):
        query = select(model).order_by(model.name)
        if hasattr(model, "active"):
            query = query.where(model.active.is_(True))
        return [(row.id, row.name) for row in db.session.scalars(query)]
    return choices


def _departments(scope):
    query = select(Department).where(Department.active.is_(True)).order_by(Department.name)
    if scope is not None and scope.department_id is not None and scope.author is not None \
            and not scope.author.is_admin:
        query = query.where(Department.id.in_([d.id for d in scope.author.departments]))
    return [(d.id, d.name) for d in db.session.scalars(query)]


def _agents(scope):
    query = select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)
    if scope is not None and scope.department_id is not None:
        query = query.where(Agent.departments.any(Department.id == scope.department_id))
    return [(a.id, a.name) for a in db.session.scalars(query)]


def _canned(scope):
    mine = CannedResponse.department_id.is_(None)
    if scope is not None and scope.department_id is not None:
        mine = or_(mine, CannedResponse.department_id == scope.department_id)
    query = select(CannedResponse).where(CannedResponse.agent_id.is_(None), mine).order_by(CannedResponse.title)
    return [(c.id, c.title + ("" if c.department_id is None else f" ({c.department.name})"))
            for c in db.session.scalars(query)]


def _priorities(scope):
    return [(p.id, p.name) for p in db.session.scalars(select(Priority).order_by(Priority.urgency.desc()))]


ACTIONS: dict[str, Action] = {a.key: a for a in (
    Action("set_department", "Move to department", "choice", _departments),
    Action("set_topic", "Set the help topic", "choice", _active(HelpTopic)),
    Action("set_priority", "Set the priority", "choice", _priorities),
    Action("set_sla", "Apply the SLA plan", "choice", _active(SLAPlan)),
    Action("set_team", "Assign to the team", "choice", _active(Team)),
    Action("assign_agent", "Assign to the agent", "choice", _agents),
    Action("round_robin", "Assign in turn to a member of the team", "choice", _active(Team),
           help="Each ticket goes to the team's next active member (of the ticket's department)."),
    Action("add_tags", "Add tags", "tags", help="Tag names separated by commas; new ones are created."),
    Action("remove_tags", "Remove tags", "tags", help="Tag names separated by commas."),
    Action("add_cc", "Put on copy", "addresses", help="Addresses separated by commas."),
    Action("note", "Add an internal note", "text"),
    Action("canned_reply", "Send a canned reply to the customer", "choice", _canned,
           help="A desk-wide canned response (or the rule's department's); placeholders are filled."),
    Action("no_ack", "Do not send the acknowledgement", "none", on_open_only=True),
    Action("reject", "Reject the ticket with a message", "text", on_open_only=True,
           help="Nothing is opened; the sender sees the message on the form (or in the API's answer); "
                "a mail is kept for admins under Failed mail."),
    Action("spam", "Mark as spam (nothing is opened)", "none", on_open_only=True,
           help="Kept for admins under Failed mail; the sender is told only that it was not accepted."),
    Action("mail", "Mail someone", "mail", help="Placeholders such as {ticket_number} are filled."),
    Action("webhook", "Call a webhook", "choice", _active(Webhook)),
    Action("resolve", "Resolve, with this message to the customer", "text"),
    Action("close", "Close", "none"),
    Action("stop", "Stop: run no further rules on this ticket", "none"),
)}

_MODELS = {"set_department": Department, "set_topic": HelpTopic, "set_priority": Priority, "set_sla": SLAPlan,
           "set_team": Team, "assign_agent": Agent, "round_robin": Team, "canned_reply": CannedResponse,
           "webhook": Webhook}


# --- checking what an admin wrote ------------------------------------------------------------


def _addresses(raw, what: str) -> list[str]:
    items = raw if isinstance(raw, list) else str(raw or "").replace("\n", ",").replace(";", ",").split(",")
    items = [str(i).strip() for i in items if str(i).strip()]
    if not items:
        raise RuleError(f"{what}: enter at least one address.")
    if len(items) > ADDRESSES_MAX:
        raise RuleError(f"{what}: at most {ADDRESSES_MAX} addresses.")
    found = []
    for item in items:
        try:
            found.append(_collaborator_email(item))
        except tickets.InvalidInput:
            raise RuleError(f"{what}: “{item}” is not a valid email address.") from None
    return list(dict.fromkeys(found))


def _tags(raw, what: str, scope: Scope, adding: bool) -> list[str]:
    items = raw if isinstance(raw, list) else tag_rules.split_names(str(raw or ""))
    if not items:
        raise RuleError(f"{what}: name at least one tag.")
    if len(items) > ADDRESSES_MAX:
        raise RuleError(f"{what}: at most {ADDRESSES_MAX} tags.")
    try:
        names = list(dict.fromkeys(tag_rules.clean_name(str(i)) for i in items))
        if adding and not tag_rules.may_create(scope.author):
            with db.session.no_autoflush:
                tag_rules.find_or_create_tags(names, may_create=False)
    except tickets.InvalidInput as exc:
        raise RuleError(f"{what}: {exc.message}") from None
    return names


def _text(raw, what: str, placeholders: bool = True) -> str:
    text = str(raw or "").strip()
    if not text:
        raise RuleError(f"{what}: write the text.")
    if len(text) > TEXT_MAX:
        raise RuleError(f"{what}: at most {TEXT_MAX} characters.")
    unknown = wording.unknown_among(wording.COMMON, text) if placeholders else []
    if unknown:
        raise RuleError(f"{what}: {', '.join(unknown)} is not a placeholder the desk knows "
                        f"(it knows {', '.join('{' + n + '}' for n in wording.COMMON)}).")
    return text


def check(action, scope: Scope) -> dict:
    """The action as stored, or RuleError saying what is wrong."""
    if not isinstance(action, dict) or action.get("type") not in ACTIONS:
        raise RuleError(f"There is no action “{action.get('type') if isinstance(action, dict) else action}”.")
    spec = ACTIONS[action["type"]]
    if spec.on_open_only and (scope.kind != "event" or scope.triggers != frozenset({"opened"})):
        raise RuleError(f"“{spec.label}” applies only to a rule that runs when a ticket is opened, and on nothing else.")
    if spec.value == "none":
        return {"type": spec.key}
    if spec.value == "text":
        return {"type": spec.key, "value": _text(action.get("value"), spec.label, spec.key != "reject")}
    if spec.value == "addresses":
        return {"type": spec.key, "value": _addresses(action.get("value"), spec.label)}
    if spec.value == "tags":
        return {"type": spec.key, "value": _tags(action.get("value"), spec.label, scope, spec.key == "add_tags")}
    if spec.value == "mail":
        return {"type": spec.key, "to": _addresses(action.get("to"), spec.label),
                "subject": _text(action.get("subject"), f"{spec.label}, subject")[:200],
                "value": _text(action.get("value"), f"{spec.label}, message")}
    raw = str(action.get("value") or "").strip()
    offered = dict(spec.choices(scope))
    if not raw.isdigit() or int(raw) not in offered:
        raise RuleError(f"{spec.label}: choose one of the offered values.")
    value = int(raw)
    if spec.key == "assign_agent" and scope.ticket_department_id is not None:
        agent = db.session.get(Agent, value)
        if not tickets.assignment.works_in(agent, scope.ticket_department_id):
            dept = db.session.get(Department, scope.ticket_department_id)
            raise RuleError(f"{spec.label}: {agent.name} is not an agent of {dept.name}, "
                            "where the rule's tickets are, and cannot be assigned them.")
    return {"type": spec.key, "value": value}


def check_all(actions, scope: Scope) -> list[dict]:
    if not actions:
        raise RuleError("Add at least one action: what should the rule do?")
    if len(actions) > ACTIONS_MAX:
        raise RuleError(f"A rule may have at most {ACTIONS_MAX} actions.")
    checked = [check(a, scope) for a in actions]
    kinds = [a["type"] for a in checked]
    if ("reject" in kinds or "spam" in kinds) and len(kinds) > 1 + kinds.count("stop"):
        raise RuleError("A rule that rejects or marks as spam does nothing else: nothing is opened to act on.")
    singles = [k for k in kinds if k not in REPEATABLE]
    if len(set(singles)) < len(singles):
        raise RuleError("Each kind of action may appear once (except notes, mails, copies and webhooks).")
    if "stop" in kinds and kinds[-1] != "stop":
        raise RuleError("“Stop” must be the last action.")
    return checked


# --- what an action does ---------------------------------------------------------------------


def _row(action: dict):
    model = _MODELS.get(action["type"])
    return db.session.get(model, action["value"]) if model is not None else None


def _canned_text(response: CannedResponse, ticket: Ticket) -> str:
    values = wording.values(ticket, {"desk_name": settings.get("desk_name")})
    return wording.fill(response.body, {name: values[name] for name in wording.COMMON})


def _gone(action: dict) -> str:
    return f"{ACTIONS[action['type']].label}: what it names no longer exists"


def apply(action: dict, run: Run) -> None:
    """Do it; raises the lifecycle's errors when it cannot (the engine writes why to the history)."""
    kind, ticket, now = action["type"], run.ticket, run.now
    row = _row(action)
    if kind in _MODELS and row is None:
        raise tickets.InvalidInput(_gone(action))
    if kind == "set_department":
        system.transfer(ticket, row, now)
    elif kind == "set_topic":
        system.set_topic(ticket, row, now)
    elif kind == "set_priority":
        system.set_priority(ticket, row, now)
    elif kind == "set_sla":
        system.set_sla(ticket, row, now)
    elif kind == "set_team":
        system.assign_team(ticket, row, now)
    elif kind == "assign_agent":
        system.assign_agent(ticket, row, now)
    elif kind == "round_robin":
        system.assign_in_turn(ticket, row, run.rule, now)
    elif kind == "add_tags":
        system.add_tags(ticket, action["value"], now)
    elif kind == "remove_tags":
        system.remove_tags(ticket, action["value"], now)
    elif kind == "add_cc":
        system.copy(ticket, action["value"], now)
    elif kind == "note":
        system.note(ticket, action["value"], now)
    elif kind == "canned_reply":
        system.reply(ticket, _canned_text(row, ticket), now)
    elif kind == "no_ack":
        system.suppress_acknowledgement(ticket)
    elif kind == "reject":
        raise tickets.Rejected(action["value"], run.rule.name)
    elif kind == "spam":
        raise tickets.Rejected("Your request could not be accepted.", run.rule.name, spam=True)
    elif kind == "mail":
        for address in action["to"]:
            system.mail(ticket, address, action["subject"], action["value"], now)
    elif kind == "webhook":
        if not row.active:
            raise tickets.InvalidInput(f"the webhook {row.name} is switched off")
        webhooks.enqueue(row, system.webhook_called(ticket, row, now))
    elif kind == "resolve":
        system.resolve(ticket, wording.fill(action["value"], wording.values(ticket, {})), now)
    elif kind == "close":
        system.close(ticket, now, note=f"Closed by the rule “{run.rule.name}”")


def describe(action: dict, ticket: Ticket | None = None) -> tuple[str, bool]:
    """What the action would do, in words, and whether it would change anything on this ticket
    (the preview); without a ticket, what it does."""
    spec = ACTIONS.get(action.get("type"))
    if spec is None:
        return "(an unknown action)", False
    if spec.value == "none":
        return spec.label, True
    if spec.value in ("text", "addresses", "tags"):
        value = action["value"]
        shown = ", ".join(value) if isinstance(value, list) else (value if len(value) <= 80 else value[:77] + "…")
        return f"{spec.label}: {shown}", True
    if spec.value == "mail":
        return f"{spec.label}: {', '.join(action['to'])} (“{action['subject']}”)", True
    row = _row(action)
    if row is None:
        return _gone(action), False
    name = getattr(row, "name", None) or getattr(row, "title", "")
    same = ticket is not None and {
        "set_department": ticket.department_id, "set_topic": ticket.topic_id, "set_priority": ticket.priority_id,
        "set_sla": ticket.sla_id, "set_team": ticket.team_id, "assign_agent": ticket.assignee_id,
    }.get(spec.key) == row.id
    if same:
        return f"{spec.label}: {name} (already so)", False
    return f"{spec.label}: {name}", True
