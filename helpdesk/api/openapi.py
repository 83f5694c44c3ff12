"""The OpenAPI 3 document of /api/v1, served at /api/v1/openapi.json and tested against the API."""
from __future__ import annotations


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


ERRORS = {
    "400": "The body is not valid JSON, or a query parameter is out of range (the message says which).",
    "401": "No API key, or one that is unknown or revoked.",
    "403": "The key lacks the scope, or is used from an address it is not allowed from.",
    "404": "No such ticket (or no such file in its public thread); to write: no such ticket opened with this key.",
    "409": "The ticket was closed too long ago to take a message, or it changed at the same moment.",
    "413": "The body or one attachment is too large.",
    "415": "The body is not sent as application/json.",
    "422": "A field is missing or invalid (the message says which).",
    "429": "Too many requests with this key; Retry-After says when to try again.",
}


def _errors(*codes: str) -> dict:
    return {code: _error(ERRORS[code]) for code in codes}


NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Which fields were refused, and why, in a word."},
            },
        }},
    },
    "AttachmentUpload": {
        "type": "object",
        "required": ["filename", "data"],
        "properties": {
            "filename": {"type": "string", "example": "screenshot.png"},
            "data": {"type": "string", "format": "byte", "description": "The file, base64 encoded."},
        },
    },
    "Attachment": {
        "type": "object",
        "required": ["id", "filename", "content_type", "size", "download_url"],
        "properties": {
            "id": {"type": "integer"},
            "filename": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "download_url": {"type": "string", "description": "GET it with a read key: the file, as a download."},
        },
    },
    "Entry": {
        "type": "object",
        "required": ["id", "kind", "author", "body", "body_html", "created_at", "attachments"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["message", "reply"],
                     "description": "message: from the customer or someone on copy; reply: from the desk."},
            "author": {"type": "object", "required": ["type", "name"], "properties": {
                "type": {"type": "string", "enum": ["customer", "agent", "collaborator"]},
                "name": {"type": "string"},
            }},
            "body": {"type": "string", "description": "As written (plain text, light Markdown)."},
            "body_html": {"type": "string", "description": "Rendered and sanitised HTML."},
            "created_at": {"type": "string", "format": "date-time"},
            "attachments": {"type": "array", "items": _ref("Attachment")},
        },
    },
    "Ticket": {
        "type": "object",
        "required": ["number", "subject", "status", "status_label", "priority", "topic", "department", "source",
                     "tags", "customer", "created_at", "updated_at", "resolved_at", "closed_at", "may_reply"],
        "properties": {
            "number": {"type": "string", "example": "K7Q2M9"},
            "subject": {"type": "string"},
            "status": {"type": "string", "enum": ["new", "open", "pending", "escalated", "resolved", "closed"]},
            "status_label": {"type": "string"},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "emergency"]},
            "topic": {"type": "string", "nullable": True},
            "department": {"type": "string"},
            "source": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"},
                     "description": "The names of the ticket's tags (agents set them), by name."},
            "customer": {"type": "object", "required": ["name", "email"], "properties": {
                "name": {"type": "string"}, "email": {"type": "string"}}},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "resolved_at": NULLABLE_TIME,
            "closed_at": NULLABLE_TIME,
            "may_reply": {"type": "boolean", "description": "Whether a message would still be accepted."},
        },
        "description": "Never the customer's access link: have it mailed with POST .../access-link.",
    },
    "TicketWithThread": {
        "allOf": [_ref("Ticket"), {
            "type": "object",
            "required": ["thread"],
            "properties": {"thread": {"type": "array", "items": _ref("Entry"),
                                      "description": "The public thread, oldest first; never internal notes."}},
        }],
    },
    "NewTicket": {
        "type": "object",
        "required": ["name", "email", "topic_id", "subject", "message"],
        "properties": {
            "name": {"type": "string", "maxLength": 120, "example": "Ken Customer"},
            "email": {"type": "string", "format": "email", "example": "ken@example.net"},
            "topic_id": {"type": "integer", "description": "A public, active help topic.", "example": 1},
            "subject": {"type": "string", "maxLength": 200, "example": "Cannot log in"},
            "message": {"type": "string", "maxLength": 20000, "example": "Since this morning the app says..."},
            "source": {"type": "string", "enum": ["api", "chat"], "default": "api"},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "emergency"],
                         "description": "Only for topics that let the requester choose a priority."},
            "attachments": {"type": "array", "items": _ref("AttachmentUpload")},
        },
    },
    "NewMessage": {
        "type": "object",
        "required": ["message"],
        "properties": {
            "message": {"type": "string", "maxLength": 20000},
            "attachments": {"type": "array", "items": _ref("AttachmentUpload")},
        },
    },
    "MessageCreated": {
        "type": "object",
        "required": ["number", "status", "message"],
        "additionalProperties": False,
        "properties": {
            "number": {"type": "string"},
            "status": {"type": "string", "enum": ["new", "open", "pending", "escalated", "resolved", "closed"],
                       "description": "The ticket's status after the message (a resolved ticket reopens)."},
            "message": {"type": "object", "required": ["id", "created_at"], "additionalProperties": False,
                        "properties": {"id": {"type": "integer"},
                                       "created_at": {"type": "string", "format": "date-time"}}},
        },
    },
    "AccessLinkMailed": {
        "type": "object",
        "required": ["number", "mailed_to"],
        "additionalProperties": False,
        "properties": {"number": {"type": "string"}, "mailed_to": {"type": "string", "enum": ["customer"]}},
    },
    "TicketList": {
        "type": "object",
        "required": ["tickets", "pagination"],
        "properties": {"tickets": {"type": "array", "items": _ref("Ticket")},
                       "pagination": _ref("Pagination")},
    },
    "Pagination": {
        "type": "object",
        "required": ["page", "per_page", "total", "pages", "next", "prev"],
        "properties": {
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0, "description": "All of the customer's tickets."},
            "pages": {"type": "integer", "minimum": 1},
            "next": {"type": "string", "nullable": True, "description": "The next page's URL; null on the last."},
            "prev": {"type": "string", "nullable": True, "description": "The previous page's URL; null on the first."},
        },
    },
}

NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}, "example": "K7Q2M9",
          "description": "The ticket number, as in the customer's mails (e.g. K7Q2M9)."}


def document(base_path: str = "/api/v1") -> dict:
    """The whole OpenAPI document; servers point at this desk's API path."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Helpdesk API",
            "version": "1",
            "description": "Open and follow tickets from other tools (chat, shop, monitoring). Authenticate "
                           "with an API key created by an admin: 'Authorization: Bearer <key>'. Keys carry "
                           "scopes (create, read) and may be limited to IP ranges. Every error is JSON: "
                           '{"error": {"code": ..., "message": ...}}.',
        },
        "servers": [{"url": base_path}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/tickets": {
                "post": {
                    "operationId": "createTicket",
                    "summary": "Open a ticket (scope: create)",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewTicket")}}},
                    "responses": {"201": _json(_ref("TicketWithThread"), "The ticket was opened."),
                                  **_errors("400", "401", "403", "413", "415", "422", "429")},
                },
                "get": {
                    "operationId": "listTickets",
                    "summary": "A customer's tickets, newest first, a page at a time (scope: read)",
                    "parameters": [
                        {"name": "email", "in": "query", "required": True,
                         "schema": {"type": "string", "format": "email"}, "example": "ken@example.net"},
                        {"name": "page", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}},
                        {"name": "per_page", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
                    ],
                    "responses": {"200": {**_json(_ref("TicketList"), "One page of tickets, newest first."),
                                          "headers": {"Link": {
                                              "description": "RFC 8288 links: first, last, and next and prev "
                                                             "where there is such a page.",
                                              "schema": {"type": "string"}}}},
                                  **_errors("400", "401", "403", "422", "429")},
                },
            },
            "/tickets/{number}": {
                "get": {
                    "operationId": "getTicket",
                    "summary": "A ticket and its public thread (scope: read)",
                    "parameters": [NUMBER],
                    "responses": {"200": _json(_ref("TicketWithThread"), "The ticket."),
                                  **_errors("401", "403", "404", "429")},
                },
            },
            "/tickets/{number}/attachments/{attachment_id}": {
                "get": {
                    "operationId": "downloadAttachment",
                    "summary": "A file of the ticket's public thread, as a download (scope: read)",
                    "parameters": [NUMBER, {"name": "attachment_id", "in": "path", "required": True,
                                            "schema": {"type": "integer"}, "description": "The attachment's id."}],
                    "responses": {"200": {"description": "The file, with Content-Disposition: attachment.",
                                          "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                                  **_errors("401", "403", "404", "429")},
                },
            },
            "/tickets/{number}/messages": {
                "post": {
                    "operationId": "addMessage",
                    "summary": "Add a message from the customer to a ticket this key opened (scope: create); "
                               "reopens a resolved ticket",
                    "parameters": [NUMBER],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewMessage")}}},
                    "responses": {"201": _json(_ref("MessageCreated"), "The message was added."),
                                  **_errors("400", "401", "403", "404", "409", "413", "415", "422", "429")},
                },
            },
            "/tickets/{number}/access-link": {
                "post": {
                    "operationId": "mailAccessLink",
                    "summary": "Mail the customer a fresh link to a ticket this key opened; older links stop "
                               "working (scope: create). The answer never holds the link.",
                    "parameters": [NUMBER],
                    "responses": {"202": _json(_ref("AccessLinkMailed"), "The link is on its way to the customer."),
                                  **_errors("401", "403", "404", "409", "429")},
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document (no key needed)",
                    "security": [],
                    "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
                },
            },
        },
    }
