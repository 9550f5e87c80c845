"""The ws pod's deletion-cost PATCH, against a local HTTP server standing in for the API server."""
import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.ws import pod_cost


@pytest.fixture
def api_server():
    """A local server that records every request and answers like the API server would."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PATCH(self):  # noqa: N802 - the http.server spelling
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"method": "PATCH", "path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
            status = 500 if len(seen) == 2 else 200  # the second PATCH fails: it must be retried
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_patch_sets_the_annotation_with_the_token(api_server, tmp_path):
    port, seen = api_server
    token = tmp_path / "token"
    token.write_text("the-token\n")
    api = pod_cost.PodApi(url=f"http://127.0.0.1:{port}/api/v1/namespaces/chat/pods/chat-ws-abc",
                          token_file=token, ca_file=None, interval=0.05)
    pod_cost.patch_cost(api, 42)
    (request,) = seen
    assert request["path"] == "/api/v1/namespaces/chat/pods/chat-ws-abc"
    assert request["headers"]["Content-Type"] == "application/merge-patch+json"
    assert request["headers"]["Authorization"] == "Bearer the-token"
    assert request["body"] == {"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "42"}}}


async def test_the_loop_patches_on_change_only_and_retries_failures(api_server, tmp_path):
    port, seen = api_server
    token = tmp_path / "token"
    token.write_text("t")
    api = pod_cost.PodApi(url=f"http://127.0.0.1:{port}/api/v1/namespaces/chat/pods/p",
                          token_file=token, ca_file=None, interval=0.05)
    counts = iter([3, 3, 5, 5, 5, 5, 0, 0, 0, 0])
    values: list[int] = []

    def count() -> int:
        values.append(next(counts, 0))
        return values[-1]

    task = asyncio.create_task(pod_cost.keep_updated(api, count))
    while len(values) < 10:
        await asyncio.sleep(0.02)
    task.cancel()
    costs = [r["body"]["metadata"]["annotations"][pod_cost.ANNOTATION] for r in seen]
    # 3 once; 5 failed (500) and was sent again on the next round; then 0 once
    assert costs == ["3", "5", "5", "0"]


def test_only_in_kubernetes_with_a_token(tmp_path):
    (tmp_path / "token").write_text("t")
    (tmp_path / "ca.crt").write_text("")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443",
           "POD_NAME": "chat-ws-1", "POD_NAMESPACE": "chat", "CHAT_POD_DELETION_COST_SECONDS": "7"}
    api = pod_cost.from_environment(env, tmp_path)
    assert api == pod_cost.PodApi(url="https://10.0.0.1:443/api/v1/namespaces/chat/pods/chat-ws-1",
                                  token_file=tmp_path / "token", ca_file=tmp_path / "ca.crt", interval=7.0)
    assert pod_cost.from_environment({**env, "KUBERNETES_SERVICE_HOST": "fd00::1"}, tmp_path).url.startswith(
        "https://[fd00::1]:443/")
    assert pod_cost.from_environment({k: v for k, v in env.items() if k != "POD_NAME"}, tmp_path) is None
    assert pod_cost.from_environment({**env, "CHAT_POD_DELETION_COST_SECONDS": "0"}, tmp_path) is None
    assert pod_cost.from_environment(env, tmp_path / "absent") is None
