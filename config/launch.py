"""One launch command for every process of the platform: `make run`, the tests' and benchmarks'
harness and the container image all start servers through it.

    python -m config.launch embedded [--host H] [--port P]               # Daphne, dev settings (make run)
    python -m config.launch ws       [--host H] [--port P]               # Daphne, one process (ws pods)
    python -m config.launch api      [--host H] [--port P] [--workers N] # gunicorn + uvicorn workers
    python -m config.launch worker   [celery args...]                    # Celery worker on apps.worker
    python -m config.launch migrate                                      # manage.py migrate --noinput

Each one execs the real server (os.execvp), so the pid a supervisor, a test or a benchmark holds
is the server's own and its signals (SIGTERM: close sockets with 1012) reach it directly.
Defaults come from the environment: HOST (127.0.0.1; containers set 0.0.0.0), PORT (8000),
WEB_CONCURRENCY (api workers, 2). Settings: DJANGO_SETTINGS_MODULE as exported (production
processes export config.settings.production), else config.settings.dev as manage.py does;
`embedded` is always the dev settings.
"""
import argparse
import os
import sys
from pathlib import Path

from config.env import env_bool

ROOT = Path(__file__).resolve().parents[1]
APPLICATION = "config.asgi:application"
# The WebSocket server's flags live here only. Pings keep idle sockets through proxies and
# notice dead peers; 1 MiB frames leave room above the app's own CHAT_WS_MAX_FRAME_BYTES so the
# consumer (not Daphne) answers an oversized frame with a clear close code. No --proxy-headers:
# Daphne would take X-Forwarded-For from any client; config/proxies.py reads it only from
# TRUSTED_PROXIES.
DAPHNE_FLAGS = ["--ping-interval", "20", "--ping-timeout", "30", "--websocket-max-message-size", "1048576"]
DEV_SETTINGS = "config.settings.dev"


# Twisted listens with a backlog of 50, and a reconnect storm (1,000 sockets back within a
# second, half on each ws process) overflows it: SYNs are dropped and retried 1 s, 3 s later.
# 1024 holds a whole storm on one process (the other down); the kernel caps it at
# net.core.somaxconn (4096 on Debian). Only an endpoint string can set it, not -b/-p.
LISTEN_BACKLOG = 1024


def daphne(host: str, port: int, access_log: bool) -> list[str]:
    interface = host.strip("[]").replace(":", r"\:")  # an IPv6 address's colons, escaped as Daphne does
    endpoint = f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"
    # Daphne writes two access lines per socket (handshake, connect) and one per close: about 6 %
    # of a ws process's CPU per connect (py-spy, docs/benchmarks.md), for lines that
    # chat_ws_connections and chat_ws_closes_total already count. `-v 0` is Daphne's only way to
    # turn them off; Django's LOGGING still sets every logger's level. The embedded server
    # (`make run`) keeps them, and CHAT_WS_ACCESS_LOG=1 brings them back on a ws process.
    logging = ["--access-log", "-"] if access_log else ["-v", "0"]
    return [sys.executable, "-m", "daphne", "-e", endpoint, *DAPHNE_FLAGS, *logging, APPLICATION]


def gunicorn(host: str, port: int, workers: int) -> list[str]:
    # config/gunicorn.py: prometheus-client's multiprocess mode, so /metrics sums the workers.
    return [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", APPLICATION, "--bind", f"{host}:{port}",
            "--workers", str(workers), "--worker-class", "uvicorn_worker.UvicornWorker"]


def celery(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "apps.worker", "worker", *args]


def migrate() -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value.isdigit():
        if value:
            raise SystemExit(f"{name} must be a whole number, got {value!r}")
        return default
    return int(value)


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m config.launch", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("embedded", "ws", "api"):
        server = commands.add_parser(name)
        server.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
        server.add_argument("--port", type=int, default=_env_int("PORT", 8000))
        if name == "api":
            server.add_argument("--workers", type=int, default=_env_int("WEB_CONCURRENCY", 2))
    commands.add_parser("worker", help="the rest of the line goes to `celery worker`", add_help=False)
    commands.add_parser("migrate")
    # Only `worker` takes arguments of its own (celery's); anything else left over is an error.
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "worker":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args, rest


def command_line(argv: list[str]) -> list[str]:
    args, rest = parse(argv)
    if args.command == "embedded":
        os.environ["DJANGO_SETTINGS_MODULE"] = DEV_SETTINGS
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEV_SETTINGS)
    if args.command in ("embedded", "ws"):
        access_log = args.command == "embedded" or env_bool("CHAT_WS_ACCESS_LOG", False)
        return daphne(args.host, args.port, access_log)
    if args.command == "api":
        return gunicorn(args.host, args.port, args.workers)
    if args.command == "worker":
        # SIGTERM (what Kubernetes and supervisors send) becomes Celery's cold shutdown, which
        # starts with the soft shutdown: running tasks get CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT
        # to finish, then are cancelled and, being acks_late, go back to the queue. Without it
        # SIGTERM is a warm shutdown that waits for tasks however long they take.
        os.environ.setdefault("REMAP_SIGTERM", "SIGQUIT")
        return celery(rest)
    return migrate()


def main(argv: list[str] | None = None) -> None:
    line = command_line(sys.argv[1:] if argv is None else argv)
    os.chdir(ROOT)  # the application path and manage.py resolve from the repository root
    os.execvp(line[0], line)


if __name__ == "__main__":
    main()
