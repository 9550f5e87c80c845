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
    assert outcome.ok, outcome.line() + _log_tails(cluster_topology)
    assert outcome.figures["confirmed"] > 0 and outcome.figures["delivered_live"] > 0


def _log_tails(topology, lines: int = 40) -> str:
    """The last lines of the processes' logs (the run directory is removed after the folder)."""
    tails = []
    for name in ("ws-1", "ws-2", "proxy", "worker"):
        path = topology.log_dir / f"{name}.log"
        if path.exists():
            tails.append(f"\n--- {name}.log\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
    return "".join(tails)
