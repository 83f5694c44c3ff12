"""The checks of issue 6's classes 7, 8, 9, 11 and 12, and of the mail and disk faults, each run
against a deliberately vulnerable variant of the desk: every check must fail there (and passes on
ours, in the test that owns it). A variant is a monkeypatch, undone after its test.

Class (issue 6) -> check (where it lives) -> variants here
 7 Mail: CR/LF      check_no_injected_headers (test_security_portal)
                      - names and subjects not made one line, and a sender that writes headers as text
                      - names and subjects not made one line (the mail then cannot be sent at all)
 7 Mail: one address check_email_field_takes_one_address (test_security_portal)
                      - the new-ticket form without its one-address rule; the status form likewise
 7 Mail: own address check_the_desk_never_mails_its_own_address (test_security_portal)
                      - notify queues mail to the desk's address; the sender sends it
 7 Mail: automatic  check_ignored (test_mailin)
                      - mail-in reads every message as a person's; one that forgets our own addresses
                    check_acknowledgements_are_rate_limited (test_mailin): acknowledges every mail
                    check_outgoing_mail_is_marked_auto_generated (test_security_portal): no Auto-Submitted
 8 Queries          search_problems (test_queues): the search formatted into text() SQL
                    queue_parameter_problems (test_security_access): sort taken as given into
                      ORDER BY; a department filter formatted into the WHERE clause
 9 Redirects        check_next_is_local (test_security_access): next= followed as given; only
                      checked for a leading slash
11 Headers          header_problems (test_security_headers): 'unsafe-inline' or 'unsafe-eval'
                      scripts; no or any frame-ancestors; no Referrer-Policy; HSTS over plain HTTP;
                      no HSTS over HTTPS; htmx allowed to eval, or left at its defaults
12 Public form      check_new_ticket_throttled_per_ip / _per_address (test_security_auth): the app
                      made without that rule; check_open_ticket_cap (test_security_auth): no cap;
                      check_honeypot (test_portal): the field's value dropped;
                      check_captcha_must_be_answered / check_a_solved_captcha_works_once
                      (test_security_portal): any solution accepted; a solved challenge reusable;
                      check_a_wrong_solution_uses_up_its_challenge: only a right solution spends one
Faults (reliability) check_smtp_down_then_back (test_outbox): a sender that gives up at the first
                      error; one that marks unsent mail sent; check_hanging_server: no socket timeout;
                      check_refused_recipient: a refusal ends the batch; a 5xx retried forever;
                      check_new_ticket_when_the_disk_is_full (test_fault_storage): files of a
                      refused ticket left behind; the part before the refusal committed
"""
from __future__ import annotations

import re
import secrets
import smtplib
import socket
import time

import altcha
import pytest
from flask_mail import Message
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import text
from wtforms import EmailField, StringField

from helpdesk import attachments, captcha, create_app, limits, mailin, notify, outbox, queues, security, tickets
from helpdesk.extensions import db
from helpdesk.portal.forms import NewTicketForm, StatusForm, one_email_address

from hostile import OPEN_REDIRECTS
from test_fault_storage import check_new_ticket_when_the_disk_is_full
from test_mailin import LOOP_HEADERS, check_acknowledgements_are_rate_limited, check_ignored, eml, loop_mail
from test_outbox import (
    check_hanging_server, check_refused_recipient, check_smtp_down_then_back, refusing_smtp, silent_smtp,  # noqa: F401
)
from test_portal import check_honeypot
from test_queues import search_desk, search_problems
from test_security_access import HOSTILE_PARAMS, check_next_is_local, queue_parameter_problems
from test_security_auth import (
    check_new_ticket_throttled_per_address, check_new_ticket_throttled_per_ip, check_open_ticket_cap,
    open_ticket_cap_race_problems,
)
from test_security_headers import header_problems
from test_security_portal import (
    INJECTED_NAME, INJECTED_SUBJECT, ONE_ADDRESS_PAYLOADS, OWN_ADDRESS, check_a_solved_captcha_works_once,
    check_a_wrong_solution_uses_up_its_challenge, check_captcha_must_be_answered,
    check_email_field_takes_one_address, check_no_injected_headers, check_outgoing_mail_is_marked_auto_generated,
    check_the_desk_never_mails_its_own_address, new_ticket,
)


def fails(check, *args, **kwargs) -> bool:
    """True when the check finds the hole (an AssertionError); any other error is the test's."""
    try:
        check(*args, **kwargs)
    except AssertionError:
        return True
    return False


