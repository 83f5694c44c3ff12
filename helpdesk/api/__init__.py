"""The REST API (/api/v1): tools such as a chat widget open and follow tickets with an API key.

JSON in and out; every error is {"error": {"code": ..., "message": ...}}. Keys are sent as
`Authorization: Bearer <key>`, checked against their hash, scopes and IP ranges. The API sets
no cookies and reads none, so CSRF protection does not apply to it."""
from . import routes  # noqa: F401  (registers the endpoints on bp)
from .blueprint import bp

__all__ = ["bp"]
