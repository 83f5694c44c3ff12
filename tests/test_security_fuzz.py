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
    "/admin/mailboxes", "/admin/webhooks/new", "/agent/new",
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


# --- raw multipart bodies, as no well-behaved client would send them ----------------------------

BOUNDARY = "hd7Xb0und"


def post_routes(app) -> list:
    """Every POST route of every blueprint, from the URL map (a new route is covered at once)."""
    return sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.rule)


def route_url(rule, values: dict) -> str:
    """The route's URL with each argument filled: real values where the test has them, else 1."""
    return rule.build({name: values.get(name, 1) for name in rule.arguments}, append_unknown=False)[1]


def multipart(*parts: bytes, boundary: str = BOUNDARY, end: bytes = b"--\r\n") -> bytes:
    """A body made by hand: each part is its headers and content, as bytes."""
    sep = f"--{boundary}".encode()
    return b"".join(sep + b"\r\n" + part + b"\r\n" for part in parts) + sep + end


# Each body is one way a multipart request goes wrong; each is sent to every POST route.
RAW_MULTIPART = {
    "a part with no Content-Disposition": multipart(b"\r\nvalue"),
    "no headers at all, not even the blank line": multipart(b"value"),
    "form-data with no name": multipart(b"Content-Disposition: form-data\r\n\r\nvalue"),
    "a bare name parameter": multipart(b"Content-Disposition: form-data; name\r\n\r\nvalue"),
    "name= with nothing after it": multipart(b"Content-Disposition: form-data; name=\r\n\r\nvalue"),
    "an empty quoted name": multipart(b'Content-Disposition: form-data; name=""\r\n\r\nvalue'),
    "an unclosed quote": multipart(b'Content-Disposition: form-data; name="body\r\n\r\nvalue'),
    "a file with no name": multipart(b'Content-Disposition: form-data; filename="a.txt"\r\n'
                                     b"Content-Type: text/plain\r\n\r\nfile"),
    "a file part whose name cannot be read": multipart(b'Content-Disposition: form-data; name=; filename=\r\n\r\nx'),
    "a NUL in the name": multipart(b'Content-Disposition: form-data; name="bo\x00dy"\r\n\r\nvalue'),
    "a NUL in the value": multipart(b'Content-Disposition: form-data; name="body"\r\n\r\nva\x00lue'),
    "a NUL in the filename": multipart(b'Content-Disposition: form-data; name="attachments"; filename="a\x00.txt"'
                                       b"\r\n\r\nfile"),
    "a name that is not UTF-8": multipart(b'Content-Disposition: form-data; name="\xff\xfe"\r\n\r\nvalue'),
    "a value that is not UTF-8": multipart(b'Content-Disposition: form-data; name="body"\r\n\r\n\xff\xfe\xc3'),
    "an RFC 2231 name": multipart(b"Content-Disposition: form-data; name*=UTF-8''b%00ody\r\n\r\nvalue"),
    "a header line without a colon": multipart(b"Content-Disposition form-data name body\r\n\r\nvalue"),
    "a huge header": multipart(b'Content-Disposition: form-data; name="body"; x="' + b"a" * 20_000 + b'"\r\n\r\nv'),
    "very many headers": multipart(b"".join(b"X-H%d: v\r\n" % n for n in range(1000))
                                   + b'Content-Disposition: form-data; name="body"\r\n\r\nvalue'),
    "a truncated body": multipart(b'Content-Disposition: form-data; name="body"\r\n\r\nval')[:-12],
    "truncated inside the headers": f"--{BOUNDARY}\r\nContent-Disposition: form-da".encode(),
    "no closing boundary": f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nvalue".encode(),
    "a different boundary": multipart(b'Content-Disposition: form-data; name="body"\r\n\r\nvalue', boundary="other"),
    "bare LF line ends": multipart(b'Content-Disposition: form-data; name="body"\n\nvalue').replace(b"\r\n", b"\n"),
    "an empty body": b"",
    "not multipart at all": b"name=Ken&email=ken@example.net",
    "only boundaries": multipart(end=b"--") * 3,
    "a nested multipart": multipart(f"Content-Type: multipart/mixed; boundary={BOUNDARY}\r\n\r\n".encode()
                                    + multipart(b"Content-Disposition: form-data\r\n\r\nx")),
}
# Content types that go with them: the right boundary, none, an empty one, a quoted one, one
# too long for the RFC, one with a NUL, and a charset Python does not know.
CONTENT_TYPES = [
    f"multipart/form-data; boundary={BOUNDARY}", "multipart/form-data", "multipart/form-data; boundary=",
    f'multipart/form-data; boundary="{BOUNDARY}"', "multipart/form-data; boundary=" + "b" * 500,
    "multipart/form-data; boundary=a\x00b", f"multipart/form-data; boundary={BOUNDARY}; charset=x-nothing",
]


