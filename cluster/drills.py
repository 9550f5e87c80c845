"""Fault drills on a running cluster (issue 10): each breaks one thing while members chat through
the proxy, then judges what they experienced against PostgreSQL.

    python -m cluster.drills [--short] [a b c d e f]     # make drills [DRILLS="a c"]

Without a running drill cluster one is brought up for the run (its own ports from
CLUSTER_DRILLS_PORT_BASE, 8280, its own PostgreSQL instance under var/cluster-drills/) and stopped
after. Every drill prints messages confirmed / delivered live / repaired / lost / duplicated and
its recovery times, and fails on any loss or duplicate; the figures go to
<run dir>/reports/drills.json.

  a  kill -9 one ws process: its clients reconnect through the proxy to the other, sync, lose nothing
  b  SIGTERM one ws process (rolling deploy): 1012 in batches, jittered reconnects, spread measured
  c  kill -9 the Redis master: Sentinel promotes the replica, everything reconnects
  d  kill -9 one api process: the proxy routes around it; requests fail cleanly or are retried
  e  restart PostgreSQL: sends fail cleanly with message_failed, succeed again after
  f  kill -9 the worker mid-batch: notifications still go out exactly once after its restart
"""
import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import member as harness_member

from cluster import control, render
from cluster.accounting import Talker, stored_messages, tally
from cluster.topology import ROOT, Topology


@dataclass(frozen=True)
class Pace:
    members: int = 10
    interval: float = 0.25   # seconds between one member's sends
    warm: float = 3.0        # chatting before the fault
    after: float = 6.0       # chatting after recovery
    push_offline: int = 12   # drill f: offline members with a push subscription


FULL = Pace()
SHORT = Pace(members=6, interval=0.3, warm=1.5, after=3.0, push_offline=6)


@dataclass
class Outcome:
    drill: str
    title: str
    figures: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        f = self.figures
        head = (f"confirmed {f.get('confirmed')} / delivered live {f.get('delivered_live')} / repaired "
                f"{f.get('repaired')} / lost {f.get('lost')} / duplicated {f.get('duplicated')}")
        rest = ", ".join(f"{k} {v}" for k, v in f.items() if k not in
                         ("confirmed", "delivered_live", "repaired", "lost", "duplicated"))
        return f"({self.drill}) {self.title}: {'PASS' if self.ok else 'FAIL'}\n    {head}\n    {rest}" + (
            "".join(f"\n    problem: {p}" for p in self.problems))


def drill_topology() -> Topology:
    base = int(os.environ.get("CLUSTER_DRILLS_PORT_BASE") or 8280)
    run_dir = Path(os.environ.get("CLUSTER_DRILLS_DIR") or ROOT / "var" / "cluster-drills").resolve()
    return Topology(base=base, run_dir=run_dir, postgres="own", ws_drain_seconds=4.0, extra_env=DRILL_ENV)


# What the drills need of the cluster beyond `make cluster`: the local push service is plain
# http; a killed worker's tasks come back within seconds (visibility timeout, claim lease).
DRILL_ENV = {
    "CHAT_PUSH_ALLOW_HTTP": "true",
    "CHAT_PUSH_TIMEOUT_SECONDS": "2",
    "CELERY_VISIBILITY_TIMEOUT": "8",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
}


# --- the cluster's processes ------------------------------------------------------------------
def pid_of(topology: Topology, name: str) -> int:
    return control.rpc(topology).getProcessInfo(name)["pid"]


def kill(topology: Topology, name: str, sig: int = signal.SIGKILL, group: bool = False) -> int:
    """Signal one program of the cluster by the pid its supervisor holds (its group: gunicorn's
    workers with their master)."""
    pid = pid_of(topology, name)
    if not pid:
        raise RuntimeError(f"{name} is not running")
    (os.killpg if group else os.kill)(pid, sig)
    return pid


