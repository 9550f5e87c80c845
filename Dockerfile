# syntax=docker/dockerfile:1
# One image for every process: `api`, `ws`, `worker`, `migrate` (docker/entrypoint.sh), built by
# `make image`. Runs as a non-root user on a read-only root filesystem: the only writable place
# it needs is /tmp (an emptyDir in helm/chat), plus PROMETHEUS_MULTIPROC_DIR for api pods.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- the SPA -------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS spa
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- Python dependencies, pinned by constraints.txt ----------------------------------------
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml constraints.txt ./
# The runtime dependencies of pyproject.toml only (the code itself is copied, not installed).
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt -r requirements.txt

# --- the runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    HOST=0.0.0.0 \
    PORT=8000 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    FRONTEND_DIST=/app/frontend/dist
RUN groupadd --system --gid 10001 chat \
    && useradd --system --uid 10001 --gid chat --home-dir /tmp --no-create-home --shell /usr/sbin/nologin chat
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY manage.py ./
COPY chat/ chat/
COPY apps/ apps/
COPY accounts/ accounts/
COPY config/ config/
COPY --from=spa /src/frontend/dist frontend/dist
COPY docker/entrypoint.sh /usr/local/bin/chat-entrypoint
# Bytecode now: nothing can be written next to the sources at run time.
RUN python -m compileall -q /app /opt/venv
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["chat-entrypoint"]
CMD ["api"]

# --- the Locust runner of k8s/locust-job.yaml (`docker build --target loadtest`) -----------
FROM runtime AS loadtest
COPY --from=deps /src/constraints.txt /tmp/constraints.txt
USER 0:0
RUN grep -E '^(locust|websocket-client)==' /tmp/constraints.txt > /tmp/loadtest-requirements.txt \
    && pip install --no-cache-dir -c /tmp/constraints.txt -r /tmp/loadtest-requirements.txt \
    && rm /tmp/constraints.txt /tmp/loadtest-requirements.txt
COPY loadtests/ loadtests/
# the scenarios' seq tracker and send schedule (loadtests/ and tests/ share the harness)
COPY harness/ harness/
COPY k8s/locust/ k8s/locust/
USER 10001:10001
ENTRYPOINT ["locust"]
CMD ["--help"]
