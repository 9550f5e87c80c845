"""Shared fixtures. Tests talk to the real PostgreSQL and Redis named by the environment
(DATABASE_URL or PG*, REDIS_URL); nothing here mocks either."""
import itertools

import pytest
from rest_framework.test import APIClient

from accounts import tokens
from chat import actions
from apps.ops.demo import DEMO_PASSWORD

_names = itertools.count(1)


@pytest.fixture
def make_user(django_user_model):
    def make(username: str | None = None, password: str = DEMO_PASSWORD):
        name = username or f"user{next(_names)}"
        return django_user_model.objects.create_user(username=name, password=password)
    return make


@pytest.fixture
def make_room(make_user):
    def make(owner=None, members=(), name="room", kind="group"):
        owner = owner or make_user()
        room, _ = actions.create_room(owner, name=name, kind=kind, members=[m.id for m in members])
        return room
    return make


@pytest.fixture
def api_client():
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {tokens.issue_token(user)}")
        return client
    return client_for


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the shared cache (this session's Redis prefix): each test
    starts with none, so a test's logins do not count against the next one's."""
    from django.core.cache import cache

    cache.clear()  # only this cache's keys (config/cache.py), never the whole Redis database
    yield


@pytest.fixture(scope="session", autouse=True)
def _clean_redis_keys_of_this_session():
    """Presence hashes have no TTL (they live as long as their sockets); remove this session's."""
    yield
    from django.conf import settings

    from chat.redis_client import sync_client

    client = sync_client()
    if client is None:
        return
    for key in client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:*", count=1000):
        client.delete(key)


_span_exporter = None


@pytest.fixture
def span_exporter():
    """Traces recorded in memory: the provider and instrumentations production installs when OTLP
    is configured (chat.tracing.configure). The global provider can be set once per process, so
    one exporter serves the session; each test starts empty and turns the instrumentations off
    after itself (untraced tests stay unrecorded)."""
    global _span_exporter
    from django.db import connections
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from chat import tracing

    if _span_exporter is None:
        _span_exporter = InMemorySpanExporter()
    tracing.configure("chat-test", exporter=_span_exporter)
    connections.close_all()  # psycopg is traced from a connection's connect on: open new ones
    _span_exporter.clear()
    yield _span_exporter
    tracing.uninstrument()
    connections.close_all()
    _span_exporter.clear()
