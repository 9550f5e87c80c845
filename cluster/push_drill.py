"""Drill (f): kill -9 the Celery worker while it is pushing a batch of notifications; after the
supervisor restarts it, every notification still goes out exactly once.

A local push service (plain http on the topology's push port) stands in for FCM / Mozilla's: it
decrypts each request with the subscription's own keys (RFC 8291, as a browser would) to learn
which message it notifies of, and answers 201 after a short delay so requests are in flight
when the worker dies. Offline members of the drill's room subscribe through the proxy's API.
The one repeat the design allows (chat/notifications.py) is a request that was in flight at the
kill: sent again with the same Topic, so it replaces the first copy; it is counted as `replaced`,
any other repeat as duplicated.
"""
import asyncio
import base64
import json
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cluster import control, render
from cluster.drills import Conversation, Outcome, Pace, judge, kill, running_again, wait_for
from cluster.topology import Topology

ANSWER_DELAY = 0.25  # seconds the push service holds each request


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushService:
    def __init__(self, port: int):
        self.keys: dict[str, tuple] = {}  # subscription key -> (private key, auth secret)
        self.received: list[dict] = []   # {"sub", "message", "seq", "at", "answered"}
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.path.rsplit("/", 1)[-1]
                entry = {"sub": key, "at": time.monotonic(), "answered": None, "topic": self.headers.get("Topic")}
                private, auth = service.keys[key]
                payload = json.loads(http_ece.decrypt(body, private_key=private, auth_secret=auth,
                                                      version="aes128gcm"))
                entry.update(message=payload["message"], seq=payload["seq"])
                with service.lock:
                    service.received.append(entry)
                time.sleep(ANSWER_DELAY)
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()
                entry["answered"] = time.monotonic()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def subscription(self, base: str, name: str) -> dict:
        private = ec.generate_private_key(ec.SECP256R1())
        public = private.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        auth = os.urandom(16)
        self.keys[name] = (private, auth)
        return {"endpoint": f"{base}/push/{name}", "keys": {"p256dh": _b64(public), "auth": _b64(auth)}}

    def in_flight(self) -> int:
        with self.lock:
            return sum(1 for r in self.received if r["answered"] is None)

    def __enter__(self) -> "PushService":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


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


async def drill_f(topology: Topology, room: dict, pace: Pace) -> Outcome:
    out = Outcome("f", "kill -9 the worker mid-batch")
    offline = room["members"][pace.members + 1:pace.members + 1 + pace.push_offline]
    db = render.database_url(topology)
    with PushService(topology.push_port) as push:
        base = f"http://127.0.0.1:{topology.push_port}"
        for i, m in enumerate(offline):
            await asyncio.to_thread(subscribe, topology, m["token"], push.subscription(base, f"s{i}"))
        async with Conversation(topology, room, pace) as talk:
            # mid-batch: the worker has a request under way and more of the batch waiting
            await wait_for(lambda: push.in_flight() > 0 and len(push.received) >= len(offline),
                           "the worker pushing", 30, interval=0.02)
            fault_at = time.monotonic()
            old = kill(topology, "worker")
            killed_at = time.monotonic()
            # In flight at the kill: arrived before it, not answered before it. The service
            # answers a dead worker's request all the same, so "unanswered now" is too narrow.
            in_flight_at_kill = {(r["sub"], r["message"]) for r in list(push.received)
                                 if r["at"] <= killed_at and (r["answered"] is None or r["answered"] >= fault_at)}
            restarted = await wait_for(running_again(topology, "worker", old), "the worker restarted", 60)
            out.figures = await talk.finish(fault_at)
        stored_last = out.figures.get("stored", 0)
        drained = await wait_for(lambda: settled(db, room["room"], stored_last),
                                 "every notification finished, the last message's included", 90, interval=0.5)
        await asyncio.sleep(ANSWER_DELAY + 0.5)
        rows = await asyncio.to_thread(ledger, db, room["room"])
        received = list(push.received)
    counts: dict[tuple, list] = {}
    for r in received:
        counts.setdefault((r["sub"], r["message"]), []).append(r)
    sent = {(endpoint.rsplit("/", 1)[-1], mid) for endpoint, mid, _, state, _ in rows if state == "sent"}
    not_sent = [(endpoint, state, reason) for endpoint, _, _, state, reason in rows if state != "sent"]
    missing = [key for key in sent if key not in counts]
    replaced = sum(len(v) - 1 for k, v in counts.items() if len(v) > 1 and k in in_flight_at_kill)
    duplicated = sum(len(v) - 1 for k, v in counts.items() if len(v) > 1 and k not in in_flight_at_kill)
    unknown = [k for k in counts if k not in sent]
    last_seq = max((seq for _, _, seq, _, _ in rows), default=0)
    out.figures.update(
        notifications=len(rows), push_requests=len(received), push_lost=len(missing) + len(not_sent),
        push_duplicated=duplicated, push_replaced_in_flight=replaced, push_unknown=len(unknown),
        in_flight_at_kill=len(in_flight_at_kill), worker_restarted_s=round(restarted - fault_at, 2),
        all_notified_s=round(drained - fault_at, 2), last_message_notified=last_seq == stored_last)
    if missing or not_sent:
        out.problems.append(f"notifications not delivered: {len(missing)} sent-but-unseen, not sent: {not_sent[:5]}")
    if duplicated or unknown:
        out.problems.append(f"notifications twice: {duplicated}, not in the ledger: {unknown[:5]}")
    if last_seq != stored_last:
        out.problems.append(f"the room's last message (seq {stored_last}) was not notified (newest {last_seq})")
    if not in_flight_at_kill:
        out.problems.append("no push request was in flight at the kill (nothing was tested)")
    return judge(out)

