"""A whole cluster (tests/support/cluster.py), up once for this folder's tests and stopped by its
supervisor's pid after them."""
import pytest

from cluster.drills import SHORT, seed_rooms
from tests.support.cluster import running_cluster


@pytest.fixture(scope="package")
def cluster_topology():
    with running_cluster() as topology:
        yield topology


@pytest.fixture(scope="package")
def drill_rooms(cluster_topology):
    """One room per drill: the chatting members, one HTTP client, drill f's offline subscribers."""
    rooms = seed_rooms(cluster_topology, 6, SHORT.members + 1 + SHORT.push_offline)
    return dict(zip("abcdef", rooms))
