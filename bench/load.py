"""A bounded load generator on ``aiohttp.ClientSession``: N workers, a request iterator,
a deadline; latencies, throughput and the client's own CPU use."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    #: A bearer token; "" sends none (a console page, signed in by the session's cookie).
    token: str
    body: bytes | None = None
    #: What the handler needs to check the answer (the items posted, ...).
    context: Any = None


@dataclass
class Stats:
    name: str
    requests: int = 0
    items: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0
    #: (seconds since start, items done) after each response: throughput over time.
    timeline: list[tuple[float, int]] = field(default_factory=list)
    started: float = 0.0

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < 10:
            self.errors.append(message)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[k] * 1000

    def summary(self) -> dict[str, Any]:
        secs = self.seconds or float("nan")
        return {
            "name": self.name,
            "requests": self.requests,
            "items": self.items,
            "seconds": round(self.seconds, 3),
            "items_per_s": self.items / secs if self.seconds else 0.0,
            "requests_per_s": self.requests / secs if self.seconds else 0.0,
            "p50_ms": self.percentile(50),
            "p99_ms": self.percentile(99),
            "max_ms": max(self.latencies) * 1000 if self.latencies else float("nan"),
            "errors": self.error_count,
            "error_samples": self.errors,
            "client_cpu_pct": 100 * self.client_cpu / secs if self.seconds else 0.0,
        }


Handler = Callable[[Call, int, bytes, Stats], None]


async def drive(
    session: aiohttp.ClientSession,
    base: str,
    calls: Iterator[Call],
    *,
    name: str,
    concurrency: int,
    max_seconds: float,
    handle: Handler,
) -> Stats:
    """Send ``calls`` from ``concurrency`` workers until they run out or ``max_seconds``
    pass; ``handle(call, status, body, stats)`` checks each answer and counts items."""
    import asyncio

    stats = Stats(name)
    stats.started = time.perf_counter()
    deadline = stats.started + max_seconds
    cpu0 = time.process_time()

    broken = False

    async def worker() -> None:
        nonlocal broken
        while time.perf_counter() < deadline and not broken:
            try:
                call = next(calls)
            except StopIteration:
                return
            headers = {"Authorization": f"Bearer {call.token}"} if call.token else {}
            if call.body is not None:
                headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            try:
                async with session.request(call.method, base + call.path, data=call.body, headers=headers) as r:
                    raw = await r.read()
                    status = r.status
            except (aiohttp.ClientError, TimeoutError) as error:
                stats.error(f"{call.method} {call.path}: {type(error).__name__}: {error}")
                broken = True  # a timeout or a dropped connection ends the scenario
                return
            t1 = time.perf_counter()
            stats.latencies.append(t1 - t0)
            stats.requests += 1
            handle(call, status, raw, stats)
            stats.timeline.append((t1 - stats.started, stats.items))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    stats.seconds = time.perf_counter() - stats.started
    stats.client_cpu = time.process_time() - cpu0
    return stats


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