async def wait_for(check, what: str, timeout: float, interval: float = 0.1) -> float:
    """Poll `check` (sync, run in a thread) until true; the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return time.monotonic()
        await asyncio.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


def running_again(topology: Topology, name: str, old_pid: int):
    def check() -> bool:
        info = control.rpc(topology).getProcessInfo(name)
        return info["statename"] == "RUNNING" and info["pid"] not in (0, old_pid)
    return check


def keep_down(topology: Topology, name: str) -> None:
    """Stop the supervisor's automatic restart of a killed program (started again by the drill).

    A restart may be under way: stopping it waits for the program's own stop (up to its
    stopwaitsecs on a loaded box), so the state is looked at again after every stop."""
    import xmlrpc.client

    rpc = control.rpc(topology)
    deadline = time.monotonic() + 60
    while True:
        state = rpc.getProcessInfo(name)["statename"]
        if state in ("STOPPED", "FATAL"):  # FATAL: it gave up restarting; down as well
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} could not be kept down (still {state})")
        if state in ("STARTING", "RUNNING", "BACKOFF"):
            try:
                rpc.stopProcess(name, True)
            except xmlrpc.client.Fault:  # it changed state meanwhile: look again
                pass
        time.sleep(0.05)  # EXITED or STOPPING: look again


def start_if_down(topology: Topology, name: str) -> None:
    import xmlrpc.client

    try:
        if control.rpc(topology).getProcessInfo(name)["statename"] in ("STOPPED", "FATAL", "EXITED"):
            control.rpc(topology).startProcess(name, False)
    except xmlrpc.client.Fault:  # started meanwhile (ALREADY_STARTED)
        pass


def proxy_state(topology: Topology, name: str, up: bool):
    return lambda: control.haproxy_servers(topology).get(name, "").startswith("UP") == up


# --- a conversation through the proxy ---------------------------------------------------------
class Conversation:
    def __init__(self, topology: Topology, room: dict, pace: Pace):
        self.topology, self.room, self.pace = topology, room, pace
        url = f"{topology.ws_url}/ws/chat/?token="
        self.members = [Talker(f"m{i}", room["room"], [url + m["token"]])
                        for i, m in enumerate(room["members"][:pace.members])]
        self.stop_talking = asyncio.Event()

    async def __aenter__(self) -> "Conversation":
        self.runners = await harness_member.start(self.members, timeout=30)
        self.talkers = [asyncio.create_task(m.converse(self.stop_talking, self.pace.interval)) for m in self.members]
        await asyncio.sleep(self.pace.warm)
        return self

    async def finish(self, fault_at: float, **extra) -> dict:
        """Talk a while longer, stop, let everyone catch up, count."""
        await asyncio.sleep(self.pace.after)
        self.stop_talking.set()
        results = await asyncio.wait_for(asyncio.gather(*self.talkers, return_exceptions=True), 120)
        unconfirmed = [r for r in results if isinstance(r, BaseException)]
        await asyncio.sleep(1.0)  # the last live deliveries land
        await harness_member.catch_up(self.members, timeout=60)
        stored = await asyncio.to_thread(stored_messages, render.database_url(self.topology), self.room["room"])
        figures = tally(self.members, stored, fault_at, **extra)
        figures["sends_given_up"] = len(unconfirmed)
        return figures

    async def __aexit__(self, *exc) -> None:
        self.stop_talking.set()
        for task in self.talkers:
            task.cancel()
        await harness_member.stop(self.members, self.runners)


def judge(outcome: Outcome) -> Outcome:
    f = outcome.figures
    if f.get("lost"):
        outcome.problems.append(f"{f['lost']} messages lost")
    if f.get("duplicated"):
        outcome.problems.append(f"{f['duplicated']} messages duplicated")
    if f.get("sends_given_up"):
        outcome.problems.append(f"{f['sends_given_up']} members gave up a send")
    if "live_again_s" in f and f["live_again_s"] is None:
        outcome.problems.append("live delivery never came back")
    return outcome


# --- the drills -------------------------------------------------------------------------------
async def drill_a(topology: Topology, room: dict, pace: Pace) -> Outcome:
    out = Outcome("a", "kill -9 one ws process")
    async with Conversation(topology, room, pace) as talk:
        fault_at = time.monotonic()
        old = kill(topology, "ws-1")
        clients_back = await wait_for(lambda: all(m.connected.is_set() for m in talk.members)
                                      and any(at >= fault_at for m in talk.members for at, _ in m.closes),
                                      "every client reconnected", 30)
        restarted = await wait_for(running_again(topology, "ws-1", old), "ws-1 restarted by the supervisor", 60)
        in_rotation = await wait_for(proxy_state(topology, "ws-1", True), "ws-1 back in the proxy", 30)
        out.figures = await talk.finish(fault_at)
    out.figures.update(clients_back_s=round(clients_back - fault_at, 2), restarted_s=round(restarted - fault_at, 2),
                       back_in_proxy_s=round(in_rotation - fault_at, 2))
    if not out.figures["clients_closed"]:
        out.problems.append("no client was on the killed process (nothing was tested)")
    return judge(out)


async def drill_b(topology: Topology, room: dict, pace: Pace) -> Outcome:
    out = Outcome("b", "SIGTERM one ws process (rolling deploy)")
    async with Conversation(topology, room, pace) as talk:
        fault_at = time.monotonic()
        old = kill(topology, "ws-1", signal.SIGTERM)
        out_of_rotation = await wait_for(proxy_state(topology, "ws-1", False), "ws-1 out of the proxy", 15)
        restarted = await wait_for(running_again(topology, "ws-1", old), "ws-1 restarted",
                                   topology.ws_drain_seconds + 60)
        await wait_for(proxy_state(topology, "ws-1", True), "ws-1 back in the proxy", 30)
        out.figures = await talk.finish(fault_at)
        drained = [(at, code) for m in talk.members for at, code in m.closes if at >= fault_at]
        reconnect_gaps = []
        for m in talk.members:
            closes = [at for at, code in m.closes if at >= fault_at and code == 1012]
            if closes:
                reconnect_gaps.append(closes[0])
    codes = sorted({str(code) for _, code in drained})
    spread = max(reconnect_gaps) - min(reconnect_gaps) if reconnect_gaps else 0.0
    out.figures.update(close_codes=",".join(codes) or "-", closed_1012=len(reconnect_gaps),
                       close_spread_s=round(spread, 2), out_of_proxy_s=round(out_of_rotation - fault_at, 2),
                       restarted_s=round(restarted - fault_at, 2))
    if not reconnect_gaps:
        out.problems.append("no socket was closed with 1012")
    if any(code not in (1012, "1012") for _, code in drained if not str(code).startswith("connect")):
        out.problems.append(f"closes other than 1012: {codes}")
    return judge(out)


async def drill_c(topology: Topology, room: dict, pace: Pace) -> Outcome:
    out = Outcome("c", "kill -9 the Redis master")
    master = control.master_port(topology)
    name = f"redis-{topology.redis_ports.index(master) + 1}"
    async with Conversation(topology, room, pace) as talk:
        fault_at = time.monotonic()
        kill(topology, name)
        promoted = await wait_for(lambda: control.master_port(topology) not in (None, master),
                                  "Sentinel promoted the replica", 30)
        ready = await wait_for(lambda: all(control.http_get(f"http://127.0.0.1:{p}/readyz")[0] == 200
                                           for p in [*topology.ws_ports, *topology.api_ports]),
                               "every ws and api process ready again", 60)
        out.figures = await talk.finish(fault_at)
    # the killed node comes back as a replica of the new master (started by hand, as documented)
    control.rpc(topology).startProcess(name, True)
    rejoined = await wait_for(lambda: control.sentinels_settled(topology), f"{name} rejoined as a replica", 60)
    out.figures.update(promoted_s=round(promoted - fault_at, 2), all_ready_s=round(ready - fault_at, 2),
                       old_master_replica_s=round(rejoined - fault_at, 2),
                       worker_ok=control.http_get(f"http://127.0.0.1:{topology.worker_metrics_port}/metrics")[0] == 200)
    return judge(out)


async def drill_d(topology: Topology, room: dict, pace: Pace) -> Outcome:
    out = Outcome("d", "kill -9 one api process")
    http = HttpClients(topology, room)
    async with Conversation(topology, room, pace) as talk:
        http.start()
        try:
            await asyncio.sleep(1.0)
            fault_at = time.monotonic()
            old = kill(topology, "api-1", group=True)
            # Kept down (the supervisor would have it back in ~2 s, before two failed health
            # checks): the proxy must take it out of the rotation on its own, as for a lost node.
            await asyncio.to_thread(keep_down, topology, "api-1")
            out_of_rotation = await wait_for(proxy_state(topology, "api-1", False), "api-1 out of the proxy", 15)
            await asyncio.sleep(2.0)
            await asyncio.to_thread(start_if_down, topology, "api-1")
            restarted = await wait_for(running_again(topology, "api-1", old), "api-1 restarted", 60)
            in_rotation = await wait_for(proxy_state(topology, "api-1", True), "api-1 back in the proxy", 30)
            await asyncio.sleep(1.0)
        finally:
            await asyncio.to_thread(start_if_down, topology, "api-1")  # whatever failed, the next drill has it
            await http.stop()
        out.figures = await talk.finish(fault_at, extra_confirmed=http.confirmed, extra_attempted=http.attempted)
    out.figures.update(http_requests=http.requests, http_failed_cleanly=http.clean_failures,
                       http_bad_answers=len(http.bad), http_retried_sends=http.retried_sends,
                       out_of_proxy_s=round(out_of_rotation - fault_at, 2), restarted_s=round(restarted - fault_at, 2),
                       back_in_proxy_s=round(in_rotation - fault_at, 2))
    if http.bad:
        out.problems.append(f"answers that were not clean: {http.bad[:5]}")
    return judge(out)


async def drill_e(topology: Topology, room: dict, pace: Pace, down_seconds: float = 3.0) -> Outcome:
    out = Outcome("e", "restart PostgreSQL")
    if topology.postgres != "own":
        raise SystemExit("drill e needs the cluster's own PostgreSQL (CLUSTER_POSTGRES=own)")
    async with Conversation(topology, room, pace) as talk:
        fault_at = time.monotonic()
        rpc = control.rpc(topology)
        await asyncio.to_thread(rpc.stopProcess, "postgres", True)
        stopped = time.monotonic()
        await asyncio.sleep(down_seconds)
        await asyncio.to_thread(rpc.startProcess, "postgres", True)
        started = time.monotonic()
        ready = await wait_for(lambda: all(control.http_get(f"http://127.0.0.1:{p}/readyz")[0] == 200
                                           for p in [*topology.ws_ports, *topology.api_ports]),
                               "every ws and api process ready again", 60)
        first_ok = await wait_for(lambda: all(any(at > started for at in m.confirmed_at.values())
                                              for m in talk.members), "every member's sends confirmed again", 60)
        out.figures = await talk.finish(fault_at)
    out.figures.update(database_down_s=round(started - stopped, 2), sends_ok_again_s=round(first_ok - started, 2),
                       all_ready_s=round(ready - started, 2))
    if not out.figures["failed_sends"]:
        out.problems.append("no send failed while PostgreSQL was down (nothing was tested)")
    return judge(out)


class HttpClients:
    """Drill d's HTTP traffic through the proxy: history readers, and one sender that retries a
    failed POST with the same temp_id (the API's idempotency) until it is stored."""

    def __init__(self, topology: Topology, room: dict):
        self.base = topology.url
        self.room = room["room"]
        self.token = room["members"][-1]["token"]
        self.requests = self.clean_failures = self.retried_sends = 0
        self.bad: list[str] = []
        self.confirmed: dict[str, dict] = {}
        self.attempted: set[str] = set()
        self.running = False

    def start(self) -> None:
        self.running = True
        self.tasks = [asyncio.create_task(asyncio.to_thread(self._read)) for _ in range(2)]
        self.tasks.append(asyncio.create_task(asyncio.to_thread(self._send)))

    async def stop(self) -> None:
        self.running = False
        await asyncio.gather(*self.tasks)

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Token {self.token}", "Content-Type": "application/json"})
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (502, 503, 504):  # the proxy's clean answer for a server that went away
                self.clean_failures += 1
            else:
                self.bad.append(f"{method} {path} -> {exc.code}")
            return exc.code, None
        except OSError as exc:
            self.bad.append(f"{method} {path} -> {type(exc).__name__}")
            return 0, None

    def _read(self) -> None:
        while self.running:
            status, page = self._call("GET", f"/api/chat/messages/?room={self.room}&limit=50")
            if status == 200 and not isinstance(page, dict):
                self.bad.append("a history page that was not an object")
            time.sleep(0.02)

    def _send(self) -> None:
        i = 0
        while self.running:
            temp = f"http-{i}"
            self.attempted.add(temp)
            for attempt in range(50):
                status, message = self._call("POST", "/api/chat/messages/",
                                             {"room": self.room, "content": f"over http {i}", "temp_id": temp})
                if status in (200, 201):
                    self.confirmed[temp] = message
                    break
                self.retried_sends += 1
                time.sleep(0.1)
            i += 1
            time.sleep(0.1)


DRILLS = {"a": drill_a, "b": drill_b, "c": drill_c, "d": drill_d, "e": drill_e}


def seed_rooms(topology: Topology, rooms: int, room_size: int) -> list[dict]:
    """Rooms of members with tokens in the cluster's database (harness.seeding, in a child)."""
    env = {**os.environ, **render.app_env(topology)}
    out = subprocess.run([sys.executable, "-m", "harness.seeding", "--rooms", str(rooms), "--room-size",
                          str(room_size)], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["rooms"]


async def run(topology: Topology, names: list[str], pace: Pace) -> list[Outcome]:
    from cluster import push_drill

    drills = {**DRILLS, "f": push_drill.drill_f}
    # the chatting members, one more for drill d's HTTP client, drill f's offline subscribers
    room_size = pace.members + 1 + (pace.push_offline if "f" in names else 0)
    rooms = await asyncio.to_thread(seed_rooms, topology, len(names), room_size)
    outcomes = []
    for name, room in zip(names, rooms):
        await wait_for(lambda: control.proxy_backends_up(topology), "every backend UP before the drill", 60)
        started = time.monotonic()
        try:
            outcome = await drills[name](topology, room, pace)
        except Exception as exc:  # noqa: BLE001 - a drill that could not finish is a failed drill
            outcome = Outcome(name, drills[name].__name__, problems=[f"{type(exc).__name__}: {exc}"])
        outcome.figures["drill_s"] = round(time.monotonic() - started, 1)
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drills", nargs="*", default=[], help="some of a b c d e f (default: all)")
    parser.add_argument("--short", action="store_true", help="the short form (make test's)")
    args = parser.parse_args(argv)
    names = [d for d in "abcdef" if d in "".join(args.drills)] or list("abcdef")
    topology = drill_topology()
    owned = control.supervisor_pid(topology) is None
    if owned:
        control.up(topology)
    try:
        outcomes = asyncio.run(run(topology, names, SHORT if args.short else FULL))
    finally:
        if owned:
            control.stop(topology)
    report = topology.report_dir / "drills.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps([{"drill": o.drill, "title": o.title, "ok": o.ok, "figures": o.figures,
                                   "problems": o.problems} for o in outcomes], indent=2))
    failed = [o.drill for o in outcomes if not o.ok]
    print(f"drills {''.join(names)}: {'all passed' if not failed else 'FAILED: ' + ' '.join(failed)} ({report})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
