"""The REST API: keys (hash, scopes, IP ranges, revocation, last use), each endpoint, errors as
JSON with the right status, and the admin pages that manage keys."""
from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import func, select

from factories import make_api_key
from helpdesk import tickets
from helpdesk.attachments import Upload
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import ApiKey, Collaborator, Event, ThreadEntry, Ticket, hash_api_key
from helpdesk.security import access_for_token, access_token, collaborator_token
from support.files import png_bytes as png


@pytest.fixture
def make_key(desk):
    def make(scopes="create,read", ip_ranges="", name="Chat"):
        secret = ApiKey.generate()
        make_api_key(secret, name=name, scopes=scopes, ip_ranges=ip_ranges, created_by=desk.admin)
        return secret
    return make


@pytest.fixture
def auth(make_key):
    return {"Authorization": f"Bearer {make_key()}"}


def key_of(secret_or_headers) -> ApiKey:
    """The stored key for a secret (or for the headers that send it)."""
    secret = secret_or_headers
    if isinstance(secret, dict):
        secret = secret["Authorization"].removeprefix("Bearer ")
    return db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(secret)))


def opened_with(ticket, secret_or_headers):
    """Record the ticket as opened with this key (as POST /api/v1/tickets does): it may write to it."""
    ticket.api_key_id = key_of(secret_or_headers).id
    db.session.commit()
    return ticket


def new_ticket(desk, **overrides):
    data = {"name": "Ken Customer", "email": "Ken@Example.net", "topic_id": desk.topics["General inquiry"].id,
            "subject": "Chat: cannot log in", "message": "Since this morning the app says *wrong password*.",
            "source": "chat"}
    data.update(overrides)
    return data


