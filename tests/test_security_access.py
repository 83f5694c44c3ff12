"""Access control, in one table: every route x role x object, with the status each must get;
plus CSRF on every state-changing route, topics the portal may not use, disabled agents,
redirects after sign-in and the queue's query string.

To cover a new route: add a row to ROUTES (and, for a new object kind, a placeholder in
`world`). The route inventory test fails while a route of the app is in no row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from factories import make_api_key, make_mailbox, make_webhook
from helpdesk import tickets
from helpdesk.attachments import Upload, store
from helpdesk.extensions import db
from helpdesk.models import (
    CannedAttachment,
    CannedResponse,
    Event,
    FailedMail,
    Macro,
    OutboxMail,
    Rule,
    SLAHoliday,
    ThreadEntry,
    Ticket,
    WebhookDelivery,
)
from helpdesk.security import access_token
from hostile import OPEN_REDIRECTS
from support import xlsx

ROLES = ("anonymous", "customer_a", "customer_b", "other_dept_agent", "agent", "manager", "admin")
# Who signs in for each staff role (demo desk): "agent" works in Support, where ticket A is;
# "other_dept_agent" works in IT Operations, where ticket B is.
STAFF = {"other_dept_agent": "sysadmin", "agent": "tech", "manager": "manager", "admin": "admin"}
LOGIN = "login"  # expected: sent to the sign-in page
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def expect(anonymous, customer_a, customer_b, other_dept_agent, agent, manager, admin):
    """Expected statuses per role, each a pair (on object A, on object B) or one value for both."""
    values = (anonymous, customer_a, customer_b, other_dept_agent, agent, manager, admin)
    return {role: v if isinstance(v, tuple) else (v, v) for role, v in zip(ROLES, values)}


@dataclass
class Route:
    method: str
    url: str  # placeholders: {link} {own_link} {number} {file} {note_file}
    expected: dict
    data: dict | None = None


# The customer's link for an object: a customer holds the real link to their own ticket only;
# for any other ticket (and for everyone else) we try a forged one.
# {own_link} is the link the role holds, used with the other ticket's file ids (IDOR).
PORTAL = [
    Route("GET", "/t/{link}", expect(404, (200, 404), (404, 200), 404, 404, 404, 404)),
    Route("POST", "/t/{link}/reply", expect(404, (302, 404), (404, 302), 404, 404, 404, 404), {"body": "Hello"}),
    Route("POST", "/t/{link}/confirm", expect(404, (409, 404), (404, 409), 404, 404, 404, 404)),
    Route("GET", "/t/{own_link}/files/{file}", expect(404, (200, 404), (404, 200), 404, 404, 404, 404)),
    Route("GET", "/t/{own_link}/files/{note_file}", expect(404, 404, 404, 404, 404, 404, 404)),
]
AGENT_PAGES = [
    Route("GET", "/agent/tickets/{number}", expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
    Route("GET", "/agent/files/{file}", expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
    Route("GET", "/agent/files/{note_file}", expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
    Route("GET", "/agent/", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("GET", "/agent/queue/closed", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("GET", "/agent/counts", expect(LOGIN, LOGIN, LOGIN, 302, 302, 302, 302)),
    Route("GET", "/account", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    # Nobody signed in here has two-factor sign-in on, so there are no recovery codes to renew.
    Route("POST", "/account/two-factor/recovery-codes", expect(LOGIN, LOGIN, LOGIN, 409, 409, 409, 409)),
    Route("POST", "/account/notifications", expect(LOGIN, LOGIN, LOGIN, 302, 302, 302, 302), {"notify-new": "y"}),
    Route("GET", "/agent/customers/{customer}", expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
]
AGENT_PAGES += [
    # Without htmx (a person opening the poller's URL): the ticket page, if theirs to see.
    Route("GET", "/agent/tickets/{number}/live?since=1", expect(LOGIN, LOGIN, LOGIN, (404, 302), (302, 404), 302, 302)),
    Route("POST", "/agent/tickets/{number}/presence", expect(LOGIN, LOGIN, LOGIN, (404, 302), (302, 404), 302, 302)),
    Route("POST", "/agent/tickets/{number}/collaborators", expect(LOGIN, LOGIN, LOGIN, (404, 400), (400, 404), 400, 400)),
    Route("POST", "/agent/tickets/{number}/collaborators/{collaborator}/remove",
          expect(LOGIN, LOGIN, LOGIN, (404, 302), (302, 404), 302, 302)),
    # A mail held for the agent it claims to be from (A's: tech, the "agent"; B's: sysadmin, the
    # "other_dept_agent"): only they may confirm or discard it; others who see the ticket get 403.
    Route("POST", "/agent/tickets/{number}/held-mail/{held_confirm}/confirm",
          expect(LOGIN, LOGIN, LOGIN, (404, 302), (302, 404), 403, 403)),
    Route("POST", "/agent/tickets/{number}/held-mail/{held_discard}/discard",
          expect(LOGIN, LOGIN, LOGIN, (404, 302), (302, 404), 403, 403)),
    Route("GET", "/agent/new", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("POST", "/agent/new", expect(LOGIN, LOGIN, LOGIN, 400, 400, 400, 400)),
    Route("GET", "/agent/customers?customer_q=amy", expect(LOGIN, LOGIN, LOGIN, 302, 302, 302, 302)),  # no htmx: the form
    # Bulk actions: every agent (macros); posted empty, refused as such.
    Route("POST", "/agent/queue/{queue}/bulk", expect(LOGIN, LOGIN, LOGIN, 400, 400, 400, 400)),
    # The agent's own display settings: any staff member, for themselves only.
    Route("POST", "/agent/queue/{queue}/display", expect(LOGIN, LOGIN, LOGIN, 302, 302, 302, 302), {"density": "compact"}),
    Route("POST", "/account/display", expect(LOGIN, LOGIN, LOGIN, 302, 302, 302, 302),
          {"theme": "dark", "density": "compact", "page_size": "50"}),
    # The queue as CSV: only the tickets the agent sees (the secrets check reads the file).
    Route("GET", "/agent/queue/{queue}/export.csv", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("GET", "/agent/queue/{queue}/export.xlsx", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    # Reports: every staff member, each in their own scope; a table as CSV or XLSX.
    Route("GET", "/agent/reports", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("GET", "/agent/reports/{report}.csv", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("GET", "/agent/reports/{report}.xlsx", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    # The weekly summary mail: managers and admins ask for it for themselves.
    Route("POST", "/account/weekly-report", expect(LOGIN, LOGIN, LOGIN, 403, 403, 302, 302), {"weekly-weekly": "y"}),
    # Canned responses: A's is Support's, B's IT Operations'. Each agent manages their own
    # (none here); managers their departments', admins every shared one. On a ticket: the
    # ticket's department's, for that department's agents. The delete comes last.
    Route("GET", "/agent/canned-responses", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("POST", "/agent/canned-responses", expect(LOGIN, LOGIN, LOGIN, 400, 400, 400, 400)),
    Route("GET", "/agent/tickets/{number}/canned-responses?q=canned",
          expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
    Route("GET", "/agent/tickets/{number}/canned-responses/{canned}",
          expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
    Route("GET", "/agent/canned-responses/{canned}", expect(LOGIN, LOGIN, LOGIN, 404, 404, 200, 200)),
    Route("POST", "/agent/canned-responses/{canned}", expect(LOGIN, LOGIN, LOGIN, 404, 404, 400, 400)),
    # A canned response's file: for whoever may use the response (or manage it); before the delete.
    Route("GET", "/agent/canned-responses/{canned}/files/{canned_file}",
          expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
    Route("POST", "/agent/canned-responses/{canned}/delete", expect(LOGIN, LOGIN, LOGIN, 404, 404, 302, 302)),
    # Macros: A's is Support's, B's IT Operations', managed and used as canned responses are.
    # Applying one posted without the page's version is refused (400) once the ticket and macro
    # are the agent's to use. The delete comes last.
    Route("GET", "/agent/macros", expect(LOGIN, LOGIN, LOGIN, 200, 200, 200, 200)),
    Route("POST", "/agent/macros", expect(LOGIN, LOGIN, LOGIN, 400, 400, 400, 400)),
    Route("GET", "/agent/macros/{macro}", expect(LOGIN, LOGIN, LOGIN, 404, 404, 200, 200)),
    Route("POST", "/agent/macros/{macro}", expect(LOGIN, LOGIN, LOGIN, 404, 404, 400, 400)),
    Route("POST", "/agent/tickets/{number}/macros/{macro}",
          expect(LOGIN, LOGIN, LOGIN, (404, 400), (400, 404), 400, 400)),
    Route("POST", "/agent/macros/{macro}/delete", expect(LOGIN, LOGIN, LOGIN, 404, 404, 302, 302)),
    # The tags' type-ahead on a ticket: for those who see the ticket (the page itself, without htmx).
    Route("GET", "/agent/tickets/{number}/tags/suggestions?names=ta",
          expect(LOGIN, LOGIN, LOGIN, (404, 200), (200, 404), 200, 200)),
]
ADMIN = [
    Route("GET", "/admin/", expect(LOGIN, LOGIN, LOGIN, 403, 403, 200, 200)),
    Route("GET", "/admin/outbox", expect(LOGIN, LOGIN, LOGIN, 403, 403, 200, 200)),
    Route("GET", "/admin/dev-mailbox", expect(LOGIN, LOGIN, LOGIN, 403, 403, 403, 404)),  # admins only (off here: 404)
    # One caught mail's HTML part (any name will do: the dev mailbox is off here).
    Route("GET", "/admin/dev-mailbox/{number}/html", expect(LOGIN, LOGIN, LOGIN, 403, 403, 403, 404)),
    Route("POST", "/admin/outbox/retry", expect(LOGIN, LOGIN, LOGIN, 403, 403, 403, 302)),
]
# Admin pages: anonymous visitors sign in, agents are refused, managers read (200) but change
# nothing (403), admins do both. Forms posted empty are refused (400); objects still in use are
# deactivated, never deleted (409).
READ = expect(LOGIN, LOGIN, LOGIN, 403, 403, 200, 200)


def write(admin):
    return expect(LOGIN, LOGIN, LOGIN, 403, 403, 403, admin)


for kind, path in (("topic", "topics"), ("sla", "sla-plans"), ("department", "departments"), ("team", "teams"),
                   ("agent", "agents")):
    ADMIN += [
        Route("GET", f"/admin/{path}", READ),
        Route("GET", f"/admin/{path}/new", READ),
        Route("POST", f"/admin/{path}/new", write(400)),
        Route("GET", f"/admin/{path}/{{{kind}}}", READ),
        Route("POST", f"/admin/{path}/{{{kind}}}", write(400)),
        Route("POST", f"/admin/{path}/{{{kind}}}/deactivate", write(302)),
        Route("POST", f"/admin/{path}/{{{kind}}}/activate", write(302)),
        Route("POST", f"/admin/{path}/{{{kind}}}/delete", write(409)),
    ]
ADMIN += [
    Route("POST", "/admin/agents/{agent}/password", write(200)),  # the new password, shown once
    Route("POST", "/admin/agents/{agent}/two-factor/reset", write(400)),  # not confirmed
    Route("POST", "/admin/sla-plans/{sla}/holidays", write(400)),
    Route("POST", "/admin/sla-plans/{sla}/holidays/{holiday}/delete", write(302)),
    Route("GET", "/admin/priorities", READ),
    Route("POST", "/admin/priorities/new", write(400)),
    Route("GET", "/admin/priorities/{priority}/edit", READ),
    Route("GET", "/admin/priorities/{priority}/row", READ),
    Route("POST", "/admin/priorities/{priority}", write(400)),
    Route("POST", "/admin/priorities/{priority}/move", write(400)),
    Route("POST", "/admin/priorities/{priority}/delete", write(409)),
    Route("GET", "/admin/settings", READ),
    Route("POST", "/admin/settings", write(400)),
    Route("GET", "/admin/audit", READ),
    Route("GET", "/admin/api-keys", READ),
    Route("POST", "/admin/api-keys", write(400)),
    Route("POST", "/admin/api-keys/{api_key}/revoke", write(302)),
    Route("GET", "/admin/mailboxes", READ),
    Route("POST", "/admin/mailboxes", write(400)),
    Route("GET", "/admin/mailboxes/{mailbox}", READ),
    Route("POST", "/admin/mailboxes/{mailbox}", write(400)),
    Route("GET", "/admin/failed-mail", READ),
    Route("GET", "/admin/failed-mail/{failed_mail}.eml", READ),
    Route("GET", "/admin/mail-templates", READ),
    Route("GET", "/admin/mail-templates/{mail_kind}", READ),
    Route("POST", "/admin/mail-templates/{mail_kind}", write(302)),  # empty: the built-in wording
    Route("POST", "/admin/mail-templates/{mail_kind}/preview", write(200)),
    Route("POST", "/admin/mail-templates/{mail_kind}/restore", write(302)),
    Route("GET", "/admin/webhooks", READ),
    Route("GET", "/admin/webhooks/new", READ),
    Route("POST", "/admin/webhooks/new", write(400)),
    Route("GET", "/admin/webhooks/{webhook}", READ),
    Route("POST", "/admin/webhooks/{webhook}", write(400)),
    Route("POST", "/admin/webhooks/{webhook}/deliveries/{delivery}/retry", write(302)),
    Route("POST", "/admin/webhooks/{webhook}/delete", write(302)),
    # Automation rules: A is Support's (the manager writes it), B the whole desk's (admins only).
    Route("GET", "/admin/rules", READ),
    Route("GET", "/admin/rules/new", READ),
    Route("POST", "/admin/rules/new", expect(LOGIN, LOGIN, LOGIN, 403, 403, 400, 400)),
    Route("GET", "/admin/rules/{rule}", READ),
    Route("POST", "/admin/rules/{rule}", expect(LOGIN, LOGIN, LOGIN, 403, 403, (400, 403), 400)),
    Route("POST", "/admin/rules/{rule}/switch", expect(LOGIN, LOGIN, LOGIN, 403, 403, (302, 403), 302)),
    Route("POST", "/admin/rules/{rule}/move", expect(LOGIN, LOGIN, LOGIN, 403, 403, (302, 403), 302)),
    Route("POST", "/admin/rules/{rule}/delete", expect(LOGIN, LOGIN, LOGIN, 403, 403, (302, 403), 302)),
    # Tags: A's is on ticket A, B's on ticket B, so deleting one unconfirmed is refused (409).
    Route("GET", "/admin/tags", READ),
    Route("POST", "/admin/tags", write(400)),
    Route("GET", "/admin/tags/{tag}", READ),
    Route("POST", "/admin/tags/{tag}", write(400)),
    Route("POST", "/admin/tags/{tag}/delete", write(409)),
]
# The API authenticates by key only: a signed-in session is not enough.
API = [
    Route("GET", "/api/v1/tickets", expect(*[401] * 7)),
    Route("POST", "/api/v1/tickets", expect(*[401] * 7)),
    Route("GET", "/api/v1/tickets/{number}", expect(*[401] * 7)),
    Route("GET", "/api/v1/tickets/{number}/attachments/{file}", expect(*[401] * 7)),
    Route("GET", "/api/v1/tickets/{number}/attachments/{note_file}", expect(*[401] * 7)),
    Route("POST", "/api/v1/tickets/{number}/messages", expect(*[401] * 7), {"body": "Hello"}),
    Route("POST", "/api/v1/tickets/{number}/access-link", expect(*[401] * 7)),
]
# Each agent action posted with an empty form: unseen ticket 404; seen: 403 below the action's
# role, 409 where the ticket's status does not allow it, else 400 (the form is incomplete).
ACTIONS = {
    "reply": "reply", "note": "note", "claim": "claim", "assign": "assign", "priority": "set_priority",
    "sla": "set_sla", "transfer": "transfer", "request-info": "request_info", "escalate": "escalate",
    "resume": "resume", "resolve": "resolve", "close": "close", "reopen": "reopen", "access-link": None,
    "tags": "tag", "tags/remove": "tag",
}


def _action_status(role: str, action: str | None, status: str) -> int:
    if action is None:
        return 400
    rule = tickets.TRANSITIONS[action]
    rank = {"other_dept_agent": 0, "agent": 0, "manager": 1, "admin": 2}[role]
    if rank < ("agent", "manager", "admin").index(rule.role):
        return 403
    return 409 if status not in rule.sources else 400


def _action_routes(status: str) -> list[Route]:
    routes = []
    for path, action in ACTIONS.items():
        per_role = {r: _action_status(r, action, status) for r in STAFF}
        routes.append(Route("POST", f"/agent/tickets/{{number}}/{path}", expect(
            LOGIN, LOGIN, LOGIN, (404, per_role["other_dept_agent"]), (per_role["agent"], 404),
            per_role["manager"], per_role["admin"])))
    return routes


ROUTES = PORTAL + AGENT_PAGES + ADMIN + API + _action_routes("new")
# Endpoints deliberately outside the table: public pages that show nobody's data, sign-in
# steps, account pages whose own tests live in test_security_auth.py, the desk's theme stylesheet
# and icon, and the API's description.
PUBLIC_ENDPOINTS = {
    "static", "portal.index", "portal.new_ticket", "portal.topic_fields", "portal.submitted", "portal.check_status",
    "portal.captcha_challenge", "auth.login", "auth.logout", "auth.second_factor", "account.forgot", "account.reset",
    "account.password", "account.two_factor", "account.two_factor_start", "account.two_factor_confirm",
    "account.two_factor_qr", "account.two_factor_disable", "ops.healthz", "theme_css", "api.openapi",
    "portal.new_ticket_topic", "favicon",
}


@pytest.fixture
def world(desk, make_ticket):
    """Ticket A (customer A, Support) and ticket B (customer B, IT Operations), each with a public
    file and an internal note's file; and the secret text of each that no outsider may see."""
    objects = {}
    for key, topic, email in (("A", "General inquiry", "amy@example.net"), ("B", "Password reset", "bob@example.net")):
        ticket = make_ticket(topic=topic, email=email, subject=f"Subject of ticket {key}",
                             uploads=[Upload(f"{key}.txt", "text/plain", f"public file {key}".encode())])
        tickets.add_note(desk.admin, ticket, f"Internal note {key}",
                         uploads=[Upload(f"note-{key}.txt", "text/plain", f"note file {key}".encode())])
        files = {e.kind: e.attachments[0].id for e in ticket.entries}
        forged = URLSafeTimedSerializer("not-our-key", salt="helpdesk.ticket-access").dumps(
            {"t": ticket.id, "n": ticket.access_nonce})
        objects[key] = {"ticket": ticket, "number": ticket.number, "customer": ticket.customer_id,
                        "file": files["message"],
                        "note_file": files["note"], "link": access_token(ticket), "forged": forged}
        objects[key]["collaborator"] = tickets.add_collaborator(desk.admin, ticket, f"cc-{key}@example.net", "CC").id
        department = desk.departments["Support" if key == "A" else "IT Operations"]
        response = CannedResponse(title=f"Canned {key}", body=f"Canned text {key}", department=department)
        upload = Upload(f"canned-{key}.txt", "text/plain", f"canned file {key}".encode())
        response.files.append(CannedAttachment(filename=upload.filename, content_type=upload.content_type,
                                               size=upload.size, sha256=upload.sha256, storage_key=store(upload)))
        db.session.add(response)
        db.session.commit()
        objects[key]["canned"] = response.id
        macro = Macro(name=f"Macro {key}", actions='[{"do": "claim"}]', department=department)
        db.session.add(macro)
        db.session.commit()
        objects[key]["macro"] = macro.id
        objects[key]["tag"] = tickets.add_tags(desk.admin, ticket, [f"Tag {key}"])[0].id
        objects[key]["canned_file"] = response.files[0].id
        claimed = desk.tech if key == "A" else desk.sysadmin
        for what in ("confirm", "discard"):
            held = tickets.hold_agent_mail(claimed, ticket, f"Held mail {key}", b"Subject: held\r\n\r\nHeld")
            objects[key][f"held_{what}"] = held.id
    # Admin objects: A's are ticket A's (topic, department, ...), B's are ticket B's or others.
    admin_objects = {
        "A": (desk.topics["General inquiry"], desk.slas["Standard"], desk.departments["Support"],
              desk.teams["Senior Support"], desk.vendor, desk.priorities["low"]),
        "B": (desk.topics["Password reset"], desk.slas["Priority"], desk.departments["IT Operations"],
              desk.teams["SysAdmins/Developers"], desk.sysadmin, desk.priorities["high"]),
    }
    for key, (topic, sla, department, team, agent, priority) in admin_objects.items():
        api_key = make_api_key(name=f"Key {key}", scopes="read")
        webhook = make_webhook(f"https://hooks.example.net/{key}", name=f"Webhook {key}")
        mailbox = make_mailbox(f"Mailbox {key}", department=department, host="imap.example.net", username=f"box-{key}")
        rule = Rule(name=f"Rule {key}", triggers="opened", department_id=department.id if key == "A" else None,
                    conditions='[{"field": "subject", "op": "contains", "value": "x"}]',
                    actions='[{"type": "note", "value": "x"}]')
        holiday = SLAHoliday(sla=sla, day=date(2026, 12, 25), name="Christmas")
        failed = FailedMail(source="pipe", error="No sender", raw=b"Subject: x\r\n\r\nbody", size=21)
        delivery = WebhookDelivery(webhook=webhook, kind="ticket.created", payload="{}", status="failed", attempts=8)
        db.session.add_all([holiday, failed, delivery, rule])
        db.session.commit()
        objects[key].update(topic=topic.id, sla=sla.id, department=department.id, team=team.id, agent=agent.id,
                            priority=priority.id, holiday=holiday.id, api_key=api_key.id, mailbox=mailbox.id,
                            failed_mail=failed.id, webhook=webhook.id, delivery=delivery.id, rule=rule.id)
    return objects


