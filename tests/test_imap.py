"""Fetching mail from a real IMAP server: a private Dovecot on 127.0.0.1, with its own config,
users and maildirs in a temporary folder. New mail becomes tickets, replies land in threads, the
mailbox's action is applied, and every message is taken exactly once, also with two fetchers at once."""
from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import make_mailbox
from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.mailin import imap as imapfetch
from helpdesk.models import Mailbox, OutboxMail, ProcessedMail, ThreadEntry, Ticket
from regex_cost import HOSTILE_BODIES, cpu_budget, hostile_mail
from support.db import at_once
from support.net import free_port
from support.rows import count

DOVECOT = "/usr/sbin/dovecot"
MAIL = Path(__file__).parent / "mail"
PASSWORD = "imap-secret-1"

pytestmark = pytest.mark.skipif(
    not os.path.exists(DOVECOT),
    reason="IMAP tests need Dovecot: apt-get install dovecot-imapd (.ci/run installs it)",
)

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = helpdesk-test-{port}
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{dir}/mail/%u
mail_uid = {user}
mail_gid = {group}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={dir}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture(scope="module")
def imap_server():
    """A private Dovecot instance (plaintext login on localhost only), stopped after the module."""
    if os.geteuid() != 0:
        pytest.skip("the private Dovecot instance is started as root (it drops to nobody)")
    # Not under pytest's own temporary folder: that one is private to root, and Dovecot's
    # unprivileged processes must reach the password file and the maildirs.
    base = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    os.chmod(base, 0o755)
    for sub in ("run", "state", "mail"):
        (base / sub).mkdir()
    user = pwd.getpwnam("nobody")
    shutil.chown(base / "mail", user.pw_uid, user.pw_gid)
    (base / "passwd").write_text(f"desk:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    conf = base / "dovecot.conf"
    import grp
    conf.write_text(CONFIG.format(dir=base, port=port, user=user.pw_name, group=grp.getgrgid(user.pw_gid).gr_name))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
                pytest.fail(f"Dovecot did not start: {proc.stdout.read().decode()} {log}")
            time.sleep(0.05)
    yield {"host": "127.0.0.1", "port": port, "user": "desk", "password": PASSWORD}
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(base, ignore_errors=True)


class Imap:
    """A client of the test server, for putting mail in and looking at what is left."""

    def __init__(self, server):
        self.conn = imaplib.IMAP4(server["host"], server["port"])
        self.conn.login(server["user"], server["password"])

    def reset(self):
        for folder in ("INBOX", "Done"):
            typ, data = self.conn.select(folder)
            if typ == "OK" and int(data[0]) > 0:
                self.conn.store("1:*", "+FLAGS", "(\\Deleted)")
                self.conn.expunge()
        if self.conn.select("Done")[0] != "OK":
            self.conn.create("Done")

    def append(self, raw: bytes, folder: str = "INBOX"):
        typ, _ = self.conn.append(folder, None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        assert typ == "OK"

    def search(self, criteria: str, folder: str = "INBOX") -> list[bytes]:
        self.conn.select(folder)
        return self.conn.uid("SEARCH", None, criteria)[1][0].split()

    def close(self):
        self.conn.logout()


@pytest.fixture
def imap(imap_server):
    client = Imap(imap_server)
    client.reset()
    yield client
    client.close()


@pytest.fixture
def mailbox(desk, imap_server):
    return make_mailbox(host=imap_server["host"], port=imap_server["port"], security="none", password=PASSWORD,
                        folder="INBOX", action="seen")


def test_fetch_opens_tickets_marks_read_and_threads_replies(imap, mailbox, desk, inbox, app):
    imap.append((MAIL / "plain.eml").read_bytes())
    imap.append((MAIL / "multipart_attachments.eml").read_bytes())
    imap.append((MAIL / "auto_reply.eml").read_bytes())
    imap.append((MAIL / "broken.eml").read_bytes())
    [r] = imapfetch.fetch_all()
    assert r.error is None and r.outcomes == {"created": 2, "ignored": 1, "failed": 1}
    assert imap.search("UNSEEN") == []  # all four marked read, the unreadable one too (it is kept raw)
    alice = db.session.scalar(select(Ticket).join(Ticket.customer).where(Ticket.subject.like("Printer%")))
    assert alice.source == "email" and alice.department.name == "Support"
    # Tom replies; Alice answers that mail: the answer is fetched into her ticket
    tickets.reply(desk.tech, alice, "Please restart the printer and try again.")
    inbox.deliver()
    outgoing = db.session.scalar(select(OutboxMail).where(OutboxMail.ticket_id == alice.id, OutboxMail.event == "reply"))
    raw = (MAIL / "reply_header.eml").read_bytes().replace(b"{IN_REPLY_TO}", outgoing.message_id.encode())
    imap.append(raw)
    [r] = imapfetch.fetch_all()
    assert r.outcomes == {"replied": 1}
    last = db.session.scalars(select(ThreadEntry).where(ThreadEntry.ticket_id == alice.id)
                              .order_by(ThreadEntry.id.desc())).first()
    assert last.body == "It works again after the restart, thank you!"
    # nothing new: nothing taken again
    assert imapfetch.fetch_all()[0].outcomes == {}
    assert count(Ticket) == 2
    box = db.session.get(Mailbox, mailbox.id)
    assert box.last_fetch_at is not None and box.last_error is None


def test_move_and_delete_actions(imap, mailbox):
    mailbox.action, mailbox.move_to = "move", "Done"
    db.session.commit()
    imap.append((MAIL / "plain.eml").read_bytes())
    assert imapfetch.fetch_all()[0].outcomes == {"created": 1}
    assert imap.search("ALL") == [] and len(imap.search("ALL", folder="Done")) == 1
    mailbox.action = "delete"
    db.session.commit()
    imap.append((MAIL / "html.eml").read_bytes())
    assert imapfetch.fetch_all()[0].outcomes == {"created": 1}
    assert imap.search("ALL") == []
    assert count(Ticket) == 2


def test_a_fetcher_stopped_mid_way_takes_nothing_twice(imap, mailbox, monkeypatch):
    """The ticket was committed but the fetcher died before marking the mail read: the next
    round only marks it read."""
    imap.append((MAIL / "plain.eml").read_bytes())
    monkeypatch.setattr(imapfetch, "_done_with", lambda *a: (_ for _ in ()).throw(OSError("killed")))
    [r] = imapfetch.fetch_all()
    assert r.error and count(Ticket) == 1 and len(imap.search("UNSEEN")) == 1
    monkeypatch.undo()
    assert imapfetch.fetch_all()[0].outcomes == {"duplicate": 1}
    assert count(Ticket) == 1 and imap.search("UNSEEN") == []


def test_a_wrong_password_is_reported_on_the_mailbox(imap, mailbox, client, login, desk):
    mailbox.password = "wrong"
    db.session.commit()
    [r] = imapfetch.fetch_all()
    assert r.error and count(Ticket) == 0
    login(desk.admin)
    page = client.get("/admin/mailboxes").get_data(as_text=True)
    # the desk's own words, never the server's
    assert "Support inbox" in page and imapfetch.SIGN_IN_REFUSED in page
    assert "AUTHENTICATIONFAILED" not in page and "Authentication failed" not in page


def test_after_the_secret_key_changed_the_password_is_entered_again(imap, mailbox, app, client, login, desk):
    assert PASSWORD not in db.session.get(Mailbox, mailbox.id).password_encrypted  # stored encrypted
    imap.append((MAIL / "plain.eml").read_bytes())
    app.config["SECRET_KEY"] = "a-new-secret-key"
    [r] = imapfetch.fetch_all()
    assert "password could not be decrypted" in r.error and "enter it again" in r.error
    assert count(Ticket) == 0 and len(imap.search("UNSEEN")) == 1  # the mail waits in the mailbox
    login(desk.admin)
    page = client.get(f"/admin/mailboxes/{mailbox.id}").get_data(as_text=True)
    assert "password could not be decrypted" in page and PASSWORD not in page
    response = client.post(f"/admin/mailboxes/{mailbox.id}", data={
        "name": "Support inbox", "department": desk.departments["Support"].id, "topic": 0, "host": mailbox.host,
        "port": mailbox.port, "security": "none", "username": "desk", "password": PASSWORD, "folder": "INBOX",
        "action": "seen", "active": "y"})
    assert response.status_code == 302
    [r] = imapfetch.fetch_all()
    assert r.error is None and r.outcomes == {"created": 1} and imap.search("UNSEEN") == []
    assert db.session.get(Mailbox, mailbox.id).last_error is None


def test_megabyte_sized_hostile_mail_is_fetched_in_linear_time(imap, mailbox):
    """Every hostile mail of 1.2 MB (HTML and plain, built on the worst cases of the patterns that
    once made intake quadratic) is fetched in one run, each with little CPU."""
    for name in HOSTILE_BODIES:
        imap.append(hostile_mail(name))
    start = time.process_time()
    with cpu_budget(120):  # generous: only a run that would take many minutes is stopped
        [r] = imapfetch.fetch_all()
    assert time.process_time() - start < 120
    assert r.error is None and r.outcomes == {"created": len(HOSTILE_BODIES)}
    for ticket in db.session.scalars(select(Ticket)):
        assert ticket.subject.startswith("Hostile ") and len(ticket.entries[0].body) <= tickets.BODY_MAX


def test_flask_mail_fetch_command(imap, mailbox, app):
    imap.append((MAIL / "latin1.eml").read_bytes())
    result = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 0 and "Support inbox: 1 created" in result.output


@pytest.mark.skipif(not os.environ.get("HELPDESK_TEST_POSTGRES"),
                    reason="two fetchers at once need a database with concurrent writers (PostgreSQL)")
def test_two_fetchers_at_once_take_each_mail_exactly_once(imap, mailbox, app):
    n = 12
    for i in range(n):
        raw = (MAIL / "plain.eml").read_bytes().replace(b"plain-1@", f"conc-{i}@".encode())
        imap.append(raw.replace(b"Subject: Printer", f"Subject: {i} Printer".encode()))
    runs, errors = at_once(app, imapfetch.fetch_all)
    results = [r for run in runs for r in run]  # one result per mailbox and fetcher
    assert not errors and all(r.error is None for r in results)
    assert count(Ticket) == n
    assert db.session.scalar(select(func.count(ProcessedMail.id)).where(ProcessedMail.outcome == "created")) == n
    assert sum(r.outcomes.get("created", 0) for r in results) == n
    print("two fetchers:", [r.outcomes for r in results])
    assert imap.search("UNSEEN") == []
