"""The agent panel's sidebar (the queues and their live counts) on staff pages outside the panel:
the account page and the error pages a signed-in agent sees. The panel hands over the names its
templates use when its blueprint is registered: the layers below it may not import it."""
from __future__ import annotations

from flask import current_app

_KEY = "helpdesk.panel_context"


def provide_panel_context(app, provider) -> None:
    """Called by the agent panel: `provider()` returns the names its layout needs."""
    app.extensions[_KEY] = provider


def panel_context() -> dict:
    """The agent panel's template names, or nothing in an app without the panel."""
    provider = current_app.extensions.get(_KEY)
    return provider() if provider else {}
