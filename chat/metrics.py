"""Prometheus metrics. The names are a contract with the dashboards and alerts (DESIGN section 7)."""
from prometheus_client import Counter, Gauge, Histogram

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

MESSAGE_SEND_SECONDS = Histogram(
    "chat_message_send_seconds", "Send frame received -> message_confirmed sent", buckets=_LATENCY)
MESSAGE_FANOUT_SECONDS = Histogram(
    "chat_message_fanout_seconds", "Commit -> event delivered to a socket", buckets=_LATENCY)
WS_CONNECTIONS = Gauge("chat_ws_connections", "Open WebSocket connections", multiprocess_mode="livesum")
WS_CLOSES = Counter("chat_ws_closes_total", "WebSocket closes by close code", ["code"])
SYNC_MESSAGES = Histogram(
    "chat_sync_messages", "Messages plus changes returned by one delta sync",
    buckets=(0, 1, 5, 10, 25, 50, 100, 200, 500, 1000))
SYNC_SECONDS = Histogram("chat_sync_seconds", "Delta sync server time", buckets=_LATENCY)
SYNC_RESETS = Counter("chat_sync_resets_total", "Delta syncs answered with reset (client too far behind)")
CHANNEL_LAYER_ERRORS = Counter(
    "chat_channel_layer_errors_total", "Channel layer operations that failed", ["operation"])
WS_FRAMES_DROPPED = Counter(
    "chat_ws_frames_dropped_total", "Frames not delivered on purpose (stale typing, backpressure)", ["kind"])
WS_RATE_LIMITED = Counter("chat_ws_rate_limited_total", "Frames refused by the per-connection rate limit")
CLIENT_FRAME_RATE = Histogram(
    "chat_client_frame_rate", "Browser frames per second while the message list scrolls (RUM)",
    buckets=(10, 20, 30, 40, 50, 55, 58, 60, 90, 120, 144))
CLIENT_LONG_FRAMES = Counter("chat_client_long_frames_total", "Browser frames longer than 50 ms (RUM)")
CLIENT_SEND_VISIBLE_SECONDS = Histogram(
    "chat_client_send_visible_seconds", "Browser: Enter -> own message visible (RUM)",
    buckets=(0.004, 0.008, 0.016, 0.033, 0.05, 0.1, 0.25, 0.5, 1))
HTTP_REQUEST_SECONDS = Histogram(
    "chat_http_request_seconds", "HTTP request latency by route", ["route", "method", "status"], buckets=_LATENCY)

# --- Worker and Web Push (issue 9; the worker serves these on CHAT_WORKER_METRICS_PORT) ---------
WORKER_TASKS = Counter("chat_worker_tasks_total", "Worker tasks finished, by task and state", ["task", "state"])
WORKER_TASK_SECONDS = Histogram("chat_worker_task_seconds", "Worker task run time", ["task"], buckets=_LATENCY)
WORKER_QUEUE_LENGTH = Gauge("chat_worker_queue_length", "Messages waiting in a broker queue (sampled)", ["queue"])
PUSH_REQUESTS = Counter("chat_push_requests_total", "Web Push requests by result", ["result"])
PUSH_NOTIFY_SECONDS = Histogram(
    "chat_push_notify_seconds", "Message commit -> push request sent",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10, 30, 60))
PUSH_ENQUEUE_ERRORS = Counter(
    "chat_push_enqueue_errors_total", "Stored messages whose notification could not be queued (broker down)")
