"""Debian's Prometheus and Alertmanager against a running `make cluster` (issue 11):

    python -m observability.local up|stop|status|urls      # make observe / observe-stop
    python -m observability.local report [--out FILE]      # make observe-report (observability/report.py)

Prometheus scrapes every platform process of the cluster directly, not through the proxy: both ws
(Daphne) processes, both api processes (gunicorn in multiprocess mode: one scrape is the whole
process), and the worker's metrics port, with the METRICS_TOKEN bearer the cluster generated into
its run directory (cluster/render.py; read from the file, never written into the config). Every
target carries the `namespace` and `pod` labels the rules and dashboards aggregate by, as the
Prometheus Operator would set them in Kubernetes. The rule files are the chart's own
(observability/prometheus/rules/). Alerts go to a local Alertmanager that notifies nobody: its UI
shows them.

Everything lives under the cluster's run directory: configs and data in observe/, logs in log/,
pids in pid/. Ports are offsets from the cluster's base (81 Prometheus, 82 Alertmanager: 8161 and
8162 beside the default cluster); the processes are stopped by their own pids.
OBSERVE_SCRAPE_INTERVAL / OBSERVE_EVALUATION_INTERVAL (default 5s) set the intervals.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from cluster import control
from cluster.topology import ROOT, Topology, from_env

RULES_DIR = ROOT / "observability" / "prometheus" / "rules"
NAMESPACE = "chat-cluster"  # the `namespace` label of every target (a Kubernetes namespace's place)
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@dataclass(frozen=True)
class Observe:
    topology: Topology
    scrape_interval: str = "5s"
    evaluation_interval: str = "5s"
    namespace: str = NAMESPACE

    @property
    def prometheus_port(self) -> int:
        return self.topology.base + 81

    @property
    def alertmanager_port(self) -> int:
        return self.topology.base + 82

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    @property
    def dir(self) -> Path:
        return self.topology.run_dir / "observe"

    @property
    def token_file(self) -> Path:
        return self.topology.data_dir / "metrics_token"

    @property
    def report_file(self) -> Path:
        return self.topology.report_dir / "observe-report.html"

    def pid_file(self, name: str) -> Path:
        return self.topology.pid_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.topology.log_dir / f"{name}.log"


def from_environment(topology: Topology | None = None) -> Observe:
    return Observe(topology or from_env(), scrape_interval=os.environ.get("OBSERVE_SCRAPE_INTERVAL") or "5s",
                   evaluation_interval=os.environ.get("OBSERVE_EVALUATION_INTERVAL") or "5s")


# --- configuration ----------------------------------------------------------------------------
def targets(topology: Topology) -> dict[str, list[tuple[str, int]]]:
    """job -> (pod, port) of every process that serves metrics."""
    return {
        "ws": [(f"ws-{i + 1}", port) for i, port in enumerate(topology.ws_ports)],
        "api": [(f"api-{i + 1}", port) for i, port in enumerate(topology.api_ports)],
        "worker": [("worker", topology.worker_metrics_port)],
    }


def prometheus_config(obs: Observe) -> dict:
    def job(name: str, endpoints: list[tuple[str, int]]) -> dict:
        return {
            "job_name": name,
            "metrics_path": "/metrics",
            # production answers /metrics to this bearer only (config/settings/production.py)
            "authorization": {"type": "Bearer", "credentials_file": str(obs.token_file)},
            "static_configs": [{"targets": [f"127.0.0.1:{port}"],
                                "labels": {"namespace": obs.namespace, "pod": pod, "container": name}}
                               for pod, port in endpoints],
        }

    return {
        "global": {"scrape_interval": obs.scrape_interval, "scrape_timeout": _timeout(obs.scrape_interval),
                   "evaluation_interval": obs.evaluation_interval},
        "rule_files": [str(path) for path in sorted(RULES_DIR.glob("*.yaml"))],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{obs.alertmanager_port}"]}]}]},
        "scrape_configs": [job(name, endpoints) for name, endpoints in targets(obs.topology).items()],
    }


def _timeout(interval: str) -> str:
    """A scrape may take at most its interval (Prometheus refuses a longer timeout)."""
    seconds = _seconds(interval)
    return f"{max(1, min(10, int(seconds)))}s" if seconds >= 1 else interval


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if duration.endswith(unit):
            return float(duration[: -len(unit)]) * units[unit]
    return float(duration)


def alertmanager_config() -> dict:
    # One receiver without integrations: alerts are grouped and shown, nobody is paged from here.
    return {"route": {"receiver": "local", "group_by": ["alertname", "namespace"], "group_wait": "5s",
                      "group_interval": "1m", "repeat_interval": "4h"},
            "receivers": [{"name": "local"}]}


def write_configs(obs: Observe) -> tuple[Path, Path]:
    obs.dir.mkdir(parents=True, exist_ok=True)
    for folder in (obs.topology.pid_dir, obs.topology.log_dir, obs.topology.report_dir):
        folder.mkdir(parents=True, exist_ok=True)
    prom, am = obs.dir / "prometheus.yml", obs.dir / "alertmanager.yml"
    prom.write_text(yaml.safe_dump(prometheus_config(obs), sort_keys=False))
    am.write_text(yaml.safe_dump(alertmanager_config(), sort_keys=False))
    return prom, am


def check_config(path: Path) -> None:
    result = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"promtool check config failed:\n{result.stdout}{result.stderr}")


# --- the processes ----------------------------------------------------------------------------
def _commands(obs: Observe, prom: Path, am: Path) -> dict[str, list[str]]:
    return {
        "alertmanager": [ALERTMANAGER, f"--config.file={am}", f"--storage.path={obs.dir / 'alertmanager-data'}",
                         f"--web.listen-address=127.0.0.1:{obs.alertmanager_port}",
                         f"--web.external-url={obs.alertmanager_url}",
                         "--cluster.listen-address="],  # no gossip port: a single instance
        "prometheus": [PROMETHEUS, f"--config.file={prom}", f"--storage.tsdb.path={obs.dir / 'prometheus-data'}",
                       f"--web.listen-address=127.0.0.1:{obs.prometheus_port}",
                       f"--web.external-url={obs.prometheus_url}", "--storage.tsdb.retention.time=7d"],
    }


def running_pid(obs: Observe, name: str) -> int | None:
    """The pid in our pid file when that process is still ours (its command line names our
    config), else None."""
    try:
        pid = int(obs.pid_file(name).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid if str(obs.dir) in cmdline else None


def ready(url: str) -> bool:
    return control.http_get(f"{url}/-/ready", timeout=2)[0] == 200


def up(obs: Observe, quiet: bool = False) -> None:
    say = (lambda *a: None) if quiet else print
    if control.supervisor_pid(obs.topology) is None:
        raise SystemExit(f"the cluster is not running ({obs.topology.run_dir}): start it with `make cluster`")
    for binary in (PROMETHEUS, ALERTMANAGER):
        if not Path(binary).exists():
            raise SystemExit(f"{binary} is missing: run `make system-deps`")
    prom, am = write_configs(obs)
    check_config(prom)
    for name, command in _commands(obs, prom, am).items():
        if running_pid(obs, name):
            say(f"{name} is running already (pid {running_pid(obs, name)})")
            continue
        port = obs.prometheus_port if name == "prometheus" else obs.alertmanager_port
        if control.port_open(port):
            raise SystemExit(f"port {port} is in use (another {name}?)")
        log = open(obs.log_file(name), "ab")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=obs.dir)
        obs.pid_file(name).write_text(str(process.pid))
    try:
        control.wait_until(lambda: ready(obs.alertmanager_url), "Alertmanager ready", 30)
        control.wait_until(lambda: ready(obs.prometheus_url), "Prometheus ready", 60)
    except TimeoutError:
        stop(obs, quiet=True)
        raise SystemExit(f"Prometheus or Alertmanager did not come up; logs in {obs.topology.log_dir}")
    say(f"Prometheus:   {obs.prometheus_url}  (targets: {obs.prometheus_url}/targets, alerts: "
        f"{obs.prometheus_url}/alerts)")
    say(f"Alertmanager: {obs.alertmanager_url}")
    say(f"scraping every {obs.scrape_interval}: {', '.join(p for t in targets(obs.topology).values() for p, _ in t)}"
        f"; rules from {RULES_DIR.relative_to(ROOT)}")
    say(f"after a load run (make loadtest): make observe-report -> {obs.report_file}")
    say("stop: make observe-stop (make cluster-stop stops it too)")


def stop(obs: Observe, quiet: bool = False) -> None:
    say = (lambda *a: None) if quiet else print
    for name in ("prometheus", "alertmanager"):
        pid = running_pid(obs, name)
        if pid is None:
            obs.pid_file(name).unlink(missing_ok=True)
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and not _zombie(pid):
            time.sleep(0.1)
        if Path(f"/proc/{pid}").exists() and not _zombie(pid):
            os.kill(pid, signal.SIGKILL)
        obs.pid_file(name).unlink(missing_ok=True)
        say(f"stopped {name} (pid {pid})")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True


# --- the HTTP API -----------------------------------------------------------------------------
def api(obs: Observe, path: str, timeout: float = 15.0, **params) -> dict:
    """GET one Prometheus API path; the `data` of a successful answer."""
    url = f"{obs.prometheus_url}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
    if body.get("status") != "success":
        raise RuntimeError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
    return body["data"]


def target_health(obs: Observe) -> dict[str, str]:
    """pod -> up / down / unknown of every active target."""
    return {t["labels"].get("pod", t["scrapeUrl"]): t["health"] for t in api(obs, "/api/v1/targets")["activeTargets"]}


def status(obs: Observe) -> int:
    pids = {name: running_pid(obs, name) for name in ("prometheus", "alertmanager")}
    for name, pid in pids.items():
        print(f"{name:<13} {'pid ' + str(pid) if pid else 'not running'}")
    if not pids["prometheus"]:
        return 1
    for pod, health in target_health(obs).items():
        print(f"  target {pod:<8} {health}")
    print(f"Prometheus {obs.prometheus_url}, Alertmanager {obs.alertmanager_url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    obs = from_environment()
    if command == "up":
        up(obs)
    elif command == "stop":
        stop(obs)
    elif command == "status":
        return status(obs)
    elif command == "urls":
        print(obs.prometheus_url)
        print(obs.alertmanager_url)
    elif command == "report":
        from observability import report

        out = Path(args[args.index("--out") + 1]) if "--out" in args else obs.report_file
        print(report.write(obs, out))
    else:
        raise SystemExit("usage: python -m observability.local up|stop|status|urls|report [--out FILE]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
