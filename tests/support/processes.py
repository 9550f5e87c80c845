"""The harness's process helpers under the name the tests have always imported them by."""
from harness.processes import (ROOT, Process, SentinelCluster, api_server, free_port, get, redis_sentinel,  # noqa: F401
                               redis_server, wait_for_port, ws_server)

daphne = ws_server  # the WebSocket server is Daphne, started through `python -m config.launch ws`
