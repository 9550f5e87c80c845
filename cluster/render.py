"""Writes a cluster's configuration into its run directory: the supervisor's programs, the
proxy, Redis and the sentinels, and the environment every platform process runs with
(production settings, secrets generated once into the run directory)."""
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from cluster.topology import DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, MASTER_NAME, ROOT, Topology

PG_BIN = Path("/usr/lib/postgresql")


def postgres_binary(name: str) -> str:
    """Debian's server binaries (/usr/lib/postgresql/<version>/bin), the newest version."""
    versions = sorted((p for p in PG_BIN.glob("*/bin") if (p / name).exists()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not versions:
        found = shutil.which(name)
        if found:
            return found
        raise SystemExit(f"PostgreSQL's {name} not found: run `make system-deps`")
    return str(versions[-1] / name)


def _secret(topology: Topology, name: str, make) -> str:
    """A secret generated once per run directory and kept there (mode 600)."""
    path = topology.data_dir / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _vapid_key() -> str:
    out = subprocess.run([sys.executable, "-m", "chat.webpush"], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"DJANGO_SETTINGS_MODULE": "config.settings.dev", "PATH": "/usr/bin:/bin"})
    line = next(x for x in out.stdout.splitlines() if x.startswith("VAPID_PRIVATE_KEY="))
    return line.partition("=")[2]


def database_url(topology: Topology) -> str:
    if topology.postgres == "own":
        return f"postgres://postgres@127.0.0.1:{topology.pg_port}/chat_cluster"
    if topology.database_url:
        return topology.database_url
    from config.env import postgres_url_from_pg_env

    return postgres_url_from_pg_env("chat_cluster")


def app_env(topology: Topology) -> dict[str, str]:
    """What every api, ws and worker process runs with."""
    origins = f"http://127.0.0.1:{topology.proxy_port},http://localhost:{topology.proxy_port}"
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": _secret(topology, "secret_key", lambda: secrets.token_hex(32)),
        "VAPID_PRIVATE_KEY": _secret(topology, "vapid_private_key", _vapid_key),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": origins,
        "WS_ALLOWED_ORIGINS": origins,
        # Plain http on the loopback: a Secure cookie would never come back from the browser, and
        # there is no https to redirect to or to pin with HSTS.
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        # The proxy is the one peer whose X-Forwarded-For / -Proto the processes believe.
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "METRICS_TOKEN": _secret(topology, "metrics_token", lambda: secrets.token_hex(24)),
        "DATABASE_URL": database_url(topology),
        "REDIS_URL": "",
        "REDIS_SENTINELS": ",".join(f"127.0.0.1:{p}" for p in topology.sentinel_ports),
        "REDIS_MASTER_NAME": MASTER_NAME,
        "CHAT_VAR_DIR": str(topology.data_dir),
        "CHAT_WORKER_METRICS_PORT": str(topology.worker_metrics_port),
        "CHAT_WS_DRAIN_SECONDS": str(topology.ws_drain_seconds),
        # Pools sized to the box: one uvicorn worker per api process (two processes, two cores),
        # a handful of worker threads (they wait on PostgreSQL and push services, not the CPU).
        "WEB_CONCURRENCY": str(topology.api_workers),
        # asgiref's thread pool per process (sync views, database_sync_to_async): each thread
        # keeps a persistent PostgreSQL connection; 8 held the whole cluster at ~31 connections
        # at 100 sends/s on a server it may share (4 queued sends behind the DB work).
        "ASGI_THREADS": os.environ.get("CLUSTER_ASGI_THREADS") or "8",
        "CELERY_WORKER_CONCURRENCY": "4",
        # A redelivered task after a killed worker comes back within seconds, not minutes.
        "CELERY_VISIBILITY_TIMEOUT": "30",
        "CELERY_UNACKED_RESTORE_INTERVAL": "2",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        # A load test that registers or logs in many users from this one address raises these
        # (e.g. CHAT_THROTTLE_REGISTER_ADDRESS=10000/hour make cluster; python -m cluster.outside).
        **{k: v for k, v in os.environ.items() if k.startswith("CHAT_THROTTLE_")},
        **topology.extra_env,
    }


