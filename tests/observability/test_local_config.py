"""`make observe`'s Prometheus configuration (observability/local.py), without running it: every
process of the cluster is a target with its namespace and pod, the metrics token is read from the
cluster's file (never copied into the config), the rules are the chart's, and promtool accepts it."""
import subprocess

import yaml

from cluster.topology import Topology
from observability import local
from tests.observability.conftest import OBSERVABILITY


def test_the_config_scrapes_every_process_with_the_token_file_and_the_charts_rules(promtool, tmp_path):
    topology = Topology(base=30100, run_dir=tmp_path / "cluster")
    topology.data_dir.mkdir(parents=True)
    (topology.data_dir / "metrics_token").write_text("a-secret-token")
    obs = local.Observe(topology, scrape_interval="2s", evaluation_interval="2s")
    prom, am = local.write_configs(obs)
    text = prom.read_text()
    config = yaml.safe_load(text)

    assert "a-secret-token" not in text
    scraped = {}
    for job in config["scrape_configs"]:
        assert job["authorization"] == {"type": "Bearer", "credentials_file": str(obs.token_file)}
        for static in job["static_configs"]:
            assert static["labels"]["namespace"] == local.NAMESPACE
            scraped[static["labels"]["pod"]] = (job["job_name"], static["targets"])
    assert scraped == {
        "ws-1": ("ws", ["127.0.0.1:30111"]), "ws-2": ("ws", ["127.0.0.1:30112"]),
        "api-1": ("api", ["127.0.0.1:30121"]), "api-2": ("api", ["127.0.0.1:30122"]),
        "worker": ("worker", ["127.0.0.1:30131"]),
    }
    assert config["rule_files"] == [str(p) for p in sorted((OBSERVABILITY / "prometheus" / "rules").glob("*.yaml"))]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:30182"]
    assert config["global"]["scrape_interval"] == "2s"
    assert obs.prometheus_url == "http://127.0.0.1:30181"
    assert obs.dir == topology.run_dir / "observe"

    checked = subprocess.run([promtool, "check", "config", str(prom)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # amtool comes with Debian's prometheus-alertmanager (scripts/system-deps.sh)
    checked = subprocess.run(["amtool", "check-config", str(am)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
