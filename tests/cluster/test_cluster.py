"""The cluster comes up healthy, serves the SPA and the API through the proxy, and a new user
chats in the browser through it exactly as with `make run`."""
import json
import secrets
import urllib.request

import pytest
from playwright.sync_api import expect, sync_playwright

from cluster import control

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"


def test_every_process_is_running_and_ready(cluster_topology):
    rows = control.status_rows(cluster_topology)
    assert {r["process"] for r in rows} == set(cluster_topology.processes())
    assert all(r["state"] == "RUNNING" for r in rows), rows
    for row in rows:
        if row["process"].startswith(("ws-", "api-")):
            assert "/readyz 200" in row["health"] and "proxy=UP" in row["health"], row
    assert control.proxy_backends_up(cluster_topology)
    status, body = control.http_get(f"{cluster_topology.url}/readyz")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_the_proxy_serves_the_spa_and_the_api(cluster_topology):
    status, page = control.http_get(f"{cluster_topology.url}/")
    assert status == 200 and '<div id="root">' in page
    status, _ = control.http_get(f"{cluster_topology.url}/api/chat/rooms/")
    assert status == 401  # the API answers (unauthenticated), not the SPA


def _register(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/")
    page.get_by_test_id("register-link").click()
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("room-list")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "online")


def test_new_users_chat_in_the_browser_through_the_proxy(cluster_topology):
    base = cluster_topology.url
    tag = secrets.token_hex(3)
    alice, bob, password = f"alice{tag}", f"bob{tag}", "cluster-pass-2026"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            a, b = browser.new_context().new_page(), browser.new_context().new_page()
            _register(a, base, alice, password)
            _register(b, base, bob, password)
            # alice starts a direct conversation with bob
            a.get_by_test_id("new-room").click()
            a.get_by_test_id("new-room-members").click()
            a.keyboard.type(bob)
            a.locator(".ant-select-item-option", has_text=bob).click()
            a.locator(".ant-modal-title").click()  # a multiple select keeps its list open
            a.get_by_role("button", name="Create").click()
            expect(a.get_by_test_id("message-list")).to_be_visible()
            a.get_by_test_id("message-input").fill("hello through the proxy")
            a.get_by_test_id("message-input").press("Enter")
            # bob gets the new room live and the message in it
            b.get_by_test_id("room-item").first.click()
            expect(b.get_by_test_id("message-content")).to_have_text(["hello through the proxy"])
            b.get_by_test_id("message-input").fill("and back")
            b.get_by_test_id("message-input").press("Enter")
            expect(a.get_by_test_id("message-content")).to_have_text(["hello through the proxy", "and back"])
        finally:
            browser.close()
    token = _token(base, alice, password)
    request = urllib.request.Request(f"{base}/api/chat/rooms/", headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        rooms = json.loads(response.read())
    assert rooms, "alice's room is stored"


def _token(base: str, username: str, password: str) -> str:
    request = urllib.request.Request(f"{base}/api/auth/token/", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["token"]
