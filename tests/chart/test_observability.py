"""The PrometheusRule and dashboard ConfigMaps are generated from observability/, and the rules
taken back out of the rendered PrometheusRule pass promtool (check and the unit tests)."""
import json
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.chart.conftest import ALL_APIS, DASHBOARDS, RULE_TESTS, RULES, by_kind, render

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def source_groups() -> list[dict]:
    return [group for path in RULES for group in yaml.safe_load(path.read_text())["groups"]]


def test_prometheusrule_holds_exactly_the_observability_rules(tmp_path):
    rules = by_kind(render("keda-prometheus-values.yaml", ALL_APIS), "PrometheusRule")
    if not RULES:  # no rule files (yet): nothing to render, and nothing is rendered
        assert rules == {}
        return
    (rule,) = rules.values()
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"]["groups"] == source_groups()

    # Each rule file back out of the PrometheusRule (its groups, by name), then the unit tests
    # of observability/ run on those: what promtool passes is what the cluster gets.
    rendered = {group["name"]: group for group in rule["spec"]["groups"]}
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for path in RULES:
        names = [group["name"] for group in yaml.safe_load(path.read_text())["groups"]]
        extracted = tmp_path / "rules" / path.name
        extracted.write_text(yaml.safe_dump({"groups": [rendered[n] for n in names]}, sort_keys=False))
    check = subprocess.run([PROMTOOL, "check", "rules", *map(str, (tmp_path / "rules").iterdir())],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert RULE_TESTS, "rules without promtool unit tests"
    tests = []
    for path in RULE_TESTS:
        spec = yaml.safe_load(path.read_text())
        spec["rule_files"] = [str(tmp_path / "rules" / Path(f).name) for f in spec["rule_files"]]
        assert all(Path(f).exists() for f in spec["rule_files"]), spec["rule_files"]
        target = tmp_path / "tests" / path.name
        target.write_text(yaml.safe_dump(spec, sort_keys=False))
        tests.append(str(target))
    result = subprocess.run([PROMTOOL, "test", "rules", *tests], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_prometheusrule_without_the_operator_or_when_disabled():
    assert by_kind(render("keda-prometheus-values.yaml"), "PrometheusRule") == {}
    off = render("keda-prometheus-values.yaml", ALL_APIS, ("--set", "monitoring.prometheusRule.enabled=false"))
    assert by_kind(off, "PrometheusRule") == {}


def test_one_dashboard_configmap_per_dashboard_file_for_the_sidecar():
    maps = {name: cm for name, cm in by_kind(render("default-values.yaml"), "ConfigMap").items()
            if cm["metadata"]["labels"].get("grafana_dashboard") == "1"}
    assert len(maps) == len(DASHBOARDS)
    rendered = {key: json.loads(value) for cm in maps.values() for key, value in cm["data"].items()}
    assert rendered == {path.name: json.loads(path.read_text()) for path in DASHBOARDS}
    off = render("default-values.yaml", (), ("--set", "monitoring.grafanaDashboards.enabled=false"))
    assert not [cm for cm in by_kind(off, "ConfigMap").values() if "grafana_dashboard" in cm["metadata"]["labels"]]
