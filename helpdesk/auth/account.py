"""An agent's own account: change the password, set up two-factor sign-in and its recovery
codes, choose how the desk looks (display settings), which browser notifications to get and
(managers and admins) the weekly summary mail, and reset a forgotten password through a mailed
link."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, request, session, url_for
from flask_login import current_user, login_required

from .. import clock
from ..extensions import db
from ..htmx import render
from ..mail import notify
from ..models import PasswordResetRequest
from ..reports import weekly
from ..security import totp
from ..security.tokens import agent_for_reset
from ..web.navigation import panel_context
from . import preferences
from .forms import (
    DisableForm,
    EnrolForm,
    ForgotForm,
    NotificationsForm,
    PasswordForm,
    RecoveryForm,
    ResetForm,
    WeeklyReportForm,
)
from .routes import end_session, start_session

bp = Blueprint("account", __name__)
# The account page is a staff page like the queues: it shows their sidebar.
bp.context_processor(panel_context)

RESET_SENT = ("If that address belongs to an active agent account, we have mailed it a link to choose "
              "a new password. The link works for one hour, once.")
ENROL_KEY = "totp_enrolment"  # the secret being set up, until a code confirms it


def _page(status=200, **forms):
    forms.setdefault("password_form", PasswordForm(formdata=None))
    forms.setdefault("disable_form", DisableForm(formdata=None))
    forms.setdefault("recovery_form", RecoveryForm(formdata=None, prefix="recovery"))
    forms.setdefault("display", preferences.current(current_user))
    forms.setdefault("display_problems", {})
    forms.setdefault("notifications_form", _notifications_form(formdata=None))
    if weekly.may_ask(current_user):
        forms.setdefault("weekly_form", WeeklyReportForm(prefix="weekly", formdata=None,
                                                         weekly=current_user.weekly_report))
    left = totp.recovery_left(current_user) if current_user.totp_secret else 0
    return render("account/index.html", status=status, required=totp.required(), recovery_left=left,
                  recovery_few=totp.RECOVERY_FEW, CHOICES=preferences.CHOICES, **forms)


def _codes_page(codes: list[str], enrolled: bool):
    """The recovery codes, shown this once: never stored in plain, flashed or cached."""
    response = render("account/recovery_codes.html", codes=codes, enrolled=enrolled)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account")
@login_required
def index():
    """The agent's account: password, two-factor sign-in, display settings, browser notifications
    and (managers and admins) the weekly summary mail."""
    return _page()


@bp.post("/account/password")
@login_required
def password():
    """Change the password: the current one is required; every other session of this agent ends."""
    form = PasswordForm()
    if not form.validate():
        return _page(400, password_form=form)
    agent = current_user._get_current_object()
    if not agent.check_password(form.current.data):
        form.current.errors.append("That is not your current password.")
        return _page(400, password_form=form)
    agent.set_password(form.new.data)
    db.session.commit()
    start_session(agent)
    flash("Your password was changed. Other devices signed in as you were signed out.", "success")
    return redirect(url_for("account.index"))


@bp.post("/account/display")
@login_required
def display():
    """Save the display settings: theme, the queue's rows and tickets per page."""
    values, problems = preferences.chosen(request.form)
    if problems:
        return _page(400, display={**preferences.current(current_user), **values}, display_problems=problems)
    preferences.save(current_user._get_current_object(), values)
    flash("Your display settings were saved.", "success")
    return redirect(url_for("account.index", _anchor="display"))


# --- browser notifications ---------------------------------------------------------------------


def _notifications_form(**kw) -> NotificationsForm:
    agent = current_user
    return NotificationsForm(prefix="notify", assigned=agent.notify_assigned, replies=agent.notify_replies,
                             new=agent.notify_new, **kw)


@bp.post("/account/notifications")
@login_required
def notifications():
    """Choose which events the agent panel shows as browser notifications."""
    form = _notifications_form(formdata=request.form)  # all boxes unticked is a form too
    if not form.validate():
        return _page(400, notifications_form=form)
    agent = current_user._get_current_object()
    agent.notify_assigned = form.assigned.data
    agent.notify_replies = form.replies.data
    agent.notify_new = form.new.data
    db.session.commit()
    wanted = agent.notify_assigned or agent.notify_replies or agent.notify_new
    flash("Your notification choices were saved." if wanted else "Browser notifications are off.", "success")
    return redirect(url_for("account.index", _anchor="notifications"))


@bp.post("/account/weekly-report")
@login_required
def weekly_report():
    """Managers and admins: ask for the weekly summary mail of their reports, or stop it."""
    agent = current_user._get_current_object()
    if not weekly.may_ask(agent):
        abort(403, "The weekly summary is for managers and admins.")
    form = WeeklyReportForm(prefix="weekly", formdata=request.form)  # an unticked box is a form too
    if not form.validate():
        return _page(400, weekly_form=form)
    weekly.subscribe(agent, form.weekly.data, clock.utcnow())
    flash("You will get the weekly summary by mail on Monday mornings." if agent.weekly_report
          else "The weekly summary mail is off.", "success")
    return redirect(url_for("account.index", _anchor="weekly-report"))


