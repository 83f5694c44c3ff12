"""Macros: which ones an agent may apply on a ticket or manage, saving and deleting them (shared
ones audited), and applying one to a ticket (apply_macro), step by step through the lifecycle.

Who may use and manage them is as for canned responses (tickets/canned.py): a personal macro is
its owner's; a department's is for that department's agents (and admins) on its tickets, managed
by its managers and the admins; a desk-wide one is everyone's, managed by the admins.
The steps themselves are macro_steps.py."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select

from .. import audit, clock, text
from ..extensions import db
from ..models import Agent, CannedResponse, Macro, Ticket
from ..models.macro import DESCRIPTION_MAX, NAME_MAX
from . import macro_steps
from .canned import managed_clause, owners, usable_clause
from .rules import Conflict, InvalidInput, LifecycleError, NoChange, NotAllowed

__all__ = ["Outcome", "apply_macro", "delete", "find_managed", "find_usable", "managed", "owners", "save",
           "usable", "usable_anywhere"]


# --- who may use which --------------------------------------------------------------------------


def _usable_on(agent: Agent, ticket: Ticket):
    """SQL: the active macros this agent may apply on this ticket."""
    return and_(Macro.active.is_(True), usable_clause(agent, Macro.owner_id, Macro.department_id, ticket))


def _usable_anywhere(agent: Agent):
    """SQL: the active macros this agent may apply on some ticket (the bulk bar's list)."""
    return and_(Macro.active.is_(True), usable_clause(agent, Macro.owner_id, Macro.department_id))


def _ordered(where) -> list[Macro]:
    return list(db.session.scalars(select(Macro).where(where).order_by(func.lower(Macro.name), Macro.id)))


def usable(agent: Agent, ticket: Ticket) -> list[Macro]:
    return _ordered(_usable_on(agent, ticket))


def usable_anywhere(agent: Agent) -> list[Macro]:
    return _ordered(_usable_anywhere(agent))


def find_usable(agent: Agent, macro_id: int, ticket: Ticket | None = None) -> Macro | None:
    where = _usable_on(agent, ticket) if ticket is not None else _usable_anywhere(agent)
    return db.session.scalar(select(Macro).where(Macro.id == macro_id, where))


# --- managing them --------------------------------------------------------------------------------


def _managed(agent: Agent):
    return managed_clause(agent, Macro.owner_id, Macro.department_id)


def managed(agent: Agent) -> list[Macro]:
    """The macros this agent manages: personal first, then by department, then desk-wide."""
    order = {"personal": 0, "department": 1, "desk": 2}
    return sorted(_ordered(_managed(agent)), key=lambda m: (order[m.scope], m.department.name if m.department else ""))


def find_managed(agent: Agent, macro_id: int) -> Macro | None:
    return db.session.scalar(select(Macro).where(Macro.id == macro_id, _managed(agent)))


def owner_key(macro: Macro) -> str:
    if macro.owner_id:
        return "me"
    return f"department-{macro.department_id}" if macro.department_id else "desk"


def _may_use_canned(agent: Agent, owner) -> callable:
    """Which canned responses a macro of this owner may use: one every user of the macro may use
    (a personal macro: any its owner may use; a department's: desk-wide or that department's;
    desk-wide: desk-wide ones)."""
    departments = {d.id for d in agent.departments}

    def may(response: CannedResponse) -> bool:
        if response.agent_id is None and response.department_id is None:
            return True
        if owner.key == "me":
            return response.agent_id == agent.id or (
                response.department_id is not None and (agent.is_admin or response.department_id in departments))
        return owner.department is not None and response.department_id == owner.department.id

    return may


def _owner(agent: Agent, key: str):
    for owner in owners(agent):
        if owner.key == key:
            return owner
    raise InvalidInput("Choose who may use the macro.")


def check(name: str, description: str) -> tuple[str, str]:
    name = text.one_line(name or "")
    description = text.one_line(description or "")
    if not name:
        raise InvalidInput("Give the macro a name.")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"The name is too long (at most {NAME_MAX} characters).")
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"The description is too long (at most {DESCRIPTION_MAX} characters).")
    return name, description


def _audited(macro: Macro) -> bool:
    """Shared macros are the desk's configuration: their every change is in the audit log."""
    return macro.owner_id is None


