"""Reading one RFC 822 message, leniently (broken MIME, unknown charsets): its addresses, ids
and trace headers, its text (HTML reduced to text by a real parser, quoted history trimmed) and
its attachments. Pure: no database, no ticket; mailin.route decides what the message becomes."""
from __future__ import annotations

import email
import email.policy
import io
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr

from flask import current_app
from werkzeug.datastructures import FileStorage

from .. import tickets
from ..attachments import UploadError, check_files
from ..text import one_line

_MSGID = re.compile(r"<[^<>\s]+>")
# Where the quoted history starts: "On <date>, <someone> wrote:" (possibly wrapped over two
# lines), Outlook's "-----Original Message-----" or "From: ..." block, and similar.
_QUOTE_HEADERS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,120}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
]


@dataclass
class Parsed:
    sender: str
    sender_name: str
    subject: str
    body: str
    message_id: str | None
    references: list[str]
    uploads: list = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    # (name, address) from To and Cc, in order; and the addresses the mail was delivered to
    copied: list[tuple[str, str]] = field(default_factory=list)
    delivered_to: set[str] = field(default_factory=set)
    cut: bool = False  # the body was longer than intake reads (MARKUP_MAX, TEXT_MAX)
    # ("received" | "authentication-results", value) in the order of the header, top first
    trace: list[tuple[str, str]] = field(default_factory=list)


# --- reading a message ---------------------------------------------------------------------------


