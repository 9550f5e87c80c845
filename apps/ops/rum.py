"""Real-user monitoring samples from the browser, recorded as Prometheus metrics."""
from prometheus_client import Counter, Histogram

LONG_FRAME_MS = 50.0

CLIENT_FRAME_RATE = Histogram(
    "chat_client_frame_rate", "Browser frames per second while the message list scrolls (RUM)",
    buckets=(10, 20, 30, 40, 50, 55, 58, 60, 90, 120, 144))
CLIENT_LONG_FRAMES = Counter("chat_client_long_frames_total", "Browser frames longer than 50 ms (RUM)")
CLIENT_SEND_VISIBLE_SECONDS = Histogram(
    "chat_client_send_visible_seconds", "Browser: Enter -> own message visible (RUM)",
    buckets=(0.004, 0.008, 0.016, 0.033, 0.05, 0.1, 0.25, 0.5, 1))


def record(frame_rate=(), long_frames=(), send_visible=()) -> None:
    for fps in frame_rate:
        CLIENT_FRAME_RATE.observe(fps)
    long_count = sum(1 for ms in long_frames if ms > LONG_FRAME_MS)
    if long_count:
        CLIENT_LONG_FRAMES.inc(long_count)
    for ms in send_visible:
        CLIENT_SEND_VISIBLE_SECONDS.observe(ms / 1000.0)
