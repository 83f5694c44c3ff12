"""Schemathesis against /api/v1/openapi.json: generated requests for every operation (valid and
invalid bodies, odd path and query values) never get a 500, and every answer matches the
document (status, content type, body schema)."""
from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as oa_checks
from sqlalchemy import select

from factories import make_api_key
from helpdesk.attachments import Upload
from helpdesk.extensions import db
from helpdesk.models import ApiKey, Ticket

EXAMPLES = 60  # per operation


def test_api_matches_its_openapi_document(app, desk, make_ticket):
    secret = ApiKey.generate()
    key = make_api_key(secret, name="schemathesis", scopes="create,read")
    existing = make_ticket(email="ken@example.net", uploads=[Upload("log.txt", "text/plain", b"the log")])
    existing.api_key_id = key.id  # opened with this key: it may write to it
    file_id = existing.entries[0].attachments[0].id
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [st_checks.not_a_server_error, oa_checks.status_code_conformance,
              oa_checks.content_type_conformance, oa_checks.response_schema_conformance]
    statuses: dict[str, set[int]] = {}
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6  # the document itself needs no testing
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            # Half the generated numbers, file ids and topic ids point at real ones, so valid requests get through.
            number = (case.path_parameters or {}).get("number")
            if isinstance(number, str) and len(number) % 2 == 0:
                case.path_parameters["number"] = existing.number
            attachment_id = (case.path_parameters or {}).get("attachment_id")
            if type(attachment_id) is int and attachment_id % 2 == 0:
                case.path_parameters["attachment_id"] = file_id
            if isinstance(case.body, dict) and type(case.body.get("topic_id")) is int and case.body["topic_id"] % 2 == 0:
                case.body["topic_id"] = desk.topics["General inquiry"].id
            response = case.call_and_validate(headers=headers, checks=checks)
            statuses.setdefault(operation.label, set()).add(response.status_code)
            db.session.rollback()

        run()
    elapsed = time.monotonic() - started
    # Meaningful: valid requests got through, and invalid ones were refused, on the writing endpoints.
    assert 201 in statuses["POST /tickets"] and 422 in statuses["POST /tickets"], statuses
    assert {200, 404} <= statuses["GET /tickets/{number}"], statuses
    assert 201 in statuses["POST /tickets/{number}/messages"], statuses
    assert {202, 404} <= statuses["POST /tickets/{number}/access-link"], statuses
    assert {200, 404} <= statuses["GET /tickets/{number}/attachments/{attachment_id}"], statuses
    assert 200 in statuses["GET /tickets"], statuses  # with page and per_page in range
    print(f"schemathesis: {EXAMPLES} examples x {len(operations)} operations in {elapsed:.1f} s; statuses {statuses}")
    assert db.session.scalar(select(Ticket).where(Ticket.id != existing.id).limit(1)) is not None