def assert_error(response, status, code=None, text=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    if text:
        assert text in body["error"]["message"]


# --- keys --------------------------------------------------------------------------------------------


def test_only_the_hash_of_a_key_is_stored(make_key):
    secret = make_key()
    key = db.session.scalar(select(ApiKey))
    assert key.key_hash == hash_api_key(secret) and secret not in (key.key_hash, key.prefix)
    assert len(secret) > 40 and secret.startswith(key.prefix)


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Basic abc", "Bearer hd_not-a-real-key", "hd_x"])
def test_requests_without_a_valid_key_get_401(client, desk, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/tickets?email=ken@example.net", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_gets_401(client, desk, make_key, login):
    secret = make_key()
    key = db.session.scalar(select(ApiKey))
    assert client.get("/api/v1/tickets?email=a@example.net", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    login(desk.admin)
    assert client.post(f"/admin/api-keys/{key.id}/revoke").status_code == 302
    response = client.get("/api/v1/tickets?email=a@example.net", headers={"Authorization": f"Bearer {secret}"})
    assert_error(response, 401, text="revoked")


@pytest.mark.parametrize("scopes, method, path, allowed", [
    ("read", "post", "/api/v1/tickets", False),
    ("read", "get", "/api/v1/tickets?email=a@example.net", True),
    ("create", "get", "/api/v1/tickets?email=a@example.net", False),
    ("create", "get", "/api/v1/tickets/ABCDEF", False),
    ("create", "post", "/api/v1/tickets", True),
])
def test_scopes(client, desk, make_key, scopes, method, path, allowed):
    headers = {"Authorization": f"Bearer {make_key(scopes)}"}
    response = getattr(client, method)(path, headers=headers, json=new_ticket(desk) if method == "post" else None)
    if allowed:
        assert response.status_code in (200, 201)
    else:
        assert_error(response, 403, "forbidden", f"lacks the '{'create' if method == 'post' else 'read'}' scope")


@pytest.mark.parametrize("ranges, allowed", [
    ("", True), ("127.0.0.1", True), ("10.0.0.0/8\n127.0.0.0/8", True), ("10.0.0.0/8", False),
    ("2001:db8::/32", False),
])
def test_ip_ranges(client, desk, make_key, ranges, allowed):
    headers = {"Authorization": f"Bearer {make_key(ip_ranges=ranges)}"}
    response = client.get("/api/v1/tickets?email=a@example.net", headers=headers)  # test client: 127.0.0.1
    if allowed:
        assert response.status_code == 200
    else:
        assert_error(response, 403, text="127.0.0.1")


def test_last_use_is_recorded(client, desk, auth):
    key = db.session.scalar(select(ApiKey))
    assert key.last_used_at is None
    client.get("/api/v1/tickets?email=a@example.net", headers=auth)
    db.session.expire_all()
    key = db.session.scalar(select(ApiKey))
    assert key.last_used_at is not None and key.last_used_ip == "127.0.0.1"


# --- endpoints ---------------------------------------------------------------------------------------------


def test_create_read_reply_and_list(client, desk, auth, inbox):
    data = new_ticket(desk, priority="high",
                      attachments=[{"filename": "screen.png", "data": base64.b64encode(png()).decode()}])
    response = client.post("/api/v1/tickets", json=data, headers=auth)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    number = body["number"]
    assert response.headers["Location"].endswith(f"/api/v1/tickets/{number}")
    assert body["status"] == "new" and body["source"] == "chat" and body["priority"] == "high"
    assert body["customer"] == {"name": "Ken Customer", "email": "ken@example.net"}
    assert body["thread"][0]["attachments"][0]["filename"] == "screen.png"
    inbox.deliver()
    assert any(number in s for s in inbox.subjects("ken@example.net"))  # acknowledged like the web form

    t = db.session.scalar(select(Ticket).where(Ticket.number == number))
    tickets.add_note(desk.tech, t, "Internal: customer is on the old app version.")
    tickets.resolve(desk.tech, t, "Update the app, then log in again.")
    read = client.get(f"/api/v1/tickets/{number.lower()}", headers=auth).get_json()
    assert [e["kind"] for e in read["thread"]] == ["message", "reply"]
    assert "Internal" not in str(read) and read["status"] == "resolved"
    assert read["thread"][1]["author"] == {"type": "agent", "name": "Tom"}

    response = client.post(f"/api/v1/tickets/{number}/messages", json={"message": "Still broken."}, headers=auth)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["status"] == "open"  # reopened, as on the portal
    entry = db.session.get(ThreadEntry, answer["message"]["id"])
    assert entry.ticket.number == number and entry.body == "Still broken."
    assert answer == {"number": number, "status": "open",
                      "message": {"id": entry.id, "created_at": entry.created_at.isoformat(timespec="seconds") + "Z"}}

    listed = client.get("/api/v1/tickets?email=KEN@example.net", headers=auth).get_json()["tickets"]
    assert [t["number"] for t in listed] == [number]
    nobody = client.get("/api/v1/tickets?email=nobody@example.net", headers=auth).get_json()
    assert nobody["tickets"] == [] and nobody["pagination"]["total"] == 0


def test_listing_comes_in_pages_in_a_stable_order(client, desk, auth, make_ticket):
    made = [make_ticket(email="ken@example.net", subject=f"Problem {n}") for n in range(5)]
    make_ticket(email="amy@example.net")  # someone else's: never counted
    same = made[0].created_at
    for t in made[1:4]:
        t.created_at = same  # opened in the same second: the number order must still be stable
    db.session.commit()
    expected = [t.number for t in sorted(made, key=lambda t: (t.created_at, t.id), reverse=True)]

    seen, url, pages = [], "/api/v1/tickets?email=Ken@Example.net&per_page=2", 0
    while url:
        response = client.get(url, headers=auth)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        seen += [t["number"] for t in body["tickets"]]
        pages += 1
        info = body["pagination"]
        assert (info["page"], info["per_page"], info["total"], info["pages"]) == (pages, 2, 5, 3)
        links = response.headers["Link"]
        assert '<http://desk.test/api/v1/tickets?email=ken@example.net&page=1&per_page=2>; rel="first"' in links
        assert 'page=3&per_page=2>; rel="last"' in links
        assert ('rel="prev"' in links) == (info["prev"] is not None) == (pages > 1)
        assert ('rel="next"' in links) == (info["next"] is not None) == (pages < 3)
        if info["next"]:
            assert f'<{info["next"]}>; rel="next"' in links
        url = info["next"] and info["next"].removeprefix("http://desk.test")
    assert seen == expected and pages == 3

    default = client.get("/api/v1/tickets?email=ken@example.net", headers=auth).get_json()
    assert default["pagination"]["per_page"] == 25 and len(default["tickets"]) == 5
    assert default["pagination"]["next"] is None and default["pagination"]["prev"] is None
    beyond = client.get("/api/v1/tickets?email=ken@example.net&page=9&per_page=2", headers=auth)
    assert beyond.status_code == 200 and beyond.get_json()["tickets"] == []
    assert beyond.get_json()["pagination"]["prev"].endswith("page=3&per_page=2")  # back to the last page


@pytest.mark.parametrize("query, name", [
    ("page=0", "page"), ("page=-1", "page"), ("page=x", "page"), ("page=1.5", "page"), ("page=", "page"),
    ("page=%201", "page"), ("page=99999999999999999999", "page"), ("page=100001", "page"),
    ("per_page=0", "per_page"), ("per_page=101", "per_page"), ("per_page=1e2", "per_page"),
    ("per_page=%EF%BC%95", "per_page"),  # a full-width digit five
])
def test_listing_refuses_bad_page_values(client, desk, auth, query, name):
    response = client.get(f"/api/v1/tickets?email=ken@example.net&{query}", headers=auth)
    assert_error(response, 400, "bad_request", f"'{name}' must be a whole number from 1 to")
    assert response.get_json()["error"]["fields"] == {name: "invalid"}


def test_attachments_are_listed_and_downloaded(client, desk, auth, login, make_ticket):
    t = make_ticket(email="ken@example.net", uploads=[Upload("screen.png", "image/png", png())])
    tickets.add_note(desk.tech, t, "Internal.", uploads=[Upload("note.txt", "text/plain", b"internal file")])
    entry = client.get(f"/api/v1/tickets/{t.number}", headers=auth).get_json()["thread"][0]
    [listed] = entry["attachments"]
    assert {k: listed[k] for k in ("filename", "content_type", "size")} == \
        {"filename": "screen.png", "content_type": "image/png", "size": len(png())}
    assert listed["download_url"] == f"http://desk.test/api/v1/tickets/{t.number}/attachments/{listed['id']}"

    response = client.get(listed["download_url"].removeprefix("http://desk.test"), headers=auth)
    assert response.status_code == 200 and response.data == png() and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename=screen.png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"] and "Set-Cookie" not in response.headers
    # The same policy as the agent panel's and the portal's downloads of the same file.
    portal = client.get(f"/t/{access_token(t)}/files/{listed['id']}")
    login(desk.tech)
    agent = client.get(f"/agent/files/{listed['id']}")
    assert portal.status_code == agent.status_code == 200
    assert response.headers["Content-Security-Policy"] == portal.headers["Content-Security-Policy"] \
        == agent.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_file_not_in_the_tickets_public_thread_is_404(client, desk, auth, make_key, make_ticket):
    """Another ticket's file, an internal note's file, or none at all: one answer, nothing served."""
    t = make_ticket(email="ken@example.net", uploads=[Upload("mine.txt", "text/plain", b"ken's file")])
    other = make_ticket(email="amy@example.net", uploads=[Upload("amy.txt", "text/plain", b"amy's file")])
    note = tickets.add_note(desk.tech, t, "Internal.", uploads=[Upload("note.txt", "text/plain", b"internal")])
    mine, amys = t.entries[0].attachments[0].id, other.entries[0].attachments[0].id
    for path in (f"{t.number}/attachments/{amys}", f"{t.number}/attachments/{note.attachments[0].id}",
                 f"{t.number}/attachments/999999", f"{t.number}/attachments/{2**63}", f"NOPE42/attachments/{mine}",
                 f"{t.number}/attachments/-1", f"{t.number}/attachments/abc"):
        response = client.get(f"/api/v1/tickets/{path}", headers=auth)
        assert_error(response, 404, "not_found")
        assert b"amy's file" not in response.data and b"internal" not in response.data
    assert client.get(f"/api/v1/tickets/{t.number}/attachments/{mine}", headers=auth).data == b"ken's file"
    # A key without the read scope is refused before any ticket is looked at: the same answer
    # for a real file and for none.
    create_only = {"Authorization": f"Bearer {make_key('create')}"}
    real = client.get(f"/api/v1/tickets/{t.number}/attachments/{mine}", headers=create_only)
    missing = client.get("/api/v1/tickets/NOPE42/attachments/999999", headers=create_only)
    assert_error(real, 403, "forbidden")
    assert real.get_json() == missing.get_json() and missing.status_code == 403


def test_priority_only_where_the_topic_allows_it(client, desk, auth):
    data = new_ticket(desk, topic_id=desk.topics["Billing question"].id, priority="emergency")
    assert_error(client.post("/api/v1/tickets", json=data, headers=auth), 422, "invalid", "does not let")


@pytest.mark.parametrize("change, status, text", [
    ({"email": "not an address"}, 422, "'email'"),
    ({"email": None}, 422, "'email' is required"),
    ({"name": 5}, 422, "'name' must be a string"),
    ({"subject": "   "}, 422, "'subject' cannot be empty"),
    ({"subject": "x" * 201}, 422, "longer than 200"),
    ({"message": "\ud800"}, 422, "not valid Unicode"),
    ({"topic_id": "1"}, 422, "'topic_id'"),
    ({"topic_id": 999999}, 422, "no public help topic"),
    ({"source": "web"}, 422, "'source'"),
    ({"priority": "urgent"}, 422, "'priority'"),
    ({"attachments": "x"}, 422, "must be a list"),
    ({"attachments": [{"filename": "a.png", "data": "!!!"}]}, 422, "not valid base64"),
    ({"attachments": [{"filename": "run.exe", "data": base64.b64encode(b"MZ" + b"\0" * 50).decode()}]}, 422,
     "cannot be attached"),
    ({"attachments": [{"filename": "big.txt", "data": "QUFB" * (1024 * 1024)}]}, 413, "larger than 1 MB"),
])
def test_create_errors(client, desk, auth, app, change, status, text):
    app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 1
    response = client.post("/api/v1/tickets", json=new_ticket(desk, **change), headers=auth)
    assert_error(response, status, text=text)
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_the_desks_own_topic_rules_hold(client, desk, auth):
    topic = desk.topics["Password reset"]
    topic.public = False
    db.session.commit()
    assert_error(client.post("/api/v1/tickets", json=new_ticket(desk, topic_id=topic.id), headers=auth), 422)


def test_body_errors(client, desk, auth):
    assert_error(client.post("/api/v1/tickets", data="name=x", headers=auth), 415, "unsupported_media_type")
    assert_error(client.post("/api/v1/tickets", data="{oops", headers=auth, content_type="application/json"),
                 400, "bad_request")
    assert_error(client.post("/api/v1/tickets", json=[1, 2], headers=auth), 422, text="JSON object")
    huge = b'{"message": "' + b"a" * (80 * 1024 * 1024) + b'"}'
    assert_error(client.post("/api/v1/tickets", data=huge, headers=auth, content_type="application/json"), 413)


@pytest.mark.parametrize("body", [
    "[" * 1000 + "]" * 1000,
    "[" * 100_000 + "]" * 100_000,
    '{"message": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
    '{"message": "hi", "attachments": ' + "[" * 11 + "]" * 11 + "}",  # parses, but nests too deep
    "[" * 50_000,  # never closed
])
def test_deeply_nested_json_is_a_400(client, desk, auth, make_ticket, body):
    """Nesting deep enough to exhaust the parser's stack, or deeper than any body of ours: a 400
    in the JSON error shape, on every endpoint that reads a body, and nothing is stored."""
    number = opened_with(make_ticket(email="ken@example.net"), auth).number
    for path in ("/api/v1/tickets", f"/api/v1/tickets/{number}/messages"):
        response = client.post(path, data=body, headers=auth, content_type="application/json")
        assert_error(response, 400, "bad_request")
    assert db.session.scalar(select(func.count(ThreadEntry.id))) == 1


def test_unknown_tickets_routes_and_methods(client, desk, auth):
    assert_error(client.get("/api/v1/tickets/NOPE42", headers=auth), 404, "not_found")
    assert_error(client.get("/api/v1/tickets/" + "x" * 40, headers=auth), 404)
    assert_error(client.post("/api/v1/tickets/NOPE42/messages", json={"message": "hi"}, headers=auth), 404)
    assert_error(client.get("/api/v1/nothing-here"), 404)
    assert_error(client.get("/api/v1/tickets", headers=auth), 422, text="?email=")


def test_every_error_is_json_with_a_clear_message(client, desk, auth, make_ticket, app):
    number = opened_with(make_ticket(email="ken@example.net"), auth).number
    response = client.delete("/api/v1/tickets", headers=auth)
    assert_error(response, 405, "method_not_allowed", "it takes GET, POST")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    response = client.put(f"/api/v1/tickets/{number}", headers=auth, json={})
    assert_error(response, 405, text="it takes GET.")
    assert "PUT" not in response.headers["Allow"]
    for path in ("/api/v2/tickets", "/api", "/api/v1/tickets/X/attachments/", "/api/v1/openapi.yaml"):
        assert_error(client.get(path, headers=auth), 404, "not_found", "no such API endpoint")
    for path in ("/api/v1/tickets", f"/api/v1/tickets/{number}/messages"):
        assert_error(client.post(path, data="message=hi", headers=auth), 415, "unsupported_media_type", "JSON")
        assert_error(client.post(path, data=b"{}", headers=auth, content_type="text/json"), 415)
        huge = b'{"message": "' + b"a" * (10 * 1024 * 1024) + b'"}'
        app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 1  # 5 files of 1 MB, in base64: 8 MB for a body
        assert_error(client.post(path, data=huge, headers=auth, content_type="application/json"), 413,
                     "too_large", "at most 8 MB")
        app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 10


def test_attachment_limits_follow_the_admins_settings(client, desk, auth, app):
    """The admin may raise the size limit above the configured default: the API takes such files."""
    from helpdesk import settings

    app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 1
    text = base64.b64encode(b"log line\n" * (150 * 1024)).decode()  # 1.5 MB of text
    data = new_ticket(desk, attachments=[{"filename": "log.txt", "data": text}])
    assert_error(client.post("/api/v1/tickets", json=data, headers=auth), 413, text="larger than 1 MB")
    settings.save({"max_attachment_mb": 2})
    db.session.commit()
    response = client.post("/api/v1/tickets", json=data, headers=auth)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["thread"][0]["attachments"][0]["size"] == 150 * 1024 * 9


def test_rate_limits_answer_429_in_json_per_key(app_config, app, desk, make_key, make_ticket):
    import secrets

    from helpdesk import create_app

    first, second = make_key("create,read", name="Chat"), make_key("create,read", name="Shop")
    number = opened_with(make_ticket(email="ken@example.net"), first).number
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_KEY_PREFIX": f"t-{secrets.token_hex(4)}",
                          "HELPDESK_API_READ_LIMIT": "3/minute", "HELPDESK_API_WRITE_LIMIT": "2/minute"})
    with limited.app_context():
        client = limited.test_client()
        one, two = ({"Authorization": f"Bearer {key}"} for key in (first, second))
        for _ in range(3):
            assert client.get(f"/api/v1/tickets/{number}", headers=one).status_code == 200
        response = client.get(f"/api/v1/tickets/{number}", headers=one)
        assert_error(response, 429, "too_many_requests", "Too many requests with this API key")
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert client.get(f"/api/v1/tickets/{number}", headers=two).status_code == 200  # another key: its own count
        for status in (201, 201, 429):
            response = client.post(f"/api/v1/tickets/{number}/messages", json={"message": "Any news?"}, headers=one)
            assert response.status_code == status
        assert_error(response, 429, "too_many_requests")
        db.session.remove()
    messages = db.session.scalar(select(func.count(ThreadEntry.id)).where(ThreadEntry.kind == "message"))
    assert messages == 3  # the ticket's first message and the two let through


def test_link_requests_are_limited_per_ticket(app_config, app, desk, make_key, make_ticket, inbox):
    """Each request mails the customer: five an hour per ticket, then 429; another ticket is counted apart."""
    import secrets

    from helpdesk import create_app

    secret = make_key("create")
    first, second = (opened_with(make_ticket(email="ken@example.net"), secret).number for _ in range(2))
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_KEY_PREFIX": f"t-{secrets.token_hex(4)}"})
    with limited.app_context():
        client = limited.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        statuses = [client.post(f"/api/v1/tickets/{first}/access-link", headers=headers).status_code
                    for _ in range(6)]
        assert statuses == [202] * 5 + [429]
        assert client.post(f"/api/v1/tickets/{second}/access-link", headers=headers).status_code == 202
        db.session.remove()
    inbox.deliver().clear()
    assert db.session.scalar(select(func.count(Event.id)).where(Event.action == "access_link")) == 6


def test_a_message_to_a_ticket_closed_long_ago_is_refused(client, desk, auth, make_ticket):
    t = opened_with(make_ticket(), auth)
    tickets.close(desk.tech, t)
    t.closed_at = t.closed_at.replace(year=t.closed_at.year - 1)
    db.session.commit()
    response = client.post(f"/api/v1/tickets/{t.number}/messages", json={"message": "Hello?"}, headers=auth)
    assert_error(response, 409, "conflict", "closed too long ago")
    assert db.session.scalar(select(func.count(ThreadEntry.id)).where(ThreadEntry.ticket_id == t.id)) == 1


def test_api_needs_no_csrf_token_and_sets_no_cookie(app, desk, auth):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/api/v1/tickets", json=new_ticket(desk), headers=auth)
    assert response.status_code == 201 and "Set-Cookie" not in response.headers


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/v1"}]
    assert set(doc["paths"]) == {"/tickets", "/tickets/{number}", "/tickets/{number}/messages",
                                 "/tickets/{number}/attachments/{attachment_id}", "/tickets/{number}/access-link",
                                 "/openapi.json"}
    assert "portal_url" not in str(doc) and "access_token" not in str(doc)
    for path in doc["paths"].values():
        for operation in path.values():
            assert operation.get("security") == [] or "429" in operation["responses"]
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


# --- no answer opens the portal; a key writes only to the tickets it opened ------------------------

_TOKENISH = re.compile(r"[A-Za-z0-9_.\-]{20,}")


def _strings(value):
    """Every string of a JSON answer, its keys included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def portal_access_in(response) -> list[str]:
    """Whatever in an answer (its JSON, its body, its Location and Link headers) would open a
    ticket on the portal: a portal URL, a live customer's or collaborator's link, or any string
    the desk accepts as a signed access token."""
    texts = [response.get_data(as_text=True), response.headers.get("Location", ""), response.headers.get("Link", "")]
    if response.is_json:
        texts += list(_strings(response.get_json()))
    live = [access_token(t) for t in db.session.scalars(select(Ticket))]
    live += [collaborator_token(c) for c in db.session.scalars(select(Collaborator))]
    found = []
    for text in texts:
        if "/t/" in text:
            found.append(f"a portal URL: {text[:120]!r}")
        found += [f"a live link: {token[:20]}..." for token in live if token in text]
        found += [f"a signed token: {chunk[:20]}..." for chunk in _TOKENISH.findall(text)
                  if access_for_token(chunk) != (None, None)]
    return found


# Every endpoint of the API, as a request: (method, path, JSON body). {own}: a ticket opened with
# the key in hand; {other}: one opened on the portal; {file}: a file of the ticket asked for.
API_REQUESTS = {
    "api.openapi": ("GET", "/api/v1/openapi.json", None),
    "api.create_ticket": ("POST", "/api/v1/tickets", "new"),
    "api.list_tickets": ("GET", "/api/v1/tickets?email=ken@example.net", None),
    "api.get_ticket": ("GET", "/api/v1/tickets/{ticket}", None),
    "api.download_attachment": ("GET", "/api/v1/tickets/{ticket}/attachments/{file}", None),
    "api.add_message": ("POST", "/api/v1/tickets/{ticket}/messages", {"message": "Any news?"}),
    "api.access_link": ("POST", "/api/v1/tickets/{ticket}/access-link", None),
}


def portal_access_answers(app, client, desk, make_key, make_ticket) -> tuple[list[str], dict]:
    """Every endpoint x every scope x (a ticket the key opened, one it did not): what in the
    answers opens the portal, and the statuses seen (so the check is known to reach the data)."""
    found, statuses = [], {}
    for scopes in ("read", "create", "create,read"):
        secret = make_key(scopes, name=f"Key {scopes}")
        headers = {"Authorization": f"Bearer {secret}"}
        mine = tickets.open_ticket(name="Ken Customer", email="ken@example.net", subject="Chat", body="Hello",
                                   topic=desk.topics["General inquiry"], source="chat", api_key=key_of(secret),
                                   uploads=[Upload("log.txt", "text/plain", b"the log")])
        other = make_ticket(email="ken@example.net", uploads=[Upload("web.txt", "text/plain", b"web")])
        for t in (mine, other):  # an agent's answer and someone on copy: more links that must not leak
            tickets.reply(desk.tech, t, "Try the new version.")
            tickets.add_collaborator(desk.tech, t, f"boss{t.id}@example.net")
        for endpoint, (method, path, body) in API_REQUESTS.items():
            for which, t in (("own", mine), ("other", other)):
                url = path.format(ticket=t.number, file=t.entries[0].attachments[0].id)
                response = client.open(url, method=method, headers=headers,
                                       json=new_ticket(desk) if body == "new" else body)
                statuses.setdefault(scopes, set()).add((endpoint, which, response.status_code))
                found += [f"{endpoint} ({scopes} key, {which} ticket): {problem}"
                          for problem in portal_access_in(response)]
                db.session.rollback()
    return found, statuses


def test_no_api_answer_carries_a_portal_link_or_token(app, client, desk, make_key, make_ticket):
    """Whatever a key's scopes, no answer holds anything that opens a ticket on the portal: a
    read key could write through it, a create key read through it, both long after revocation."""
    assert set(API_REQUESTS) == {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    found, statuses = portal_access_answers(app, client, desk, make_key, make_ticket)
    assert found == []
    # The answers checked were the real ones, for each scope.
    assert {("api.get_ticket", "own", 200), ("api.get_ticket", "other", 200), ("api.list_tickets", "own", 200),
            ("api.download_attachment", "own", 200)} <= statuses["read"]
    assert {("api.create_ticket", "own", 201), ("api.add_message", "own", 201),
            ("api.access_link", "own", 202)} <= statuses["create"]
    assert {("api.get_ticket", "other", 200), ("api.add_message", "own", 201)} <= statuses["create,read"]


def test_the_portal_check_fails_when_an_answer_carries_the_link(app, client, desk, make_key, make_ticket,
                                                                monkeypatch):
    """A deliberately vulnerable variant: the ticket's answer carries the customer's link again."""
    from helpdesk.api import schemas
    from helpdesk.mail.links import customer_link

    ticket_json = schemas.ticket_json
    monkeypatch.setattr(schemas, "ticket_json",
                        lambda ticket, **kw: {**ticket_json(ticket, **kw), "portal_url": customer_link(ticket)})
    found, _ = portal_access_answers(app, client, desk, make_key, make_ticket)
    assert any(f.startswith("api.get_ticket (read key, other ticket): a live link") for f in found)
    assert any(f.startswith("api.create_ticket (create key, own ticket): a portal URL") for f in found)


def test_a_key_writes_only_to_the_tickets_it_opened(client, desk, make_key, make_ticket, inbox):
    """A message or a link request for a ticket another key opened, or one opened on the portal,
    gets the same 404 as a ticket that does not exist, whatever the key may read; nothing is
    stored and no mail goes out."""
    chat, shop = make_key("create", name="Chat"), make_key("create,read", name="Shop")
    chats = client.post("/api/v1/tickets", json=new_ticket(desk), headers={"Authorization": f"Bearer {chat}"})
    assert chats.status_code == 201
    chats = db.session.scalar(select(Ticket).where(Ticket.number == chats.get_json()["number"]))
    assert chats.api_key_id == key_of(chat).id
    web = make_ticket(email="amy@example.net")
    inbox.deliver().clear()
    entries, events = (db.session.scalar(select(func.count(m.id))) for m in (ThreadEntry, Event))
    shop_headers = {"Authorization": f"Bearer {shop}"}
    assert client.get(f"/api/v1/tickets/{web.number}", headers=shop_headers).status_code == 200  # it may read
    answers = {}
    for number in (chats.number, web.number, "NOPE42"):
        for action, body in (("messages", {"message": "Refund me."}), ("access-link", None)):
            response = client.post(f"/api/v1/tickets/{number}/{action}", json=body, headers=shop_headers)
            assert_error(response, 404, "not_found")
            answers.setdefault(action, set()).add(response.get_json()["error"]["message"].replace(number, "N"))
    assert all(len(messages) == 1 for messages in answers.values()), answers  # one answer: it learns nothing
    inbox.deliver()
    assert inbox.messages == []
    assert (db.session.scalar(select(func.count(ThreadEntry.id))), db.session.scalar(select(func.count(Event.id)))) \
        == (entries, events)
    # The key that opened it may.
    response = client.post(f"/api/v1/tickets/{chats.number}/messages", json={"message": "More details."},
                           headers={"Authorization": f"Bearer {chat}"})
    assert response.status_code == 201 and response.get_json()["number"] == chats.number


def test_the_desk_mails_the_customer_a_fresh_link_on_request(client, desk, make_key, inbox):
    """POST .../access-link: the customer gets a new link by mail, the old ones stop working, the
    history names the key, and the answer holds no link."""
    secret = make_key("create", name="Website chat")
    headers = {"Authorization": f"Bearer {secret}"}
    number = client.post("/api/v1/tickets", json=new_ticket(desk), headers=headers).get_json()["number"]
    inbox.deliver()
    [acknowledgement] = inbox.to("ken@example.net")
    old_link = re.search(r"http://desk\.test(/t/\S+)", inbox.text(acknowledgement)).group(1)
    assert client.get(old_link).status_code == 200
    inbox.clear()

    response = client.post(f"/api/v1/tickets/{number.lower()}/access-link", headers=headers)
    assert response.status_code == 202
    assert response.get_json() == {"number": number, "mailed_to": "customer"}
    assert portal_access_in(response) == []
    inbox.deliver()
    [mail] = inbox.to("ken@example.net")
    assert number in str(mail["Subject"]) and len(inbox.messages) == 1
    new_link = re.search(r"http://desk\.test(/t/\S+)", inbox.text(mail)).group(1)
    assert new_link != old_link and client.get(new_link).status_code == 200
    assert client.get(old_link).status_code == 404
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    event = db.session.scalar(select(Event).where(Event.ticket_id == ticket.id, Event.action == "access_link"))
    assert "Website chat" in event.note and event.agent_id is None


def test_an_api_key_may_not_have_another_tickets_link_mailed_through_the_lifecycle(desk, make_key, make_ticket):
    """The lifecycle's own rule, whoever calls it: only the key that opened the ticket."""
    ticket = make_ticket()
    with pytest.raises(tickets.NotAllowed):
        tickets.new_access_link(None, ticket, api_key=key_of(make_key("create")))
    with pytest.raises(tickets.NotAllowed):
        tickets.new_access_link(None, ticket)


# --- the admin pages ------------------------------------------------------------------------------------


def test_admin_creates_a_key_shown_once_and_lists_it(client, desk, login):
    login(desk.admin)
    response = client.post("/admin/api-keys", data={"name": "Website chat", "scope_create": "y",
                                                    "ip_ranges": "192.0.2.0/24\n127.0.0.1"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    secret = page.split('class="secret" type="text" readonly value="')[1].split('"')[0]
    key = db.session.scalar(select(ApiKey))
    assert key.key_hash == hash_api_key(secret) and key.scope_list == ["create"]
    assert key.ip_ranges == "192.0.2.0/24\n127.0.0.1/32"
    listing = client.get("/admin/api-keys").get_data(as_text=True)
    assert "Website chat" in listing and key.prefix in listing and secret not in listing
    assert "never" in listing and "192.0.2.0/24" in listing
    # the key works: create only
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/v1/tickets", json=new_ticket(desk), headers=headers).status_code == 201
    assert client.get("/api/v1/tickets?email=ken@example.net", headers=headers).status_code == 403


@pytest.mark.parametrize("data, error", [
    ({"name": "", "scope_read": "y"}, "Name the key"),
    ({"name": "X"}, "at least one scope"),
    ({"name": "X", "scope_read": "y", "ip_ranges": "10.0.0.300"}, "is not an IP address"),
])
def test_admin_key_form_errors(client, desk, login, data, error):
    login(desk.admin)
    response = client.post("/admin/api-keys", data=data)
    assert response.status_code == 400 and error in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ApiKey.id))) == 0


