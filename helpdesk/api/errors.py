"""API errors: one JSON shape, the right status, never an HTML page."""
from __future__ import annotations

from flask import jsonify, request

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "too_many_requests", 500: "server_error",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "error")
        self.fields = fields


def is_api_request() -> bool:
    """Anything under /api (another version, a typo) is answered as the API answers: JSON."""
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, message: str, code: str | None = None, fields: dict | None = None):
    body = {"code": code or CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    return response
