"""Reading what the desk answered: a response's text, a page's CSRF token, and whole pages
compared without their CSRF tokens (the tokens, in form fields and the htmx header, carry the
second they were made in, so two renderings a moment apart differ only there)."""
from __future__ import annotations

import re

_TOKENS = (re.compile(r'value="[^"]+"'), re.compile(r'"X-CSRFToken": ?"[^"]+"'))
_CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def text_of(response) -> str:
    return response.get_data(as_text=True)


def csrf_token(page: str) -> str:
    """The CSRF token of the page's (first) form."""
    return _CSRF_FIELD.search(page).group(1)


def without_tokens(page: str) -> str:
    for pattern in _TOKENS:
        page = pattern.sub("", page)
    return page
