"""Writing rules: who may write which, a rule as the editor sends it (Draft), every part checked
before anything is saved, the order rules run in, and the audit of every change.

Admins write the desk's rules and every department's; managers write their departments' rules
(which act only on those departments' tickets) and may read the others.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import func, select

from .. import audit, clock, text
from ..extensions import db
from ..models import MATCH, SOURCES, TRIGGERS, WAITS, Agent, Department, Rule
from ..models.automation import NAME_MAX
from . import actions, conditions, preview
from .conditions import RuleError

DESCRIPTION_MAX = 2000
WAIT_MAX = 365 * 24 * 60  # minutes: a year
# A rule that rejects: refused when it would have rejected every one of at least this many recent
# tickets (the admin surely meant something narrower).
REJECT_ALL_SAMPLE = 10


@dataclass
class Draft:
    """A rule as the editor sends it, before it is checked."""

    name: str = ""
    description: str = ""
    kind: str = "event"
    active: bool = True
    triggers: list[str] = field(default_factory=lambda: ["opened"])
    channels: list[str] = field(default_factory=list)
    wait: str = "pending"
    wait_amount: str = "3"
    wait_unit: str = "days"
    business_hours: bool = False
    match: str = "all"
    scope: str = "desk"  # "desk" or "department-<id>"
    conditions: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, rule: Rule) -> "Draft":
        minutes = rule.wait_minutes or 0
        unit = "days" if minutes and minutes % 1440 == 0 else "hours" if minutes and minutes % 60 == 0 else "minutes"
        amount = minutes // {"days": 1440, "hours": 60, "minutes": 1}[unit]
        return cls(name=rule.name, description=rule.description or "", kind=rule.kind, active=rule.active,
                   triggers=rule.trigger_list, channels=rule.channel_list, wait=rule.wait or "pending",
                   wait_amount=str(amount or 3), wait_unit=unit, business_hours=rule.business_hours,
                   match=rule.match, scope=f"department-{rule.department_id}" if rule.department_id else "desk",
                   conditions=rule.condition_list, actions=rule.action_list)


UNITS = {"minutes": 1, "hours": 60, "days": 1440}


# --- who may write which ---------------------------------------------------------------------


def scopes(agent: Agent) -> list[tuple[str, str, Department | None]]:
    """Where this agent may put a rule: the whole desk (admins) and departments."""
    if agent.is_admin:
        found = [("desk", "The whole desk", None)]
        departments = db.session.scalars(select(Department).order_by(Department.name)).all()
    elif agent.is_manager:
        found, departments = [], sorted(agent.departments, key=lambda d: d.name)
    else:
        return []
    return found + [(f"department-{d.id}", f"Only the tickets of {d.name}", d) for d in departments]


def may_write(agent: Agent, rule: Rule | None = None) -> bool:
    if agent.is_admin:
        return True
    if not agent.is_manager:
        return False
    if rule is None:
        return bool(agent.departments)
    return rule.department_id is not None and any(d.id == rule.department_id for d in agent.departments)


def visible(agent: Agent) -> list[Rule]:
    """Every rule, in the order they run (managers read them all: a desk rule runs on their tickets)."""
    return db.session.scalars(select(Rule).order_by(Rule.kind, Rule.position, Rule.id)).all()


# --- checking --------------------------------------------------------------------------------


def _department(agent: Agent, key: str) -> Department | None:
    for scope_key, _, department in scopes(agent):
        if scope_key == key:
            return department
    raise RuleError("Choose which tickets the rule is for.")


def _known_department(draft_conditions: list[dict], draft_actions: list[dict], scope_department) -> int | None:
    """The department the rule's tickets are in when it acts, when the rule says so."""
    for action in draft_actions:
        if action.get("type") == "set_department" and str(action.get("value", "")).isdigit():
            return int(action["value"])
    for condition in draft_conditions:
        if condition.get("field") == "department" and condition.get("op") == "is" \
                and str(condition.get("value", "")).isdigit():
            return int(condition["value"])
    return scope_department.id if scope_department is not None else None


