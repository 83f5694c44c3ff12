"""Ports on 127.0.0.1 for the servers the tests start (SMTP, IMAP, PostgreSQL)."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on (yet): bound once by the system's choice, then let go."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
