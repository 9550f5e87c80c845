"""Who is online, across every ws process.

Redis layout (prefix from REDIS_KEY_PREFIX):
  presence:user:{uid}        hash  process id -> open sockets of the user on that process
  presence:proc:{pid}:users  set   users with sockets on that process
  presence:alive:{pid}       key   the process's heartbeat, with a TTL
  presence:procs             set   every process that ever registered
A user is online while some process with a live heartbeat holds a socket of theirs. A process
killed with -9 stops its heartbeat; any live process reaps it after the TTL, reports its
users offline and counts its sockets as closed with 1006 (chat_ws_closes_total). Embedded (no
Redis), one process counts sockets in memory.
"""
import threading
from collections import Counter

from django.conf import settings

from chat import metrics
from chat.errors import ChatError
from chat.redis_client import key, sync_client

# Returns 1 (the user's first live socket), 0 (another one), or -1: the user has ARGV[4] live
# sockets already (0: no cap) and this one is not counted.
_CONNECT = """
local live = 0
local sockets = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local n = tonumber(fields[i + 1])
  if n > 0 and redis.call('EXISTS', ARGV[2] .. fields[i]) == 1 then
    live = live + 1
    sockets = sockets + n
  end
end
local cap = tonumber(ARGV[4])
if cap > 0 and sockets >= cap then return -1 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[2], ARGV[3])
if live == 0 then return 1 end
return 0
"""

_DISCONNECT = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[3])
else
  return 0
end
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if tonumber(fields[i + 1]) > 0 and redis.call('EXISTS', ARGV[2] .. fields[i]) == 1 then return 0 end
end
return 1
"""

# Reap one dead process: drop its sockets; return how many sockets it held, then the users left
# with no live socket anywhere.
_REAP = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local result = {0}
local users = redis.call('SMEMBERS', KEYS[2])
for _, uid in ipairs(users) do
  local hash = ARGV[2] .. uid
  result[1] = result[1] + math.max(0, tonumber(redis.call('HGET', hash, ARGV[1]) or '0'))
  redis.call('HDEL', hash, ARGV[1])
  local live = 0
  local fields = redis.call('HGETALL', hash)
  for i = 1, #fields, 2 do
    if tonumber(fields[i + 1]) > 0 and redis.call('EXISTS', ARGV[3] .. fields[i]) == 1 then live = 1 end
  end
  if live == 0 then table.insert(result, uid) end
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return result
"""


class TooManySockets(ChatError):
    code = "too_many_sockets"
    status = 429

    def __init__(self, cap: int):
        super().__init__(f"at most {cap} open sockets per user")


class RedisPresence:
    def __init__(self, client):
        self.client = client
        self._connect = client.register_script(_CONNECT)
        self._disconnect = client.register_script(_DISCONNECT)
        self._reap = client.register_script(_REAP)

    def connect(self, user_id: int, process_id: str, cap: int = 0) -> bool:
        """Count a socket; True when it is the user's first live one anywhere. TooManySockets
        (nothing counted) when the user has `cap` live sockets already, on any process."""
        keys = [key("presence", "user", user_id), key("presence", "proc", process_id, "users")]
        result = self._connect(keys=keys, args=[process_id, key("presence", "alive", ""), user_id, cap])
        if result == -1:
            raise TooManySockets(cap)
        return bool(result)

    def disconnect(self, user_id: int, process_id: str) -> bool:
        """Uncount a socket; True when the user has no live socket left anywhere."""
        keys = [key("presence", "user", user_id), key("presence", "proc", process_id, "users")]
        return bool(self._disconnect(keys=keys, args=[process_id, key("presence", "alive", ""), user_id]))

    def heartbeat(self, process_id: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(key("presence", "alive", process_id), "1", ex=settings.CHAT_PRESENCE_TTL_SECONDS)
        pipe.sadd(key("presence", "procs"), process_id)
        pipe.execute()

    def forget_process(self, process_id: str) -> None:
        """A process shutting down cleanly: its heartbeat goes at once instead of after the TTL."""
        self.client.delete(key("presence", "alive", process_id))

    def reap_dead_processes(self) -> list[int]:
        offline: list[int] = []
        for process_id in self.client.smembers(key("presence", "procs")):
            if self.client.exists(key("presence", "alive", process_id)):
                continue
            keys = [key("presence", "alive", process_id), key("presence", "proc", process_id, "users"),
                    key("presence", "procs")]
            args = [process_id, key("presence", "user", ""), key("presence", "alive", "")]
            sockets, *users = self._reap(keys=keys, args=args)
            # A process that died (kill -9, OOM) counted none of its closes: its clients saw 1006.
            # The script runs once per dead process, so they are counted once, here.
            metrics.WS_CLOSES.labels("1006").inc(int(sockets))
            offline.extend(int(uid) for uid in users)
        return offline

    def online_user_ids(self, user_ids) -> set[int]:
        user_ids = list(user_ids)
        if not user_ids:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for uid in user_ids:
            pipe.hgetall(key("presence", "user", uid))
        sockets = dict(zip(user_ids, pipe.execute()))
        processes = sorted({pid for fields in sockets.values() for pid, n in fields.items() if int(n) > 0})
        if not processes:
            return set()
        alive_flags = self.client.mget([key("presence", "alive", pid) for pid in processes])
        alive = {pid for pid, flag in zip(processes, alive_flags) if flag}
        return {uid for uid, fields in sockets.items() if any(pid in alive and int(n) > 0 for pid, n in fields.items())}


class LocalPresence:
    """The embedded run: one process, so a counter of open sockets is the whole truth."""

    def __init__(self):
        self._sockets: Counter[int] = Counter()
        self._lock = threading.Lock()

    def connect(self, user_id: int, process_id: str, cap: int = 0) -> bool:
        with self._lock:
            if cap and self._sockets[user_id] >= cap:
                raise TooManySockets(cap)
            self._sockets[user_id] += 1
            return self._sockets[user_id] == 1

    def disconnect(self, user_id: int, process_id: str) -> bool:
        with self._lock:
            self._sockets[user_id] -= 1
            if self._sockets[user_id] <= 0:
                del self._sockets[user_id]
                return True
            return False

    def heartbeat(self, process_id: str) -> None:
        return None

    def forget_process(self, process_id: str) -> None:
        return None

    def reap_dead_processes(self) -> list[int]:
        return []

    def online_user_ids(self, user_ids) -> set[int]:
        with self._lock:
            return {uid for uid in user_ids if self._sockets.get(uid, 0) > 0}


_store = None
_store_lock = threading.Lock()


def store():
    global _store
    with _store_lock:
        if _store is None:
            client = sync_client()
            _store = RedisPresence(client) if client is not None else LocalPresence()
        return _store


def online_user_ids(user_ids) -> set[int]:
    """Best effort: when Redis is unreachable nobody is shown online rather than failing the page."""
    try:
        return store().online_user_ids(user_ids)
    except Exception:  # noqa: BLE001 - presence must never break a rooms page
        return set()
