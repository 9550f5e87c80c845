"""This ws process's hub: one Redis subscription per room (and per user) that has local
sockets, and the local fan-out of each publication to them.

A publication is read once per process (its small header only; the frame's bytes go to every
socket as they are, framed once: apps/ws/outlet.py). Each room keeps the newest room change
number it fanned out (`position`). A publication that skips a change, a (re)subscription, or
a periodic position check that finds PostgreSQL ahead, makes the hub read the missing changes
from PostgreSQL and deliver them, in order, before anything newer: a dropped publication, a
Redis restart or a Sentinel failover costs a query, not a client resync. Duplicates are dropped
by change number. When repair is impossible (PostgreSQL down, too far behind), the room's
sockets get a `resync` frame and the client syncs itself. A user's channel is checked the same
way once subscribed: sessions ended and rooms added just before are not missed.

The subscription is watched: when nothing arrives for a while a probe is published (through
the Sentinel-resolved master) on this process's own channel; if it does not come back, the
connection is presumed starved (e.g. still attached to a demoted master) and is rebuilt.
"""
import asyncio
import logging
import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings

from accounts import tokens
from apps.ws import db
from apps.ws.delivery import Delivery
from chat import broadcast, metrics, queries
from chat.redis_client import async_client

log = logging.getLogger(__name__)

RECENT_MESSAGES = 256  # per room: message_new deliveries kept to catch up a socket that joins late


