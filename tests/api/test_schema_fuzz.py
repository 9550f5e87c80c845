"""Schemathesis against /api/schema/: generated requests (valid and invalid) to every operation,
authenticated as a member of a room with messages. No 500, and every answer is in the schema
(documented status code, body matching its schema, documented content type).

Bounded and deterministic: a fixed number of examples per operation, derandomized."""
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chat import actions

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


# The schema is served without authentication and without the database, so it loads at import.
# (schemathesis.pytest.from_fixture does not work with pytest 9: it sets Function._nodeid.)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Requests go straight into the WSGI app inside the test transaction; like Django's test
    client, keep the request signals from closing that connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_user(wsgi_in_test_transaction, make_user, make_room):
    """A member of a room with a few messages (one with a reaction), so generated ids
    sometimes hit real rows; the token goes into every generated request."""
    from accounts.tokens import issue_token

    user, other = make_user(), make_user()
    room = make_room(owner=user, members=[other], name="ფაზი")
    for i in range(3):
        message = actions.send_message(user, room_id=room["id"], content=f"ფაზ-ტესტი {i}", temp_id=f"fz{i}").message
    actions.set_reaction(other, message_id=message["id"], emoji="👍", present=True)
    return {"Authorization": f"Token {issue_token(user)}"}


@schema.parametrize()
@settings(max_examples=40, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, fuzz_user):
    case.call_and_validate(headers=fuzz_user, checks=CHECKS)
