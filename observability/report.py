"""One HTML page of the last load run, from Prometheus' range API (`make observe-report`):
send and delivery latency, sends and deliveries per second, open sockets, closes by code, fan-out
repairs, CPU per process and the worker's queue, one matplotlib plot each, embedded as PNG.

The run is found in the data: the last stretch with sends in the lookback (3 h by default), a
little margin either side; without any sends, the whole lookback that has data.
"""
import base64
import html
import io
import math
import time
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402

from observability.local import Observe, _seconds, api, target_health  # noqa: E402

LOOKBACK_SECONDS = 3 * 3600
MARGIN_SECONDS = 30
MAX_POINTS = 400  # per series: the step follows from the run's length


def plots(ns: str, window: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(title, unit, [(PromQL, legend label)...]) of every plot; `{label}` in a legend is taken
    from the series. A unit of "seconds" is drawn on a log scale (p50 and p99 apart by 10x+)."""
    sel = f'namespace="{ns}"'
    ws = f'{sel}, job="ws"'  # every process exports the ws histograms (at 0): the ws processes only

    def q(metric: str, quantile: float, selector: str = sel) -> str:
        return f"histogram_quantile({quantile}, sum by (le) (rate({metric}_bucket{{{selector}}}[{window}])))"

    return [
        ("Send -> message_confirmed and commit -> delivered", "seconds", [
            (q("chat_message_send_seconds", 0.5), "send p50"), (q("chat_message_send_seconds", 0.99), "send p99"),
            (q("chat_message_fanout_seconds", 0.5), "deliver p50"),
            (q("chat_message_fanout_seconds", 0.99), "deliver p99")]),
        ("Sends per second", "sends/s", [
            (f"sum by (pod) (rate(chat_message_send_seconds_count{{{ws}}}[{window}]))", "{pod}"),
            (f'sum(rate(chat_http_request_seconds_count{{{sel}, route="api/chat/messages/", method="POST"}}'
             f"[{window}]))", "HTTP POST")]),
        ("Frames delivered per second", "frames/s", [
            (f"sum by (kind) (rate(chat_fanout_deliveries_total{{{sel}}}[{window}]))", "{kind}")]),
        ("Open WebSockets", "sockets", [(f"sum by (pod) (chat_ws_connections{{{ws}}})", "{pod}")]),
        ("WebSocket closes by code", "closes/s", [
            (f"sum by (code) (rate(chat_ws_closes_total{{{sel}}}[{window}])) > 0", "{code}")]),
        ("Fan-out repairs and resync signals", "per second", [
            (f"sum by (what) (rate(chat_fanout_repairs_total{{{sel}}}[{window}]))", "repaired {what}"),
            (f"sum by (reason) (rate(chat_fanout_resync_signals_total{{{sel}}}[{window}]))", "resync {reason}")]),
        ("CPU per process", "cores", [
            (f"sum by (pod) (rate(process_cpu_seconds_total{{{sel}}}[{window}]))", "{pod}")]),
        ("Worker queue length", "tasks", [(f"max by (queue) (chat_worker_queue_length{{{sel}}})", "{queue}")]),
    ]


def rate_window(obs: Observe) -> str:
    """Four scrape intervals of the running Prometheus (Grafana's $__rate_interval), at least 10 s."""
    config = yaml.safe_load(api(obs, "/api/v1/status/config")["yaml"])
    scrape = _seconds(config.get("global", {}).get("scrape_interval", "15s"))
    return f"{max(10, int(4 * scrape))}s"


def find_run(obs: Observe, end: float, window: str) -> tuple[float, float]:
    start = end - LOOKBACK_SECONDS
    step = max(1, math.ceil((end - start) / 10_000))  # Prometheus answers at most 11,000 points
    expr = (f'sum(rate(chat_message_send_seconds_count{{namespace="{obs.namespace}"}}[{window}]))'
            f' + sum(rate(chat_http_request_seconds_count{{namespace="{obs.namespace}", method="POST"}}[{window}]))')
    busy = sorted(t for s in range_query(obs, expr, start, end, step) for t, v in s["values"] if _number(v) > 0)
    present = range_query(obs, f'up{{namespace="{obs.namespace}"}}', start, end, step)
    scraped_from = min((s["values"][0][0] for s in present if s["values"]), default=end - 600)
    if not busy:
        return scraped_from, end
    # the last stretch of activity: walk back from the newest busy point over gaps shorter than a minute
    last = busy[-1]
    first = last
    for t in reversed(busy):
        if first - t > 60:
            break
        first = t
    return max(scraped_from, first - MARGIN_SECONDS), min(end, last + MARGIN_SECONDS)


def range_query(obs: Observe, expr: str, start: float, end: float, step: float) -> list[dict]:
    return api(obs, "/api/v1/query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step}s")[
        "result"]


def _number(value: str) -> float:
    number = float(value)
    return 0.0 if math.isnan(number) or math.isinf(number) else number


def _legend(template: str, labels: dict) -> str:
    return template.format_map({k: labels.get(k, "") for k in ("pod", "kind", "code", "what", "reason", "queue")})


def _figure(title: str, unit: str, series: list[tuple[str, list]], start: float) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=100)
    for label, values in series:
        points = [(t - start, float(v)) for t, v in values if not math.isnan(float(v))]
        if unit == "seconds":
            points = [(x, y) for x, y in points if y > 0]  # a log scale has no 0
        xs, ys = [x for x, _ in points], [y for _, y in points]
        ax.plot(xs, ys, label=label, linewidth=1.2)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("seconds into the run", fontsize=8)
    ax.set_ylabel(unit, fontsize=8)
    if unit == "seconds" and series:
        ax.set_yscale("log")
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=7, loc="upper left", ncol=min(4, len(series)))
    else:
        ax.text(0.5, 0.5, "no data in this run", ha="center", va="center", transform=ax.transAxes, color="grey")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def render(obs: Observe, start: float | None = None, end: float | None = None) -> tuple[str, dict]:
    """The page's HTML, and what it holds (plot title -> number of series) for the tests."""
    window = rate_window(obs)
    end = end or time.time()
    if start is None:
        start, end = find_run(obs, end, window)
    step = max(1, math.ceil((end - start) / MAX_POINTS))
    sections, counts = [], {}
    for title, unit, queries in plots(obs.namespace, window):
        series = []
        for expr, legend in queries:
            for s in range_query(obs, expr, start, end, step):
                series.append((_legend(legend, s["metric"]), s["values"]))
        counts[title] = len(series)
        sections.append(f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,'
                        f'{_figure(title, unit, series, start)}"></figure>')
    health = target_health(obs)

    def stamp(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chat cluster: load run report</title>
<style>body{{font-family:sans-serif;margin:1em;color:#222;max-width:1340px}} figure{{display:inline-block;margin:.2em}}
img{{border:1px solid #ddd}} td,th{{padding:.1em .8em;text-align:left}}</style></head><body>
<h1>Chat cluster: the last load run</h1>
<p>{stamp(start)} to {stamp(end)} ({end - start:.0f} s), namespace <code>{html.escape(obs.namespace)}</code>,
rates over {window}, from Prometheus at {html.escape(obs.prometheus_url)}.</p>
<table><tr><th>target</th><th>health now</th></tr>
{''.join(f'<tr><td>{html.escape(pod)}</td><td>{html.escape(h)}</td></tr>' for pod, h in sorted(health.items()))}
</table>
{''.join(sections)}
<p>Made by <code>make observe-report</code> (observability/report.py); the dashboards in
observability/grafana/dashboards/ show the same series in Grafana.</p>
</body></html>
"""
    return page, counts


def write(obs: Observe, out: Path, start: float | None = None, end: float | None = None) -> Path:
    page, _ = render(obs, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
