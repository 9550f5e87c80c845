"""What the rendered objects say: drain timings, autoscaling, security, checksums, routing, hooks."""
import pytest

from tests.chart.conftest import ALL_APIS, by_kind, container, render

KEDA = ("keda.sh/v1alpha1",)


def deployments(values="default-values.yaml", apis=(), extra=()):
    return by_kind(render(values, apis, extra), "Deployment")


def env_of(c: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


# --- ws drain -------------------------------------------------------------------------------

@pytest.mark.parametrize("values", ["default-values.yaml", "external-values.yaml"])
def test_ws_grace_period_covers_prestop_and_drain(values):
    ws = next(d for n, d in deployments(values).items() if n.endswith("-ws"))
    pod = ws["spec"]["template"]["spec"]
    c = container(ws)
    pre_stop = int(c["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = int(env_of(c)["CHAT_WS_DRAIN_SECONDS"])
    assert pre_stop > 0 and drain > 0
    assert pod["terminationGracePeriodSeconds"] > pre_stop + drain
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["readinessProbe"]["failureThreshold"] == 1  # out of rotation at the first 503
    if values == "external-values.yaml":
        assert (pre_stop, drain, pod["terminationGracePeriodSeconds"]) == (10, 60, 85)
    # a rolling update never takes a ws pod away before its replacement serves
    assert ws["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_api_pods_leave_the_endpoints_before_they_stop():
    api = deployments()["chat-api"]
    pre_stop = int(container(api)["lifecycle"]["preStop"]["exec"]["command"][1])
    assert 0 < pre_stop < api["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    long_wait = deployments(extra=("--set", "api.preStopSeconds=40"))["chat-api"]
    assert long_wait["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 50


# --- autoscaling ----------------------------------------------------------------------------

def test_without_keda_every_component_has_a_cpu_hpa_and_ws_scales_down_slowly():
    objects = render("default-values.yaml")
    assert by_kind(objects, "ScaledObject") == {}
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    assert set(hpas) == {"chat-api", "chat-ws", "chat-worker"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
    down = hpas["chat-ws"]["spec"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] >= 600
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 300}]
    assert down["selectPolicy"] == "Min"
    for d in deployments().values():
        assert "replicas" not in d["spec"], "an autoscaled Deployment must leave replicas to the autoscaler"


def test_with_keda_scaledobjects_replace_the_hpas():
    objects = render("keda-prometheus-values.yaml", KEDA)
    assert by_kind(objects, "HorizontalPodAutoscaler") == {}
    scaled = by_kind(objects, "ScaledObject")
    assert set(scaled) == {"chat-api", "chat-ws", "chat-worker"}

    ws = scaled["chat-ws"]["spec"]
    (sockets,) = ws["triggers"]
    assert sockets["type"] == "prometheus"
    assert sockets["metadata"]["query"] == 'sum(chat_ws_connections{namespace="chat",pod=~"chat-ws-.*"})'
    assert sockets["metadata"]["threshold"] == "5000"
    assert sockets["metadata"]["serverAddress"] == "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    assert ws["fallback"]["behavior"] == "currentReplicas"
    down = ws["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] >= 600 and down["policies"][0]["value"] == 1

    api = scaled["chat-api"]["spec"]
    assert [t["type"] for t in api["triggers"]] == ["cpu", "prometheus"]
    assert "chat_http_request_seconds_bucket" in api["triggers"][1]["metadata"]["query"]
    assert api["triggers"][1]["metricType"] == "Value"
    assert "fallback" not in api  # KEDA refuses a fallback with CPU triggers

    worker = scaled["chat-worker"]["spec"]
    assert [t["metadata"]["listName"] for t in worker["triggers"]] == ["chat:celery:chat.default",
                                                                          "chat:celery:chat.notifications"]
    for trigger in worker["triggers"]:
        assert trigger["type"] == "redis-sentinel"
        assert trigger["metadata"]["addresses"] == "sentinel-a:26379,sentinel-b:26379,sentinel-c:26379"
        assert trigger["metadata"]["sentinelMaster"] == "chat-master"
        assert trigger["metadata"]["passwordFromEnv"] == "REDIS_PASSWORD"
        assert trigger["metadata"]["listLength"] == "100"


def test_worker_queue_triggers_follow_the_queue_values_and_a_plain_redis():
    scaled = by_kind(render("external-values.yaml", KEDA, ("--set", "worker.autoscaling.enabled=true",
                                                           "--set", "worker.queues={emails}")), "ScaledObject")
    (trigger,) = scaled["chat-external-worker"]["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["address"] == "redis-master.data.svc:6379"
    assert trigger["metadata"]["listName"] == "chat:celery:emails"  # the broker's key, prefix included
    assert trigger["metadata"]["passwordFromEnv"] == "REDIS_PASSWORD"  # existingSecretHasRedisPassword
    worker = deployments("external-values.yaml", KEDA, ("--set", "worker.autoscaling.enabled=true",
                                                        "--set", "worker.queues={emails}"))["chat-external-worker"]
    assert container(worker)["args"][-1] == "emails"


def test_fixed_replicas_without_autoscaling():
    objects = render("external-values.yaml", ALL_APIS)
    assert by_kind(objects, "ScaledObject") == {} and by_kind(objects, "HorizontalPodAutoscaler") == {}
    replicas = {n: d["spec"]["replicas"] for n, d in by_kind(objects, "Deployment").items()}
    assert replicas == {"chat-external-api": 3, "chat-external-ws": 4, "chat-external-worker": 2}


# --- deletion cost --------------------------------------------------------------------------

def test_ws_pods_may_patch_their_deletion_cost_and_nobody_else_gets_a_token():
    objects = render("default-values.yaml")
    (role,) = by_kind(objects, "Role").values()
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"]}]
    (binding,) = by_kind(objects, "RoleBinding").values()
    assert binding["subjects"][0]["name"] == "chat-ws" and binding["roleRef"]["name"] == role["metadata"]["name"]
    for name, d in deployments().items():
        pod = d["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is name.endswith("-ws"), name
    ws_env = env_of(container(deployments()["chat-ws"]))
    assert ws_env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert ws_env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert ws_env["CHAT_POD_DELETION_COST_SECONDS"] == "10"

    off = render("external-values.yaml")
    assert by_kind(off, "Role") == {} and by_kind(off, "RoleBinding") == {}
    ws = by_kind(off, "Deployment")["chat-external-ws"]
    assert ws["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert "POD_NAME" not in env_of(container(ws))


# --- security and resources -----------------------------------------------------------------

def pod_templates(objects):
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def test_every_pod_is_locked_down_and_has_resources(ci_values):
    pods = list(pod_templates(render(ci_values, ALL_APIS)))
    assert len(pods) >= 3
    for name, pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc["runAsNonRoot"] is True and sc["seccompProfile"]["type"] == "RuntimeDefault", name
            assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"], name
            assert c["resources"]["limits"]["memory"], name
            # the only writable places: emptyDirs (/tmp, the metrics directory)
            volumes = {v["name"]: v for v in pod["volumes"]}
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert "/tmp" in mounts and all("emptyDir" in volumes[v] for v in mounts.values()), name


def test_api_metrics_directory_is_an_emptydir_and_probes_are_where_the_processes_serve_them():
    ds = deployments()
    api = container(ds["chat-api"])
    multiproc = env_of(api)["PROMETHEUS_MULTIPROC_DIR"]
    assert {m["mountPath"] for m in api["volumeMounts"]} >= {"/tmp", multiproc}
    for name in ("chat-api", "chat-ws"):
        c = container(ds[name])
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert c["args"] == [name.removeprefix("chat-")]
        # kubelet and Prometheus address the pod by IP: Django must accept that Host
        assert env_of(c)["ALLOWED_HOSTS"] == "chat.example.org,$(POD_IP)"
    worker = container(ds["chat-worker"])
    ping = " ".join(worker["livenessProbe"]["exec"]["command"])
    assert 'celery -A apps.worker inspect ping -d "celery@$HOSTNAME"' in ping
    assert worker["args"][:1] == ["worker"]


def test_every_component_has_a_pdb_spread_and_a_network_policy():
    objects = render("default-values.yaml")
    pdbs = by_kind(objects, "PodDisruptionBudget")
    assert pdbs["chat-ws"]["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {
        "app.kubernetes.io/name": "chat", "app.kubernetes.io/instance": "chat", "app.kubernetes.io/component": "ws"}}}
    assert pdbs["chat-api"]["spec"]["minAvailable"] == 1
    policies = by_kind(objects, "NetworkPolicy")
    assert set(policies) == {"chat-api", "chat-ws", "chat-worker"}
    assert policies["chat-worker"]["spec"]["ingress"] == [{"ports": [{"port": "metrics", "protocol": "TCP"}]}]
    assert policies["chat-ws"]["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    egress_ports = {p["port"] for rule in policies["chat-ws"]["spec"]["egress"] for p in rule["ports"]}
    assert {53, 5432, 6379, 26379, 443} <= egress_ports
    for name, d in deployments().items():
        keys = {c["topologyKey"] for c in d["spec"]["template"]["spec"]["topologySpreadConstraints"]}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}, name


# --- configuration and checksums ------------------------------------------------------------

def checksums(extra=()):
    return {n: d["spec"]["template"]["metadata"]["annotations"] for n, d in deployments(extra=extra).items()}


def test_checksums_roll_the_pods_when_config_or_secret_change():
    base = checksums()
    for annotations in base.values():
        assert set(annotations) >= {"checksum/config", "checksum/secret"}
    config_changed = checksums(("--set", "config.logLevel=DEBUG"))
    secret_changed = checksums(("--set", "secrets.secretKey=another"))
    for name in base:
        assert config_changed[name]["checksum/config"] != base[name]["checksum/config"]
        assert config_changed[name]["checksum/secret"] == base[name]["checksum/secret"]
        assert secret_changed[name]["checksum/secret"] != base[name]["checksum/secret"]
        assert secret_changed[name]["checksum/config"] == base[name]["checksum/config"]
    assert checksums() == base  # rendering is deterministic


def test_configmap_and_secret_carry_the_production_settings():
    objects = render("keda-prometheus-values.yaml")
    config = by_kind(objects, "ConfigMap")["chat-config"]["data"]
    assert config["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert config["REDIS_SENTINELS"] == "sentinel-a:26379,sentinel-b:26379,sentinel-c:26379"
    assert config["REDIS_MASTER_NAME"] == "chat-master"
    assert "REDIS_URL" not in config
    secret = by_kind(objects, "Secret")["chat-secret"]["data"]
    assert set(secret) == {"SECRET_KEY", "DATABASE_URL", "VAPID_PRIVATE_KEY", "REDIS_PASSWORD", "METRICS_TOKEN"}
    assert config["CHAT_WORKER_METRICS_PORT"] == "9808"
    external = render("external-values.yaml")
    assert by_kind(external, "Secret") == {}
    config = by_kind(external, "ConfigMap")["chat-external-config"]["data"]
    assert config["REDIS_URL"] == "redis://redis-master.data.svc:6379/0"
    assert config["CHAT_WS_RATE_PER_SECOND"] == "10"
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
    api = container(by_kind(external, "Deployment")["chat-external-api"])
    assert {"secretRef": {"name": "chat-prod-secrets"}} in api["envFrom"]
    assert "checksum/secret" not in by_kind(external, "Deployment")["chat-external-api"]["spec"]["template"]["metadata"]["annotations"]


# --- migrations -----------------------------------------------------------------------------

def test_migrations_run_as_a_hook_before_install_and_upgrade():
    objects = render("default-values.yaml")
    job = by_kind(objects, "Job")["chat-migrate"]
    hooks = job["metadata"]["annotations"]
    assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert container(job)["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    env_from = container(job)["envFrom"]
    refs = {next(iter(e.values()))["name"] for e in env_from}
    assert refs == {"chat-migrate-config", "chat-migrate-secret"}
    # the Job's configuration exists before the Job (hook weight) and equals the release's own
    hook_config = by_kind(objects, "ConfigMap")["chat-migrate-config"]
    hook_secret = by_kind(objects, "Secret")["chat-migrate-secret"]
    for hooked in (hook_config, hook_secret):
        assert hooked["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(hooked["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])
    assert hook_config["data"] == by_kind(objects, "ConfigMap")["chat-config"]["data"]
    assert hook_secret["data"] == by_kind(objects, "Secret")["chat-secret"]["data"]
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]  # the release's SA is not there yet
    assert by_kind(render("external-values.yaml"), "Job") == {}


# --- routing --------------------------------------------------------------------------------

def test_httproute_sends_ws_to_the_ws_pods_without_a_request_timeout():
    objects = render("default-values.yaml")
    (route,) = by_kind(objects, "HTTPRoute").values()
    assert route["spec"]["parentRefs"] == [{"name": "chat-gateway", "namespace": "gateway-system", "sectionName": "https"}]
    ws_rule, rest = route["spec"]["rules"]
    assert ws_rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/ws/"}}]
    assert ws_rule["backendRefs"] == [{"name": "chat-ws", "port": 8000}]
    assert ws_rule["timeouts"] == {"request": "0s"}
    assert rest["backendRefs"] == [{"name": "chat-api", "port": 8000}]
    assert by_kind(objects, "Ingress") == {}


def test_ingress_instead_of_httproute_with_websocket_timeouts():
    objects = render("ingress-values.yaml", ALL_APIS)
    assert by_kind(objects, "HTTPRoute") == {}
    (ingress,) = by_kind(objects, "Ingress").values()
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["backend"]["service"]["name"]) for p in paths] == [("/ws/", "chat-ws"), ("/", "chat-api")]
    assert ingress["spec"]["tls"] == [{"secretName": "chat-tls", "hosts": ["chat.example.org"]}]


# --- monitoring -----------------------------------------------------------------------------

def test_monitors_only_with_the_prometheus_operator():
    assert by_kind(render("keda-prometheus-values.yaml"), "ServiceMonitor") == {}
    objects = render("keda-prometheus-values.yaml", ALL_APIS)
    monitors = by_kind(objects, "ServiceMonitor")
    assert set(monitors) == {"chat-api", "chat-ws", "chat-worker"}
    services = by_kind(objects, "Service")
    for name, monitor in monitors.items():
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        # the port it names is a port of a Service it selects
        selected = [s for s in services.values()
                    if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
        assert [p["name"] for s in selected for p in s["spec"]["ports"]] == [endpoint["port"]], name
    assert monitors["chat-worker"]["spec"]["endpoints"][0]["port"] == "metrics"
    pod_monitors = by_kind(render("ingress-values.yaml", ALL_APIS), "PodMonitor")
    assert set(pod_monitors) == {"chat-api", "chat-ws", "chat-worker"}
    assert pod_monitors["chat-ws"]["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"
    worker = container(by_kind(render("ingress-values.yaml"), "Deployment")["chat-worker"])
    assert worker["ports"] == [{"name": "metrics", "containerPort": 9808, "protocol": "TCP"}]


def test_prometheus_scrapes_api_and_ws_with_the_metrics_bearer():
    """api and ws answer /metrics only to METRICS_TOKEN: the monitors send it from the Secret."""
    objects = render("keda-prometheus-values.yaml", apis=ALL_APIS)
    monitors = [o for o in objects if o["kind"] in ("ServiceMonitor", "PodMonitor")]
    assert monitors
    for monitor in monitors:
        spec = monitor["spec"]
        [endpoint] = spec.get("endpoints") or spec.get("podMetricsEndpoints")
        if monitor["metadata"]["name"].endswith("-worker"):
            assert "authorization" not in endpoint  # the worker's own metrics server has no token
            continue
        assert endpoint["authorization"] == {"type": "Bearer",
                                             "credentials": {"name": "chat-secret", "key": "METRICS_TOKEN"}}
