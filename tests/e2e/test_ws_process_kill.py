"""A ws process killed with -9 mid-conversation: its members reconnect to the other process and
sync; nothing confirmed is lost, nothing is duplicated, no send stalls silently."""
import asyncio

import pytest
from asgiref.sync import sync_to_async

from tests.e2e.conftest import dump_logs
from tests.e2e.conversation import (assert_exactly_once, catch_up, connect_members, four_members, room_messages,
                                     stop_conversation)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def test_ws_process_kill_loses_and_duplicates_nothing(daphnes, make_user, make_room):
    room, users, tokens = await four_members(make_user, make_room, "pod kill")
    procs = await sync_to_async(daphnes)(2)
    members, runners = await connect_members(room, users, tokens, procs)
    try:
        stop = asyncio.Event()
        talkers = [asyncio.create_task(m.converse(stop, 0.15)) for m in members]
        await asyncio.sleep(2.0)
        await asyncio.to_thread(procs[0].kill)  # kill -9: half the members lose their socket
        await asyncio.sleep(4.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*talkers), 60)

        await catch_up(members)
        stored = await sync_to_async(room_messages)(room["id"])
        assert_exactly_once(members, stored)
        moved = [m.name for m in members if m.home == 0]
        assert all(m.connects >= 2 for m in members if m.home == 0), f"{moved} reconnected elsewhere"
        print(f"ws kill: {len(stored)} messages; closes:", {m.name: [c for _, c in m.closes] for m in members})
    except BaseException:
        print(dump_logs(procs))
        raise
    finally:
        await stop_conversation(members, runners)
