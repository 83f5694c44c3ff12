"""The agent panel: queues, the ticket page and every action on a ticket."""
from flask import Blueprint

bp = Blueprint("agent", __name__)

from . import routes  # noqa: E402,F401
