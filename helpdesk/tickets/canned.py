"""Canned responses: which ones an agent may insert on a ticket or manage, their text filled in
for a ticket, and saving or deleting them (shared ones audited).

Who may use one: its agent (personal), the agents of its department (and admins), everyone
(desk-wide). Who may manage one: its agent; a manager the responses of their departments; an
admin every shared one. Placeholders are the mail templates' (mail/wording.py COMMON).

Files go with a response (stored as tickets' attachments are, under the same limits); an answer
it is inserted into gets copies of them, stored anew, so deleting the response never takes a
file from a ticket."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from .. import attachments, audit, clock, settings, text
from ..extensions import db
from ..mail import wording
from ..models import Agent, CannedAttachment, CannedResponse, Department, Macro, Rule, Ticket, agent_departments
from ..models.canned import BODY_MAX, TITLE_MAX
from .rules import InvalidInput

SEARCH_MAX = 100
RESULTS_MAX = 20
PLACEHOLDERS = wording.COMMON  # the same fixed list the mails use


def _departments_of(agent: Agent):
    return select(agent_departments.c.department_id).where(agent_departments.c.agent_id == agent.id)


def usable_clause(agent: Agent, owner, department, ticket: Ticket | None = None):
    """SQL: the rows of a personal / department / desk-wide kind (canned responses, macros; `owner`
    and `department` their columns) this agent may use: their own, the desk's, and their
    departments' (admins: every department's), on this ticket's department (None: any ticket)."""
    if ticket is None:
        theirs = department.is_not(None) if agent.is_admin else department.in_(_departments_of(agent))
    else:
        theirs = (department == ticket.department_id) if agent.is_admin else and_(
            department == ticket.department_id, department.in_(_departments_of(agent)))
    return or_(owner == agent.id, and_(owner.is_(None), department.is_(None)), theirs)


def managed_clause(agent: Agent, owner, department):
    """SQL: the rows of such a kind this agent may edit and delete: their own, their departments'
    (managers) and every shared one (admins)."""
    if agent.is_admin:
        return or_(owner == agent.id, owner.is_(None))
    if agent.is_manager:
        return or_(owner == agent.id, department.in_(_departments_of(agent)))
    return owner == agent.id


def _usable_on(agent: Agent, ticket: Ticket):
    """SQL: the responses this agent may insert on this ticket."""
    return usable_clause(agent, CannedResponse.agent_id, CannedResponse.department_id, ticket)


def usable(agent: Agent, ticket: Ticket, q: str = "") -> list[CannedResponse]:
    """The responses the agent may insert on this ticket whose title or text holds every word of q."""
    where = [_usable_on(agent, ticket)]
    for word in (q or "").strip()[:SEARCH_MAX].split():
        pattern = "%" + word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(func.lower(CannedResponse.title).like(pattern, escape="\\"),
                         func.lower(CannedResponse.body).like(pattern, escape="\\")))
    return list(db.session.scalars(select(CannedResponse).where(*where).options(selectinload(CannedResponse.files))
                                   .order_by(func.lower(CannedResponse.title), CannedResponse.id).limit(RESULTS_MAX)))


def find_usable(agent: Agent, ticket: Ticket, response_id: int) -> CannedResponse | None:
    """The response if the agent may insert it on this ticket, else None."""
    return db.session.scalar(select(CannedResponse).where(CannedResponse.id == response_id,
                                                          _usable_on(agent, ticket)))


def filled(response: CannedResponse, ticket: Ticket, agent: Agent) -> str:
    """The response's text for this ticket, written by this agent: placeholders filled."""
    return fill(response.body, ticket, agent)


def fill(body: str, ticket: Ticket, agent: Agent) -> str:
    """A text for this ticket, written by this agent: its placeholders filled (a canned
    response's, or a macro's own text)."""
    values = wording.values(ticket, {"agent": agent, "desk_name": settings.get("desk_name")})
    return wording.fill(body, {name: values[name] for name in PLACEHOLDERS})


# --- managing them ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Whose a response is, as the editor's select offers it: "me", "desk" or "department-<id>"."""

    key: str
    label: str
    department: Department | None = None


def owners(agent: Agent) -> list[Owner]:
    """Whose responses this agent may write: their own, their departments' (managers; admins
    every department's) and the desk's (admins)."""
    found = [Owner("me", "Only me (personal)")]
    if agent.is_admin:
        found.append(Owner("desk", "Everyone (desk-wide)"))
        departments = db.session.scalars(select(Department).order_by(Department.name)).all()
    elif agent.is_manager:
        departments = agent.departments
    else:
        departments = []
    found += [Owner(f"department-{d.id}", f"Agents of {d.name}", d) for d in departments]
    return found


