"""The desk's signed links: a customer's and a collaborator's access to one ticket, and an
agent's password reset. Each is an itsdangerous token over the app's SECRET_KEY, with its own
salt, an expiry, and a part of the row it opens that changes when the link must stop working."""
from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .. import settings
from ..extensions import db
from ..models import Agent, Collaborator, Ticket

RESET_SALT = "helpdesk.password-reset"
RESET_SECONDS = 3600


_ACCESS_SALT = "helpdesk.ticket-access"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_ACCESS_SALT)


def access_token(ticket: Ticket) -> str:
    """A signed token that opens one ticket for its customer until it expires or is revoked."""
    return _serializer().dumps({"t": ticket.id, "n": ticket.access_nonce})


def _max_age() -> int:
    """Seconds an access link (a customer's or a collaborator's) stays valid: the admin's setting."""
    return settings.get("access_link_days") * 86400


def ticket_for_token(token: str) -> Ticket | None:
    """The ticket a token opens, or None if it is forged, expired or revoked."""
    try:
        data = _serializer().loads(token, max_age=_max_age())
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int):
        return None
    ticket = db.session.get(Ticket, data["t"])
    if ticket is None or ticket.access_nonce != data.get("n"):
        return None
    return ticket


_COLLAB_SALT = "helpdesk.collaborator-access"


def _collab_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_COLLAB_SALT)


def collaborator_token(collaborator) -> str:
    """A signed token that opens one ticket for one collaborator, until they are taken off copy."""
    return _collab_serializer().dumps({"t": collaborator.ticket_id, "c": collaborator.id,
                                       "n": collaborator.access_nonce})


def access_for_token(token: str):
    """(ticket, collaborator or None) for a customer's or a collaborator's link, else (None, None)."""
    ticket = ticket_for_token(token)
    if ticket is not None:
        return ticket, None
    try:
        data = _collab_serializer().loads(token, max_age=_max_age())
    except (BadSignature, SignatureExpired):
        return None, None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("t"), int):
        return None, None
    collab = db.session.get(Collaborator, data["c"])
    if (collab is None or not collab.active or collab.ticket_id != data["t"]
            or collab.access_nonce != data.get("n")):
        return None, None
    return collab.ticket, collab


# --- a forgotten password -----------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _fingerprint(agent: Agent) -> str:
    # The token is bound to the account as it was when the link was mailed: its address, its
    # password (so a used link is worthless) and its session token (which changes with the
    # email, the role, the password and two-factor resets). Whoever reads the old mailbox after
    # an admin changed the agent's address holds a dead link.
    bound = "\0".join((agent.email.strip().lower(), agent.password_hash, agent.session_token))
    return hashlib.sha256(bound.encode()).hexdigest()[:20]


def reset_token(agent: Agent) -> str:
    return _reset_serializer().dumps({"a": agent.id, "p": _fingerprint(agent)})


def agent_for_reset(token: str) -> Agent | None:
    try:
        data = _reset_serializer().loads(token, max_age=RESET_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        return None
    agent = db.session.get(Agent, data["a"])
    if agent is None or not agent.active or _fingerprint(agent) != data.get("p"):
        return None
    return agent
