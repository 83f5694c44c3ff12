"""The agent panel's blueprint, and the template names every page of it gets (panel_context).
The view modules register their routes on `bp`; nothing here imports them."""
from flask import Blueprint

from ..web.navigation import provide_panel_context
from .responses import panel_context

bp = Blueprint("agent", __name__)

# Every agent page needs a fully signed-in agent: the app-wide rule in helpdesk/auth.py
# (staff_session_rules) sees to it for every endpoint of this blueprint.
bp.context_processor(panel_context)
# The account page and a signed-in agent's error pages show the same sidebar.
bp.record_once(lambda state: provide_panel_context(state.app, panel_context))
