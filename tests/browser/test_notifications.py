"""Notifications in Chromium: the service worker at /sw.js, a push delivered through the DevTools
protocol, its click, the Notifications toggle and the room header's mute.

Chromium's own `pushManager.subscribe` needs Google's push service (FCM), which is not reachable
here (headless Chromium refuses the registration before that: "Registration failed - permission
denied"): the push is delivered with `ServiceWorker.deliverPushMessage` (what DevTools' "Push" button
does), and the toggle's POST/DELETE are exercised with a subscription object of the test's own,
put in place of PushManager's (the server checks its keys like any other). The real
`subscribe` is also clicked once, to see the app say it failed instead of hanging or lying.
"""
import json
import urllib.request

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.db.models import Q
from playwright.sync_api import expect

from chat import actions, notifications, push_ledger
from chat.models import Message, PushNotification, PushSubscription, RoomMute
from chat.webpush import b64url

from .conftest import off_the_browser_thread
from .helpers import log_in, open_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ENDPOINT = "https://push.invalid/wpush/v2/test-device-1"


@pytest.fixture
def vapid_server(monkeypatch):
    """The server under test with a VAPID key (the browser tests' server runs without DEBUG, so
    there is no dev pair): GET /api/push/vapid-key/ answers. Name it before chat_server in a
    test's arguments: pytest sets fixtures up in that order, and the server reads its env then."""
    private = ec.generate_private_key(ec.SECP256R1())
    monkeypatch.setenv("VAPID_PRIVATE_KEY", b64url(private.private_numbers().private_value.to_bytes(32, "big")))
    return b64url(private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def _client_keys() -> dict:
    """A browser's subscription keys as PushSubscription.toJSON() gives them (p256dh: an
    uncompressed P-256 point, auth: 16 bytes)."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    return {"p256dh": b64url(point), "auth": b64url(b"0123456789abcdef")}


def _own_push_manager(keys: dict) -> str:
    """An init script putting a subscription object of the test's own in place of PushManager's
    (which would ask FCM). Records the applicationServerKey it was given."""
    return """
      (() => {
        const json = { endpoint: %s, expirationTime: null, keys: %s };
        let current = null;
        const make = () => ({
          endpoint: json.endpoint,
          toJSON: () => json,
          unsubscribe: async () => { current = null; return true; },
        });
        PushManager.prototype.getSubscription = async function () { return current; };
        PushManager.prototype.subscribe = async function (options) {
          window.__applicationServerKey = Array.from(new Uint8Array(options.applicationServerKey));
          current = make();
          return current;
        };
      })();
    """ % (json.dumps(ENDPOINT), json.dumps(keys))


def _registration_id(page, base_url: str) -> str:
    """The service worker registration's id for the site root, from the DevTools protocol."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = page.context.new_cdp_session(page)
    found = {}
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: found.update(
        {r["scopeURL"]: r["registrationId"] for r in event["registrations"] if not r.get("isDeleted")}))
    cdp.send("ServiceWorker.enable")  # answers with the known registrations as events
    for _ in range(50):
        if base_url + "/" in found:
            break
        page.wait_for_timeout(100)  # a poll: the events arrive while Playwright waits
    assert base_url + "/" in found, f"no registration for {base_url}/: {found}"
    page.registration_cdp = cdp
    return found[base_url + "/"]


def _deliver(page, base_url: str, registration_id: str, payload: bytes) -> None:
    page.registration_cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": base_url, "registrationId": registration_id, "data": payload.decode()})