def test_managers_see_keys_but_cannot_create_or_revoke(client, desk, login, make_key):
    make_key()
    key = db.session.scalar(select(ApiKey))
    login(desk.manager)
    assert client.get("/admin/api-keys").status_code == 200
    assert client.post("/admin/api-keys", data={"name": "X", "scope_read": "y"}).status_code == 403
    assert client.post(f"/admin/api-keys/{key.id}/revoke").status_code == 403
    login(desk.tech)
    assert client.get("/admin/api-keys").status_code == 403


# --- every API route x every kind of key, in one table ----------------------------------------------

# The kinds of key a caller may hold, and what each route must answer them.
API_KEYS = ("none", "unknown", "revoked", "read", "create", "both", "other_ip")
API_ROUTES = {
    # (method, path): status per key kind, in the order of API_KEYS. {number} is a ticket opened
    # on the portal; {own} one opened with the key in hand (each key has its own).
    ("GET", "/api/v1/tickets?email=ken@example.net"): (401, 401, 401, 200, 403, 200, 403),
    ("POST", "/api/v1/tickets"): (401, 401, 401, 403, 201, 201, 403),
    ("GET", "/api/v1/tickets/{number}"): (401, 401, 401, 200, 403, 200, 403),
    ("GET", "/api/v1/tickets/{number}/attachments/{file}"): (401, 401, 401, 200, 403, 200, 403),
    ("POST", "/api/v1/tickets/{own}/messages"): (401, 401, 401, 403, 201, 201, 403),
    ("POST", "/api/v1/tickets/{number}/messages"): (401, 401, 401, 403, 404, 404, 403),
    ("POST", "/api/v1/tickets/{own}/access-link"): (401, 401, 401, 403, 202, 202, 403),
    ("POST", "/api/v1/tickets/{number}/access-link"): (401, 401, 401, 403, 404, 404, 403),
}


