"""A local Web Push service for the worker tests and the worker benchmark.

It plays both halves a real push service and a browser play: each fake browser subscription has
its own P-256 key pair and auth secret (RFC 8291), and every request is decrypted with them
(http_ece, aes128gcm) as the browser would, so a test reads the very JSON the service worker
would show. What it answers is chosen per subscription: a list of (status, delay) scripts the
next requests, the last entry repeating (201; 410; 503 then 201; a slow 201 ...).
Plain http on the loopback, HTTP/1.1 keep-alive (the worker's session reuses connections).
"""
import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.processes import free_port


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Request:
    """One push request as the service saw it."""

    name: str  # the subscription
    payload: dict | None  # decrypted JSON (None when it could not be decrypted)
    headers: dict  # lower-case names
    received: float  # time.time() when the body was read
    status: int | None = None  # what was answered (None while held)
    answered: float | None = None
    vapid_audience: str | None = None


@dataclass
class FakeBrowser:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    script: list = field(default_factory=lambda: [(201, 0.0)])
    seen: int = 0

    def next_answer(self) -> tuple[int, float]:
        answer = self.script[min(self.seen, len(self.script) - 1)]
        self.seen += 1
        return answer


def new_browser(script: list | None = None) -> tuple[FakeBrowser, dict]:
    """A browser's push keys: its P-256 pair and auth secret, and the `keys` it would publish."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    return FakeBrowser(private, auth, list(script or [(201, 0.0)])), {"p256dh": b64(public), "auth": b64(auth)}


class PushService:
    def __init__(self, port: int | None = None, record: bool = True):
        self.port = port or free_port()
        self.browsers: dict[str, FakeBrowser] = {}
        self.requests: list[Request] = []
        self.record = record  # the benchmark keeps only timings (see on_request)
        self.on_request = None  # callable(Request), called after decryption
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="push-service", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def subscription(self, name: str, script: list | None = None) -> dict:
        """A new fake browser `name`: the subscription JSON PushManager.subscribe() would give."""
        browser, keys = new_browser(script)
        self.browsers[name] = browser
        return {"endpoint": f"{self.base_url}/push/{name}", "keys": keys}

    def for_browser(self, name: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.name == name]

    def delivered(self, name: str) -> list[Request]:
        """The requests this browser's service took (answered 201)."""
        return [r for r in self.for_browser(name) if r.status == 201]

    def in_flight(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.status is None]

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "push requests") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                with self.lock:
                    seen = [(r.name, r.status, (r.payload or {}).get("seq")) for r in self.requests]
                raise AssertionError(f"push service: no {what} within {timeout}s; saw {seen}")
            time.sleep(0.02)

    def _decrypt(self, name: str, body: bytes) -> dict | None:
        browser = self.browsers.get(name)
        if browser is None:
            return None
        try:
            plain = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth,
                                     version="aes128gcm")
            return json.loads(plain.decode("utf-8"))
        except Exception:  # noqa: BLE001 - recorded as undecryptable; the test asserts on it
            return None

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real push services

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = self.path.rsplit("/", 1)[-1]
                request = Request(name, service._decrypt(name, body), {k.lower(): v for k, v in self.headers.items()}, time.time(),
                                  vapid_audience=_audience(self.headers.get("Authorization", "")))
                browser = service.browsers.get(name)
                with service.lock:
                    status, delay = browser.next_answer() if browser else (404, 0.0)
                    if service.record:
                        service.requests.append(request)
                if service.on_request is not None:
                    service.on_request(request)
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                request.status, request.answered = status, time.time()

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> "PushService":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _audience(authorization: str) -> str | None:
    """The `aud` claim of a `vapid t=<jwt>, k=<key>` header (RFC 8292), unverified: which origin
    the worker signed for."""
    for part in authorization.removeprefix("vapid ").split(","):
        part = part.strip()
        if part.startswith("t="):
            try:
                claims = json.loads(_b64_decode(part[2:].split(".")[1]))
            except (IndexError, ValueError):
                return None
            return claims.get("aud")
    return None
