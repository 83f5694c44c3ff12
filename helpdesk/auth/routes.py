"""Agent sign-in and sign-out, the second sign-in step (a two-factor code or a recovery code),
and the one rule every request passes through (staff_session_rules): a staff page answers only
a fully signed-in session (password, the second step when enrolled, enrolled when the desk
requires it, not idle, the agent active, the session begun under the agent's current session
token); anything less is sent to sign in, to the code step or to enrolment, with no data.

Each sign-in is a StaffSession row, named by the Flask session and the remember-me cookie:
sign-out deletes it, so copies of those cookies stop working, and the idle timeout reads its
last-seen time, whichever cookie brought the session back."""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, delete, func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock, models, settings
from ..extensions import db, login_manager
from ..htmx import go, is_partial, render, triggered_by
from ..mail import notify
from ..models import PASSWORD_MAX, Agent, Setting, StaffSession
from ..security import limits, safe_next, totp
from ..text import is_number
from .forms import CodeForm, LoginForm

bp = Blueprint("auth", __name__)

WRONG = "Wrong email or password, or the account is disabled."
PENDING_KEY = "second_factor"  # agent waiting for the code step: id, session token, remember, next
PENDING_SECONDS = 300
SEEN_EVERY = 15  # seconds: a session's last-seen time is written at most this often
# Every endpoint of these blueprints shows or changes staff data: fully signed-in sessions only.
STAFF_BLUEPRINTS = {"agent", "admin", "account"}
# ... except a forgotten password's steps, for someone who cannot sign in.
SIGNED_OUT_ENDPOINTS = {"account.forgot", "account.reset"}
# Requests that are not a person's activity: they never refresh the idle clock (and that is all:
# every other sign-in rule applies to them). The agent panel's live parts poll on their own: the
# queue counts, the ticket page's poller and presence heartbeat.
PASSIVE_ENDPOINTS = {"static", "agent.counts", "agent.ticket_live", "agent.presence", "ops.healthz"}
# Pages whose live region polls the page's own endpoint: passive when that region (htmx names it
# in HX-Trigger) asks; a search, sort or page change on the same endpoint is activity.
LIVE_REGIONS = {"agent.queue": "results"}
# Pages an agent may use before enrolling, when the desk requires two-factor sign-in.
ENROLMENT_ENDPOINTS = {"static", "theme_css", "auth.logout", "account.two_factor", "account.two_factor_start",
                       "account.two_factor_confirm", "account.two_factor_qr", "ops.healthz"}


_dummy_hashes: dict[str, str] = {}  # per password method: one made the first time it is needed


def _password_matches(agent: Agent | None, password: str) -> bool:
    """Whether the password is the agent's. Every sign-in computes exactly one password hash of
    the desk's method, whether the address is unknown (a dummy hash, made once with the method
    in force), the agent deactivated, the account locked, or the password wrong or right: how
    long the answer takes tells none of them apart."""
    stored = agent.password_hash if agent is not None else None
    if stored is None:
        method = models.PASSWORD_METHOD
        if method not in _dummy_hashes:
            _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
        stored = _dummy_hashes[method]
    # The form allows 1 to PASSWORD_MAX characters; the hash is computed whatever the outcome.
    right = check_password_hash(stored, password[:PASSWORD_MAX])
    return agent is not None and right and 0 < len(password) <= PASSWORD_MAX


# --- staff sessions ------------------------------------------------------------------------------


def _now() -> datetime:
    """Now as naive UTC, read from time.time(): the clock the idle rule has always used."""
    return datetime.fromtimestamp(time.time(), timezone.utc).replace(tzinfo=None)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _lifetime() -> int:
    """Seconds a staff session lasts without activity: the idle timeout, or when that is off,
    the longer of the session and remember-me cookies' lives."""
    idle = current_app.config["HELPDESK_IDLE_MINUTES"] * 60
    if idle:
        return idle
    remember = current_app.config.get("REMEMBER_COOKIE_DURATION", 0)
    remember = remember.total_seconds() if isinstance(remember, timedelta) else remember
    return int(max(current_app.permanent_session_lifetime.total_seconds(), remember))


def open_staff_session(agent: Agent, remember: bool = False) -> None:
    """A new StaffSession for this browser, and Flask-Login's sign-in naming it. The agent's
    sessions that can no longer be used (too long idle, or begun under an older session token)
    are deleted on the way."""
    now = _now()
    db.session.execute(delete(StaffSession).where(StaffSession.agent_id == agent.id, or_(
        StaffSession.agent_token != agent.session_token,
        StaffSession.last_seen_at < now - timedelta(seconds=_lifetime()))))
    key = secrets.token_urlsafe(32)
    db.session.add(StaffSession(agent_id=agent.id, key_hash=_digest(key), agent_token=agent.session_token,
                                created_at=now, last_seen_at=now, ip=(request.remote_addr or "")[:45] or None,
                                user_agent=request.user_agent.string[:200] or None))
    db.session.commit()
    agent.staff_session_key = key
    login_user(agent, remember=remember)
    session.permanent = True


