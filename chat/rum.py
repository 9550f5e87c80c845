"""Real-user monitoring samples from the browser, recorded as Prometheus metrics."""
from chat import metrics

LONG_FRAME_MS = 50.0


def record(frame_rate=(), long_frames=(), send_visible=()) -> None:
    for fps in frame_rate:
        metrics.CLIENT_FRAME_RATE.observe(fps)
    long_count = sum(1 for ms in long_frames if ms > LONG_FRAME_MS)
    if long_count:
        metrics.CLIENT_LONG_FRAMES.inc(long_count)
    for ms in send_visible:
        metrics.CLIENT_SEND_VISIBLE_SECONDS.observe(ms / 1000.0)
