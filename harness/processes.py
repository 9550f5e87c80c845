"""Real server processes on free ports: the platform's own (through `python -m config.launch`),
redis-server, a Redis Sentinel cluster, and a CPU noise maker. Each is waited for until it
answers and stopped (or killed) by its own pid; nothing here ever signals a process it did not
start. Addresses of PostgreSQL and Redis come from the environment like everywhere else."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


class Process:
    """One child in its own session (so a kill reaches the server and anything it forked, e.g.
    gunicorn's workers), its output in a temporary log file."""

    def __init__(self, args: list[str], port: int, env: dict | None = None, log_name: str = "proc"):
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix=f"{log_name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> "Process":
        wait_for_port(self.port, timeout, self.proc)
        return self

    def kill(self) -> None:
        """kill -9: no goodbye, no cleanup (what a crashed pod looks like)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


def launch(command: str, env: dict, port: int | None = None, cores: str | None = None,
           extra: tuple[str, ...] = ()) -> Process:
    """`python -m config.launch <command>` on a free port; `cores` pins it with taskset (which
    execs, so the pid stays the server's). A variable set to None in `env` is left unset."""
    port = port or free_port()
    env = {k: v for k, v in env.items() if v is not None}
    args = [sys.executable, "-m", "config.launch", command, "--host", "127.0.0.1", "--port", str(port), *extra]
    if cores is not None:
        args = ["taskset", "-c", cores, *args]
    return Process(args, port, env, log_name=command)


def ws_server(env_overrides: dict, port: int | None = None, cores: str | None = None) -> Process:
    """One Daphne (`config.launch ws`); dev settings unless the overrides name others."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "false", **env_overrides}
    return launch("ws", env, port, cores)


def api_server(env_overrides: dict, port: int | None = None, workers: int = 2) -> Process:
    """gunicorn with uvicorn workers (`config.launch api`)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "false", **env_overrides}
    return launch("api", env, port, extra=("--workers", str(workers)))


def worker(env_overrides: dict, metrics_port: int | None = None, name: str | None = None,
           concurrency: int | None = None, cores: str | None = None) -> "WorkerProcess":
    """One Celery worker (`config.launch worker`) with production settings: the environment needs
    SECRET_KEY, DATABASE_URL, Redis and VAPID_PRIVATE_KEY (the overrides bring them). Its port is
    the metrics port; `wait_ready` waits for Celery's own "ready" line (consuming the queues)."""
    metrics_port = metrics_port or free_port()
    name = name or f"celery@worker-{metrics_port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "ALLOWED_HOSTS": "127.0.0.1",
           "CHAT_WORKER_METRICS_PORT": str(metrics_port), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO",
           **env_overrides}
    env = {k: v for k, v in env.items() if v is not None}
    args = [sys.executable, "-m", "config.launch", "worker", "-Q", "chat.notifications,chat.default",
            "--hostname", name, "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    if cores is not None:  # taskset execs: the pid stays the worker's
        args = ["taskset", "-c", cores, *args]
    return WorkerProcess(args, metrics_port, env, name)


class WorkerProcess(Process):
    def __init__(self, args: list[str], port: int, env: dict, name: str):
        super().__init__(args, port, env, log_name="worker")
        self.name = name
        self.env = env

    def wait_ready(self, timeout: float = 60.0) -> "WorkerProcess":
        deadline = time.monotonic() + timeout
        while " ready." not in self.output():
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not ready after {timeout}s:\n{self.output()[-3000:]}")
            time.sleep(0.1)
        wait_for_port(self.port, timeout, self.proc)
        return self

    def signal(self, sig: int) -> None:
        """A signal to the worker itself (its pid), as Kubernetes sends SIGTERM to a container's process."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def ping(self, timeout: float = 10.0) -> subprocess.CompletedProcess:
        """The liveness probe's own command (helm/chat/templates/worker.yaml)."""
        return subprocess.run([sys.executable, "-m", "celery", "-A", "apps.worker", "inspect", "ping", "-d",
                               self.name, "--timeout", str(timeout)], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout + 60)


def get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def redis_server(port: int | None = None, replica_of: int | None = None) -> Process:
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="redis-")
    args = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", workdir]
    if replica_of:
        args += ["--replicaof", "127.0.0.1", str(replica_of)]
    return Process(args, port, log_name="redis")


