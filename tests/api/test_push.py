"""The Web Push API: the VAPID key, browser subscriptions (idempotent on the endpoint), room mutes;
bad input is a 4xx naming the field."""
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from chat import webpush
from chat.models import PushSubscription, RoomMute
from harness.push import b64, new_browser
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def vapid(settings):
    settings.VAPID_PRIVATE_KEY = b64(ec.generate_private_key(ec.SECP256R1()).private_numbers()
                                     .private_value.to_bytes(32, "big"))
    webpush._vapid = None  # the key is read once per process
    yield settings.VAPID_PRIVATE_KEY
    webpush._vapid = None


def browser_subscription(name: str = "laptop") -> dict:
    return {"endpoint": f"https://push.example.test/push/{name}", "keys": new_browser()[1]}


def test_vapid_key_is_the_public_point_of_the_configured_key(trio, vapid):
    r = trio["a"].get("/api/push/vapid-key/")
    assert r.status_code == 200
    raw = webpush.b64url_decode(r.json()["public_key"])
    assert len(raw) == 65 and raw[0] == 0x04
    assert trio["anon"].get("/api/push/vapid-key/").status_code == 401


def test_vapid_key_without_keys_is_404_not_500(trio, settings):
    settings.VAPID_PRIVATE_KEY, settings.DEBUG = "", False
    webpush._vapid = None
    try:
        assert_error(trio["a"].get("/api/push/vapid-key/"), 404, "public_key")
    finally:
        webpush._vapid = None


def test_subscribe_is_idempotent_on_the_endpoint_and_delete_forgets_it(trio):
    sub = browser_subscription()
    first = trio["a"].post("/api/push/subscriptions/", sub, format="json")
    assert first.status_code == 201 and first.json()["endpoint"] == sub["endpoint"]
    again = trio["a"].post("/api/push/subscriptions/", sub, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # the same browser, now logged in as bob, takes the subscription over
    assert trio["b"].post("/api/push/subscriptions/", sub, format="json").status_code == 200
    assert list(PushSubscription.objects.values_list("user_id", flat=True)) == [trio["bob"].id]

    r = trio["b"].delete("/api/push/subscriptions/", {"endpoint": sub["endpoint"]}, format="json")
    assert r.status_code == 204 and not PushSubscription.objects.exists()
    assert trio["b"].delete("/api/push/subscriptions/", {"endpoint": sub["endpoint"]}, format="json").status_code == 204


@pytest.mark.parametrize("change, field", [
    (lambda s: {**s, "endpoint": "http://push.example.test/x"}, "endpoint"),  # not https (production)
    (lambda s: {**s, "endpoint": "not a url"}, "endpoint"),
    (lambda s: {k: v for k, v in s.items() if k != "endpoint"}, "endpoint"),
    (lambda s: {**s, "keys": {**s["keys"], "p256dh": s["keys"]["p256dh"][:-4]}}, "keys.p256dh"),  # wrong length
    (lambda s: {**s, "keys": {**s["keys"], "p256dh": "!!!"}}, "keys.p256dh"),
    (lambda s: {**s, "keys": {**s["keys"], "auth": b64(b"short")}}, "keys.auth"),
    (lambda s: {**s, "keys": "p256dh"}, "keys"),
])
def test_bad_subscriptions_are_400_naming_the_field(trio, settings, change, field):
    settings.CHAT_PUSH_ALLOW_HTTP = False
    assert_error(trio["a"].post("/api/push/subscriptions/", change(browser_subscription()), format="json"), 400, field)
    assert not PushSubscription.objects.exists()


def test_delete_without_endpoint_is_400(trio):
    assert_error(trio["a"].delete("/api/push/subscriptions/", {}, format="json"), 400, "endpoint")


def test_room_mute_put_get_delete(trio):
    path = f"/api/chat/rooms/{trio['room']['id']}/mute/"
    assert trio["b"].get(path).json() == {"room": trio["room"]["id"], "muted": False}
    assert trio["b"].put(path).json() == {"room": trio["room"]["id"], "muted": True}
    assert trio["b"].put(path).status_code == 200  # idempotent
    assert RoomMute.objects.filter(user=trio["bob"]).count() == 1
    assert trio["b"].get(path).json()["muted"] is True
    assert trio["b"].delete(path).json() == {"room": trio["room"]["id"], "muted": False}
    assert not RoomMute.objects.exists()
    assert_error(trio["c"].put(path), 404)  # not a member


def test_push_paths_are_in_the_openapi_schema(trio):
    schema = trio["anon"].get("/api/schema/?format=json").json()
    for path in ("/api/push/vapid-key/", "/api/push/subscriptions/", "/api/chat/rooms/{room_id}/mute/"):
        assert path in schema["paths"], sorted(schema["paths"])
