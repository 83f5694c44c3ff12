"""A throwaway PostgreSQL database next to the one HELPDESK_TEST_POSTGRES names."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("HELPDESK_TEST_POSTGRES")  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test


@contextmanager
def scratch_postgres(prefix: str):
    """Create an empty database, yield its URL, and drop it again (ending its connections)."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        # A commit need not wait for the disk: a scratch database outlives no crash.
        yield f"{base}/{name}?options=-c%20synchronous_commit%3Doff"
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
