"""`make loadtest` on the cluster: the Locust scenarios, one after the other, through the proxy.

    python -m cluster.loadtest [--scenarios history,chat,storm] [--storm-clients 1000] [--processes 1]

Needs a running `make cluster`. Seeds accounts with tokens for the WebSocket scenarios (the
server throttles log-ins per address, and a storm of 1,000 sockets needs 100 accounts at 10
sockets each, under the per-user socket cap), then runs each scenario headless with its CSV and
HTML report in the cluster's run directory (reports/<scenario>*.csv, <scenario>.html, and for
the storm <scenario>_storms.json with the per-ws-server spread). Each run is judged by
loadtests/thresholds.py (DESIGN section 10's budgets as Locust's exit code); this exits 1 when
any scenario missed one.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import psutil

from cluster import control
from cluster.bench import cluster_cpu
from cluster.drills import seed_rooms
from cluster.topology import ROOT, from_env

SOCKETS_PER_ACCOUNT = 10  # the server's cap is 20 a user; a storm briefly holds old + new


def scenarios(args) -> dict[str, dict]:
    """name -> the Locust user class, its size and its environment (seeded later)."""
    return {
        "history": {"class": "HistoryReader", "users": args.history_users, "rate": 10, "time": args.time, "env": {}},
        "chat": {"class": "Chatter", "users": args.chat_rooms * 10, "rate": 20, "time": args.time,
                 "env": {"LOCUST_SEND_INTERVAL": str(args.send_interval)}, "seed": (args.chat_rooms, 10)},
        "storm": {"class": "ReconnectStorm", "users": args.storm_clients, "rate": 200,
                  "time": lambda: storm_run_time(args), "processes": args.processes,
                  "seed": (1, max(1, args.storm_clients // SOCKETS_PER_ACCOUNT)),
                  "env": {"LOCUST_STORM_EVERY": str(args.storm_every), "LOCUST_STORM_CLIENTS": str(args.storm_clients)}},
    }


def storm_run_time(args) -> str:
    """Long enough for `storms` full storms after the ramp-up, ending just after the last one's
    deadline (storms fall on wall-clock multiples of --storm-every: loadtests/storm.py)."""
    ramp_done = time.time() + 15 + args.storm_clients / 200  # seeding, start-up and spawning
    first = math.ceil(ramp_done / args.storm_every) * args.storm_every
    end = first + (args.storms - 1) * args.storm_every + 12  # the deadline (10 s) + the spread reading
    return f"{math.ceil(end - time.time())}s"


def write_tokens(topology, name: str, rooms: int, size: int) -> str:
    path = topology.report_dir / f"tokens-{name}.txt"
    layout = seed_rooms(topology, rooms, size)
    lines = [f"{room['room']} {member['token']}" for room in layout for member in room["members"]]
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run_one(topology, name: str, spec: dict) -> int:
    env = {**os.environ, **spec["env"],
           "LOCUST_PROXY_STATS": f"http://127.0.0.1:{topology.proxy_stats_port}/;csv"}
    if "seed" in spec:
        env["LOCUST_TOKENS"] = write_tokens(topology, name, *spec["seed"])
    prefix = topology.report_dir / name
    run_time = spec["time"]() if callable(spec["time"]) else spec["time"]  # the storm's follows the clock
    command = [str(ROOT / ".venv" / "bin" / "locust"), "-f", "loadtests/locustfile.py", "--headless",
               "-u", str(spec["users"]), "-r", str(spec["rate"]), "-t", run_time, "--host", topology.url,
               "--csv", str(prefix), "--html", f"{prefix}.html", "--only-summary", spec["class"]]
    if spec.get("processes", 1) > 1:
        command[1:1] = ["--processes", str(spec["processes"])]
    print(f"== {name}: {spec['class']} x {spec['users']} for {run_time}  (load {os.getloadavg()[0]:.2f})",
          flush=True)
    started, cpu_before, locust_before = time.monotonic(), cluster_cpu(topology), _children_cpu()
    box_before = _box_busy()
    code = subprocess.run(command, cwd=ROOT, env=env).returncode
    wall = time.monotonic() - started
    cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cluster_cpu(topology).items()}
    cpu["locust (all its processes)"] = _children_cpu() - locust_before
    del cpu["load generator"]  # this driver, idle while Locust runs
    cores = {k: round(v / wall, 3) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if v / wall >= 0.005}
    # The whole box beside it: on a shared machine, what the cluster and Locust did not use is
    # someone else's, and a missed budget next to a busy box reads differently.
    box = round((_box_busy() - box_before) / wall, 2)
    (topology.report_dir / f"{name}_cpu.json").write_text(json.dumps(
        {"wall_s": round(wall, 1), "cores_used": cores, "box_cores_busy": box, "loadavg_after": os.getloadavg()},
        indent=1))
    print(f"== {name}: exit {code} after {wall:.0f} s; cores used {cores}; the whole box {box} cores busy; "
          f"reports {prefix}*", flush=True)
    return code


def _box_busy() -> float:
    """CPU seconds every core of the machine spent on anything, since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="history,chat,storm")
    parser.add_argument("--time", default="30s", help="history and chat run time")
    parser.add_argument("--history-users", type=int, default=20)
    parser.add_argument("--chat-rooms", type=int, default=4, help="rooms of 10 chatters")
    parser.add_argument("--send-interval", type=float, default=1.0, help="seconds between one chatter's sends")
    parser.add_argument("--storm-clients", type=int, default=1000)
    parser.add_argument("--storm-every", type=float, default=20.0)
    parser.add_argument("--storms", type=int, default=3, help="storms in the run (the first may catch the ramp-up)")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes for the storm")
    args = parser.parse_args()
    topology = from_env()
    if not control.supervisor_pid(topology) or not control.proxy_backends_up(topology):
        raise SystemExit("the cluster is not running (or not healthy): make cluster")
    topology.report_dir.mkdir(parents=True, exist_ok=True)
    specs = scenarios(args)
    codes = {name: run_one(topology, name, specs[name]) for name in args.scenarios.split(",")}
    print("results:", ", ".join(f"{name} {'passed' if code == 0 else 'FAILED'}" for name, code in codes.items()))
    return 0 if not any(codes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
