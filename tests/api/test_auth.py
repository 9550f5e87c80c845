import pytest
from django.test import override_settings
from knox.models import AuthToken

from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_register_login_me(api_client):
    anon = api_client()
    r = anon.post("/api/auth/register/", {"username": "ნინო", "password": "long-enough-9"}, format="json")
    assert r.status_code == 201
    data = r.json()
    assert set(data) == {"token", "user"} and data["user"]["username"] == "ნინო"
    assert "ნინო".encode() in r.content and b"\\u" not in r.content
    assert_error(anon.post("/api/auth/register/", {"username": "ნინო", "password": "long-enough-9"},
                           format="json"), 409, "username")

    r = anon.post("/api/auth/token/", {"username": "ნინო", "password": "long-enough-9"}, format="json")
    # a token per login (device): both work, each on its own
    assert r.status_code == 200 and r.json()["token"] != data["token"] and r.json()["user"] == data["user"]
    for token in (data["token"], r.json()["token"]):
        anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        me = anon.get("/api/auth/me/")
        assert me.status_code == 200 and me.json() == data["user"]
    # only digests are stored, never the key
    assert not AuthToken.objects.filter(digest=data["token"]).exists()
    assert AuthToken.objects.filter(user_id=data["user"]["id"]).count() == 2


@pytest.mark.parametrize("body, field", [
    ({"password": "long-enough-9"}, "username"),
    ({"username": "", "password": "long-enough-9"}, "username"),
    ({"username": "has space", "password": "long-enough-9"}, "username"),
    ({"username": "x" * 151, "password": "long-enough-9"}, "username"),
    ({"username": ["x"], "password": "long-enough-9"}, "username"),
    ({"username": "someone"}, "password"),
    ({"username": "someone", "password": "short"}, "password"),
    ({"username": "someone", "password": "password"}, "password"),
    ({"username": "someone", "password": 12345678}, "password"),
    ([1, 2], "non_field_errors"),
])
def test_register_bad_input(api_client, body, field):
    assert_error(api_client().post("/api/auth/register/", body, format="json"), 400, field)


def test_login_refusals(api_client, make_user):
    make_user("tamar", password="right-password-1")
    anon = api_client()
    assert_error(anon.post("/api/auth/token/", {"username": "tamar", "password": "wrong"}, format="json"),
                 400, "password")
    assert_error(anon.post("/api/auth/token/", {"username": "nobody", "password": "x"}, format="json"),
                 400, "password")
    assert_error(anon.post("/api/auth/token/", {"password": "x"}, format="json"), 400, "username")
    assert_error(anon.post("/api/auth/token/", {"username": "tamar"}, format="json"), 400, "password")
    # NUL cannot be stored in PostgreSQL text: still a clean 400, never a 500
    assert anon.post("/api/auth/token/", {"username": "ta\x00mar", "password": "x"}, format="json").status_code == 400
    r = anon.post("/api/auth/token/", b"{not json", content_type="application/json")
    assert_error(r, 400)


def test_unauthenticated_is_401(api_client, trio):
    anon = api_client()
    room_id = trio["room"]["id"]
    for method, path in [("get", "/api/auth/me/"), ("get", "/api/users/"), ("get", "/api/chat/rooms/"),
                         ("post", "/api/chat/rooms/"), ("get", f"/api/chat/rooms/{room_id}/"),
                         ("get", f"/api/chat/messages/?room={room_id}"), ("post", "/api/chat/messages/"),
                         ("post", f"/api/chat/rooms/{room_id}/read/"), ("patch", "/api/chat/messages/1/"),
                         ("put", "/api/chat/messages/1/reactions/👍/")]:
        r = getattr(anon, method)(path, {}, format="json")
        assert_error(r, 401)
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(anon.get("/api/chat/rooms/"), 401)
    anon.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    assert_error(anon.get("/api/chat/rooms/"), 401)


def test_expired_token_is_401_and_login_renews_it(api_client, make_user):
    user = make_user("expiring", password="right-password-1")
    client = api_client(user)
    assert client.get("/api/auth/me/").status_code == 200
    with override_settings(CHAT_TOKEN_TTL_SECONDS=0):
        expired = api_client(user)
        assert_error(expired.get("/api/auth/me/"), 401)
    assert client.get("/api/auth/me/").status_code == 200  # the other device's token lives on
    r = api_client().post("/api/auth/token/", {"username": "expiring", "password": "right-password-1"},
                          format="json")
    assert r.status_code == 200
    assert AuthToken.objects.filter(user=user).count() == 2  # the expired one was swept


def _login(api_client, username, password):
    r = api_client().post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert r.status_code == 200
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    return client


def test_logout_revokes_only_that_token(api_client, make_user):
    make_user("leaving", password="right-password-1")
    phone, laptop = (_login(api_client, "leaving", "right-password-1") for _ in range(2))
    assert phone.post("/api/auth/logout/").status_code == 204
    assert_error(phone.get("/api/auth/me/"), 401)
    assert_error(phone.post("/api/auth/logout/"), 401)
    assert laptop.get("/api/auth/me/").status_code == 200


def test_logout_everywhere_revokes_every_token(api_client, make_user):
    user = make_user("leaving-all", password="right-password-1")
    devices = [_login(api_client, "leaving-all", "right-password-1") for _ in range(3)]
    assert devices[0].post("/api/auth/logout-all/").status_code == 204
    for device in devices:
        assert_error(device.get("/api/auth/me/"), 401)
    assert not AuthToken.objects.filter(user=user).exists()
    assert_error(api_client().post("/api/auth/logout/"), 401)


def test_deactivated_user_token_is_401(api_client, make_user):
    user = make_user("deactivated", password="right-password-1")
    client = api_client(user)
    user.is_active = False
    user.save()
    assert_error(client.get("/api/auth/me/"), 401)


def test_user_search(trio):
    r = trio["a"].get("/api/users/", {"search": trio["bob"].username})
    assert r.status_code == 200
    assert {"id": trio["bob"].id, "username": trio["bob"].username} in r.json()
    assert trio["a"].get("/api/users/", {"search": "no-such-user-zzz"}).json() == []
    assert trio["a"].get("/api/users/", {"search": "a\x00b"}).status_code in (200, 400)


def test_unknown_api_paths_are_json_404(trio):
    for method in ("get", "post", "patch", "delete", "put"):
        for path in ("/api/nope/", "/api/chat/rooms/0/", "/api/chat/messages/abc/", "/api/chat/rooms/1/read/x/",
                     "/api/line%0Abreak/"):
            assert_error(getattr(trio["a"], method)(path), 404)


def test_session_cookie_auth_needs_csrf_for_writes(trio):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trio["alice"])
    r = browser.get("/api/chat/rooms/")
    assert r.status_code == 200 and r.json()[0]["id"] == trio["room"]["id"]
    r = browser.post("/api/chat/messages/", {"room": trio["room"]["id"], "content": "x", "temp_id": "c"},
                     content_type="application/json")
    data = assert_error(r, 403)
    assert "CSRF" in data["detail"]


def test_missing_trailing_slash_still_redirects(trio):
    r = trio["a"].get("/api/chat/rooms")
    assert r.status_code == 301 and r["Location"].endswith("/api/chat/rooms/")
