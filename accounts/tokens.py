"""API tokens: issue one for a user, resolve a key back to its user. Expiry:
CHAT_TOKEN_TTL_SECONDS after issue (a login renews an expired token).

The whole token API is these two functions; the storage behind them (DRF's Token today) can
change without the edges noticing.
"""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token


def _expired(token: Token) -> bool:
    return token.created < timezone.now() - timedelta(seconds=settings.CHAT_TOKEN_TTL_SECONDS)


def issue_token(user) -> str:
    """The user's token key, renewed when it has expired."""
    with transaction.atomic():
        token, _ = Token.objects.get_or_create(user=user)
        if _expired(token):
            token.delete()
            token = Token.objects.create(user=user)
    return token.key


def user_for_token(key: str):
    """The active user a token belongs to, or None when missing, unknown or expired."""
    if not key or len(key) > 64 or "\x00" in key:
        return None
    # Only what a socket or request needs: run on every connect, and the user's other columns
    # (timestamps to parse, the password hash) cost more than the lookup itself.
    token = (Token.objects.select_related("user").only("key", "created", "user__id", "user__username",
                                                         "user__is_active").filter(key=key).first())
    if token is None or not token.user.is_active or _expired(token):
        return None
    return token.user
