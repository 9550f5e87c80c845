"""gunicorn settings of the api (`gunicorn -c python:config.gunicorn ...`): prometheus-client's
multiprocess mode, so `/metrics` on any worker reports the sum of all of them.

Every worker writes its metrics to files in PROMETHEUS_MULTIPROC_DIR. The directory is emptied at
every start (files of an earlier run would be counted again) and a dead worker's live gauges are
dropped. When the variable is unset, a directory of this server's own is used; it is set here,
in the master, before any worker imports prometheus_client.
"""
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / f"chat-api-metrics-{os.getpid()}"))


def on_starting(server):
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
