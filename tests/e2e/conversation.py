"""Conversing members for end-to-end tests (harness.member, the client that behaves like the
web app), and the exactly-once checks that follow a disruption (a Redis failover, a ws process
killed): every confirmed message reached every member once, directly or through sync, nothing
was stored twice, and no socket stalled silently."""
from chat.models import Message
from harness.member import Member, catch_up, start  # noqa: F401 - the tests take catch_up from here
from harness.member import stop as stop_conversation  # noqa: F401 - and this
from tests.e2e.conftest import ws_url


def room_messages(room_id):
    return list(Message.objects.filter(room_id=room_id).order_by("seq").values_list("seq", "id", "temp_id"))


async def four_members(make_user, make_room, name: str) -> tuple[dict, list, list]:
    """Four users in one room: (room, users, their tokens)."""
    from asgiref.sync import sync_to_async
    from accounts.tokens import issue_token

    users = [await sync_to_async(make_user)() for _ in range(4)]
    room = await sync_to_async(make_room)(owner=users[0], members=users[1:], name=name)
    tokens = [await sync_to_async(issue_token)(u) for u in users]
    return room, users, tokens


async def connect_members(room, users, tokens, procs) -> tuple[list, list]:
    """One member per user, spread over the processes, each connected: (members, their runners)."""
    members = [Member(f"m{i}", room["id"], [ws_url(p, token) for p in procs], home=i % len(procs))
               for i, token in enumerate(tokens[:len(users)])]
    return members, await start(members)


def assert_exactly_once(members, stored) -> dict:
    """PostgreSQL's rows against what every member sent, had confirmed and received."""
    seqs = [seq for seq, _, _ in stored]
    assert seqs == list(range(1, len(stored) + 1)), "seq gap-free and unique in PostgreSQL"
    by_temp = {temp: (seq, mid) for seq, mid, temp in stored}
    assert len(by_temp) == len(stored), "no message stored twice"
    attempted = set().union(*(m.attempted for m in members))
    confirmed = {t: msg for m in members for t, msg in m.confirmed.items()}
    assert set(by_temp) == attempted == set(confirmed), "every send confirmed exactly once, nothing else stored"
    for temp, message in confirmed.items():
        assert by_temp[temp] == (message["seq"], message["id"]), temp
    everything = {seq: mid for seq, mid, _ in stored}
    for m in members:
        assert m.seqs.conflicts == [] and m.resets == [], (m.name, m.seqs.conflicts[:5], m.resets[:1])
        assert m.seqs.ids == everything, (m.name, sorted(set(everything) - set(m.seqs.ids))[:20])
        assert m.seqs.duplicates == [], (m.name, m.seqs.duplicates[:20])
        assert m.stalls == [], f"{m.name}: sends with neither answer nor close: {m.stalls}"
    return confirmed


def not_delivered_live(member, stored) -> list[int]:
    """Seqs this member never got from a live frame (message_new, or message_confirmed for its
    own): a client sync was needed. A sync that merely raced a live delivery does not count: the
    live frame still came."""
    return sorted(member.seqs.missing_live({seq for seq, _, _ in stored}))


def assert_all_live(members, stored) -> None:
    """No socket was closed and no client had to sync: every confirmed message of the others
    reached every member as a live frame on the socket it already had."""
    for m in members:
        assert m.connects == 1 and m.closes == [], f"{m.name} kept its socket: {m.closes}"
        missed = not_delivered_live(m, stored)
        assert missed == [], f"{m.name} needed sync_request for {missed[:10]} (resyncs {m.resyncs})"
        assert m.resyncs == [], m.resyncs


def confirmed_at(members, temp_id) -> float:
    for m in members:
        if temp_id in m.confirmed_at:
            return m.confirmed_at[temp_id]
    return 0.0
