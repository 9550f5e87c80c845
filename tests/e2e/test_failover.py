"""Redis Sentinel failover mid-conversation: nothing confirmed is lost, nothing is duplicated,
no socket is closed and no client needs to sync: every member receives every message live."""
import asyncio
import time

import pytest
import redis
from asgiref.sync import sync_to_async

from tests.e2e.conftest import dump_logs
from tests.e2e.conversation import (assert_all_live, assert_exactly_once, catch_up, connect_members,
                                     four_members, room_messages, stop_conversation)
from harness import processes

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
        await asyncio.sleep(6.0)  # keep conversing after the failover
        stop.set()
        await asyncio.wait_for(asyncio.gather(*talkers), 60)

        await catch_up(members)
        stored = await sync_to_async(room_messages)(room["id"])
        assert_exactly_once(members, stored)
        # The ws processes followed the new master and repaired from PostgreSQL whatever was
        # published into the failover.
        assert_all_live(members, stored)
        last_live = max(max(m.live_at.values()) for m in members)
        print(f"failover: promoted {promoted_at - killed_at:.1f}s after kill; {len(stored)} messages, all live; "
              f"last delivered {last_live - killed_at:.1f}s after the kill; sends that waited:",
              sum(1 for t in confirmed_times(members) if killed_at <= t <= promoted_at + 1))
    except BaseException:
        print(dump_logs(procs))
        raise
    finally:
        await stop_conversation(members, runners)


def confirmed_times(members):
    return [at for m in members for at in m.confirmed_at.values()]
