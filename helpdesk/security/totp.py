"""Time-based one-time codes (TOTP, RFC 6238) for agents' two-factor sign-in, the QR code
that carries the secret to an authenticator app, drawn here (no outside service sees it), and
the single-use recovery codes that stand in for the app when the phone is lost."""
from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import time

import pyotp
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from .. import clock, settings
from ..extensions import db
from ..models import Agent, RecoveryCode

STEP = 30  # seconds per code
DRIFT = 1  # codes one step early or late still count (clocks drift)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=current_app.config["HELPDESK_NAME"])


def qr_svg(uri: str) -> bytes:
    """The otpauth:// URI as an SVG QR code."""
    import segno  # here: only two-factor enrolment draws one (segno and its XML writer: about 1.5 MiB)

    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False,
                                    svgclass=None, lineclass=None, dark="#000", light="#fff")
    return buffer.getvalue()


def accepted_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step the code belongs to if it is right and newer than the last one used, else None."""
    code = re.sub(r"\s+", "", code or "")
    if not secret or not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now = time.time() if now is None else now
    current = int(now // STEP)
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if last_step is not None and step <= last_step:
                return None  # a code works once
            return step
    return None


def spend_step(agent, step: int) -> bool:
    """Mark the time step of an accepted code as used; False when it (or a later one) was used
    already. One conditional UPDATE, so of several sign-ins sending the same code at the same
    moment exactly one changes the row and gets in."""
    spent = db.session.execute(update(Agent).where(
        Agent.id == agent.id, or_(Agent.totp_last_step.is_(None), Agent.totp_last_step < step),
    ).values(totp_last_step=step))
    return spent.rowcount == 1


def format_secret(secret: str) -> str:
    """ABCD EFGH ... for typing it in by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# --- recovery codes -----------------------------------------------------------------------------

RECOVERY_COUNT = 10
RECOVERY_FEW = 3  # at or below this many left, the agent is told to make a new set
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed without doubt
_GROUP = 5


def normalise_recovery(code: str) -> str:
    """What the agent typed, without spaces, dashes and case."""
    return re.sub(r"[\s\-]+", "", code or "").lower()


def looks_like_recovery(code: str) -> bool:
    return bool(re.fullmatch(f"[{_ALPHABET}]{{{2 * _GROUP}}}", normalise_recovery(code)))


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def hash_recovery(code: str) -> str:
    salt = secrets.token_hex(8)
    return f"{salt}${_hash(salt, normalise_recovery(code))}"


def recovery_matches(stored: str, code: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(_hash(salt, normalise_recovery(code)), digest)


def new_recovery_codes(agent) -> list[str]:
    """A fresh set of codes for the agent (the old set stops working); the plain codes are
    returned to be shown once and are never stored."""
    clear_recovery_codes(agent)
    codes = []
    for _ in range(RECOVERY_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(2 * _GROUP))
        codes.append(f"{raw[:_GROUP]}-{raw[_GROUP:]}")
        db.session.add(RecoveryCode(agent_id=agent.id, code_hash=hash_recovery(raw)))
    return codes


def clear_recovery_codes(agent) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.agent_id == agent.id))


def recovery_left(agent) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.agent_id == agent.id, RecoveryCode.used_at.is_(None))) or 0


def use_recovery_code(agent, code: str) -> bool:
    """Spend one of the agent's unused codes if the code is one; each works once, even when two
    sign-ins send the same code at the same moment (only one update finds it unused)."""
    if not looks_like_recovery(code):
        return False
    rows = db.session.execute(select(RecoveryCode.id, RecoveryCode.code_hash).where(
        RecoveryCode.agent_id == agent.id, RecoveryCode.used_at.is_(None))).all()
    found = None
    for row_id, stored in rows:  # compare with every code, so the time taken tells nothing
        if recovery_matches(stored, code) and found is None:
            found = row_id
    if found is None:
        return False
    spent = db.session.execute(update(RecoveryCode).where(
        RecoveryCode.id == found, RecoveryCode.used_at.is_(None)).values(used_at=clock.utcnow()))
    return spent.rowcount == 1


def required() -> bool:
    """Whether the desk requires two-factor sign-in of every agent (an admin setting, whose
    default is HELPDESK_REQUIRE_TOTP)."""
    return bool(settings.get("require_totp"))
