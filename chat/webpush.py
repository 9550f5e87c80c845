"""Web Push transport: VAPID keys, one encrypted request to a push service, its answer classified.

pywebpush encrypts (RFC 8291, aes128gcm); py_vapid signs the VAPID JWT (RFC 8292), once per push
service origin for hours; urllib3 posts on a keep-alive connection pool shared by the worker's
threads (requests cost four times its CPU per post here: docs/benchmarks.md "Worker").
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
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid
from pywebpush import WebPusher

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
_pool_lock = threading.Lock()
_pool: urllib3.PoolManager | None = None


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


def _http() -> urllib3.PoolManager:
    """One pool manager per process: a pool of keep-alive connections per push service, as many
    as the worker has threads. No urllib3 retries: a POST whose outcome is unknown is the
    ledger's decision (chat/notifications.py), not the transport's."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = urllib3.PoolManager(num_pools=32, maxsize=max(4, settings.CELERY_WORKER_CONCURRENCY),
                                        retries=False)
        return _pool


def send(endpoint: str, p256dh: str, auth: str, payload: bytes, *, topic: str, ttl: int,
         urgency: str = "normal") -> PushAnswer:
    """Encrypt `payload` for the subscription and post it. `topic` makes the push service (and the
    browser, through the payload's tag) replace an earlier undelivered message of the same topic."""
    body = WebPusher({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}).encode(
        payload, "aes128gcm")["body"]
    headers = {**_vapid_headers(endpoint), "TTL": str(ttl), "Topic": topic, "Urgency": urgency,
               "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream"}
    timeout = settings.CHAT_PUSH_TIMEOUT_SECONDS
    try:
        response = _http().request("POST", endpoint, body=body, headers=headers,
                                   timeout=urllib3.Timeout(connect=timeout, read=timeout))
    except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: it subclasses it
        return PushAnswer("retry", detail=f"connection: {type(exc).__name__}")
    except urllib3.exceptions.TimeoutError:
        return PushAnswer("retry", detail="timeout")
    except urllib3.exceptions.HTTPError as exc:  # reset, refused, protocol error, bad TLS
        return PushAnswer("retry", detail=f"connection: {type(exc).__name__}")
    return classify(response.status, response.headers.get("Retry-After"),
                    response.data.decode("utf-8", errors="replace"))


if __name__ == "__main__":  # python -m chat.webpush: a new VAPID_PRIVATE_KEY for a deployment
    private = ec.generate_private_key(ec.SECP256R1())
    print("VAPID_PRIVATE_KEY=" + b64url(private.private_numbers().private_value.to_bytes(32, "big")))
    print("# public (applicationServerKey): "
          + b64url(private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)))
