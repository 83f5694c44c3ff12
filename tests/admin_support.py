"""Test support for the admin tests: each test-client request starts with a fresh flask.g, as in
production (the tests' pushed app context would otherwise keep the signed-in user and the
settings cache from one request to the next)."""
import pytest
from flask import g, request_started


def _fresh_g(sender, **extra):
    for name in ("_login_user", "_helpdesk_settings"):
        g.pop(name, None)


@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    request_started.connect(_fresh_g, app)
    yield
    request_started.disconnect(_fresh_g, app)
