"""The customer portal: open a ticket, check its status, follow and answer it."""
from flask import Blueprint

bp = Blueprint("portal", __name__)

from . import routes  # noqa: E402,F401  (routes register themselves on bp)