def redis_sentinel(master_port: int, master_name: str, port: int | None = None, down_after_ms: int = 1000) -> Process:
    port = port or free_port()
    conf = Path(tempfile.mkdtemp(prefix="sentinel-")) / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel resolve-hostnames no\n"
        f"sentinel monitor {master_name} 127.0.0.1 {master_port} 2\n"
        f"sentinel down-after-milliseconds {master_name} {down_after_ms}\n"
        f"sentinel failover-timeout {master_name} 5000\n"
        f"sentinel parallel-syncs {master_name} 1\n"
    )
    binary = shutil.which("redis-sentinel")
    args = [binary, str(conf)] if binary else [shutil.which("redis-server"), str(conf), "--sentinel"]
    return Process(args, port, log_name="sentinel")


class SentinelCluster:
    """A master, one replica and three sentinels on free ports, ready to fail over."""

    def __init__(self, master_name: str):
        self.name = master_name
        self.master = redis_server()
        self.replica = redis_server(replica_of=self.master.port)
        self.sentinels: list[Process] = []
        self.started = [self.master, self.replica]

    def start(self) -> "SentinelCluster":
        try:
            self.master.wait_ready()
            self.replica.wait_ready()
            self.sentinels = [redis_sentinel(self.master.port, self.name) for _ in range(3)]
            self.started += self.sentinels
            for sentinel in self.sentinels:
                sentinel.wait_ready()
            self._wait_until_ready_for_failover()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def env(self) -> dict:
        """What a server process needs to find the master through the sentinels."""
        return {"REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels),
                "REDIS_MASTER_NAME": self.name, "REDIS_URL": ""}

    def master_port(self) -> int | None:
        """The master's port as the sentinels announce it (None while none answers)."""
        for sentinel in self.sentinels:
            try:
                addr = redis.Redis(port=sentinel.port, socket_timeout=1).execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
                return int(addr[1])
            except (redis.RedisError, TypeError):
                continue
        return None

    def wait_promoted(self, timeout: float = 30.0) -> float:
        """Block until the replica is the master; returns when (time.monotonic)."""
        deadline = time.monotonic() + timeout
        while self.master_port() != self.replica.port:
            if time.monotonic() > deadline:
                raise TimeoutError("sentinels did not fail over")
            time.sleep(0.1)
        return time.monotonic()

    def stop(self) -> None:
        for proc in self.started:
            proc.kill()

    def _wait_until_ready_for_failover(self, timeout: float = 30.0) -> None:
        """The replica is in sync and every sentinel knows the replica and the two other sentinels."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = redis.Redis(port=self.replica.port, socket_timeout=1).info("replication")
                ready = info.get("master_link_status") == "up"
                for sentinel in self.sentinels:
                    client = redis.Redis(port=sentinel.port, socket_timeout=1, decode_responses=True)
                    ready = ready and len(client.execute_command("SENTINEL", "REPLICAS", self.name)) == 1
                    ready = ready and len(client.execute_command("SENTINEL", "SENTINELS", self.name)) == 2
                if ready:
                    return
            except redis.RedisError:
                pass
            time.sleep(0.2)
        raise TimeoutError("sentinels did not settle")


def noise(cores: str, busy_ms: int = 50, idle_ms: int = 50) -> subprocess.Popen:
    """A process that keeps one core about busy/(busy+idle) busy (50 ms spinning, 50 ms asleep),
    pinned to `cores`: the bench's stand-in for a neighbour on a shared box. Stop it by its pid."""
    loop = (f"import time\nwhile True:\n    end = time.perf_counter() + {busy_ms / 1000}\n"
            f"    while time.perf_counter() < end: pass\n    time.sleep({idle_ms / 1000})\n")
    return subprocess.Popen(["taskset", "-c", cores, sys.executable, "-c", loop], start_new_session=True)


def stop(proc: subprocess.Popen | None) -> None:
    """End a child started here, by its own pid."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(10)
