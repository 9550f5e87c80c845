"""The Locust scenarios against the cluster's proxy: a reconnect storm that comes back through
both ws processes passes, and a budget the run misses makes Locust exit non-zero (the
thresholds of loadtests/thresholds.py really fail a run). `make loadtest` runs the full size."""
import json
import math
import os
import subprocess
import sys
import time

import pytest

from cluster.drills import seed_rooms
from cluster.topology import ROOT

pytestmark = pytest.mark.e2e

STORM_EVERY = 4.0
STORM_DEADLINE = 3.0
CLIENTS = 20  # two accounts with ten sockets each (the per-user cap is 20)


@pytest.fixture(scope="module")
def tokens_file(cluster_topology, tmp_path_factory):
    (room,) = seed_rooms(cluster_topology, 1, 2)
    path = tmp_path_factory.mktemp("locust") / "tokens.txt"
    path.write_text("".join(f"{room['room']} {member['token']}\n" for member in room["members"]))
    return path


def locust(topology, tokens, user_class: str, run_time: float, csv_prefix, **env) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--headless", "-u", str(CLIENTS),
               "-r", str(CLIENTS), "-t", f"{math.ceil(run_time)}s", "--host", topology.url, "--only-summary",
               "--csv", str(csv_prefix), user_class]
    environment = {**os.environ, "LOCUST_TOKENS": str(tokens),
                   "LOCUST_PROXY_STATS": f"http://127.0.0.1:{topology.proxy_stats_port}/;csv",
                   "LOCUST_STORM_EVERY": str(STORM_EVERY), "LOCUST_STORM_DEADLINE": str(STORM_DEADLINE), **env}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def until_one_storm_is_read(storms: int = 3) -> float:
    """A run time that holds whole storms after the start-up, each with its spread reading: on
    a loaded box Locust's start takes seconds and the first storm may catch the clients still
    connecting, so the run holds a few and the test takes any storm of every client."""
    first = math.ceil((time.time() + 3) / STORM_EVERY) * STORM_EVERY
    return first + (storms - 1) * STORM_EVERY + STORM_DEADLINE + 2.5 - time.time()


def test_a_storm_comes_back_synced_over_both_ws_processes(cluster_topology, tokens_file, tmp_path):
    # No timing budget here (timings belong in docs/benchmarks.md): every client dropped must be
    # back and synced, none may fail, and the proxy must have spread them over both ws processes.
    run = locust(cluster_topology, tokens_file, "ReconnectStorm", until_one_storm_is_read(), tmp_path / "storm",
                 LOCUST_BUDGETS="", LOCUST_STORM_CLIENTS=str(CLIENTS), LOCUST_MAX_FAIL_RATIO="0")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "every threshold met" in run.stderr
    storms = json.loads((tmp_path / "storm_storms.json").read_text())["storms"]
    full = [s for s in storms.values() if s["dropped"] == CLIENTS and "reconnects_per_server" in s]
    assert full, storms
    spread = full[0]["reconnects_per_server"]
    assert set(spread) == {"ws-1", "ws-2"} and sum(spread.values()) >= CLIENTS, spread
    assert all(count > 0 for count in spread.values()), spread


def test_a_missed_threshold_fails_the_run(cluster_topology, tokens_file, tmp_path):
    # A storm larger than the run's clients cannot happen, and a confirmation in no time neither.
    run = locust(cluster_topology, tokens_file, "Chatter", 6, tmp_path / "chat", LOCUST_SEND_INTERVAL="0.5",
                 LOCUST_BUDGETS="", LOCUST_THRESHOLDS="message_send -> confirmed:50:0")
    assert run.returncode == 1, run.stderr[-3000:]
    assert "threshold missed: message_send -> confirmed: p50" in run.stderr
    run = locust(cluster_topology, tokens_file, "ReconnectStorm", until_one_storm_is_read(), tmp_path / "storm",
                 LOCUST_BUDGETS="", LOCUST_STORM_CLIENTS=str(CLIENTS * 100))
    assert run.returncode == 1, run.stderr[-3000:]
    assert f"largest reconnect storm dropped {CLIENTS} clients < {CLIENTS * 100}" in run.stderr
