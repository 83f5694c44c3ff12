"""Configuration read from environment variables, with safe defaults."""
import os
import secrets
from pathlib import Path


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value, default):
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def from_environment(instance_path: str) -> dict:
    """Build the app's configuration from the process environment."""
    inst = Path(instance_path)
    env = os.environ.get
    db_url = env("HELPDESK_DATABASE_URL") or f"sqlite:///{inst / 'helpdesk.db'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgres://"):]
    elif db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    base_url = (env("HELPDESK_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return {
        "SECRET_KEY": _secret_key(inst),
        # Optional: the secret stored passwords (IMAP mailboxes) are encrypted with; else SECRET_KEY.
        "HELPDESK_ENCRYPTION_KEY": env("HELPDESK_ENCRYPTION_KEY") or "",
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "HELPDESK_BASE_URL": base_url,
        "HELPDESK_NAME": env("HELPDESK_NAME") or "Helpdesk",
        "HELPDESK_TIMEZONE": env("HELPDESK_TIMEZONE") or "UTC",
        "HELPDESK_UPLOAD_DIR": env("HELPDESK_UPLOAD_DIR") or str(inst / "attachments"),
        "HELPDESK_MAX_ATTACHMENT_MB": _int(env("HELPDESK_MAX_ATTACHMENT_MB"), 10),
        "HELPDESK_MAX_ATTACHMENTS": _int(env("HELPDESK_MAX_ATTACHMENTS"), 5),
        "HELPDESK_REOPEN_DAYS": _int(env("HELPDESK_REOPEN_DAYS"), 14),
        # The days of the auto-close time rule when the database is set up (0: it starts switched off).
        "HELPDESK_AUTO_CLOSE_DAYS": _int(env("HELPDESK_AUTO_CLOSE_DAYS"), 0),
        "HELPDESK_LIVE_SECONDS": max(1, _int(env("HELPDESK_LIVE_SECONDS"), 3)),
        # The ticket page's presence heartbeat; a presence lasts three beats (see helpdesk/live.py).
        "HELPDESK_PRESENCE_SECONDS": max(1, _int(env("HELPDESK_PRESENCE_SECONDS"), 4)),
        "HELPDESK_ACCESS_LINK_DAYS": _int(env("HELPDESK_ACCESS_LINK_DAYS"), 90),
        "HELPDESK_BACKGROUND_SENDER": _bool(env("HELPDESK_BACKGROUND_SENDER")),
        "HELPDESK_SLA_CHECK_SECONDS": max(_int(env("HELPDESK_SLA_CHECK_SECONDS"), 60), 1),
        "HELPDESK_REPORT_EXACT_UP_TO": max(_int(env("HELPDESK_REPORT_EXACT_UP_TO"), 20000), 0),
        "HELPDESK_DEV_MAILBOX": env("HELPDESK_DEV_MAILBOX") or "",
        "HELPDESK_MAIL_ACKS_PER_HOUR": _int(env("HELPDESK_MAIL_ACKS_PER_HOUR"), 5),
        # The authserv-id of the desk's own receiving mail server: its Authentication-Results
        # (DMARC/DKIM pass for the From domain) prove who a mail is from (see mailin.py).
        "HELPDESK_MAIL_TRUSTED_AUTHSERV_ID": (env("HELPDESK_MAIL_TRUSTED_AUTHSERV_ID") or "").strip().lower(),
        # How many Received headers the desk's own servers add above that header (e.g. 1 when an
        # IMAP server's delivery adds one after the MX checked the mail).
        "HELPDESK_MAIL_TRUSTED_RECEIVED": max(0, _int(env("HELPDESK_MAIL_TRUSTED_RECEIVED"), 0)),
        "HELPDESK_IMAP_TIMEOUT": _int(env("HELPDESK_IMAP_TIMEOUT"), 30),
        # Hosts, addresses and networks (comma-separated) webhooks may reach besides public addresses.
        "HELPDESK_WEBHOOK_ALLOW": env("HELPDESK_WEBHOOK_ALLOW") or "",
        "HELPDESK_WEBHOOK_TIMEOUT": max(1, _int(env("HELPDESK_WEBHOOK_TIMEOUT"), 10)),
        "MAIL_SERVER": env("MAIL_SERVER") or "localhost",
        "MAIL_PORT": _int(env("MAIL_PORT"), 25),
        "MAIL_USE_TLS": _bool(env("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env("MAIL_USE_SSL")),
        "MAIL_USERNAME": env("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER") or "helpdesk@localhost",
        "MAIL_TIMEOUT": _int(env("MAIL_TIMEOUT"), 20),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": base_url.startswith("https://"),
        # "Keep me signed in": the cookie names one staff session, which the idle rule still ends.
        "REMEMBER_COOKIE_DURATION": _int(env("HELPDESK_REMEMBER_DAYS"), 30) * 24 * 60 * 60,
        "PERMANENT_SESSION_LIFETIME": _int(env("HELPDESK_SESSION_MINUTES"), 8 * 60) * 60,
        "WTF_CSRF_TIME_LIMIT": None,
        # Security: rate limits and lockout (see helpdesk/security/limits.py), sessions, public form abuse.
        "RATELIMIT_ENABLED": _bool(env("HELPDESK_RATELIMIT"), True),
        "RATELIMIT_STORAGE_URI": env("HELPDESK_RATELIMIT_STORAGE") or "memory://",
        # Per API key (Flask-Limiter notation): reading, and opening tickets or adding messages.
        "HELPDESK_API_READ_LIMIT": env("HELPDESK_API_READ_LIMIT") or "300/minute",
        "HELPDESK_API_WRITE_LIMIT": env("HELPDESK_API_WRITE_LIMIT") or "60/minute;1000/hour",
        "HELPDESK_LOGIN_ATTEMPTS": _int(env("HELPDESK_LOGIN_ATTEMPTS"), 4),
        "HELPDESK_LOGIN_LOCKOUT_MINUTES": _int(env("HELPDESK_LOGIN_LOCKOUT_MINUTES"), 2),
        "HELPDESK_IDLE_MINUTES": _int(env("HELPDESK_IDLE_MINUTES"), 30),
        "HELPDESK_REQUIRE_TOTP": _bool(env("HELPDESK_REQUIRE_TOTP")),
        "HELPDESK_PROXY_FIX": _int(env("HELPDESK_PROXY_FIX"), 0),
        "HELPDESK_MAX_OPEN_TICKETS": _int(env("HELPDESK_MAX_OPEN_TICKETS"), 10),
        "HELPDESK_CAPTCHA": _bool(env("HELPDESK_CAPTCHA")),
        "HELPDESK_STATUS_REQUIRES_MAIL": _bool(env("HELPDESK_STATUS_REQUIRES_MAIL"), True),
        "HELPDESK_HEALTH_MAIL_MINUTES": _int(env("HELPDESK_HEALTH_MAIL_MINUTES"), 30),
        "HELPDESK_LOG_LEVEL": (env("HELPDESK_LOG_LEVEL") or "INFO").upper(),
        # Upper bound for one request body: the attachments plus the form around them.
        "MAX_CONTENT_LENGTH": None,
    }


# Types judged from the bytes, not the name. HTML, SVG, scripts and executables are refused.
ALLOWED_TYPES = {
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "application/pdf": "PDF",
    "text/plain": "text",
    "text/csv": "CSV",
    "application/zip": "ZIP archive",
    "application/gzip": "gzip archive",
    "application/x-gzip": "gzip archive",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel workbook",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
    "application/msword": "Word document",
    "application/vnd.ms-excel": "Excel workbook",
    "message/rfc822": "e-mail message",
}
