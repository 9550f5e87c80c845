# The two commands: `make run` (the product, embedded) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
HAS_FRONTEND := $(wildcard frontend/package.json)
FRONTEND_SOURCES := $(shell find frontend/src frontend/sw frontend/public frontend/index.html frontend/vite.config.* frontend/vite.sw.config.* frontend/tsconfig*.json -type f 2>/dev/null)

.PHONY: run test install spa system-deps bench-history bench-realtime bench-peer bench-web bench-worker loadtest cluster cluster-stop cluster-status drills \
	observe observe-stop observe-report

install: .venv/.installed

.venv/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

ifneq ($(HAS_FRONTEND),)
frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build

spa: frontend/dist/index.html
else
spa:
	@echo "no frontend/ yet: serving the API only"
endif

system-deps:
	bash scripts/system-deps.sh

# The product, embedded: SQLite, in-memory channel layer, eager Celery, the built SPA, demo data.
run: install spa
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo
	@echo "Chat is at http://$(HOST):$(PORT)  (logins: nino / giorgi / alice, password chat-demo-2026)"
	$(PY) -m config.launch embedded --host $(HOST) --port $(PORT)

# The whole suite: import rules, pytest (real PostgreSQL + Redis, e2e processes, browser, the
# Helm chart with helm/kubectl from `make tools`), vitest.
test: install spa system-deps tools
	.venv/bin/lint-imports
	.venv/bin/pytest
ifneq ($(HAS_FRONTEND),)
	cd frontend && npm test
endif

bench-history: install
	$(PY) -m loadtests.bench_history

# Every scenario once; choose with ARGS, e.g. ARGS="--scenario rooms --ws-processes 2 --noise --repeat 3".
bench-realtime: install
	$(PY) -m loadtests.bench_realtime $(ARGS)

# The same fan-out scenarios on a peer (socket.io 4 + its Redis adapter + our send statement,
# loadtests/peer), for ratios measured back to back on one box; e.g. ARGS="--scenario rooms".
bench-peer: install
	cd loadtests/peer && npm ci --no-audit --no-fund
	$(PY) -m loadtests.bench_peer $(ARGS)

bench-web: install spa system-deps
	$(PY) -m loadtests.bench_web

# Web Push notifications per second of one worker process, and commit -> push request at 200/s
# (docs/benchmarks.md "Worker"); e.g. ARGS="--repeat 3" or ARGS="--pool prefork --concurrency 2".
bench-worker: install
	$(PY) -m loadtests.bench_worker $(ARGS)

# Locust scenarios, judged by DESIGN section 10's budgets (loadtests/thresholds.py: the exit code).
# While `make cluster` runs and TARGET is unset: every scenario against its proxy at the issue's size
# (cluster/loadtest.py; ARGS="--scenarios storm --processes 2" etc.; reports in its run directory).
# Otherwise against TARGET (default the embedded :8000): SCENARIO=HistoryReader|Chatter|ReconnectStorm.
loadtest: install
	@if [ -z "$(TARGET)" ] && $(PY) -m cluster url >/dev/null; then $(PY) -m cluster.loadtest $(ARGS); else \
	  target=$${TARGET:-http://127.0.0.1:8000}; echo "load test against $$target"; \
	  .venv/bin/locust -f loadtests/locustfile.py --headless -u $(or $(USERS),20) -r 10 -t $(or $(TIME),30s) \
	    --host $$target $(SCENARIO); fi

# The production topology on one machine (docs/operations.md "The cluster on one machine"): proxy on :8080.
cluster: install spa system-deps
	$(PY) -m cluster up

cluster-stop: install
	$(PY) -m observability.local stop
	$(PY) -m cluster stop

cluster-status: install
	$(PY) -m cluster status

# The fault drills (a)-(f) on a cluster of their own (own ports, own PostgreSQL); DRILLS="a c" for some.
drills: install spa system-deps
	$(PY) -m cluster.drills $(DRILLS)

# Debian's Prometheus and Alertmanager against the running `make cluster`, with the chart's rules
# (docs/operations.md "Observing the cluster"); the HTML report of the last load run into its reports/.
observe: install system-deps
	$(PY) -m observability.local up

observe-stop: install
	$(PY) -m observability.local stop

observe-report: install
	$(PY) -m observability.local report

# make tools, image and the kind load test (kind-up, kind-deps, kind-deploy, kind-loadtest, kind-down).
include k8s/kind.mk
