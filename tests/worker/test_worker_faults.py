"""The worker's failures and shutdowns: SIGKILL mid-task, SIGTERM's soft shutdown, the broker
through Redis Sentinel."""
import signal
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from accounts import tokens
from harness import clients, processes
from tests.support.database import child_database_url
from tests.worker.conftest import WSClient, ledger, send, subscribe, wait_messages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORKER_SESSION = "chat-worker-under-test"
SLOW = [(201, 1.0)]  # the push service holds every request a second: requests are in flight


def test_worker_killed_mid_task_and_started_again_delivers_exactly_once(
        broker, workers, push_service, make_user, make_room, api_client):
    nino = make_user("nino")
    members = [make_user(f"member{i}") for i in range(4)]
    room = make_room(owner=nino, members=members, name="kill")
    for member in members:  # member0's push service answers at once, the others after a second
        subscribe(api_client, member, push_service, member.username, script=None if member is members[0] else SLOW)
    # Two requests in flight per task: the task's first chunk (member0, member1: the rows are made
    # and sent in subscription order) is under way at the kill, its second not begun. Short lease
    # (push timeout 3 s + 5 s) and visibility timeout (15 s): the killed task comes back within
    # seconds, after the lease of the request that was in flight has run out.
    env = {"CHAT_PUSH_TIMEOUT_SECONDS": "3", "CELERY_VISIBILITY_TIMEOUT": "15", "CELERY_UNACKED_RESTORE_INTERVAL": "1",
           "CHAT_PUSH_CONCURRENCY": "2"}
    first = workers(**env)

    message = send(nino, room["id"], "კარგი")
    # Kill when member0's answer is recorded and member1's request is held by its push service.
    push_service.wait_for(lambda: [r.name for r in push_service.in_flight()] == ["member1"]
                          and [n.state for n in ledger(subscription__user=members[0])] == ["sent"],
                          what="member0 notified and recorded, member1 in flight")
    first.kill()  # SIGKILL: no goodbye, the task stays unacked in Redis
    unknown = {n.subscription.user.username for n in ledger(state="sending")}  # claimed, answer not recorded
    done = {m.username for m in members if push_service.delivered(m.username)}
    held = {r.name for r in push_service.in_flight()}
    assert (done, held, unknown) == ({"member0"}, {"member1"}, {"member1"})
    assert {n.subscription.user.username for n in ledger(state="pending")} == {"member2", "member3"}

    workers(**env)
    push_service.wait_for(lambda: all(push_service.delivered(m.username) for m in members), timeout=60,
                          what="every member notified after the restart")

    push_service.wait_for(lambda: [n.state for n in ledger()] == ["sent"] * 4, what="the ledger all sent")
    assert [n.seq for n in ledger()] == [message["seq"]] * 4
    for member in members:
        requests = push_service.for_browser(member.username)
        # Answered and recorded before the kill, or never started: exactly one request. The one
        # in flight at the kill is sent again (its outcome was unknown), with the same Topic and
        # payload, so the browser replaces the first copy: still one notification shown.
        assert len(requests) == (2 if member.username in held else 1), (member.username, [r.status for r in requests])
        assert len({(r.headers["topic"], r.payload["message"]) for r in requests}) == 1
        assert requests[-1].payload["message"] == message["id"]


def test_postgresql_lost_mid_task_the_task_runs_again_and_every_member_is_notified(
        broker, workers, push_service, make_user, make_room, api_client):
    nino = make_user("nino")
    members = [make_user(f"member{i}") for i in range(4)]
    room = make_room(owner=nino, members=members, name="database lost")
    for member in members:  # as in the kill test: member0 answered at once, member1 held a second
        subscribe(api_client, member, push_service, member.username, script=None if member is members[0] else SLOW)
    # Leases of 3 + 5 s; the worker's sessions named, so only they are ended below (this test
    # process's own pooled connections live on into the next tests).
    workers(CHAT_PUSH_TIMEOUT_SECONDS="3", CHAT_PUSH_CONCURRENCY="2",
            DATABASE_URL=f"{child_database_url()}?application_name={WORKER_SESSION}")

    message = send(nino, room["id"], "ბაზა წავიდა")
    push_service.wait_for(lambda: [r.name for r in push_service.in_flight()] == ["member1"]
                          and [n.state for n in ledger(subscription__user=members[0])] == ["sent"],
                          what="member0 notified and recorded, member1 in flight")
    # The worker's connections end under it, as at a PostgreSQL restart: recording member1's
    # answer fails, with member2 and member3 planned and not yet claimed.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s", [WORKER_SESSION])
        assert cursor.fetchone()[0] >= 1

    push_service.wait_for(lambda: all(push_service.delivered(m.username) for m in members), timeout=60,
                          what="every member notified by the task's next run")
    push_service.wait_for(lambda: [n.state for n in ledger()] == ["sent"] * 4, what="the ledger all sent")
    for member in members:
        requests = push_service.for_browser(member.username)
        # member1's answer was never recorded: asked again, same Topic (the browser shows one).
        assert len(requests) == (2 if member is members[1] else 1), (member.username, [r.status for r in requests])
        assert {(r.headers["topic"], r.payload["message"]) for r in requests} == {(f"room-{room['id']}", message["id"])}