def _supervisor_env(env: dict[str, str]) -> str:
    # supervisor expands %(...)s in values: a literal % is written %%.
    return ",".join(f'{k}="{v.replace("%", "%%")}"' for k, v in env.items())


def _program(name: str, command: str, topology: Topology, *, env: dict | None = None, autostart: bool = True,
             autorestart: str = "true", stopsignal: str = "TERM", stopwaitsecs: int = 15, user: str | None = None,
             priority: int = 100) -> str:
    lines = [f"[program:{name}]", f"command={command}", f"directory={ROOT}", f"priority={priority}",
             f"autostart={str(autostart).lower()}", f"autorestart={autorestart}", "startsecs=2", "startretries=10",
             f"stopsignal={stopsignal}", f"stopwaitsecs={stopwaitsecs}", "stopasgroup=true", "killasgroup=true",
             f"stdout_logfile={topology.log_dir / (name + '.log')}", "redirect_stderr=true",
             "stdout_logfile_maxbytes=20MB", "stdout_logfile_backups=2"]
    if env:
        lines.append(f"environment={_supervisor_env(env)}")
    if user:
        lines.append(f"user={user}")
    return "\n".join(lines) + "\n"


def supervisor_conf(topology: Topology, run_as_root: bool) -> str:
    py = sys.executable
    env = app_env(topology)
    parts = [f"""[unix_http_server]
file={topology.supervisor_socket}
chmod=0700

[supervisord]
logfile={topology.log_dir / 'supervisord.log'}
pidfile={topology.supervisor_pid}
childlogdir={topology.log_dir}
directory={ROOT}
identifier=chat-cluster-{topology.base}
nodaemon=false
minfds=16384

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{topology.supervisor_socket}
"""]
    redis_server = shutil.which("redis-server") or "redis-server"
    sentinel = shutil.which("redis-sentinel") or f"{redis_server} --sentinel"
    # A Redis node is not restarted by the supervisor: an empty master coming back before Sentinel
    # noticed would be synced *from* by its replica, and the broker's tasks would be gone. A dead
    # node is started again by hand (`supervisorctl start redis-N`) and Sentinel makes it a replica.
    for i, _ in enumerate(topology.redis_ports):
        parts.append(_program(f"redis-{i + 1}", f"{redis_server} {topology.conf_dir / f'redis-{i + 1}.conf'}",
                              topology, autorestart="false", stopsignal="INT", priority=10))
    for i, _ in enumerate(topology.sentinel_ports):
        parts.append(_program(f"sentinel-{i + 1}", f"{sentinel} {topology.conf_dir / f'sentinel-{i + 1}.conf'}",
                              topology, priority=20))
    if topology.postgres == "own":
        parts.append(_program(
            "postgres", f"{postgres_binary('postgres')} -D {topology.pg_data} -p {topology.pg_port} "
            f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={topology.pg_data} -c max_connections=200 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            topology, stopsignal="INT", user="postgres" if run_as_root else None, priority=10))
    for i, port in enumerate(topology.ws_ports):
        parts.append(_program(f"ws-{i + 1}", f"{py} -m config.launch ws --host 127.0.0.1 --port {port}", topology,
                              env=env, autostart=False, stopwaitsecs=int(topology.ws_drain_seconds) + 15))
    # Under ASGI every request runs its sync view on a thread of its own (asgiref's per-request
    # thread-sensitive context), so a persistent connection is never reused and stays open on a
    # finished thread: at the default 600 s the api exhausted the server's max_connections
    # (measured: cluster/bench_api.py). The api closes its connection after each request.
    api_env = {**env, "DB_CONN_MAX_AGE": "0"}
    for i, port in enumerate(topology.api_ports):
        parts.append(_program(f"api-{i + 1}", f"{py} -m config.launch api --host 127.0.0.1 --port {port} "
                              f"--workers {topology.api_workers}", topology, env=api_env, autostart=False))
    parts.append(_program("worker", f"{py} -m config.launch worker -Q chat.notifications,chat.default "
                          "--hostname worker@%%h --loglevel INFO", topology, env=env, autostart=False,
                          stopwaitsecs=30))
    parts.append(_program("proxy", f"{shutil.which('haproxy') or 'haproxy'} -db -f {topology.conf_dir / 'haproxy.cfg'}",
                          topology, autostart=False, stopsignal="USR1", priority=900))
    return "\n".join(parts)


