"""Grafana dashboards as code (grafana-foundation-sdk): one dashboard per flow, written as JSON into
observability/grafana/dashboards/ (committed; the Helm chart ships them as ConfigMaps).

    .venv/bin/python observability/grafana/generate.py            # rewrite the JSON files
    .venv/bin/python observability/grafana/generate.py --out DIR  # write them elsewhere

Every query selects `namespace=~"$namespace", pod=~"$pod"`; the metric names are the contract of
DESIGN section 7 and docs/operations.md.
"""
import argparse
import json
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (DashboardCursorSync, DataSourceRef, VariableOption,
                                                      VariableRefresh, VariableSort)

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
SEL = 'namespace=~"$namespace", pod=~"$pod"'
NS = 'namespace=~"$namespace"'
RATE = "$__rate_interval"


# --- building blocks -----------------------------------------------------------------------------

def query(expr: str, legend: str, ref: str, exemplar: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE).range()
    return q.exemplar(True) if exemplar else q


def graph(title: str, unit: str, queries: list[tuple[str, str]], description: str = "",
          exemplars: bool = False, width: int = 12) -> timeseries.Panel:
    panel = (timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
             .height(8).span(width).fill_opacity(10).line_width(1))
    for i, (expr, legend) in enumerate(queries):
        panel = panel.with_target(query(expr, legend, chr(ord("A") + i), exemplars))
    return panel


def single(title: str, unit: str, expr: str, description: str = "", width: int = 6) -> stat.Panel:
    return (stat.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
            .height(4).span(width).with_target(query(expr, "{{namespace}}", "A")))


def quantiles(metric: str, selector: str, by: str = "", qs: tuple[float, ...] = (0.5, 0.95, 0.99)) -> list:
    group = f"{by}, le" if by else "le"
    prefix = f"{{{{{by}}}}} " if by else ""
    return [(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{selector}}}[{RATE}])))",
             f"{prefix}p{int(q * 100)}") for q in qs]


def rate_by(metric: str, by: str, selector: str = SEL) -> tuple[str, str]:
    return f"sum by ({by}) (rate({metric}{{{selector}}}[{RATE}]))", f"{{{{{by}}}}}"


def board(uid: str, title: str, description: str, rows: list[tuple[str, list]]) -> dashboard.Dashboard:
    b = (dashboard.Dashboard(title).uid(uid).description(description).tags(["chat"]).editable()
         .time("now-3h", "now").refresh("30s").timezone("utc").tooltip(DashboardCursorSync.CROSSHAIR)
         .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
         .with_variable(_label_variable("namespace", "chat_build_info", multi=False))
         .with_variable(_label_variable("pod", f"chat_build_info{{{NS}}}", multi=True)))
    for row_title, panels in rows:
        b = b.with_row(dashboard.Row(row_title))
        for panel in panels:
            b = b.with_panel(panel)
    return b


def _label_variable(name: str, series: str, multi: bool) -> dashboard.QueryVariable:
    v = (dashboard.QueryVariable(name).label(name).datasource(DATASOURCE)
         .query(f"label_values({series}, {name})").refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
         .sort(VariableSort.ALPHABETICAL_ASC))
    if multi:
        v = (v.multi(True).include_all(True).all_value(".*")
             .current(VariableOption(selected=True, text="All", value="$__all")))
    return v


# --- the dashboards ------------------------------------------------------------------------------

