"""Mail in: one RFC 822 message becomes a new ticket or a reply in its thread, exactly once.

A message is read leniently (broken MIME, unknown charsets), its quoted history trimmed and
its HTML reduced to text. Auto-replies, bounces and our own mail are recorded and dropped, so
two desks (or a desk and an out-of-office) never mail each other in a loop. Each message is
recorded in processed_mail in the same transaction as the ticket or reply it caused; one that
cannot be read is kept raw in failed_mail for an admin. Nothing is lost, nothing taken twice.

Who a reply is from decides what it becomes: the customer's or a collaborator's mail is a message
in the thread; an active agent's (who may see the ticket) is an internal note by that agent, never
a message to the customer; anyone else's opens a new ticket that points at the one it answered.

A From address is easily forged, so a mail only *claims* who it is from. It *speaks for* its sender
(mail_speaks_for, the one rule) only when it proves it: it answers one of the desk's own signed
Message-IDs that was sent to that address about that ticket (notify.ticket_message_id), or the
desk's own receiving server vouches for the From domain in its Authentication-Results
(HELPDESK_MAIL_TRUSTED_AUTHSERV_ID). A claimed customer's message still joins the thread (it reveals
nothing), but the people on its Cc are only listed for an agent; a claimed agent's mail is held
until that agent confirms it on the ticket page.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import io
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message
from email.utils import getaddresses, parseaddr

import lxml.etree
import lxml.html
from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from . import notify, tickets
from .attachments import UploadError, check_files
from .extensions import db
from .models import (
    Agent, Collaborator, Department, FailedMail, HeldMail, HelpTopic, Mailbox, OutboxMail, ProcessedMail, Ticket,
    utcnow,
)
from .text import one_line

AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
DAEMON_LOCAL_PARTS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_MSGID = re.compile(r"<[^<>\s]+>")
_SUBJECT_NUMBER = re.compile(r"\[#([A-Za-z0-9]{4,12})\]")
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


@dataclass
class Outcome:
    outcome: str  # created | replied | noted | held | ignored | failed | duplicate
    ticket: Ticket | None = None
    note: str = ""


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


def _message_ids(value: str) -> list[str]:
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
    ids = _message_ids(_header(msg, "Message-ID"))
    return Parsed(
        sender=address,
        sender_name=one_line(name, tickets.NAME_MAX) or address.split("@")[0],
        subject=one_line(_header(msg, "Subject"), tickets.SUBJECT_MAX),
        body=body,
        cut=cut and body == text.strip(),  # a cut in the quoted history loses nothing
        message_id=ids[0][:255] if ids else None,
        references=_message_ids(_header(msg, "In-Reply-To")) + _message_ids(_header(msg, "References")),
        uploads=uploads,
        refused=refused,
        copied=_addresses(msg, "To", "Cc"),
        delivered_to={a for _, a in _addresses(msg, "Delivered-To", "X-Original-To", "Envelope-To")},
        trace=_trace(msg),
    )


# --- mail that must not open tickets --------------------------------------------------------------


def own_addresses() -> set[str]:
    cfg = current_app.config
    sender = cfg["MAIL_DEFAULT_SENDER"]
    sender = sender if isinstance(sender, str) else sender[1]
    ours = {parseaddr(sender)[1].lower()}
    ours |= {e.lower() for e in db.session.scalars(select(Department.email).where(Department.email.is_not(None)))}
    ours |= {u.lower() for u in db.session.scalars(select(Mailbox.username)) if "@" in u}
    return {a for a in ours if a}


def automatic_reason(raw: bytes, sender: str) -> str | None:
    """Why this mail is automatic (an auto-reply, a bounce, our own), or None for a person's mail."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond", "X-Autogenerated"):
        if msg.get(name) is not None:
            return f"{name} header"
    return_path = msg.get("Return-Path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        return "a bounce (empty Return-Path)"
    if msg.get_content_type() == "multipart/report":
        return "a delivery or read report"
    if sender.split("@")[0] in DAEMON_LOCAL_PARTS:
        return f"from {sender}"
    if sender in own_addresses():
        return f"from the desk's own address {sender}"
    return None


# --- finding the ticket a reply belongs to ---------------------------------------------------------


def find_ticket(parsed: Parsed) -> tuple[Ticket | None, str]:
    """By In-Reply-To/References (our outgoing mail, or mail taken in), then by "[#NUMBER]".
    Threading only says which ticket a mail is about; who it may speak for is mail_speaks_for's."""
    refs = [r[:255] for r in parsed.references]
    if refs:
        ticket_id = db.session.scalar(select(OutboxMail.ticket_id).where(
            OutboxMail.message_id.in_(refs), OutboxMail.ticket_id.is_not(None)).limit(1))
        if ticket_id is None:
            ticket_id = db.session.scalar(select(ProcessedMail.ticket_id).where(
                ProcessedMail.message_id.in_(refs), ProcessedMail.ticket_id.is_not(None)).limit(1))
        if ticket_id is None:
            # Our signed Message-IDs carry the ticket number, even once the outbox is pruned; one of
            # the same shape that the desk did not sign for this sender is not ours.
            for ref in refs:
                number = notify.signed_ticket_number(ref, parsed.sender)
                if number:
                    ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.number == number))
                    if ticket_id:
                        break
        if ticket_id is not None:
            return db.session.get(Ticket, ticket_id), "headers"
    match = _SUBJECT_NUMBER.search(parsed.subject)
    if match:
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == match.group(1).upper()))
        if ticket is not None:
            return ticket, "subject"
    return None, ""


