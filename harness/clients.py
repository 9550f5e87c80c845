"""WebSocket clients over real sockets (the `websockets` package, asyncio): open one and wait for
the server's greeting, open many with bounded concurrency, close many."""
import asyncio
import time

import orjson
from websockets.asyncio.client import connect


def ws_url(port: int, token: str, room: int | None = None) -> str:
    path = f"/ws/chat/{room}/" if room else "/ws/chat/"
    return f"ws://127.0.0.1:{port}{path}?token={token}"


async def open_socket(url: str, timeout: float = 15.0, **options):
    """Connect and wait for `connection_established`: (socket, greeting). Raises on anything else."""
    options = {"close_timeout": 2, "compression": None, "max_size": 4 * 2**20, "ping_interval": None,
               "max_queue": None, **options}
    ws = await connect(url, open_timeout=timeout, **options)
    first = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    if first.get("type") != "connection_established":
        await ws.close()
        raise ConnectionError(f"expected connection_established, got {first}")
    return ws, first


async def open_many(urls: list[str], concurrency: int, timeout: float = 15.0,
                    stop_after_failures: int = 50) -> tuple[list, list[float], list[str], float]:
    """At most `concurrency` handshakes in flight: (sockets or None, connect latencies, errors,
    elapsed seconds). Gives up after `stop_after_failures` failures."""
    sockets: list = [None] * len(urls)
    latencies: list[float] = []
    errors: list[str] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int, url: str) -> None:
        async with semaphore:
            if len(errors) >= stop_after_failures:
                return
            started = time.perf_counter()
            try:
                sockets[i] = (await open_socket(url, timeout))[0]
                latencies.append(time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - counted and reported by the caller
                errors.append(f"{type(exc).__name__}: {exc}"[:200])

    started = time.perf_counter()
    await asyncio.gather(*(one(i, url) for i, url in enumerate(urls)))
    return sockets, latencies, errors, time.perf_counter() - started


async def close_many(sockets, concurrency: int = 200) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(ws):
        async with semaphore:
            try:
                await asyncio.wait_for(ws.close(), 5)
            except Exception:  # noqa: BLE001 - closing is best effort; the server may be gone
                pass

    await asyncio.gather(*(one(ws) for ws in sockets if ws is not None))
