"""The api under a real gunicorn with two uvicorn workers: `/metrics` reports both workers summed
(prometheus-client multiprocess mode, config/gunicorn.py), the directory starts clean, a dead
worker's live gauges go away, and build info and exemplars are served."""
import os
import re
import shutil
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from harness.processes import api_server

pytestmark = pytest.mark.e2e
REQUESTS = 120


def _get(port: int, path: str, accept: str = "text/plain") -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def _samples(text: str, name: str) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def _healthz_count(text: str) -> list[float]:
    counts = _samples(text, "chat_http_request_seconds_count")
    return [v for labels, v in counts.items() if ("route", "healthz") in labels]


def _per_worker_healthz(directory: Path, scratch: Path) -> dict[int, float]:
    """Each worker's own count: its files alone, read by the same collector the view uses."""
    found = {}
    for pid in {int(m.group(1)) for f in directory.iterdir() if (m := re.search(r"_(\d+)\.db$", f.name))}:
        alone = scratch / str(pid)
        alone.mkdir()
        for f in directory.glob(f"*_{pid}.db"):
            shutil.copy(f, alone / f.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        found[pid] = sum(_healthz_count(generate_latest(registry).decode()))
    return found


@pytest.fixture
def api(tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"left over from an earlier run")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "GIT_COMMIT": "0123456789abcdef"}
    server = api_server(env, workers=2).wait_ready(60)  # python -m config.launch api
    try:
        yield server, directory
    finally:
        server.terminate()


def test_metrics_of_both_workers_are_summed(api, tmp_path):
    server, directory = api
    assert not (directory / "counter_4242.db").exists(), "the multiprocess directory was not emptied at start"
    # Concurrent fresh connections: both workers accept some of them.
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: _get(server.port, "/healthz"), range(REQUESTS)))
    per_worker = _per_worker_healthz(directory, tmp_path)
    assert len(per_worker) == 2 and all(per_worker.values()), per_worker  # both served some
    assert sum(per_worker.values()) == REQUESTS

    for _ in range(4):  # whichever worker answers the scrape, it reports the pod's total
        text = _get(server.port, "/metrics")
        assert _healthz_count(text) == [REQUESTS]
        build = _samples(text, "chat_build_info")
        assert list(build.values()) == [1.0], build  # one series per pod, not one per worker
        (labels,) = build
        assert dict(labels)["commit"] == "0123456789ab" and dict(labels)["version"] == "0.1.0"


def test_a_dead_workers_live_gauges_are_dropped(api):
    server, directory = api
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: _get(server.port, "/healthz"), range(REQUESTS)))
    gauges = {int(m.group(1)) for f in directory.glob("gauge_live*_*.db") if (m := re.search(r"_(\d+)\.db$", f.name))}
    assert len(gauges) == 2, sorted(f.name for f in directory.iterdir())
    victim = min(gauges)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while any(f"_{victim}.db" in f.name for f in directory.glob("gauge_live*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [f.name for f in directory.glob(f"gauge_live*_{victim}.db")], server.output()
    assert "chat_http_request_seconds_count" in _get(server.port, "/metrics")


def test_openmetrics_when_the_scraper_asks(api):
    server, _ = api
    _get(server.port, "/healthz")
    text = _get(server.port, "/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert text.rstrip().endswith("# EOF")
    assert "chat_http_request_seconds_bucket" in text
