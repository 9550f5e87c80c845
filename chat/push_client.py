"""Posts many push requests at once: one asyncio event loop thread per process with one aiohttp
session (keep-alive connections to each push service), fed from any thread.

Why: a worker's notifications are waiting on push services (tens of milliseconds each for FCM or
Mozilla's autopush), so a task posts its requests together instead of one after another, and
aiohttp's C-accelerated client costs about two thirds of urllib3's CPU per post here
(docs/benchmarks.md "Worker"). The calling thread gets the replies in *waves*: every reply that
came within WAVE_SECONDS of a wave's first, so that the caller records them together (one
statement), while a slow push service does not hold the answers of the fast ones.

What a reply means is chat/webpush.py's business; here a reply is a status or a transport error.
No retries here: a POST whose outcome is unknown is the ledger's decision (chat/notifications.py).
"""
import asyncio
import atexit
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp

# Replies that arrive this soon after a wave's first go with it: one ledger UPDATE for many
# answers, and a worker killed meanwhile sends at most these answered requests again.
WAVE_SECONDS = 0.02
_BODY_LIMIT = 4096  # an error body is only logged (its first 200 characters)


@dataclass(frozen=True)
class Post:
    url: str
    body: bytes
    headers: dict


@dataclass(frozen=True)
class Reply:
    status: int | None = None
    retry_after: str | None = None
    body: str = ""
    error: str = ""  # "timeout" or "connection: <what>" when there is no status


class _Loop:
    """The event loop thread and its session. Made on first use in a process (and again after a
    fork: threads do not survive one)."""

    def __init__(self):
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="push-http", daemon=True).start()
        self.session = self.run(self._open()).result(30)

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    @staticmethod
    async def _open() -> aiohttp.ClientSession:
        # No connection limit: a request must start when its ledger row is claimed (the lease
        # runs from the claim), never wait for a pooled connection. The tasks bound how many
        # are in flight (CHAT_PUSH_CONCURRENCY each).
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), trust_env=False)

    def close(self) -> None:
        if self.pid == os.getpid():
            try:
                self.run(self.session.close()).result(2)
            except Exception:  # noqa: BLE001 - exiting anyway; only the warning is spared
                pass


_state: dict = {"loop": None}
_state_lock = threading.Lock()


def _loop() -> _Loop:
    with _state_lock:
        current = _state["loop"]
        if current is None or current.pid != os.getpid():
            current = _state["loop"] = _Loop()
            atexit.register(current.close)
        return current


async def _post(session: aiohttp.ClientSession, post: Post, timeout: float) -> Reply:
    try:
        # total: the whole request, connect to last byte, so it always ends before its lease.
        async with session.post(post.url, data=post.body, headers=post.headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            body = await response.content.read(_BODY_LIMIT)
            return Reply(response.status, response.headers.get("Retry-After"), body.decode("utf-8", errors="replace"))
    except TimeoutError:  # aiohttp's own timeouts subclass it too
        return Reply(error="timeout")
    except (aiohttp.ClientError, OSError) as exc:  # refused, reset, protocol error, bad TLS
        return Reply(error=f"connection: {type(exc).__name__}")


async def _post_all(session, posts: list[Post], timeout: float, replies: queue.SimpleQueue) -> None:
    async def one(index: int, post: Post) -> None:
        try:
            reply = await _post(session, post, timeout)
        except Exception as exc:  # noqa: BLE001 - every post must reply, or its caller waits
            reply = Reply(error=f"connection: {type(exc).__name__}")
        replies.put((index, reply))

    await asyncio.gather(*(one(index, post) for index, post in enumerate(posts)))


def post_all(posts: list[Post], timeout: float) -> Iterator[list[tuple[int, Reply]]]:
    """Start every post now; yield (index in `posts`, reply) in waves until all have replied."""
    replies: queue.SimpleQueue = queue.SimpleQueue()
    loop = _loop()
    loop.run(_post_all(loop.session, posts, timeout, replies))
    left = len(posts)
    while left:
        try:
            wave = [replies.get(timeout=timeout + 10)]  # the loop enforces `timeout`: this is a backstop
        except queue.Empty:
            raise RuntimeError("the push client's event loop stopped answering") from None
        ends = time.monotonic() + WAVE_SECONDS
        while len(wave) < left and (wait := ends - time.monotonic()) > 0:
            try:
                wave.append(replies.get(timeout=wait))
            except queue.Empty:
                break
        left -= len(wave)
        yield wave