def _header(msg: Message, name: str) -> str:
    """A header as text; a header too broken to decode gives what can be read of it."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - malformed encoded words and the like
        raw = msg.get_all(name, failobj=[None])[0] if hasattr(msg, "get_all") else None
        return str(raw or "")


def _decode(payload: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    try:  # a known charset with a few bad bytes
        return payload.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset that is not UTF-8: most such mail is Windows-1252
        return payload.decode("cp1252", errors="replace")


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    return _decode(payload, charset)


# What one message may cost: the HTML converted to text and the text read for its quoted history
# are cut at these sizes (a body is kept to tickets.BODY_MAX anyway), and the ticket says so.
MARKUP_MAX = 1_000_000
TEXT_MAX = 100_000
# Elements whose end (or <br>) ends a line, and those whose content is not text to read.
_BLOCKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}
_SKIPPED = {"script", "style", "head", "title"}
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(markup: str) -> str:
    """HTML mail reduced to plain text, by walking the elements libxml2's parser builds (in time
    linear in the markup, whatever it holds: no regular expression runs over the raw markup):
    scripts, styles and the head dropped, a line ended at each block's end and <br>, "- " before
    each list item, entities decoded, the source's own lines kept. See MARKUP_MAX for the size."""
    import lxml.etree  # here, not at the top: a web worker rarely reads HTML mail (about 4 MiB)
    import lxml.html

    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
    root = lxml.etree.fromstring(markup.encode("utf-8", "replace"), parser) if markup.strip() else None
    out: list[str] = []
    if root is not None:
        walk = lxml.etree.iterwalk(root, events=("start", "end"))
        for event, element in walk:
            tag = element.tag.lower() if isinstance(element.tag, str) else ""
            if event == "end":  # also comes for a skipped element
                out += ["\n" if tag in _BLOCKS else "", element.tail or ""]
            elif tag in _SKIPPED:
                walk.skip_subtree()
            else:
                if tag == "li":
                    last = next((chunk for chunk in reversed(out[-4:]) if chunk), "\n")
                    out.append("- " if last.endswith("\n") else "\n- ")
                out.append(element.text or "")
    text = "".join(out).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def trim_quoted(text: str) -> str:
    """Drop the quoted history under "On ... wrote:", "-----Original Message-----" or ">" lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        joined = line + " " + lines[i + 1] if i + 1 < len(lines) else line
        if any(p.match(line) for p in _QUOTE_HEADERS) or (
                line.strip().lower().startswith("on ") and _QUOTE_HEADERS[0].match(joined)):
            if i > 0:  # a reply that is nothing but a quote keeps its text
                cut = i
                break
    kept = lines[:cut]
    while kept and (kept[-1].lstrip().startswith(">") or not kept[-1].strip()):
        kept.pop()
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()


def _body_part(msg: Message) -> Message | None:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        part = None
    if part is not None:
        return part
    for part in msg.walk():
        if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
            return part
    return None


def _attachment_parts(msg: Message, body: Message | None):
    n = 0
    for part in msg.walk():
        if part is body or part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        try:
            filename = part.get_filename()
        except Exception:  # noqa: BLE001
            filename = None
        ctype = part.get_content_type()
        if part.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # the other alternative of the body (e.g. the HTML of a text/plain mail)
        if ctype == "message/rfc822":
            inner = part.get_payload()
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        else:
            try:
                data = part.get_payload(decode=True) or b""
            except Exception:  # noqa: BLE001
                data = b""
            if any("Base64" in type(d).__name__ for d in getattr(part, "defects", [])):
                data = b""  # damaged on the way: what decodes is not the file that was sent
        n += 1
        if not filename:
            ext = mimetypes.guess_extension(ctype) or ".bin"
            filename = f"{'inline' if disposition == 'inline' or part.get('Content-ID') else 'attachment'}-{n}{ext}"
        yield filename, data


def _uploads(msg: Message, body: Message | None) -> tuple[list, list]:
    max_count = current_app.config["HELPDESK_MAX_ATTACHMENTS"]
    uploads, refused = [], []
    for filename, data in _attachment_parts(msg, body):
        if not data:
            refused.append((filename, "empty, or damaged on the way"))
            continue
        if len(uploads) >= max_count:
            refused.append((filename, f"more than {max_count} files"))
            continue
        try:
            uploads.extend(check_files([FileStorage(io.BytesIO(data), filename=filename)]))
        except UploadError as exc:
            refused.append((filename, str(exc)))
    return uploads, refused


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    """(name, lower-case address) of every address in these headers; unreadable headers skipped."""
    values = []
    for name in names:
        try:
            values += [str(v) for v in (msg.get_all(name) or [])]
        except Exception:  # noqa: BLE001 - a header too broken to read adds no one
            continue
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001
        return []
    return [(one_line(n, tickets.NAME_MAX), a.strip().lower()) for n, a in pairs if a and "@" in a]


def message_ids(value: str) -> list[str]:
    return _MSGID.findall(value or "")


def _trace(msg: Message) -> list[tuple[str, str]]:
    """The Received and Authentication-Results headers as written, top first (the order the hops
    added them)."""
    try:
        items = list(msg.raw_items())
    except Exception:  # noqa: BLE001 - an unreadable trace proves nothing
        return []
    return [(name.lower(), str(value)) for name, value in items
            if name.lower() in ("received", "authentication-results")]


def parse(raw: bytes) -> Parsed:
    """Read one message. Raises ValueError for one without a usable sender."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(_header(msg, "From"))
    address = address.strip().lower()
    if "@" not in address or len(address) > 254 or any(c in address for c in " ,;<>\r\n"):
        raise ValueError("The mail has no usable From address.")
    body_part = _body_part(msg)
    text = "" if body_part is None else _part_text(body_part)
    cut = False
    if body_part is not None and body_part.get_content_subtype() == "html":
        cut = len(text) > MARKUP_MAX
        text = html_to_text(text[:MARKUP_MAX])
    text = text.replace("\x00", "")
    if len(text) > TEXT_MAX:  # the quoted history is looked for in what is kept
        text, cut = text[:TEXT_MAX], True
    body = trim_quoted(text)
    uploads, refused = _uploads(msg, body_part)
    ids = message_ids(_header(msg, "Message-ID"))
    return Parsed(
        sender=address,
        sender_name=one_line(name, tickets.NAME_MAX) or address.split("@")[0],
        subject=one_line(_header(msg, "Subject"), tickets.SUBJECT_MAX),
        body=body,
        cut=cut and body == text.strip(),  # a cut in the quoted history loses nothing
        message_id=ids[0][:255] if ids else None,
        references=message_ids(_header(msg, "In-Reply-To")) + message_ids(_header(msg, "References")),
        uploads=uploads,
        refused=refused,
        copied=_addresses(msg, "To", "Cc"),
        delivered_to={a for _, a in _addresses(msg, "Delivered-To", "X-Original-To", "Envelope-To")},
        trace=_trace(msg),
    )