# --- who a mail may speak for ----------------------------------------------------------------------

_COMMENT = re.compile(r"\([^()]*\)")


def _auth_results(value: str) -> tuple[str, list[tuple[str, str, dict]]]:
    """An Authentication-Results value (RFC 8601): its authserv-id and its (method, result,
    {ptype.property: value}), all lower case; comments dropped."""
    for _ in range(3):  # nested comments, innermost first
        value = _COMMENT.sub(" ", value)
    parts = [p.strip() for p in value.replace("\r", " ").replace("\n", " ").split(";")]
    authserv = parts[0].split()[0].lower() if parts and parts[0].split() else ""
    results = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].lower().partition("=")
        props = {}
        for token in tokens[1:]:
            key, sep, val = token.partition("=")
            if sep:
                props[key.lower()] = val.strip('"').lower()
        results.append((method.split("/")[0], result, props))
    return authserv, results


def authenticated_by_desk(parsed: Parsed) -> str | None:
    """What the desk's own receiving server (HELPDESK_MAIL_TRUSTED_AUTHSERV_ID) says about the From
    domain, when it passed: "dmarc=pass" or "dkim=pass". Only the topmost Authentication-Results
    header(s) count, and only above at most HELPDESK_MAIL_TRUSTED_RECEIVED Received headers (the
    hops of the desk's own servers): anything lower may have been written by the sender."""
    trusted = (current_app.config.get("HELPDESK_MAIL_TRUSTED_AUTHSERV_ID") or "").strip().lower()
    if not trusted:
        return None
    hops = current_app.config.get("HELPDESK_MAIL_TRUSTED_RECEIVED") or 0
    domain = parsed.sender.rpartition("@")[2]
    received, seen_ours = 0, False
    for name, value in parsed.trace:
        if name == "received":
            if seen_ours:
                break  # the trusted server's headers end here
            received += 1
            if received > hops:
                return None  # an Authentication-Results below this hop was not added by our servers
            continue
        authserv, results = _auth_results(value)
        if authserv != trusted:
            break  # the topmost results are someone else's: nothing below them counts
        seen_ours = True
        for method, result, props in results:
            if result != "pass":
                continue
            if method == "dmarc" and props.get("header.from") == domain:
                return "dmarc=pass"
            if method == "dkim" and (props.get("header.d") == domain or props.get("header.i", "").endswith("@" + domain)):
                return "dkim=pass"
    return None


@dataclass
class Speaker:
    """Who a mail is from as far as the ticket is concerned, and whether it proved it."""

    who: str  # agent | customer | collaborator | stranger
    proven: bool
    why: str  # how it proved it, or why it did not
    agent: Agent | None = None
    collaborator: Collaborator | None = None


