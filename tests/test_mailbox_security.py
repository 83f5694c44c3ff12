"""A mailbox's stored password goes only where the admin who typed it meant: a changed server,
port, security or user name asks for it again; "no TLS" to another machine needs an explicit,
audited choice, checked again by the fetcher; and a failed round shows the desk's own words,
never what the remote server said. The servers here are real sockets on 127.0.0.1 that record
every byte they receive."""
from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import select

from factories import make_mailbox
from helpdesk.extensions import db
from helpdesk.mailin import imap as imapfetch
from helpdesk.models import AuditEntry, Mailbox
from support.net import free_port

PASSWORD = "stored-Imap-secret-5"
REMOTE_WORDS = "remote-words-from-the-server"  # anything the fake servers say beyond the protocol


class RecordingServer:
    """A TCP server on 127.0.0.1 that answers like a (refusing) IMAP server, or sends a banner of
    another service, or nothing at all; it keeps every byte it receives."""

    def __init__(self, greeting: bytes | None = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n",
                 login_ok: bool = False):
        self.greeting, self.login_ok = greeting, login_ok
        self.received = bytearray()
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        """One client's conversation; it ends when the client hangs up, whenever that is (a client
        that gives up may close the socket before reading our answer: its send then fails)."""
        with conn:
            try:
                self._converse(conn)
            except OSError:
                return

    def _converse(self, conn):
        if self.greeting is None:  # says nothing: the client times out
            self.stopped.wait(30)
            return
        conn.sendall(self.greeting)
        buffer = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            self.received += data
            buffer += data
            while b"\r\n" in buffer:
                line, buffer = buffer.split(b"\r\n", 1)
                tag, _, rest = line.partition(b" ")
                command = rest.split(b" ")[0].upper()
                if command == b"CAPABILITY":
                    reply = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
                elif command == b"LOGIN":
                    reply = tag + (b" OK signed in\r\n" if self.login_ok else
                                   b" NO [AUTHENTICATIONFAILED] " + REMOTE_WORDS.encode() + b"\r\n")
                elif command == b"SELECT":
                    reply = tag + b" NO [NONEXISTENT] " + REMOTE_WORDS.encode() + b"\r\n"
                elif command == b"LOGOUT":
                    conn.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
                    return
                else:
                    reply = tag + b" BAD " + REMOTE_WORDS.encode() + b"\r\n"
                conn.sendall(reply)

    def stop(self):
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def servers():
    started = []

    def start(**kwargs):
        server = RecordingServer(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def form(desk, **values):
    data = {"name": "Support inbox", "department": desk.departments["Support"].id, "topic": 0, "host": "127.0.0.1",
            "port": 993, "security": "none", "username": "desk", "password": "", "folder": "INBOX",
            "action": "seen", "active": "y"}
    data.update(values)
    return data


def stored(box_id) -> Mailbox:
    db.session.expire_all()
    return db.session.get(Mailbox, box_id)


# --- a changed server or account asks for the password again -----------------------------------


def test_pointing_the_stored_password_elsewhere_asks_for_it_again(client, login, desk, servers):
    listener = servers()
    box = make_mailbox(port=free_port(), security="none", password=PASSWORD)
    before = (box.host, box.port, box.security, box.username)
    login(desk.admin)
    for change in ({"port": listener.port}, {"host": "127.0.0.2"}, {"security": "starttls"},
                   {"username": "someone-else"}, {"host": "192.0.2.10", "security": "ssl", "port": 993}):
        response = client.post(f"/admin/mailboxes/{box.id}", data=form(desk, **{"port": box.port, **change}))
        assert response.status_code == 400, change
        assert "Enter the password again: the server or account changed." in response.get_data(as_text=True)
        row = stored(box.id)
        assert (row.host, row.port, row.security, row.username) == before and row.login_password() == PASSWORD
    imapfetch.fetch_all()  # the stored settings: the closed port, nothing reaches the listener
    assert listener.connections == 0 and PASSWORD.encode() not in listener.received
    # other fields keep the stored password; with the password typed again, the move is saved
    assert client.post(f"/admin/mailboxes/{box.id}", data=form(desk, port=box.port, folder="Support")).status_code == 302
    assert stored(box.id).folder == "Support"
    assert client.post(f"/admin/mailboxes/{box.id}", data=form(desk, port=listener.port,
                                                                password="typed-Again-1")).status_code == 302
    assert stored(box.id).port == listener.port and stored(box.id).login_password() == "typed-Again-1"


# --- no TLS to another machine -------------------------------------------------------------------


def test_no_tls_to_another_machine_needs_the_explicit_audited_choice(client, login, desk):
    login(desk.admin)
    data = form(desk, host="imap.example.net", port=143, password=PASSWORD)
    response = client.post("/admin/mailboxes", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Without TLS the password would go to imap.example.net unencrypted." in page
    assert "Send the password unencrypted to this server" in page
    assert db.session.scalar(select(Mailbox.id)) is None
    assert client.post("/admin/mailboxes", data={**data, "allow_plaintext": "y"}).status_code == 302
    box = db.session.scalar(select(Mailbox))
    assert box.allow_plaintext and not box.plaintext_refused
    entries = {e.field: e.new for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "mailbox"))}
    assert entries["allow_plaintext"] == "yes" and entries["password"] == "set" and entries["created"] == "Support inbox"
    # this machine needs no choice; with TLS the choice is not kept
    assert client.post(f"/admin/mailboxes/{box.id}", data=form(desk, host="imap.example.net", port=993,
                                                                security="ssl", password=PASSWORD,
                                                                allow_plaintext="y")).status_code == 302
    assert not stored(box.id).allow_plaintext
    assert client.post(f"/admin/mailboxes/{box.id}", data=form(desk, host="localhost", port=143,
                                                                password=PASSWORD)).status_code == 302
    assert stored(box.id).security == "none" and not stored(box.id).allow_plaintext


