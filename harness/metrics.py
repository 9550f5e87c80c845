"""A process's Prometheus /metrics, parsed by prometheus_client's own text parser.

A `Scrape` holds every sample by (name, labels). Scrapes subtract (after - before: what happened
during a run) and add (the same metric over several ws processes); an absent metric reads as 0,
so a counter a process has not registered yet (or a build without it) needs no special case.
"""
import os
import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, samples: dict[tuple[str, frozenset], float] | None = None):
        self.samples = samples or {}

    @classmethod
    def parse(cls, text: str) -> "Scrape":
        return cls({(s.name, frozenset(s.labels.items())): s.value
                    for family in text_string_to_metric_families(text) for s in family.samples})

    @classmethod
    def of(cls, base_url: str, timeout: float = 10.0, token: str | None = None) -> "Scrape":
        """Scrape a server; production answers /metrics only to its METRICS_TOKEN bearer."""
        token = token or os.environ.get("METRICS_TOKEN")
        request = urllib.request.Request(f"{base_url}/metrics",
                                         headers={"Authorization": f"Bearer {token}"} if token else {})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return cls.parse(response.read().decode())

    @classmethod
    def total(cls, scrapes) -> "Scrape":
        out = cls()
        for scrape in scrapes:
            out = out + scrape
        return out

    def __add__(self, other: "Scrape") -> "Scrape":
        keys = self.samples.keys() | other.samples.keys()
        return Scrape({k: self.samples.get(k, 0.0) + other.samples.get(k, 0.0) for k in keys})

    def __sub__(self, before: "Scrape") -> "Scrape":
        return Scrape({k: v - before.samples.get(k, 0.0) for k, v in self.samples.items()})

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` whose labels include `labels` (0 when absent)."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def by_label(self, name: str, label: str) -> dict[str, float]:
        """`name` summed per value of one label, e.g. repairs by `what`."""
        out: dict[str, float] = defaultdict(float)
        for (n, ls), v in self.samples.items():
            if n == name:
                out[dict(ls).get(label, "")] += v
        return dict(out)

    def histogram(self, name: str, **labels: str) -> dict:
        """count, mean and p50/p95/p99 estimated from the buckets (as Prometheus'
        histogram_quantile does: linear inside the bucket), in milliseconds; the series whose
        labels include `labels`, summed."""
        wanted = set(labels.items())
        buckets: dict[float, float] = defaultdict(float)
        for (n, ls), v in self.samples.items():
            if n == f"{name}_bucket" and wanted <= ls:
                buckets[float(dict(ls)["le"])] += v
        count, total = self.value(f"{name}_count", **labels), self.value(f"{name}_sum", **labels)
        out = {"count": int(count), "mean_ms": round(total / count * 1000, 2) if count else None}
        for q in (0.5, 0.95, 0.99):
            est = _quantile(sorted(buckets.items()), q * count) if count else None
            out[f"p{int(q * 100)}_ms_est"] = None if est is None else round(est * 1000, 2)
        return out


def _quantile(buckets: list[tuple[float, float]], rank: float) -> float | None:
    previous_le = previous_count = 0.0
    for le, cumulative in buckets:
        if cumulative >= rank:
            if le == float("inf"):
                return previous_le
            width = cumulative - previous_count
            return previous_le + (le - previous_le) * ((rank - previous_count) / width if width else 1.0)
        previous_le, previous_count = le, cumulative
    return None
