"""Absolute links for mail (from HELPDESK_BASE_URL, so they work outside a request too): a
ticket's page for its customer, for someone on copy, and for agents."""
from __future__ import annotations

from flask import current_app

from ..models import Ticket
from ..security.tokens import access_token, collaborator_token


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail, from HELPDESK_BASE_URL (works outside a request too)."""
    adapter = current_app.url_map.bind("localhost", url_scheme="http")
    return current_app.config["HELPDESK_BASE_URL"] + adapter.build(endpoint, values)


def customer_link(ticket: Ticket) -> str:
    return external_url("portal.ticket", token=access_token(ticket))


def collaborator_link(collaborator) -> str:
    return external_url("portal.ticket", token=collaborator_token(collaborator))


def agent_link(ticket: Ticket) -> str:
    return external_url("agent.ticket", number=ticket.number)
