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

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.debt = max(0.0, self.debt - 1.0)
            return True
        self.debt += 1.0
        return False

    @property
    def abusive(self) -> bool:
        return self.debt >= self.burst
