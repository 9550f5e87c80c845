"""This ws process: its id, its presence heartbeat, its open sockets, and a clean restart.

On SIGTERM (a rolling deploy, a scale-down) every socket is closed with 1012 so clients
reconnect with backoff to another pod and sync, and the process's presence goes at once.
"""
import asyncio
import logging
import os
import signal
import socket
import uuid
import weakref

from django.conf import settings

from apps.ws import db
from chat import actions

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
SERVER_RESTART = 1012

_consumers: "weakref.WeakSet" = weakref.WeakSet()
_heartbeat: asyncio.Task | None = None
_first_beat: asyncio.Future | None = None
_shutdown_hooked = False


async def _beat_forever() -> None:
    while True:
        try:
            await db.call(actions.presence_heartbeat, PROCESS_ID)
        except Exception:  # noqa: BLE001 - Redis away: keep beating, presence recovers with it
            log.warning("presence heartbeat failed", exc_info=True)
        if _first_beat is not None and not _first_beat.done():
            _first_beat.set_result(None)
        await asyncio.sleep(settings.CHAT_PRESENCE_HEARTBEAT_SECONDS)


async def ensure_running() -> None:
    """Start the heartbeat with the first socket, and wait until this process is registered
    alive (a socket counted on a process not yet alive would read as offline)."""
    global _heartbeat, _first_beat
    if _heartbeat is None or _heartbeat.done():
        _first_beat = asyncio.get_running_loop().create_future()
        _heartbeat = asyncio.create_task(_beat_forever(), name="presence-heartbeat")
        _hook_shutdown()
    await asyncio.shield(_first_beat)


def register(consumer) -> None:
    _consumers.add(consumer)


def _hook_shutdown() -> None:
    global _shutdown_hooked
    if _shutdown_hooked:
        return
    _shutdown_hooked = True
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_close_all_then(previous, signum, frame)))

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (tests): nothing to hook
        pass


async def _close_all_then(previous, signum, frame) -> None:
    log.info("SIGTERM: closing %d sockets with 1012", len(_consumers))
    for consumer in list(_consumers):
        try:
            await consumer.close_with(SERVER_RESTART)
        except Exception:  # noqa: BLE001
            log.warning("closing a socket with 1012 failed", exc_info=True)
    try:
        await db.call(actions.process_stopping, PROCESS_ID)
    except Exception:  # noqa: BLE001
        pass
    await asyncio.sleep(0.2)  # let the close frames go out
    if callable(previous):
        previous(signum, frame)
    else:
        raise SystemExit(0)