@pytest.fixture
def route_values(desk, make_ticket):
    ticket = make_ticket(email="ken@example.net")
    return {"number": ticket.number, "token": access_token(ticket), "key": "reply_customer", "name": "open"}


def test_raw_multipart_bodies_never_fail_on_any_post_route(app, client, desk, login, route_values):
    """Every malformed multipart body, and every odd content type, to every POST route (signed in
    as an admin, so the agent's and admin's routes read the form too; sign-out last): a 4xx at worst."""
    login(desk.admin)
    routes = post_routes(app)
    assert len(routes) >= 70
    failures = []
    for rule in sorted(routes, key=lambda r: r.endpoint == "auth.logout"):
        url = route_url(rule, route_values)
        # Each odd body with the boundary it was made with; each odd content type with a plain body.
        cases = [(what, body, CONTENT_TYPES[0]) for what, body in RAW_MULTIPART.items()]
        cases += [("a plain body", RAW_MULTIPART["an empty quoted name"], ct) for ct in CONTENT_TYPES[1:]]
        for what, body, content_type in cases:
            response = client.post(url, data=body, content_type=content_type,
                                   headers={"Authorization": "Bearer hd_unknown"})
            if response.status_code >= 500:
                failures.append(f"{rule.rule} {what} ({content_type[:50]}): {response.status_code}")
            db.session.rollback()
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])


def _header_line(name, value):
    return name + b": " + value


# One part of a hand-made body: its headers (any mix of good, odd and broken) and content.
_names = st.one_of(st.sampled_from([b'"body"', b'"email"', b'""', b"", b'"a\x00b"', b'"\xff"', b'"x', b"body"]),
                   st.binary(max_size=20))
_disposition = st.one_of(
    st.builds(lambda n: b"Content-Disposition: form-data; name=" + n, _names),
    st.builds(lambda n, f: b"Content-Disposition: form-data; name=" + n + b"; filename=" + f, _names, _names),
    st.sampled_from([b"Content-Disposition: form-data", b"Content-Disposition: form-data; name",
                     b"Content-Disposition: attachment", b"Content-Disposition:", b"Content-Disposition"]),
    st.builds(lambda b: b"Content-Disposition: " + b, st.binary(max_size=60)),
)
_other_header = st.one_of(
    st.sampled_from([b"Content-Type: text/plain", b"Content-Type: multipart/mixed; boundary=" + BOUNDARY.encode(),
                     b"Content-Transfer-Encoding: base64", b"no colon here", b": no name", b"X-Big: " + b"a" * 9000]),
    st.binary(max_size=40),
)
_part = st.builds(
    lambda headers, eol, content: eol.join(headers) + eol + eol + content,
    st.lists(st.one_of(_disposition, _other_header), max_size=4),
    st.sampled_from([b"\r\n", b"\r\n", b"\n"]),
    st.one_of(st.binary(max_size=200), st.sampled_from([b"hello", b"a\x00b", b"\xff\xfe", b"--" + BOUNDARY.encode()])),
)


@st.composite
def raw_multipart(draw):
    """(body, content type): parts joined by a boundary that may not match the header's, with
    the end left off or the whole cut short now and then."""
    boundary = draw(st.sampled_from([BOUNDARY, BOUNDARY, "", "x" * 300, "a b", "a\x00b", "\u00e9"]))
    header_boundary = draw(st.one_of(st.just(boundary), st.sampled_from([BOUNDARY, "other", ""])))
    parts = draw(st.lists(_part, max_size=4))
    end = draw(st.sampled_from([b"--\r\n", b"--", b"", b"\r\n", b"junk after"]))
    body = multipart(*parts, boundary=boundary, end=end)
    cut = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=len(body))))
    body = body if cut is None else body[:cut]
    content_type = draw(st.sampled_from([
        f"multipart/form-data; boundary={header_boundary}", f'multipart/form-data; boundary="{header_boundary}"',
        "multipart/form-data", f"multipart/form-data; charset=utf-8; boundary={header_boundary}",
    ]))
    return body, content_type


# The routes a visitor reaches without signing in, and an agent's form (the agent is signed in).
RAW_TARGETS = ["/new", "/status", "/t/{token}/reply", "/t/{token}/confirm", "/login", "/login/forgot",
               "/agent/tickets/{number}/reply", "/agent/new", "/admin/settings", "/api/v1/tickets"]


@FUZZ
@given(raw=raw_multipart(), target=st.sampled_from(RAW_TARGETS), htmx=st.booleans())
def test_fuzz_raw_multipart(client, desk, login, route_values, raw, target, htmx):
    """Hand-made multipart bodies (unnamed and unreadable parts, missing headers, wrong
    boundaries, cut-off bodies, NUL bytes, huge headers) to the forms: refused, never a 5xx."""
    body, content_type = raw
    if target.startswith(("/agent", "/admin")):
        login(desk.admin)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(target.format(**route_values), data=body, content_type=content_type, headers=headers)
    never_fails(response, f"{target} {content_type!r} {body[:300]!r}")
    db.session.rollback()