def _shown(page) -> list[dict]:
    return page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.ready;
        return (await registration.getNotifications()).map(
            (n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
    }""")


def _wait_shown(page, condition: str) -> None:
    """Wait until the registration's notifications `n` meet `condition` (a JS expression)."""
    page.wait_for_function(
        f"async () => {{ const n = await (await navigator.serviceWorker.ready).getNotifications(); return {condition}; }}")


def _wait_for_exactly(page, expected: dict) -> None:
    """Wait until the one notification on screen is `expected` (Chromium's notification store
    settles a replacement asynchronously); fail with what is shown instead."""
    try:
        page.wait_for_function("""async (expected) => {
            const n = await (await navigator.serviceWorker.ready).getNotifications();
            const shown = n.map((x) => ({ title: x.title, body: x.body, tag: x.tag, data: x.data }));
            return JSON.stringify(shown) === JSON.stringify([expected]);
        }""", arg=expected)
    except Exception:
        assert _shown(page) == [expected]
        raise


def _worker_payload(message_id: int, recipient, unread: int = 1) -> bytes:
    """What the worker would send this recipient, built the worker's way: a ledger row of its
    own, loaded (chat.push_ledger.load) and made into a payload (chat.notifications.payload); the
    row and its subscription are gone again afterwards."""
    def build() -> bytes:
        message = Message.objects.get(id=message_id)
        subscription = PushSubscription.objects.create(user=recipient, endpoint=f"{ENDPOINT}-worker-{message_id}",
                                                       p256dh="-", auth="-")
        try:
            row = PushNotification.objects.create(subscription=subscription, message=message, room_id=message.room_id,
                                                  seq=message.seq, unread=unread)
            [notice] = push_ledger.load(Q(id=row.id))
            return notifications.payload(notice)
        finally:
            subscription.delete()

    return off_the_browser_thread(build)


def test_a_push_shows_a_notification_and_its_click_opens_the_room(
        chat_server, new_page, browser_user, browser_room):
    nino, giorgi = browser_user("nino"), browser_user("giorgi")
    room = browser_room(owner=nino, members=[giorgi], name="სამზარეულო")
    sent = [off_the_browser_thread(actions.send_message, nino, room_id=room["id"], content=text,
                                   temp_id=f"t-{i}").message
            for i, text in enumerate(["პირველი", "მეორე — ვახშამი 8-ზე?"])]
    page = new_page()
    page.context.grant_permissions(["notifications"], origin=chat_server)
    log_in(page, chat_server, "giorgi")
    registration = _registration_id(page, chat_server)
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)") == chat_server + "/"

    # One message, then the burst's replacement with the same tag: one notification on screen.
    _deliver(page, chat_server, registration, _worker_payload(sent[0]["id"], giorgi))
    _wait_for_exactly(page, {"title": "nino in სამზარეულო", "body": "პირველი", "tag": f"room-{room['id']}",
                             "data": {"room": room["id"], "seq": 1, "message": sent[0]["id"]}})
    _deliver(page, chat_server, registration, _worker_payload(sent[1]["id"], giorgi, unread=2))
    _wait_for_exactly(page, {"title": "2 new messages in სამზარეულო", "body": "nino: მეორე — ვახშამი 8-ზე?",
                             "tag": f"room-{room['id']}",
                             "data": {"room": room["id"], "seq": 2, "message": sent[1]["id"]}})

    # The click (dispatched in the worker: headless Chromium has no notification to click) moves
    # the open window to the room at that message, through the app's router.
    assert "/rooms/" not in page.url
    [worker] = [w for w in page.context.service_workers if w.url == chat_server + "/sw.js"]
    worker.evaluate("""async () => {
        const [notification] = await self.registration.getNotifications();
        const click = new NotificationEvent('notificationclick', { notification });
        let handled = null;
        // A script-dispatched event cannot extend its lifetime; keep the handler's promise instead.
        click.waitUntil = (promise) => { handled = promise; };
        self.dispatchEvent(click);
        await handled;
    }""")
    expect(page).to_have_url(f"{chat_server}/rooms/{room['id']}/messages/{sent[1]['id']}")
    expect(page.get_by_test_id("message-list")).to_be_visible()
    expect(page.locator(".chat-title")).to_have_text("სამზარეულო")
    _wait_shown(page, "n.length === 0")  # the click closed it
    assert page.errors == []


def test_an_empty_or_foreign_push_still_shows_something(chat_server, new_page, browser_user):
    browser_user("giorgi")
    page = new_page()
    page.context.grant_permissions(["notifications"], origin=chat_server)
    log_in(page, chat_server, "giorgi")
    registration = _registration_id(page, chat_server)
    _deliver(page, chat_server, registration, b"not json")
    _wait_for_exactly(page, {"title": "Chat", "body": "You have new messages.", "tag": "chat", "data": None})


def test_the_service_worker_is_served_at_the_root(chat_server):
    with urllib.request.urlopen(chat_server + "/sw.js", timeout=10) as response:
        headers = response.headers
        body = response.read().decode()
    assert headers["Service-Worker-Allowed"] == "/"
    assert headers["Cache-Control"] == "no-cache"
    assert "javascript" in headers["Content-Type"]
    assert "worker-src 'self'" in headers["Content-Security-Policy"]
    assert "notificationclick" in body and "showNotification" in body


def test_the_toggle_asks_only_on_its_click_and_says_when_the_browser_refuses(
        vapid_server, chat_server, new_page, browser_user):
    browser_user("giorgi")
    page = new_page()  # no permission granted: Playwright's Chromium denies the prompt
    log_in(page, chat_server, "giorgi")
    page.get_by_test_id("settings-open").click()
    status = page.get_by_test_id("notifications-status")
    expect(status).to_have_attribute("data-status", "off")
    assert page.evaluate("Notification.permission") == "default"  # nothing asked before the click
    page.get_by_test_id("notifications-toggle").click()
    expect(status).to_have_attribute("data-status", "denied")
    expect(status).to_contain_text("blocked")
    expect(page.get_by_test_id("notifications-toggle")).not_to_be_checked()
    assert PushSubscription.objects.count() == 0


