"""Bringing a cluster up, reporting on it and stopping it (`python -m cluster up|status|stop|url`).

One supervisord (PyPI `supervisor`) owns every process of the cluster; it is started here, and
its pid file, its control socket and every program's log are in the run directory. `up` writes
the configuration, starts Redis, the sentinels (and the cluster's own PostgreSQL when asked),
migrates once, then starts the ws, api and worker processes and the proxy, and returns when each
answers its health checks. `stop` asks supervisord to stop everything and waits for its pid.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client
from contextlib import closing
from urllib.parse import urlparse, urlunparse

from supervisor.xmlrpc import SupervisorTransport

from cluster import render
from cluster.topology import MASTER_NAME, ROOT, Topology, from_env

APP_PROGRAMS = ("ws", "api", "worker")


def rpc(topology: Topology):
    transport = SupervisorTransport(None, None, f"unix://{topology.supervisor_socket}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor


def supervisor_pid(topology: Topology) -> int | None:
    """supervisord's pid when it is running (its own pid file), else None."""
    try:
        pid = int(topology.supervisor_pid.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def port_open(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_get(url: str, timeout: float = 3.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return 0, type(exc).__name__


def wait_until(check, what: str, timeout: float = 60.0, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


def _redis(port: int):
    import redis

    return redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1, decode_responses=True)


def master_port(topology: Topology) -> int | None:
    """Where the sentinels say the master is."""
    for port in topology.sentinel_ports:
        try:
            addr = _redis(port).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
            if addr:
                return int(addr[1])
        except Exception:  # noqa: BLE001 - a sentinel that does not answer: ask the next
            continue
    return None


def sentinels_settled(topology: Topology) -> bool:
    """A replica in sync, and every sentinel knows it and the other two: a failover can happen."""
    try:
        master = master_port(topology)
        if master is None:
            return False
        replicas = [p for p in topology.redis_ports if p != master]
        if any(_redis(p).info("replication").get("master_link_status") != "up" for p in replicas):
            return False
        for port in topology.sentinel_ports:
            client = _redis(port)
            known = client.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)
            others = client.execute_command("SENTINEL", "SENTINELS", MASTER_NAME)
            if len(known) < len(replicas) or len(others) < len(topology.sentinel_ports) - 1:
                return False
            if any("s_down" in r.get("flags", "") for r in known if isinstance(r, dict)):
                return False
        return True
    except Exception:  # noqa: BLE001 - not up yet
        return False


# --- PostgreSQL -------------------------------------------------------------------------------
def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def init_own_postgres(topology: Topology) -> None:
    """The cluster's own PostgreSQL instance: initdb once into the run directory."""
    if (topology.pg_data / "PG_VERSION").exists():
        return
    topology.pg_data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        import shutil

        shutil.chown(topology.pg_data, "postgres", "postgres")
    topology.pg_data.chmod(0o700)
    subprocess.run(_as_postgres([render.postgres_binary("initdb"), "-D", str(topology.pg_data), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL, timeout=120)


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url.replace("postgres://", "postgresql://", 1))
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def database_ready(url: str) -> bool:
    import psycopg

    try:
        admin = urlunparse(urlparse(url.replace("postgres://", "postgresql://", 1))._replace(path="/postgres"))
        with psycopg.connect(admin, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


# --- up / stop / status -----------------------------------------------------------------------
def up(topology: Topology, quiet: bool = False) -> None:
    say = (lambda *a: None) if quiet else print
    if supervisor_pid(topology):
        say(f"the cluster is running already ({topology.url}); `make cluster-status` for its health")
        return
    busy = [p for p in topology.all_ports if port_open(p)]
    if busy:
        raise SystemExit(f"ports in use: {busy} (another cluster? set CLUSTER_PORT_BASE)")
    render.write_all(topology, run_as_root=os.geteuid() == 0)
    if topology.postgres == "own":
        init_own_postgres(topology)
    say(f"starting supervisord ({topology.supervisor_conf})")
    subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(topology.supervisor_conf)],
                   check=True, cwd=ROOT)
    try:
        wait_until(lambda: supervisor_pid(topology) and topology.supervisor_socket.exists(), "supervisord", 20)
        wait_until(lambda: sentinels_settled(topology), "Redis master, replica and 3 sentinels", 60)
        say(f"redis: master :{topology.redis_ports[0]}, replica :{topology.redis_ports[1]}, "
            f"sentinels {topology.sentinel_ports}")
        url = render.database_url(topology)
        wait_until(lambda: database_ready(url), f"PostgreSQL ({_hide_password(url)})", 60)
        ensure_database(url)
        say(f"postgresql: {_hide_password(url)}; migrating once")
        subprocess.run([sys.executable, "-m", "config.launch", "migrate"], cwd=ROOT, check=True, timeout=300,
                       env={**os.environ, **render.app_env(topology)}, stdout=subprocess.DEVNULL)
        # The demo users and room, as `make run` has them (once; a no-op when present).
        subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, check=True, timeout=300,
                       env={**os.environ, **render.app_env(topology)}, stdout=subprocess.DEVNULL)
        control = rpc(topology)
        for name, role in topology.processes().items():
            if role in APP_PROGRAMS:
                control.startProcess(name, False)
        wait_healthy(topology)
        control.startProcess("proxy", False)
        wait_until(lambda: proxy_backends_up(topology), "the proxy's backends all UP", 30)
        wait_until(lambda: all(i["statename"] == "RUNNING" for i in control.getAllProcessInfo()),
                   "every process RUNNING", 30)
    except BaseException:
        print(f"the cluster did not come up; logs in {topology.log_dir}", file=sys.stderr)
        stop(topology, quiet=True)
        raise
    say(f"the cluster is up: {topology.url}  (status: make cluster-status, logs: {topology.log_dir})")


def wait_healthy(topology: Topology, timeout: float = 90.0) -> None:
    for port in [*topology.ws_ports, *topology.api_ports]:
        wait_until(lambda p=port: http_get(f"http://127.0.0.1:{p}/readyz")[0] == 200, f"/readyz on :{port}", timeout)
    wait_until(lambda: http_get(f"http://127.0.0.1:{topology.worker_metrics_port}/metrics")[0] == 200,
               "the worker's /metrics", timeout)


def haproxy_servers(topology: Topology) -> dict[str, str]:
    """server name -> UP / DOWN / MAINT ... from the proxy's stats socket."""
    return {name: fields.get("status", "") for name, fields in haproxy_stats(topology).items()}


def haproxy_stats(topology: Topology) -> dict[str, dict]:
    """server name -> its row of `show stat` (status, chkdown = times it went DOWN, ...)."""
    sock_path = topology.run_dir / "haproxy.sock"
    try:
        with closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as sock:
            sock.settimeout(2)
            sock.connect(str(sock_path))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return {}
    rows = data.decode().lstrip("# ").splitlines()
    header = rows[0].split(",")
    servers = {}
    for row in rows[1:]:
        fields = dict(zip(header, row.split(",")))
        if fields.get("svname") not in ("FRONTEND", "BACKEND", None) and fields.get("pxname") in ("ws", "api"):
            servers[fields["svname"]] = fields
    return servers


def proxy_backends_up(topology: Topology) -> bool:
    servers = haproxy_servers(topology)
    return len(servers) == len(topology.ws_ports) + len(topology.api_ports) and all(
        s.startswith("UP") for s in servers.values())


def stop(topology: Topology, quiet: bool = False) -> None:
    say = (lambda *a: None) if quiet else print
    pid = supervisor_pid(topology)
    if pid is None:
        say("the cluster is not running")
        return
    say(f"stopping the cluster (supervisord pid {pid})")
    try:
        rpc(topology).shutdown()
    except (OSError, xmlrpc.client.Fault):
        os.kill(pid, signal.SIGTERM)  # our own supervisord, by its pid file
    try:
        wait_until(lambda: supervisor_pid(topology) is None, "supervisord to exit", 90)
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
    left = [p for p in topology.all_ports if port_open(p)]
    if left:
        raise SystemExit(f"still listening after the stop: {left}")
    say("stopped; nothing of the cluster is left running")


def _hide_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        parsed = parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@"))
    return urlunparse(parsed)


def status_rows(topology: Topology) -> list[dict]:
    """One row per process: supervisor's state and pid, and its own health answer."""
    infos = {i["name"]: i for i in rpc(topology).getAllProcessInfo()}
    master = master_port(topology)
    servers = haproxy_servers(topology)
    rows = []
    for name, role in topology.processes().items():
        info = infos.get(name, {})
        row = {"process": name, "state": info.get("statename", "?"), "pid": info.get("pid") or "-", "health": ""}
        index = int(name.rsplit("-", 1)[1]) - 1 if "-" in name else 0
        if role in ("ws", "api"):
            port = (topology.ws_ports if role == "ws" else topology.api_ports)[index]
            code, body = http_get(f"http://127.0.0.1:{port}/readyz")
            row["health"] = f":{port} /readyz {code} {_compact(body)} proxy={servers.get(name, '-')}"
        elif role == "worker":
            code, _ = http_get(f"http://127.0.0.1:{topology.worker_metrics_port}/metrics")
            row["health"] = f":{topology.worker_metrics_port} /metrics {code}"
        elif role == "redis":
            port = topology.redis_ports[index]
            row["health"] = f":{port} " + _redis_role(port, master)
        elif role == "sentinel":
            port = topology.sentinel_ports[index]
            row["health"] = f":{port} " + ("PONG" if _ping(port) else "no answer")
        elif role == "postgres":
            ok = database_ready(render.database_url(topology))
            row["health"] = f":{topology.pg_port} " + ("accepting connections" if ok else "not answering")
        elif role == "proxy":
            code, _ = http_get(f"{topology.url}/readyz")
            row["health"] = f":{topology.proxy_port} /readyz {code}; stats http://127.0.0.1:{topology.proxy_stats_port}/"
        rows.append(row)
    return rows


def _compact(body: str) -> str:
    try:
        return json.dumps(json.loads(body), separators=(",", ":"))
    except ValueError:
        return body[:60]


def _ping(port: int) -> bool:
    try:
        return bool(_redis(port).ping())
    except Exception:  # noqa: BLE001
        return False


def _redis_role(port: int, master: int | None) -> str:
    try:
        info = _redis(port).info("replication")
    except Exception:  # noqa: BLE001
        return "not answering"
    role = info.get("role")
    extra = f" (link {info.get('master_link_status')})" if role == "slave" else ""
    sentinel_view = " - the sentinels' master" if port == master else ""
    return f"{'replica' if role == 'slave' else role}{extra}{sentinel_view}"


def status(topology: Topology) -> int:
    if not supervisor_pid(topology):
        print("the cluster is not running (make cluster)")
        return 1
    rows = status_rows(topology)
    for row in rows:
        print(f"{row['process']:<11} {row['state']:<9} pid {str(row['pid']):<8} {row['health']}")
    healthy = all(r["state"] == "RUNNING" for r in rows)
    print(f"{topology.url}: {'every process running' if healthy else 'NOT every process is running'}")
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    topology = from_env()
    if command == "up":
        up(topology)
    elif command == "stop":
        stop(topology)
    elif command == "status":
        return status(topology)
    elif command == "url":  # the proxy's address when the cluster runs (make loadtest's default)
        if not supervisor_pid(topology):
            return 1
        print(topology.url)
    else:
        raise SystemExit("usage: python -m cluster up|status|stop|url")
    return 0
