"""The API's endpoints: open a ticket, read it with its public thread, add a customer's message,
have the customer's link mailed, list a customer's tickets; and the key check every endpoint but
the OpenAPI document goes through. Each view translates JSON into one lifecycle call and back
(schemas.py reads and writes the JSON).

No answer carries a customer's access link (or anything else that opens the portal): a link
is a customer's own key to write on the ticket, and a key's scopes must bound what it can do.
A key with the create scope writes only to the tickets it opened (Ticket.api_key_id)."""
from __future__ import annotations

import re
from functools import wraps

from flask import g, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from .. import clock, tickets
from ..attachments import download, public_attachment
from ..extensions import db
from ..mail.links import external_url
from ..models import ApiKey, Customer, HelpTopic, Priority, Ticket, hash_api_key
from ..web.errors import ApiError, error_response
from . import schemas
from .blueprint import bp
from .openapi import document

API_SOURCES = ("api", "chat")
PER_PAGE_DEFAULT, PER_PAGE_MAX, PAGE_MAX = 25, 100, 100_000
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


def _lifecycle(exc: tickets.LifecycleError) -> ApiError:
    status = {400: 422}.get(exc.status, exc.status)
    return ApiError(status, exc.message)


# --- finding the ticket ---------------------------------------------------------------------------------


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
    data = schemas.body()
    name = schemas.string(data, "name", max_len=tickets.NAME_MAX)
    email = schemas.email(schemas.string(data, "email", max_len=254))
    subject = schemas.string(data, "subject", max_len=tickets.SUBJECT_MAX)
    message = schemas.string(data, "message", max_len=tickets.BODY_MAX)
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
    uploads = schemas.uploads(data)
    try:
        ticket = tickets.open_ticket(name=name, email=email, subject=subject, body=message, topic=topic,
                                     priority=priority, source=source, uploads=uploads, api_key=g.api_key)
    except tickets.LifecycleError as exc:
        raise _lifecycle(exc) from None
    response = jsonify(schemas.ticket_json(ticket, thread=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_ticket", number=ticket.number)
    return response


@bp.get("/tickets/<number>")
@needs("read")
def get_ticket(number):
    """A ticket and its public thread (customer messages and replies; never internal notes)."""
    return jsonify(schemas.ticket_json(_ticket(number), thread=True))


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
    data = schemas.body()
    message = schemas.string(data, "message", max_len=tickets.BODY_MAX)
    uploads = schemas.uploads(data)
    try:
        try:
            entry = tickets.customer_reply(ticket, message, uploads=uploads)
        except tickets.Conflict:  # an agent changed the ticket at the same moment
            db.session.rollback()
            entry = tickets.customer_reply(_own_ticket(number), message, uploads=uploads)
    except tickets.LifecycleError as exc:
        raise _lifecycle(exc) from None
    response = jsonify({"number": entry.ticket.number, "status": entry.ticket.status,
                        "message": {"id": entry.id, "created_at": schemas.timestamp(entry.created_at)}})
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


def _list_url(email: str, page: int, per_page: int) -> str:
    return external_url("api.list_tickets", email=email, page=page, per_page=per_page)


@bp.get("/tickets")
@needs("read")
def list_tickets():
    """A customer's tickets (by the customer's email address), newest first, a page at a time."""
    raw = request.args.get("email")
    if raw is None or not raw.strip():
        raise ApiError(422, "Give the customer's address: ?email=...", fields={"email": "required"})
    email = schemas.email(raw.strip())
    page = schemas.page_arg("page", 1, PAGE_MAX)
    per_page = schemas.page_arg("per_page", PER_PAGE_DEFAULT, PER_PAGE_MAX)
    theirs = Ticket.customer_id.in_(select(Customer.id).where(Customer.email == email))
    total = db.session.scalar(select(func.count()).select_from(Ticket).where(theirs))
    rows = db.session.scalars(
        select(Ticket).where(theirs)
        .options(joinedload(Ticket.customer), joinedload(Ticket.priority), joinedload(Ticket.topic),
                 joinedload(Ticket.department), selectinload(Ticket.tags))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    pages = max(1, -(-total // per_page))
    links = {"first": _list_url(email, 1, per_page), "last": _list_url(email, pages, per_page),
             "next": _list_url(email, page + 1, per_page) if page < pages else None,
             "prev": _list_url(email, min(page - 1, pages), per_page) if page > 1 else None}
    response = jsonify({
        "tickets": [schemas.ticket_json(t) for t in rows],
        "pagination": {"page": page, "per_page": per_page, "total": total, "pages": pages,
                       "next": links["next"], "prev": links["prev"]},
    })
    # RFC 8288: the same links for clients that follow headers.
    response.headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)
    return response
