"""Coalescing of receipt marks per connection.

A client scrolling through a backlog can send a mark per message; each would be a write and a
frame to every member. The first mark goes at once; later ones within the window collapse into
the newest, flushed when the window ends. 100 marks in a second become about five writes.
"""
import asyncio
import time


class ReceiptCoalescer:
    def __init__(self, window: float, flush):
        self.window = window
        self.flush = flush  # async (room_id, kind, message_id) -> None
        self.pending: dict[tuple[int, str], int] = {}
        self.last_sent: dict[tuple[int, str], float] = {}
        self.timers: dict[tuple[int, str], asyncio.TimerHandle] = {}

    async def mark(self, room_id: int, kind: str, message_id: int) -> None:
        key = (room_id, kind)
        # Within a room, message ids grow with seq (both are taken under the room's row lock).
        self.pending[key] = max(message_id, self.pending.get(key, 0))
        wait = self.last_sent.get(key, 0.0) + self.window - time.monotonic()
        if wait <= 0 and key not in self.timers:
            await self._send(key)
        elif key not in self.timers:
            loop = asyncio.get_running_loop()
            self.timers[key] = loop.call_later(wait, lambda: asyncio.ensure_future(self._send(key)))

    async def _send(self, key) -> None:
        self.timers.pop(key, None)
        message_id = self.pending.pop(key, None)
        if message_id is None:
            return
        self.last_sent[key] = time.monotonic()
        await self.flush(key[0], key[1], message_id)

    def cancel(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
