"""The API's endpoints: open a ticket, read it with its public thread, add a customer's message,
have the customer's link mailed, list a customer's tickets. Each translates JSON into one
lifecycle call and back.

No answer carries a customer's access link (or anything else that opens the portal): a link
is a customer's own key to write on the ticket, and a key's scopes must bound what it can do.
A key with the create scope writes only to the tickets it opened (Ticket.api_key_id)."""
from __future__ import annotations

import base64
import binascii
import io
import json
import re
from functools import wraps

from email_validator import EmailNotValidError, validate_email
from flask import g, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import FileStorage

from .. import settings, tickets
from ..attachments import UploadError, check_files, download, public_attachment
from ..extensions import db
from ..models import hash_api_key
from ..models import ApiKey, Attachment, Customer, HelpTopic, Priority, ThreadEntry, Ticket
from .. import clock
from ..mail.links import external_url
from ..text import is_number
from . import bp
from ..web.errors import ApiError, error_response
from .openapi import document

API_SOURCES = ("api", "chat")
PER_PAGE_DEFAULT, PER_PAGE_MAX, PAGE_MAX = 25, 100, 100_000
# A body nests three levels (the object, its attachments, each attachment); anything much
# deeper is no request of ours, and is refused before any code walks it.
JSON_DEPTH_MAX = 10
_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,12}$")


# --- keys, scopes, limits -------------------------------------------------------------------------


@bp.before_request
def authenticate():
    """Every endpoint but the OpenAPI document needs a valid, unrevoked key from an allowed address."""
    # The body limit (web.body_limit) allows for base64, a third larger than the files it carries.
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "Send your API key as 'Authorization: Bearer <key>'.")
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(secret.strip())))
    if key is None or key.revoked_at is not None:
        raise ApiError(401, "This API key is not valid, or it was revoked.")
    if not key.allows_ip(request.remote_addr):
        raise ApiError(403, f"This API key may not be used from {request.remote_addr}.")
    key.last_used_at = clock.utcnow()
    key.last_used_ip = (request.remote_addr or "")[:45] or None
    db.session.commit()
    g.api_key = key
    return None


def needs(scope: str):
    """Refuse (403) a key that lacks the scope."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if scope not in g.api_key.scope_list:
                raise ApiError(403, f"This API key lacks the '{scope}' scope.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    db.session.rollback()
    return error_response(exc.status, exc.message, exc.code, exc.fields)


# --- reading the request ----------------------------------------------------------------------------


def _too_deep(data, limit: int) -> bool:
    """Whether lists and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def _body() -> dict:
    """The request's JSON object: the one place the API parses a body. Whatever the parser
    refuses (bad syntax or encoding, or nesting so deep it runs out of stack) is a 400."""
    if request.mimetype != "application/json":
        raise ApiError(415, "Send the body as JSON, with 'Content-Type: application/json'.")
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ApiError(400, "The body is not valid JSON.") from None
    if _too_deep(data, JSON_DEPTH_MAX):
        raise ApiError(400, f"The body nests lists or objects more than {JSON_DEPTH_MAX} levels deep.")
    if not isinstance(data, dict):
        raise ApiError(422, "The body must be a JSON object.")
    return data


def _string(data: dict, name: str, *, required: bool = True, max_len: int = 200) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(422, f"'{name}' is required.", fields={name: "required"})
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"'{name}' must be a string.", fields={name: "not a string"})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(422, f"'{name}' is not valid Unicode text.", fields={name: "invalid text"}) from None
    value = value.replace("\x00", "").strip()
    if required and not value:
        raise ApiError(422, f"'{name}' cannot be empty.", fields={name: "empty"})
    if len(value) > max_len:
        raise ApiError(422, f"'{name}' is longer than {max_len} characters.", fields={name: "too long"})
    return value


def _email(value: str, name: str = "email") -> str:
    if re.search(r"[\s,;<>]", value) or len(value) > 254:
        raise ApiError(422, f"'{name}' must be one plain email address.", fields={name: "invalid"})
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ApiError(422, f"'{name}' is not a valid email address: {exc}", fields={name: "invalid"}) from None


def _uploads(data: dict) -> list:
    """Attachments as [{"filename", "data" (base64)}], checked like the web forms' uploads."""
    items = data.get("attachments")
    if items is None:
        return []
    if not isinstance(items, list):
        raise ApiError(422, "'attachments' must be a list.", fields={"attachments": "not a list"})
    max_mb, max_count = settings.get("max_attachment_mb"), settings.get("max_attachments")
    max_bytes = max_mb * 1024 * 1024
    if len(items) > max_count:
        raise ApiError(422, f"At most {max_count} files can be attached at once.", fields={"attachments": "too many"})
    files = []
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("filename"), str) \
                or not isinstance(item.get("data"), str) or not item["filename"].strip():
            raise ApiError(422, f"Attachment {n + 1} needs a 'filename' and base64 'data' (strings).",
                           fields={"attachments": "invalid item"})
        encoded = item["data"]
        if len(encoded) * 3 // 4 > max_bytes + 3:
            raise ApiError(413, f"{item['filename'][:120]} is larger than {max_mb} MB, "
                                "the limit for one file.")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, f"Attachment {n + 1}: 'data' is not valid base64.",
                           fields={"attachments": "invalid base64"}) from None
        if len(raw) > max_bytes:
            raise ApiError(413, f"{item['filename'][:120]} is larger than {max_mb} MB, "
                                "the limit for one file.")
        files.append(FileStorage(io.BytesIO(raw), filename=item["filename"][:255]))
    try:
        return check_files(files)
    except UploadError as exc:
        raise ApiError(422, str(exc), fields={"attachments": "refused"}) from None


