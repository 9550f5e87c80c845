"""How long the box's disk takes to make a small write durable, sampled during a run.

Every message a send confirms is a PostgreSQL commit, and a commit waits for its WAL to reach the
disk (fdatasync). A virtual disk whose flush stalls for tens of milliseconds now and then
delays every commit in flight during the stall, whatever the server does; a latency tail is
only read right with the disk's own tail beside it. The probe writes one 8 KB block and
flushes it every `interval` seconds on the filesystem it is given (the load it adds is a
tenth of what a send rate of 200/s asks of PostgreSQL's WAL).
"""
import os
import tempfile
import threading
import time


class FsyncProbe:
    def __init__(self, directory: str, interval: float = 0.05):
        self.directory, self.interval = directory, interval
        self.latencies: list[float] = []
        self.stopped = threading.Event()

    def start(self) -> "FsyncProbe":
        os.makedirs(self.directory, exist_ok=True)
        self.thread = threading.Thread(target=self._run, name="fsync-probe", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        block = b"\0" * 8192
        with tempfile.NamedTemporaryFile(dir=self.directory, prefix="fsync-probe-") as f:
            while not self.stopped.wait(self.interval):
                began = time.perf_counter()
                os.pwrite(f.fileno(), block, 0)
                os.fdatasync(f.fileno())
                self.latencies.append(time.perf_counter() - began)

    def stop(self) -> dict:
        """Flushes made, their p50 / p99 / max in ms, and how many took over 10 ms."""
        self.stopped.set()
        self.thread.join(5)
        found = sorted(self.latencies)
        if not found:
            return {"flushes": 0}

        def ms(value: float) -> float:
            return round(value * 1000, 2)

        return {"flushes": len(found), "p50_ms": ms(found[len(found) // 2]),
                "p99_ms": ms(found[min(len(found) - 1, int(len(found) * 0.99))]), "max_ms": ms(found[-1]),
                "over_10ms": sum(1 for v in found if v > 0.010)}