def _placeholders(world, role, key):
    obj = world[key]
    own_key = {"customer_a": "A", "customer_b": "B"}.get(role)
    return {
        **{k: v for k, v in obj.items() if isinstance(v, int)}, "queue": "open",
        "number": obj["number"], "file": obj["file"], "note_file": obj["note_file"],
        "mail_kind": {"A": "reply_customer", "B": "overdue_agent"}[key],
        "report": {"A": "breaches", "B": "agents"}[key],
        "link": obj["link"] if own_key == key else obj["forged"],
        "own_link": world[own_key]["link"] if own_key else obj["forged"],
    }


def _sign_in(client, desk, role):
    client.post("/logout")
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    if role in STAFF:
        agent = getattr(desk, STAFF[role])
        response = client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email]})
        assert response.status_code == 302


def _secrets_for(role: str) -> list[str]:
    """Text this role must never be shown."""
    notes = ["Internal note A", "Internal note B", "note file"]
    return {
        "anonymous": notes + ["Subject of ticket A", "Subject of ticket B"],
        "customer_a": notes + ["Subject of ticket B", "public file B"],
        "customer_b": notes + ["Subject of ticket A", "public file A"],
        "other_dept_agent": ["Subject of ticket A", "Internal note A", "public file A", "note file A"],
        "agent": ["Subject of ticket B", "Internal note B", "public file B", "note file B"],
    }.get(role, [])


