"""Time-based one-time codes (TOTP, RFC 6238) for agents' two-factor sign-in, and the QR code
that carries the secret to an authenticator app, drawn here (no outside service sees it)."""
from __future__ import annotations

import hmac
import io
import re
import time

import pyotp
import segno
from flask import current_app

STEP = 30  # seconds per code
DRIFT = 1  # codes one step early or late still count (clocks drift)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=current_app.config["HELPDESK_NAME"])


def qr_svg(uri: str) -> bytes:
    """The otpauth:// URI as an SVG QR code."""
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


def format_secret(secret: str) -> str:
    """ABCD EFGH ... for typing it in by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
