"""The fault drills' short form (`make drills` runs the full one): each breaks one thing while
members chat through the proxy; nothing confirmed is lost, nothing is duplicated, it recovers."""
import asyncio

import pytest

from cluster import drills, push_drill

pytestmark = pytest.mark.e2e

RUN = {**drills.DRILLS, "f": push_drill.drill_f}


@pytest.mark.parametrize("name", list("abcdef"))
def test_drill(cluster_topology, drill_rooms, name):
    async def one():
        await drills.wait_for(lambda: drills.control.proxy_backends_up(cluster_topology), "backends UP", 60)
        return await RUN[name](cluster_topology, drill_rooms[name], drills.SHORT)

    outcome = asyncio.run(one())
    print(outcome.line())
    assert outcome.ok, outcome.line()
    assert outcome.figures["confirmed"] > 0 and outcome.figures["delivered_live"] > 0