def _answers_desk_mail(parsed: Parsed, ticket: Ticket) -> bool:
    """Does the mail answer one of the desk's mails about this ticket sent to its sender?"""
    refs = [r[:255] for r in parsed.references]
    if not refs:
        return False
    if any(notify.signed_ticket_number(ref, parsed.sender) == ticket.number for ref in refs):
        return True
    # Mail sent before Message-IDs were signed: the outbox still knows whom it went to.
    return db.session.scalar(select(OutboxMail.id).where(
        OutboxMail.message_id.in_(refs), OutboxMail.ticket_id == ticket.id,
        func.lower(OutboxMail.recipient) == parsed.sender).limit(1)) is not None


def mail_speaks_for(parsed: Parsed, ticket: Ticket | None) -> Speaker:
    """The one rule of who a mail may speak for (see the module's docstring). Proven: it answers
    a desk mail sent to the sender about this ticket, or the desk's receiving server authenticated
    the From domain. Otherwise the sender is only claimed."""
    authenticated = authenticated_by_desk(parsed)
    if authenticated:
        proven, why = True, f"the desk's mail server checked it ({authenticated} for {parsed.sender.rpartition('@')[2]})"
    elif ticket is not None and _answers_desk_mail(parsed, ticket):
        proven, why = True, f"it answers the desk's mail to {parsed.sender}"
    else:
        proven = False
        why = (f"the mail did not prove it came from {parsed.sender} (it answers none of the desk's mails "
               "to that address, and the desk's mail server did not vouch for it)")
    if ticket is None:
        return Speaker("stranger", proven, why)
    if parsed.sender != ticket.customer.email:
        agent = _agent(ticket, parsed.sender)
        if agent is not None:
            return Speaker("agent", proven, why, agent=agent)
    if parsed.sender == ticket.customer.email:
        return Speaker("customer", proven, why)
    collab = _collaborator(ticket, parsed.sender)
    if collab is not None:
        return Speaker("collaborator", proven, why, collaborator=collab)
    return Speaker("stranger", proven, why)


def _agent(ticket: Ticket, sender: str) -> Agent | None:
    """The active agent who sent this mail, if they may see the ticket (else None: a stranger)."""
    agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == sender))
    if agent is None or not agent.active or not tickets.can_see(agent, ticket):
        return None
    return agent


def _collaborator(ticket: Ticket, sender: str) -> Collaborator | None:
    return db.session.scalar(select(Collaborator).where(
        Collaborator.ticket_id == ticket.id, Collaborator.email == sender, Collaborator.active.is_(True)))


def copied_people(parsed: Parsed, customer_email: str) -> list[tuple[str, str]]:
    """Whom the customer's mail also went to (To besides the desk, and Cc): the people to put on
    copy of the ticket. Never the desk's own addresses (nor the one the mail was delivered to),
    an agent, the sender or the customer; each once; automatic addresses skipped. The lifecycle
    checks each address and keeps to tickets.MAIL_CC_MAX."""
    skip = own_addresses() | parsed.delivered_to | {parsed.sender, customer_email.lower()}
    people, seen = [], set()
    for name, address in parsed.copied:
        if address in skip or address in seen or address.split("@")[0] in DAEMON_LOCAL_PARTS:
            continue
        seen.add(address)
        people.append((name, address))
        if len(people) >= 4 * tickets.MAIL_CC_MAX:  # a mail to hundreds adds at most the cap anyway
            break
    if people:
        agents = set(db.session.scalars(select(func.lower(Agent.email)).where(
            func.lower(Agent.email).in_([a for _, a in people]))))
        people = [(n, a) for n, a in people if a not in agents]
    return people


# --- taking a message in ----------------------------------------------------------------------------


def _key(raw: bytes, message_id: str | None) -> str:
    if message_id:
        return "mid:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return "raw:" + hashlib.sha256(raw).hexdigest()


def _seen(key: str, message_id: str | None) -> bool:
    clause = ProcessedMail.key == key
    if message_id:
        clause = or_(clause, ProcessedMail.message_id == message_id)
    return db.session.scalar(select(ProcessedMail.id).where(clause).limit(1)) is not None


def _record(key, message_id, outcome, note="", ticket_id=None) -> ProcessedMail:
    return ProcessedMail(key=key, message_id=message_id, outcome=outcome, note=one_line(note, 500) or None,
                         ticket_id=ticket_id)