def api_table_failures(client, desk, make_key, make_ticket) -> list[str]:
    """Call every API route with every kind of key; return each answer that differs from the table."""
    ticket = make_ticket(email="ken@example.net", uploads=[Upload("log.txt", "text/plain", b"the log")])
    number, file = ticket.number, ticket.entries[0].attachments[0].id
    revoked = make_key(name="Revoked")
    key_of(revoked).revoked_at = utcnow()
    db.session.commit()
    keys = {"none": None, "unknown": "hd_" + "x" * 40, "revoked": revoked,
               "read": make_key("read"), "create": make_key("create"), "both": make_key("create,read"),
               "other_ip": make_key("create,read", ip_ranges="10.0.0.0/8")}
    own = {kind: opened_with(make_ticket(email="ken@example.net"), secret).number if key_of(secret or "x") else number
           for kind, secret in keys.items()}
    failures = []
    for (method, path), statuses in API_ROUTES.items():
        for kind, expected in zip(API_KEYS, statuses):
            headers = {"Authorization": f"Bearer {keys[kind]}"} if keys[kind] else {}
            body = new_ticket(desk) if path == "/api/v1/tickets" else {"message": "Any news?"}
            response = client.open(path.format(number=number, file=file, own=own[kind]), method=method,
                                   headers=headers, json=body if method == "POST" else None)
            if response.status_code != expected:
                failures.append(f"{method} {path} with {kind} key: {response.status_code}, expected {expected}")
            elif response.status_code >= 400 and response.mimetype != "application/json":
                failures.append(f"{method} {path} with {kind} key: a {response.status_code} that is not JSON")
    return failures


