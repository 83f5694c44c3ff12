"""Rate limits on the public and sign-in forms, the per-account sign-in lockout, and one-time
markers (spent CAPTCHA challenges), all kept in one storage that every worker shares.

HELPDESK_RATELIMIT_STORAGE names the storage: `memory://` (the default) counts inside one
process only, which is right for `flask run` and a single gunicorn worker; with several workers
or hosts use Redis (`redis://127.0.0.1:6379/0`) so they share the counts.

Each app gets its own Limiter (created in init_app), so two apps in one process never share
state by accident; the limits themselves are the table RULES below.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import storage_from_string

log = logging.getLogger(__name__)


def _form_email() -> str:
    """The address a form was sent for, normalised: limits per address as well as per IP."""
    value = request.form.get("email", "") if request.form else ""
    return "email:" + value.strip().lower()[:254]


def _agent() -> str:
    """The signed-in agent: limits on what an agent may ask of the desk, wherever they work from."""
    from flask_login import current_user

    return f"agent:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def _api_key() -> str:
    """The API key a request authenticated with (the API checks the key before any limit)."""
    from flask import g

    key = getattr(g, "api_key", None)
    return f"apikey:{key.id}" if key is not None else get_remote_address()


def _api_key_ticket() -> str:
    """The API key and the ticket it asks about: how often one ticket's customer is mailed."""
    number = (request.view_args or {}).get("number", "")
    return f"{_api_key()}:ticket:{str(number).upper()[:20]}"


def _config(name: str) -> Callable[[], str]:
    """A limit read from the configuration when a request comes (so a deployment can tune it)."""
    return lambda: current_app.config[name]


def _failed(response) -> bool:
    """Only refused attempts count (wrong password, bad code): signing in normally never locks."""
    return response.status_code in (400, 401, 403, 429)


@dataclass(frozen=True)
class Rule:
    endpoint: str
    limit: str | Callable[[], str]  # Flask-Limiter's notation: "5/minute;30/hour"
    key: Callable[[], str] = get_remote_address
    scope: str = "ip"
    deduct_when: Callable | None = None
    methods: tuple[str, ...] = ("POST",)
    message: str = ""  # else LIMITED_MESSAGE


API_LIMITED_MESSAGE = "Too many requests with this API key. Please wait a minute and try again."

# Every rate-limited form, in one place (POSTs only; reading a page is never limited, but for
# queue exports, each of which reads a whole queue, the form's CAPTCHA challenges, and the API,
# per key).
RULES = [
    Rule("auth.login", "10/minute;60/hour", deduct_when=_failed),
    Rule("auth.second_factor", "10/minute;60/hour", deduct_when=_failed),
    Rule("account.forgot", "5/minute;20/hour"),
    Rule("account.forgot", "3/hour", key=_form_email, scope="email"),
    Rule("account.reset", "10/minute;30/hour", deduct_when=_failed),
    Rule("portal.new_ticket", "5/minute;30/hour"),
    Rule("portal.new_ticket", "10/hour", key=_form_email, scope="email"),
    # The form's proof-of-work challenges (HELPDESK_CAPTCHA=1): a few per form a person sends.
    Rule("portal.captcha_challenge", "10/minute;60/hour", methods=("GET",)),
    Rule("portal.check_status", "5/minute;30/hour"),
    Rule("portal.check_status", "5/hour", key=_form_email, scope="email"),
    Rule("portal.reply", "10/minute;60/hour"),
    # Forms that ask a signed-in agent for the current password: guessing it is throttled too.
    *(Rule(endpoint, "10/minute;30/hour", key=_agent, scope="agent", deduct_when=_failed,
           message="Too many wrong passwords. Please wait a few minutes and try again.")
      for endpoint in ("account.password", "account.recovery_codes", "account.two_factor_disable")),
    *(Rule(endpoint, "10/minute;60/hour", key=_agent, scope="agent", methods=("GET",),
           message="Too many exports in a short time. Please wait a minute and try again.")
      for endpoint in ("agent.export_queue", "agent.export_queue_xlsx")),
    # The API, per key: one tool's burst never holds up another's.
    *(Rule(endpoint, _config("HELPDESK_API_WRITE_LIMIT"), key=_api_key, scope="apikey",
           message=API_LIMITED_MESSAGE) for endpoint in ("api.create_ticket", "api.add_message", "api.access_link")),
    # Each link request mails the customer: a few an hour per ticket, whatever the key's own limit.
    Rule("api.access_link", "5/hour", key=_api_key_ticket, scope="apikey-ticket",
         message="The customer was mailed a link to this ticket several times in the last hour. "
                 "Please wait before asking again."),
    *(Rule(endpoint, _config("HELPDESK_API_READ_LIMIT"), key=_api_key, scope="apikey", methods=("GET",),
           message=API_LIMITED_MESSAGE)
      for endpoint in ("api.list_tickets", "api.get_ticket", "api.download_attachment")),
]

