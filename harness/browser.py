"""The embedded product for browser runs (bench-web, the README screenshots) and the Chromium
they drive: Debian's, headless, through Playwright."""
import contextlib
import os
import subprocess
import sys
import tempfile

from harness.processes import ROOT, launch

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DEMO_PASSWORD = "chat-demo-2026"  # chat.demo's; the embedded product runs in a child process


@contextlib.contextmanager
def embedded_server(messages: int = 10_000):
    """What `make run` serves (SQLite, in-memory layer, the demo users and a room of `messages`
    messages, the built SPA) on a free port in a throwaway data directory; yields its base URL."""
    var = tempfile.mkdtemp(prefix="chat-embedded-")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "REDIS_SENTINELS", "REDIS_MASTER_NAME", "DJANGO_SETTINGS_MODULE")}
    env.update(CHAT_VAR_DIR=var, DEBUG="false")
    run = {"cwd": ROOT, "env": {**env, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}, "check": True,
           "stdout": subprocess.DEVNULL}
    subprocess.run([sys.executable, "-m", "config.launch", "migrate"], **run)
    subprocess.run([sys.executable, "manage.py", "seed_demo", "--messages", str(messages)], **run)
    server = launch("embedded", env)
    try:
        server.wait_ready(30)
        yield server.url
    finally:
        server.terminate()


def ensure_spa() -> None:
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT / "frontend", check=True)


def log_in(page, base_url: str, username: str = "nino") -> None:
    page.goto(base_url + "/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("room-item").first.wait_for()
    page.wait_for_selector('[data-testid="connection-status"][data-state="online"]')
