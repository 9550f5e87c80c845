"""Latency summaries: nearest-rank percentiles, in milliseconds for reports."""


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile by nearest rank (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def summary_ms(values: list[float]) -> dict:
    """n, p50/p95/p99 and max of seconds, as milliseconds."""
    def ms(v):
        return None if v is None else round(v * 1000, 2)
    return {"n": len(values), **{f"p{q}": ms(pct(values, q)) for q in (50, 95, 99)},
            "max": ms(max(values)) if values else None}
