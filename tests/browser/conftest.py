"""Browser tests: Debian's Chromium (through Playwright) against the real backend.

Each test starts its own Daphne on the pytest test database (PostgreSQL) and the session's Redis
prefixes, serving the built SPA from frontend/dist. Users and rooms are created in the test through
`chat.actions` and committed (`django_db(transaction=True)`), so the server process sees them.
"""
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from apps.ops.demo import DEMO_PASSWORD
from harness.browser import CHROMIUM, CHROMIUM_ARGS
from harness.processes import ROOT, ws_server
from tests.support.database import child_database_url

DIST = ROOT / "frontend" / "dist"


@pytest.fixture(scope="session")
def spa_dist() -> Path:
    """The built SPA; `make test` builds it first, a bare pytest run builds it here if missing
    (or older than the service worker: a dist without sw.js)."""
    if not (DIST / "index.html").exists() or not (DIST / "sw.js").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT / "frontend", check=True, capture_output=True)
    return DIST


@pytest.fixture
def chat_server(spa_dist, transactional_db):
    """A real Daphne (HTTP + WebSocket + SPA) on the test database; yields its base URL."""
    server = ws_server({
        "DATABASE_URL": child_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": os.environ["REDIS_URL"],
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "FRONTEND_DIST": str(spa_dist),
        "CHAT_VAR_DIR": str(ROOT / "var"),
    })
    try:
        server.wait_ready(30)
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.terminate()
        log = server.output()
        if "Traceback" in log:
            print(f"--- daphne log ---\n{log[-6000:]}")


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Playwright's sync API keeps an asyncio loop running in this
    thread, which makes Django refuse ORM calls; the tests here use the ORM only between browser
    steps (never concurrently with them), so that check is switched off while the browser lives."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser):
    """Pages in separate browser contexts (separate storage: one user each)."""
    contexts = []

    def make(width: int = 1100, height: int = 760):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


def off_the_browser_thread(fn, *args, **kwargs):
    """Run fn in a short-lived thread: actions that publish events (async_to_sync) refuse to run in
    a thread with a running event loop, which Playwright's sync API keeps in this one."""
    import threading

    from django.db import connection

    result, error = [], []

    def run():
        try:
            result.append(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            error.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if error:
        raise error[0]
    return result[0]


@pytest.fixture
def browser_room(make_room):
    """make_room, run where it can publish its room_added event."""
    return lambda **kwargs: off_the_browser_thread(make_room, **kwargs)


@pytest.fixture
def browser_user(django_user_model):
    """A user whose password the server process can check (the test settings' MD5 hasher is not
    in the server's list), with a cheap PBKDF2 hash."""
    def make(username: str):
        user = django_user_model.objects.create(username=username)
        user.password = PBKDF2PasswordHasher().encode(DEMO_PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
        user.save(update_fields=["password"])
        return user
    return make
