"""This ws process: its id, its presence heartbeat, its open sockets, and a clean restart.

On SIGTERM (a rolling deploy, a scale-down) the process drains: /readyz answers 503 at once,
then its sockets are closed with 1012 in batches spread over CHAT_WS_DRAIN_SECONDS, so clients
reconnect (with jittered backoff) to other pods and sync without all arriving at once; then it
stops listening (a late connect is refused and goes elsewhere), waits for the last closing
handshakes, its presence goes and it exits. Kubernetes' terminationGracePeriodSeconds must exceed the
preStop wait plus the drain (helm/chat computes it).
"""
import asyncio
import itertools
import logging
import math
import os
import signal
import socket
import uuid
import weakref

from django.conf import settings

from apps.ws import daphne_compat, db, pod_cost, runtime
from chat import actions, metrics
from config import draining
from config.env import env_float

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
SERVER_RESTART = 1012
DRAIN_SECONDS = env_float("CHAT_WS_DRAIN_SECONDS", 20.0)
DRAIN_BATCH_INTERVAL = 0.5  # seconds between two batches of closes
DRAIN_SETTLE_SECONDS = 3.0  # at most this long after the batches for the last closing handshakes

_socket_numbers = itertools.count(1)


def new_socket_id() -> str:
    """A socket's id, unique over every ws process (a send's `origin` is published to all of
    them): this process's id and a count, without a uuid's trip to the kernel's random source."""
    return f"{PROCESS_ID}/{next(_socket_numbers)}"


_consumers: "weakref.WeakSet" = weakref.WeakSet()
_accepted: "weakref.WeakSet" = weakref.WeakSet()  # every socket from accept() on, registered or not
_heartbeat: asyncio.Task | None = None
_first_beat: asyncio.Future | None = None
_shutdown_hooked = False
_draining = False
_deletion_cost: asyncio.Task | None = None
_server = None  # Daphne's Server (its connection table), known from the first socket
# Exported from 0 with the first socket, so a first burst of these closes is an increase to
# Prometheus (a series that is born at its burst value shows no increase): the ordinary close,
# a dropped peer (also the sockets of a dead process, counted by its reaper), the server's own.
CLOSE_CODES_FROM_ZERO = ("1000", "1006", "1011", "1012", "1013")


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
        for code in CLOSE_CODES_FROM_ZERO:
            metrics.WS_CLOSES.labels(code)
        _heartbeat = asyncio.create_task(_beat_forever(), name="presence-heartbeat")
        _hook_shutdown()
        _start_deletion_cost()
        runtime.start()
    await asyncio.shield(_first_beat)


def accepted(consumer) -> None:
    """Called right after accept(): between it and register() a socket spends a trip to the
    thread pool, and one that SIGTERM catches there must still get its 1012 before we exit."""
    global _server
    _accepted.add(consumer)
    if _server is None:
        _server = daphne_compat.daphne_server(daphne_compat.daphne_protocol(consumer.base_send))


def register(consumer) -> None:
    if _draining:  # a socket that slipped in after SIGTERM goes elsewhere at once
        asyncio.ensure_future(_close(consumer))
        return
    _consumers.add(consumer)


def open_sockets() -> int:
    return sum(1 for consumer in list(_consumers) if not getattr(consumer, "left", False))


def _start_deletion_cost() -> None:
    """In Kubernetes, keep this pod's deletion cost at its socket count (apps/ws/pod_cost.py)."""
    global _deletion_cost
    api = pod_cost.from_environment()
    if api is not None and (_deletion_cost is None or _deletion_cost.done()):
        _deletion_cost = asyncio.create_task(pod_cost.keep_updated(api, open_sockets), name="pod-deletion-cost")


def _hook_shutdown() -> None:
    global _shutdown_hooked
    if _shutdown_hooked:
        return
    _shutdown_hooked = True
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_drain_then(previous, signum, frame)))

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (tests): nothing to hook
        pass


def drain_batches(sockets: list, seconds: float, interval: float = DRAIN_BATCH_INTERVAL) -> list[list]:
    """The sockets cut into equal batches, one every `interval`, spanning about `seconds`."""
    if not sockets:
        return []
    rounds = max(1, int(seconds / interval)) if interval > 0 else 1
    size = math.ceil(len(sockets) / rounds)
    return [sockets[i:i + size] for i in range(0, len(sockets), size)]


async def _close(consumer) -> None:
    try:
        await consumer.close_with(SERVER_RESTART)
    except Exception:  # noqa: BLE001
        log.warning("closing a socket with 1012 failed", exc_info=True)


async def _drain_then(previous, signum, frame) -> None:
    global _draining
    if _draining:  # a second SIGTERM: the drain is under way already
        return
    _draining = True
    draining.start()  # readiness off first: no new sockets are sent here
    batches = drain_batches(list(_consumers), DRAIN_SECONDS)
    log.info("SIGTERM: draining %d sockets with 1012 in %d batches over %.1fs",
             sum(map(len, batches)), len(batches), DRAIN_SECONDS)
    for number, batch in enumerate(batches):
        if number:
            await asyncio.sleep(DRAIN_BATCH_INTERVAL)
        await asyncio.gather(*(_close(consumer) for consumer in batch))
    # The proxy has had the whole drain to see /readyz at 503; a client that still reaches this
    # process now is refused (it or the proxy tries another) instead of accepted: accepted ones
    # kept the settle below from ever finding every socket closed, and those still in their
    # opening handshake at the exit ended with 1006 (tests/e2e/test_ws_drain.py on a loaded box).
    daphne_compat.stop_listening()
    await _settle(DRAIN_SETTLE_SECONDS)
    try:
        await db.call(actions.process_stopping, PROCESS_ID)
    except Exception:  # noqa: BLE001
        pass
    await asyncio.sleep(0.2)  # let the close frames go out
    if callable(previous):
        previous(signum, frame)
    else:
        raise SystemExit(0)


def _unfinished() -> int:
    """Sockets not closed yet: those the application has, and those Daphne still holds in their
    opening handshake (they get their 1012 from register() once it completes)."""
    consumers = sum(1 for consumer in list(_accepted) if not getattr(consumer, "left", False))
    return max(consumers, daphne_compat.websockets_open(_server))


async def _settle(seconds: float) -> None:
    """Wait until every socket has finished its closing handshake, or `seconds`. Exiting at once
    tore down (1006, no 1012) the sockets that registered after the batches' snapshot (closed by
    register() an instant before), those still in their opening handshake, and any last batch
    whose close frames a loaded process had not written yet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while _unfinished() and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if _unfinished():
        log.warning("SIGTERM: %d sockets still open after the drain; exiting anyway", _unfinished())
