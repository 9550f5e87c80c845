"""Writes of the Web Push feature: browser subscriptions and per-room mutes.

(Kept apart from chat/actions.py while that module is being split into a package; it belongs
beside the other actions.)
"""
import binascii
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from chat import queries
from chat.errors import InvalidInput
from chat.models import PushSubscription, RoomMute
from chat.payloads import iso
from chat.webpush import b64url_decode

_MAX_ENDPOINT = 2048


def clean_endpoint(endpoint: object, field: str = "endpoint") -> str:
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidInput("endpoint is required", field=field)
    if len(endpoint) > _MAX_ENDPOINT:
        raise InvalidInput(f"endpoint is longer than {_MAX_ENDPOINT} characters", field=field)
    try:
        parts = urlsplit(endpoint)
    except ValueError as exc:
        raise InvalidInput("endpoint is not a URL", field=field) from exc
    allowed = {"https", "http"} if settings.CHAT_PUSH_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed:
        raise InvalidInput("endpoint must be an https URL", field=field)
    if not parts.hostname or any(ch.isspace() for ch in endpoint):
        raise InvalidInput("endpoint is not a URL", field=field)
    return endpoint


def _clean_key(value: object, field: str, length: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{field.split('.')[-1]} is required", field=field)
    try:
        raw = b64url_decode(value.strip())
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("must be base64url", field=field) from exc
    if len(raw) != length:
        raise InvalidInput(f"must be {length} bytes (got {len(raw)})", field=field)
    return value.strip().rstrip("=")


def clean_keys(keys: object) -> tuple[str, str]:
    if not isinstance(keys, dict):
        raise InvalidInput("keys must be an object with p256dh and auth", field="keys")
    p256dh = _clean_key(keys.get("p256dh"), "keys.p256dh", 65)
    if b64url_decode(p256dh)[0] != 0x04:
        raise InvalidInput("must be an uncompressed P-256 point", field="keys.p256dh")
    return p256dh, _clean_key(keys.get("auth"), "keys.auth", 16)


def subscribe(user, endpoint: object, keys: object, user_agent: object = "") -> tuple[dict, bool]:
    """Store this browser's subscription for the user; the same endpoint again updates it (a
    browser has one subscription, whoever is logged in on it now). Returns (subscription, created)."""
    endpoint = clean_endpoint(endpoint)
    p256dh, auth = clean_keys(keys)
    agent = user_agent[:300] if isinstance(user_agent, str) else ""
    fields = {"user": user, "p256dh": p256dh, "auth": auth, "user_agent": agent}
    try:
        with transaction.atomic():
            subscription, created = PushSubscription.objects.update_or_create(endpoint=endpoint, defaults=fields)
    except IntegrityError:  # two first requests raced on the unique endpoint: the other one won
        subscription, _ = PushSubscription.objects.update_or_create(endpoint=endpoint, defaults=fields)
        created = False
    return subscription_payload(subscription), created


def subscription_payload(subscription: PushSubscription) -> dict:
    return {"id": subscription.id, "endpoint": subscription.endpoint,
            "created_at": iso(subscription.created_at)}


def unsubscribe(user, endpoint: object) -> bool:
    """Forget the user's subscription with this endpoint (the browser unsubscribed, or logged out)."""
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidInput("endpoint is required", field="endpoint")
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return bool(deleted)


def set_room_muted(user, room_id: int, muted: bool) -> dict:
    """Mute or unmute push notifications of a room for this member; idempotent."""
    queries.membership(user.id, room_id)  # NotFound for non-members
    if muted:
        RoomMute.objects.get_or_create(user=user, room_id=room_id)
    else:
        RoomMute.objects.filter(user=user, room_id=room_id).delete()
    return {"room": room_id, "muted": muted}


def room_muted(user, room_id: int) -> dict:
    """Whether this member muted the room (a read, kept beside the write it mirrors)."""
    queries.membership(user.id, room_id)
    return {"room": room_id, "muted": RoomMute.objects.filter(user=user, room_id=room_id).exists()}
