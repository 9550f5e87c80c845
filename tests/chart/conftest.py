"""The chart rendered by the real helm binary (scripts/tools.sh puts it in .tools/bin), and the
rendered objects checked offline: Kubernetes schemas (kubernetes-validate), vendored CRD schemas
(schemas/, see schemas/SOURCES.md), and assertions on what the objects say."""
import functools
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "chat"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
HELM = ROOT / ".tools" / "bin" / "helm"
KUBE_VERSION = "1.35.0"
# The CRD APIs a cluster with KEDA, the Gateway API and the Prometheus Operator announces.
ALL_APIS = ("keda.sh/v1alpha1", "gateway.networking.k8s.io/v1", "monitoring.coreos.com/v1")
RULES = sorted((ROOT / "observability" / "prometheus" / "rules").glob("*.yaml"))
RULE_TESTS = sorted((ROOT / "observability" / "prometheus" / "tests").glob("*.yaml"))
DASHBOARDS = sorted((ROOT / "observability" / "grafana" / "dashboards").glob("*.json"))


def helm(*args: str) -> subprocess.CompletedProcess:
    if not HELM.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "tools.sh")], check=True)
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@functools.cache
def render(values: str, apis: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> tuple[dict, ...]:
    """`helm template` of the chart with a ci values file (name or path) -> the objects."""
    path = CHART / "ci" / values if "/" not in values else Path(values)
    args = ["template", "chat", str(CHART), "--namespace", "chat", "--kube-version", KUBE_VERSION, "-f", str(path)]
    for api in apis:
        args += ["--api-versions", api]
    result = helm(*args, *extra)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def by_kind(objects, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def container(deployment: dict) -> dict:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


@pytest.fixture(params=[p.name for p in CI_VALUES])
def ci_values(request) -> str:
    return request.param
