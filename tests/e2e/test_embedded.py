"""The embedded run as `make run` starts it (dev settings, no Redis, SQLite), with DEBUG off:
the SPA and static files are served, errors are the user's, not Django's debug pages."""
import os
import urllib.error
import urllib.request

import pytest

from harness import processes

pytestmark = pytest.mark.e2e


@pytest.fixture
def embedded(tmp_path):
    proc = processes.launch("embedded", {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}",
                                         "REDIS_URL": None, "DEBUG": None, "CHAT_VAR_DIR": str(tmp_path)})
    try:
        proc.wait_ready(60)
        yield f"http://127.0.0.1:{proc.port}"
    finally:
        proc.kill()


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def test_spa_and_static_files_are_served_without_debug(embedded):
    status, body, headers = _get(embedded + "/rooms/1")
    assert status == 200 and b'id="root"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    asset = next(part.split('"')[0] for part in body.decode().split('src="')[1:])
    assert _get(embedded + asset)[0] == 200
    assert _get(embedded + "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")[0] == 200
    for missing in ("/static/no-such-file.js", "/assets/no-such-file.js", "/api/no-such-thing/"):
        status, body, _ = _get(embedded + missing)
        assert status == 404 and b"URLconf" not in body and b"Traceback" not in body and b"DEBUG" not in body
