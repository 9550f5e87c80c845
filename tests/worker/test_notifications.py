"""Who a real worker notifies, and with what: decrypted at a local push service as a browser would.

Each negative case (online, muted, read) has an offline member beside it who IS notified, so
"got none" is measured after the task demonstrably ran, not after a wait that proves nothing.
"""
import pytest

from accounts import tokens
from chat import actions
from chat.models import PushSubscription
from tests.worker.conftest import OpenSocket, ledger, send, subscribe, wait_messages, wait_tasks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GEORGIAN = "გამარჯობა! როგორ ხარ? 🌄"


def test_offline_member_gets_exactly_one_notification_with_the_text(
        broker, workers, push_service, make_user, make_room, api_client):
    nino, giorgi = make_user("nino"), make_user("giorgi")
    room = make_room(owner=nino, members=[giorgi], name="თბილისი")
    subscribe(api_client, giorgi, push_service, "giorgi-laptop")
    worker = workers()

    message = send(nino, room["id"], GEORGIAN)
    push_service.wait_for(lambda: push_service.delivered("giorgi-laptop"), what="giorgi's notification")
    metrics = wait_messages(worker, 1)

    [request] = push_service.for_browser("giorgi-laptop")
    assert request.payload == {
        "type": "message", "room": room["id"], "seq": message["seq"], "message": message["id"], "unread": 1,
        "title": "nino in თბილისი", "body": GEORGIAN, "tag": f"room-{room['id']}"}
    assert request.headers["topic"] == f"room-{room['id']}"
    assert request.headers["content-encoding"] == "aes128gcm"
    assert int(request.headers["ttl"]) > 0
    assert request.vapid_audience == push_service.base_url  # the JWT is signed for this push service
    assert [(n.state, n.attempts) for n in ledger()] == [("sent", 1)]
    assert push_service.for_browser("nino") == []  # never the sender
    assert metrics.value("chat_push_requests_total", result="sent") == 1


def test_online_member_gets_none(broker, workers, daphnes, push_service, make_user, make_room, api_client):
    nino, giorgi, ana = make_user("nino"), make_user("giorgi"), make_user("ana")
    room = make_room(owner=nino, members=[giorgi, ana], name="online")
    subscribe(api_client, giorgi, push_service, "giorgi")
    subscribe(api_client, ana, push_service, "ana")
    [ws] = daphnes(1)
    worker = workers()

    with OpenSocket(ws, tokens.issue_token(giorgi)):  # giorgi has the app open
        send(nino, room["id"], "are you there?")
        wait_messages(worker, 1)

    assert len(push_service.delivered("ana")) == 1
    assert push_service.for_browser("giorgi") == []


def test_muted_member_gets_none(broker, workers, push_service, make_user, make_room, api_client):
    nino, giorgi, ana = make_user("nino"), make_user("giorgi"), make_user("ana")
    room = make_room(owner=nino, members=[giorgi, ana], name="muted")
    subscribe(api_client, giorgi, push_service, "giorgi")
    subscribe(api_client, ana, push_service, "ana")
    response = api_client(giorgi).put(f"/api/chat/rooms/{room['id']}/mute/")
    assert response.status_code == 200 and response.json() == {"room": room["id"], "muted": True}
    worker = workers()

    send(nino, room["id"], "quiet please")
    wait_messages(worker, 1)

    assert len(push_service.delivered("ana")) == 1
    assert push_service.for_browser("giorgi") == []


def test_member_who_read_before_the_task_ran_gets_none(
        broker, settings, workers, push_service, make_user, make_room, api_client):
    nino, giorgi, ana = make_user("nino"), make_user("giorgi"), make_user("ana")
    room = make_room(owner=nino, members=[giorgi, ana], name="read")
    subscribe(api_client, giorgi, push_service, "giorgi")
    subscribe(api_client, ana, push_service, "ana")
    worker = workers()
    settings.CHAT_PUSH_COALESCE_SECONDS = 3.0  # the task runs 3 s after the commit: giorgi reads first

    message = send(nino, room["id"], "read me on another device")
    assert actions.mark(giorgi, room_id=room["id"], message_id=message["id"], kind="read") is not None
    wait_messages(worker, 1)

    assert len(push_service.delivered("ana")) == 1
    assert push_service.for_browser("giorgi") == []


def test_a_burst_of_five_is_one_notification(broker, settings, workers, push_service, make_user, make_room, api_client):
    nino, giorgi = make_user("nino"), make_user("giorgi")
    room = make_room(owner=nino, members=[giorgi], name="Team")
    subscribe(api_client, giorgi, push_service, "giorgi")
    worker = workers()
    settings.CHAT_PUSH_COALESCE_SECONDS = 2.0  # the burst commits well inside the first countdown

    sent = [send(nino, room["id"], f"message {i} — ნაწილი {i}") for i in range(1, 6)]
    wait_messages(worker, 5)  # four of the five messages find the burst already covered

    [request] = push_service.for_browser("giorgi")
    assert request.status == 201
    assert request.payload["title"] == "5 new messages in Team"
    assert request.payload["body"] == "nino: message 5 — ნაწილი 5"  # the newest text
    assert (request.payload["seq"], request.payload["message"], request.payload["unread"]) == (
        sent[-1]["seq"], sent[-1]["id"], 5)
    assert request.headers["topic"] == request.payload["tag"] == f"room-{room['id']}"
    assert [(n.seq, n.state) for n in ledger()] == [(sent[-1]["seq"], "sent")]


