"""Icons are inline SVG drawn in the text's colour (an emoji shows as an empty box on machines
without an emoji font); their shapes are Lucide's, kept with the licence; the desk has a favicon,
also at /favicon.ico where browsers look without reading the page."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpdesk import tickets
from helpdesk.attachments import Upload
from helpdesk.security.tokens import access_token
from support.pages import text_of

ROOT = Path(__file__).resolve().parent.parent
LUCIDE = ROOT / "static" / "vendor" / "lucide"
# Emoji and pictographs (and the selector that asks for the emoji form of a character).
PICTOGRAPHS = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]")


def test_no_template_script_or_stylesheet_draws_an_icon_with_an_emoji():
    found = []
    for folder, pattern in (("templates", "**/*.html"), ("static", "*.js"), ("static", "*.css")):
        for path in (ROOT / folder).glob(pattern):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if PICTOGRAPHS.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}")
    assert found == []


@pytest.mark.parametrize("name", ["paperclip", "check", "copy", "life-buoy"])
def test_each_icon_is_the_vendored_lucide_shape(app, name):
    """The macro's shapes are the package's own (kept beside its licence), not redrawn by hand."""
    macro = app.jinja_env.get_template("macros/icons.html").module.icon
    drawn = str(macro(name))
    source = (LUCIDE / f"{name}.svg").read_text()
    inner = re.search(r"<svg[^>]*>(.*)</svg>", source, re.S).group(1)
    assert re.sub(r"\s*/>", "/>", re.sub(r">\s+<", "><", inner.strip())) in drawn
    assert 'aria-hidden="true"' in drawn and 'stroke="currentColor"' in drawn and f"icon-{name}" in drawn
    labelled = str(macro(name, label="Copy"))
    assert 'role="img" aria-label="Copy"' in labelled and "aria-hidden" not in labelled
    assert "ISC License" in (LUCIDE / "LICENSE").read_text()


def test_attachments_carry_the_paperclip_for_agents_and_customers(client, desk, login, ticket):
    tickets.reply(desk.tech, ticket, "Here is the log.", uploads=[Upload("fix.txt", "text/plain", b"restart\n")])
    login(desk.tech)
    agent_page = text_of(client.get(f"/agent/tickets/{ticket.number}"))
    assert re.search(r'download><svg class="icon icon-paperclip"[^>]*aria-hidden="true"[^>]*>.*?</svg> fix\.txt',
                     agent_page, re.S)
    client.post("/logout")
    portal_page = text_of(client.get(f"/t/{access_token(ticket)}"))
    assert re.search(r'download><svg class="icon icon-paperclip"[^>]*>.*?</svg> fix\.txt', portal_page, re.S)


def test_the_desk_has_a_favicon(client, desk):
    page = text_of(client.get("/"))
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert '<link rel="icon" href="/static/favicon-32.png" type="image/png" sizes="32x32">' in page
    for url, kind in (("/static/favicon.svg", "image/svg+xml"), ("/static/favicon-32.png", "image/png"),
                      ("/favicon.ico", "image/vnd.microsoft.icon")):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == kind, url
    ico = client.get("/favicon.ico").data
    assert ico[:4] == b"\x00\x00\x01\x00" and b"\x89PNG" in ico  # an icon file holding the 32 px PNG
