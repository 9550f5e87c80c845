"""Handshake: accept-then-close codes, connection_established, token and cookie auth."""
import pytest
from django.conf import settings
from django.test import Client as DjangoClient

from chat import actions
from tests.ws.client import orm

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/ws/chat/", "/ws/chat/{room}/"])
async def test_no_token_is_accepted_then_closed_4001(ws, world, path):
    client = await ws(path.format(room=world.room_id), expect_established=False)
    assert await client.expect_close() == 4001
    assert client.inbox == []  # nothing but the close: no connection_established


@pytest.mark.parametrize("token", ["nope", "0" * 40, ""])
async def test_invalid_token_is_closed_4001(ws, world, token):
    client = await ws(f"/ws/chat/{world.room_id}/?token={token}", expect_established=False)
    assert await client.expect_close() == 4001
    assert client.inbox == []


async def test_expired_token_is_closed_4001(ws, world, settings):
    from accounts.tokens import issue_token

    settings.CHAT_TOKEN_TTL_SECONDS = 0
    token = await orm(issue_token, world.alice)
    client = await ws("/ws/chat/", token=token, expect_established=False)
    assert await client.expect_close() == 4001


async def test_not_a_member_is_closed_4003(ws, world):
    client = await ws(f"/ws/chat/{world.room_id}/", token=world.carol_token, expect_established=False)
    assert await client.expect_close() == 4003
    assert client.inbox == []


async def test_no_such_room_is_closed_4003(ws, world):
    client = await ws("/ws/chat/987654321/", token=world.alice_token, expect_established=False)
    assert await client.expect_close() == 4003


async def test_connection_established_on_all_rooms(ws, world):
    client = await ws("/ws/chat/", token=world.alice_token)
    frame = client.established
    assert frame["user_id"] == world.alice.id
    assert frame["room_id"] is None
    assert frame["last_message_id"] is None
    assert frame["rooms"] == [{"room": world.room_id, "last_seq": 0}]
    await client.assert_open()


async def test_connection_established_on_one_room(ws, world, make_room):
    other_room = await orm(make_room, owner=world.alice, name="second")
    first = await orm(actions.send_message, world.alice, room_id=world.room_id, content="one", temp_id="e-1")
    second = await orm(actions.send_message, world.alice, room_id=world.room_id, content="two", temp_id="e-2")
    client = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    frame = client.established
    assert first.message["seq"] == 1
    assert frame == {"type": "connection_established", "user_id": world.alice.id, "room_id": world.room_id,
                     "last_message_id": second.message["id"], "rooms": [{"room": world.room_id, "last_seq": 2}]}
    everywhere = await ws("/ws/chat/", token=world.alice_token)
    assert sorted(everywhere.established["rooms"], key=lambda r: r["room"]) == sorted(
        [{"room": world.room_id, "last_seq": 2}, {"room": other_room["id"], "last_seq": 0}], key=lambda r: r["room"])


def _session_cookie(user) -> bytes:
    client = DjangoClient()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def test_session_cookie_from_a_foreign_origin_is_closed_4001(ws, world):
    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"testserver"), (b"origin", b"https://evil.example"), (b"cookie", cookie)]
    client = await ws("/ws/chat/", headers=headers, expect_established=False)
    assert await client.expect_close() == 4001


async def test_session_cookie_foreign_origin_refused_even_with_wildcard_hosts(ws, world, settings):
    """ALLOWED_HOSTS = ['*'] says nothing about which sites may ride on a user's cookie."""
    settings.ALLOWED_HOSTS = ["*"]
    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"chat.example"), (b"origin", b"https://evil.example"), (b"cookie", cookie)]
    client = await ws("/ws/chat/", headers=headers, expect_established=False)
    assert await client.expect_close() == 4001


async def test_session_cookie_from_the_same_origin_is_accepted(ws, world):
    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)]
    client = await ws(f"/ws/chat/{world.room_id}/", headers=headers)
    assert client.established["user_id"] == world.alice.id
    await client.assert_open()


async def test_configured_origin_is_accepted_for_cookies(ws, world, settings):
    settings.WS_ALLOWED_ORIGINS = ["https://app.example"]
    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"api.example"), (b"origin", b"https://app.example"), (b"cookie", cookie)]
    client = await ws("/ws/chat/", headers=headers)
    assert client.established["user_id"] == world.alice.id


async def test_invalid_token_does_not_fall_back_to_the_cookie(ws, world):
    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)]
    client = await ws("/ws/chat/?token=wrong", headers=headers, expect_established=False)
    assert await client.expect_close() == 4001


@pytest.mark.parametrize("origin", [b"http://testserver:9999", b"https://testserver", b"http://localhost:9999",
                                    b"null", b"http://testserver.evil.example", b"ws://testserver:8080"])
async def test_cookie_origin_must_match_scheme_host_and_port(ws, world, origin):
    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"testserver"), (b"origin", origin), (b"cookie", cookie)]
    client = await ws("/ws/chat/", headers=headers, expect_established=False)
    assert await client.expect_close() == 4001


async def test_cookie_origin_with_the_default_port_spelled_out_is_the_same_site(ws, world):
    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver:80"), (b"cookie", cookie)]
    client = await ws("/ws/chat/", headers=headers)
    assert client.established["user_id"] == world.alice.id


async def test_tls_ended_at_a_trusted_proxy_keeps_the_https_origin(world, settings):
    """Behind an ingress that ends TLS the socket is plain ws, the page https: the proxy's
    X-Forwarded-Proto counts when the peer is a trusted proxy, and only then."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from tests.ws.client import Client

    cookie = await orm(_session_cookie, world.alice)
    headers = [(b"host", b"testserver"), (b"origin", b"https://testserver"), (b"cookie", cookie),
               (b"x-forwarded-proto", b"https")]

    async def connect(peer: str) -> Client:
        comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        comm.scope["client"] = [peer, 50000]  # read when the application first runs, on connect
        assert (await comm.connect(timeout=10))[0]
        return Client(comm, peer)

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    untrusted = await connect("203.0.113.9")
    assert await untrusted.expect_close() == 4001
    trusted = await connect("10.1.2.3")
    try:
        assert (await trusted.expect("connection_established", timeout=10))["user_id"] == world.alice.id
    finally:
        await trusted.disconnect()
