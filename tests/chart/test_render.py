"""helm lint, helm template, and every rendered object checked against its schema offline."""
import copy
import json
import re
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from tests.chart.conftest import ALL_APIS, CHART, CI_VALUES, KUBE_VERSION, ROOT, helm, render

SCHEMAS = Path(__file__).parent / "schemas"
# Kinds the chart may render from CRDs, each checked against its vendored schema.
CRD_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh/scaledobject_v1alpha1.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io/httproute_v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/servicemonitor_v1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com/podmonitor_v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/prometheusrule_v1.json",
    ("gateway.networking.k8s.io/v1", "Gateway"): "gateway.networking.k8s.io/gateway_v1.json",
    ("gateway.networking.k8s.io/v1", "GatewayClass"): "gateway.networking.k8s.io/gatewayclass_v1.json",
}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _closed(schema):
    """The CRD schema with unknown fields refused: the API server would silently prune them, so
    a typo in the chart would vanish instead of failing. Open maps stay open."""
    if isinstance(schema, dict):
        schema = {k: _closed(v) for k, v in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


@cache
def crd_validator(path: str) -> jsonschema.Draft7Validator:
    schema = _closed(json.loads((SCHEMAS / path).read_text()))
    # metadata is checked as Kubernetes ObjectMeta below (the CRD says only "object")
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def validate(obj: dict) -> None:
    name = obj["metadata"]["name"]
    assert DNS_SUBDOMAIN.match(name) and len(name) <= 63, f"bad name {name!r}"
    for key, value in obj["metadata"].get("labels", {}).items():
        assert isinstance(value, str) and len(value) <= 63, (name, key, value)
    crd = CRD_KINDS.get((obj["apiVersion"], obj["kind"]))
    if crd is None:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        return
    errors = sorted(crd_validator(crd).iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, f"{obj['kind']}/{name}: " + "; ".join(
        f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
                                 KUBE_VERSION, strict=True)


def test_there_are_the_ci_values_files_the_tests_rely_on():
    assert {p.name for p in CI_VALUES} >= {"default-values.yaml", "keda-prometheus-values.yaml",
                                           "ingress-values.yaml", "external-values.yaml"}


def test_helm_lint_strict(ci_values):
    result = helm("lint", "--strict", "--kube-version", KUBE_VERSION, str(CHART), "-f", str(CHART / "ci" / ci_values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("apis", [(), ALL_APIS], ids=["bare-cluster", "keda-gateway-prometheus-operator"])
def test_every_rendered_object_passes_its_schema(ci_values, apis):
    objects = render(ci_values, apis)
    assert objects
    for obj in objects:
        validate(obj)
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names)), "two objects of one kind and name"


def test_the_validation_catches_mistakes():
    """The checks above can fail: a misspelt field in a core object and in a custom resource."""
    objects = render("keda-prometheus-values.yaml", ALL_APIS)
    deployment = copy.deepcopy(next(o for o in objects if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    scaled = copy.deepcopy(next(o for o in objects if o["kind"] == "ScaledObject"))
    scaled["spec"]["minReplicas"] = 2  # KEDA spells it minReplicaCount
    with pytest.raises(AssertionError, match="minReplicas"):
        validate(scaled)
    route = copy.deepcopy(next(o for o in objects if o["kind"] == "HTTPRoute"))
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    with pytest.raises(AssertionError, match="Prefix"):
        validate(route)


def test_values_schema_refuses_unknown_keys_and_missing_settings():
    typo = helm("template", "chat", str(CHART), "-f", str(CHART / "ci" / "default-values.yaml"),
                "--set", "ws.drain.drainSecs=5")
    assert typo.returncode != 0 and "drainSecs" in typo.stderr
    bare = helm("template", "chat", str(CHART))
    assert bare.returncode != 0 and "redis.sentinels" in bare.stderr
    schema = json.loads((CHART / "values.schema.json").read_text())

    def objects_without_closure(node, where="$"):
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                yield where
            for key, value in node.items():
                yield from objects_without_closure(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from objects_without_closure(value, f"{where}[{i}]")

    assert list(objects_without_closure(schema)) == []


@pytest.mark.parametrize("values, setting, message", [
    ("default-values.yaml", "config.allowedHosts=[]", "config.allowedHosts is required"),
    ("default-values.yaml", "httpRoute.parentRefs=[]", "httpRoute.parentRefs (the Gateway to attach to) is required"),
    ("ingress-values.yaml", "ingress.hosts=[]", "ingress.hosts is required"),
    ("default-values.yaml", 'secrets.vapidPrivateKey=""', "secrets.vapidPrivateKey is required"),
])
def test_a_missing_required_setting_fails_the_render_with_its_name(values, setting, message):
    result = helm("template", "chat", str(CHART), "-f", str(CHART / "ci" / values), "--set-json", setting)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_helm_package_carries_the_observability_files(tmp_path):
    """`helm package` follows the files/observability symlink, as `helm template` does."""
    import tarfile

    result = helm("package", str(CHART), "-d", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (package,) = tmp_path.glob("chat-*.tgz")
    with tarfile.open(package) as tar:
        names = set(tar.getnames())
    assert "chat/files/observability/HELM.md" in names
    repo = CHART.parents[1] / "observability"
    for path in repo.rglob("*"):
        if path.is_file():
            assert f"chat/files/observability/{path.relative_to(repo)}" in names


def test_the_kind_load_test_manifests_and_values_validate():
    """k8s/: the dependencies, the Gateway and the Locust Job; and the chart with kind's values."""
    import yaml

    manifests = [*sorted((ROOT / "k8s" / "deps").glob("*.yaml")), ROOT / "k8s" / "gateway.yaml", ROOT / "k8s" / "locust-job.yaml"]
    kinds = []
    for path in manifests:
        for obj in yaml.safe_load_all(path.read_text()):
            if obj:
                validate(obj)
                kinds.append(obj["kind"])
    assert {"StatefulSet", "Service", "Gateway", "GatewayClass", "Job"} <= set(kinds)
    kind_values = str(ROOT / "k8s" / "kind-values.yaml")
    lint = helm("lint", "--strict", "--kube-version", KUBE_VERSION, str(CHART), "-f", kind_values)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    objects = render(kind_values, ("keda.sh/v1alpha1", "gateway.networking.k8s.io/v1"))
    for obj in objects:
        validate(obj)
    route = next(o for o in objects if o["kind"] == "HTTPRoute")
    gateway = next(o for o in yaml.safe_load_all((ROOT / "k8s" / "gateway.yaml").read_text()) if o["kind"] == "Gateway")
    assert route["spec"]["parentRefs"] == [{"name": gateway["metadata"]["name"]}]
    sentinels = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "chat-config")["data"]["REDIS_SENTINELS"]
    assert sentinels == ",".join(f"redis-sentinel-{i}.redis-sentinel:26379" for i in range(3))
