"""The portal with CSRF protection on, as in production: POSTs without the token are refused."""
from __future__ import annotations

import re

import pytest

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Customer, OutboxMail, ThreadEntry, Ticket
from helpdesk.security import access_token
from support.pages import csrf_token
from support.rows import count as rows


@pytest.fixture
def csrf_client(csrf_app):
    """A client of an app that checks CSRF tokens (same database as `app`)."""
    return csrf_app.test_client()


def new_ticket_data(desk, page: str) -> dict:
    return {
        "name": "Ken", "email": "ken@example.net", "topic": str(desk.topics["General inquiry"].id),
        "subject": "Printer on fire", "description": "Really.",
        "idempotency_key": re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1),
    }


def test_new_ticket_without_token_is_refused(csrf_client, desk):
    page = csrf_client.get("/new").get_data(as_text=True)
    response = csrf_client.post("/new", data=new_ticket_data(desk, page))
    assert response.status_code == 400
    assert "Your session expired or the form was sent twice." in response.get_data(as_text=True)
    assert rows(Ticket) == 0 and rows(Customer) == 0
    # With the token from the page, the same form goes through.
    response = csrf_client.post("/new", data={**new_ticket_data(desk, page), "csrf_token": csrf_token(page)})
    assert response.status_code == 302 and rows(Ticket) == 1


def test_status_check_without_token_is_refused(csrf_client, desk, make_ticket):
    ticket = make_ticket(email="ken@example.net")
    queued = rows(OutboxMail)
    response = csrf_client.post("/status", data={"number": ticket.number, "email": "ken@example.net"})
    assert response.status_code == 400
    assert rows(OutboxMail) == queued


def test_reply_and_confirm_without_token_are_refused(csrf_client, desk, make_ticket):
    ticket = make_ticket(email="ken@example.net")
    tickets.resolve(desk.tech, ticket, "Fixed.")
    url = f"/t/{access_token(ticket)}"
    entries = rows(ThreadEntry)
    assert csrf_client.post(f"{url}/reply", data={"body": "forged"}).status_code == 400
    assert csrf_client.post(f"{url}/confirm").status_code == 400
    assert csrf_client.post(f"{url}/reply", data={"body": "forged"},
                            headers={"HX-Request": "true", "X-CSRFToken": "wrong"}).status_code == 400
    assert rows(ThreadEntry) == entries
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).status == "resolved"
    # htmx sends the token from <body hx-headers>; that is accepted.
    page = csrf_client.get(url).get_data(as_text=True)
    header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = csrf_client.post(f"{url}/reply", data={"body": "real"},
                                headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert response.status_code == 200 and rows(ThreadEntry) == entries + 1