def test_sigterm_finishes_the_running_task_and_requeues_the_waiting_one(
        broker, settings, workers, push_service, make_user, make_room, api_client):
    nino, giorgi, ana = make_user("nino"), make_user("giorgi"), make_user("ana")
    running_room = make_room(owner=nino, members=[giorgi], name="running")
    waiting_room = make_room(owner=nino, members=[ana], name="waiting")
    subscribe(api_client, giorgi, push_service, "giorgi", script=[(201, 1.5)])
    subscribe(api_client, ana, push_service, "ana")
    worker = workers(CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT="5")

    send(nino, running_room["id"], "in flight at SIGTERM")
    push_service.wait_for(lambda: push_service.in_flight(), what="giorgi's request in flight")
    settings.CHAT_PUSH_COALESCE_SECONDS = 8.0  # this task waits in the worker (ETA) when SIGTERM comes
    send(nino, waiting_room["id"], "queued at SIGTERM")
    deadline = time.monotonic() + 20
    while worker.output().count("chat.notify_messages[") < 2:  # "Task ...[id] received"
        assert time.monotonic() < deadline, worker.output()[-3000:]
        time.sleep(0.05)

    worker.signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0, worker.output()[-3000:]
    assert [r.status for r in push_service.for_browser("giorgi")] == [201]  # finished, not cut off
    assert push_service.for_browser("ana") == []

    again = workers()
    push_service.wait_for(lambda: push_service.delivered("ana"), timeout=40, what="the requeued task")
    wait_messages(again, 1)
    assert len(push_service.for_browser("ana")) == 1
    assert len(push_service.for_browser("giorgi")) == 1
    assert sorted(n.state for n in ledger()) == ["sent", "sent"]


@pytest.fixture
def sentinel_cluster():
    cluster = processes.SentinelCluster("workermaster").start()  # master, replica, three sentinels
    try:
        yield cluster
    finally:
        cluster.stop()


async def test_through_redis_sentinel(sentinel_cluster, workers, daphnes, push_service, make_user, make_room,
                                      api_client, settings):
    """Everything through the sentinels: a Daphne publishes the task as a send commits, the worker
    finds the master by name, presence lives there too."""
    settings.CHAT_PUSH_ALLOW_HTTP = True
    nino, giorgi = await sync_to_async(make_user)("nino"), await sync_to_async(make_user)("giorgi")
    room = await sync_to_async(make_room)(owner=nino, members=[giorgi], name="sentinel")
    await sync_to_async(subscribe)(api_client, giorgi, push_service, "giorgi")
    [ws] = await sync_to_async(daphnes)(1, **sentinel_cluster.env)
    worker = await sync_to_async(workers)(**sentinel_cluster.env)
    assert "sentinel://" in worker.output()

    sender = await WSClient.open(clients.ws_url(ws.port, await sync_to_async(tokens.issue_token)(nino)))
    try:
        await sender.send(type="message_send", room=room["id"], content=f"sentinel {'ბ' * 3}", temp_id="s-1")
        await sync_to_async(push_service.wait_for)(lambda: push_service.delivered("giorgi"),
                                                   what="the notification through Sentinel")
        await sync_to_async(wait_messages)(worker, 1)
    finally:
        await sender.close()
    [request] = push_service.for_browser("giorgi")
    assert (request.payload["body"], request.payload["room"]) == ("sentinel ბბბ", room["id"])
