"""Mail in: one RFC 822 message becomes a new ticket or a reply in its thread, exactly once.

- parsing.py: reading a message (addresses, ids, text, attachments), pure;
- trust.py: who a mail may speak for (the one rule), the desk's own addresses, who it copies;
- route.py: taking a message in: loops and bounces dropped, the ticket found, the message added
  or a ticket opened, recorded once (or kept raw when it cannot be read); held mail confirmed;
- imap.py: fetching from IMAP mailboxes.

Callers use the names here: `from helpdesk import mailin; mailin.take_in(raw)`.
"""
from .parsing import Parsed, html_to_text, parse, trim_quoted
from .route import Outcome, confirm_held, find_ticket, keep_failed, take_in
from .trust import mail_speaks_for

__all__ = ["Outcome", "Parsed", "confirm_held", "find_ticket", "html_to_text", "keep_failed", "mail_speaks_for",
           "parse", "take_in", "trim_quoted"]
