"""mail in: how a thread entry reached the desk (by mail); IMAP mailbox passwords encrypted at rest

Revision ID: 20261130_mailin_agents_secrets
Revises: 20261129_mail_templates
Create Date: 2026-11-30 06:00:00

mailbox.password (clear) becomes mailbox.password_encrypted: each stored password is encrypted
with Fernet, its key derived with HKDF-SHA256 from HELPDESK_ENCRYPTION_KEY, else SECRET_KEY (the
app's configuration, as `flask db upgrade` loads it), exactly as helpdesk/crypto.py does. The
downgrade decrypts them again.
"""
import base64
import logging
import os

from alembic import op
import sqlalchemy as sa

revision = "20261130_mailin_agents_secrets"
down_revision = "20261129_mail_templates"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# Frozen copy of helpdesk/crypto.py's derivation (v1): what this revision stores, the app reads.
HKDF_INFO = b"helpdesk: stored secrets v1"
NO_KEY = ("Cannot encrypt the IMAP mailbox passwords: neither HELPDESK_ENCRYPTION_KEY nor SECRET_KEY is set. "
          "Set the one the desk runs with (the same environment as the app, or keep instance/secret_key in "
          "place) and run `flask db upgrade` again. Nothing was changed.")


def _secret() -> str:
    try:
        from flask import current_app

        config = current_app.config
        secret = config.get("HELPDESK_ENCRYPTION_KEY") or config.get("SECRET_KEY")
    except RuntimeError:  # run outside the app: the environment only
        secret = None
    return secret or os.environ.get("HELPDESK_ENCRYPTION_KEY") or os.environ.get("SECRET_KEY") or ""


def _fernet():
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    secret = _secret()
    if not secret:
        raise RuntimeError(NO_KEY)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def _mailbox():
    return sa.table("mailbox", sa.column("id", sa.Integer), sa.column("password", sa.Text),
                    sa.column("password_encrypted", sa.Text), sa.column("last_error", sa.String))


def upgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, password FROM mailbox")).all()
    fernet = _fernet() if any(password for _, password in rows) else None  # before changing anything

    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via", sa.String(length=16), nullable=True))

    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.alter_column("password", new_column_name="password_encrypted", type_=sa.Text(),
                              existing_type=sa.String(length=255), existing_nullable=False)
    box = _mailbox()
    for box_id, password in rows:
        if password:
            token = fernet.encrypt(password.encode("utf-8")).decode("ascii")
            bind.execute(box.update().where(box.c.id == box_id).values(password_encrypted=token))


def downgrade():
    from cryptography.fernet import InvalidToken

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, password_encrypted FROM mailbox")).all()
    fernet = _fernet() if any(token for _, token in rows) else None
    clear = {}
    for box_id, token in rows:
        if not token:
            continue
        try:
            clear[box_id] = fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError, UnicodeError):
            # Encrypted under another key: the admin must enter it again.
            log.warning("mailbox %s: the password could not be decrypted and is left empty; enter it again", box_id)
            clear[box_id] = ""
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.alter_column("password_encrypted", new_column_name="password", type_=sa.String(length=255),
                              existing_type=sa.Text(), existing_nullable=False)
    box = _mailbox()
    for box_id, password in clear.items():
        bind.execute(box.update().where(box.c.id == box_id).values(password=password, last_error=(
            None if password else "The password could not be decrypted: enter it again.")))

    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.drop_column("via")
