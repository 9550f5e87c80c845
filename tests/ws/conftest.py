"""Consumer tests: the real ASGI application, the real Redis channel layer, the real PostgreSQL.

Domain calls run on other threads (apps.ws.db), so every test is transactional: the data a test
creates must be committed to be seen by the consumer.
"""
import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings

from accounts import tokens
from chat import async_db, broadcast
from config.asgi import application
from tests.ws.client import Client


@pytest.fixture
def token_for(db):
    return tokens.issue_token


@pytest.fixture
async def ws():
    """Open sockets: `await ws(path, token=..., headers=...)` -> Client (accepted). Every socket
    is closed at the end of the test."""
    opened: list[Client] = []

    async def open_socket(path: str, token: str | None = None, headers=None, name: str | None = None,
                          expect_established: bool = True) -> Client:
        url = path if token is None else f"{path}?token={token}"
        comm = WebsocketCommunicator(application, url, headers=headers or [])
        client = Client(comm, name or path)
        opened.append(client)
        connected, _ = await comm.connect(timeout=10)
        assert connected, "the consumer accepts first (close codes come after accept)"
        if expect_established:
            client.established = await client.expect("connection_established", timeout=10)
        return client

    yield open_socket
    for client in opened:
        await client.disconnect()
    await async_db.close()  # this test's loop: its send pool and publishing client
    await broadcast.close_async()


@pytest.fixture(autouse=True)
def _real_redis():
    """Consumer tests run the hub on the real Redis (apps/ws/hub.py's RedisSource), never the
    embedded run's in-process fan-out."""
    assert settings.REDIS.configured, "consumer tests need REDIS_URL"


class World:
    """alice and bob share a group room; carol is in no room with them."""


@pytest.fixture
def world(transactional_db, make_user, make_room, token_for):
    w = World()
    w.alice, w.bob, w.carol = make_user(), make_user(), make_user()
    w.room = make_room(owner=w.alice, members=[w.bob], name="ws room")
    w.room_id = w.room["id"]
    w.tokens = {u.id: token_for(u) for u in (w.alice, w.bob, w.carol)}
    w.alice_token, w.bob_token, w.carol_token = (w.tokens[u.id] for u in (w.alice, w.bob, w.carol))
    return w


@pytest.fixture(scope="session", autouse=True)
def _close_thread_connections(django_db_setup):
    """The consumer's domain calls hold a database connection per pool thread (apps.ws.db); close
    them all before the test database is dropped."""
    import threading
    import weakref

    from django.db.backends.signals import connection_created

    made = weakref.WeakSet()

    def remember(sender, connection, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            made.add(connection)

    connection_created.connect(remember, weak=False)
    yield
    connection_created.disconnect(remember)
    for wrapper in list(made):
        raw = wrapper.connection
        if raw is not None:
            try:
                raw.close()
            except Exception:  # noqa: BLE001
                pass