@dataclass
class RoomFeed:
    room_id: int
    position: int  # newest room change number fanned out here
    seq: int = 0  # newest message seq fanned out here
    sockets: dict = field(default_factory=dict)  # socket id -> consumer
    recent: OrderedDict = field(default_factory=OrderedDict)  # seq -> Delivery (message_new)
    backlog: list | None = None  # publications held while a gap is open (waited for, or repaired)
    repairing: bool = False  # a repair from PostgreSQL is under way
    waiting: asyncio.TimerHandle | None = None  # an open gap's wait for a publication out of order
    resynced_at: int | None = None  # position at which the sockets were last told to resync


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop, process_id: str):
        self.loop = loop
        self.process_id = process_id
        self.rooms: dict[int, RoomFeed] = {}
        self.users: dict[int, dict] = {}  # user id -> {socket id: consumer} (all-rooms sockets)
        self.user_prefix = broadcast.user_channel("")
        self.tasks: set[asyncio.Task] = set()
        self.to_check: set[int] = set()
        self.users_to_check: set[int] = set()
        self.source = RedisSource(self) if settings.REDIS.configured else LocalSource(self)
        self._spawn(self._check_positions_forever(), "fanout-position-check")

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = self.loop.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # --- sockets joining and leaving ---------------------------------------------------------

    def join_room(self, socket, room_id: int, last_seq: int, last_change: int) -> None:
        """Start a socket's live feed of a room from the state it was told at connect. Synchronous:
        nothing is delivered in between, so catch-up and live frames cannot interleave."""
        socket.sent_seq[room_id] = last_seq
        feed = self.rooms.get(room_id)
        if feed is None:
            feed = self.rooms[room_id] = RoomFeed(room_id, position=last_change, seq=last_seq)
            feed.sockets[socket.socket_id] = socket
            metrics.FANOUT_ROOMS.inc()
            self.source.subscribe(broadcast.room_channel(room_id))
            return
        feed.sockets[socket.socket_id] = socket
        if last_seq < feed.seq:
            self._catch_up(feed, socket, last_seq)

    def _catch_up(self, feed: RoomFeed, socket, last_seq: int) -> None:
        """Messages fanned out here after the socket read its room state and before it joined."""
        missing = range(last_seq + 1, feed.seq + 1)
        if all(seq in feed.recent for seq in missing):
            for seq in missing:
                socket.deliver(feed.recent[seq])
        else:
            socket.resync(feed.room_id, "gap")

    def leave_room(self, socket, room_id: int) -> None:
        feed = self.rooms.get(room_id)
        if feed is None or feed.sockets.pop(socket.socket_id, None) is None:
            return
        if not feed.sockets:
            del self.rooms[room_id]
            metrics.FANOUT_ROOMS.dec()
            self.source.unsubscribe(broadcast.room_channel(room_id))

    def join_user(self, socket, user_id: int) -> None:
        sockets = self.users.setdefault(user_id, {})
        sockets[socket.socket_id] = socket
        if len(sockets) == 1:
            self.source.subscribe(broadcast.user_channel(user_id))

    def leave_user(self, socket, user_id: int) -> None:
        sockets = self.users.get(user_id)
        if sockets is None or sockets.pop(socket.socket_id, None) is None:
            return
        if not sockets:
            del self.users[user_id]
            self.source.unsubscribe(broadcast.user_channel(user_id))

    def channels(self) -> list[str]:
        return ([broadcast.room_channel(r) for r in self.rooms] + [broadcast.user_channel(u) for u in self.users])

    # --- publications ------------------------------------------------------------------------

    def on_publication(self, channel: str, payload: bytes) -> None:
        header, frame = broadcast.decode(payload)
        delivery = Delivery.from_header(header, frame)
        metrics.FANOUT_PUBLICATIONS.labels(delivery.kind).inc()
        if channel.startswith(self.user_prefix):
            for socket in list(self.users.get(header.get("user"), {}).values()):
                socket.deliver(delivery)
            return
        feed = self.rooms.get(delivery.room)
        if feed is None:
            return  # unsubscribed meanwhile
        if delivery.change is None:
            self._fan_out(feed, delivery)  # ephemeral (typing, presence, receipts): nothing to order
        elif feed.backlog is not None:
            feed.backlog.append(delivery)
            if not feed.repairing:
                self._close_gap_from_held(feed)
        else:
            self._apply(feed, delivery)

    def _apply(self, feed: RoomFeed, delivery: Delivery) -> None:
        if delivery.change <= feed.position:
            return  # already fanned out (a repair got there first, or a retried publish)
        if delivery.change == feed.position + 1:
            feed.position = delivery.change
            self._fan_out(feed, delivery)
            return
        # Two ws processes publishing into one room each publish after their own commit, so Redis
        # may carry change N+1 before change N; N is then a few milliseconds behind. Hold what
        # came and wait for it briefly before going to PostgreSQL for it.
        feed.backlog = [delivery]
        feed.waiting = self.loop.call_later(settings.CHAT_FANOUT_REORDER_GRACE_SECONDS, self._repair_gap, feed)

    def _close_gap_from_held(self, feed: RoomFeed) -> None:
        """A publication arrived while a gap was open: deliver what is now in order."""
        feed.backlog = self._apply_held(feed, sorted(feed.backlog, key=lambda d: d.change))
        if feed.backlog:
            return
        feed.backlog = None
        if feed.waiting is not None:
            feed.waiting.cancel()
            feed.waiting = None
            metrics.FANOUT_REORDERED.inc()

    def _repair_gap(self, feed: RoomFeed) -> None:
        feed.waiting = None
        if self.rooms.get(feed.room_id) is feed and feed.backlog and not feed.repairing:
            self._start_repair(feed)

    def _start_repair(self, feed: RoomFeed) -> None:
        feed.repairing = True
        task = self._spawn(self._repair(feed), f"fanout-repair-{feed.room_id}")
        task.add_done_callback(lambda _: setattr(feed, "repairing", False))

    def _fan_out(self, feed: RoomFeed, delivery: Delivery) -> None:
        if delivery.ts:
            metrics.FANOUT_LAG_SECONDS.observe(max(0.0, time.time() - delivery.ts))
        if delivery.seq is not None and delivery.seq > feed.seq:
            feed.seq = delivery.seq
            feed.recent[delivery.seq] = delivery
            if len(feed.recent) > RECENT_MESSAGES:
                feed.recent.popitem(last=False)
        sockets = list(feed.sockets.values())
        for socket in sockets:
            socket.deliver(delivery)
        metrics.FANOUT_DELIVERIES.labels(delivery.kind).inc(len(sockets))
        if delivery.kind == "message_new" and delivery.ts:
            metrics.MESSAGE_FANOUT_SECONDS.observe(max(0.0, time.time() - delivery.ts))

    # --- repair from PostgreSQL --------------------------------------------------------------

    async def _repair(self, feed: RoomFeed) -> None:
        """Deliver what the room's publications skipped, then what was held meanwhile."""
        for round_ in range(5):
            # The first round reads up to the first held publication (the common single gap:
            # the held frames, already encoded, are fanned out as they are); a later round finds
            # the held ones gappy again (publications lost or late in a failover) and reads
            # everything committed so far, closing every remaining gap at once.
            try:
                held = [d.change for d in feed.backlog]
                changes = await db.call(queries.room_changes_after, feed.room_id, feed.position,
                                        upto=min(held) - 1 if held and round_ == 0 else None,
                                        limit=settings.CHAT_FANOUT_REPAIR_LIMIT)
            except Exception:  # noqa: BLE001 - PostgreSQL away: the clients sync when it is back
                log.warning("fan-out repair of room %s failed", feed.room_id, exc_info=True)
                return self._give_up(feed, "unavailable")
            if changes is None:
                return self._give_up(feed, "gap")
            if self.rooms.get(feed.room_id) is not feed:
                return  # the last socket left meanwhile (a later join starts a feed of its own)
            self._deliver_repaired(feed, changes)
            log.info("room %s repaired from PostgreSQL: %d new, %d changed, up to change %s", feed.room_id,
                     len(changes["new"]), len(changes["updated"]), changes["position"])
            feed.backlog = self._apply_held(feed, sorted(feed.backlog, key=lambda d: d.change))
            if not feed.backlog:
                feed.backlog = None
                return
        self._give_up(feed, "gap")

    def _apply_held(self, feed: RoomFeed, held: list) -> list:
        """Apply held publications in change order; return the rest from the first gap on."""
        for i, delivery in enumerate(held):
            if delivery.change <= feed.position:
                continue
            if delivery.change != feed.position + 1:
                return held[i:]
            feed.position = delivery.change
            self._fan_out(feed, delivery)
        return []

    def _deliver_repaired(self, feed: RoomFeed, changes: dict) -> None:
        for message in changes["new"]:
            self._fan_out(feed, Delivery.repaired("message_new", message))
        for message in changes["updated"]:
            self._fan_out(feed, Delivery.repaired("message_updated", message))
        metrics.FANOUT_REPAIRS.labels("gaps").inc()
        metrics.FANOUT_REPAIRS.labels("messages").inc(len(changes["new"]))
        metrics.FANOUT_REPAIRS.labels("changes").inc(len(changes["updated"]))
        feed.position = max(feed.position, changes["position"])

    def _give_up(self, feed: RoomFeed, reason: str) -> None:
        """Repair is impossible: tell the room's sockets to sync, then go on from the newest held."""
        if feed.resynced_at != feed.position:
            feed.resynced_at = feed.position
            for socket in list(feed.sockets.values()):
                socket.resync(feed.room_id, reason)
            metrics.FANOUT_RESYNC_SIGNALS.labels(reason).inc(len(feed.sockets))
        held = sorted(feed.backlog or [], key=lambda d: d.change)
        feed.backlog = None
        for delivery in held:
            if delivery.change > feed.position:
                feed.position = delivery.change
                self._fan_out(feed, delivery)

    def check_memberships(self) -> None:
        """After a reconnect: room_added / room_removed published meanwhile may be lost, so the
        all-rooms sockets compare their rooms with PostgreSQL (one query for every local user)."""
        if self.users:
            self._spawn(self._check_memberships(list(self.users)), "fanout-membership-check")

    async def _check_memberships(self, user_ids) -> None:
        try:
            rooms = await db.call(queries.room_ids_of_users, user_ids)
        except Exception:  # noqa: BLE001 - the next reconnect or the clients' own reload settles it
            log.warning("fan-out membership check failed", exc_info=True)
            return
        for user_id, room_ids in rooms.items():
            for socket in list(self.users.get(user_id, {}).values()):
                socket.follow_rooms(room_ids)

    def check_rooms(self, room_ids) -> None:
        """Compare rooms with PostgreSQL after their (re)subscription: batched over a few
        milliseconds, so a reconnect or a connect storm costs one query, not one per room."""
        if not self.to_check:
            self.loop.call_later(0.02, self._flush_checks)
        self.to_check.update(room_ids)

    def _flush_checks(self) -> None:
        room_ids, self.to_check = [r for r in self.to_check if r in self.rooms], set()
        if room_ids:
            self._spawn(self._check_positions(room_ids), "fanout-position-check-once")

    def check_users(self, user_ids) -> None:
        """Compare the sockets of users with PostgreSQL once their channel is subscribed: a
        session ended (logout, deactivation) or a room added or left just before the
        subscription took effect had its publication missed. Batched like check_rooms."""
        if not self.users_to_check:
            self.loop.call_later(0.02, self._flush_user_checks)
        self.users_to_check.update(user_ids)

    def _flush_user_checks(self) -> None:
        user_ids, self.users_to_check = [u for u in self.users_to_check if u in self.users], set()
        if user_ids:
            self._spawn(self._check_users(user_ids), "fanout-user-check")

    async def _check_users(self, user_ids) -> None:
        try:
            live, rooms = await db.call(_users_now, user_ids)
        except Exception:  # noqa: BLE001 - the sessions' own expiry and the next reconnect settle it
            log.warning("fan-out user check failed", exc_info=True)
            return
        for user_id in user_ids:
            for socket in list(self.users.get(user_id, {}).values()):
                digests = live.get(user_id)
                if digests is None or (socket.token_id is not None and socket.token_id not in digests):
                    socket.session_ended("its session ended before this process followed the user")
                else:
                    # Added rooms only: following one re-reads the membership, so a late answer
                    # cannot add a room the user left meanwhile (a removal could be stale).
                    socket.follow_new_rooms(rooms.get(user_id, set()))

    async def _check_positions(self, room_ids) -> None:
        try:
            positions = await db.call(queries.room_positions, room_ids)
        except Exception:  # noqa: BLE001 - checked again on the next round
            log.warning("fan-out position check failed", exc_info=True)
            return
        behind = {room_id: change for room_id, change in positions.items() if self._behind(room_id, change)}
        if not behind:
            return
        # PostgreSQL is ahead of a busy room most of the time by the publications still on their
        # way: give them a moment, and repair only what is still missing after it.
        await asyncio.sleep(settings.CHAT_FANOUT_CHECK_GRACE_SECONDS)
        for room_id, change in behind.items():
            if self._behind(room_id, change):
                feed = self.rooms[room_id]
                feed.backlog = []
                self._start_repair(feed)

    def _behind(self, room_id: int, change: int) -> bool:
        feed = self.rooms.get(room_id)
        return feed is not None and feed.backlog is None and change > feed.position

    async def _check_positions_forever(self) -> None:
        """Quiet rooms have no next publication to reveal a missed one: look now and then."""
        while True:
            await asyncio.sleep(settings.CHAT_FANOUT_CHECK_SECONDS * random.uniform(0.8, 1.2))
            if self.rooms:
                await self._check_positions(list(self.rooms))


