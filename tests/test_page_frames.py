"""Pages in their reader's own frame. The account page is a staff page with the queues beside it.
Error pages: a signed-in agent keeps the staff navigation (the queues, or the admin menu in the
admin area), a customer or a visitor gets the portal's; each page says in plain words what
happened and what to do next. htmx gets only the message, the API its JSON."""
from __future__ import annotations

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from support.pages import text_of

STAFF_NAV = 'aria-label="Staff"'
QUEUE_NAV = 'aria-label="Queues"'
ADMIN_NAV = 'aria-label="Admin area"'
PORTAL_NAV = 'aria-label="Help desk"'
WERKZEUG = ("The requested URL was not found on the server", "If you entered the URL manually",
            "The method is not allowed", "You don't have the permission")


def test_the_account_page_keeps_the_staff_layout_with_the_queues(client, desk, login, ticket):
    login(desk.tech)
    response = client.get("/account")
    page = text_of(response)
    assert response.status_code == 200
    assert STAFF_NAV in page and QUEUE_NAV in page and PORTAL_NAV not in page
    assert 'href="/agent/queue/unassigned"' in page and "Change your password" in page
    assert page.count('<section class="card"') >= 2  # each part of the account is a card


def test_a_signed_in_agent_gets_a_404_in_the_staff_layout(client, desk, login):
    login(desk.tech)
    response = client.get("/no/such/page")
    page = text_of(response)
    assert response.status_code == 404
    assert STAFF_NAV in page and QUEUE_NAV in page and PORTAL_NAV not in page
    assert "There is no such page, or it is not yours to see." in page
    assert 'href="/agent/queue/mine"' in page and "Back to the queues" in page
    assert not any(words in page for words in WERKZEUG)


def test_a_visitor_gets_a_404_in_the_portal_layout_in_plain_words(client, desk):
    response = client.get("/no/such/page")
    page = text_of(response)
    assert response.status_code == 404
    assert PORTAL_NAV in page and STAFF_NAV not in page and QUEUE_NAV not in page
    assert "There is no such page, or it is not yours to see." in page
    assert "use the link in the mail we sent you" in page
    assert 'href="/status"' in page and 'href="/new"' in page
    assert not any(words in page for words in WERKZEUG)


def test_an_agent_refused_the_admin_area_stays_in_the_staff_layout(client, desk, login):
    login(desk.tech)
    response = client.get("/admin/")
    page = text_of(response)
    assert response.status_code == 403
    assert STAFF_NAV in page and QUEUE_NAV in page and PORTAL_NAV not in page
    assert "The admin area is for managers and administrators." in page
    assert "ask an administrator" in page


def test_our_own_refusal_words_still_show(client, desk, login, ticket):
    login(desk.tech)
    page = text_of(client.get("/agent/tickets/NOSUCH"))
    assert "There is no such ticket, or it is not one of yours to see." in page and QUEUE_NAV in page
    client.post("/logout")
    page = text_of(client.get(f"/agent/tickets/{ticket.number}"))  # signed out: sent to sign in
    assert ticket.subject not in page


def test_a_manager_in_the_admin_area_keeps_the_admin_menu(client, desk, login):
    login(desk.manager)
    response = client.get("/admin/agents/999999")
    page = text_of(response)
    assert response.status_code == 404
    assert ADMIN_NAV in page and STAFF_NAV in page and PORTAL_NAV not in page
    assert "There is no such agent." in page and "Admin overview" in page


def test_a_refused_method_is_said_in_plain_words(client, desk):
    response = client.put("/")
    page = text_of(response)
    assert response.status_code == 405
    assert "This address does not take that kind of request." in page and PORTAL_NAV in page
    assert not any(words in page for words in WERKZEUG)


def test_htmx_gets_only_the_message(client, desk, login):
    login(desk.tech)
    response = client.get("/agent/tickets/NOSUCH", headers={"HX-Request": "true"})
    page = text_of(response)
    assert response.status_code == 404 and response.headers["HX-Reswap"] == "none"
    assert "There is no such ticket" in page and QUEUE_NAV not in page and "<html" not in page
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert "There is no such page, or it is not yours to see." in text_of(response)


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_api_keeps_answering_in_json(client, desk, login, signed_in):
    if signed_in:
        login(desk.admin)
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404 and response.is_json
    assert response.get_json() == {"error": {"code": "not_found", "message": "There is no such API endpoint."}}


@pytest.fixture
def failing_app(app_config, app):
    broken = create_app(app_config)

    @broken.get("/agent/_boom")
    def boom():
        raise RuntimeError("secret internal detail")

    with broken.app_context():
        yield broken
        db.session.remove()
        db.engine.dispose()


def test_a_server_error_keeps_the_agent_in_the_staff_layout(failing_app, desk):
    client = failing_app.test_client()
    client.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    response = client.get("/agent/_boom")
    page = text_of(response)
    assert response.status_code == 500
    assert STAFF_NAV in page and QUEUE_NAV in page and "secret internal detail" not in page
    assert "Something went wrong on our side" in page and "may not have been saved" in page
    assert 'href="/agent/queue/closed"' in page
    assert "hx-get" not in page.split("<main", 1)[0]  # the queue links without their live counts


def test_an_agent_who_must_set_up_two_factor_sees_no_counts_on_an_error_page(app, client, desk, login, ticket):
    app.config["HELPDESK_REQUIRE_TOTP"] = True
    login(desk.tech)
    response = client.get("/no/such/page")
    page = text_of(response)
    assert response.status_code == 404 and STAFF_NAV in page and QUEUE_NAV in page
    assert "hx-get" not in page.split("<main", 1)[0] and 'class="count' not in page
