"""An agent's two-factor sign-in, seen from the admin area: reset it when the phone and the
recovery codes are lost."""
from __future__ import annotations

import secrets

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from .. import audit
from ..mail import notify
from ..security import totp
from ..auth.routes import end_session
from ..extensions import db
from . import bp
from .extra import agent_or_404, agent_page_refusing


class TwoFactorResetForm(FlaskForm):
    confirm = BooleanField("Yes, reset it: I have made sure the request really comes from this agent",
                           validators=[DataRequired("Tick the box to confirm the reset.")])


@bp.route("/agents/<int:row_id>/two-factor/reset", methods=["POST"])
def agent_two_factor_reset(row_id):
    """Reset an agent's two-factor sign-in: app secret and recovery codes cleared, every session
    of the agent ended, the agent mailed."""
    agent = agent_or_404(row_id)
    form = TwoFactorResetForm()
    if not form.validate():
        return agent_page_refusing(agent, reset_form=form)
    if not agent.totp_secret:
        abort(409, f"{agent.name} has no two-factor sign-in to reset.")
    agent.totp_secret = None
    agent.totp_last_step = None
    totp.clear_recovery_codes(agent)
    agent.session_token = secrets.token_hex(16)  # signed-in sessions end now
    audit.record("agent", agent, [("two_factor", "on", "reset")])
    required = totp.required()
    notify.two_factor_reset(agent, current_user, required)
    db.session.commit()
    if agent.id == current_user.id:
        end_session()
        flash("Your two-factor sign-in was reset and you were signed out. Sign in again.", "info")
        return redirect(url_for("auth.login"))
    then = ("They will set it up again at their next sign-in." if required
            else "They now sign in with their password alone.")
    flash(f"{agent.name}'s two-factor sign-in was reset: they were signed out everywhere and mailed. {then}",
          "success")
    return redirect(url_for("admin.agent_edit", row_id=agent.id))
