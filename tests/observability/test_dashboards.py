"""The Grafana dashboards: the committed JSON is what the generator makes, every panel is templated
by namespace and pod, and every panel's query parses as PromQL (promtool has no PromQL parser
command, so the queries are checked as recording rules of a generated rule file)."""
import importlib.util
import json
import re
import subprocess

import yaml

from tests.observability.conftest import OBSERVABILITY, ROOT

GRAFANA = OBSERVABILITY / "grafana"
RULES = sorted((OBSERVABILITY / "prometheus" / "rules").glob("*.yaml"))
# What Grafana puts in place of its variables when it runs a query.
GRAFANA_VARIABLES = {"$namespace": "chat", "$pod": ".*", "$__rate_interval": "1m", "$__interval": "30s"}


def _generator():
    spec = importlib.util.spec_from_file_location("chat_dashboards", GRAFANA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def _panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) of every query, variables' series included."""
    found = []
    for name, board in _dashboards().items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append((name, panel["title"], target["expr"]))
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                series = re.fullmatch(r"label_values\((.*), (\w+)\)", variable["query"]).group(1)
                found.append((name, f"variable {variable['name']}", series))
    return found


def _substitute(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def test_committed_dashboards_are_generated():
    generated = _generator().render()
    committed = {path.name: path.read_text() for path in (GRAFANA / "dashboards").glob("*.json")}
    assert set(committed) == set(generated)
    stale = [name for name, text in generated.items() if committed[name] != text]
    assert stale == [], "regenerate: .venv/bin/python observability/grafana/generate.py"


def test_the_six_flows_have_a_dashboard_templated_by_namespace_and_pod():
    boards = _dashboards()
    assert {b["uid"] for b in boards.values()} == {"chat-send-deliver", "chat-history", "chat-reconnect-sync",
                                                    "chat-web-client", "chat-workers", "chat-infrastructure"}
    for name, board in boards.items():
        assert {v["name"] for v in board["templating"]["list"]} == {"datasource", "namespace", "pod"}, name
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert panels and all(p.get("targets") for p in panels), name
    for name, title, expr in _panel_queries():
        if title != "variable namespace":
            assert '$namespace' in expr, (name, title)


def test_every_panel_query_parses(promtool, tmp_path):
    queries = _panel_queries()
    rules = {"groups": [{"name": "panels", "rules": [
        {"record": f"panel:query:{i}", "expr": _substitute(expr)} for i, (_, _, expr) in enumerate(queries)]}]}
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_panels_read_only_documented_metrics_and_existing_recording_rules():
    recorded = {rule["record"] for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
                for rule in group["rules"] if "record" in rule}
    catalogue = (ROOT / "docs" / "operations.md").read_text()
    for name, title, expr in _panel_queries():
        for rule in re.findall(r"\b[a-z_]+:[a-z_0-9]+:[a-z_0-9]+\b", expr):
            assert rule in recorded, (name, title, rule)
        for metric in re.findall(r"(?<![:\w])chat_[a-z_]+", expr):
            family = re.sub(r"_(bucket|count|sum)$", "", metric)
            assert f"`{family}`" in catalogue, (name, title, family)