def test_410_removes_the_subscription(broker, workers, push_service, make_user, make_room, api_client):
    nino, giorgi = make_user("nino"), make_user("giorgi")
    room = make_room(owner=nino, members=[giorgi], name="gone")
    subscription = subscribe(api_client, giorgi, push_service, "giorgi", script=[(410, 0.0)])
    worker = workers()

    send(nino, room["id"], "anyone?")
    metrics = wait_messages(worker, 1)

    assert [r.status for r in push_service.for_browser("giorgi")] == [410]
    assert not PushSubscription.objects.filter(endpoint=subscription["endpoint"]).exists()
    assert ledger() == []  # its ledger rows went with it
    assert metrics.value("chat_push_requests_total", result="gone") == 1

    send(nino, room["id"], "still nobody")  # nothing left to push to
    wait_messages(worker, 2)
    assert len(push_service.for_browser("giorgi")) == 1


def test_503_then_201_delivers_once_and_the_worker_reports_it(
        broker, workers, push_service, make_user, make_room, api_client):
    nino, giorgi = make_user("nino"), make_user("giorgi")
    room = make_room(owner=nino, members=[giorgi], name="flaky")
    subscribe(api_client, giorgi, push_service, "giorgi", script=[(503, 0.0), (201, 0.0)])
    worker = workers()

    send(nino, room["id"], "second time lucky")
    metrics = wait_tasks(worker, 1, task="chat.push_retry")  # Retry-After: 1, then the retry task

    requests = push_service.for_browser("giorgi")
    assert [r.status for r in requests] == [503, 201]
    assert requests[0].payload == requests[1].payload
    assert requests[0].headers["topic"] == requests[1].headers["topic"]
    assert [(n.state, n.attempts) for n in ledger()] == [("sent", 2)]
    # /metrics of the worker: tasks by name and state, their durations, push outcomes, queues
    assert metrics.value("chat_worker_tasks_total", task="chat.notify_messages", state="succeeded") == 1
    assert metrics.value("chat_worker_tasks_total", task="chat.push_retry", state="succeeded") == 1
    assert metrics.value("chat_worker_task_seconds_count", task="chat.notify_messages") == 1
    assert metrics.value("chat_push_requests_total", result="retry") == 1
    assert metrics.value("chat_push_requests_total", result="sent") == 1
    assert metrics.value("chat_push_notify_seconds_count") == 2
    assert ("chat_worker_queue_length", frozenset({("queue", "chat.notifications")})) in metrics.samples


def test_liveness_command_answers(workers):
    worker = workers()
    result = worker.ping()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{worker.name}: OK" in result.stdout and "pong" in result.stdout

    worker.kill()
    result = worker.ping(timeout=2)
    assert result.returncode != 0  # a dead worker fails the probe


def test_a_timeout_is_retried_with_the_same_topic_and_413_is_dropped(
        broker, workers, push_service, make_user, make_room, api_client):
    nino, giorgi, ana = make_user("nino"), make_user("giorgi"), make_user("ana")
    room = make_room(owner=nino, members=[giorgi, ana], name="slow")
    # giorgi's push service answers the first request after the worker gave up (2 s > 1 s timeout)
    subscribe(api_client, giorgi, push_service, "giorgi", script=[(201, 2.0), (201, 0.0)])
    subscribe(api_client, ana, push_service, "ana", script=[(413, 0.0)])
    worker = workers(CHAT_PUSH_TIMEOUT_SECONDS="1")

    send(nino, room["id"], "are you slow?")
    metrics = wait_tasks(worker, 1, task="chat.push_retry")

    giorgi_requests = push_service.for_browser("giorgi")
    # The outcome of a timed-out request is unknown: it is sent again, the same Topic and payload
    # (the browser replaces the first copy), and the ledger has it sent once.
    assert len(giorgi_requests) == 2
    assert len({(r.headers["topic"], r.payload["message"]) for r in giorgi_requests}) == 1
    assert [r.status for r in push_service.for_browser("ana")] == [413]
    states = {n.subscription.user_id: (n.state, n.attempts) for n in ledger()}
    assert states == {giorgi.id: ("sent", 2), ana.id: ("dropped", 1)}
    assert metrics.value("chat_push_requests_total", result="dropped") == 1


def test_a_tasks_requests_are_in_flight_together(broker, workers, push_service, make_user, make_room, api_client):
    """The work is waiting on push services: one task's requests go out at once, not in turn
    (the kill test shows the other half: at most CHAT_PUSH_CONCURRENCY at a time)."""
    nino = make_user("nino")
    members = [make_user(f"member{i}") for i in range(3)]
    room = make_room(owner=nino, members=members, name="together")
    for member in members:
        subscribe(api_client, member, push_service, member.username, script=[(201, 2.0)])
    worker = workers()

    send(nino, room["id"], "everyone at once")
    push_service.wait_for(lambda: len(push_service.in_flight()) == 3, what="three requests held at once")
    wait_messages(worker, 1)

    assert [len(push_service.delivered(m.username)) for m in members] == [1, 1, 1]
    assert [n.state for n in ledger()] == ["sent"] * 3
