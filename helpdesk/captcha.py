"""A self-hosted CAPTCHA for the public form (HELPDESK_CAPTCHA=1): a small sum in words, made
and checked here. The signed token carries a keyed hash of the answer (not the answer), expires
after an hour and is accepted once, in every worker (helpdesk.limits.first_use)."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from . import limits
from .text import is_number

SALT = "helpdesk.captcha"
MAX_AGE = 3600
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
WRONG = "That answer is not right. Here is a new question."


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _digest(nonce: str, answer: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()[:32]


def enabled() -> bool:
    return bool(current_app.config.get("HELPDESK_CAPTCHA"))


def challenge() -> tuple[str, str]:
    """(question, token) for a new sum."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_urlsafe(12)
    token = _serializer().dumps({"n": nonce, "h": _digest(nonce, str(a + b))})
    return f"What is {WORDS[a]} plus {WORDS[b]}?", token


def solved(token: str | None, answer: str | None) -> bool:
    """True for the right answer to an unexpired challenge not used before."""
    try:
        data = _serializer().loads(token or "", max_age=MAX_AGE)
    except (BadSignature, SignatureExpired):
        return False
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("h"), str):
        return False
    answer = (answer or "").strip()
    if not is_number(answer) or len(answer) > 3:
        return False
    if not hmac.compare_digest(_digest(data["n"], str(int(answer))), data["h"]):
        return False
    return limits.first_use("captcha", data["n"], MAX_AGE)
