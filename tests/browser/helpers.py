"""What a user does in the SPA, through its data-testid attributes."""
from playwright.sync_api import Page, expect

from apps.ops.demo import DEMO_PASSWORD


def log_in(page: Page, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base_url + "/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("room-list")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "online")


def open_room(page: Page, room_id: int) -> None:
    page.locator(f'[data-testid="room-item"][data-room-id="{room_id}"]').click()
    expect(page.get_by_test_id("message-list")).to_be_visible()


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("message-input")
    box.fill(text)
    box.press("Enter")


def item_by_seq(page: Page, seq: int):
    return page.locator(f'[data-testid="message-item"][data-seq="{seq}"]')


def contents(page: Page) -> list[str]:
    """Message texts currently rendered, top to bottom."""
    return page.locator('[data-testid="message-item"] [data-testid="message-content"]').all_inner_texts()


def http_json(base_url: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    """A plain HTTP call to the server under test (another client than the browser)."""
    import json
    import urllib.request

    request = urllib.request.Request(base_url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def api_token(base_url: str, username: str, password: str = DEMO_PASSWORD) -> str:
    return http_json(base_url, "POST", "/api/auth/token/", {"username": username, "password": password})["token"]
