"""Prometheus metrics. The names are a contract with the dashboards and alerts (docs/operations.md)."""
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
PUSH_MESSAGES = Counter(
    "chat_push_messages_total", "Stored messages the worker has worked out (planned and attempted) notifications for")
PUSH_ENQUEUE_ERRORS = Counter(
    "chat_push_enqueue_errors_total", "Stored messages whose notification could not be queued (broker down)")
GC_PAUSE_SECONDS = Histogram(
    "chat_gc_pause_seconds", "Garbage collection pauses of a ws process, by generation", ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
WS_LOOP_LAG = Histogram(
    "chat_ws_loop_lag_seconds", "How late a ws process's event loop ran a timer due every 50 ms",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
WS_LOOP_STALLS = Counter(
    "chat_ws_loop_stalls_total", "Times a ws process's event loop ran nothing for CHAT_WS_LOOP_STALL_SECONDS (each logged with its stack)")
# --- fan-out (apps/ws/hub.py), per ws process ---------------------------------------------
FANOUT_DELIVERIES = Counter("chat_fanout_deliveries_total", "Frames written to sockets by the local fan-out", ["kind"])
FANOUT_PUBLICATIONS = Counter(
    "chat_fanout_publications_total", "Room and user publications received by this process", ["kind"])
FANOUT_REPAIRS = Counter(
    "chat_fanout_repairs_total",
    "Fan-out repaired from PostgreSQL: gaps closed, messages and changes delivered by repair", ["what"])
FANOUT_REORDERED = Counter(
    "chat_fanout_reordered_total", "Gaps closed by a publication that arrived out of order (no repair needed)")
FANOUT_RESYNC_SIGNALS = Counter(
    "chat_fanout_resync_signals_total", "resync frames sent to sockets (repair impossible)", ["reason"])
FANOUT_SUBSCRIPTION_RECONNECTS = Counter(
    "chat_fanout_subscription_reconnects_total", "Pub/sub connection re-established (after an error or a missed probe)")
SEND_STATEMENT_SECONDS = Histogram(
    "chat_db_send_seconds", "A ws process's send on its asyncio PostgreSQL pool: waiting for the room's "
    "earlier sends from this process (room_turn), for a connection (pool_wait), and the one statement "
    "with its commit (statement)", ["what"], buckets=_LATENCY)
SEND_POOL_BUSY = Counter(
    "chat_db_send_pool_busy_total", "Sends that found no free connection of the ws process's send pool, with statements under way, "
    "for CHAT_ASYNC_DB_WAIT_SECONDS and kept waiting (up to CHAT_ASYNC_DB_BUSY_WAIT_SECONDS more)")
SEND_POOL_TIMEOUTS = Counter(
    "chat_db_send_pool_timeouts_total", "Sends that found no connection of the send pool within "
    "CHAT_ASYNC_DB_WAIT_SECONDS, none at work, and took the thread path")
CONFIRMATIONS_HELD = Counter(
    "chat_ws_confirmations_held_total",
    "Own message_confirmed frames held until the room's messages before them were written "
    "(in_order), until the room's sockets were told to resync (resync), or until the bound ran out "
    "(timed_out: the client syncs)", ["result"])
FANOUT_PROBE_MISSES = Counter("chat_fanout_probe_misses_total", "Subscription liveness probes that did not come back")
FANOUT_LAG_SECONDS = Histogram(
    "chat_fanout_lag_seconds", "Commit -> this process starts the local fan-out of a publication", buckets=_LATENCY)
FANOUT_ROOMS = Gauge("chat_fanout_rooms", "Rooms this process is subscribed to", multiprocess_mode="livesum")
WS_SLOW_SOCKET_CLOSES = Counter(
    "chat_ws_slow_socket_closes_total", "Sockets closed with 1013 because they did not read their frames")
