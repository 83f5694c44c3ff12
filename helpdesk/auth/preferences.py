"""An agent's own display settings: the colour theme, the queue's rows and tickets per page.

The account page sets all three; the queue's switch one at a time. Both read the form through
chosen(), so the same values are allowed and refused with the same words."""
from __future__ import annotations

from ..extensions import db
from ..models import Agent
from ..tickets.queues import PAGE_SIZES

THEMES = {"auto": "Follow my browser", "light": "Light", "dark": "Dark"}
DENSITIES = {"comfortable": "Comfortable", "compact": "Compact"}
FIELDS = ("theme", "density", "page_size")
CHOICES = {  # (value, label) as the forms offer them
    "theme": list(THEMES.items()),
    "density": list(DENSITIES.items()),
    "page_size": [(size, str(size)) for size in PAGE_SIZES],
}
REFUSED = {
    "theme": "Choose a theme: follow your browser, light or dark.",
    "density": "Choose comfortable or compact rows.",
    "page_size": f"Choose {', '.join(map(str, PAGE_SIZES[:-1]))} or {PAGE_SIZES[-1]} tickets per page.",
}


def _value(name: str, raw: str):
    """The setting's value for this form text, or None if it is not one of the choices."""
    if name == "theme":
        return raw if raw in THEMES else None
    if name == "density":
        return raw if raw in DENSITIES else None
    return int(raw) if raw in {str(size) for size in PAGE_SIZES} else None


def chosen(form, required=FIELDS) -> tuple[dict, dict[str, str]]:
    """(values, problems) of the settings the form holds: the valid ones by name, and a message
    for each one missing (if required) or not one of its choices."""
    values, problems = {}, {}
    for name in FIELDS:
        raw = form.get(name)
        value = None if raw is None else _value(name, raw.strip())
        if value is not None:
            values[name] = value
        elif raw is not None or name in required:
            problems[name] = REFUSED[name]
    return values, problems


def current(agent: Agent) -> dict:
    """The agent's settings as the forms show them."""
    return {name: getattr(agent, name) for name in FIELDS}


def save(agent: Agent, values: dict) -> None:
    """Keep these settings for the agent (one person's choice: no one else's pages change)."""
    for name, value in values.items():
        setattr(agent, name, value)
    db.session.commit()
