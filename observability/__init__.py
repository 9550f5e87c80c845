"""Prometheus rules, Grafana dashboards, and `make observe` (local.py, report.py) for the cluster."""