class LocalSource:
    """The embedded run: publications come from this process's own threads (chat.broadcast)."""

    def __init__(self, hub: Hub):
        self.hub = hub
        broadcast.set_local_receiver(
            lambda channel, payload: hub.loop.call_soon_threadsafe(hub.on_publication, channel, payload))

    def subscribe(self, channel: str) -> None:
        return None

    def unsubscribe(self, channel: str) -> None:
        return None


class RedisSource:
    """One pub/sub connection for the whole process, rebuilt on any error or a missed probe."""

    def __init__(self, hub: Hub):
        self.hub = hub
        self.pubsub = None
        self.probe_channel = broadcast.probe_channel(hub.process_id)
        self.probe_sent: float | None = None
        self.subscribed_once = False
        self.publisher = async_client()
        self.task = hub._spawn(self._run_forever(), "fanout-subscriber")

    def subscribe(self, channel: str) -> None:
        if self.pubsub is not None:
            self.hub._spawn(self._command("subscribe", channel), "fanout-subscribe")

    def unsubscribe(self, channel: str) -> None:
        if self.pubsub is not None:
            self.hub._spawn(self._command("unsubscribe", channel), "fanout-unsubscribe")

    async def _command(self, name: str, channel: str) -> None:
        pubsub = self.pubsub
        try:
            await getattr(pubsub, name)(channel)
        except Exception:  # noqa: BLE001 - the reader notices the broken connection and rebuilds
            log.warning("%s %s failed", name, channel, exc_info=True)

    async def _run_forever(self) -> None:
        attempt = 0
        while True:
            try:
                await self._run_once()
                attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - any failure: a new connection, then a position check
                log.warning("fan-out subscription lost; reconnecting", exc_info=True)
            finally:
                await self._close()
            metrics.FANOUT_SUBSCRIPTION_RECONNECTS.inc()
            attempt += 1
            await asyncio.sleep(min(2.0, 0.05 * 2 ** min(attempt, 6)) * random.uniform(0.5, 1.0))

    async def _close(self) -> None:
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except Exception:  # noqa: BLE001
                pass

    async def _run_once(self) -> None:
        pubsub = async_client(for_pubsub=True).pubsub()
        await pubsub.connect()
        reconnect = self.subscribed_once
        # Published from here on, joins subscribe on this connection themselves; the channels
        # of every socket already here are subscribed at once.
        self.pubsub = pubsub
        channels = self.hub.channels()
        await pubsub.subscribe(self.probe_channel, *channels)
        log.info("fan-out subscribed to %d channels", len(channels))
        self.subscribed_once = True
        if reconnect:
            self.hub.check_memberships()
        idle_since = time.monotonic()
        self.probe_sent = None
        while True:
            message = await pubsub.get_message(timeout=settings.CHAT_FANOUT_PROBE_SECONDS / 4)
            now = time.monotonic()
            if message is None:
                await self._maybe_probe(now, idle_since)
                continue
            idle_since = now
            kind, channel = message["type"], _text(message["channel"])
            if kind == "message":
                if channel == self.probe_channel:
                    self.probe_sent = None
                else:
                    self.hub.on_publication(channel, message["data"])
            elif kind == "subscribe":
                # Subscribed first, then compared with PostgreSQL: nothing falls in between.
                room_id = _room_of(channel)
                if room_id is not None:
                    self.hub.check_rooms([room_id])
                elif channel.startswith(self.hub.user_prefix):
                    self.hub.check_users([int(channel[len(self.hub.user_prefix):])])

    async def _maybe_probe(self, now: float, idle_since: float) -> None:
        if self.probe_sent is not None:
            if now - self.probe_sent > settings.CHAT_FANOUT_PROBE_TIMEOUT_SECONDS:
                metrics.FANOUT_PROBE_MISSES.inc()
                raise ConnectionError("the subscription's liveness probe did not come back")
            return
        if now - idle_since >= settings.CHAT_FANOUT_PROBE_SECONDS:
            self.probe_sent = now
            # Through the Sentinel-resolved master: a subscriber left on a demoted one misses it.
            await self.publisher.publish(self.probe_channel, b"probe")


def _users_now(user_ids) -> tuple[dict[int, set[str]], dict[int, set[int]]]:
    """One trip to the thread pool: the users' live sessions and their rooms."""
    return tokens.live_sessions(user_ids), queries.room_ids_of_users(user_ids)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _room_of(channel: str) -> int | None:
    prefix = broadcast.room_channel("")
    return int(channel[len(prefix):]) if channel.startswith(prefix) else None


_hub: Hub | None = None


def hub(process_id: str) -> Hub:
    """This process's hub, made in the running event loop (a new loop, as in tests, gets a new one)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = Hub(loop, process_id)
    return _hub

