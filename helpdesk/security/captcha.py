"""The proof-of-work check on the public form (HELPDESK_CAPTCHA=1), made and verified with ALTCHA.

The desk makes each challenge itself (GET /captcha/challenge, the `altcha` package) and the
ALTCHA widget (static/vendor/altcha, loaded by static/captcha.js) solves it in the visitor's
browser: it must find the counter whose PBKDF2-SHA-256 key (COST iterations) starts with the
challenge's key prefix, which takes a browser about a second and a script the same work for
every form it sends. No outside service is asked, and no regular expression reads an answer off
the page: the answer is the work.

A challenge is signed with a key derived from SECRET_KEY (so nobody else can make one), expires
after MAX_AGE, and is used up by the first submission that carries it, solved or not, in every
worker (helpdesk.limits.first_use): a replayed solution is refused, and a wrong one cannot be
tried again. What it does not stop is a sender who pays the CPU for each form: the rate limits
and the open-ticket cap are there for that.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time

from flask import current_app

from . import limits

ALGORITHM = "PBKDF2/SHA-256"
COST = 1_000  # PBKDF2 iterations per counter tried
# The counter the browser must find lies in [MIN_COUNTER, MIN_COUNTER + SPREAD): every solution
# costs at least MIN_COUNTER key derivations, and none more than twice that.
MIN_COUNTER = 1_000
SPREAD = 1_000
MAX_AGE = 20 * 60  # seconds a challenge may be solved and sent in
PAYLOAD_MAX = 4_000  # characters; a genuine payload has about 700

MISSING = ("The check that this form is sent by a person did not finish. Wait for its tick "
           "(it takes a few seconds), then send the form again.")
WRONG = "The check that this form is sent by a person failed or has expired. It starts again: wait for its tick."


def enabled() -> bool:
    return bool(current_app.config.get("HELPDESK_CAPTCHA"))


def _key(purpose: str) -> bytes:
    """A key for one purpose, derived from SECRET_KEY (never the secret itself in another role)."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"helpdesk.captcha.{purpose}".encode(), hashlib.sha256).digest()


def challenge() -> dict:
    """A new signed challenge, as the widget reads it (JSON)."""
    import altcha  # here: most desks run without the captcha, and their workers never load it

    made = altcha.create_challenge(
        ALGORITHM, COST,
        counter=MIN_COUNTER + secrets.randbelow(SPREAD),
        expires_at=math.ceil(time.time()) + MAX_AGE,
        hmac_secret=_key("challenge"),
    )
    return made.to_dict()


def solved(payload: str | None) -> bool:
    """True for a right solution to an unexpired challenge of this desk not sent before.

    Any submission that carries one of the desk's challenges uses it up, solved or not: a wrong
    counter cannot be followed by another guess for the same challenge."""
    if not isinstance(payload, str) or not payload or len(payload) > PAYLOAD_MAX:
        return False
    import altcha

    try:
        # The counter is checked by deriving its key again (one PBKDF2, COST iterations).
        result = altcha.verify_solution(payload, _key("challenge"))
        if result.invalid_signature is not False:
            return False  # not a payload, not the desk's challenge, or expired: nothing to use up
        signature = altcha.Payload.from_base64(payload).challenge.signature
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, UnicodeError):
        return False
    fresh = limits.first_use("captcha", signature, MAX_AGE)
    return bool(result.verified) and fresh
