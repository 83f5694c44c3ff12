"""The dev mailbox: the mail `make run`'s local catcher kept, read in the admin area. It is there
only when configured, for admins only, shows each mail escaped, and makes only the desk's own
links clickable."""
from __future__ import annotations

import re

import pytest

from helpdesk.admin.dev_mailbox import link_desk_urls
from helpdesk.extensions import db
from helpdesk.models import OutboxMail
from support.pages import text_of


@pytest.fixture
def dev_mailbox_off(app):
    app.config["HELPDESK_DEV_MAILBOX"] = ""


def test_dev_mailbox_is_404_when_off(client, desk, login, dev_mailbox_off):
    login(desk.admin)
    assert client.get("/admin/dev-mailbox").status_code == 404
    assert "Dev mailbox" not in text_of(client.get("/admin/"))


def test_dev_mailbox_shows_the_caught_mail_with_desk_links_clickable(client, desk, login, make_ticket, mail_catcher):
    from helpdesk.mail import outbox

    ticket = make_ticket(email="ken@example.net", subject="VPN <drops> hourly",
                         body="See https://evil.example/login and http://desk.test.evil.example/x")
    outbox.send_pending()
    login(desk.admin)
    response = client.get("/admin/dev-mailbox")
    assert response.status_code == 200
    html = text_of(response)
    assert "Dev mailbox" in html
    assert f"[#{ticket.number}]" in html and "ken@example.net" in html
    assert "VPN &lt;drops&gt; hourly" in html and "<drops>" not in html
    links = re.findall(r'<a href="([^"]+)"', html.split("<main", 1)[1])
    desk_links = [link for link in links if link.startswith("http")]
    assert desk_links, "the access link should be clickable"
    assert all(link.startswith("http://desk.test/") for link in desk_links)
    # The newest mail first: the agents' alerts and the acknowledgement all arrived.
    assert html.count('class="card dev-mail"') == db.session.query(OutboxMail).count()


def test_managers_are_refused_the_dev_mailbox_and_not_shown_its_link(client, desk, login, inbox, mail_catcher):
    """It holds every mail the desk sent, an admin's password-reset link included."""
    from helpdesk.mail import outbox

    client.post("/login/forgot", data={"email": desk.admin.email})
    outbox.send_pending()
    assert list(mail_catcher.glob("*/*")), "the reset mail reached the catcher"
    login(desk.manager)
    response = client.get("/admin/dev-mailbox")
    assert response.status_code == 403 and "Only administrators may do that." in text_of(response)
    assert "/login/reset/" not in text_of(response)
    overview = text_of(client.get("/admin/"))
    assert "Overview" in overview and "Dev mailbox" not in overview and "/admin/dev-mailbox" not in overview
    login(desk.admin)  # admins see the link and the page
    assert 'href="/admin/dev-mailbox">Dev mailbox</a>' in text_of(client.get("/admin/"))
    assert client.get("/admin/dev-mailbox").status_code == 200


def test_the_html_part_is_shown_in_a_sandboxed_frame_never_in_the_page(client, desk, login, make_ticket,
                                                                        mail_catcher):
    from helpdesk.mail import outbox

    ticket = make_ticket(email="ken@example.net", subject="VPN <script>alert(1)</script> drops")
    outbox.send_pending()
    login(desk.admin)
    page = text_of(client.get("/admin/dev-mailbox"))
    frames = re.findall(r"<iframe[^>]*>", page)
    assert frames and len(frames) == page.count('class="card dev-mail"')  # every mail the desk sends has an HTML part
    assert all(" sandbox " in f and 'class="dev-mail-html"' in f for f in frames)
    assert page.count('value="html">') == len(frames) and page.count('value="text" checked>') == len(frames)
    assert "<table" not in page.split("<main", 1)[1]  # the mails' HTML layout is not in the page itself
    src = re.search(r'<iframe[^>]*src="([^"]+)"', frames[0]).group(1)
    part = client.get(src)
    html = text_of(part)
    assert part.status_code == 200 and part.mimetype == "text/html"
    assert f"#{ticket.number}" in html and "<script>alert(1)</script>" not in html
    csp = part.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert "script-src" not in csp and part.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert part.headers["Cache-Control"] == "no-store"
    assert client.get("/admin/dev-mailbox/no-such-mail/html").status_code == 404
    login(desk.manager)
    assert client.get(src).status_code == 403  # for admins only, as the page


def test_a_mail_without_an_html_part_shows_its_text_alone(client, desk, login, mail_catcher):
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "Plain only"
    message.set_content("Just text.")
    with smtplib.SMTP("127.0.0.1", client.application.extensions["mail"].port) as smtp:
        smtp.send_message(message)
    login(desk.admin)
    page = text_of(client.get("/admin/dev-mailbox"))
    assert "Just text." in page and "<iframe" not in page and 'value="html"' not in page
    key = next(mail_catcher.glob("new/*")).name
    assert client.get(f"/admin/dev-mailbox/{key}/html").status_code == 404


@pytest.mark.parametrize("make_folder", [False, True])
def test_dev_mailbox_with_no_mail_yet(client, desk, login, tmp_path, app, make_folder):
    folder = tmp_path / "nothing-here"
    if make_folder:
        folder.mkdir()
    app.config["HELPDESK_DEV_MAILBOX"] = str(folder)
    login(desk.admin)
    response = client.get("/admin/dev-mailbox")
    assert response.status_code == 200
    assert "No mail yet" in text_of(response)


@pytest.mark.parametrize("text, linked", [
    ("Open http://desk.test/t/abc.", ["http://desk.test/t/abc"]),
    ("(http://desk.test/agent/tickets/K7Q2M9)", ["http://desk.test/agent/tickets/K7Q2M9"]),
    ("http://desk.test", ["http://desk.test"]),
    ("http://desk.test.evil.example/t/abc", []),
    ("https://desk.test/t/abc", []),
    ("http://evil.example/?u=http://desk.test/", []),
    ('http://desk.test/"><script>alert(1)</script>', ["http://desk.test/"]),
])
def test_only_links_into_the_desk_are_made_clickable(text, linked):
    html = str(link_desk_urls(text, "http://desk.test"))
    assert re.findall(r'<a href="([^"]+)"', html) == linked
    assert "<script>" not in html
