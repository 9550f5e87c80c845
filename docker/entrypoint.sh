#!/bin/sh
# The image's one entry point: `api`, `ws`, `worker [celery args]` or `migrate`
# (config/launch.py execs the real server, so its pid is the container's main process).
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  # A restarted container gets the emptyDir of its previous run back: stale per-process metric
  # files would be added to the new ones.
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi
exec python -m config.launch "$@"
