"""What a drill's chatting members experienced, against what PostgreSQL stored: messages
confirmed, delivered live, repaired (reached a member only through sync), lost, duplicated, and
when live delivery came back after the fault."""
import psycopg

from harness.member import Member


class Talker(Member):
    """A harness member that also counts the sends the server refused (`message_failed`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failed: list[str] = []

    def _handle(self, frame: dict) -> bool:
        if frame["type"] == "message_failed":
            self.failed.append(frame.get("code", "?"))
        return super()._handle(frame)


def stored_messages(database_url: str, room_id: int) -> list[tuple[int, int, str]]:
    """(seq, id, temp_id) of the room's messages, by seq."""
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=5) as conn:
        return conn.execute("SELECT seq, id, temp_id FROM chat_message WHERE room_id = %s ORDER BY seq",
                            (room_id,)).fetchall()


def tally(members: list[Talker], stored: list[tuple[int, int, str]], fault_at: float,
          extra_confirmed: dict[str, dict] | None = None, extra_attempted: set[str] | None = None) -> dict:
    """The figures every drill prints. `extra_*`: sends made outside the members (HTTP)."""
    by_temp: dict[str, tuple[int, int]] = {}
    duplicated = 0
    for seq, mid, temp in stored:
        duplicated += temp in by_temp
        by_temp[temp] = (seq, mid)
    holes = len(set(range(1, len(stored) + 1)) - {seq for seq, _, _ in stored})
    confirmed = {t: msg for m in members for t, msg in m.confirmed.items()}
    confirmed.update(extra_confirmed or {})
    attempted = set().union(*(m.attempted for m in members)) | (extra_attempted or set())
    # lost: confirmed but not stored as confirmed; attempted but never confirmed; a seq hole
    lost = holes + sum(1 for t, msg in confirmed.items() if by_temp.get(t) != (msg["seq"], msg["id"]))
    lost += len(attempted - set(confirmed))
    live = repaired = 0
    everything = {seq: mid for seq, mid, _ in stored}
    for m in members:
        duplicated += len(m.seqs.duplicates) + len(m.seqs.conflicts)
        own = {seq for seq, _, temp in stored if temp.startswith(m.name + "-")}
        for seq, mid in everything.items():
            if seq in own:
                continue
            if m.seqs.ids.get(seq) != mid:
                lost += 1
            elif seq in m.seqs.live:
                live += 1
            else:
                repaired += 1
    return {
        "confirmed": len(confirmed), "stored": len(stored), "delivered_live": live, "repaired": repaired,
        "lost": lost, "duplicated": duplicated,
        "live_again_s": live_again(members, stored, fault_at),
        "failed_sends": sum(len(m.failed) for m in members),
        "stalled_sends": sum(len(m.stalls) for m in members),
        "clients_closed": sum(1 for m in members if any(at >= fault_at for at, _ in m.closes)),
        "clients_told_to_resync": sum(1 for m in members if m.resyncs),
    }


def live_again(members: list[Talker], stored, fault_at: float) -> float | None:
    """Seconds from the fault until live delivery was whole again: every message confirmed from
    then on reached every other member live. None: it never was, to the end of the drill."""
    author = {seq: temp.rsplit("-", 1)[0] for seq, _, temp in stored}
    confirmed_at = {}
    for m in members:
        for temp, msg in m.confirmed.items():
            confirmed_at[msg["seq"]] = m.confirmed_at[temp]
    after = sorted((at, seq) for seq, at in confirmed_at.items() if at >= fault_at)
    if not after:
        return None
    recovered_from = None
    for at, seq in reversed(after):
        if all(seq in m.seqs.live for m in members if m.name != author.get(seq)):
            recovered_from = at
        else:
            break
    return None if recovered_from is None else round(recovered_from - fault_at, 2)
