"""The admin area."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import config, extra, routes  # noqa: E402,F401
from . import channels  # noqa: E402,F401  (API keys, mailboxes, failed mail)
from . import twofactor  # noqa: E402,F401  (resetting an agent's two-factor sign-in)
from . import mail  # noqa: E402,F401  (the wording of the desk's mails)
