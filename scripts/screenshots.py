"""Screenshots of the main screens for the README (light theme, a Georgian conversation).

Starts the embedded demo (what `make run` serves: SQLite, the demo users and room) on a free port in
a throwaway directory, adds a short Georgian conversation between nino and giorgi through the HTTP
API, and captures with Debian's Chromium:

  docs/screenshots/login.png      the sign-in screen
  docs/screenshots/chat.png       the chat with the room sidebar (nino; giorgi online in another window)
  docs/screenshots/new-room.png   the new-conversation dialog with the people search

Run: .venv/bin/python scripts/screenshots.py
"""
from __future__ import annotations

import json
import sys
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.browser import CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD, embedded_server, ensure_spa, log_in  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 760}

CONVERSATION = [
    ("giorgi", "გამარჯობა, ნინო! როგორ ხარ?"),
    ("nino", "გამარჯობა! კარგად, გმადლობ. შენ?"),
    ("giorgi", "მეც კარგად. ახალი ვერსია უკვე გავუშვით — ჩატი ძალიან სწრაფია."),
    ("nino", "ვნახე! ათი ათასი შეტყობინება და სქროლი მაინც გლუვია."),
    ("giorgi", "Load test: zero lost or duplicated messages across the Redis failover."),
    ("nino", "საუკეთესო ამბავია. საღამოს შევხვდეთ რუსთაველზე, შვიდზე?"),
    ("giorgi", "შეთანხმებულია. იქ გნახავ!"),
]


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def conversation(base: str) -> int:
    tokens, ids = {}, {}
    for name in ("nino", "giorgi"):
        answer = call(base, "POST", "/api/auth/token/", {"username": name, "password": DEMO_PASSWORD})
        tokens[name], ids[name] = answer["token"], answer["user"]["id"]
    room = call(base, "POST", "/api/chat/rooms/", {"name": "", "kind": "direct", "members": [ids["giorgi"]]},
                tokens["nino"])
    for who, text in CONVERSATION:
        call(base, "POST", "/api/chat/messages/", {"room": room["id"], "content": text, "temp_id": uuid.uuid4().hex},
             tokens[who])
    return room["id"]


def main() -> None:
    from playwright.sync_api import sync_playwright

    ensure_spa()
    OUT.mkdir(parents=True, exist_ok=True)
    with embedded_server(10_000) as base, sync_playwright() as pw:
        room_id = conversation(base)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        options = {"viewport": VIEWPORT, "color_scheme": "light", "device_scale_factor": 1}
        page = browser.new_context(**options).new_page()
        page.goto(base + "/")
        page.get_by_test_id("login-username").wait_for()
        page.evaluate("document.fonts.ready")
        page.screenshot(path=str(OUT / "login.png"))

        # giorgi has the conversation open in another window: presence and read ticks are live.
        other = browser.new_context(**options).new_page()
        log_in(other, base, "giorgi")
        other.locator(f'[data-testid="room-item"][data-room-id="{room_id}"]').click()

        log_in(page, base, "nino")
        page.locator(f'[data-testid="room-item"][data-room-id="{room_id}"]').click()
        page.locator('[data-testid="message-item"][data-status="read"]').last.wait_for()
        page.get_by_test_id("message-input").fill("აბა, ხვალამდე!")
        page.evaluate("document.fonts.ready")
        page.wait_for_timeout(500)
        page.screenshot(path=str(OUT / "chat.png"))

        page.get_by_test_id("message-input").fill("")
        page.get_by_test_id("new-room").click()
        page.get_by_text("Group", exact=True).click()
        page.get_by_test_id("new-room-name").fill("გუნდი · Team")
        page.get_by_test_id("new-room-members").click()
        page.keyboard.type("a")
        page.locator(".ant-select-item-option", has_text="alice").click()
        page.keyboard.type("g")
        page.locator(".ant-select-item-option", has_text="giorgi").wait_for()
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / "new-room.png"))
        browser.close()
    for name in ("login", "chat", "new-room"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