def send_deliver() -> dashboard.Dashboard:
    burn = [(f"namespace:chat_{{slo}}_latency_slo_errors:ratio_rate{w}{{{{{NS}}}}} / 0.01", w)
            for w in ("5m", "1h", "6h", "1d")]
    return board("chat-send-deliver", "Chat / Send and deliver",
                 "A message's way: send -> confirmed, commit -> delivered, against the SLOs (docs/operations.md).", [
        ("SLOs (99 % of sends within 30 ms, of deliveries within 100 ms)", [
            single("Slow sends, last hour", "percentunit",
                   f"namespace:chat_send_latency_slo_errors:ratio_rate1h{{{NS}}}", "budget: 1 %"),
            single("Slow deliveries, last hour", "percentunit",
                   f"namespace:chat_delivery_latency_slo_errors:ratio_rate1h{{{NS}}}", "budget: 1 %"),
            single("Slow sends, last 3 days", "percentunit",
                   f"namespace:chat_send_latency_slo_errors:ratio_rate3d{{{NS}}}"),
            single("Slow deliveries, last 3 days", "percentunit",
                   f"namespace:chat_delivery_latency_slo_errors:ratio_rate3d{{{NS}}}"),
            graph("Send error-budget burn rate", "none", [(e.format(slo="send"), w) for e, w in burn],
                  "Pages at 14.4 (1h and 5m) and 6 (6h and 30m); tickets at 3 (1d) and 1 (3d)."),
            graph("Delivery error-budget burn rate", "none", [(e.format(slo="delivery"), w) for e, w in burn]),
        ]),
        ("Latency", [
            graph("Send -> message_confirmed", "s", quantiles("chat_message_send_seconds", SEL),
                  "Frame received to confirmation sent (WebSocket sends).", exemplars=True),
            graph("Commit -> message_new on a socket", "s", quantiles("chat_message_fanout_seconds", SEL),
                  exemplars=True),
            graph("Send p99 by pod", "s", quantiles("chat_message_send_seconds", SEL, "pod", (0.99,))),
            graph("Publish -> local fan-out p99 by pod", "s", quantiles("chat_fanout_lag_seconds", SEL, "pod", (0.99,)),
                  "Redis delivery to the ws process, before its own fan-out."),
            graph("Event loop lag p99 by pod", "s", quantiles("chat_ws_loop_lag_seconds", SEL, "pod", (0.99,)),
                  "How late each ws process's loop runs: every send and delivery of the pod waits by as much. "
                  "A stall of 100 ms is logged with the stack that held it (apps.ws.loop_watch)."),
        ]),
        ("Throughput and repairs", [
            graph("Sends per second by pod", "reqps", [rate_by("chat_message_send_seconds_count", "pod")]),
            graph("Frames delivered per second by kind", "ops", [rate_by("chat_fanout_deliveries_total", "kind")]),
            graph("Room events received per second by pod", "ops", [rate_by("chat_fanout_publications_total", "pod")]),
            graph("Rooms subscribed by pod", "short", [(f"sum by (pod) (chat_fanout_rooms{{{SEL}}})", "{{pod}}")]),
            graph("Repairs from PostgreSQL by kind", "ops", [rate_by("chat_fanout_repairs_total", "what")]),
            graph("Resync signals by reason", "ops", [rate_by("chat_fanout_resync_signals_total", "reason")]),
            graph("Channel-layer errors by operation", "ops", [rate_by("chat_channel_layer_errors_total", "operation")]),
            graph("Frames dropped on purpose by kind", "ops", [rate_by("chat_ws_frames_dropped_total", "kind")]),
        ]),
    ])


def history() -> dashboard.Dashboard:
    pages = f'{SEL}, route="api/chat/messages/", method="GET"'
    return board("chat-history", "Chat / History", "History pages and the HTTP API per route.", [
        ("History pages (budget p95 <= 15 ms)", [
            graph("History page latency", "s", quantiles("chat_http_request_seconds", pages), exemplars=True),
            graph("History pages per second by status", "reqps", [rate_by("chat_http_request_seconds_count", "status", pages)]),
        ]),
        ("HTTP API", [
            graph("p95 by route", "s", quantiles("chat_http_request_seconds", SEL, "route", (0.95,))),
            graph("Requests per second by route", "reqps", [rate_by("chat_http_request_seconds_count", "route")]),
            graph("5xx share by route", "percentunit", [(
                f'sum by (route) (rate(chat_http_request_seconds_count{{{SEL}, status=~"5.."}}[{RATE}]))'
                f" / sum by (route) (rate(chat_http_request_seconds_count{{{SEL}}}[{RATE}]))", "{{route}}")],
                "Pages at 2 % for 5 minutes (ChatHttp5xxRatioHigh)."),
            graph("HTTP sends (POST messages)", "s",
                  quantiles("chat_http_request_seconds", f'{SEL}, route="api/chat/messages/", method="POST"')),
        ]),
    ])


def reconnect_sync() -> dashboard.Dashboard:
    return board("chat-reconnect-sync", "Chat / Reconnect and sync",
                 "Sockets, closes and reconnects, and the delta sync that makes them lossless.", [
        ("Sockets", [
            graph("Open sockets by pod", "short", [(f"sum by (pod) (chat_ws_connections{{{SEL}}})", "{{pod}}")]),
            graph("Closes per second by code", "ops", [rate_by("chat_ws_closes_total", "code")],
                  "1012 restart / Redis, 1013 slow consumer, 4001 auth, 4008 policy (docs/protocol.md)."),
            graph("Slow sockets closed (1013) by pod", "ops", [rate_by("chat_ws_slow_socket_closes_total", "pod")]),
            graph("Frames refused by the rate limit by pod", "ops", [rate_by("chat_ws_rate_limited_total", "pod")]),
            graph("Pub/sub re-subscriptions by pod", "short",
                  [(f"sum by (pod) (increase(chat_fanout_subscription_reconnects_total{{{SEL}}}[{RATE}]))", "{{pod}}")],
                  "Most pods at once: a Redis master change (ChatRedisMasterChanged)."),
            graph("Subscription probe misses by pod", "short",
                  [(f"sum by (pod) (increase(chat_fanout_probe_misses_total{{{SEL}}}[{RATE}]))", "{{pod}}")]),
        ]),
        ("Delta sync (budget p95 <= 30 ms)", [
            graph("Sync server time", "s", quantiles("chat_sync_seconds", SEL, qs=(0.5, 0.95)), exemplars=True),
            graph("Messages and changes per sync", "short", quantiles("chat_sync_messages", SEL, qs=(0.5, 0.95))),
            graph("Syncs and resets per second", "ops", [
                (f"sum(rate(chat_sync_seconds_count{{{SEL}}}[{RATE}]))", "syncs"),
                (f"sum(rate(chat_sync_resets_total{{{SEL}}}[{RATE}]))", "resets")]),
        ]),
    ])