def test_the_fetcher_never_sends_the_password_unencrypted_to_another_machine(desk, servers):
    """A mailbox stored before the choice existed (or written around the form): not connected to.
    "127.1" reaches the listener here, but is not written as a loopback address, so the desk
    treats it as any other machine."""
    listener = servers(login_ok=True)
    box = make_mailbox(host="127.1", port=listener.port, security="none", password=PASSWORD)
    [result] = imapfetch.fetch_all()
    assert result.error == imapfetch.PLAINTEXT_REFUSED.format(host="127.1")
    assert stored(box.id).last_error == result.error
    assert listener.connections == 0 and PASSWORD.encode() not in listener.received
    box = stored(box.id)
    box.allow_plaintext = True  # the admin's choice: now it connects and signs in
    db.session.commit()
    imapfetch.fetch_all()
    assert listener.connections == 1 and PASSWORD.encode() in listener.received


# --- the desk's own words, never the server's -------------------------------------------------


@pytest.mark.parametrize("server, values, message", [
    (None, {}, imapfetch.COULD_NOT_CONNECT),
    ({"greeting": f"SSH-2.0-OpenSSH_9.6 {REMOTE_WORDS}\r\n".encode()}, {}, imapfetch.COULD_NOT_CONNECT),
    ({"greeting": f"* BYE {REMOTE_WORDS}\r\n".encode()}, {}, imapfetch.COULD_NOT_CONNECT),
    ({}, {}, imapfetch.SIGN_IN_REFUSED),
    ({"login_ok": True}, {}, imapfetch.FOLDER_NOT_FOUND),
    ({}, {"security": "starttls"}, imapfetch.TLS_FAILED),  # the server offers no STARTTLS
    ({}, {"security": "ssl"}, imapfetch.TLS_FAILED),  # it speaks no TLS
    ({"greeting": None}, {}, imapfetch.TIMED_OUT),  # it says nothing
], ids=["closed port", "another service", "bye", "sign-in refused", "no folder", "no starttls", "no tls",
        "silent"])
def test_a_failed_round_shows_the_desks_own_words(app, client, login, desk, servers, server, values, message):
    # Only the silent server has to be waited out; the others get time to answer on a busy machine.
    app.config["HELPDESK_IMAP_TIMEOUT"] = 1 if message == imapfetch.TIMED_OUT else 20
    port = servers(**server).port if server is not None else free_port()
    box = make_mailbox(port=port, password=PASSWORD, **{"security": "none", **values})
    [result] = imapfetch.fetch_all()
    assert result.error == message and stored(box.id).last_error == message
    login(desk.admin)
    for page in (client.get("/admin/mailboxes"), client.get(f"/admin/mailboxes/{box.id}")):
        html = page.get_data(as_text=True)
        assert message.replace("'", "&#39;") in html and REMOTE_WORDS not in html and "SSH-2.0" not in html
    output = app.test_cli_runner().invoke(args=["mail", "fetch"]).output
    assert message in output and REMOTE_WORDS not in output