# --- 7 Mail -----------------------------------------------------------------------------------


def _as_given(value, limit=None):
    """one_line's variant: CR/LF kept."""
    value = value or ""
    return value[:limit] if limit else value


class _TextMail(Message):
    """A mail whose headers are written as text, the way a hand-made mailer does it."""

    def has_bad_headers(self):
        return False

    def as_bytes(self):
        head = (f"From: {self.sender}\r\nTo: {', '.join(self.recipients)}\r\nSubject: {self.subject}\r\n"
                f"Message-ID: {self.msgId}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
        return (head + self.body).encode()


def _text_mail(row):
    msg = _TextMail(subject=row.subject, recipients=[row.recipient], body=row.body_text)
    msg.msgId = row.message_id
    return msg


def test_7_header_check_fails_when_line_breaks_reach_a_text_written_header(client, desk, inbox, monkeypatch):
    monkeypatch.setattr(tickets, "one_line", _as_given)
    monkeypatch.setattr(notify, "one_line", _as_given)
    monkeypatch.setattr(outbox, "_message", _text_mail)
    assert new_ticket(client, desk, name=INJECTED_NAME, subject=INJECTED_SUBJECT).status_code == 302
    with pytest.raises(AssertionError, match="Bcc|X-Injected"):
        check_no_injected_headers(inbox.deliver().messages)


def test_7_header_check_fails_when_line_breaks_reach_the_subject(client, desk, inbox, monkeypatch):
    """Flask-Mail refuses the subject: the mail is never delivered, which the check sees too."""
    monkeypatch.setattr(tickets, "one_line", _as_given)
    monkeypatch.setattr(notify, "one_line", _as_given)
    assert new_ticket(client, desk, name=INJECTED_NAME, subject=INJECTED_SUBJECT).status_code == 302
    assert fails(lambda: check_no_injected_headers(inbox.deliver().messages))


def _without_one_address(monkeypatch, form):
    field = form.email
    validators = [v for v in field.kwargs["validators"] if v is not one_email_address]
    monkeypatch.setattr(form, "email", EmailField(*field.args, **{**field.kwargs, "validators": validators}))


def test_7_one_address_check_fails_on_a_form_that_takes_a_list(client, desk, monkeypatch):
    for form in (NewTicketForm, StatusForm):
        with monkeypatch.context() as variant:
            _without_one_address(variant, form)
            missed = [email for email in ONE_ADDRESS_PAYLOADS
                      if not fails(check_email_field_takes_one_address, client, desk, email)]
        assert missed == [], form.__name__


@pytest.mark.parametrize("where", [notify, outbox], ids=["queued", "sent"])
def test_7_own_address_check_fails_when_the_desk_mails_itself(client, desk, inbox, app, monkeypatch, where):
    app.config["MAIL_DEFAULT_SENDER"] = f"Support Desk <{OWN_ADDRESS}>"
    monkeypatch.setattr(where, "is_own_address", lambda recipient: False)
    assert fails(check_the_desk_never_mails_its_own_address, client, desk, inbox)


def _unique(raw: bytes, n: int) -> bytes:
    return re.sub(rb"Message-ID: <[^>]+>", f"Message-ID: <variant-{n}@mail.example.net>".encode(), raw, count=1)


AUTOMATIC = [eml("auto_reply.eml"), eml("bounce.eml")] + [loop_mail(h) for h in LOOP_HEADERS]


def test_7_automatic_mail_check_fails_when_every_mail_is_taken_as_a_persons(desk, monkeypatch):
    monkeypatch.setattr(mailin, "automatic_reason", lambda raw, sender: None)
    missed = [n for n, raw in enumerate(AUTOMATIC) if not fails(check_ignored, _unique(raw, n))]
    assert missed == []


def test_7_automatic_mail_check_fails_when_our_own_addresses_are_forgotten(desk, monkeypatch):
    monkeypatch.setattr(mailin, "own_addresses", lambda: set())
    caught = [h for n, h in enumerate(LOOP_HEADERS) if fails(check_ignored, _unique(loop_mail(h), n))]
    assert caught == ["From: helpdesk@desk.test", "From: support@example.com"]


def test_7_acknowledgement_limit_check_fails_when_every_mail_is_acknowledged(desk, app, monkeypatch):
    monkeypatch.setattr(mailin, "_acknowledge", lambda sender: True)
    assert fails(check_acknowledgements_are_rate_limited, app)


def test_7_auto_generated_check_fails_on_unmarked_mail(client, desk, inbox, monkeypatch):
    real = outbox._message

    def unmarked(row):
        msg = real(row)
        msg.extra_headers = {}
        return msg

    monkeypatch.setattr(outbox, "_message", unmarked)
    assert fails(check_outgoing_mail_is_marked_auto_generated, client, desk, inbox)


# --- 8 Queries --------------------------------------------------------------------------------


def _formatted_search(q: str):
    q = q.lower()
    return text(f"(lower(ticket.subject) LIKE '%{q}%' OR lower(ticket.number) LIKE '%{q}%')")


def test_8_search_check_fails_when_the_search_is_formatted_into_sql(client, login, desk, make_ticket, monkeypatch):
    cases = search_desk(make_ticket)
    login(desk.manager)
    monkeypatch.setattr(queues, "_search", _formatted_search)
    found = {problem.split(":")[0] for problem in search_problems(client, cases)}
    assert {repr(q) for q in ("O'Brien", "' OR 1=1 --", "%' OR '%'='", "') OR ('1'='1")} <= found


def _taking(monkeypatch, name: str, message: str):
    """Params.parse that keeps `name` as it came, without a word."""
    real = queues.Params.parse.__func__

    def parse(cls, args, options):
        params = real(cls, args, options)
        if args.get(name):
            setattr(params, name, args[name])
            params.problems = [p for p in params.problems if message not in p]
        return params

    monkeypatch.setattr(queues.Params, "parse", classmethod(parse))


VALUES = [v for v in HOSTILE_PARAMS if "\x00" not in v]  # NUL bytes are refused before the queue


def test_8_parameter_check_fails_when_the_sort_goes_into_order_by(client, desk, login, make_ticket, monkeypatch):
    make_ticket(subject="Printer on fire")
    login(desk.admin)
    _taking(monkeypatch, "sort", "sort order")
    real = queues._order
    monkeypatch.setattr(queues, "_order", lambda p: [text(p.sort)] if p.sort not in queues.SORTS else real(p))
    missed = [v for v in VALUES if not queue_parameter_problems(client, v, names=("sort",))]
    assert missed == []


def test_8_parameter_check_fails_when_a_filter_is_formatted_into_sql(client, desk, login, make_ticket, monkeypatch):
    make_ticket(subject="Printer on fire")
    login(desk.admin)
    _taking(monkeypatch, "department", "department filter")
    real = queues._conditions

    def conditions(agent, queue, params, now):
        department, params.department = params.department, None
        found = real(agent, queue, params, now)
        params.department = department
        return found + ([text(f"ticket.department_id = {department}")] if department else [])

    monkeypatch.setattr(queues, "_conditions", conditions)
    missed = [v for v in VALUES if not queue_parameter_problems(client, v, names=("department",))]
    assert missed == []


# --- 9 Redirects ------------------------------------------------------------------------------


# Followed as given, these stay on the desk anyway (Werkzeug writes a backslash as %5C).
HARMLESS = ["/\\evil.com", "/%2F/evil.com", "/%5Cevil.com", "/.//evil.com"]


def test_9_redirect_check_fails_on_a_naive_next(client, desk, monkeypatch):
    from helpdesk import auth

    for variant, caught in (
        (lambda target, default: target or default,  # followed as given
         [t for t in OPEN_REDIRECTS if t not in HARMLESS]),
        (lambda target, default: target if (target or "").startswith("/") else default,  # a leading slash is enough
         ["//evil.com", "////evil.com", "/\t/evil.com", "//evil.com@desk.test"]),
    ):
        monkeypatch.setattr(auth, "safe_next", variant)
        assert [target for target in OPEN_REDIRECTS if fails(check_next_is_local, client, desk, target)] == caught


# --- 11 Headers -------------------------------------------------------------------------------


def _problems(client, **kw) -> str:
    return " | ".join(header_problems("start page", client.get("/"), **kw))


def _after_request(app, monkeypatch, change):
    """Swap the app's security-header hook for a variant that edits what ours set."""
    def variant(response):
        response = security.add_security_headers(response)
        change(response.headers)
        return response

    hooks = [variant if f is security.add_security_headers else f for f in app.after_request_funcs[None]]
    assert variant in hooks
    monkeypatch.setitem(app.after_request_funcs, None, hooks)


def _csp(monkeypatch, old, new):
    assert old in security.CSP
    monkeypatch.setattr(security, "CSP", security.CSP.replace(old, new))


def _htmx_config(app, monkeypatch, config):
    """base.html with another htmx config (no config at all: htmx's defaults)."""
    base = app.jinja_env.loader.get_source(app.jinja_env, "base.html")[0]
    changed = re.sub(r"<meta name=\"htmx-config\" content='[^']*'>", config, base)
    assert changed != base
    monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([DictLoader({"base.html": changed}),
                                                                app.jinja_env.loader]))


