"""No 500 from input over HTTP: deep JSON, huge bodies, paths without their slash, the database
unavailable; every answer in the JSON error shape."""
import json

import pytest
from django.db import connection
from django.test import Client

from chat.models import Message
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

JSON_ENDPOINTS = ["/api/auth/register/", "/api/auth/token/", "/api/chat/rooms/", "/api/chat/messages/"]


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize("depth", [40, 3000, 100_000])
def test_deep_json_is_400_everywhere(trio, path, depth):
    body = '{"content": ' + "[" * depth + "]" * depth + "}"
    for client in (trio["anon"], trio["a"]):
        r = client.post(path, body, content_type="application/json")
        if r.status_code == 401:  # unauthenticated on an authenticated endpoint: refused before parsing
            continue
        data = assert_error(r, 400)
        assert "nested" in data["detail"] or "JSON" in data["detail"]


def test_json_within_the_depth_limit_is_parsed(trio):
    r = trio["a"].post("/api/chat/rooms/", {"name": "ok", "members": [[[[1]]]]}, format="json")
    assert_error(r, 400, "members")  # parsed, then refused by the domain for what it says


@pytest.mark.parametrize("path", ["/api/auth/register/", "/api/chat/messages/", "/api/rum/"])
def test_oversized_body_is_413_json(trio, path, settings):
    body = json.dumps({"content": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    r = trio["a"].post(path, body, content_type="application/json")
    assert_error(r, 413)


def test_a_body_just_under_the_limit_is_read(trio, settings):
    body = json.dumps({"room": trio["room"]["id"], "temp_id": "big", "content": "x" * 10_001})
    assert len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert_error(trio["a"].post("/api/chat/messages/", body, content_type="application/json"), 400, "content")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/chat/messages", "/api/auth/token", "/api/chat/rooms/1/read",
                                  "/api/line%0Abreak", "/api/nope"])
def test_writes_without_trailing_slash_are_json_404(trio, method, path):
    data = assert_error(getattr(trio["a"], method)(path, {}, format="json"), 404)
    assert "end with '/'" in data["detail"]


def test_reads_without_trailing_slash_redirect(trio):
    r = trio["a"].get("/api/chat/messages", {"room": 5})
    assert r.status_code == 301 and r["Location"] == "/api/chat/messages/?room=5"
    r = trio["a"].get("/api/line%0Abreak")
    assert r.status_code == 301 and "\n" not in r["Location"]


def test_non_api_errors_are_json_without_debug(trio, settings):
    assert settings.DEBUG is False
    r = Client().get("/static/no-such-file.js")
    assert r.status_code == 404 and b"URLconf" not in r.content and b"Traceback" not in r.content


class _Database:
    """The test database made unreachable for this process's connection (a closed port), and
    back: the real driver's real connection failure, no mock."""

    def __init__(self):
        self.port = connection.settings_dict["PORT"]

    def down(self):
        from harness.processes import free_port

        connection.close()
        connection.settings_dict["PORT"] = str(free_port())

    def up(self):
        connection.close()
        connection.settings_dict["PORT"] = self.port


@pytest.fixture
def database(transactional_db):
    db = _Database()
    yield db
    db.up()


def test_database_unavailable_is_503_with_retry_after(trio, database):
    room_id = trio["room"]["id"]
    database.down()
    r = trio["a"].post("/api/chat/messages/", {"room": room_id, "content": "while down", "temp_id": "down-1"},
                       format="json")
    data = assert_error(r, 503)
    assert data["code"] == "unavailable" and int(r["Retry-After"]) >= 1
    assert_error(trio["a"].get("/api/chat/rooms/"), 503)
    assert_error(trio["anon"].post("/api/auth/token/", {"username": "x", "password": "y"}, format="json"), 503)


def test_send_retried_after_the_outage_is_stored_once(trio, database):
    body = {"room": trio["room"]["id"], "content": "retried", "temp_id": "retry-1"}
    database.down()
    assert trio["a"].post("/api/chat/messages/", body, format="json").status_code == 503
    database.up()
    first = trio["a"].post("/api/chat/messages/", body, format="json")
    again = trio["a"].post("/api/chat/messages/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200) and first.json() == again.json()
    assert Message.objects.filter(temp_id="retry-1").count() == 1


def test_temp_id_is_required_over_http(trio):
    r = trio["a"].post("/api/chat/messages/", {"room": trio["room"]["id"], "content": "x"}, format="json")
    data = assert_error(r, 400, "temp_id")
    assert "temp_id" in data["detail"]
    assert not Message.objects.exists()