def owner_key(response: CannedResponse) -> str:
    if response.agent_id:
        return "me"
    return f"department-{response.department_id}" if response.department_id else "desk"


def _managed(agent: Agent):
    """SQL: the responses this agent may edit and delete."""
    return managed_clause(agent, CannedResponse.agent_id, CannedResponse.department_id)


def managed(agent: Agent) -> list[CannedResponse]:
    """The responses this agent manages: personal first, then by department, then desk-wide."""
    rows = db.session.scalars(select(CannedResponse).where(_managed(agent)).options(selectinload(CannedResponse.files))
                              .order_by(func.lower(CannedResponse.title), CannedResponse.id)).all()
    order = {"personal": 0, "department": 1, "desk": 2}
    return sorted(rows, key=lambda r: (order[r.scope], r.department.name if r.department else ""))


def find_managed(agent: Agent, response_id: int) -> CannedResponse | None:
    return db.session.scalar(select(CannedResponse).where(CannedResponse.id == response_id, _managed(agent)))


def check(title: str, body: str) -> tuple[str, str]:
    """The title and body as saved, or InvalidInput saying what is wrong."""
    title = text.one_line(title or "")
    body = (body or "").replace("\r\n", "\n").strip("\n")
    if not title:
        raise InvalidInput("Give the response a title.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"The title is too long (at most {TITLE_MAX} characters).")
    if not body.strip():
        raise InvalidInput("Write the response's text.")
    if len(body) > BODY_MAX:
        raise InvalidInput(f"The text is too long (at most {BODY_MAX} characters).")
    unknown = wording.unknown_among(PLACEHOLDERS, body)
    if unknown:
        raise InvalidInput(f"Unknown placeholder{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                           f"Use only {', '.join('{' + n + '}' for n in PLACEHOLDERS)}.")
    return title, body


def _owner(agent: Agent, key: str) -> Owner:
    for owner in owners(agent):
        if owner.key == key:
            return owner
    raise InvalidInput("Choose who may use the response.")


def _audited(agent: Agent, response: CannedResponse) -> bool:
    """Shared responses are the desk's configuration: their every change is in the audit log."""
    return response.agent_id is None


def save(agent: Agent, response: CannedResponse | None, title: str, body: str, owner: str, *,
         uploads=(), remove=(), stored: list | None = None, removed: list | None = None) -> CannedResponse:
    """Create (response None) or change a response the agent manages; `uploads` (checked) are
    added to its files, the files with ids in `remove` taken off. The keys of files written go
    to `stored` (to discard if the save fails), those of files taken off to `removed` (to
    discard once it is committed)."""
    title, body = check(title, body)
    chosen = _owner(agent, owner)
    response = _save(agent, response, title, body, chosen)
    _change_files(agent, response, uploads, remove, [] if stored is None else stored,
                  [] if removed is None else removed)
    return response


def _change_files(agent, response, uploads, remove, stored, removed) -> None:
    remove = {str(i) for i in remove}
    gone = [f for f in response.files if str(f.id) in remove]
    if len(response.files) - len(gone) + len(uploads) > settings.get("max_attachments"):
        raise InvalidInput(f"A canned response has at most {settings.get('max_attachments')} files: "
                           "remove one before adding another.")
    changes = []
    for item in gone:
        response.files.remove(item)
        removed.append(item.storage_key)
        changes.append(("file removed", item.filename, ""))
    for upload in uploads:
        key = attachments.store(upload)
        stored.append(key)
        response.files.append(CannedAttachment(filename=upload.filename, content_type=upload.content_type,
                                               size=upload.size, sha256=upload.sha256, storage_key=key,
                                               created_at=clock.utcnow()))
        changes.append(("file added", "", upload.filename))
    if changes:
        response.updated_at = clock.utcnow()
        db.session.flush()
        if _audited(agent, response):
            audit.record("canned_response", response, changes, actor=agent)


def _save(agent: Agent, response: CannedResponse | None, title: str, body: str, chosen: Owner) -> CannedResponse:
    values = {"title": title, "body": body,
              "agent": agent if chosen.key == "me" else None,
              "department": chosen.department}
    now = clock.utcnow()
    if response is None:
        response = CannedResponse(created_at=now, updated_at=now, **values)
        db.session.add(response)
        db.session.flush()
        if _audited(agent, response):
            audit.record("canned_response", response, [("created", "", response.scope_label)], actor=agent)
        return response
    was_shared = _audited(agent, response)
    before = response.scope_label
    changes = audit.apply(response, values)
    if changes:
        response.updated_at = now
    db.session.flush()
    if was_shared or _audited(agent, response):
        changes = [c for c in changes if c[0] not in ("agent", "department")]
        if before != response.scope_label:
            changes.append(("used by", before, response.scope_label))
        if changes:
            audit.record("canned_response", response, changes, actor=agent)
    return response


def used_by(response: CannedResponse) -> list[Macro]:
    """The macros whose steps use this response."""
    found = []
    for macro in db.session.scalars(select(Macro).where(Macro.actions.contains(str(response.id)))
                                    .order_by(func.lower(Macro.name), Macro.id)):
        if any(step.get("canned") == response.id for step in macro.steps):
            found.append(macro)
    return found


def rules_using(response: CannedResponse) -> list[Rule]:
    """The automation rules that send this response (a canned reply)."""
    return [rule for rule in db.session.scalars(select(Rule).where(Rule.actions.contains("canned_reply"))
                                                .order_by(func.lower(Rule.name), Rule.id))
            if any(a.get("type") == "canned_reply" and a.get("value") == response.id for a in rule.action_list)]


def delete(agent: Agent, response: CannedResponse) -> None:
    """Delete a response the agent manages; refused (InvalidInput) while a macro uses it, naming
    the macros (another agent's personal ones only counted), or a rule sends it."""
    rules = rules_using(response)
    if rules:
        names = ", ".join(f"“{r.name}”" for r in rules)
        raise InvalidInput(f"The canned response “{response.title}” is sent by the automation rule"
                           f"{'s' if len(rules) > 1 else ''} {names}: change {'them' if len(rules) > 1 else 'it'} "
                           "first (Admin > Automation rules).")
    users = used_by(response)
    if users:
        named = [f"“{m.name}”" for m in users if m.owner_id in (None, agent.id)]
        others = len(users) - len(named)
        if others:
            named.append(f"{others} personal macro{'s' if others > 1 else ''} of other agents")
        raise InvalidInput(f"The canned response “{response.title}” is used by the macro{'s' if len(users) > 1 else ''} "
                           f"{', '.join(named)}: change or delete {'them' if len(users) > 1 else 'it'} first.")
    if _audited(agent, response):
        audit.record("canned_response", response, [("deleted", response.scope_label, "")], actor=agent)
    db.session.delete(response)


def file_keys(response: CannedResponse) -> list[str]:
    """Where the response's files are stored (to discard once its deletion is committed)."""
    return [f.storage_key for f in response.files]


def _usable_somewhere(agent: Agent):
    """SQL: the responses this agent may insert on some ticket (their own, desk-wide, their
    departments'; an admin's: every department's)."""
    department = CannedResponse.department_id.isnot(None) if agent.is_admin else \
        CannedResponse.department_id.in_(_departments_of(agent))
    return or_(CannedResponse.agent_id == agent.id,
               and_(CannedResponse.agent_id.is_(None), CannedResponse.department_id.is_(None)), department)


def find_file(agent: Agent, response_id: int, file_id: int) -> CannedAttachment | None:
    """A file of a response this agent manages or may use, if it is on disk; else None."""
    item = db.session.scalar(
        select(CannedAttachment).join(CannedResponse, CannedAttachment.response_id == CannedResponse.id)
        .where(CannedAttachment.id == file_id, CannedResponse.id == response_id,
               or_(_managed(agent), _usable_somewhere(agent))))
    return item if item is not None and attachments.path_for(item.storage_key).is_file() else None


def usable_files(agent: Agent, ticket: Ticket, ids) -> list[CannedAttachment]:
    """The canned responses' files with these ids (as posted), all of responses the agent may use
    on this ticket; InvalidInput otherwise."""
    wanted = []
    for raw in ids:
        if not str(raw).isdigit() or not 0 < int(raw) < 2**31:
            raise InvalidInput("A file from a canned response is not one you may send on this ticket.")
        if int(raw) not in wanted:
            wanted.append(int(raw))
    if not wanted:
        return []
    found = {f.id: f for f in db.session.scalars(
        select(CannedAttachment).join(CannedResponse, CannedAttachment.response_id == CannedResponse.id)
        .where(CannedAttachment.id.in_(wanted), _usable_on(agent, ticket)))}
    if len(found) != len(wanted) or not all(attachments.path_for(f.storage_key).is_file() for f in found.values()):
        raise InvalidInput("A file from a canned response is not one you may send on this ticket "
                           "(or it was removed from the response meanwhile): insert the response again.")
    return [found[i] for i in wanted]


def copies(files: list[CannedAttachment]) -> list[attachments.Upload]:
    """The files as uploads: the answer they go with stores its own copies."""
    return [attachments.Upload(f.filename, f.content_type, attachments.path_for(f.storage_key).read_bytes())
            for f in files]
