"""Web Push transport: VAPID keys, encrypted requests to push services, their answers classified.

pywebpush encrypts (RFC 8291, aes128gcm); py_vapid signs the VAPID JWT (RFC 8292), once per push
service origin for hours; chat/push_client.py posts a batch's requests at once on aiohttp's
keep-alive connections (docs/benchmarks.md "Worker": requests, then urllib3 one request after
another, cost more CPU per post and sent a task's requests in turn).
What the answer means for the ledger is chat/notifications.py's business; here it is only named:
  sent     201/202: the push service took it
  gone     404/410: the subscription is dead (unsubscribed, expired)
  retry    429, 5xx, a timeout or a broken connection: try again later (Retry-After when given)
  dropped  413: the payload is too large for this service; retrying cannot help
  error    any other answer (400, 401/403 VAPID refused, ...): logged, not retried
"""
import base64
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid
from pywebpush import WebPusher

from chat import push_client

log = logging.getLogger(__name__)

DEV_KEY_FILE = "vapid-dev-private.key"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _dev_private_key() -> str:
    """CHAT_PUSH_DEV_KEYS only (the embedded run): a pair generated once and kept in the data folder, shared by the processes of
    one checkout (O_EXCL: the first process to start writes it, the others read it)."""
    path = Path(settings.VAR_DIR) / DEV_KEY_FILE
    if not path.exists():
        raw = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(b64url(raw))
    for _ in range(50):  # another process may be writing it this very moment
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.02)
    raise ImproperlyConfigured(f"{path} is empty")


_vapid_lock = threading.Lock()
_vapid: Vapid | None = None


def vapid() -> Vapid | None:
    """The server's VAPID key: VAPID_PRIVATE_KEY, or the dev pair (CHAT_PUSH_DEV_KEYS); None when neither."""
    global _vapid
    with _vapid_lock:
        if _vapid is None:
            private = settings.VAPID_PRIVATE_KEY or (_dev_private_key() if settings.CHAT_PUSH_DEV_KEYS else "")
            if private:
                try:
                    _vapid = Vapid.from_string(private)
                except Exception as exc:  # noqa: BLE001 - any parse failure is a configuration error
                    raise ImproperlyConfigured("VAPID_PRIVATE_KEY is not a P-256 key (base64url raw or DER)") from exc
        return _vapid


def require_keys() -> Vapid:
    """For the worker's start: refuse to run without keys (a worker that cannot sign sends nothing)."""
    key = vapid()
    if key is None:
        raise ImproperlyConfigured(
            "VAPID_PRIVATE_KEY must be set (generate: python -m chat.webpush); only the embedded run makes a dev pair")
    return key


def public_key() -> str | None:
    """The applicationServerKey browsers subscribe with: the uncompressed P-256 point, base64url."""
    key = vapid()
    if key is None:
        return None
    return b64url(key.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


@dataclass(frozen=True)
class PushAnswer:
    result: str  # sent | gone | retry | dropped | error
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


def _retry_after(value: str | None) -> float | None:
    """Retry-After is delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def classify(status: int, retry_after: str | None = None, body: str = "") -> PushAnswer:
    if status in (200, 201, 202):
        return PushAnswer("sent", status)
    if status in (404, 410):
        return PushAnswer("gone", status)
    if status == 429 or 500 <= status <= 599:
        return PushAnswer("retry", status, _retry_after(retry_after))
    if status == 413:
        return PushAnswer("dropped", status, detail="payload too large")
    return PushAnswer("error", status, detail=body[:200])


# One VAPID JWT per push-service origin, reused until an hour before it expires (signing per
# request would be an ECDSA signature per notification for nothing).
_JWT_LIFETIME = 12 * 3600
_jwt_cache: dict[str, tuple[float, dict]] = {}


def _vapid_headers(endpoint: str) -> dict:
    parts = urlsplit(endpoint)
    audience = f"{parts.scheme}://{parts.netloc}"
    now = time.time()
    cached = _jwt_cache.get(audience)
    if cached and cached[0] - now > 3600:
        return cached[1]
    expires = int(now) + _JWT_LIFETIME
    headers = require_keys().sign({"sub": settings.VAPID_SUBJECT, "aud": audience, "exp": expires})
    _jwt_cache[audience] = (expires, headers)
    return headers


@dataclass(frozen=True)
class Push:
    """One notification for one subscription: `topic` makes the push service (and the browser,
    through the payload's tag) replace an earlier undelivered message of the same topic."""

    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    topic: str


def _post(push: Push, ttl: int, urgency: str) -> push_client.Post:
    body = WebPusher({"endpoint": push.endpoint, "keys": {"p256dh": push.p256dh, "auth": push.auth}}).encode(
        push.payload, "aes128gcm")["body"]
    headers = {**_vapid_headers(push.endpoint), "TTL": str(ttl), "Topic": push.topic, "Urgency": urgency,
               "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}
    return push_client.Post(push.endpoint, body, headers)


def _answer(reply: push_client.Reply) -> PushAnswer:
    if reply.error:  # a timeout or a broken connection: the outcome is unknown, try again later
        return PushAnswer("retry", detail=reply.error)
    return classify(reply.status, reply.retry_after, reply.body)


def send_all(pushes: list[Push], *, ttl: int, urgency: str = "normal") -> Iterator[list[tuple[int, PushAnswer]]]:
    """Encrypt each push for its subscription and post them all at once; yield (index in
    `pushes`, answer) in waves as the push services answer (chat/push_client.py)."""
    posts = [_post(push, ttl, urgency) for push in pushes]
    for wave in push_client.post_all(posts, settings.CHAT_PUSH_TIMEOUT_SECONDS):
        yield [(index, _answer(reply)) for index, reply in wave]


if __name__ == "__main__":  # python -m chat.webpush: a new VAPID_PRIVATE_KEY for a deployment
    private = ec.generate_private_key(ec.SECP256R1())
    print("VAPID_PRIVATE_KEY=" + b64url(private.private_numbers().private_value.to_bytes(32, "big")))
    print("# public (applicationServerKey): "
          + b64url(private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)))
