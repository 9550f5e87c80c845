"""A ws process killed with -9 mid-conversation: its members reconnect to the other process and
sync; nothing confirmed is lost, nothing is duplicated, no send stalls silently."""
import asyncio

import pytest
from asgiref.sync import sync_to_async
from rest_framework.authtoken.models import Token

from tests.e2e.conftest import dump_logs
from tests.e2e.conversation import Member, assert_exactly_once, catch_up, room_messages, stop_conversation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def test_ws_process_kill_loses_and_duplicates_nothing(daphnes, make_user, make_room):
    users = [await sync_to_async(make_user)() for _ in range(4)]
    room = await sync_to_async(make_room)(owner=users[0], members=users[1:], name="pod kill")
    tokens = [await sync_to_async(lambda u=u: Token.objects.get_or_create(user=u)[0].key)() for u in users]
    procs = await sync_to_async(daphnes)(2)
    members = [Member(f"m{i}", u.id, t, procs, room["id"], home=i % 2) for i, (u, t) in enumerate(zip(users, tokens))]
    runners = [asyncio.create_task(m.run()) for m in members]
    try:
        for m in members:
            await asyncio.wait_for(m.connected.wait(), 20)
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
