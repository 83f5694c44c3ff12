"""What a macro's steps may be (KINDS), checking them as they are saved (clean), saying what
each does (describe), checking a whole macro against a ticket before it runs (preflight), and
running one step through its public lifecycle function (run).

A step is stored as a small dict: {"do": kind, "text": ..., "canned": response id,
"target": "<what>:<id>"}, e.g. {"do": "reply", "canned": 3}, {"do": "set_priority",
"target": "priority:2"}, {"do": "assign", "target": "team:4"}. "text" and "canned" are for the
kinds that write something; "target" names one row of TARGETS."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import text as texts
from ..extensions import db
from ..mail import wording
from ..models import STATUS_LABELS, Agent, CannedResponse, Priority, SLAPlan, Tag, Team, Ticket
from . import canned
from .assignment import assign, claim, set_priority, set_sla
from .conversation import add_note, reply, request_info
from .resolution import close, resolve, resume
from .rules import BODY_MAX, TRANSITIONS, InvalidInput, InvalidTransition, NoChange, NotAllowed, can_see
from .tags import add_tags, remove_tag

STEPS_MAX = 20

# What a step's "target" may name: its model, and what the messages call it.
TARGETS: dict[str, tuple[type, str]] = {
    "priority": (Priority, "priority"),
    "agent": (Agent, "agent"),
    "team": (Team, "team"),
    "sla": (SLAPlan, "SLA plan"),
    "tag": (Tag, "tag"),
}


@dataclass(frozen=True)
class Kind:
    """One kind of step: its label, the lifecycle action it is (TRANSITIONS: who may take it from
    which status), whether it writes a text ("required", "optional" or "") and may take a canned
    response's instead, what its target may be, and how it runs."""

    label: str
    action: str
    text: str = ""
    canned: bool = False
    targets: tuple[str, ...] = ()
    run: Callable = None  # (agent, ticket, text, target record, version)


def _assign(agent, ticket, body, target, version):
    if isinstance(target, Team):
        return assign(agent, ticket, team=target, expected_version=version)
    return assign(agent, ticket, agent=target, expected_version=version)


def _claim(agent, ticket, body, target, version):
    if ticket.assignee_id == agent.id:
        raise NoChange("The ticket is already yours.")
    return claim(agent, ticket, expected_version=version)


# The vocabulary, in the order the editor offers it. Each runs one public lifecycle function.
KINDS: dict[str, Kind] = {
    "reply": Kind("Reply to the customer", "reply", "required", True,
                  run=lambda a, t, body, x, v: reply(a, t, body, expected_version=v)),
    "note": Kind("Add an internal note", "note", "required", True,
                 run=lambda a, t, body, x, v: add_note(a, t, body, expected_version=v)),
    "request_info": Kind("Ask the customer", "request_info", "required", True,
                         run=lambda a, t, body, x, v: request_info(a, t, body, expected_version=v)),
    "resolve": Kind("Resolve, with the resolution", "resolve", "required", True,
                    run=lambda a, t, body, x, v: resolve(a, t, body, expected_version=v)),
    "close": Kind("Close", "close", "optional",
                  run=lambda a, t, body, x, v: close(a, t, body, expected_version=v)),
    "resume": Kind("Resume work", "resume", "optional",
                   run=lambda a, t, body, x, v: resume(a, t, body, expected_version=v)),
    "set_priority": Kind("Set the priority", "set_priority", targets=("priority",),
                         run=lambda a, t, body, p, v: set_priority(a, t, p, expected_version=v)),
    "claim": Kind("Assign to me", "claim", run=_claim),
    "assign": Kind("Assign to an agent or a team", "assign", targets=("agent", "team"), run=_assign),
    "set_sla": Kind("Set the SLA plan", "set_sla", targets=("sla",),
                    run=lambda a, t, body, s, v: set_sla(a, t, s, expected_version=v)),
    "add_tag": Kind("Add a tag", "tag", targets=("tag",),
                    run=lambda a, t, body, tag, v: add_tags(a, t, [tag.name], expected_version=v)),
    "remove_tag": Kind("Remove a tag", "tag", targets=("tag",),
                       run=lambda a, t, body, tag, v: remove_tag(a, t, tag.name, expected_version=v)),
}


def target_record(value: str):
    """The row a step's target names ("team:4"), or None."""
    what, _, ident = (value or "").partition(":")
    if what not in TARGETS or not ident.isdigit() or len(ident) > 12:
        return None
    return db.session.get(TARGETS[what][0], int(ident))


def _usable_target(record) -> bool:
    return record is not None and getattr(record, "active", True)


# --- saving ---------------------------------------------------------------------------------------


def clean(rows: list[dict], may_use_canned: Callable[[CannedResponse], bool]) -> list[dict]:
    """The steps as saved, from the editor's rows ({"do", "text", "canned", "target"} strings),
    or InvalidInput saying which step is wrong and how. `may_use_canned(response)`: whether the
    macro may use that canned response (its users may all use it)."""
    rows = [r for r in rows if any((r.get(k) or "").strip() for k in ("do", "text", "canned", "target"))]
    if not rows:
        raise InvalidInput("Add at least one step.")
    if len(rows) > STEPS_MAX:
        raise InvalidInput(f"A macro has at most {STEPS_MAX} steps; this one has {len(rows)}.")
    return [_clean_step(n, row, may_use_canned) for n, row in enumerate(rows, 1)]