def _text_of(response) -> str:
    """What a response shows: its text, or every cell of a spreadsheet."""
    if response.mimetype == XLSX:
        return "\n".join(str(c.value) for row in xlsx.read(response.get_data()).rows for c in row if c is not None)
    return response.get_data(as_text=True)


def route_table_failures(client, desk, world, role, routes=ROUTES) -> list[str]:
    """Every route of `routes` asked by `role` on objects A and B: each status that differs from
    the table, and each secret the role was shown."""
    _sign_in(client, desk, role)
    failures = []
    for route in routes:
        for index, key in enumerate(("A", "B")):
            url = route.url.format(**_placeholders(world, role, key))
            response = client.open(url, method=route.method, data=route.data or {})
            want = route.expected[role][index]
            got = response.status_code
            if want == LOGIN:
                ok = got == 302 and response.headers["Location"].startswith("/login")
            else:
                ok = got == want
            if not ok:
                failures.append(f"{route.method} {route.url} on {key}: {got}, expected {want}")
            body = _text_of(response)
            leaked = [s for s in _secrets_for(role) if s in body]
            if leaked:
                failures.append(f"{route.method} {route.url} on {key} shows {leaked}")
            db.session.rollback()
    return failures


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role_and_object(app, client, desk, world, role):
    failures = route_table_failures(client, desk, world, role)
    assert not failures, "\n".join(failures)
    # Nothing any refused request sent changed a ticket: only the owners' replies were added.
    added = db.session.scalar(select(func.count(ThreadEntry.id)).where(ThreadEntry.kind == "message"))
    assert added == 2 + (1 if role in ("customer_a", "customer_b") else 0)


