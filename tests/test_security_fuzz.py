"""Fuzzing every form and query string with hostile, random, huge and missing input: the desk
may refuse (4xx) but never fails (5xx).

Each test runs HELPDESK_FUZZ_EXAMPLES cases (default 100); for a long run by hand:
    HELPDESK_FUZZ_EXAMPLES=2000 .venv/bin/pytest -m fuzz -q
"""
from __future__ import annotations

import os
import secrets
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.extensions import db
from helpdesk.security import access_token

from hostile import OPEN_REDIRECTS, XSS_PAYLOADS

EXAMPLES = int(os.environ.get("HELPDESK_FUZZ_EXAMPLES", "100"))
pytestmark = pytest.mark.fuzz
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("HELPDESK_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

HOSTILE = [p.format(tag=1) for p in XSS_PAYLOADS] + OPEN_REDIRECTS + [
    "", " ", "\x00", "a\x00b", "\r\nBcc: x@evil.example", "' OR 1=1 --", "%00", "%s%s%n", "{{7*7}}", "${7*7}",
    "\u202e\u0635\u0648\u0631\u0629", "\ud7ff\ue000\uffff", "😀" * 50, "A" * 5000, "0", "-1", "1e309",
    "99999999999999999999999", "NaN", "None", "null", "true", "[]", "{}", "../../etc/passwd", "x@y", "@", "a@b.c" * 60,
]
# Characters that break naive code: NUL (PostgreSQL refuses it), line breaks (mail headers), quotes.
CONTROL = st.text(alphabet="\x00\r\n\t\x0b\x1b\u2028\"'<>&;%\\", min_size=1, max_size=5).map(lambda c: f"ok{c}ok")
text = st.one_of(
    st.sampled_from(HOSTILE),
    CONTROL,
    st.sampled_from(["\x00", "a\x00b", "ok\r\nBcc: x@evil.example", "\r\n\r\n<b>"]),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.builds(lambda n, c: c * n, st.integers(min_value=1000, max_value=60000), st.sampled_from("a\n<é")),
)
# A field may be missing, sent once, or sent several times (wrong type for a single field).
value = st.one_of(text, st.lists(text, min_size=2, max_size=3))


def form(*names):
    """One to three fields of an otherwise valid form replaced (so the case gets past the other
    fields' checks and reaches deep), now and then a field the form does not have."""
    return st.dictionaries(st.sampled_from([*names, "unexpected"]), value, min_size=1, max_size=3)


def never_fails(response, what):
    assert response.status_code < 500, f"{what}: {response.status_code}\n{response.get_data(as_text=True)[:500]}"


@pytest.fixture
def topic_id(desk):
    return str(desk.topics["General inquiry"].id)


def valid_new_ticket(topic_id) -> dict:
    return {"name": "Ken", "email": f"ken{secrets.token_hex(4)}@example.net", "topic": topic_id, "subject": "Printer on fire",
            "description": "Really.", "idempotency_key": secrets.token_urlsafe(20)}


@FUZZ
@given(data=form("name", "email", "subject", "description", "priority", "website", "altcha",
                 "topic", "idempotency_key"),
       drop=st.one_of(st.just(()), st.just(()), st.just(()), st.sets(st.sampled_from(
           ["name", "email", "topic", "subject", "description", "idempotency_key"]), min_size=1, max_size=2)))
def test_fuzz_new_ticket(client, desk, topic_id, data, drop):
    """A valid form with some fields replaced by hostile values, or left out."""
    form_data = {**valid_new_ticket(topic_id), **data}
    for name in drop:
        form_data.pop(name, None)
    never_fails(client.post("/new", data=form_data), f"/new {form_data!r:.300}")


@FUZZ
@given(data=form("number", "email"), htmx=st.booleans())
def test_fuzz_status(client, desk, make_ticket, data, htmx):
    form_data = {"number": "K7Q2M9", "email": "ken@example.net", **data}
    never_fails(client.post("/status", data=form_data, headers={"HX-Request": "true"} if htmx else {}), "/status")


@pytest.fixture
def link(make_ticket):
    return f"/t/{access_token(make_ticket(email='ken@example.net'))}"


@FUZZ
@given(data=form("body"), htmx=st.booleans(), token=st.one_of(st.none(), text))
def test_fuzz_customer_reply_and_confirm(client, desk, link, data, htmx, token):
    base = link if token is None else "/t/" + token.replace("/", "").replace("?", "").replace("#", "")[:500]
    headers = {"HX-Request": "true"} if htmx else {}
    never_fails(client.post(f"{base}/reply", data=data, headers=headers), "reply")
    never_fails(client.post(f"{base}/confirm", data=data, headers=headers), "confirm")


@FUZZ
@given(data=form("email", "password", "remember", "code"), nxt=st.one_of(st.none(), text))
def test_fuzz_sign_in_forms(client, desk, data, nxt):
    query = {"next": nxt} if nxt is not None else {}
    data = {"email": desk.tech.email, "password": desk.passwords[desk.tech.email], **data}
    never_fails(client.post("/login", data=data, query_string=query), "/login")
    client.post("/logout")
    never_fails(client.post("/login/code", data=data), "/login/code")
    never_fails(client.post("/login/forgot", data=data), "/login/forgot")
    never_fails(client.post("/login/reset/" + secrets.token_urlsafe(8), data=data), "/login/reset")


ACTIONS = ["reply", "note", "claim", "assign", "priority", "sla", "transfer", "request-info", "escalate", "resume",
           "resolve", "close", "reopen", "access-link"]


@pytest.fixture
def signed_in_manager(client, login, desk, make_ticket):
    login(desk.manager)
    return make_ticket()


@FUZZ
@given(action=st.sampled_from(ACTIONS), htmx=st.booleans(), current_version=st.booleans(),
       data=form("version", "body", "note", "resolution", "agent", "team", "priority", "sla", "department"))
def test_fuzz_agent_actions(client, desk, signed_in_manager, action, htmx, current_version, data):
    ticket = signed_in_manager
    db.session.refresh(ticket)
    form_data = {"version": str(ticket.version), **data} if current_version else dict(data)
    response = client.post(f"/agent/tickets/{ticket.number}/{action}", data=form_data,
                           headers={"HX-Request": "true"} if htmx else {})
    never_fails(response, f"{action} {data!r:.300}")
    db.session.rollback()


@FUZZ
@given(data=form("current", "new", "confirm", "code"))
def test_fuzz_account_forms(client, desk, login, data):
    login(desk.tech)
    data = {"current": desk.passwords[desk.tech.email], **data}
    for url in ("/account/password", "/account/two-factor", "/account/two-factor/disable"):
        never_fails(client.post(url, data=data), url)
    desk.tech.set_password(desk.passwords[desk.tech.email])  # in case a case changed it
    db.session.commit()


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["sort", "dir", "page", "q", "department", "topic", "priority",
                                              "assignee", "status", "current", "x"]), value, max_size=6),
       queue=st.one_of(st.sampled_from(["open", "mine", "closed", "overdue", "pending"]), text),
       htmx=st.booleans())
