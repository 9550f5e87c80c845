"""One member's view of one room's `seq` run: the one seq tracker of the tests, the Locust
scenarios and the benchmarks.

`watermark` is the last seq of the unbroken run (what a client sends as `last_seq` in
`sync_request`); seqs beyond a hole wait in `ahead` with when they arrived, until the hole fills.
A hole is not a loss at once: an own `message_confirmed` may overtake an earlier `message_new` of
someone else, so callers wait a grace period (`hole()` says how long it has been open).
Duplicates are two *live* deliveries of one seq on one socket (`reconnected()` starts a new
socket); a live frame for a seq a sync already brought is late, not a duplicate.
"""
import time


class SeqTracker:
    def __init__(self, watermark: int = 0, *, window: int | None = None):
        """`window`: keep only about that many seqs of history below the watermark (long soak
        runs); None keeps everything, so `ids`, `live` and `missing_live` are exact."""
        self.watermark = watermark
        self.window = window
        self.ahead: dict[int, float] = {}   # seq beyond a hole -> when it arrived
        self.ids: dict[int, int] = {}       # seq -> message id, live or through sync (when ids are given)
        self.live: set[int] = set()         # seqs that arrived live, on any socket
        self.live_at: dict[int, float] = {} # seq -> when it first arrived live (time.monotonic)
        self.duplicates: list[int] = []     # seqs delivered live twice on one socket
        self.conflicts: list[tuple] = []    # (seq, first id, other id): one seq, two messages
        self._socket: set[int] = set()

    def observe(self, seq: int, message_id: int | None = None, *, live: bool = True) -> str:
        """Record a seq; 'ok', 'duplicate' (twice live on this socket) or 'late' (already had it)."""
        if message_id is not None:
            known = self.ids.setdefault(seq, message_id)
            if known != message_id:
                self.conflicts.append((seq, known, message_id))
        if live:
            if seq in self._socket:
                self.duplicates.append(seq)
                return "duplicate"
            self._socket.add(seq)
            self.live.add(seq)
            self.live_at.setdefault(seq, time.monotonic())
        if seq <= self.watermark or seq in self.ahead:
            return "late"
        self.ahead[seq] = time.perf_counter()
        self._advance()
        return "ok"

    def reconnected(self) -> None:
        """A new socket: a seq it delivers live again is not a duplicate of the old socket's."""
        self._socket = set()

    def reset(self, last_seq: int) -> None:
        """After a sync `reset` the client reloads the newest page: start again from there."""
        self.watermark = max(self.watermark, last_seq)
        self.ahead = {s: t for s, t in self.ahead.items() if s > self.watermark}
        self._advance()

    def hole(self) -> tuple[int, float] | None:
        """(missing count, seconds the oldest waiting seq has waited), or None when unbroken."""
        if not self.ahead:
            return None
        missing = min(self.ahead) - self.watermark - 1
        return missing, time.perf_counter() - min(self.ahead.values())

    def missing_live(self, expected: set[int]) -> set[int]:
        """Which of `expected` never arrived live (through sync or not at all)."""
        return expected - self.live

    def _advance(self) -> None:
        while self.watermark + 1 in self.ahead:
            del self.ahead[self.watermark + 1]
            self.watermark += 1
        if self.window is not None and len(self.live) > 2 * self.window:
            floor = self.watermark - self.window
            self.live = {s for s in self.live if s > floor}
            self._socket = {s for s in self._socket if s > floor}
            self.live_at = {s: t for s, t in self.live_at.items() if s > floor}
            self.ids = {s: i for s, i in self.ids.items() if s > floor}