def routes_missing_from_table(app) -> list[str]:
    """Routes of the app that have no row in ROUTES and are not named public pages."""
    covered = set()
    for route in ROUTES:
        path = re.sub(r"\{[a-z_]+\}", "X", route.url.split("?")[0]).rstrip("/")
        covered.add((route.method, path))
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            path = re.sub(r"<[^>]+>", "X", rule.rule).rstrip("/")
            if (method, path) not in covered and not (method == "GET" and path.startswith("/agent/queue")):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    return missing


def test_the_table_covers_every_route(app):
    """A new route must get a row (or be named a public page): the table stays complete."""
    missing = routes_missing_from_table(app)
    assert not missing, "routes with no row in the access table:\n" + "\n".join(missing)


def test_history_is_for_agents_only(client, desk, world, login):
    """The history (events) shows on the agent page; the customer's page never shows it."""
    ticket = world["A"]["ticket"]
    tickets.set_priority(desk.manager, ticket, desk.priorities["high"])
    customer_page = client.get(f"/t/{world['A']['link']}").get_data(as_text=True)
    assert "changed the priority" not in customer_page and "Internal note A" not in customer_page
    login(desk.tech)
    agent_page = client.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    assert "changed the priority" in agent_page and "Internal note A" in agent_page


# --- topics the portal may not use --------------------------------------------------------------