def test_fuzz_queries(client, desk, signed_in_manager, query, queue, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    safe_queue = queue.replace("/", "").replace("?", "").replace("#", "")[:200] or "open"
    for url in (f"/agent/queue/{safe_queue}", "/agent/counts", "/admin/outbox", f"/agent/tickets/{safe_queue}",
                "/new", "/new/topic-fields"):
        never_fails(client.get(url, query_string=query, headers=headers), f"{url} {query!r:.300}")


# --- the admin's forms and the agent's new-ticket form, taken from their pages ------------------


class _Forms(HTMLParser):
    """The POST forms of a page: action and the fields with the values the page put in them."""

    def __init__(self):
        super().__init__()
        self.forms, self._select = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.forms.append((a.get("action") or "", {}))
        elif not self.forms or "name" not in a:
            if tag == "option" and self._select and ("selected" in a or self._select not in self.forms[-1][1]):
                self.forms[-1][1][self._select] = a.get("value", "")
            return
        elif tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.forms[-1][1][a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self.forms[-1][1][a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def page_forms(html: str) -> list[tuple[str, dict]]:
    parser = _Forms()
    parser.feed(html)
    return [(action, fields) for action, fields in parser.forms if action.startswith(("/admin", "/agent/new"))]


FORM_PAGES = [
    "/admin/topics/new", "/admin/topics/{topic}", "/admin/sla-plans/new", "/admin/sla-plans/{sla}",
    "/admin/departments/new", "/admin/departments/{department}", "/admin/teams/new", "/admin/teams/{team}",
    "/admin/agents/new", "/admin/agents/{agent}", "/admin/priorities/{priority}/edit", "/admin/settings",
    "/admin/mail-templates/reply_customer", "/admin/mail-templates/overdue_agent", "/admin/api-keys",
    "/admin/mailboxes", "/agent/new",
]


@FUZZ
@given(page=st.sampled_from(FORM_PAGES), pick=st.integers(min_value=0, max_value=20), htmx=st.booleans(),
       changes=st.lists(st.tuples(st.integers(min_value=0, max_value=60), value), min_size=1, max_size=3))
def test_fuzz_admin_and_intake_forms(client, desk, login, page, pick, htmx, changes):
    """Each form of the admin's pages (and the agent's new-ticket form) as its page fills it, with
    one to three fields replaced by hostile values: refused or taken, never a 5xx."""
    login(desk.admin)
    url = page.format(topic=desk.topics["General inquiry"].id, sla=desk.slas["Standard"].id,
                      department=desk.departments["Support"].id, team=desk.teams["Vendor Support"].id,
                      agent=desk.tech.id, priority=desk.priorities["low"].id)
    shown = client.get(url)
    never_fails(shown, url)
    forms = page_forms(shown.get_data(as_text=True))
    if not forms:
        return
    action, fields = forms[pick % len(forms)]
    names = [*fields, "unexpected"]  # now and then a field the form does not have
    data = {**fields, **{names[index % len(names)]: new for index, new in changes}}
    never_fails(client.post(action, data=data, headers={"HX-Request": "true"} if htmx else {}),
                f"{action} {data!r:.300}")
    db.session.rollback()
