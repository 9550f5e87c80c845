"""Health, readiness and metrics endpoints, and production settings that refuse to start."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from apps.ops import demo
from chat import queries

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_readyz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_metrics_has_http_latency_per_route(trio):
    assert trio["a"].get("/api/chat/rooms/").status_code == 200
    assert trio["a"].get(f"/api/chat/rooms/{trio['room']['id']}/").status_code == 200
    r = trio["anon"].get("/metrics")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert "# TYPE chat_http_request_seconds histogram" in text
    lines = [line for line in text.splitlines() if line.startswith("chat_http_request_seconds_count")]
    assert any('route="api/chat/rooms/"' in line and 'method="GET"' in line and 'status="200"' in line
               for line in lines), lines
    # the route label is the pattern, never the raw path with ids in it
    assert any('route="api/chat/rooms/<id:room_id>/"' in line for line in lines), lines
    assert not any(f"/rooms/{trio['room']['id']}/" in line for line in lines)


BASE_ENV = {
    "SECRET_KEY": "s" * 50,
    "ALLOWED_HOSTS": "chat.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "METRICS_TOKEN": "scrape-secret",
}


def _start_production(**overrides):
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "REDIS_SENTINELS",
                        "REDIS_MASTER_NAME", "METRICS_TOKEN"}}
    env.update({**BASE_ENV, **overrides, "DJANGO_SETTINGS_MODULE": "config.settings.production"})
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print('STARTED', settings.DEBUG, settings.DATABASES['default']['ENGINE'])"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_production_starts_when_configured():
    done = _start_production()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "STARTED False django.db.backends.postgresql" in done.stdout


def test_production_with_sentinel_starts():
    done = _start_production(REDIS_URL=None, REDIS_SENTINELS="10.0.0.1:26379,10.0.0.2:26379",
                             REDIS_MASTER_NAME="chat")
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("overrides, message", [
    ({"SECRET_KEY": None}, "SECRET_KEY must be set in production"),
    ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must be set in production"),
    ({"DATABASE_URL": None}, "production needs PostgreSQL"),
    ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "production needs PostgreSQL"),
    ({"REDIS_URL": None}, "production needs Redis"),
    ({"CHAT_WS_GC_THRESHOLDS": "20000,10"}, "CHAT_WS_GC_THRESHOLDS must be 3 whole numbers"),
])
def test_production_refuses_to_start(overrides, message):
    done = _start_production(**overrides)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr, done.stderr[-2000:]


@pytest.mark.django_db
def test_rum_beacon(api_client):
    anon = api_client()
    r = anon.post("/api/rum/", {"frame_rate": [59.5, 60.0], "long_frames": [12.0, 75.0], "send_visible": [9.0]},
                  format="json")
    assert r.status_code == 204 and r.content == b""
    text = anon.get("/metrics").content.decode()
    assert "chat_client_frame_rate_count" in text and "chat_client_long_frames_total" in text
    data = anon.post("/api/rum/", {"frame_rate": [-1]}, format="json")
    assert data.status_code == 400 and "frame_rate" in data.json()["errors"]
    too_many = anon.post("/api/rum/", {"send_visible": [1.0] * 501}, format="json")
    assert too_many.status_code == 400 and "send_visible" in too_many.json()["errors"]
    assert anon.post("/api/rum/", [1], format="json").status_code == 400


@pytest.mark.django_db
def test_schema_and_docs_are_served(api_client):
    anon = api_client()
    r = anon.get("/api/schema/?format=json")
    assert r.status_code == 200
    schema = json.loads(r.content)
    assert schema["openapi"].startswith("3.")
    for path in ("/api/auth/register/", "/api/auth/token/", "/api/auth/me/", "/api/users/", "/api/chat/rooms/",
                 "/api/chat/rooms/{room_id}/", "/api/chat/rooms/{room_id}/members/", "/api/chat/rooms/{room_id}/read/",
                 "/api/chat/messages/", "/api/chat/messages/{message_id}/",
                 "/api/chat/messages/{message_id}/reactions/{emoji}/", "/api/rum/"):
        assert path in schema["paths"], path
    page = schema["components"]["schemas"]["Page"]["properties"]
    assert {"messages", "has_more", "cursor", "has_more_before", "has_more_after"} <= set(page)
    assert anon.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_once():
    assert demo.seed(message_count=20) is True
    assert demo.seed(message_count=20) is False
    nino = get_user_model().objects.get(username="nino")
    [room] = queries.rooms_of_user(nino.id)
    assert room["name"] == demo.DEMO_ROOM and room["last_seq"] == 20 and room["unread_count"] == 5