def topic_misuse_problems(client, desk, change) -> list[str]:
    """A help topic made private or inactive, then used from the portal by its id."""
    topic = desk.topics["Billing question"]
    setattr(topic, "public" if change == "private" else "active", False)
    db.session.commit()
    problems = []
    response = client.post("/new", data={
        "name": "Eve", "email": "eve@example.net", "topic": str(topic.id), "subject": "Hi", "description": "x",
        "idempotency_key": "p" * 20})
    refused = "Choose one of the help topics in the list." in response.get_data(as_text=True)
    if response.status_code != 400 or not refused:
        problems.append(f"a ticket form with the {change} topic got {response.status_code}")
    if db.session.scalar(select(func.count(Ticket.id))) != 0:
        problems.append(f"a ticket was opened with the {change} topic")
    if topic.name in client.get("/new").get_data(as_text=True):
        problems.append(f"the form offers the {change} topic")
    fields = client.get(f"/new/topic-fields?topic={topic.id}", headers={"HX-Request": "true"})
    if topic.name in fields.get_data(as_text=True):
        problems.append(f"the topic fields show the {change} topic")
    return problems


@pytest.mark.parametrize("change", ["private", "inactive"])
def test_private_or_inactive_topic_cannot_be_used_by_id(client, desk, change):
    assert topic_misuse_problems(client, desk, change) == []


