"""A whole cluster for a test folder (tests/cluster, tests/observability): supervisord, Redis +
sentinels, its own PostgreSQL instance, two ws, two api, the worker and the proxy, on a free block
of ports and a run directory of its own, stopped by its supervisor's pid after the tests."""
import random
import shutil
import socket
from contextlib import closing, contextmanager

from cluster import control
from cluster.drills import DRILL_ENV
from cluster.topology import ROOT, Topology

# Every port of a topology is its base + less than this (the cluster's own up to +71, then
# observability/local.py's Prometheus +81 and Alertmanager +82).
PORT_SPAN = 90


def _free(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_base() -> int:
    for _ in range(200):
        base = random.randrange(20000, 40000, 100)
        if all(_free(base + i) for i in range(PORT_SPAN)):
            return base
    raise RuntimeError("no free block of ports")


@contextmanager
def running_cluster(extra_env: dict | None = None):
    base = free_base()
    # Under the repository (not /tmp/pytest-of-*): the postgres user must reach its data directory.
    topology = Topology(base=base, run_dir=ROOT / "var" / f"cluster-test-{base}", postgres="own",
                        ws_drain_seconds=4.0, extra_env={**DRILL_ENV, **(extra_env or {})})
    control.up(topology, quiet=True)
    try:
        yield topology
    finally:
        control.stop(topology, quiet=True)
        shutil.rmtree(topology.run_dir, ignore_errors=True)