HEADER_VARIANTS = {
    "'unsafe-inline' scripts": (lambda app, m: _csp(m, "script-src 'self'", "script-src 'self' 'unsafe-inline'"),
                                "scripts not locked down"),
    "'unsafe-eval' scripts": (lambda app, m: _csp(m, "script-src 'self'", "script-src 'self' 'unsafe-eval'"),
                              "scripts not locked down"),
    "no frame-ancestors": (lambda app, m: _csp(m, "; frame-ancestors 'none'", ""), "can be framed"),
    "any frame-ancestors": (lambda app, m: _csp(m, "frame-ancestors 'none'", "frame-ancestors *"), "can be framed"),
    "no Referrer-Policy": (lambda app, m: _after_request(app, m, lambda h: h.pop("Referrer-Policy")),
                           "Referrer-Policy None"),
    "HSTS over plain HTTP": (lambda app, m: _after_request(
        app, m, lambda h: h.setdefault("Strict-Transport-Security", "max-age=60")), "HSTS over plain HTTP"),
    "htmx may eval": (lambda app, m: _htmx_config(app, m, """<meta name="htmx-config" content='{"allowEval": true,\
 "allowScriptTags": false, "includeIndicatorStyles": false}'>"""), "htmx not configured for the CSP"),
    "htmx defaults": (lambda app, m: _htmx_config(app, m, ""), "htmx not configured for the CSP"),
}


