"""Real server processes for end-to-end tests: Daphne, redis-server, redis-sentinel.

Each starts on a free port, is waited for until it answers, and is stopped (or killed) by the
test. Addresses of PostgreSQL and Redis come from the environment like everywhere else.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
    def __init__(self, args: list[str], port: int, env: dict | None = None, log_name: str = "proc"):
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix=f"{log_name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
                                     start_new_session=True)

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


def daphne(env_overrides: dict, port: int | None = None) -> Process:
    port = port or free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "false", **env_overrides}
    args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "20",
            "--websocket-max-message-size", "1048576", "config.asgi:application"]
    return Process(args, port, env, log_name="daphne")


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
