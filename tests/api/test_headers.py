"""Browser headers on every answer; /metrics for the cluster only; the embedded run without DEBUG
(still serving the SPA and static files)."""
import os
import subprocess
import sys

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/rooms/5", "/api/chat/rooms/", "/api/docs/", "/healthz"])
def test_security_headers_everywhere(path):
    r = Client().get(path)
    csp = _csp(r)
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "'self'" in csp["connect-src"] and "ws://testserver" in csp["connect-src"]
    assert r["X-Frame-Options"] == "DENY"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in r["Permissions-Policy"] and "microphone=()" in r["Permissions-Policy"]


def test_connect_src_names_wss_behind_tls(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    r = Client().get("/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="testserver")
    assert "wss://testserver" in _csp(r)["connect-src"]


def test_the_built_spa_has_no_inline_script(settings):
    index = settings.FRONTEND_DIST / "index.html"
    assert index.exists(), "make test builds the SPA first"
    html = index.read_text()
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
    assert scripts and all(body.strip() == "" for body in scripts)
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers either


def test_the_service_worker_is_served_at_the_root_with_its_scope(settings):
    assert (settings.FRONTEND_DIST / "sw.js").exists(), "make test builds the SPA (and its worker) first"
    r = Client().get("/sw.js")
    assert r.status_code == 200 and "javascript" in r["Content-Type"]
    assert r["Service-Worker-Allowed"] == "/" and r["Cache-Control"] == "no-cache"
    assert _csp(r)["worker-src"] == ["'self'"]
    assert b"notificationclick" in b"".join(r.streaming_content if r.streaming else [r.content])


def test_the_service_worker_path_is_never_the_spa_index():
    """Before a build there is no /sw.js: a 404, not index.html (a browser would try to run it)."""
    from django.urls import Resolver404, resolve

    with pytest.raises(Resolver404):
        resolve("/sw.js")
    assert resolve("/sw.jsx").url_name == "spa"


def test_docs_script_is_a_separate_file():
    page = Client().get("/api/docs/")
    assert page.status_code == 200 and b"<script>" not in page.content.replace(b" ", b"")
    assert Client().get("/api/docs/?script").status_code == 200


def test_metrics_need_the_bearer_token_when_set(settings):
    assert Client().get("/metrics").status_code == 200  # no token configured: open (embedded)
    settings.METRICS_REQUIRE_TOKEN = True  # production without a token: closed to everyone
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    r = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert r.status_code == 200 and b"chat_" in r.content


def _settings_of(module: str, **env) -> str:
    code = (f"import os; os.environ['DJANGO_SETTINGS_MODULE'] = '{module}'\n"
            "from django.conf import settings\n"
            "print(settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, settings.TRUSTED_PROXIES,"
            " settings.WHITENOISE_USE_FINDERS)")
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "TRUSTED_PROXIES")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_embedded_runs_without_debug_and_trusts_no_proxy():
    assert _settings_of("config.settings.dev") == "False False 0 [] True"
    assert _settings_of("config.settings.dev", DEBUG="1").startswith("True")


def test_production_redirects_to_https_with_hsts():
    env = {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "chat.example", "DATABASE_URL": "postgres://u@h/db",
           "REDIS_URL": "redis://127.0.0.1:6379/0", "METRICS_TOKEN": "t"}
    assert _settings_of("config.settings.production", **env) == "False True 31536000 [] True"
    off = _settings_of("config.settings.production", **env, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0")
    assert off.startswith("False False 0")