def _clean_step(n: int, row: dict, may_use_canned) -> dict:
    do = (row.get("do") or "").strip()
    if do not in KINDS:
        raise InvalidInput(f"Step {n}: choose what it does." if not do else
                           f"Step {n}: there is no step “{texts.one_line(do, 40)}”; choose one of the list.")
    kind = KINDS[do]
    where = f"Step {n} ({kind.label})"
    step: dict = {"do": do}
    body = (row.get("text") or "").replace("\r\n", "\n").strip()
    chosen = (row.get("canned") or "").strip()
    if kind.text:
        if chosen and kind.canned:
            response = db.session.get(CannedResponse, int(chosen)) if chosen.isdigit() and len(chosen) <= 12 else None
            if response is None or not may_use_canned(response):
                raise InvalidInput(f"{where}: there is no such canned response, or not one every user of this "
                                   "macro may use.")
            if body:
                raise InvalidInput(f"{where}: write a text or choose a canned response, not both.")
            step["canned"] = response.id
        elif body:
            if len(body) > BODY_MAX:
                raise InvalidInput(f"{where}: the text is too long (at most {BODY_MAX} characters).")
            unknown = wording.unknown_among(canned.PLACEHOLDERS, body)
            if unknown:
                raise InvalidInput(f"{where}: unknown placeholder{'s' if len(unknown) > 1 else ''} "
                                   f"{', '.join(unknown)}.")
            step["text"] = body
        elif kind.text == "required":
            raise InvalidInput(f"{where}: write the text" + (" or choose a canned response." if kind.canned else "."))
    if kind.targets:
        value = (row.get("target") or "").strip()
        names = " or ".join(TARGETS[t][1] for t in kind.targets)
        if not value:
            raise InvalidInput(f"{where}: choose the {names}.")
        what = value.partition(":")[0]
        if what in TARGETS and what not in kind.targets:
            raise InvalidInput(f"{where}: choose the {names}, not a{'n' if what == 'agent' else ''} {TARGETS[what][1]}.")
        record = target_record(value) if what in kind.targets else None
        if not _usable_target(record):
            raise InvalidInput(f"{where}: there is no such {names}, or it is not active.")
        step["target"] = f"{value.partition(':')[0]}:{record.id}"
    return step


def as_row(step: dict) -> dict:
    """A saved step as the editor's row."""
    return {"do": step.get("do", ""), "text": step.get("text", ""),
            "canned": str(step["canned"]) if step.get("canned") else "", "target": step.get("target", "")}


def canned_ids(steps: list[dict]) -> set[int]:
    return {s["canned"] for s in steps if isinstance(s.get("canned"), int)}


# --- what a step does, in words ------------------------------------------------------------------


def describe(step: dict, brief: bool = False) -> str:
    """One step in words: "Reply to the customer: “Password reset done”", "Set the priority: Low"
    (`brief`: without the start of a text written in the macro)."""
    kind = KINDS.get(step.get("do"))
    if kind is None:
        return "An unknown step"
    if step.get("canned"):
        response = db.session.get(CannedResponse, step["canned"])
        return f"{kind.label}: “{response.title if response else 'a deleted canned response'}”"
    if step.get("target"):
        record = target_record(step["target"])
        return f"{kind.label}: {record.name if record is not None else 'something deleted since'}"
    if step.get("text") and not brief:
        return f"{kind.label}: “{texts.one_line(step['text'], 60)}”"
    return kind.label


def summary(steps: list[dict], brief: bool = False) -> str:
    """The steps on one line: "Reply to the customer; Resolve; Set the priority: Low"."""
    return "; ".join(describe(s, brief) for s in steps)


# --- applying -------------------------------------------------------------------------------------


def preflight(agent: Agent, ticket: Ticket, steps: list[dict]) -> None:
    """Refuse a macro that cannot apply fully, before anything is done: a step for a role the
    agent lacks, one the ticket's status (as the steps before it leave it) does not take, or
    one whose canned response, agent, team, priority or SLA plan is gone (or inactive).
    What only running shows (the ticket changed meanwhile, an assignment the rules refuse) is
    left to each step's own check."""
    if not can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    status = ticket.status
    for n, step in enumerate(steps, 1):
        kind = KINDS.get(step.get("do"))
        if kind is None:
            raise InvalidInput(f"step {n} is of a kind this desk no longer knows.")
        t = TRANSITIONS[kind.action]
        where = f"step {n} of {len(steps)} ({kind.label})"
        if not agent.has_role(t.role):
            raise NotAllowed(f"{where} is for a {t.role} or above.")
        if status not in t.sources:
            raise InvalidTransition(f"{where} cannot be taken when the ticket is {STATUS_LABELS[status].lower()}"
                                    f"{' (as the steps before it leave it)' if n > 1 else ''}.")
        if step.get("canned") and db.session.get(CannedResponse, step["canned"]) is None:
            raise InvalidInput(f"{where}: the canned response it uses was deleted.")
        if kind.targets and not _usable_target(target_record(step.get("target", ""))):
            raise InvalidInput(f"{where}: what it names was deleted or is no longer active.")
        if t.target is None:
            status = "open" if status == "new" else status
        elif t.target:
            status = t.target


def run(agent: Agent, ticket: Ticket, step: dict, version: int | None):
    """One step, through its lifecycle function, with the agent as the actor."""
    kind = KINDS[step["do"]]
    body = ""
    if step.get("canned"):
        response = db.session.get(CannedResponse, step["canned"])
        if response is None:
            raise InvalidInput("The canned response it uses was deleted.")
        body = canned.filled(response, ticket, agent)
    elif step.get("text"):
        body = canned.fill(step["text"], ticket, agent)
    target = None
    if kind.targets:
        target = target_record(step.get("target", ""))
        if not _usable_target(target):
            raise InvalidInput(f"The {TARGETS[step.get('target', '').partition(':')[0]][1]} it names was deleted "
                               "or is no longer active." if step.get("target", "").partition(":")[0] in TARGETS
                               else "It names nothing this desk knows.")
    return kind.run(agent, ticket, body, target, version)