def start_session(agent: Agent, remember: bool = False) -> None:
    """A new session for this agent: whatever the browser held before is dropped (and its staff
    session ended)."""
    _delete_staff_session()
    session.clear()
    open_staff_session(agent, remember)


def _delete_staff_session() -> None:
    """Delete the staff session this request's cookies name, if any."""
    if current_user.is_authenticated and g.get("staff_session_id") is not None:
        db.session.execute(delete(StaffSession).where(StaffSession.id == g.pop("staff_session_id")))
        db.session.commit()


def end_session() -> None:
    """Sign out: the staff session is deleted, so copies of this browser's cookies stop working
    (the agent's other devices keep theirs); the Flask session is forgotten, and logout_user()
    runs last so the remember-me cookie is cleared too."""
    _delete_staff_session()
    session.clear()
    logout_user()


# The admin's "Require two-factor sign-in" setting, read in the same query as the session.
_REQUIRE_TOTP = select(Setting.value).where(Setting.key == "require_totp").scalar_subquery()
# Built once: every request of a signed-in agent runs it (a live region's poll included).
_STAFF_SESSION = (
    select(Agent, StaffSession, _REQUIRE_TOTP).join(StaffSession, StaffSession.agent_id == Agent.id)
    .where(Agent.id == bindparam("agent_id"), StaffSession.key_hash == bindparam("key_hash"))
)


def load_staff_session(identity: str) -> Agent | None:
    """The agent of the staff session the cookie names ("agent id:session key"), if that session
    still exists, the agent is active and the session began under the agent's current session
    token. One query, which also reads the two-factor requirement: a live region's poll that
    finds nothing changed costs this and its own one read."""
    agent_id, _, key = str(identity).partition(":")
    if not is_number(agent_id) or len(agent_id) > 9 or not key or len(key) > 100:
        return None
    row = db.session.execute(_STAFF_SESSION, {"agent_id": int(agent_id), "key_hash": _digest(key)}).first()
    if row is None:
        return None
    agent, staff, required = row
    if not agent.active or staff.agent_token != agent.session_token:
        return None
    agent.staff_session_key = key
    g.staff_session, g.staff_session_id, g.require_totp_stored = staff, staff.id, required
    return agent


