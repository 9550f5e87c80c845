"""The cluster's shape in one place: every port, every process, the run directory's layout.

Ports are offsets from one base (CLUSTER_PORT_BASE, 8080: the proxy), so a second cluster (the
drills, the tests) runs beside `make cluster` by choosing another base. Everything a cluster
writes - configs, logs, pids, sockets, the PostgreSQL data directory - lives under its run
directory (CLUSTER_DIR, var/cluster/).
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MASTER_NAME = "chatcluster"
WS_COUNT = 2
API_COUNT = 2
SENTINEL_COUNT = 3
# Failover timings on purpose (docs/operations.md "Cluster"): a dead master is subjectively down
# after 2 s, the failover itself is bounded by 5 s; the clients' Sentinel reads time out in 1 s.
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Topology:
    base: int = 8080
    run_dir: Path = ROOT / "var" / "cluster"
    # "local": DATABASE_URL (default: the machine's server, database chat_cluster);
    # "own": a PostgreSQL instance of the cluster's own (initdb under run_dir/pg, port pg_port).
    postgres: str = "local"
    database_url: str = ""
    api_workers: int = 1
    ws_drain_seconds: float = 6.0
    extra_env: dict = field(default_factory=dict)

    # --- ports: offsets from the base ---------------------------------------------------------
    @property
    def proxy_port(self) -> int:
        return self.base

    @property
    def proxy_stats_port(self) -> int:
        return self.base + 1

    @property
    def ws_ports(self) -> list[int]:
        return [self.base + 11 + i for i in range(WS_COUNT)]

    @property
    def api_ports(self) -> list[int]:
        return [self.base + 21 + i for i in range(API_COUNT)]

    @property
    def worker_metrics_port(self) -> int:
        return self.base + 31

    @property
    def redis_ports(self) -> list[int]:
        return [self.base + 41, self.base + 42]

    @property
    def sentinel_ports(self) -> list[int]:
        return [self.base + 51 + i for i in range(SENTINEL_COUNT)]

    @property
    def pg_port(self) -> int:
        return self.base + 61

    @property
    def push_port(self) -> int:
        """The drills' local push service (drill f) - not a cluster process."""
        return self.base + 71

    @property
    def all_ports(self) -> list[int]:
        return [self.proxy_port, self.proxy_stats_port, *self.ws_ports, *self.api_ports, self.worker_metrics_port,
                *self.redis_ports, *self.sentinel_ports, *([self.pg_port] if self.postgres == "own" else [])]

    # --- the run directory --------------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.run_dir / "conf"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "log"

    @property
    def pid_dir(self) -> Path:
        return self.run_dir / "pid"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def pg_data(self) -> Path:
        return self.run_dir / "pg"

    @property
    def report_dir(self) -> Path:
        return self.run_dir / "reports"

    @property
    def supervisor_conf(self) -> Path:
        return self.conf_dir / "supervisord.conf"

    @property
    def supervisor_socket(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def supervisor_pid(self) -> Path:
        return self.pid_dir / "supervisord.pid"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.proxy_port}"

    def processes(self) -> dict[str, str]:
        """Supervisor program name -> its role (status prints them in this order)."""
        names = {f"redis-{i + 1}": "redis" for i in range(len(self.redis_ports))}
        names.update({f"sentinel-{i + 1}": "sentinel" for i in range(SENTINEL_COUNT)})
        if self.postgres == "own":
            names["postgres"] = "postgres"
        names.update({f"ws-{i + 1}": "ws" for i in range(WS_COUNT)})
        names.update({f"api-{i + 1}": "api" for i in range(API_COUNT)})
        names["worker"] = "worker"
        names["proxy"] = "proxy"
        return names


def from_env() -> Topology:
    """`make cluster`'s topology: CLUSTER_PORT_BASE, CLUSTER_DIR, CLUSTER_POSTGRES, DATABASE_URL."""
    base = int(os.environ.get("CLUSTER_PORT_BASE") or 8080)
    run_dir = Path(os.environ.get("CLUSTER_DIR") or ROOT / "var" / "cluster").resolve()
    return Topology(base=base, run_dir=run_dir, postgres=os.environ.get("CLUSTER_POSTGRES") or "local",
                    database_url=os.environ.get("DATABASE_URL") or "",
                    api_workers=int(os.environ.get("CLUSTER_API_WORKERS") or 1))
