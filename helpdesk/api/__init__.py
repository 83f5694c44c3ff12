"""The REST API (/api/v1): tools such as a chat widget open and follow tickets with an API key.

JSON in and out; every error is {"error": {"code": ..., "message": ...}}. Keys are sent as
`Authorization: Bearer <key>`, checked against their hash, scopes and IP ranges. The API sets
no cookies and reads none, so CSRF protection does not apply to it."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from . import routes  # noqa: E402,F401