def _two_factor_required() -> bool:
    """totp.required(), from the value the session's query read (no query of its own
    unless that value is unreadable)."""
    stored = g.get("require_totp_stored")
    if stored is None:
        return bool(settings.default("require_totp"))
    if stored in ("1", "0"):
        return stored == "1"
    return totp.required()


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign an agent in; the session is renewed so an earlier session id is worthless."""
    target = safe_next(request.args.get("next"), url_for("agent.queue"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if not form.validate_on_submit():
        return render("auth/login.html", form=form, status=400 if form.errors else 200)
    email = form.email.data.strip().lower()
    # The same work on every path (one lookup, one password hash, one lockout read), so the time
    # taken tells no unknown, deactivated, locked or known address apart; only then the answer.
    agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == email))
    right = _password_matches(agent, form.password.data)
    wait = limits.lockout_remaining(email)
    if wait:
        form.password.errors.append(limits.lockout_message(wait))
        return render("auth/login.html", form=form, status=429)
    if right and agent.active:
        limits.clear_failures(email)
        if agent.totp_secret:
            session.clear()
            session[PENDING_KEY] = {"id": agent.id, "token": agent.session_token, "at": int(time.time()),
                                    "remember": bool(form.remember.data), "next": target}
            return redirect(url_for("auth.second_factor"))
        start_session(agent, remember=form.remember.data)
        return redirect(target)
    if limits.record_failure(email):
        form.password.errors.append(limits.lockout_message(current_app.config["HELPDESK_LOGIN_LOCKOUT_MINUTES"] * 60))
        return render("auth/login.html", form=form, status=429)
    form.password.errors.append(WRONG)
    return render("auth/login.html", form=form, status=401)


def _pending_agent() -> Agent | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    agent = db.session.get(Agent, pending.get("id")) if isinstance(pending.get("id"), int) else None
    if agent is None or not agent.active or agent.session_token != pending.get("token") or not agent.totp_secret:
        return None
    return agent


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    """The second sign-in step: the code from the agent's authenticator app, or a recovery code."""
    agent = _pending_agent()
    if agent is None:
        session.pop(PENDING_KEY, None)
        flash("Sign in with your email and password first.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    recovery = request.args.get("use") == "recovery"
    form.code.label.text = "Recovery code" if recovery else "Code from your authenticator app"

    def page(status):
        return render("auth/code.html", form=form, recovery=recovery, status=status)

    if not form.validate_on_submit():
        return page(400 if form.errors else 200)
    wait = limits.lockout_remaining(agent.email)
    if wait:
        form.code.errors.append(limits.lockout_message(wait))
        return page(429)
    step = totp.accepted_step(agent.totp_secret, form.code.data, agent.totp_last_step)
    # Each code works once, also when several sign-ins send it at the same moment: the time
    # step (or the recovery code) is spent by a conditional update that only one of them wins.
    spent = step is not None and totp.spend_step(agent, step)
    recovered = step is None and totp.use_recovery_code(agent, form.code.data)
    if not spent and not recovered:
        db.session.rollback()
        if limits.record_failure(agent.email):
            session.pop(PENDING_KEY, None)
            flash(limits.lockout_message(current_app.config["HELPDESK_LOGIN_LOCKOUT_MINUTES"] * 60), "error")
            return redirect(url_for("auth.login"), 303)
        form.code.errors.append("That recovery code is not right, or was used already." if recovery else
                                "That code is not right, or was used already. Wait for the next one and try again.")
        return page(401)
    left = 0
    if recovered:  # the agent is mailed: a stolen code in someone else's hands shows at once
        left = totp.recovery_left(agent)
        notify.recovery_code_used(agent, left, request.remote_addr, clock.utcnow())
    db.session.commit()
    limits.clear_failures(agent.email)
    pending = session[PENDING_KEY]
    start_session(agent, remember=pending.get("remember", False))
    if recovered:
        _recovery_notice(left)
    return redirect(safe_next(pending.get("next"), url_for("agent.queue")))


def _recovery_notice(left: int) -> None:
    """After a sign-in with a recovery code: how many are left, and a warning when few are."""
    if left == 0:
        flash("You signed in with your last recovery code. Make a new set on your account page now, "
              "or you cannot sign in without your phone.", "warning")
    elif left <= totp.RECOVERY_FEW:
        flash(f"You signed in with a recovery code. Only {left} of them {'is' if left == 1 else 'are'} left: "
              "make a new set on your account page.", "warning")
    else:
        flash(f"You signed in with a recovery code; it will not work again. {left} recovery codes are left.",
              "info")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and forget the session."""
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _passive() -> bool:
    """A request the page sent on its own (polling), not something the person did."""
    if request.endpoint in PASSIVE_ENDPOINTS:
        return True
    region = LIVE_REGIONS.get(request.endpoint)
    return region is not None and triggered_by(region)


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, except that a poll does not write it back unchanged. A poll
    sent before an action and answered after it would otherwise put back the cookie it was sent,
    and with it drop what the action stored: its message for the next page ("The macro was
    saved."), say. The idle clock is the staff session's, on the server, which polls never move
    anyway."""

    def should_set_cookie(self, app, session) -> bool:
        if not session.modified and request.endpoint is not None and _passive():
            return False
        return super().should_set_cookie(app, session)


def _is_staff(endpoint: str) -> bool:
    return endpoint.partition(".")[0] in STAFF_BLUEPRINTS and endpoint not in SIGNED_OUT_ENDPOINTS


@bp.before_app_request
def staff_session_rules():
    """The one rule of every request, so no staff page can forget it. A signed-in session that
    has been idle too long ends; activity (not a passive poll) refreshes its last-seen time; an
    agent who must enrol in two-factor sign-in can use nothing but enrolment. A staff page asked
    without a fully signed-in session (none, the code step pending, an ended, deactivated or
    superseded session) is sent to sign in or to the code step: htmx gets HX-Redirect, no data."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":  # no such page (404), or a static file
        return None
    if current_user.is_authenticated:
        return _signed_in_rules(endpoint)
    if not _is_staff(endpoint):
        return None
    if _pending_agent() is not None:
        return go(url_for("auth.second_factor"), reload=True)
    if is_partial():  # a live region's poll too: the whole page goes there, not the form into the region
        return go(url_for("auth.login"), reload=True)
    return login_manager.unauthorized()


def _signed_in_rules(endpoint: str):
    staff = g.staff_session
    now = _now()
    passive = _passive()
    if now - staff.last_seen_at > timedelta(seconds=_lifetime()):
        end_session()
        idle = current_app.config["HELPDESK_IDLE_MINUTES"]
        flash(f"You were signed out after {idle} minutes without activity. Please sign in again." if idle
              else "Your session expired. Please sign in again.", "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return go(url_for("auth.login", next=target) if target else url_for("auth.login"), reload=True)
    if not passive and (now - staff.last_seen_at).total_seconds() >= SEEN_EVERY:
        staff.last_seen_at = now
        db.session.commit()
    if endpoint not in ENROLMENT_ENDPOINTS and not current_user.totp_secret and _two_factor_required():
        if not passive:  # a poll's redirect leads to the enrolment page, which says why
            flash("This desk requires two-factor sign-in. Set it up to continue.", "info")
        return go(url_for("account.two_factor"), reload=True)
    return None
