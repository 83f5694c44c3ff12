"""The admin area."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import config, extra, routes  # noqa: E402,F401