def save(agent: Agent, macro: Macro | None, *, name: str, description: str, owner: str, rows: list[dict],
         active: bool = True) -> Macro:
    """Create (macro None) or change a macro the agent manages; InvalidInput (nothing saved) if any
    of it is wrong."""
    name, description = check(name, description)
    chosen = _owner(agent, owner)
    steps = macro_steps.clean(rows, _may_use_canned(agent, chosen))
    values = {"name": name, "description": description, "actions": json.dumps(steps), "active": bool(active),
              "owner": agent if chosen.key == "me" else None, "department": chosen.department}
    now = clock.utcnow()
    if macro is None:
        macro = Macro(created_at=now, updated_at=now, updated_by=agent, **values)
        db.session.add(macro)
        db.session.flush()
        if _audited(macro):
            audit.record("macro", macro, [("created", "", f"{macro.scope_label}: {macro_steps.summary(steps)}")],
                         actor=agent)
        return macro
    was_shared, before, steps_before = _audited(macro), macro.scope_label, macro_steps.summary(macro.steps)
    changes = audit.apply(macro, values)
    if changes:
        macro.updated_at, macro.updated_by = now, agent
    db.session.flush()
    if was_shared or _audited(macro):
        changes = [c for c in changes if c[0] not in ("owner", "department", "actions")]
        if before != macro.scope_label:
            changes.append(("used by", before, macro.scope_label))
        if steps_before != macro_steps.summary(steps):
            changes.append(("steps", steps_before, macro_steps.summary(steps)))
        if changes:
            audit.record("macro", macro, changes, actor=agent)
    return macro


def delete(agent: Agent, macro: Macro) -> None:
    if _audited(macro):
        audit.record("macro", macro, [("deleted", macro.scope_label, "")], actor=agent)
    db.session.delete(macro)


# --- applying one -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What applying a macro did: the steps done (in words), those that changed nothing (already
    so), the step refused and why (None: all applied), and the steps not tried after it."""

    name: str
    total: int
    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: str | None = None
    reason: str = ""
    left: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.refused is None

    @property
    def message(self) -> str:
        already = f" Already so, nothing to do: {'; '.join(self.unchanged)}." if self.unchanged else ""
        if self.complete:
            return f"The macro “{self.name}” was applied: {'; '.join(self.done) or 'nothing to change'}.{already}"
        left = f" Not applied: {'; '.join(self.left)}." if self.left else ""
        return (f"The macro “{self.name}” stopped at {self.refused}: {self.reason} "
                f"Done before it, and they stay done: {'; '.join(self.done)}.{already}{left}")


def apply_macro(agent: Agent, ticket: Ticket, macro: Macro, *, expected_version: int | None = None) -> Outcome:
    """Run the macro's steps in order on the ticket, each through its lifecycle function with the
    agent as actor (its own permission check, history and mail). The first is checked against
    `expected_version` (rules.check); each later one against the version the step before left.

    Refused before anything is done (the lifecycle's error, nothing changed): a macro the agent
    may not use here, or one preflight shows cannot apply fully (a step for a higher role, a
    status the ticket would not be in), or whose first change is refused. A step refused later
    stops the macro there: the Outcome says what was done (it stays done) and what was not.
    A step that would change nothing (NoChange: the priority already is Low) is noted and passed."""
    if not macro.active or find_usable(agent, macro.id, ticket) is None:
        raise NotAllowed(f"You may not apply the macro “{macro.name}” to this ticket.")
    steps = macro.steps
    try:
        macro_steps.preflight(agent, ticket, steps)
    except LifecycleError as exc:
        raise type(exc)(f"The macro “{macro.name}” was not applied: {exc.message}") from exc
    outcome = Outcome(macro.name, len(steps))
    version = expected_version
    for n, step in enumerate(steps, 1):
        said = macro_steps.describe(step)
        try:
            macro_steps.run(agent, ticket, step, version)
        except NoChange as exc:
            db.session.rollback()
            outcome.unchanged.append(f"{said} ({exc.message.rstrip('.')})")
        except LifecycleError as exc:
            db.session.rollback()
            if not outcome.done:  # nothing changed yet: refused as a whole
                if isinstance(exc, Conflict):
                    raise
                raise type(exc)(f"The macro “{macro.name}” was not applied: step {n} ({said}): {exc.message}") from exc
            outcome.refused, outcome.reason = f"step {n} of {len(steps)} ({said})", exc.message
            outcome.left = [macro_steps.describe(s) for s in steps[n:]]
            return outcome
        else:
            outcome.done.append(said)
        version = ticket.version
    return outcome
