"""Secrets the desk must read back in clear (IMAP mailbox passwords), encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256, from the `cryptography` package). The key is derived with
HKDF-SHA256 from HELPDESK_ENCRYPTION_KEY when it is set, else from the app's SECRET_KEY. When
that secret changes, what was stored before cannot be decrypted any more (Undecryptable): the
admin enters the password again. migrations/versions/20261130_mailin_agents_secrets.py derives
the same key to encrypt the passwords stored before.
"""
from __future__ import annotations

import base64
from functools import lru_cache

from flask import current_app

# `cryptography` (about 7 MiB) is imported where a secret is encrypted or decrypted: a web worker
# that never opens Admin -> Mailboxes never loads it.

HKDF_INFO = b"helpdesk: stored secrets v1"


class Undecryptable(Exception):
    """A stored secret that the current key cannot decrypt (the key changed, or it was tampered with)."""


def key_secret(config) -> str:
    """The secret the key is derived from: HELPDESK_ENCRYPTION_KEY, else SECRET_KEY."""
    return config.get("HELPDESK_ENCRYPTION_KEY") or config.get("SECRET_KEY") or ""


@lru_cache(maxsize=8)
def derive_key(secret: str) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) from any secret string."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


def _fernet():
    from cryptography.fernet import Fernet

    secret = key_secret(current_app.config)
    if not secret:
        raise RuntimeError("Set SECRET_KEY (or HELPDESK_ENCRYPTION_KEY): stored passwords are encrypted with it.")
    return Fernet(derive_key(secret))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError):
        raise Undecryptable("The password could not be decrypted; enter it again.") from None