def test_chromiums_own_subscribe_fails_here_and_the_app_says_so(
        vapid_server, chat_server, new_page, browser_user):
    browser_user("giorgi")
    page = new_page()
    page.context.grant_permissions(["notifications"], origin=chat_server)
    log_in(page, chat_server, "giorgi")
    page.get_by_test_id("settings-open").click()
    page.get_by_test_id("notifications-toggle").click()
    status = page.get_by_test_id("notifications-status")
    expect(status).to_have_attribute("data-status", "off", timeout=30_000)
    expect(status).to_contain_text("could not subscribe")
    assert PushSubscription.objects.count() == 0


def test_the_toggle_posts_and_deletes_the_subscription(vapid_server, chat_server, new_page, browser_user):
    giorgi = browser_user("giorgi")
    keys = _client_keys()
    page = new_page()
    page.context.grant_permissions(["notifications"], origin=chat_server)
    page.context.add_init_script(_own_push_manager(keys))
    log_in(page, chat_server, "giorgi")
    page.get_by_test_id("settings-open").click()
    toggle, status = page.get_by_test_id("notifications-toggle"), page.get_by_test_id("notifications-status")
    expect(status).to_have_attribute("data-status", "off")

    toggle.click()
    expect(status).to_have_attribute("data-status", "on")
    expect(toggle).to_be_checked()
    # subscribed with the server's VAPID key, and the server stored this device for giorgi
    assert b64url(bytes(page.evaluate("window.__applicationServerKey"))) == vapid_server
    stored = PushSubscription.objects.get()
    assert (stored.user_id, stored.endpoint, stored.p256dh, stored.auth) == (
        giorgi.id, ENDPOINT, keys["p256dh"], keys["auth"])

    toggle.click()
    expect(status).to_have_attribute("data-status", "off")
    expect(toggle).not_to_be_checked()
    assert PushSubscription.objects.count() == 0


def test_the_bell_mutes_and_unmutes_the_room(chat_server, new_page, browser_user, browser_room):
    nino, giorgi = browser_user("nino"), browser_user("giorgi")
    room = browser_room(owner=nino, members=[giorgi], name="ხმაურიანი")
    page = new_page()
    log_in(page, chat_server, "giorgi")
    open_room(page, room["id"])
    bell = page.get_by_test_id("room-mute")
    expect(bell).to_have_attribute("data-muted", "false")
    with page.expect_response(lambda r: r.url.endswith(f"/api/chat/rooms/{room['id']}/mute/")) as answer:
        bell.click()
    assert answer.value.request.method == "PUT" and answer.value.status == 200
    expect(bell).to_have_attribute("data-muted", "true")
    assert RoomMute.objects.filter(user=giorgi, room_id=room["id"]).exists()

    page.reload()  # the room list carries the mute
    bell = page.get_by_test_id("room-mute")
    expect(bell).to_have_attribute("data-muted", "true")
    with page.expect_response(lambda r: r.url.endswith(f"/api/chat/rooms/{room['id']}/mute/")) as answer:
        bell.click()
    assert answer.value.request.method == "DELETE" and answer.value.status == 200
    expect(bell).to_have_attribute("data-muted", "false")
    assert not RoomMute.objects.filter(user=giorgi, room_id=room["id"]).exists()


def _set_visibility(page, state: str) -> None:
    """Headless Chromium keeps every tab 'visible' (a background tab or a minimized window
    included), so the tab's visibility is set the way the browser reports it: the property
    and its visibilitychange event."""
    page.evaluate("""(state) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
        document.dispatchEvent(new Event('visibilitychange'));
    }""", state)


def test_the_hidden_tab_shows_the_unread_total_in_its_title(chat_server, new_page, browser_user, browser_room):
    nino, giorgi = browser_user("nino"), browser_user("giorgi")
    rooms = [browser_room(owner=nino, members=[giorgi], name=name) for name in ("ერთი", "ორი")]
    page = new_page()
    log_in(page, chat_server, "giorgi")
    expect(page).to_have_title("Chat")

    _set_visibility(page, "hidden")
    for room, text in ((rooms[0], "a"), (rooms[0], "b"), (rooms[1], "c")):
        off_the_browser_thread(actions.send_message, nino, room_id=room["id"], content=text, temp_id=f"t-{text}")
    expect(page).to_have_title("(3) Chat")

    _set_visibility(page, "visible")
    expect(page).to_have_title("Chat")
