"""Redis Sentinel failover mid-conversation: nothing confirmed is lost, nothing is duplicated,
and no socket stalls silently (it keeps working, or it is closed and the client resyncs)."""
import asyncio
import time

import pytest
import redis
from asgiref.sync import sync_to_async

from tests.e2e.conftest import dump_logs
from tests.e2e.conversation import (assert_exactly_once, catch_up, confirmed_at, connect_members, four_members,
                                     room_messages, stop_conversation)
from tests.support import processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MASTER = "chatfailover"


@pytest.fixture
def sentinel_cluster():
    cluster = processes.SentinelCluster(MASTER).start()  # master, replica, three sentinels, settled
    try:
        yield cluster.master, cluster.replica, cluster.sentinels
    finally:
        cluster.stop()


def _master_port(sentinels) -> int | None:
    for s in sentinels:
        try:
            addr = redis.Redis(port=s.port, socket_timeout=1).execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
            return int(addr[1])
        except redis.RedisError:
            continue
    return None


async def test_sentinel_failover_loses_and_duplicates_nothing(daphnes, sentinel_cluster, make_user, make_room):
    master, replica, sentinels = sentinel_cluster
    room, users, tokens = await four_members(make_user, make_room, "failover")
    env = {"REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in sentinels), "REDIS_MASTER_NAME": MASTER,
           "REDIS_URL": ""}
    procs = await sync_to_async(daphnes)(2, **env)
    members, runners = await connect_members(room, users, tokens, procs)
    try:
        stop = asyncio.Event()
        talkers = [asyncio.create_task(m.converse(stop, 0.15)) for m in members]

        await asyncio.sleep(2.0)
        killed_at = time.monotonic()
        await asyncio.to_thread(master.kill)  # kill -9 mid-conversation
        deadline = time.monotonic() + 30
        while _master_port(sentinels) != replica.port:
            assert time.monotonic() < deadline, "sentinels did not fail over"
            await asyncio.sleep(0.2)
        promoted_at = time.monotonic()
        # after the failover: keep conversing; the last stretch must be delivered live
        await asyncio.sleep(4.0)
        late_from = time.monotonic()
        await asyncio.sleep(4.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*talkers), 60)
        late_until = time.monotonic()

        await catch_up(members)
        stored = await sync_to_async(room_messages)(room["id"])
        confirmed = assert_exactly_once(members, stored)
        # no socket went deaf: what was sent in the late stretch arrived live at every member that
        # was connected all along (a member whose socket was closed then resynced instead)
        late = [(t, msg) for t, msg in confirmed.items() if late_from <= confirmed_at(members, t) <= late_until]
        assert late, "messages were sent after the failover"
        for m in members:
            if any(late_from <= at <= late_until for at, _ in m.closes):
                continue
            others = [msg["seq"] for t, msg in late if not t.startswith(m.name + "-")]
            missing = [seq for seq in others if seq not in m.live_at]
            assert missing == [], f"{m.name} missed live delivery of {missing} after the failover"
        print(f"failover: promoted {promoted_at - killed_at:.1f}s after kill; {len(stored)} messages; closes:",
              {m.name: [(round(at - killed_at, 1), c) for at, c in m.closes] for m in members})
    except BaseException:
        print(dump_logs(procs))
        raise
    finally:
        await stop_conversation(members, runners)
