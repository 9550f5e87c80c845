"""Who is on the socket: `?token=<key>`, or the session cookie from a permitted origin.

The middleware only records what it found; the consumer accepts and then closes with 4001, so
the client sees the close code (closing before accepting becomes an HTTP 403 without one).
"""
from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from config import proxies


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _origin_parts(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, the default port filled in; None when unparsable."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parsed.scheme, parsed.scheme)
    if scheme not in ("http", "https") or not parsed.hostname:
        return None
    return scheme, parsed.hostname.lower(), port or (443 if scheme == "https" else 80)


def _site_origin(scope) -> tuple[str, str, int] | None:
    """This site's own origin as the socket was reached: the Host header and the scheme of the
    connection (wss, or https as a trusted proxy reports it in X-Forwarded-Proto)."""
    host = _header(scope, b"host")
    if not host:
        return None
    secure = scope.get("scheme") in ("wss", "https")
    peer = (scope.get("client") or [None])[0]
    if not secure and proxies.is_trusted(peer):  # TLS ended at a trusted proxy that says so
        secure = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip() in ("https", "wss")
    return _origin_parts(f"{'https' if secure else 'http'}://{host}")


def origin_allowed(scope) -> bool:
    """Cookies ride along on cross-site sockets, so a cookie-authenticated socket must come from
    this site (or a configured origin). Non-browser clients send no Origin and prove themselves
    with a token instead. Scheme, host and port are compared: `http://localhost:9999` is
    another site than `http://localhost:8000`."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    parts = _origin_parts(origin)
    if parts is None:
        return False
    if any(parts == _origin_parts(allowed) for allowed in settings.WS_ALLOWED_ORIGINS):
        return True
    return parts == _site_origin(scope)


class SocketAuthMiddleware:
    """A token socket carries its key to the consumer, which resolves it (accounts.tokens) in the
    same trip to the domain thread pool as the socket's rooms: one trip per connect instead of
    two, and a connect's trips bound how many a ws process completes per second. It skips the
    session machinery (a session lookup on Channels' one shared database thread, with a health
    check query, on every connect). Without a token, the session cookie is tried, from this
    site's origin only."""

    def __init__(self, inner):
        self.inner = inner
        self.cookie_stack = AuthMiddlewareStack(_CookieOriginCheck(inner))

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" not in query:
            return await self.cookie_stack(scope, receive, send)
        scope = {**scope, "user": AnonymousUser(), "auth_via": None, "token_key": query["token"][0]}
        return await self.inner(scope, receive, send)


class _CookieOriginCheck:
    """After channels' session middleware: keep the cookie's user only from a permitted origin."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        authenticated = bool(user and user.is_authenticated)
        via = "cookie" if authenticated and origin_allowed(scope) else None
        scope = {**scope, "auth_via": via, "user": user if via else AnonymousUser()}
        return await self.inner(scope, receive, send)


def auth_stack(inner):
    return SocketAuthMiddleware(inner)
