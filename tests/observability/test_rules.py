"""The Prometheus rules: valid (`promtool check rules`), unit-tested (`promtool test rules`), every
alert tested firing and not firing, every alert with a runbook section, and bounded labels."""
import re
import subprocess

import pytest
import yaml

from tests.observability.conftest import OBSERVABILITY, ROOT

RULES = sorted((OBSERVABILITY / "prometheus" / "rules").glob("*.yaml"))
UNIT_TESTS = sorted((OBSERVABILITY / "prometheus" / "tests").glob("*.yaml"))
OPERATIONS = ROOT / "docs" / "operations.md"
# Every label an aggregate may keep; each has a small fixed set of values (docs/operations.md).
BOUNDED_LABELS = {"namespace", "pod", "le", "code", "operation", "what", "reason", "kind", "route", "method",
                  "status", "error", "dependency", "queue", "task", "state", "result", "pool",
                  "generation"}  # the garbage collector's: 0, 1, 2


def _alerts() -> list[dict]:
    return [rule for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "alert" in rule]


def _all_rules() -> list[dict]:
    return [rule for path in RULES for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def _github_anchor(heading: str) -> str:
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def test_rule_files_are_valid(promtool):
    result = subprocess.run([promtool, "check", "rules", *map(str, RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit_test", UNIT_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(promtool, unit_test):
    result = subprocess.run([promtool, "test", "rules", unit_test.name], cwd=unit_test.parent,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_file_has_its_unit_tests():
    tested = {f for t in UNIT_TESTS for f in yaml.safe_load(t.read_text())["rule_files"]}
    assert tested == {f"../rules/{path.name}" for path in RULES}


def test_every_alert_is_tested_firing_and_not_firing():
    firing, silent = set(), set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {alert["alert"] for alert in _alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - silent == set(), "alerts never tested not firing"
    assert (firing | silent) - names == set(), "tests of alerts that do not exist"


def test_every_alert_links_its_runbook_section():
    anchors = {_github_anchor(line.lstrip("#")) for line in OPERATIONS.read_text().splitlines()
               if line.startswith("### ")}
    for alert in _alerts():
        annotations = alert.get("annotations", {})
        assert annotations.get("summary"), alert["alert"]
        assert alert.get("labels", {}).get("severity") in {"page", "ticket"}, alert["alert"]
        url = annotations.get("runbook_url", "")
        assert url == f"docs/operations.md#{alert['alert'].lower()}", alert["alert"]
        assert url.split("#")[1] in anchors, f"no runbook section '### {alert['alert']}' in docs/operations.md"


def test_aggregations_keep_only_bounded_labels():
    for rule in _all_rules():
        for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", rule["expr"]):
            labels = {label.strip() for label in group.split(",") if label.strip()}
            assert labels <= BOUNDED_LABELS, (rule.get("record") or rule.get("alert"), labels - BOUNDED_LABELS)
