"""chat/push_client.py against the local push service (harness/push.py): requests posted at once,
replies in waves, transport errors named. Real sockets and real time; a 1 s answer stands for a
slow push service, far beyond the 20 ms a wave waits."""
from chat import push_client
from harness.processes import free_port


def _post(push_service, name: str) -> push_client.Post:
    return push_client.Post(f"{push_service.base_url}/push/{name}", b"not encrypted", {"TTL": "60"})


def test_posts_go_out_at_once_and_a_slow_answer_does_not_hold_the_fast_ones(push_service):
    push_service.subscription("fast-1")
    push_service.subscription("slow", script=[(503, 1.0)])
    push_service.subscription("fast-2", script=[(410, 0.0)])
    posts = [_post(push_service, name) for name in ("fast-1", "slow", "fast-2")]

    waves = []
    for wave in push_client.post_all(posts, timeout=10):
        waves.append(sorted(wave))
        if 1 not in dict(wave):  # a fast answer is in while the slow request is still held
            assert [r.name for r in push_service.in_flight()] == ["slow"]

    # The fast answers come first (usually in one wave, two on a box slow to schedule the
    # service's threads); the slow one on its own, last.
    assert [index for index, _ in waves[-1]] == [1]
    assert sorted(index for wave in waves[:-1] for index, _ in wave) == [0, 2]
    replies = dict(pair for wave in waves for pair in wave)
    assert (replies[0].status, replies[1].status, replies[2].status) == (201, 503, 410)
    assert replies[1].retry_after == "1"  # the harness's 503 carries Retry-After
    assert len(push_service.requests) == 3  # one request each: no retries in the transport


def test_a_timeout_and_a_refused_connection_are_named_not_raised(push_service):
    push_service.subscription("held", script=[(201, 3.0)])
    closed = push_client.Post(f"http://127.0.0.1:{free_port()}/push/nobody", b"x", {})

    replies = dict(pair for wave in push_client.post_all([_post(push_service, "held"), closed], timeout=1)
                   for pair in wave)

    assert replies[0] == push_client.Reply(error="timeout")
    assert replies[1].status is None and replies[1].error.startswith("connection: ")
