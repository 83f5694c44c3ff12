"""Checking uploads by their content, storing them outside static/ and reading them back."""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import magic
from flask import current_app, request, send_file
from sqlalchemy import select
from werkzeug.utils import secure_filename

from . import settings
from .config import ALLOWED_TYPES
from .extensions import db
from .models import Attachment, ThreadEntry

# Names whose extension a browser or OS would treat as active content, whatever the bytes.
BLOCKED_EXTENSIONS = {
    "html", "htm", "xhtml", "svg", "svgz", "js", "mjs", "xml", "xsl", "php", "phtml", "phar",
    "exe", "dll", "bat", "cmd", "com", "msi", "scr", "sh", "ps1", "vbs", "jar", "hta", "swf",
}


# Downloads are never rendered by the browser: no scripts, no plugins, a sandboxed origin.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def public_attachment(ticket_id: int, attachment_id: int) -> Attachment | None:
    """A file of the ticket's public thread that is on disk; None for another ticket's file, an
    internal note's, or one that does not exist (one answer for all three)."""
    attachment = db.session.scalar(
        select(Attachment).join(ThreadEntry, Attachment.entry_id == ThreadEntry.id)
        .where(Attachment.id == attachment_id, Attachment.ticket_id == ticket_id,
               ThreadEntry.ticket_id == ticket_id, ThreadEntry.public())
    )
    return attachment if attachment is not None and path_for(attachment.storage_key).is_file() else None


def download(attachment: Attachment):
    """A stored file as a download, never rendered: nosniff, a sandboxing CSP, not cached."""
    response = send_file(path_for(attachment.storage_key), mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


class UploadError(ValueError):
    """An upload that the desk refuses, with a message for the person who sent it."""


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _limits():
    return settings.get("max_attachment_mb") * 1024 * 1024, settings.get("max_attachments")


def allowed_types() -> set[str]:
    """The types this desk accepts: the admin's choice among ALLOWED_TYPES (all by default)."""
    return set(settings.get("allowed_types")) & set(ALLOWED_TYPES)


def check_files(files) -> list[Upload]:
    """Read and check uploaded files (werkzeug FileStorage); raise UploadError on the first bad one."""
    max_bytes, max_count = _limits()
    files = [f for f in files if f and f.filename]
    if len(files) > max_count:
        raise UploadError(f"At most {max_count} files can be attached at once.")
    uploads = []
    for storage in files:
        name = secure_filename(storage.filename) or "attachment"
        name = name[-120:]
        data = storage.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise UploadError(
                f"{name} is larger than {max_bytes // (1024 * 1024)} MB, the limit for one file."
            )
        if not data:
            raise UploadError(f"{name} is empty.")
        extensions = {part.lower() for part in name.split(".")[1:]}
        if extensions & BLOCKED_EXTENSIONS:
            raise UploadError(f"{name}: files of this type cannot be attached.")
        detected = magic.from_buffer(data[:65536], mime=True)
        if detected not in allowed_types():
            raise UploadError(
                f"{name} looks like {detected}, which cannot be attached. "
                "Allowed: images, PDF, text, CSV, office documents and archives."
            )
        uploads.append(Upload(filename=name, content_type=detected, data=data))
    return uploads


def from_field(field) -> list[Upload] | None:
    """The checked uploads of a form's file field, or None after adding the refusal to its errors."""
    try:
        return check_files(request.files.getlist(field.name))
    except UploadError as exc:
        field.errors = [*field.errors, str(exc)]
        return None


def upload_dir() -> Path:
    return Path(current_app.config["HELPDESK_UPLOAD_DIR"])


def store(upload: Upload) -> str:
    """Write one upload under a random name and return its storage key."""
    key = secrets.token_hex(20)
    path = upload_dir() / key[:2] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as fh:
        fh.write(upload.data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return key


def discard(keys) -> None:
    """Remove stored files again (the database refused the ticket they belonged to)."""
    for key in keys:
        try:
            (upload_dir() / key[:2] / key).unlink()
        except OSError:
            pass


def path_for(key: str) -> Path:
    return upload_dir() / key[:2] / key