LIMITED_MESSAGE = "Too many attempts from your address. Please wait a little and try again."


def refusal_message(exc, default: str) -> str:
    """What a 429 says: the message of the rule that refused (RULES), else `default`."""
    limit = getattr(exc, "limit", None)
    return exc.description if limit is not None and getattr(limit, "error_message", None) else default


def init_app(app) -> None:
    """A Limiter for this app, the limits of RULES on their views, and the shared counter storage."""
    cfg = app.config
    cfg.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    cfg.setdefault("RATELIMIT_STRATEGY", "moving-window")
    cfg.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    cfg.setdefault("RATELIMIT_KEY_PREFIX", "helpdesk")
    # If the shared storage is down, keep serving (counting in memory) rather than refuse everyone.
    cfg.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    cfg.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter = Limiter(key_func=get_remote_address)
    limiter.init_app(app)
    app.extensions["helpdesk_limiter"] = limiter
    app.extensions["helpdesk_counters"] = storage_from_string(cfg["RATELIMIT_STORAGE_URI"])
    for rule in RULES:
        view = app.view_functions.get(rule.endpoint)
        if view is None:
            continue
        wrapped = limiter.limit(rule.limit, key_func=rule.key, methods=list(rule.methods), scope=f"{rule.endpoint}:{rule.scope}",
                                deduct_when=rule.deduct_when, error_message=rule.message or LIMITED_MESSAGE)(view)
        app.view_functions[rule.endpoint] = wrapped


def enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _storage():
    return current_app.extensions["helpdesk_counters"]


def _key(*parts: str) -> str:
    return ":".join([current_app.config["RATELIMIT_KEY_PREFIX"], *parts])


# --- the per-account sign-in lockout (osTicket: 4 failures, then 2 minutes) ---------------------


def _account(email: str) -> str:
    return (email or "").strip().lower()[:254]


def lockout_remaining(email: str) -> int:
    """Seconds the account is still locked for; 0 if it is not locked."""
    if not enabled():
        return 0
    key = _key("lock", _account(email))
    try:
        if _storage().get(key) <= 0:
            return 0
        return max(1, math.ceil(_storage().get_expiry(key) - _now()))
    except Exception:  # the shared storage is down: do not lock everyone out
        log.exception("login lockout storage unavailable")
        return 0


def record_failure(email: str) -> bool:
    """Count a failed sign-in for this account; True when that failure locks it."""
    if not enabled():
        return False
    cfg = current_app.config
    attempts, minutes = cfg["HELPDESK_LOGIN_ATTEMPTS"], cfg["HELPDESK_LOGIN_LOCKOUT_MINUTES"]
    account = _account(email)
    try:
        failures = _storage().incr(_key("fail", account), expiry=minutes * 60 * 5)
        if failures >= attempts:
            _storage().clear(_key("fail", account))
            _storage().incr(_key("lock", account), expiry=minutes * 60)
            log.warning("sign-in locked for %s after %d failures", account, failures)
            return True
    except Exception:
        log.exception("login lockout storage unavailable")
    return False


def clear_failures(email: str) -> None:
    if not enabled():
        return
    try:
        _storage().clear(_key("fail", _account(email)))
    except Exception:
        log.exception("login lockout storage unavailable")


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (f"Too many failed sign-ins for this account. Try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or reset your password.")


# --- one-time markers -------------------------------------------------------------------------


def first_use(kind: str, token: str, ttl_seconds: int) -> bool:
    """True the first time this token is seen (in every worker), False after that."""
    try:
        return _storage().incr(_key("once", kind, token), expiry=ttl_seconds) == 1
    except Exception:
        log.exception("one-time marker storage unavailable")
        return True


def _now() -> float:
    import time

    return time.time()