def test_11_header_check_fails_on_each_weaker_variant(client, app, desk, monkeypatch):
    assert _problems(client) == ""  # ours; each variant changes one thing of this page
    missed = []
    for name, (apply, problem) in HEADER_VARIANTS.items():
        with monkeypatch.context() as variant:
            apply(app, variant)
            if problem not in _problems(client):
                missed.append(name)
    assert missed == []
    assert _problems(client) == ""  # and ours again


def test_11_header_check_fails_without_hsts_over_https(app_config, app, desk, monkeypatch):
    secure = create_app({**app_config, "HELPDESK_BASE_URL": "https://desk.example.com"})
    _after_request(secure, monkeypatch, lambda headers: headers.pop("Strict-Transport-Security"))
    assert "no HSTS over HTTPS" in _problems(secure.test_client(), https=True)


# --- 12 Abuse of the public form --------------------------------------------------------------


@pytest.fixture
def limited_without(app_config, app, monkeypatch):
    """An app with rate limits on, made while limits.RULES lacks the rules `drop` matches."""
    contexts = []

    def make(drop):
        monkeypatch.setattr(limits, "RULES", [r for r in limits.RULES if not drop(r)])
        limited = create_app({**app_config, "RATELIMIT_ENABLED": True,
                              "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
        contexts.append(limited.app_context())
        contexts[-1].push()
        return limited

    yield make
    for context in reversed(contexts):
        db.session.remove()
        db.engine.dispose()
        context.pop()


def test_12_limit_checks_fail_without_their_rules(limited_without, desk):
    limited = limited_without(lambda r: r.endpoint == "portal.new_ticket" and r.scope == "ip")
    assert fails(check_new_ticket_throttled_per_ip, limited, desk)
    limited = limited_without(lambda r: r.endpoint == "portal.new_ticket" and r.scope == "email")
    assert fails(check_new_ticket_throttled_per_address, limited, desk)


def test_12_open_ticket_cap_check_fails_without_the_cap(client, desk, make_ticket, app, monkeypatch):
    monkeypatch.setattr(tickets, "_check_open_limit", lambda email: None)
    assert fails(check_open_ticket_cap, client, desk, make_ticket, app)


def test_12_open_ticket_cap_race_check_fails_without_the_customer_lock(desk, make_ticket, app, monkeypatch):
    from helpdesk.tickets import intake

    monkeypatch.setattr(intake, "_lock_customer", lambda customer: None)
    counted = tickets._check_open_limit

    def slow_count(email):  # every form counts before any inserts, as on a loaded server
        counted(email)
        time.sleep(0.3)

    monkeypatch.setattr(tickets, "_check_open_limit", slow_count)
    assert open_ticket_cap_race_problems(desk, make_ticket, app, known=True) != []


def test_12_honeypot_check_fails_when_the_field_is_not_read(client, desk, monkeypatch):
    monkeypatch.setattr(NewTicketForm, "website", StringField("Leave this field empty", filters=[lambda v: None]))
    assert fails(check_honeypot, client, desk)


def test_12_captcha_check_fails_when_any_answer_passes_or_an_answer_is_reused(client, desk, app, monkeypatch):
    app.config["HELPDESK_CAPTCHA"] = True
    with monkeypatch.context() as variant:
        variant.setattr(captcha, "solved", lambda payload: True)
        assert fails(check_captcha_must_be_answered, client, desk)
    with monkeypatch.context() as variant:
        variant.setattr(limits, "first_use", lambda kind, token, ttl: True)
        assert fails(check_a_solved_captcha_works_once, client, desk)
    with monkeypatch.context() as variant:  # the arithmetic CAPTCHA's flaw: a wrong answer spent nothing
        real = limits.first_use
        variant.setattr(captcha, "solved", lambda payload: bool(
            altcha.verify_solution(payload, captcha._key("challenge")).verified) and real(
                "captcha", altcha.Payload.from_base64(payload).challenge.signature, captcha.MAX_AGE))
        assert fails(check_a_wrong_solution_uses_up_its_challenge, client, desk)


# --- faults: mail and disk --------------------------------------------------------------------


def test_fault_smtp_down_check_fails_when_the_sender_gives_up_at_once(app, make_ticket, inbox, smtp_server,
                                                                     monkeypatch):
    monkeypatch.setattr(outbox, "_permanent", lambda error: True)
    assert fails(check_smtp_down_then_back, app, make_ticket, inbox, smtp_server)


def test_fault_smtp_down_check_fails_when_unsent_mail_is_marked_sent(app, make_ticket, inbox, smtp_server,
                                                                    monkeypatch):
    real = outbox._finish
    monkeypatch.setattr(outbox, "_finish", lambda row, error: real(row, None))
    assert fails(check_smtp_down_then_back, app, make_ticket, inbox, smtp_server)


def test_fault_hanging_check_fails_without_a_socket_timeout(app, make_ticket, inbox, silent_smtp, smtp_server,
                                                           monkeypatch):
    def configure_host(self):  # Flask-Mail's own way: no timeout
        return smtplib.SMTP(self.mail.server, self.mail.port)

    monkeypatch.setattr(outbox._TimeoutConnection, "configure_host", configure_host)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(2)  # so the variant ends: without it the sender would wait for ever
    try:
        started = time.monotonic()
        assert fails(check_hanging_server, app, make_ticket, inbox, silent_smtp, smtp_server, timeout=0.3, budget=1)
        assert time.monotonic() - started >= 1
    finally:
        socket.setdefaulttimeout(previous)


@pytest.mark.parametrize("name, variant", [
    ("_connection_lost", lambda error: True),
    ("_permanent", lambda error: False),
], ids=["a refusal ends the batch", "a 5xx is tried again and again"])
def test_fault_refused_recipient_check_fails(app, make_ticket, refusing_smtp, monkeypatch, name, variant):
    monkeypatch.setattr(outbox, name, variant)
    assert fails(check_refused_recipient, make_ticket, refusing_smtp)


def test_fault_disk_check_fails_when_files_of_a_refused_ticket_stay(client, desk, app, inbox, monkeypatch):
    monkeypatch.setattr(attachments, "discard", lambda keys: None)
    assert fails(check_new_ticket_when_the_disk_is_full, client, desk, app, inbox)


def test_fault_disk_check_fails_when_half_a_ticket_is_kept(client, desk, app, inbox, monkeypatch):
    real = tickets._Unit.__exit__

    def keep_what_was_written(self, exc_type, exc, tb):
        if isinstance(exc, OSError):
            db.session.commit()
            raise tickets.LifecycleError("The attachment could not be saved. Nothing was changed; please try again.")
        return real(self, exc_type, exc, tb)

    monkeypatch.setattr(tickets._Unit, "__exit__", keep_what_was_written)
    assert fails(check_new_ticket_when_the_disk_is_full, client, desk, app, inbox)