def disabled_agent_problems(client, desk, login) -> list[str]:
    """An agent disabled while signed in: the open session ends and signing in again fails."""
    login(desk.tech)
    assert client.get("/agent/").status_code == 200
    desk.tech.active = False
    db.session.commit()
    problems = []
    if client.get("/agent/").status_code != 302:
        problems.append("the open session of a disabled agent still works")
    client.post("/logout")
    response = client.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    if response.status_code != 401 or WRONG_SIGN_IN not in response.get_data(as_text=True):
        problems.append(f"a disabled agent signing in got {response.status_code}")
    return problems


WRONG_SIGN_IN = "Wrong email or password, or the account is disabled."


def test_disabled_agent_cannot_sign_in_and_loses_open_sessions(client, desk, login):
    assert disabled_agent_problems(client, desk, login) == []


# --- CSRF on every state-changing route ----------------------------------------------------------


# State-changing routes that do not take the session's CSRF token must be named here, with the
# reason (e.g. an API authenticated by a bearer token, where no cookie is involved).
CSRF_EXEMPT: dict[str, str] = {
    "api.create_ticket": "API: authenticated by its Authorization header (an API key), never by a cookie",
    "api.add_message": "API: authenticated by its Authorization header (an API key), never by a cookie",
    "api.access_link": "API: authenticated by its Authorization header (an API key), never by a cookie",
}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _fill(rule, world) -> str:
    values = {"token": world["A"]["link"], "number": world["A"]["number"], "attachment_id": world["A"]["file"]}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values.get(m.group(1), 1)), rule.rule)


