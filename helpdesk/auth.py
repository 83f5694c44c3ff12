"""Agent sign-in and sign-out, the second sign-in step (a two-factor code or a recovery code),
and the rules every staff session follows: renewed at sign-in, ended after HELPDESK_IDLE_MINUTES
without activity, sent to two-factor enrolment when the desk requires it."""
from __future__ import annotations

import secrets
import time

from flask import (Blueprint, current_app, flash, make_response, redirect, request, session,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from . import limits, models, notify, twofactor
from .extensions import db
from .htmx import is_partial, render
from .models import PASSWORD_MAX, Agent
from .security import safe_next

bp = Blueprint("auth", __name__)

WRONG = "Wrong email or password, or the account is disabled."
PENDING_KEY = "second_factor"  # agent waiting for the code step: id, session token, remember, next
PENDING_SECONDS = 300
SEEN_KEY = "seen"  # last activity (epoch seconds) of a signed-in session
# Requests that are not a person's activity: they never keep a session alive. The agent panel's
# live parts poll on their own: the queue counts, the ticket page's poller and presence heartbeat.
PASSIVE_ENDPOINTS = {"static", "agent.counts", "agent.ticket_live", "agent.presence", "ops.healthz"}
# Pages whose live region polls the page's own endpoint: passive when that region (htmx names it
# in HX-Trigger) asks; a search, sort or page change on the same endpoint is activity.
LIVE_REGIONS = {"agent.queue": "results"}
# Pages an agent may use before enrolling, when the desk requires two-factor sign-in.
ENROLMENT_ENDPOINTS = {"static", "auth.logout", "account.two_factor", "account.two_factor_start",
                       "account.two_factor_confirm", "account.two_factor_qr", "ops.healthz"}


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField("Keep me signed in on this device")


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[
        DataRequired("Enter the 6-digit code, or one of your recovery codes."), Length(max=32)])


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


def start_session(agent: Agent, remember: bool = False) -> None:
    """A new session for this agent: whatever the browser held before is dropped."""
    session.clear()
    login_user(agent, remember=remember)
    session.permanent = True
    session[SEEN_KEY] = int(time.time())


def end_session() -> None:
    """Forget the session; logout_user() runs last so the remember-me cookie is cleared too."""
    session.clear()
    logout_user()


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
    step = twofactor.accepted_step(agent.totp_secret, form.code.data, agent.totp_last_step)
    # Each code works once, also when several sign-ins send it at the same moment: the time
    # step (or the recovery code) is spent by a conditional update that only one of them wins.
    spent = step is not None and twofactor.spend_step(agent, step)
    recovered = step is None and twofactor.use_recovery_code(agent, form.code.data)
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
        left = twofactor.recovery_left(agent)
        notify.recovery_code_used(agent, left, request.remote_addr, models.utcnow())
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
    elif left <= twofactor.RECOVERY_FEW:
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


def _go(target: str):
    if is_partial():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _passive() -> bool:
    """A request the page sent on its own (polling), not something the person did."""
    if request.endpoint in PASSIVE_ENDPOINTS:
        return True
    region = LIVE_REGIONS.get(request.endpoint)
    return region is not None and is_partial() and request.headers.get("HX-Trigger") == region


@bp.before_app_request
def staff_session_rules():
    """Idle timeout, and two-factor enrolment first when the desk requires it."""
    if "_user_id" not in session or request.endpoint == "static":
        return None
    now = int(time.time())
    idle = current_app.config["HELPDESK_IDLE_MINUTES"] * 60
    seen = session.get(SEEN_KEY)
    if idle and isinstance(seen, int) and now - seen > idle:
        end_session()
        minutes = current_app.config["HELPDESK_IDLE_MINUTES"]
        flash(f"You were signed out after {minutes} minutes without activity. Please sign in again.", "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return _go(url_for("auth.login", next=target) if target else url_for("auth.login"))
    passive = _passive()
    if not passive and (not isinstance(seen, int) or now - seen >= 15):
        session[SEEN_KEY] = now
    # An open page's polls only refresh what it shows (and must stay one query when nothing
    # changed); the agent's next page or action goes to enrolment.
    if (not passive and request.endpoint not in ENROLMENT_ENDPOINTS and current_user.is_authenticated
            and not current_user.totp_secret and twofactor.required()):
        flash("This desk requires two-factor sign-in. Set it up to continue.", "info")
        return _go(url_for("account.two_factor"))
    return None