def _lifecycle(exc: tickets.LifecycleError) -> ApiError:
    status = {400: 422}.get(exc.status, exc.status)
    return ApiError(status, exc.message)


# --- writing the response ----------------------------------------------------------------------------


def _time(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def attachment_json(attachment: Attachment, number: str) -> dict:
    return {"id": attachment.id, "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size,
            "download_url": external_url("api.download_attachment", number=number, attachment_id=attachment.id)}


def entry_json(entry: ThreadEntry) -> dict:
    if entry.agent is not None:
        author = {"type": "agent", "name": entry.agent.name.split()[0]}
    elif entry.collaborator is not None:
        author = {"type": "collaborator", "name": entry.collaborator.name}
    else:
        author = {"type": "customer", "name": entry.customer.name if entry.customer else ""}
    return {
        "id": entry.id,
        "kind": entry.kind,
        "author": author,
        "body": entry.body,
        "body_html": entry.body_html,
        "created_at": _time(entry.created_at),
        "attachments": [attachment_json(a, entry.ticket.number) for a in entry.attachments],
    }


def ticket_json(ticket: Ticket, *, thread: bool = False) -> dict:
    data = {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "status_label": ticket.status_label,
        "priority": ticket.priority.key,
        "topic": ticket.topic.name if ticket.topic else None,
        "department": ticket.department.name,
        "source": ticket.source,
        "customer": {"name": ticket.customer.name, "email": ticket.customer.email},
        "created_at": _time(ticket.created_at),
        "updated_at": _time(ticket.updated_at),
        "resolved_at": _time(ticket.resolved_at),
        "closed_at": _time(ticket.closed_at),
        "may_reply": tickets.customer_may_reopen(ticket),
    }
    if thread:
        entries = db.session.scalars(
            select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id, ThreadEntry.public())
            .options(joinedload(ThreadEntry.agent), joinedload(ThreadEntry.customer),
                     joinedload(ThreadEntry.collaborator), selectinload(ThreadEntry.attachments))
            .order_by(ThreadEntry.id)
        ).all()
        data["thread"] = [entry_json(e) for e in entries]
    return data


def _ticket(number: str) -> Ticket:
    ticket = None
    if _NUMBER.match(number or ""):
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number.upper()))
    if ticket is None:
        raise ApiError(404, f"There is no ticket #{number[:20]}.")
    return ticket


def _own_ticket(number: str) -> Ticket:
    """A ticket this request's key opened, to write to. Any other (opened on the portal, by mail,
    by an agent or by another key) gets the answer of a ticket that does not exist, whatever
    else the key may read: writing on it would be writing as its customer."""
    ticket = None
    if _NUMBER.match(number or ""):
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number.upper(),
                                                        Ticket.api_key_id == g.api_key.id))
    if ticket is None:
        raise ApiError(404, f"There is no ticket #{number[:20]} opened with this API key.")
    return ticket


# --- endpoints ------------------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(document(url_for("api.openapi", _external=False).rsplit("/", 1)[0]))


