"""/theme.css: the priorities' colours from the database, as CSS custom properties.

base.html links it with the theme version in the URL, so browsers cache it for good and fetch
a new one when an admin changes a colour (the version is bumped then).
"""
from __future__ import annotations

import re

from flask import make_response
from sqlalchemy import select

from .extensions import db
from .models import Priority

_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def stylesheet() -> str:
    lines = ["/* Priority colours, set in the admin area. */"]
    for p in db.session.scalars(select(Priority).order_by(Priority.urgency)):
        if _KEY.match(p.key) and _COLOUR.match(p.colour):  # never write anything else into CSS
            lines.append(f".prio-{p.key} {{ --prio-color: {p.colour.lower()}; }}")
    return "\n".join(lines) + "\n"


def theme_css():
    response = make_response(stylesheet())
    response.headers["Content-Type"] = "text/css; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def init_app(app):
    app.add_url_rule("/theme.css", "theme_css", theme_css)
