"""The desk's own address (never mailed: no loops) and the signed Message-IDs of its ticket mail,
which let mail in prove that an answer comes from a mailbox the desk wrote to."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from email.utils import parseaddr

from flask import current_app


def desk_domain() -> str:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    address = parseaddr(sender if isinstance(sender, str) else sender[1])[1]
    return address.rpartition("@")[2] or "helpdesk.invalid"


def is_own_address(recipient: str) -> bool:
    """The desk's own sending address: never mailed (no loops, no auto-replies to ourselves)."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    own = parseaddr(sender if isinstance(sender, str) else sender[1])[1].strip().lower()
    return bool(own) and parseaddr(recipient or "")[1].strip().lower() == own


# The desk's Message-IDs for ticket mail: <nonce.NUMBER.signature@domain>. The signature (HMAC
# with a key derived from SECRET_KEY) covers the nonce, the ticket number and the recipient, so
# only the desk can make one, and an answer that quotes it proves it comes from a mailbox the desk
# wrote to about that ticket (see mailin.mail_speaks_for). It is checked by computation, so it
# works once the outbox is pruned too.
# Short enough that the header is not folded: nonce and signature of 64 bits each.
_SIGNED_MSGID = re.compile(r"^<([0-9a-f]{16})\.([A-Z0-9]{4,12})\.([0-9a-f]{16})@[^<>\s]+>$")


def _msgid_signature(nonce: str, number: str, recipient: str) -> str:
    key = hashlib.sha256(b"helpdesk: message-id v1\0" + current_app.config["SECRET_KEY"].encode("utf-8")).digest()
    recipient = parseaddr(recipient or "")[1].strip().lower()
    return hmac.new(key, f"{nonce}.{number}.{recipient}".encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def ticket_message_id(number: str, recipient: str) -> str:
    """A new signed Message-ID for a mail about ticket `number` to `recipient`."""
    nonce = secrets.token_hex(8)
    return f"<{nonce}.{number}.{_msgid_signature(nonce, number, recipient)}@{desk_domain()}>"


def signed_ticket_number(message_id: str, recipient: str) -> str | None:
    """The ticket number of a Message-ID the desk made for a mail to `recipient`, else None (not
    the desk's, or made for someone else: the same shape proves nothing)."""
    match = _SIGNED_MSGID.match(message_id or "")
    if match is None:
        return None
    nonce, number, signature = match.groups()
    if not hmac.compare_digest(signature, _msgid_signature(nonce, number, recipient)):
        return None
    return number