def _save(*rows) -> bool:
    """Commit bookkeeping rows; False if another fetcher recorded the mail first."""
    try:
        db.session.add_all(rows)
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def keep_failed(raw: bytes, source: str, error: str, key: str, message_id: str | None = None) -> Outcome:
    """Keep an unreadable mail raw for the admins, and mark it processed (in one transaction)."""
    db.session.rollback()
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        sender, subject = one_line(str(msg.get("From") or ""), 254), one_line(str(msg.get("Subject") or ""), 255)
    except Exception:  # noqa: BLE001
        sender = subject = ""
    failed = FailedMail(source=one_line(source, 140), error=one_line(error, 500) or "unreadable", raw=raw,
                        size=len(raw), sender=sender or None, subject=subject or None)
    if not _save(failed, _record(key, message_id, "failed", error)):
        return Outcome("duplicate")
    current_app.logger.warning("mail from %s kept unread in failed_mail #%s: %s", source, failed.id, error)
    return Outcome("failed", note=error)


def _body_for(parsed: Parsed, extra: str = "") -> str:
    body = parsed.body.strip()
    if not body:
        body = "(The mail had no text; see the attachments.)" if parsed.uploads else "(The mail had no text.)"
    if extra:
        body = f"{extra}\n\n{body}"
    if parsed.refused:
        listed = "\n".join(f"- {name}: {why}" for name, why in parsed.refused)
        body += f"\n\n---\nNot attached:\n{listed}"
    if len(body) > tickets.BODY_MAX or parsed.cut:
        note = "\n\n[The rest of this mail was cut: it was too long.]"
        body = body[: tickets.BODY_MAX - len(note)] + note
    return body


def _acknowledge(sender: str) -> bool:
    """At most HELPDESK_MAIL_ACKS_PER_HOUR acknowledgements to one address an hour."""
    limit = current_app.config["HELPDESK_MAIL_ACKS_PER_HOUR"]
    sent = db.session.scalar(select(func.count(OutboxMail.id)).where(
        OutboxMail.recipient == sender, OutboxMail.event == "created",
        OutboxMail.created_at >= utcnow() - timedelta(hours=1)))
    return sent < limit


def default_topic() -> HelpTopic | None:
    return db.session.scalar(select(HelpTopic).where(HelpTopic.active.is_(True), HelpTopic.public.is_(True))
                             .order_by(HelpTopic.sort, HelpTopic.id).limit(1))


def take_in(raw: bytes, *, source: str = "pipe", key: str | None = None, mailbox: Mailbox | None = None) -> Outcome:
    """Turn one raw message into a ticket or a reply, once; see the module's docstring."""
    try:
        pre = email.message_from_bytes(raw, policy=email.policy.compat32)
        ids = _message_ids(str(pre.get("Message-ID") or ""))
        message_id = ids[0][:255] if ids else None
    except Exception:  # noqa: BLE001
        message_id = None
    key = key or _key(raw, message_id)
    if _seen(key, message_id):
        if key.startswith("imap:") and db.session.scalar(select(ProcessedMail.id).where(ProcessedMail.key == key)) is None:
            _save(_record(key, message_id, "duplicate", "the same Message-ID came in before"))
        return Outcome("duplicate")
    try:
        parsed = parse(raw)
        reason = automatic_reason(raw, parsed.sender)
    except Exception as exc:  # noqa: BLE001 - whatever it is, the mail is kept for an admin
        return keep_failed(raw, source, f"{type(exc).__name__}: {exc}", key, message_id)
    if reason:
        if not _save(_record(key, message_id, "ignored", f"{reason}; from {parsed.sender}")):
            return Outcome("duplicate")
        return Outcome("ignored", note=reason)
    try:
        return _route(parsed, raw, key, message_id, mailbox)
    except IntegrityError:
        db.session.rollback()
        if _seen(key, message_id):
            return Outcome("duplicate")
        raise
    except tickets.LifecycleError as exc:
        return keep_failed(raw, source, exc.message, key, message_id)