def csrf_failures(csrf_app, desk, world, endpoints=None) -> list[str]:
    """Every state-changing route of the app's URL map (or those of `endpoints`), posted by a
    signed-in admin with no token, a wrong token and a wrong htmx header: each that was not
    refused with 400, and whether anything changed."""
    client = csrf_app.test_client()
    agent = desk.admin
    with client:
        # Signed in properly (with the token), so a refusal is about CSRF, not about the session.
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email],
                                           "csrf_token": token.group(1) if token else ""}).status_code == 302

    def counts():
        db.session.expire_all()
        return [db.session.scalar(select(func.count(m.id))) for m in (Event, OutboxMail, ThreadEntry, Ticket)]

    before = counts()
    rules = [r for r in csrf_app.url_map.iter_rules() if r.methods & STATE_CHANGING and r.endpoint not in CSRF_EXEMPT
             and (endpoints is None or r.endpoint in endpoints)]
    failures = []
    for rule in rules:
        url = _fill(rule, world)
        for method in sorted(rule.methods & STATE_CHANGING):
            for headers in ({}, {"HX-Request": "true"}, {"HX-Request": "true", "X-CSRFToken": "forged"}):
                response = client.open(url, method=method, data={"body": "forged", "email": "x@example.net"},
                                       headers=headers)
                if (response.status_code != 400
                        or "Your session expired or the form was sent twice" not in response.get_data(as_text=True)):
                    failures.append(f"{method} {rule.rule} {headers}: {response.status_code}")
    if counts() != before:
        failures.append(f"refused requests changed something: {before} -> {counts()}")
    # The session still works: a refusal is not a sign-out.
    if client.get("/agent/").status_code != 200:
        failures.append("a refused request signed the agent out")
    return failures


