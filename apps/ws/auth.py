"""Who is on the socket: `?token=<key>`, or the session cookie from a permitted origin.

The middleware only records what it found; the consumer accepts and then closes with 4001, so
the client sees the close code (closing before accepting becomes an HTTP 403 without one).
"""
from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts import tokens
from apps.ws import db


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope) -> bool:
    """Cookies ride along on cross-site sockets, so a cookie-authenticated socket must come from
    this site (or a configured origin). Non-browser clients send no Origin and prove themselves
    with a token instead."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    if origin in settings.WS_ALLOWED_ORIGINS:
        return True
    origin_host = urlparse(origin).netloc
    host = _header(scope, b"host")
    if host and origin_host == host:
        return True
    hostname = origin_host.rsplit(":", 1)[0] if not origin_host.startswith("[") else origin_host.split("]")[0] + "]"
    # A named host only: a wildcard ALLOWED_HOSTS ("*", ".example.com") says which Host headers
    # the server answers, not which sites may ride on a user's cookie (cross-site hijacking).
    return hostname in settings.ALLOWED_HOSTS and not hostname.startswith(".")


class SocketAuthMiddleware:
    """A token socket is resolved from its token alone, on the domain thread pool: it skips the
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
        user = await db.call(tokens.user_for_token, query["token"][0])
        scope = {**scope, "user": user or AnonymousUser(), "auth_via": "token" if user else None}
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