def check(agent: Agent, draft: Draft, rule: Rule | None = None) -> dict:
    """The rule's columns as they will be saved, or RuleError saying the first thing to change."""
    name = text.one_line(draft.name)
    if not name:
        raise RuleError("Give the rule a name.")
    if len(name) > NAME_MAX:
        raise RuleError(f"The name is longer than {NAME_MAX} characters.")
    clash = db.session.scalar(select(Rule.id).where(func.lower(Rule.name) == name.lower(),
                                                    Rule.id != (rule.id if rule is not None else 0)))
    if clash is not None:
        raise RuleError("Another rule has this name.")
    description = (draft.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise RuleError(f"The description is longer than {DESCRIPTION_MAX} characters.")
    if draft.kind not in ("event", "time"):
        raise RuleError("Choose when the rule runs.")
    if rule is not None and rule.system and draft.kind != rule.kind:
        raise RuleError("This rule is the desk's own; it stays a rule of its kind.")
    department = _department(agent, draft.scope)
    values = {"name": name, "description": description, "kind": draft.kind, "active": bool(draft.active),
              "department_id": department.id if department is not None else None,
              "triggers": "", "channels": "", "wait": None, "wait_minutes": None, "business_hours": False}
    if draft.kind == "event":
        triggers = [t for t in TRIGGERS if t in draft.triggers]
        if not triggers:
            raise RuleError("Choose at least one moment the rule runs at (“When”).")
        unknown = set(draft.channels) - set(SOURCES)
        if unknown:
            raise RuleError("Choose channels from the list.")
        values["triggers"] = ",".join(triggers)
        values["channels"] = ",".join(s for s in SOURCES if s in draft.channels) if "opened" in triggers else ""
    else:
        if draft.wait not in WAITS:
            raise RuleError("Choose what the rule waits for.")
        amount = str(draft.wait_amount or "").strip()
        if not amount.isdigit() or int(amount) <= 0 or draft.wait_unit not in UNITS:
            raise RuleError("Say how long to wait: a whole number of minutes, hours or days, more than 0.")
        minutes = int(amount) * UNITS[draft.wait_unit]
        if minutes > WAIT_MAX:
            raise RuleError("Wait at most a year.")
        values.update(wait=draft.wait, wait_minutes=minutes, business_hours=bool(draft.business_hours))
    if draft.match not in MATCH:
        raise RuleError("Choose whether all or any of the conditions must hold.")
    checked_conditions = conditions.check_all(draft.conditions, draft.match)
    scope = actions.Scope(kind=draft.kind, triggers=frozenset(values["triggers"].split(",")) - {""},
                          department_id=values["department_id"],
                          ticket_department_id=_known_department(checked_conditions, draft.actions, department),
                          author=agent)
    checked_actions = actions.check_all(draft.actions, scope)
    values.update(match=draft.match, conditions=json.dumps(checked_conditions),
                  actions=json.dumps(checked_actions))
    return values


def unsaved(values: dict) -> Rule:
    """A rule not in the session (for the preview)."""
    return Rule(**values)


def _would_reject_everything(values: dict) -> bool:
    kinds = {a["type"] for a in json.loads(values["actions"])}
    if not kinds & {"reject", "spam"}:
        return False
    seen = preview.run(unsaved(values), 50)
    return seen.looked_at >= REJECT_ALL_SAMPLE and seen.matched == seen.looked_at


# --- saving ----------------------------------------------------------------------------------


def _described(values: dict) -> dict:
    """The audit's view of a rule's parts: words, not JSON."""
    shown = dict(values)
    shown["conditions"] = "; ".join(conditions.describe(c) for c in json.loads(values["conditions"]))
    shown["actions"] = "; ".join(actions.describe(a)[0] for a in json.loads(values["actions"]))
    return shown


def save(agent: Agent, rule: Rule | None, draft: Draft) -> tuple[Rule, list]:
    """Create (rule None) or change a rule; returns it and the changes (audited)."""
    if not may_write(agent, rule):
        raise RuleError("You may not change this rule.")
    values = check(agent, draft, rule)
    if _would_reject_everything(values):
        raise RuleError(f"This rule would have rejected every one of the last {REJECT_ALL_SAMPLE} or more "
                        "tickets: narrow its conditions.")
    now = clock.utcnow()
    created = rule is None
    if created:
        last = db.session.scalar(select(func.max(Rule.position)).where(Rule.kind == values["kind"]))
        rule = Rule(position=(last or 0) + 10, created_at=now)
        db.session.add(rule)
    before = {} if created else _described({k: getattr(rule, k) for k in values})
    for key, value in values.items():
        setattr(rule, key, value)
    after = _described(values)
    changes = [(key, audit.display(before.get(key)), audit.display(after[key])) for key in values
               if created and after[key] not in (None, "", False) or not created and before.get(key) != after[key]]
    changes = [(k.replace("_id", "").replace("_", " "), old, new) for k, old, new in changes]
    if created:
        changes.insert(0, ("created", "", rule.name))
    if changes:  # stamped: the engine reads the rules again
        rule.updated_at, rule.updated_by_id = now, agent.id
    db.session.flush()
    if changes:
        audit.record("rule", rule, changes, actor=agent)
    return rule, changes


def switch(agent: Agent, rule: Rule, active: bool) -> None:
    if not may_write(agent, rule):
        raise RuleError("You may not change this rule.")
    if rule.active == active:
        return
    audit.record("rule", rule, [("active", audit.display(rule.active), audit.display(active))], actor=agent)
    rule.active, rule.updated_at, rule.updated_by_id = active, clock.utcnow(), agent.id


def move(agent: Agent, rule: Rule, direction: int) -> bool:
    """Swap the rule with its neighbour in the running order (of the rules this agent may write)."""
    if not may_write(agent, rule):
        raise RuleError("You may not change this rule.")
    ordered = [r for r in db.session.scalars(select(Rule).where(Rule.kind == rule.kind)
                                             .order_by(Rule.position, Rule.id))]
    index = ordered.index(rule)
    other = index + direction
    if not 0 <= other < len(ordered):
        return False
    neighbour = ordered[other]
    for position, each in enumerate(ordered):  # positions made distinct, then the two swapped
        each.position = (position + 1) * 10
    rule.position, neighbour.position = neighbour.position, rule.position
    now = clock.utcnow()
    rule.updated_at = neighbour.updated_at = now
    audit.record("rule", rule, [("order", str(index + 1), str(other + 1))], actor=agent)
    return True


def delete(agent: Agent, rule: Rule) -> None:
    if not may_write(agent, rule):
        raise RuleError("You may not delete this rule.")
    if rule.system:
        raise RuleError("This rule is the desk's own: switch it off instead of deleting it.")
    audit.record("rule", rule, [("deleted", rule.name, "")], actor=agent)
    db.session.delete(rule)
