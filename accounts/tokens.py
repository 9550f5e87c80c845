"""API tokens: one per login (a device), each with its own expiry (CHAT_TOKEN_TTL_SECONDS after
issue), revocable one by one (log out) or all at once (log out everywhere).

Storage is django-rest-knox's AuthToken: only a SHA-512 digest of the key is kept, so a database
leak reveals no usable token. The edges use these functions only; a token is named outside this
module by its digest (`Session.token_id`), never by its key.

Ending a session tells every ws process (chat.events.publish_sessions_ended): sockets opened with
that token, or every socket of the user, close with 4001 at once.
"""
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as datetime_timezone
from hmac import compare_digest

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS

from chat import events

# knox keys are hex; anything else cannot be one (and NUL cannot even be sent to PostgreSQL).
_MAX_KEY_LENGTH = CONSTANTS.MAXIMUM_TOKEN_PREFIX_LENGTH + 2 * 64
_CANDIDATES_SQL = (
    f"SELECT t.digest, t.expiry, u.id, u.username, u.is_active FROM {AuthToken._meta.db_table} t "
    f"JOIN {get_user_model()._meta.db_table} u ON u.id = t.user_id WHERE t.token_key = %s")


@dataclass(frozen=True)
class Session:
    """A live token: whose it is, its digest (the id sockets are told to close by) and expiry."""

    user: object
    token_id: str
    expires_at: datetime | None


def issue_token(user) -> str:
    """A new token key for this login; the user's expired tokens are swept on the way."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    _, key = AuthToken.objects.create(user, expiry=timedelta(seconds=settings.CHAT_TOKEN_TTL_SECONDS))
    return key


def issue_tokens(users) -> dict[int, str]:
    """A new token for each of many users in one INSERT (benchmarks seeding thousands)."""
    expiry = timezone.now() + timedelta(seconds=settings.CHAT_TOKEN_TTL_SECONDS)
    keys, rows = {}, []
    for user in users:
        digest, key = get_digest_token()
        keys[user.id] = key
        rows.append(AuthToken(user=user, digest=digest, token_key=key[:CONSTANTS.TOKEN_KEY_LENGTH], expiry=expiry))
    AuthToken.objects.bulk_create(rows)
    return keys


def resolve(key: str) -> Session | None:
    """The live session of a key, or None when missing, unknown, expired or its user inactive."""
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH or not key.isascii() or "\x00" in key:
        return None
    try:
        digest = hash_token(key)
    except (TypeError, ValueError, binascii.Error):
        return None
    for token_digest, expiry, user in _candidates(key[:CONSTANTS.TOKEN_KEY_LENGTH]):
        if not compare_digest(token_digest, digest):
            continue
        if expiry is not None and expiry <= timezone.now():
            AuthToken.objects.filter(digest=token_digest).delete()
            return None
        if not user.is_active:
            return None
        return Session(user=user, token_id=token_digest, expires_at=expiry)
    return None


def _candidates(token_key: str) -> list[tuple]:
    """(digest, expiry, user) of the tokens sharing this key prefix, in one statement. It runs on
    every connect and every API request: written out rather than built by the ORM, whose query
    building was a fifth of a socket connect's CPU (py-spy, docs/benchmarks.md), and the user
    holds only what a socket or request needs (the other columns load if touched)."""
    user_model = get_user_model()
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES_SQL, [token_key])
        rows = cursor.fetchall()
    return [(digest, _aware(expiry), user_model.from_db(connection.alias, ["id", "username", "is_active"],
                                                         [uid, name, bool(active)]))
            for digest, expiry, uid, name, active in rows]


def _aware(value):
    """SQLite (the embedded run) hands a raw cursor naive UTC datetimes; PostgreSQL aware ones."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, datetime_timezone.utc)
    return value


def live_sessions(user_ids) -> dict[int, set[str]]:
    """For each active user of `user_ids`, the digests of their unexpired tokens; a user missing
    from the answer is inactive (or gone). A ws process compares its sockets with this when it
    starts following a user, so a session ended just before that is not missed."""
    from django.db.models import Q

    active = set(get_user_model().objects.filter(id__in=list(user_ids), is_active=True).values_list("id", flat=True))
    live: dict[int, set[str]] = {user_id: set() for user_id in active}
    tokens = (AuthToken.objects.filter(user_id__in=active)
              .filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())).values_list("user_id", "digest"))
    for user_id, digest in tokens:
        live[user_id].add(digest)
    return live


def user_for_token(key: str):
    """The active user a token belongs to, or None (see resolve)."""
    session = resolve(key)
    return session.user if session is not None else None


def revoke(session: Session) -> None:
    """Log out one device: its token stops working and its open sockets close."""
    AuthToken.objects.filter(digest=session.token_id).delete()
    events.publish_sessions_ended(session.user.id, token_id=session.token_id)


def revoke_all(user) -> int:
    """Log out everywhere: every token of the user, and every open socket of theirs."""
    count, _ = AuthToken.objects.filter(user=user).delete()
    events.publish_sessions_ended(user.id)
    return count
