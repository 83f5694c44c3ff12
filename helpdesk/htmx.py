"""Page or partial, and every htmx header: one place reads and writes HX-*, so views never do."""
from __future__ import annotations

import json

from flask import make_response, redirect, render_template, request
from jinja2_fragments.flask import render_blocks

from .extensions import htmx


def is_partial() -> bool:
    """An htmx request that wants a fragment (not a boosted navigation, not a history restore)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def triggered_by(element_id: str) -> bool:
    """The request was sent by the element with this id (htmx's HX-Trigger request header)."""
    return is_partial() and request.headers.get("HX-Trigger") == element_id


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


def set_trigger(response, trigger: str | dict):
    """Fire a client-side event (or several, with details) when the response arrives."""
    response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(trigger)
    return response


def go(target: str, *, reload: bool = False):
    """Send the browser to `target`: a 302, or for htmx an empty answer that navigates there.
    htmx's HX-Location swaps the new page in (history kept); `reload=True` (HX-Redirect) loads it
    as a whole new page, for a change of who is signed in."""
    if not is_partial():
        return redirect(target)
    response = make_response("", 200)
    response.headers["HX-Redirect" if reload else "HX-Location"] = target
    return response


def retarget(response, selector: str, swap: str = "outerHTML"):
    """Put the answer somewhere other than the element that asked (a form's own block, say)."""
    if is_partial():
        response.headers["HX-Retarget"] = selector
        response.headers["HX-Reswap"] = swap
    return response


def swap_nothing(response):
    """Leave the element that asked as it was (the answer carries only out-of-band parts)."""
    if is_partial():
        response.headers["HX-Reswap"] = "none"
    return response


def refresh(response):
    """Reload the whole page once the answer arrives (a change the stylesheet must show)."""
    if is_partial():
        response.headers["HX-Refresh"] = "true"
    return response


def replace_url(response, url: str):
    """Show `url` in the address bar for this answer, as the page it now is (no new history entry)."""
    if is_partial():
        response.headers["HX-Replace-Url"] = url
    return response
