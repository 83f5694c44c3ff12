"""Page or partial: one place decides, so views never read HX-* headers themselves."""
from flask import make_response, render_template
from jinja2_fragments.flask import render_blocks

from .extensions import htmx


def is_partial() -> bool:
    """An htmx request that wants a fragment (not a boosted navigation, not a history restore)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, *blocks: str, status: int = 200, trigger: str | dict | None = None, **context):
    """Render the full page, or, for htmx, only the named blocks of it (each a swappable element)."""
    if blocks and is_partial():
        body = render_blocks(template, list(blocks), **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.headers["Vary"] = "HX-Request"
    if trigger and is_partial():
        set_trigger(response, trigger)
    return response


def set_trigger(response, trigger):
    import json

    response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(trigger)
    return response