def _onto_ticket(ticket: Ticket, act, key: str, message_id: str | None, outcome: str, note: str) -> None:
    """`act(ticket, record)` adds the mail to the ticket in one transaction with its processed_mail
    row; if another worker changed the ticket meanwhile (Conflict), once more on the ticket as it
    is now, with a fresh row (the rollback dropped the first)."""
    try:
        act(ticket, _record(key, message_id, outcome, note))
    except tickets.Conflict:
        db.session.rollback()
        act(db.session.get(Ticket, ticket.id), _record(key, message_id, outcome, note))


def _route(parsed: Parsed, raw: bytes, key: str, message_id: str | None, mailbox: Mailbox | None) -> Outcome:
    ticket, how = find_ticket(parsed)
    speaker = mail_speaks_for(parsed, ticket)
    follow_up = ""
    if speaker.who == "agent":
        agent = speaker.agent
        if not speaker.proven:
            # Anyone can write From: an agent. Kept, not lost: a note only once that agent confirms it.
            _onto_ticket(ticket, lambda t, record: tickets.hold_agent_mail(
                agent, t, _body_for(parsed), raw, subject=parsed.subject or None, message_id=message_id,
                why=f"Held because {speaker.why}.", record=record),
                key, message_id, "held", f"threaded by {how}; held for {agent.email} to confirm: {speaker.why}")
            return Outcome("held", ticket, note=f"held for {agent.email} to confirm")
        # An agent's mail is an internal note by that agent, never a message to the customer:
        # a From address is easily forged, so mail must not speak to customers in an agent's name.
        _onto_ticket(ticket, lambda t, record: tickets.add_note(
            agent, t, _body_for(parsed), uploads=parsed.uploads, via="email", record=record),
            key, message_id, "noted", f"threaded by {how}; an internal note by {agent.email}; {speaker.why}")
        return Outcome("noted", ticket)
    if speaker.who in ("customer", "collaborator"):
        collab = speaker.collaborator
        if tickets.customer_may_reopen(ticket):
            copied = copied_people(parsed, ticket.customer.email) if collab is None else []
            hold = None if speaker.proven else f"Not put on copy: {speaker.why}. An agent may put them on copy."
            _onto_ticket(ticket, lambda t, record: tickets.customer_reply(
                t, _body_for(parsed), uploads=parsed.uploads, collaborator=collab, record=record, via="email",
                copied=copied, hold_copied=hold),
                key, message_id, "replied", f"threaded by {how}; {'proven' if speaker.proven else 'claimed'} sender")
            return Outcome("replied", ticket)
        follow_up = f"(A follow-up to ticket #{ticket.number}, which was closed too long ago to reopen.)"
    elif ticket is not None:
        follow_up = f"(This mail answered ticket #{ticket.number}, but came from an address not on that ticket.)"
    topic = (mailbox.topic if mailbox is not None and mailbox.topic is not None else None) or default_topic()
    if topic is None:
        raise tickets.LifecycleError("The desk has no public help topic to open a ticket under.")
    # A new ticket's people on copy: only when the desk's mail server vouches for the sender (a
    # forged mail must not bring a stranger onto a ticket in someone else's name).
    authenticated = authenticated_by_desk(parsed)
    hold = None if authenticated else (
        f"Not put on copy: the desk's mail server did not vouch that this mail came from {parsed.sender}. "
        "An agent may put them on copy.")
    record = _record(key, message_id, "created", follow_up or None)
    ticket = tickets.open_ticket(
        name=parsed.sender_name, email=parsed.sender, subject=parsed.subject or "(no subject)",
        body=_body_for(parsed, follow_up), topic=topic, source="email", uploads=parsed.uploads,
        notify_customer=_acknowledge(parsed.sender), record=record,
        department=mailbox.department if mailbox is not None else None,
        copied=copied_people(parsed, parsed.sender), hold_copied=hold,
    )
    return Outcome("created", ticket)


# --- mail held for the agent it claims to be from -------------------------------------------------


def confirm_held(agent: Agent, held: HeldMail, *, expected_version: int | None = None):
    """The agent confirms the held mail: it becomes their note, with the attachments read again
    from the kept message (checked as on arrival)."""
    uploads = []
    if held.agent_id == agent.id and held.state == "waiting":
        try:
            uploads = parse(held.raw).uploads
        except ValueError:  # it was readable when it came; nothing to attach if not now
            uploads = []
    return tickets.confirm_held_mail(agent, held, uploads=uploads, expected_version=expected_version)