@bp.post("/tickets")
@needs("create")
def create_ticket():
    """Open a ticket for a customer (source api or chat), with attachments as base64."""
    data = _body()
    name = _string(data, "name", max_len=tickets.NAME_MAX)
    email = _email(_string(data, "email", max_len=254))
    subject = _string(data, "subject", max_len=tickets.SUBJECT_MAX)
    message = _string(data, "message", max_len=tickets.BODY_MAX)
    source = data.get("source", "api")
    if source not in API_SOURCES:
        raise ApiError(422, "'source' must be 'api' or 'chat'.", fields={"source": "invalid"})
    topic_id = data.get("topic_id")
    if not isinstance(topic_id, int) or isinstance(topic_id, bool):
        raise ApiError(422, "'topic_id' must be the id of a help topic (an integer).", fields={"topic_id": "invalid"})
    topic = db.session.get(HelpTopic, topic_id) if 0 < topic_id < 2**31 else None
    if topic is None or not topic.active or not topic.public:
        raise ApiError(422, f"There is no public help topic with the id {topic_id}.", fields={"topic_id": "unknown"})
    priority = None
    if data.get("priority") is not None:
        key = data["priority"]
        if not topic.customer_sets_priority:
            raise ApiError(422, f"The topic '{topic.name}' does not let the requester choose a priority.",
                           fields={"priority": "not allowed"})
        priority = db.session.scalar(select(Priority).where(Priority.key == key)) if isinstance(key, str) else None
        if priority is None:
            raise ApiError(422, "'priority' must be one of low, normal, high, emergency.",
                           fields={"priority": "invalid"})
    uploads = _uploads(data)
    try:
        ticket = tickets.open_ticket(name=name, email=email, subject=subject, body=message, topic=topic,
                                     priority=priority, source=source, uploads=uploads, api_key=g.api_key)
    except tickets.LifecycleError as exc:
        raise _lifecycle(exc) from None
    response = jsonify(ticket_json(ticket, thread=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_ticket", number=ticket.number)
    return response


@bp.get("/tickets/<number>")
@needs("read")
def get_ticket(number):
    """A ticket and its public thread (customer messages and replies; never internal notes)."""
    return jsonify(ticket_json(_ticket(number), thread=True))


@bp.get("/tickets/<number>/attachments/<int:attachment_id>")
@needs("read")
def download_attachment(number, attachment_id):
    """A file of the ticket's public thread, always as a download; never one of an internal note."""
    ticket = _ticket(number)
    attachment = public_attachment(ticket.id, attachment_id)
    if attachment is None:  # one answer for a file that does not exist, is another ticket's, or a note's
        raise ApiError(404, f"Ticket #{ticket.number} has no file {attachment_id}.")
    return download(attachment)


@bp.post("/tickets/<number>/messages")
@needs("create")
def add_message(number):
    """A message from the ticket's customer, on a ticket this key opened; a resolved or recently
    closed ticket reopens. The answer says only what the caller knows or just did."""
    ticket = _own_ticket(number)
    data = _body()
    message = _string(data, "message", max_len=tickets.BODY_MAX)
    uploads = _uploads(data)
    try:
        try:
            entry = tickets.customer_reply(ticket, message, uploads=uploads)
        except tickets.Conflict:  # an agent changed the ticket at the same moment
            db.session.rollback()
            entry = tickets.customer_reply(_own_ticket(number), message, uploads=uploads)
    except tickets.LifecycleError as exc:
        raise _lifecycle(exc) from None
    response = jsonify({"number": entry.ticket.number, "status": entry.ticket.status,
                        "message": {"id": entry.id, "created_at": _time(entry.created_at)}})
    response.status_code = 201
    return response


@bp.post("/tickets/<number>/access-link")
@needs("create")
def access_link(number):
    """Mail the customer a fresh link to the ticket (older ones stop working), for a ticket this
    key opened. The link goes to the customer's mailbox only; the answer never holds it."""
    ticket = _own_ticket(number)
    try:
        tickets.new_access_link(None, ticket, api_key=g.api_key)
    except tickets.LifecycleError as exc:
        raise _lifecycle(exc) from None
    response = jsonify({"number": ticket.number, "mailed_to": "customer"})
    response.status_code = 202
    return response


def _page_arg(name: str, default: int, maximum: int) -> int:
    """A positive whole number from the query string, at most `maximum`; else a 400 that says why."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = int(raw) if is_number(raw) and len(raw) <= 7 else None
    if value is None or not 1 <= value <= maximum:
        raise ApiError(400, f"'{name}' must be a whole number from 1 to {maximum}.", fields={name: "invalid"})
    return value


def _list_url(email: str, page: int, per_page: int) -> str:
    return external_url("api.list_tickets", email=email, page=page, per_page=per_page)


@bp.get("/tickets")
@needs("read")
def list_tickets():
    """A customer's tickets (by the customer's email address), newest first, a page at a time."""
    raw = request.args.get("email")
    if raw is None or not raw.strip():
        raise ApiError(422, "Give the customer's address: ?email=...", fields={"email": "required"})
    email = _email(raw.strip())
    page = _page_arg("page", 1, PAGE_MAX)
    per_page = _page_arg("per_page", PER_PAGE_DEFAULT, PER_PAGE_MAX)
    theirs = Ticket.customer_id.in_(select(Customer.id).where(Customer.email == email))
    total = db.session.scalar(select(func.count()).select_from(Ticket).where(theirs))
    rows = db.session.scalars(
        select(Ticket).where(theirs)
        .options(joinedload(Ticket.customer), joinedload(Ticket.priority), joinedload(Ticket.topic),
                 joinedload(Ticket.department))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    pages = max(1, -(-total // per_page))
    links = {"first": _list_url(email, 1, per_page), "last": _list_url(email, pages, per_page),
             "next": _list_url(email, page + 1, per_page) if page < pages else None,
             "prev": _list_url(email, min(page - 1, pages), per_page) if page > 1 else None}
    response = jsonify({
        "tickets": [ticket_json(t) for t in rows],
        "pagination": {"page": page, "per_page": per_page, "total": total, "pages": pages,
                       "next": links["next"], "prev": links["prev"]},
    })
    # RFC 8288: the same links for clients that follow headers.
    response.headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)
    return response
