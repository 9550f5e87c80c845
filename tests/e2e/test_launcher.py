"""`python -m config.launch`: the one command every process is started with."""
import json
import sys

import psutil
import pytest

from config import launch
from harness import processes


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["ws", "api"])
def test_launcher_execs_the_server_and_it_answers_healthz(command, tmp_path):
    env = {"CHAT_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    start = processes.ws_server if command == "ws" else processes.api_server
    server = start(env)
    try:
        server.wait_ready(60)
        status, body = processes.get(server.url + "/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok"}, server.output()[-2000:]
        # exec'd, not a child: the pid the harness holds is the server itself
        cmdline = psutil.Process(server.pid).cmdline()
        assert ("daphne" if command == "ws" else "gunicorn") in cmdline, cmdline
        if command == "api":
            workers = psutil.Process(server.pid).children()
            assert len(workers) == 2, [w.cmdline() for w in workers]
    finally:
        server.terminate()


def test_launcher_command_lines(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setenv("PORT", "9001")
    assert launch.command_line(["ws"])[2:] == [
        "daphne", "-e", "tcp:port=9001:interface=127.0.0.1:backlog=1024", "--ping-interval", "20", "--ping-timeout", "30",
        "--websocket-max-message-size", "1048576", "-v", "0", "config.asgi:application"]
    monkeypatch.setenv("CHAT_WS_ACCESS_LOG", "1")
    assert launch.command_line(["ws"])[-3:] == ["--access-log", "-", "config.asgi:application"]
    assert launch.command_line(["api", "--host", "0.0.0.0", "--workers", "3"]) == [
        sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.asgi:application",
        "--bind", "0.0.0.0:9001", "--workers", "3", "--worker-class", "uvicorn_worker.UvicornWorker"]
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert launch.command_line(["api"])[8:10] == ["--workers", "5"]
    assert launch.command_line(["worker", "--loglevel", "INFO", "-Q", "push"]) == [
        sys.executable, "-m", "celery", "-A", "apps.worker", "worker", "--loglevel", "INFO", "-Q", "push"]
    assert launch.command_line(["migrate"])[1:] == [str(launch.ROOT / "manage.py"), "migrate", "--noinput"]
    assert launch.command_line(["ws", "--host", "::1"])[4] == r"tcp:port=9001:interface=\:\:1:backlog=1024"
    with pytest.raises(SystemExit):
        launch.command_line(["ws", "--workers", "2"])


def test_embedded_is_always_the_dev_settings(monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings.production")
    monkeypatch.delenv("CHAT_WS_ACCESS_LOG", raising=False)
    assert "--access-log" in launch.command_line(["embedded"])  # make run shows each request
    assert launch.os.environ["DJANGO_SETTINGS_MODULE"] == "config.settings.dev"
