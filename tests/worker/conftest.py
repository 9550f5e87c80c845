"""The worker end to end: real Celery worker processes (`python -m config.launch worker`, the
production settings) on the real Redis (this session's random key prefix) or through a Sentinel
cluster of their own, the pytest PostgreSQL test database, and a local push service
(harness/push.py) that decrypts every payload with the fake browser's own keys.

Messages are sent with the real `chat.actions.send_message`; the test process then publishes
the notification task to the real broker (test settings run Celery eagerly: `broker` turns that
off for the test). Every process a test starts is killed by its pid in teardown, also on failure.
"""
import asyncio
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from apps.worker import app as celery_app
from apps.worker.signals import QUEUES
from chat import actions
from chat.models import PushNotification
from harness import clients, processes
from harness.metrics import Scrape
from harness.push import PushService, b64
from tests.e2e.conftest import WSClient, daphnes  # noqa: F401 - the e2e Daphne fixture, reused
from tests.ws.conftest import _close_thread_connections  # noqa: F401 - sync_to_async threads hold connections
from tests.support.database import child_database_url

SECRET = "worker-tests-" + "x" * 40


@pytest.fixture(scope="session")
def vapid_private_key() -> str:
    return b64(ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big"))


@pytest.fixture
def push_service():
    with PushService() as service:
        yield service


@pytest.fixture
def broker(settings):
    """The test process publishes to the real broker instead of running tasks eagerly; queues
    are emptied afterwards so nothing of this test reaches the next one's worker."""
    settings.CHAT_PUSH_ALLOW_HTTP = True  # the push service here is plain http on the loopback
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield celery_app
    finally:
        celery_app.conf.task_always_eager = eager
        with celery_app.connection_for_write() as conn:
            for queue in QUEUES:
                try:
                    conn.default_channel.queue_purge(queue)
                except Exception:  # noqa: BLE001 - an empty queue may not exist
                    pass


@pytest.fixture
def workers(transactional_db, vapid_private_key):
    """`workers(**env)` -> a started worker on the test database and this session's Redis; every
    one started is killed (SIGKILL to its own process group) before the database is flushed."""
    started: list[processes.WorkerProcess] = []

    def start(**env) -> processes.WorkerProcess:
        base = {
            "DATABASE_URL": child_database_url(),
            "REDIS_URL": settings.REDIS.url,
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "SECRET_KEY": SECRET,
            "VAPID_PRIVATE_KEY": vapid_private_key,
            "DB_CONN_MAX_AGE": "0",
            "CELERY_WORKER_CONCURRENCY": "4",
        }
        proc = processes.worker({**base, **{k: str(v) for k, v in env.items()}})
        started.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in started:
        proc.kill()


def scrape(worker) -> Scrape:
    return Scrape.of(worker.url)


def wait_messages(worker, count: int, timeout: float = 30.0) -> Scrape:
    """Until the worker has worked out the notifications of `count` messages (its /metrics;
    the messages of one sender's batch arrive in one task, so tasks are not counted)."""
    return _wait_metric(worker, count, timeout, "chat_push_messages_total")


def wait_tasks(worker, count: int, task: str, timeout: float = 30.0) -> Scrape:
    """Until the worker has finished `count` runs of `task` (succeeded, from its /metrics)."""
    return _wait_metric(worker, count, timeout, "chat_worker_tasks_total", task=task, state="succeeded")


def _wait_metric(worker, count: int, timeout: float, name: str, **labels) -> Scrape:
    deadline = time.monotonic() + timeout
    while True:
        metrics = scrape(worker)
        if metrics.value(name, **labels) >= count:
            return metrics
        if worker.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{name}{labels} < {count} (exit {worker.proc.poll()}):\n{worker.output()[-3000:]}")
        time.sleep(0.1)


def subscribe(api_client, user, push: PushService, name: str, script=None) -> dict:
    """The browser of `user` subscribes through the real API (POST /api/push/subscriptions/)."""
    subscription = push.subscription(name, script)
    response = api_client(user).post("/api/push/subscriptions/", subscription, format="json")
    assert response.status_code == 201, response.content
    return subscription


def send(user, room_id: int, content: str) -> dict:
    return actions.send_message(user, room_id=room_id, content=content).message


def ledger(**filters) -> list[PushNotification]:
    return list(PushNotification.objects.filter(**filters).order_by("id"))


class OpenSocket:
    """A WebSocket held open on a Daphne (so chat.presence counts the user online) from a
    background thread, until closed."""

    def __init__(self, proc, token: str):
        self.url = clients.ws_url(proc.port, token, None)
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        try:
            client = await WSClient.open(self.url)
        except BaseException as exc:  # noqa: BLE001 - reported to the test by open()
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        while not self.stop.is_set():
            await asyncio.sleep(0.05)
        await client.close()

    def __enter__(self) -> "OpenSocket":
        self.thread.start()
        self.ready.wait(30)
        if self.error or not self.ready.is_set():
            raise AssertionError(f"socket did not open: {self.error}")
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)
