"""Per-connection limits: a token bucket for frames."""
import time


class TokenBucket:
    """`rate` frames a second on average, `burst` at once. `debt` grows while a client keeps
    sending into an empty bucket, so a client that ignores `error` frames can be cut off."""

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.debt = 0.0
        self.updated = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            self.debt = max(0.0, self.debt - cost)
            return True
        self.debt += cost
        return False

    @property
    def abusive(self) -> bool:
        return self.debt >= self.burst


# What a frame costs in tokens. Receipt marks are coalesced per connection (apps.ws.receipts), so
# a client scrolling through a backlog may send a hundred in a burst for the price of a few
# writes: they must not be refused as a flood. Everything else costs a full token.
FRAME_COST = {"mark_delivered": 0.1, "mark_read": 0.1}