def web_client() -> dashboard.Dashboard:
    return board("chat-web-client", "Chat / Web client",
                 "What browsers measure (RUM beacons to POST /api/rum/).", [
        ("Browsers", [
            graph("Scroll frame rate", "fps", quantiles("chat_client_frame_rate", SEL, qs=(0.1, 0.5)),
                  "Budget: 60 fps median."),
            graph("Long frames (> 50 ms) per scroll sample", "short", [(
                f"sum(rate(chat_client_long_frames_total{{{SEL}}}[{RATE}]))"
                f" / sum(rate(chat_client_frame_rate_count{{{SEL}}}[{RATE}]))", "long frames per sample")],
                "Budget: none."),
            graph("Enter -> own message visible", "s",
                  quantiles("chat_client_send_visible_seconds", SEL, qs=(0.5, 0.95)), "Budget: p95 <= 32 ms."),
            graph("RUM samples per second", "ops", [
                (f"sum(rate(chat_client_frame_rate_count{{{SEL}}}[{RATE}]))", "frame-rate samples"),
                (f"sum(rate(chat_client_send_visible_seconds_count{{{SEL}}}[{RATE}]))", "send-visible samples")]),
        ]),
    ])


def workers() -> dashboard.Dashboard:
    return board("chat-workers", "Chat / Workers", "Celery tasks, the broker queue and Web Push.", [
        ("Tasks", [
            graph("Queue length", "short", [(f"max by (queue) (chat_worker_queue_length{{{SEL}}})", "{{queue}}")],
                  "Every worker samples the same queue: max, not sum."),
            graph("Tasks per second by task and outcome", "ops", [(
                f"sum by (task, state) (rate(chat_worker_tasks_total{{{SEL}}}[{RATE}]))", "{{task}} {{state}}")]),
            graph("Task run time p95 by task", "s", quantiles("chat_worker_task_seconds", SEL, "task", (0.95,))),
        ]),
        ("Web Push (budget: commit -> push p99 <= 1 s)", [
            graph("Push requests per second by result", "reqps", [rate_by("chat_push_requests_total", "result")]),
            graph("Commit -> push request", "s", quantiles("chat_push_notify_seconds", SEL), exemplars=True),
            graph("Notifications that could not be queued by pod", "short", [(
                f"sum by (pod) (increase(chat_push_enqueue_errors_total{{{SEL}}}[{RATE}]))", "{{pod}}")],
                "The broker refused them: pushes lost, messages not."),
        ]),
    ])


def infrastructure() -> dashboard.Dashboard:
    return board("chat-infrastructure", "Chat / Infrastructure",
                 "Processes, releases, the database and Redis as every process sees them.", [
        ("Processes", [
            graph("Targets up by job", "short", [(f"sum by (job) (up{{{SEL}}})", "{{job}}")]),
            graph("Releases running", "short", [(
                f"count by (version, commit) (chat_build_info{{{SEL}}})", "{{version}} {{commit}}")]),
            graph("Process CPU by pod", "percentunit", [rate_by("process_cpu_seconds_total", "pod")],
                  "ws and worker processes; the api's gunicorn workers are counted by the container runtime."),
            graph("Resident memory by pod", "bytes", [(
                f"sum by (pod) (process_resident_memory_bytes{{{SEL}}})", "{{pod}}")]),
        ]),
        ("PostgreSQL", [
            graph("Database errors by class", "ops", [rate_by("chat_db_errors_total", "error")],
                  "IntegrityError includes the idempotent send's unique check (normal)."),
            graph("Database connections opened per second by pod", "ops",
                  [rate_by("chat_db_connections_opened_total", "pod")],
                  "Connections are kept; a climb means they are being lost."),
            graph("Readiness: dependency reachable", "short", [(
                f"min by (pod, dependency) (chat_dependency_up{{{SEL}}})", "{{pod}} {{dependency}}")]),
        ]),
        ("Redis", [
            graph("Redis pool connections by pool and state", "short", [
                (f"sum by (pool, state) (chat_redis_pool_connections{{{SEL}}})", "{{pool}} {{state}}"),
                (f"sum by (pool) (chat_redis_pool_max_connections{{{SEL}}})", "{{pool}} max")]),
            graph("Channel-layer errors by operation", "ops", [rate_by("chat_channel_layer_errors_total", "operation")]),
        ]),
    ])


DASHBOARDS = {
    "chat-send-deliver.json": send_deliver,
    "chat-history.json": history,
    "chat-reconnect-sync.json": reconnect_sync,
    "chat-web-client.json": web_client,
    "chat-workers.json": workers,
    "chat-infrastructure.json": infrastructure,
}


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: json.dumps(make().build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
            for name, make in DASHBOARDS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(args.out / name)


if __name__ == "__main__":
    main()
