"""The API's JSON in and out: reading and checking a request's body and query string (one
parser, plain strings, one email address, base64 attachments, page numbers), and the JSON of a
ticket, its public thread and its files.

No answer carries a customer's access link (or anything else that opens the portal): a link
is a customer's own key to write on the ticket, and a key's scopes must bound what it can do."""
from __future__ import annotations

import base64
import binascii
import io
import json
import re

from email_validator import EmailNotValidError, validate_email
from flask import request
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import FileStorage

from .. import settings, tickets
from ..attachments import UploadError, check_files
from ..extensions import db
from ..mail.links import external_url
from ..models import Attachment, ThreadEntry, Ticket
from ..text import is_number
from ..web.errors import ApiError

# A body nests three levels (the object, its attachments, each attachment); anything much
# deeper is no request of ours, and is refused before any code walks it.
JSON_DEPTH_MAX = 10


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


def body() -> dict:
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


def string(data: dict, name: str, *, required: bool = True, max_len: int = 200) -> str | None:
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


def email(value: str, name: str = "email") -> str:
    if re.search(r"[\s,;<>]", value) or len(value) > 254:
        raise ApiError(422, f"'{name}' must be one plain email address.", fields={name: "invalid"})
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ApiError(422, f"'{name}' is not a valid email address: {exc}", fields={name: "invalid"}) from None


def uploads(data: dict) -> list:
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


def page_arg(name: str, default: int, maximum: int) -> int:
    """A positive whole number from the query string, at most `maximum`; else a 400 that says why."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = int(raw) if is_number(raw) and len(raw) <= 7 else None
    if value is None or not 1 <= value <= maximum:
        raise ApiError(400, f"'{name}' must be a whole number from 1 to {maximum}.", fields={name: "invalid"})
    return value


# --- writing the response ----------------------------------------------------------------------------


def timestamp(value):
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
        "created_at": timestamp(entry.created_at),
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
        "tags": [tag.name for tag in ticket.tags],
        "customer": {"name": ticket.customer.name, "email": ticket.customer.email},
        "created_at": timestamp(ticket.created_at),
        "updated_at": timestamp(ticket.updated_at),
        "resolved_at": timestamp(ticket.resolved_at),
        "closed_at": timestamp(ticket.closed_at),
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
