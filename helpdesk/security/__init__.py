"""Security: signed links (tokens.py), headers and request refusals (headers.py), two-factor
sign-in (totp.py), the CAPTCHA (captcha.py) and rate limits (limits.py). Stored secrets are
encrypted by helpdesk.crypto.

The public names most callers need are here: `from helpdesk.security import access_token`.
"""
from .headers import HelpdeskRequest, add_security_headers, refuse_nul_bytes, safe_next
from .tokens import access_for_token, access_token, collaborator_token, ticket_for_token

__all__ = ["HelpdeskRequest", "access_for_token", "access_token", "add_security_headers", "collaborator_token",
           "refuse_nul_bytes", "safe_next", "ticket_for_token"]
