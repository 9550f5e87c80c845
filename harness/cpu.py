"""Where the box's CPU went: the processes under test, the load generator, PostgreSQL and Redis
(all of their processes, other users' included) and everything else (other engineers' work on a
shared box), plus the box's load before and after a run."""
import collections
import os
import time

import psutil

SERVICES = {"postgres": "postgresql", "redis-server": "redis"}


def cpu_seconds(proc: psutil.Process, skip: frozenset = frozenset()) -> float:
    """user + system of a process and its children (gunicorn's workers), 0 once it is gone;
    processes whose pid is in `skip` are left out (with their own children)."""
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for p in procs:
        if p.pid in skip or _descends_from(p, skip):
            continue
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _descends_from(proc: psutil.Process, pids: frozenset) -> bool:
    try:
        return any(parent.pid in pids for parent in proc.parents())
    except psutil.Error:
        return False


def box_load(sample_s: float = 1.0) -> dict:
    """Load average and per-core use over `sample_s`."""
    per_core = psutil.cpu_percent(interval=sample_s, percpu=True)
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "cpu_percent_per_core": per_core}


def busiest(limit: int = 5, sample_s: float = 0.5) -> list[str]:
    """The busiest processes of the box over `sample_s` (who else loads it)."""
    procs = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            pass
    time.sleep(sample_s)
    rows = []
    for proc in procs:
        try:
            cmd = " ".join(proc.info["cmdline"] or [proc.info["name"] or ""])[:90]
            rows.append((proc.cpu_percent(None), proc.pid, cmd))
        except psutil.Error:
            pass
    rows.sort(reverse=True)
    return [f"{cpu:5.1f}% {pid} {cmd}" for cpu, pid, cmd in rows[:limit] if cpu > 0]


class CpuAccount:
    """CPU seconds over a window for named groups of processes (e.g. {"ws": [...], "noise":
    [...]}), this load generator, the shared services and the rest of the box."""

    def __init__(self, groups: dict[str, list[psutil.Process]]):
        self.groups = groups
        self.me = psutil.Process()

    def _services(self) -> dict[int, tuple[str, float]]:
        found = {}
        for proc in psutil.process_iter(["name"]):
            label = SERVICES.get(proc.info["name"] or "")
            if label:
                try:
                    times = proc.cpu_times()
                    found[proc.pid] = (label, times.user + times.system)
                except psutil.Error:
                    pass
        return found

    def _mine(self) -> float:
        """This load generator: itself and its children, but not the measured processes it started."""
        measured = frozenset(p.pid for procs in self.groups.values() for p in procs)
        return cpu_seconds(self.me, skip=measured)

    def _groups(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in procs) for name, procs in self.groups.items()}

    def start(self) -> "CpuAccount":
        self.t0 = time.perf_counter()
        self.system0 = psutil.cpu_times()
        self.groups0, self.me0, self.services0 = self._groups(), self._mine(), self._services()
        psutil.cpu_percent(percpu=True)
        return self

    def stop(self) -> dict:
        window = time.perf_counter() - self.t0
        per_core = psutil.cpu_percent(percpu=True)
        system = psutil.cpu_times()
        busy = sum(getattr(system, f) - getattr(self.system0, f)
                   for f in ("user", "system", "nice", "irq", "softirq", "steal"))
        groups = {name: v - self.groups0[name] for name, v in self._groups().items()}
        me = self._mine() - self.me0
        services = collections.Counter()
        for pid, (label, cpu) in self._services().items():
            services[label] += cpu - self.services0.get(pid, (label, 0.0))[1]  # new backends: all of theirs
        other = busy - sum(groups.values()) - me - sum(services.values())
        return {"window_s": round(window, 1), "cores": psutil.cpu_count(),
                "cpu_seconds": {**{k: round(v, 2) for k, v in groups.items()}, "load_generator": round(me, 2),
                                **{k: round(v, 2) for k, v in services.items()},
                                "everything_else": round(other, 2), "whole_box_busy": round(busy, 2),
                                # the hypervisor running other guests on our cores (counted in busy)
                                "steal": round(system.steal - self.system0.steal, 2)},
                "busy_pct_of_one_core": {**{k: round(100 * v / window, 1) for k, v in groups.items()},
                                         "load_generator": round(100 * me / window, 1)},
                "box_busy_pct_of_all_cores": round(100 * busy / window / psutil.cpu_count(), 1),
                "per_core_pct": per_core, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
