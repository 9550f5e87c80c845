"""Throttles (DRF's, on the shared cache: Redis in production, local memory embedded).

Rates are in CHAT_THROTTLE_RATES by scope; a throttled request gets 429
with Retry-After (docs/api.md). The client address is the connection's peer, or the address a
trusted proxy (TRUSTED_PROXIES, config/proxies.py) reports in X-Forwarded-For: a header from anyone else is ignored,
so a client cannot pick a fresh address for every request.
"""
import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from chat.text import username_key
from config import proxies


def client_address(request) -> str:
    return proxies.client_address(request.META.get("REMOTE_ADDR") or "", request.META.get("HTTP_X_FORWARDED_FOR"))


class _Throttle(SimpleRateThrottle):
    """Rates from CHAT_THROTTLE_RATES, read when the throttle is made (per request), so they
    follow the settings (DRF's own rates are bound once, at import)."""

    def get_rate(self):
        return settings.CHAT_THROTTLE_RATES.get(self.scope)


class _ByAddress(_Throttle):
    def get_cache_key(self, request, view):
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class LoginAddressThrottle(_ByAddress):
    """Logins from one address, whatever the usernames (password spraying)."""

    scope = "login_address"


class RegisterAddressThrottle(_ByAddress):
    scope = "register_address"


class LoginUsernameThrottle(_Throttle):
    """Logins for one username (by its key, so `NINO` counts for `nino`), from any address
    (password guessing spread over many addresses)."""

    scope = "login_username"

    def get_cache_key(self, request, view):
        username = request.data.get("username") if request.method == "POST" and isinstance(request.data, dict) else None
        if not isinstance(username, str) or not username or "\x00" in username:
            return None
        # A digest: a bounded cache key for any name (lone surrogates included: the view refuses them)
        ident = hashlib.sha256(username_key(username[:150]).encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class _ByUser(_Throttle):
    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class UserSearchThrottle(_ByUser):
    scope = "user_search"


class SendThrottle(_ByUser):
    """HTTP sends of one user on the socket's budget: CHAT_WS_RATE_BURST at once, refilled at
    CHAT_WS_RATE_PER_SECOND (a window of burst / rate seconds holding `burst` sends)."""

    scope = "send"

    def get_rate(self):
        return "send"  # any non-None value: parse_rate below reads the socket's settings

    def parse_rate(self, rate):
        burst = settings.CHAT_WS_RATE_BURST
        return burst, max(1, round(burst / settings.CHAT_WS_RATE_PER_SECOND))

    def get_cache_key(self, request, view):
        return super().get_cache_key(request, view) if request.method == "POST" else None
