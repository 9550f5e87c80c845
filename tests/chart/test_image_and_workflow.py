"""The Dockerfile (hadolint), its entry script, the settings the chart's env gives the image, the
kind workflow (actionlint) and the Locust thresholds of the kind load test."""
import base64
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.chart.conftest import ROOT, by_kind, container, render

BIN = Path(sys.executable).parent


def test_dockerfile_passes_hadolint():
    result = subprocess.run([str(BIN / "hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_one_entry_point():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    runtime = next(s for s in stages if " AS runtime" in s.splitlines()[0])
    users = re.findall(r"^USER (\S+)", runtime, flags=re.M)
    assert users == ["10001:10001"]  # the uid the chart's securityContext runs as
    assert 'ENTRYPOINT ["chat-entrypoint"]' in runtime
    assert "COPY --from=spa /src/frontend/dist frontend/dist" in runtime
    # Every COPY source is in the build context .dockerignore lets through.
    allowed = [line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.M):
        assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), source


def test_the_image_carries_every_python_package_of_the_project():
    """pyproject's packages (setuptools include) are what runs: each is copied into /app."""
    includes = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in includes}
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", (ROOT / "Dockerfile").read_text(), flags=re.M))
    assert packages <= copied, packages - copied


def test_every_runtime_dependency_has_a_pin_for_the_image():
    """The image installs pyproject's dependencies under constraints.txt: each needs its pin."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {re.split(r"==", line)[0].lower().replace("_", "-") for line in (ROOT / "constraints.txt").read_text().splitlines()
            if "==" in line}
    names = {re.match(r"[A-Za-z0-9_.-]+", dep).group(0).lower().replace("_", "-") for dep in deps}
    assert names - pins == set()


def test_entry_script_empties_the_metrics_directory_and_execs_the_launcher(tmp_path):
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    (multiproc / "counter_123.db").write_bytes(b"stale")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\necho "$$ $*" > {tmp_path}/called\n')
    (shim / "python").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    result = subprocess.run(["sh", str(ROOT / "docker" / "entrypoint.sh"), "worker", "--concurrency", "2"],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert list(multiproc.iterdir()) == []
    pid, args = (tmp_path / "called").read_text().split(" ", 1)
    assert args.strip() == "-m config.launch worker --concurrency 2"


def test_the_charts_environment_satisfies_the_production_settings():
    """ConfigMap + Secret + the pod's own env, as a ws pod gets them, load config.settings.production."""
    objects = render("keda-prometheus-values.yaml")
    env = dict(by_kind(objects, "ConfigMap")["chat-config"]["data"])
    env |= {k: base64.b64decode(v).decode() for k, v in by_kind(objects, "Secret")["chat-secret"]["data"].items()}
    for item in container(by_kind(objects, "Deployment")["chat-ws"])["env"]:
        if "value" in item:
            env[item["name"]] = item["value"].replace("$(POD_IP)", "10.1.2.3")
    probe = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
             "'hosts': s.ALLOWED_HOSTS, 'engine': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
             "'master': s.CELERY_BROKER_TRANSPORT_OPTIONS['master_name'], "
             "'fanout': s.REDIS.master_name, 'debug': s.DEBUG}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "DATABASE_", "CHAT_"))}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "hosts": ["chat.example.org", "10.1.2.3"], "engine": "django.db.backends.postgresql",
        # the master's password rides in the broker URL (kombu's sentinel transport)
        "broker": ("sentinel://:ci-redis-password@sentinel-a:26379/0;sentinel://:ci-redis-password@sentinel-b:26379/0;"
                   "sentinel://:ci-redis-password@sentinel-c:26379/0"),
        "master": "chat-master", "fanout": "chat-master", "debug": False,
    }


def test_workflow_passes_actionlint_and_runs_make_targets():
    workflow = ROOT / ".github" / "workflows" / "kind-loadtest.yml"
    result = subprocess.run([str(BIN / "actionlint"), str(workflow)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    for target in ("make image", "make kind-up", "make kind-deps", "make kind-deploy", "make kind-loadtest", "make kind-down"):
        assert target in text
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "k8s" / "kind.mk").read_text(), flags=re.M))
    assert {"tools", "image", "kind-up", "kind-deps", "kind-deploy", "kind-loadtest", "kind-down"} <= targets


THRESHOLDS_CHECK = """
import json, sys
sys.path.insert(0, "k8s/locust")
from locust.stats import RequestStats
import thresholds

stats = RequestStats()
for ms in range(1, 101):
    stats.log_request("WS", "message_send -> confirmed", ms * 5, 0)
stats.log_request("GET", "/api/chat/rooms/", 20, 0)
rules = thresholds.parse_thresholds("message_send -> confirmed:99:600; /api/chat/rooms/:95:50")
print(json.dumps(thresholds.misses(stats, 0.01, ["seq gap"], rules)))
rules = thresholds.parse_thresholds("message_send -> confirmed:99:400;sync after reconnect:95:1000")
stats.log_request("WS", "seq gap", 2000, 0)
stats.log_error("WS", "seq gap", "SeqGap('room 1')")
print(json.dumps(thresholds.misses(stats, 0.001, ["seq gap", "seq duplicate"], rules)))

class Environment:  # what Locust hands its quitting listeners
    process_exit_code = None
    def __init__(self, stats):
        self.stats = stats

import os
os.environ.update(LOCUST_MAX_FAIL_RATIO="0.5", LOCUST_ZERO_FAILURES="seq duplicate",
                  LOCUST_THRESHOLDS="message_send -> confirmed:99:600")
env = Environment(stats)
thresholds._enforce(env)
codes = [env.process_exit_code]
os.environ["LOCUST_ZERO_FAILURES"] = "seq gap"
thresholds._enforce(env)
codes.append(env.process_exit_code)
print(json.dumps(codes))
"""


def test_locust_thresholds_pass_and_fail_on_real_locust_stats():
    # A subprocess: importing locust monkey-patches the whole interpreter (gevent).
    result = subprocess.run([sys.executable, "-c", THRESHOLDS_CHECK], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    met, missed, codes = (json.loads(line) for line in result.stdout.strip().splitlines()[-3:])
    assert codes == [0, 1]  # met despite one error (Locust alone would exit 1), then missed
    assert met == []
    assert missed[0].startswith("failure ratio ")
    assert missed[1] == "seq gap: 1 failures, none allowed"
    assert missed[2].startswith("message_send -> confirmed: p99 ") and missed[2].endswith("> 400 ms")
    assert missed[3] == "sync after reconnect: no samples"
    assert len(missed) == 4