# --- two-factor sign-in -------------------------------------------------------------------------


@bp.get("/account/two-factor")
@login_required
def two_factor():
    """Set up two-factor sign-in: the secret as a QR code and as text, and the code that confirms it."""
    if current_user.totp_secret:
        return redirect(url_for("account.index"))
    secret = session.get(ENROL_KEY)
    if not secret:  # sent here because the desk requires it: begin at once (no loop back to /account)
        secret = session[ENROL_KEY] = totp.new_secret()
    return render("account/two_factor.html", form=EnrolForm(formdata=None), secret=totp.format_secret(secret),
                  required=totp.required())


@bp.post("/account/two-factor/start")
@login_required
def two_factor_start():
    """Begin enrolment with a fresh secret (kept in the session until a code confirms it)."""
    if current_user.totp_secret:
        flash("Two-factor sign-in is already on.", "info")
        return redirect(url_for("account.index"))
    session[ENROL_KEY] = totp.new_secret()
    return redirect(url_for("account.two_factor"))


@bp.get("/account/two-factor/qr.svg")
@login_required
def two_factor_qr():
    """The enrolment secret as a QR code image, drawn here."""
    secret = session.get(ENROL_KEY)
    if not secret or current_user.totp_secret:
        abort(404)
    svg = totp.qr_svg(totp.provisioning_uri(secret, current_user.email))
    response = make_response(svg)
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/account/two-factor")
@login_required
def two_factor_confirm():
    """A right code turns two-factor sign-in on and makes the recovery codes, shown this once;
    other sessions of this agent end."""
    secret = session.get(ENROL_KEY)
    if not secret or current_user.totp_secret:
        return redirect(url_for("account.index"))
    form = EnrolForm()
    step = totp.accepted_step(secret, form.code.data, None) if form.validate() else None
    if step is None:
        if not form.errors:
            form.code.errors.append("That code is not right. Check the app's clock and try the next code.")
        return render("account/two_factor.html", form=form, secret=totp.format_secret(secret), status=400,
                      required=totp.required())
    agent = current_user._get_current_object()
    agent.totp_secret = secret
    agent.totp_last_step = step
    agent.session_token = _new_token()
    codes = totp.new_recovery_codes(agent)
    db.session.commit()
    start_session(agent)
    return _codes_page(codes, enrolled=True)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def recovery_codes():
    """A new set of recovery codes (current password required); the old set stops working."""
    form = RecoveryForm(prefix="recovery")
    agent = current_user._get_current_object()
    if not agent.totp_secret:
        abort(409, "Turn two-factor sign-in on first: recovery codes stand in for its codes.")
    if not form.validate() or not agent.check_password(form.current.data):
        if form.current.data:
            form.current.errors.append("That is not your current password.")
        return _page(400, recovery_form=form)
    codes = totp.new_recovery_codes(agent)
    db.session.commit()
    return _codes_page(codes, enrolled=False)


@bp.post("/account/two-factor/disable")
@login_required
def two_factor_disable():
    """Turn two-factor sign-in off (current password required; not when the desk requires it);
    the recovery codes are deleted."""
    if totp.required():
        abort(403, "This desk requires two-factor sign-in for every agent.")
    form = DisableForm()
    agent = current_user._get_current_object()
    if not form.validate() or not agent.check_password(form.current.data):
        if form.current.data:
            form.current.errors.append("That is not your current password.")
        return _page(400, disable_form=form)
    agent.totp_secret = None
    agent.totp_last_step = None
    totp.clear_recovery_codes(agent)
    notify.two_factor_off(agent, request.remote_addr, clock.utcnow())
    db.session.commit()
    flash("Two-factor sign-in is off, and your recovery codes were deleted.", "success")
    return redirect(url_for("account.index"))


def _new_token() -> str:
    import secrets

    return secrets.token_hex(16)


# --- a forgotten password -----------------------------------------------------------------------


@bp.route("/login/forgot", methods=["GET", "POST"])
def forgot():
    """Ask for a password reset link. The view only records the request and answers at once, the
    same work and the same answer for any address; the outbox sender looks it up and mails the
    link to an active agent (mail_reset_links)."""
    form = ForgotForm()
    if not form.validate_on_submit():
        return render("account/forgot.html", form=form, status=400 if form.errors else 200)
    db.session.add(PasswordResetRequest(email=form.email.data.strip().lower()))
    db.session.commit()
    flash(RESET_SENT, "info")
    return redirect(url_for("auth.login"))


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
def reset(token):
    """Choose a new password through a mailed link (one hour, once); every session of the agent ends."""
    agent = agent_for_reset(token)
    if agent is None:
        return render("account/reset_invalid.html", status=404)
    form = ResetForm()
    if not form.validate_on_submit():
        return render("account/reset.html", form=form, token=token, status=400 if form.errors else 200)
    agent.set_password(form.new.data)
    db.session.commit()
    end_session()
    flash("Your password was changed. Sign in with the new one.", "success")
    return redirect(url_for("auth.login"))
