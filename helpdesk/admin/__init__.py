"""The admin area."""
from flask import Blueprint, request

from .. import audit

bp = Blueprint("admin", __name__)


@bp.before_request
def changes_are_audited():
    """Every state-changing request of the admin area: its commits must carry an audit entry
    (audit.require), so no view can save a change and forget to log it."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        audit.require()

from . import config, extra, routes  # noqa: E402,F401
from . import channels  # noqa: E402,F401  (API keys, mailboxes, failed mail)
from . import twofactor  # noqa: E402,F401  (resetting an agent's two-factor sign-in)
from . import mail  # noqa: E402,F401  (the wording of the desk's mails)
