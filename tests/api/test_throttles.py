"""Throttles: DRF's, on the shared Redis cache; 429 with Retry-After in the error shape."""
import pytest
from django.core.cache import cache

from apps.api.throttles import client_address
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def assert_throttled(response):
    data = assert_error(response, 429)
    assert data["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def test_the_cache_is_the_shared_redis(settings):
    assert settings.CACHES["default"]["BACKEND"] == "config.cache.SharedRedisCache"
    cache.set("probe", 1)
    from chat.redis_client import sync_client

    assert any(sync_client().scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:cache:*probe"))


def test_login_is_throttled_per_username_whatever_the_address(api_client, make_user, settings):
    settings.CHAT_THROTTLE_RATES = {**settings.CHAT_THROTTLE_RATES, "login_username": "3/min"}
    make_user("guessed", password="right-password-1")
    for i in range(3):
        r = api_client().post("/api/auth/token/", {"username": "guessed", "password": f"wrong-{i}"},
                              format="json", REMOTE_ADDR=f"10.0.0.{i}")
        assert_error(r, 400, "password")
    # the same name in another case is the same username
    assert_throttled(api_client().post("/api/auth/token/", {"username": "GUESSED", "password": "right-password-1"},
                                       format="json", REMOTE_ADDR="10.0.0.9"))
    # another username is not affected
    make_user("other-one", password="right-password-1")
    assert api_client().post("/api/auth/token/", {"username": "other-one", "password": "right-password-1"},
                             format="json").status_code == 200


def test_login_is_throttled_per_address(api_client, settings):
    settings.CHAT_THROTTLE_RATES = {**settings.CHAT_THROTTLE_RATES, "login_address": "4/min"}
    for i in range(4):
        assert api_client().post("/api/auth/token/", {"username": f"sprayed{i}", "password": "x"},
                                 format="json").status_code == 400
    assert_throttled(api_client().post("/api/auth/token/", {"username": "sprayed9", "password": "x"}, format="json"))
    # a forged X-Forwarded-For from an untrusted peer changes nothing
    assert_throttled(api_client().post("/api/auth/token/", {"username": "sprayed9", "password": "x"}, format="json",
                                       HTTP_X_FORWARDED_FOR="203.0.113.7"))
    assert api_client().post("/api/auth/token/", {"username": "sprayed9", "password": "x"}, format="json",
                             REMOTE_ADDR="192.0.2.1").status_code == 400


def test_registration_is_throttled_per_address(api_client, settings):
    settings.CHAT_THROTTLE_RATES = {**settings.CHAT_THROTTLE_RATES, "register_address": "2/hour"}
    for i in range(2):
        assert api_client().post("/api/auth/register/", {"username": f"newbie{i}", "password": "long-enough-9"},
                                 format="json").status_code == 201
    assert_throttled(api_client().post("/api/auth/register/", {"username": "newbie9", "password": "long-enough-9"},
                                       format="json"))


def test_user_search_is_throttled_per_user(trio, settings):
    settings.CHAT_THROTTLE_RATES = {**settings.CHAT_THROTTLE_RATES, "user_search": "2/min"}
    for _ in range(2):
        assert trio["a"].get("/api/users/", {"search": "x"}).status_code == 200
    assert_throttled(trio["a"].get("/api/users/", {"search": "x"}))
    assert trio["b"].get("/api/users/", {"search": "x"}).status_code == 200


def test_http_sends_use_the_sockets_budget(trio, settings):
    settings.CHAT_WS_RATE_BURST = 3
    settings.CHAT_WS_RATE_PER_SECOND = 0.05
    room_id = trio["room"]["id"]
    for i in range(3):
        r = trio["a"].post("/api/chat/messages/", {"room": room_id, "content": "x", "temp_id": f"b{i}"}, format="json")
        assert r.status_code == 201
    assert_throttled(trio["a"].post("/api/chat/messages/", {"room": room_id, "content": "x", "temp_id": "b9"},
                                    format="json"))
    assert trio["a"].get("/api/chat/messages/", {"room": room_id}).status_code == 200  # reads are not
    assert trio["b"].post("/api/chat/messages/", {"room": room_id, "content": "x", "temp_id": "c"},
                          format="json").status_code == 201


class _Request:
    def __init__(self, peer, forwarded=None):
        self.META = {"REMOTE_ADDR": peer}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


def test_client_address_trusts_only_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(_Request("10.1.2.3", "198.51.100.1")) == "10.1.2.3"  # embedded: no proxy trusted
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]
    assert client_address(_Request("10.1.2.3", "198.51.100.1")) == "198.51.100.1"
    # the client's own forged entry on the left is skipped: the first untrusted from the right
    assert client_address(_Request("10.1.2.3", "6.6.6.6, 198.51.100.1, 10.9.9.9")) == "198.51.100.1"
    assert client_address(_Request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"  # not a trusted peer
    assert client_address(_Request("fd00::1", "2001:db8::7")) == "2001:db8::7"
    assert client_address(_Request("10.1.2.3", "not an ip")) == "not an ip"
