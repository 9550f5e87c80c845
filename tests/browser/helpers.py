"""What a user does in the SPA, through the DESIGN section 8 test ids."""
from playwright.sync_api import Page, expect

from chat.demo import DEMO_PASSWORD


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