def test_every_state_changing_route_refuses_a_request_without_token(csrf_app, desk, world):
    """Every POST route of the app, found in its URL map: no token, a wrong token, a wrong
    htmx header: all refused with 400, and nothing changes."""
    rules = [r for r in csrf_app.url_map.iter_rules() if r.methods & STATE_CHANGING and r.endpoint not in CSRF_EXEMPT]
    assert len(rules) >= 25
    failures = csrf_failures(csrf_app, desk, world)
    assert not failures, "\n".join(failures)


# --- redirects after sign-in ------------------------------------------------------------------


def _local(location: str) -> bool:
    """Where a browser would go: control characters dropped, backslashes read as slashes."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    return cleaned.startswith("/") and not cleaned.startswith("//")


def check_next_is_local(client, desk, target: str) -> None:
    """Signing in with ?next=target sends the browser to a path on this desk."""
    client.post("/logout")
    response = client.post("/login", query_string={"next": target},
                           data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    assert response.status_code == 302
    assert _local(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_next_only_goes_to_local_paths(client, desk, target):
    check_next_is_local(client, desk, target)


def test_next_keeps_a_local_path(client, desk):
    response = client.post("/login", query_string={"next": "/agent/queue/closed?sort=due"},
                           data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    assert response.headers["Location"] == "/agent/queue/closed?sort=due"


# --- the queue's query string -------------------------------------------------------------------


HOSTILE_PARAMS = [
    "1; DROP TABLE ticket", "status desc", "id); --", "' OR 1=1 --", "subject", "customer.email", "urgency,id",
    "-1", "99999999999999999999", "%00", "\x00", "${7*7}", "<script>", "../../etc/passwd", "None", "[]", "{}",
    "²", "1¹", "٣",  # digits to str.isdigit(), not to int() (or another number to it)
]


# What the queue says about a value it does not know (the value itself is never used).
REFUSED = {"sort": "That sort order is not available", "dir": "The sort direction was not understood",
           "department": "Unknown department filter ignored.", "topic": "Unknown help topic filter ignored.",
           "priority": "Unknown priority filter ignored.", "assignee": "Unknown assignee filter ignored."}


QUEUE_PARAMETERS = ("sort", "dir", "page", "department", "topic", "priority", "assignee", "q")


def queue_parameter_problems(client, value: str, names=QUEUE_PARAMETERS) -> list[str]:
    """Each queue parameter set to `value`: the page answers, says it ignored an unknown sort
    or filter, and the database is as it was. (Signed in; one ticket on the desk.)"""
    problems = []
    ok = (400,) if "\x00" in value else (200, 308)  # NUL bytes are refused outright
    for name in names:
        for url, headers in (("/agent/queue/open", {}), ("/agent/", {"HX-Request": "true"})):
            try:
                response = client.get(url, query_string={name: value}, headers=headers)
            except Exception as exc:  # noqa: BLE001 - a value that reaches the SQL is a finding
                db.session.rollback()
                problems.append(f"{name}={value!r} on {url}: {type(exc).__name__}")
                continue
            code = response.status_code
            if code not in ok or (headers and code == 308):
                problems.append(f"{name}={value!r} on {url}: {code}")
            elif code == 200 and name in REFUSED and REFUSED[name] not in response.get_data(as_text=True):
                problems.append(f"{name}={value!r} on {url}: taken without a word")
    db.session.rollback()
    if db.session.scalar(select(func.count(Ticket.id))) != 1:
        problems.append("the ticket table changed")
    return problems


@pytest.mark.parametrize("value", HOSTILE_PARAMS)
def test_queue_parameters_are_allowlisted(client, desk, login, make_ticket, value):
    make_ticket(subject="Printer on fire")
    login(desk.admin)
    assert queue_parameter_problems(client, value) == []


def test_an_id_beyond_the_columns_range_is_no_page(client, desk, world):
    """Every route of the table with an id in its URL, asked with an id no 32-bit column holds:
    404 (the URL matches no page), never the database's refusal as a 500."""
    _sign_in(client, desk, "admin")
    checked = []
    for route in ROUTES:
        names = {name for name in re.findall(r"\{([a-z_]+)\}", route.url) if isinstance(world["A"].get(name), int)}
        if not names:
            continue
        values = _placeholders(world, "admin", "A")
        for huge in (2**31, 2**63, 10**30):
            values.update({name: huge for name in names})
            response = client.open(route.url.format(**values), method=route.method, data=route.data or {})
            assert response.status_code == 404, f"{route.method} {route.url} with {huge}: {response.status_code}"
        checked.append(route.url)
    assert len(checked) >= 15  # files, admin rows, holidays, keys, mailboxes, collaborators, ...