def test_every_api_route_for_every_kind_of_key(client, desk, make_key, make_ticket):
    assert api_table_failures(client, desk, make_key, make_ticket) == []


def test_the_api_table_fails_when_scopes_are_not_checked(client, desk, make_key, make_ticket, monkeypatch):
    """A deliberately vulnerable variant: every key has every scope."""
    monkeypatch.setattr(ApiKey, "scope_list", property(lambda self: ["create", "read"]))
    failures = api_table_failures(client, desk, make_key, make_ticket)
    assert any("with read key: 201" in f for f in failures)
    assert any("with create key: 200" in f for f in failures)


def test_the_api_table_fails_when_ip_ranges_are_ignored(client, desk, make_key, make_ticket, monkeypatch):
    monkeypatch.setattr(ApiKey, "allows_ip", lambda self, address: True)
    assert any("with other_ip key" in f for f in api_table_failures(client, desk, make_key, make_ticket))


def test_the_api_table_fails_when_a_key_writes_to_any_ticket(client, desk, make_key, make_ticket, monkeypatch):
    """A deliberately vulnerable variant: the writing endpoints look tickets up by number alone."""
    from helpdesk.api import routes

    monkeypatch.setattr(routes, "_own_ticket", routes._ticket)
    failures = api_table_failures(client, desk, make_key, make_ticket)
    assert "POST /api/v1/tickets/{number}/messages with create key: 201, expected 404" in failures
    assert "POST /api/v1/tickets/{number}/messages with both key: 201, expected 404" in failures
