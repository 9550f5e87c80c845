"""Drill (f): kill -9 the Celery worker while it is pushing a batch of notifications; after the
supervisor restarts it, every notification still goes out exactly once.

The tests' local push service (harness/push.py, plain http on the topology's push port) stands
in for FCM / Mozilla's: it decrypts each request with the subscription's own keys (RFC 8291, as
a browser would) to learn which message it notifies of, and answers 201 after a short delay so
requests are in flight when the worker dies. Offline members of the drill's room subscribe
through the proxy's API. The one repeat the design allows (chat/notifications.py) is a request
whose outcome the ledger had not recorded when the worker died: its row was still `sending`
(claimed; the request in flight, or its answer not yet written). It is sent again with the same
Topic, so it replaces the first copy; it is counted as `replaced`, any other repeat as duplicated.
"""
import asyncio
import json
import time
import urllib.request

import psycopg

from cluster import render
from cluster.drills import Conversation, Outcome, Pace, judge, kill, running_again, wait_for
from cluster.topology import Topology
from harness.push import PushService

ANSWER_DELAY = 0.25  # seconds the push service holds each request


def subscribe(topology: Topology, token: str, subscription: dict) -> None:
    request = urllib.request.Request(f"{topology.url}/api/push/subscriptions/", method="POST",
                                     data=json.dumps(subscription).encode(),
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201), response.status


def ledger(database_url: str, room_id: int) -> list[tuple]:
    """(endpoint, message id, seq, state, reason) of every notification row of the room."""
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
        return conn.execute(
            "SELECT s.endpoint, n.message_id, n.seq, n.state, n.reason FROM chat_pushnotification n "
            "JOIN chat_pushsubscription s ON s.id = n.subscription_id WHERE n.room_id = %s", (room_id,)).fetchall()


def settled(database_url: str, room_id: int, last_seq: int) -> bool:
    """Every notification row finished, and the room's last message has its rows: a task the
    killed worker held comes back only after the broker's visibility timeout, so an empty
    ledger of unfinished rows alone can be read before that task has written its rows."""
    rows = ledger(database_url, room_id)
    return (all(row[3] not in ("pending", "sending", "retrying") for row in rows)
            and max((row[2] for row in rows), default=0) >= last_seq)


def _unrecorded(database_url: str, room_id: int) -> set[tuple[str, int]]:
    """(subscription name, message) of the rows claimed and not finished: read right after the
    kill, what the dead worker had under way."""
    return {(endpoint.rsplit("/", 1)[-1], message_id)
            for endpoint, message_id, _, state, _ in ledger(database_url, room_id) if state == "sending"}


async def drill_f(topology: Topology, room: dict, pace: Pace) -> Outcome:
    out = Outcome("f", "kill -9 the worker mid-batch")
    offline = room["members"][pace.members + 1:pace.members + 1 + pace.push_offline]
    db = render.database_url(topology)
    with PushService(topology.push_port) as push:
        for i, m in enumerate(offline):
            await asyncio.to_thread(subscribe, topology, m["token"], push.subscription(f"s{i}", [(201, ANSWER_DELAY)]))
        async with Conversation(topology, room, pace) as talk:
            # mid-batch: the worker has requests under way
            await wait_for(lambda: push.in_flight() and len(push.requests) >= len(offline),
                           "the worker pushing", 30, interval=0.02)
            fault_at, killed_wall = time.monotonic(), time.time()
            old = kill(topology, "worker")
            unrecorded = await asyncio.to_thread(_unrecorded, db, room["room"])
            # In flight at the kill, as the push service saw it: arrived before it, not answered
            # before it (the service answers a dead worker's request all the same).
            in_flight_at_kill = {(r.name, (r.payload or {}).get("message")) for r in list(push.requests)
                                 if r.received <= killed_wall and (r.answered is None or r.answered >= killed_wall)}
            restarted = await wait_for(running_again(topology, "worker", old), "the worker restarted", 60)
            out.figures = await talk.finish(fault_at)
        stored_last = out.figures.get("stored", 0)
        drained = await wait_for(lambda: settled(db, room["room"], stored_last),
                                 "every notification finished, the last message's included", 90, interval=0.5)
        await asyncio.sleep(ANSWER_DELAY + 0.5)
        rows = await asyncio.to_thread(ledger, db, room["room"])
        received = list(push.requests)
    counts: dict[tuple, int] = {}
    for r in received:
        key = (r.name, (r.payload or {}).get("message"))
        counts[key] = counts.get(key, 0) + 1
    allowed = unrecorded | in_flight_at_kill  # the second is contained in the first, read from the other side
    sent = {(endpoint.rsplit("/", 1)[-1], mid) for endpoint, mid, _, state, _ in rows if state == "sent"}
    not_sent = [(endpoint, state, reason) for endpoint, _, _, state, reason in rows if state != "sent"]
    missing = [key for key in sent if key not in counts]
    replaced = sum(n - 1 for key, n in counts.items() if n > 1 and key in allowed)
    duplicated = sum(n - 1 for key, n in counts.items() if n > 1 and key not in allowed)
    unknown = [key for key in counts if key not in sent]
    last_seq = max((seq for _, _, seq, _, _ in rows), default=0)
    out.figures.update(
        notifications=len(rows), push_requests=len(received), push_lost=len(missing) + len(not_sent),
        push_duplicated=duplicated, push_replaced_unrecorded=replaced, push_unknown=len(unknown),
        unrecorded_at_kill=len(unrecorded), in_flight_at_kill=len(in_flight_at_kill),
        worker_restarted_s=round(restarted - fault_at, 2), all_notified_s=round(drained - fault_at, 2),
        last_message_notified=last_seq == stored_last)
    if missing or not_sent:
        out.problems.append(f"notifications not delivered: {len(missing)} sent-but-unseen, not sent: {not_sent[:5]}")
    if duplicated or unknown:
        out.problems.append(f"notifications twice: {duplicated}, not in the ledger: {unknown[:5]}")
    if last_seq != stored_last:
        out.problems.append(f"the room's last message (seq {stored_last}) was not notified (newest {last_seq})")
    if not unrecorded:
        out.problems.append("no notification was under way at the kill (nothing was tested)")
    return judge(out)
