"""How a process gathers stored messages into notification tasks (apps/worker/queueing.py):
real threads and real time, with windows long enough for a loaded box."""
import time

from apps.worker.queueing import Batcher
from chat import metrics


class Flushes:
    """The flush function: records each batch's message ids; `failures` first calls raise."""

    def __init__(self, failures: int = 0):
        self.batches: list[list] = []
        self.at: list[float] = []
        self.failures = failures

    def __call__(self, batch: list) -> None:
        self.at.append(time.monotonic())
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")
        self.batches.append([item[0] for item in batch])

    def wait(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.batches) < count:
            assert time.monotonic() < deadline, f"{len(self.batches)} of {count} batches"
            time.sleep(0.01)


def item(message_id: int) -> tuple:
    return (message_id, {}, time.monotonic())


def test_messages_within_the_window_go_out_as_one_batch_in_order():
    flushes = Flushes()
    batcher = Batcher(flushes, window=0.5, limit=100)
    first = time.monotonic()
    for message_id in range(1, 6):
        batcher.add(item(message_id))
    flushes.wait(1)
    assert flushes.batches == [[1, 2, 3, 4, 5]]
    assert flushes.at[0] - first >= 0.45  # the oldest waited its window, not longer than needed

    batcher.add(item(6))  # a later one starts a window of its own
    flushes.wait(2)
    assert flushes.batches[1] == [6]


def test_a_full_batch_goes_out_without_waiting_for_the_window():
    flushes = Flushes()
    batcher = Batcher(flushes, window=30.0, limit=3)
    started = time.monotonic()
    for message_id in range(1, 4):
        batcher.add(item(message_id))
    flushes.wait(1, timeout=5)
    assert flushes.batches == [[1, 2, 3]]
    assert time.monotonic() - started < 5


def test_a_failed_publish_is_counted_and_the_next_batch_still_goes():
    flushes = Flushes(failures=1)
    batcher = Batcher(flushes, window=0.2, limit=100)
    errors = metrics.PUSH_ENQUEUE_ERRORS._value.get()
    batcher.add(item(1))
    batcher.add(item(2))
    deadline = time.monotonic() + 5
    while metrics.PUSH_ENQUEUE_ERRORS._value.get() < errors + 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    batcher.add(item(3))
    flushes.wait(1)
    assert flushes.batches == [[3]]


def test_drain_sends_what_is_gathered_at_exit():
    flushes = Flushes()
    batcher = Batcher(flushes, window=30.0, limit=100)
    batcher.add(item(7))
    batcher.add(item(8))
    batcher.drain()
    assert flushes.batches == [[7, 8]]
