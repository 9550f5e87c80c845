"""The harness's own logic that tests and benchmarks rely on: the seq tracker, /metrics reading,
the Locust Chatter's send schedule and the disk-flush probe."""
import time

import pytest

from harness.disk import FsyncProbe
from harness.metrics import Scrape
from harness.pacing import next_slot
from harness.seqs import SeqTracker


def test_seq_tracker_holes_duplicates_and_late_frames():
    seqs = SeqTracker()
    assert [seqs.observe(s, s * 10) for s in (1, 2, 4)] == ["ok", "ok", "ok"]
    assert seqs.watermark == 2 and seqs.hole()[0] == 1
    assert seqs.observe(4, 40) == "duplicate" and seqs.duplicates == [4]
    assert seqs.observe(3, 30, live=False) == "ok"  # a sync fills the hole
    assert seqs.watermark == 4 and seqs.hole() is None
    assert seqs.missing_live({1, 2, 3, 4}) == {3}
    assert seqs.observe(3, 30) == "late"  # live after the sync: late, not a duplicate
    seqs.reconnected()
    assert seqs.observe(4, 40) == "late" and seqs.duplicates == [4]  # a new socket may repeat
    seqs.observe(5, 99)
    seqs.observe(5, 50, live=False)
    assert seqs.conflicts == [(5, 99, 50)]
    seqs.reset(10)
    assert seqs.watermark == 10


def test_seq_tracker_window_bounds_history():
    seqs = SeqTracker(window=100)
    for s in range(1, 1001):
        seqs.observe(s, s)
    assert seqs.watermark == 1000 and len(seqs.live) <= 200 and len(seqs.ids) <= 200


@pytest.mark.django_db
def test_scrape_of_the_real_metrics_subtracts_adds_and_reads_histograms(client, api_client, make_user):
    user = api_client(make_user())
    before = Scrape.parse(client.get("/metrics").content.decode())
    assert user.get("/api/chat/rooms/").status_code == 200
    after = Scrape.parse(client.get("/metrics").content.decode())
    delta = after - before
    route = {"route": "api/chat/rooms/", "method": "GET", "status": "200"}
    assert delta.value("chat_http_request_seconds_count", **route) == 1
    assert (delta + delta).value("chat_http_request_seconds_count", **route) == 2
    assert delta.histogram("chat_http_request_seconds")["count"] >= 1
    assert delta.value("chat_fanout_repairs_total") == 0  # absent reads as 0
    assert after.by_label("chat_http_request_seconds_count", "method")["GET"] >= 1


def test_next_slot_keeps_the_users_phase():
    assert next_slot(10.25, 1.0, now=10.26) == 11.25
    # A send that took most of the interval leaves the user on its own phase (constant_pacing
    # counts from the user's creation instead: a whole spawn batch ends up sending at once).
    assert next_slot(10.25, 1.0, now=11.2) == 11.25
    assert next_slot(10.0, 0.5, now=10.5) == 11.0  # a slot exactly now is not taken twice


def test_next_slot_skips_what_was_missed_instead_of_a_burst():
    assert next_slot(10.25, 1.0, now=13.7) == 14.25


def test_fsync_probe_times_real_flushes_and_leaves_no_file(tmp_path):
    probe = FsyncProbe(str(tmp_path), interval=0.005).start()
    time.sleep(0.2)
    found = probe.stop()
    assert found["flushes"] >= 5
    assert 0 < found["p50_ms"] <= found["p99_ms"] <= found["max_ms"]
    assert list(tmp_path.iterdir()) == []  # its file is gone with it
    assert FsyncProbe(str(tmp_path)).start().stop() == {"flushes": 0}  # stopped before its first flush