def redis_conf(topology: Topology, index: int) -> str:
    port = topology.redis_ports[index]
    workdir = topology.data_dir / f"redis-{index + 1}"
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"port {port}", "bind 127.0.0.1", "protected-mode no", "daemonize no", 'logfile ""', 'save ""',
             "appendonly no", f"dir {workdir}", "replica-serve-stale-data yes"]
    if index > 0:
        lines.append(f"replicaof 127.0.0.1 {topology.redis_ports[0]}")
    return "\n".join(lines) + "\n"


def sentinel_conf(topology: Topology, index: int) -> str:
    # Sentinel rewrites this file as it learns the topology; it is written once, on first start.
    return "\n".join([
        f"port {topology.sentinel_ports[index]}", "bind 127.0.0.1", "protected-mode no", "daemonize no",
        'logfile ""', f"dir {topology.data_dir}", "sentinel resolve-hostnames no",
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {topology.redis_ports[0]} 2",
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {MASTER_NAME} 1",
    ]) + "\n"


def haproxy_conf(topology: Topology) -> str:
    """The ingress on one machine: /ws/ to the Daphne processes (least connections, so a
    reconnect storm spreads), everything else (/api, /admin, the SPA, /metrics) to the api
    processes; a process leaves the rotation when its /readyz fails twice (1 s apart)."""
    def servers(prefix: str, ports: list[int]) -> str:
        return "\n".join(f"    server {prefix}-{i + 1} 127.0.0.1:{p} check" for i, p in enumerate(ports))

    return f"""global
    maxconn 4000
    log stdout format short local0 info
    stats socket {topology.run_dir / 'haproxy.sock'} mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 65s
    timeout server 65s
    # A WebSocket is a tunnel after the upgrade: it lives as long as the client does (Daphne pings
    # every 20 s, so a dead peer is still noticed).
    timeout tunnel 1h
    timeout client-fin 5s
    timeout http-request 10s
    # A connection refused (a dead process not yet out of the rotation) is tried on another
    # server; a request that reached a server is never sent twice.
    retries 2
    option redispatch 1
    default-server inter 1s fall 2 rise 2

frontend chat
    bind 127.0.0.1:{topology.proxy_port}
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    acl is_ws path_beg /ws/
    use_backend ws if is_ws
    default_backend api

backend ws
    balance leastconn
    # A dead or draining ws process fails its check at once (refused, 503); a live one busy with
    # a reconnect storm may take over a second to answer /readyz, and with the check timing out
    # at `inter` (1 s) a 1,000-client storm took both out of the rotation (503s to every
    # reconnect: docs/benchmarks.md). The api keeps 1 s: a hung api leaves within ~2 s (drill d).
    timeout check 4s
    option httpchk GET /readyz
    http-check send hdr Host 127.0.0.1
    http-check expect status 200
{servers('ws', topology.ws_ports)}

backend api
    balance roundrobin
    option httpchk GET /readyz
    http-check send hdr Host 127.0.0.1
    http-check expect status 200
{servers('api', topology.api_ports)}

frontend stats
    bind 127.0.0.1:{topology.proxy_stats_port}
    stats enable
    stats uri /
    stats refresh 2s
"""


def write_all(topology: Topology, run_as_root: bool) -> None:
    for d in (topology.conf_dir, topology.log_dir, topology.pid_dir, topology.data_dir, topology.report_dir):
        d.mkdir(parents=True, exist_ok=True)
    for i in range(len(topology.redis_ports)):
        (topology.conf_dir / f"redis-{i + 1}.conf").write_text(redis_conf(topology, i))
    for i in range(len(topology.sentinel_ports)):
        path = topology.conf_dir / f"sentinel-{i + 1}.conf"
        path.write_text(sentinel_conf(topology, i))
    (topology.conf_dir / "haproxy.cfg").write_text(haproxy_conf(topology))
    topology.supervisor_conf.write_text(supervisor_conf(topology, run_as_root))
    env_file = topology.data_dir / "app.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in app_env(topology).items()))
    env_file.chmod(0o600)
