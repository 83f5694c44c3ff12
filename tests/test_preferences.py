"""An agent's display settings: the theme on every staff page, the queue's compact rows and page
size, set on the account page or with the queue's switch (with and without htmx), kept per agent;
values that are not among the choices are refused."""
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Agent, DeskState
from support.pages import csrf_token

HTMX = {"HX-Request": "true"}


def row_count(html: str) -> int:
    return len(re.findall(r'<tr id="row-', html))


def html_tag(html: str) -> str:
    return re.search(r"<html[^>]*>", html).group(0)


def saved(agent) -> tuple:
    a = db.session.get(Agent, agent.id)
    db.session.refresh(a)
    return a.theme, a.density, a.page_size


def test_the_account_page_saves_the_display_settings(login, desk):
    client = login(desk.tech)
    page = client.get("/account").get_data(as_text=True)
    assert "Display" in page and 'name="theme" value="auto" checked' in page
    assert 'name="page_size" value="25" checked' in page

    response = client.post("/account/display", data={"theme": "dark", "density": "compact", "page_size": "50"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account#display")
    assert saved(desk.tech) == ("dark", "compact", 50)
    page = client.get("/account").get_data(as_text=True)
    assert "Your display settings were saved." in page
    assert 'name="theme" value="dark" checked' in page and 'name="density" value="compact" checked' in page
    assert 'name="page_size" value="50" checked' in page


@pytest.mark.parametrize("field, value, message", [
    ("theme", "purple", "Choose a theme: follow your browser, light or dark."),
    ("theme", "", "Choose a theme: follow your browser, light or dark."),
    ("density", "tiny", "Choose comfortable or compact rows."),
    ("page_size", "30", "Choose 25, 50 or 100 tickets per page."),
    ("page_size", "1e2", "Choose 25, 50 or 100 tickets per page."),
    ("page_size", None, "Choose 25, 50 or 100 tickets per page."),
])
def test_the_account_page_refuses_what_is_not_a_choice(login, desk, field, value, message):
    client = login(desk.tech)
    data = {"theme": "light", "density": "compact", "page_size": "100", field: value}
    if value is None:
        del data[field]
    response = client.post("/account/display", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert saved(desk.tech) == ("auto", "comfortable", 25)  # nothing saved, not even the valid ones


@pytest.mark.parametrize("theme, attribute, scheme", [
    ("dark", ' data-theme="dark"', "dark"), ("light", ' data-theme="light"', "light"), ("auto", "", "light dark"),
])
def test_every_staff_page_carries_the_agents_theme(login, desk, make_ticket, theme, attribute, scheme):
    t = make_ticket()
    client = login(desk.admin)
    client.post("/account/display", data={"theme": theme, "density": "comfortable", "page_size": "25"})
    for path in ("/agent/", f"/agent/tickets/{t.number}", "/admin/", "/account", "/agent/new"):
        page = client.get(path).get_data(as_text=True)
        assert html_tag(page) == f'<html lang="en"{attribute}>', path
        assert f'<meta name="color-scheme" content="{scheme}">' in page, path


def test_the_portal_and_sign_in_follow_the_browser_only(client, login, desk, make_ticket):
    login(desk.tech).post("/account/display", data={"theme": "dark", "density": "comfortable", "page_size": "25"})
    for path in ("/", "/new"):  # signed in as a dark-theme agent: the customer's pages do not change
        page = client.get(path).get_data(as_text=True)
        assert html_tag(page) == '<html lang="en">' and 'content="light dark"' in page
    client.post("/logout")
    page = client.get("/login").get_data(as_text=True)
    assert html_tag(page) == '<html lang="en">' and 'content="light dark"' in page


def test_compact_rows_and_page_size_apply_to_the_queue(login, desk, make_ticket):
    for n in range(60):
        make_ticket(subject=f"Ticket {n:02d}")
    client = login(desk.tech)
    page = client.get("/agent/").get_data(as_text=True)
    assert row_count(page) == 25 and "1–25 of 60 tickets" in page and "Page 1 of 3" in page
    assert 'class="queue-table"' in page

    client.post("/account/display", data={"theme": "auto", "density": "compact", "page_size": "50"})
    page = client.get("/agent/").get_data(as_text=True)
    assert row_count(page) == 50 and "1–50 of 60 tickets" in page and "Page 1 of 2" in page
    assert 'class="queue-table compact"' in page
    second = client.get("/agent/?page=2").get_data(as_text=True)
    assert row_count(second) == 10 and "51–60 of 60 tickets" in second
    # A search pages the same way.
    found = client.get("/agent/?q=Ticket").get_data(as_text=True)
    assert row_count(found) == 50 and "1–50 of 60 tickets" in found


def test_one_agents_choice_leaves_the_others_alone(client, login, desk, make_ticket):
    for n in range(30):
        make_ticket(subject=f"Ticket {n:02d}")
    login(desk.tech).post("/account/display", data={"theme": "dark", "density": "compact", "page_size": "100"})
    client = login(desk.manager)
    page = client.get("/agent/").get_data(as_text=True)
    assert html_tag(page) == '<html lang="en">'
    assert row_count(page) == 25 and "compact" not in re.search(r'<table class="[^"]*"', page).group(0)
    assert saved(desk.manager) == ("auto", "comfortable", 25)
    assert saved(desk.tech) == ("dark", "compact", 100)


def test_the_queue_switch_works_without_javascript(login, desk, make_ticket):
    for n in range(60):
        make_ticket(subject=f"Ticket {n:02d}")
    client = login(desk.tech)
    page = client.get("/agent/queue/unassigned?sort=updated&dir=asc&page=2").get_data(as_text=True)
    assert 'name="next" value="/agent/queue/unassigned?sort=updated&amp;dir=asc&amp;page=2"' in page
    assert '<button class="button small" type="submit" name="density" value="comfortable" aria-pressed="true">' in page

    # Rows: back to the same list, same page.
    response = client.post("/agent/queue/unassigned/display",
                           data={"density": "compact", "next": "/agent/queue/unassigned?sort=updated&dir=asc&page=2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/agent/queue/unassigned?sort=updated&dir=asc&page=2"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="queue-table compact"' in page and "26–50 of 60 tickets" in page
    assert 'name="density" value="compact" aria-pressed="true"' in page

    # Per page: the same list from its first page.
    response = client.post("/agent/queue/unassigned/display",
                           data={"page_size": "50", "next": "/agent/queue/unassigned?sort=updated&dir=asc&page=2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/agent/queue/unassigned?sort=updated&dir=asc"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert row_count(page) == 50 and "1–50 of 60 tickets" in page and "Page 1 of 2" in page
    assert 'name="page_size" value="50" aria-pressed="true"' in page
    assert saved(desk.tech) == ("auto", "compact", 50)


def test_the_queue_switch_with_htmx_answers_with_the_list(login, desk, make_ticket):
    for n in range(30):
        make_ticket(subject=f"Ticket {n:02d}")
    client = login(desk.tech)
    response = client.post("/agent/queue/open/display", headers=HTMX,
                           data={"page_size": "50", "next": "/agent/queue/open?priority=normal&page=2"})
    assert response.status_code == 200
    assert response.headers["HX-Replace-Url"] == "/agent/queue/open?priority=normal"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="results"') and "<html" not in body
    assert row_count(body) == 30 and "1–30 of 30 tickets" in body


@pytest.mark.parametrize("data", [{"density": "tiny"}, {"page_size": "1000"}, {"page_size": "-25"}, {}])
def test_the_queue_switch_refuses_what_is_not_a_choice(login, desk, data):
    client = login(desk.tech)
    response = client.post("/agent/queue/open/display", data={**data, "next": "/agent/queue/open"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose comfortable or compact rows." in page or "Choose 25, 50 or 100 tickets per page." in page
    assert saved(desk.tech) == ("auto", "comfortable", 25)
    assert client.post("/agent/queue/nowhere/display", data={"density": "compact"}).status_code == 404


def test_the_queue_switch_with_htmx_refuses_with_the_message_in_the_flash_area(login, desk):
    response = login(desk.tech).post("/agent/queue/open/display", headers=HTMX, data={"page_size": "7"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="results"')
    assert re.search(r'<div id="flash"[^>]*hx-swap-oob="true"', body) and "Choose 25, 50 or 100 tickets per page." in body


def test_the_queue_switch_goes_back_only_to_the_desk(login, desk):
    client = login(desk.tech)
    response = client.post("/agent/queue/mine/display", data={"density": "compact", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/agent/queue/mine"


def test_the_stylesheet_has_one_dark_palette_and_no_stray_colours():
    """The dark palette is written twice (for the browser's preference and for an agent's choice):
    both say the same; every colour outside the palette is one of its variables."""
    css = (Path(__file__).parent.parent / "static" / "app.css").read_text()

    def declarations(selector):
        start = css.index(selector + " {")
        return sorted(line.strip() for line in css[start:css.index("}", start)].splitlines()[1:] if line.strip())

    preferred, chosen = declarations(':root:not([data-theme="light"])'), declarations(':root[data-theme="dark"]')
    assert preferred == chosen and len(chosen) > 50
    light = {line.split(":")[0] for line in declarations(":root") if line.startswith("--")}
    assert {line.split(":")[0] for line in chosen if line.startswith("--")} <= light
    rest = css[css.index(':root[data-theme="dark"]'):]
    rest = rest[rest.index("}") + 1:]
    strays = [line for line in rest.splitlines() if re.search(r"#[0-9a-fA-F]{3,6}\b|rgba?\(", line)]
    assert strays == []


def test_both_forms_need_their_csrf_token(csrf_app, desk):
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email], "csrf_token": token})
    token = csrf_token(client.get("/agent/").get_data(as_text=True))
    assert client.post("/agent/queue/open/display", data={"density": "compact"}).status_code == 400
    assert client.post("/account/display", data={"theme": "dark", "density": "compact", "page_size": "50"}).status_code == 400
    assert saved(desk.tech) == ("auto", "comfortable", 25)
    assert client.post("/agent/queue/open/display", data={"density": "compact", "csrf_token": token}).status_code == 302
    assert client.post("/account/display", data={"theme": "dark", "density": "compact", "page_size": "50",
                                                  "csrf_token": token}).status_code == 302
    assert saved(desk.tech) == ("dark", "compact", 50)


def test_another_tabs_live_list_follows_a_new_page_size(login, desk, make_ticket):
    """A change of rows or page size re-renders the live list of an open queue at its next poll
    (its ETag carries them); it moves no change counter, so nobody else's pages re-render."""
    for n in range(30):
        make_ticket(subject=f"Ticket {n:02d}")
    client = login(desk.tech)
    page = client.get("/agent/").get_data(as_text=True)
    region = re.search(r'<section id="results"[^>]*>', page).group(0)
    poll = {**HTMX, "HX-Trigger": "results",
            **json.loads(re.search(r"hx-headers='([^']+)'", region).group(1).replace("&#34;", '"'))}
    url = re.search(r'hx-get="([^"]+)"', region).group(1).replace("&amp;", "&")
    assert client.get(url, headers=poll).status_code == 304
    counters = db.session.execute(select(DeskState.id, DeskState.version)).all()

    client.post("/agent/queue/open/display", data={"page_size": "50"})
    db.session.expire_all()
    assert db.session.execute(select(DeskState.id, DeskState.version)).all() == counters
    answer = client.get(url, headers=poll)
    assert answer.status_code == 200 and row_count(answer.get_data(as_text=True)) == 30
