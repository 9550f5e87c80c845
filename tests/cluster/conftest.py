"""A whole cluster (tests/cluster): supervisord, Redis + sentinels, its own PostgreSQL instance,
two ws, two api, the worker and the proxy, on a free block of ports and a run directory of its
own, up once for this folder's tests and stopped by its supervisor's pid after them."""
import random
import shutil
import socket
from contextlib import closing

import pytest

from cluster import control
from cluster.drills import DRILL_ENV, SHORT, seed_rooms
from cluster.topology import ROOT, Topology

PORT_SPAN = 80  # every port of a topology is its base + less than this


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


@pytest.fixture(scope="package")
def cluster_topology():
    base = free_base()
    # Under the repository (not /tmp/pytest-of-*): the postgres user must reach its data directory.
    topology = Topology(base=base, run_dir=ROOT / "var" / f"cluster-test-{base}", postgres="own",
                        ws_drain_seconds=4.0, extra_env=DRILL_ENV)
    control.up(topology, quiet=True)
    try:
        yield topology
    finally:
        control.stop(topology, quiet=True)
        shutil.rmtree(topology.run_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def drill_rooms(cluster_topology):
    """One room per drill: the chatting members, one HTTP client, drill f's offline subscribers."""
    rooms = seed_rooms(cluster_topology, 6, SHORT.members + 1 + SHORT.push_offline)
    return dict(zip("abcdef", rooms))
