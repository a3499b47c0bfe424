"""The benchmark suite: ``.venv/bin/python -m bench.run [--quick] [--size 1m|5m]
[--database-url URL] [--out BENCHMARKS.md]``.

It starts PostgreSQL (the embedded one in a temp dir, or a fresh database on
``--database-url``), starts ``creditbank serve`` as a subprocess on a free loopback
port, creates its own data through the HTTP API (the learners in rosters) and runs the
scenarios of issues 6 and 16 (a district's whole cohort as CSV and xlsx, the HR console's
pages under the verdict reads), then the two references (the eventsourcing library saving
the same events; PostgreSQL COPY of the same rows). It writes the figures (``--out``, and
the raw results next to it as JSON) and exits non-zero on any HTTP error or any wrong
count: every posted completion and every learner recorded exactly once, every exported
row the district's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from api.database import Database
from bench import console, exports, procs
from bench.data import (
    COHORT_JURISDICTION,
    COHORT_TARGET,
    SIZES,
    Sizes,
    batches,
    cohort_policy,
    completion_item,
    learner_body,
    learner_id,
    provider_body,
    provider_ids,
)
from bench.load import Call, Stats, drive, dumps

BATCH_CONCURRENCY = 4
LEARNER_CONCURRENCY = 16
#: Rosters in flight at once (each up to 10,000 learners, one writer transaction).
ROSTER_CONCURRENCY = 2
SINGLE_CONCURRENCY = 64
READ_CONCURRENCY = 32
#: Console clients on the learner page; the cohort dashboard has one (it reads a whole district).
CONSOLE_CONCURRENCY = 4


def log(message: str) -> None:
    sys.stderr.write(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


class Failure(Exception):
    """A wrong answer or a wrong count: the run fails."""


# -- checks --------------------------------------------------------------------------


def expect_status(expected: int) -> Any:
    def handle(call: Call, status: int, raw: bytes, stats: Stats) -> None:
        if status != expected:
            stats.error(f"{call.method} {call.path}: {status} {raw[:300]!r}")
            return
        stats.items += 1

    return handle


def all_recorded(name: str) -> Any:
    """A batch's check (completions or a roster): 207, and every item of it ``recorded``."""

    def handle(call: Call, status: int, raw: bytes, stats: Stats) -> None:
        expected = call.context
        if status != 207:
            stats.error(f"{name}: HTTP {status} {raw[:300]!r}")
            return
        body = json.loads(raw)
        if body["recorded"] != expected or body["duplicates"] or body["rejected"]:
            bad = [r for r in body["results"] if r["status"] != "recorded"][:3]
            stats.error(
                f"{name}: recorded {body['recorded']}/{expected}, duplicates {body['duplicates']},"
                f" rejected {body['rejected']}: {bad}"
            )
        stats.items += body["recorded"]

    return handle


def check_single(call: Call, status: int, raw: bytes, stats: Stats) -> None:
    if status != 201:
        stats.error(f"single: HTTP {status} {raw[:300]!r}")
        return
    body = json.loads(raw)
    if body.get("status") != "recorded":
        stats.error(f"single: {body}")
        return
    stats.items += 1


# -- readiness -----------------------------------------------------------------------


async def readyz(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with session.get(base + "/readyz") as r:
        body: dict[str, Any] = await r.json()
        return body


class ReadyzSampler:
    """Polls /readyz once a second in the background: the projection's progress."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.samples: list[tuple[float, int, int]] = []
        self._task: asyncio.Task[None] | None = None
        self.t0 = time.perf_counter()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                body = await readyz(self.session, self.base)
                self.samples.append((time.perf_counter() - self.t0, body["position"], body["head"]))
            await asyncio.sleep(1.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def drain(session: aiohttp.ClientSession, base: str, max_seconds: float) -> dict[str, Any]:
    """Poll /readyz until the read models reach the head; the catch-up rate."""
    t0 = time.perf_counter()
    first = await readyz(session, base)
    last = first
    while last["lag"] > 0 and time.perf_counter() - t0 < max_seconds:
        await asyncio.sleep(0.25)
        last = await readyz(session, base)
    seconds = time.perf_counter() - t0
    applied = last["position"] - first["position"]
    return {
        "lag_at_start": first["lag"],
        "head": last["head"],
        "position": last["position"],
        "seconds": seconds,
        "events_per_s": applied / seconds if applied and seconds else None,
        "caught_up": last["lag"] == 0,
    }


# -- CPU: who used the machine during a scenario ---------------------------------------


class CpuMeter:
    """CPU used during a scenario, in cores: the whole machine (/proc/stat), the
    server, the worker, PostgreSQL (the embedded cluster's processes) and this load
    client; ``other`` is what the rest of the machine used (other users' processes).
    On a quiet machine ``other`` is near 0."""

    def __init__(self, server: procs.Server, pg_pid: int | None) -> None:
        self.server, self.pg_pid = server, pg_pid
        self._start = self._snapshot()

    def _snapshot(self) -> dict[str, float]:
        busy, total = procs.machine_cpu()
        snap = {"machine": busy, "total": total, "t": time.perf_counter(), "bench": time.process_time()}
        snap.update(self.server.cpu_seconds())
        if self.pg_pid:
            snap["postgres"] = sum(procs.process_cpu_seconds(p) for p in [self.pg_pid, *procs.descendants(self.pg_pid)])
        return snap

    def since(self) -> dict[str, float]:
        end = self._snapshot()
        start = self._start
        seconds = end["t"] - start["t"]
        if seconds <= 0:
            return {}
        tick = os.sysconf("SC_CLK_TCK")
        cores = {"machine": (end["machine"] - start["machine"]) / tick / seconds}
        for key in ("server", "worker", "postgres", "bench"):
            if key in end and key in start:
                cores[key] = max(0.0, end[key] - start[key]) / seconds
        ours = sum(v for k, v in cores.items() if k != "machine")
        # postgres backends that ended during the window are not counted: "other" is an upper bound
        cores["other"] = max(0.0, cores["machine"] - ours)
        cores["loadavg"] = procs.loadavg()
        return {k: round(v, 2) for k, v in cores.items()}


# -- profiling -----------------------------------------------------------------------


NO_PY_SPY = "--profile: py-spy is not installed (.venv/bin/pip install py-spy, or set PY_SPY=/path/to/py-spy)"


def _py_spy() -> str | None:
    spy = os.environ.get("PY_SPY") or shutil.which("py-spy") or str(procs.VENV_BIN / "py-spy")
    return spy if Path(spy).exists() else None


def start_profiler(pid: int, out: Path, *, subprocesses: bool = False) -> subprocess.Popen[bytes] | None:
    spy = _py_spy()
    if spy is None:
        raise Failure(NO_PY_SPY)
    fmt = "raw" if out.suffix in {".txt", ".raw"} else "speedscope" if out.suffix == ".json" else "flamegraph"
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "100", "--format", fmt, "-o", str(out)]
        + (["--subprocesses"] if subprocesses else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def profile_if_asked(args: argparse.Namespace, server: Any, scenario: str) -> list[subprocess.Popen[bytes] | None]:
    """py-spy on the server (and the projection worker) while ``scenario`` runs, when
    ``--profile`` asked for that scenario."""
    if not args.profile or args.profile_scenario != scenario:
        return []
    out = Path(args.profile)
    # With --server-workers N the other server processes are the first one's children.
    profilers = [start_profiler(server.pid, out, subprocesses=args.server_workers > 1)]
    if server.worker is not None:
        profilers.append(start_profiler(server.worker.pid, out.with_name(f"{out.stem}-worker{out.suffix}")))
    return profilers


async def measured(
    session: aiohttp.ClientSession,
    server: procs.Server,
    pg_pid: int | None,
    args: argparse.Namespace,
    calls: Any,
    *,
    name: str,
    concurrency: int,
    max_seconds: float,
    handle: Any,
) -> tuple[Stats, dict[str, Any]]:
    """``drive`` as one scenario: py-spy on it when ``--profile-scenario`` names it, and
    (the stats, their summary with the concurrency, the peak RSS and the CPU used over it)."""
    profilers = profile_if_asked(args, server, name)
    server.window()
    meter = CpuMeter(server, pg_pid)
    stats = await drive(
        session, server.base, calls, name=name, concurrency=concurrency, max_seconds=max_seconds, handle=handle
    )
    stop_profilers(profilers)
    return stats, {**stats.summary(), "concurrency": concurrency, **server.window(), "cpu": meter.since()}


def stop_profilers(profilers: list[subprocess.Popen[bytes] | None]) -> None:
    for profiler in profilers:
        stop_profiler(profiler)


def stop_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- the run -------------------------------------------------------------------------


async def roster(
    session: aiohttp.ClientSession,
    server: procs.Server,
    pg_pid: int | None,
    token: str,
    sizes: Sizes,
    start: int,
    args: argparse.Namespace,
    scen: dict[str, Any],
) -> None:
    """Learners ``start`` onwards in rosters of ``sizes.roster_batch`` (``POST /v1/learners``
    with ``{"learners": [...]}``, ROSTER_CONCURRENCY in flight, every item ``recorded``); then
    the first roster again, which must answer every learner a duplicate and record nothing."""
    base = server.base
    if start >= sizes.learners:
        return
    log(
        f"roster: learners {start:,}..{sizes.learners:,} in rosters of {sizes.roster_batch:,}"
        f" ({ROSTER_CONCURRENCY} clients)"
    )

    def body(lo: int) -> tuple[bytes, int]:
        hi = min(sizes.learners, lo + sizes.roster_batch)
        return dumps({"learners": [learner_body(n, sizes) for n in range(lo, hi)]}), hi - lo

    def calls() -> Any:
        for lo in range(start, sizes.learners, sizes.roster_batch):
            data, count = body(lo)
            yield Call("POST", "/v1/learners", token, data, context=count)

    stats, summary = await measured(
        session,
        server,
        pg_pid,
        args,
        calls(),
        name="roster",
        concurrency=ROSTER_CONCURRENCY,
        max_seconds=3600,
        handle=all_recorded("roster"),
    )
    summary["batch"] = sizes.roster_batch
    scen["roster"] = summary
    log(_line(summary))
    if stats.items != sizes.learners - start or stats.error_count:
        raise Failure(f"rosters registered {stats.items} of {sizes.learners - start} learners: {stats.errors}")
    head = (await readyz(session, base))["head"]
    data, count = body(start)
    t0 = time.perf_counter()
    async with session.post(
        base + "/v1/learners",
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    ) as r:
        again = await r.json()
    seconds = time.perf_counter() - t0
    moved = (await readyz(session, base))["head"] - head
    summary["repost"] = {"learners": count, "duplicates": again.get("duplicates"), "seconds": seconds, "moved": moved}
    if r.status != 207 or again.get("duplicates") != count or again.get("recorded") or moved:
        raise Failure(
            f"re-posted roster: {r.status} recorded {again.get('recorded')} duplicates {again.get('duplicates')}"
            f" of {count}; the head moved by {moved}"
        )


async def console_pages(
    session: aiohttp.ClientSession,
    server: procs.Server,
    pg_pid: int | None,
    tokens: dict[str, str],
    sizes: Sizes,
    scen: dict[str, Any],
) -> list[str]:
    """The HR console, signed in over plain HTTP, while READ_CONCURRENCY clients read verdicts
    through the API: the learner page (CONSOLE_CONCURRENCY clients) and the cohort dashboard
    of the whole cohort district (one client), p50/p99 per page. The dashboard's errors are
    returned, to fail the run at its end: the page reads a whole district, and a district too
    large for it should not cost the run's other figures."""
    base = server.base
    dashboard = f"/console/hr?target={COHORT_TARGET}&jurisdiction={COHORT_JURISDICTION}"
    verdict_rng, page_rng = random.Random(200), random.Random(201)

    def verdicts() -> Any:
        for _ in range(sizes.read_requests):
            who = learner_id(verdict_rng.randrange(sizes.learners))
            yield Call("GET", f"/v1/learners/{who}/eligibility?target=teacher_cycle", tokens["hr"])

    def learner_pages() -> Any:
        for _ in range(sizes.read_requests):
            who = learner_id(page_rng.randrange(sizes.learners))
            yield Call("GET", f"/console/learners/{who}", "", context=who.encode())

    def dashboards() -> Any:
        while True:
            yield Call("GET", dashboard, "", context=COHORT_JURISDICTION.encode())

    log(f"console: learner page and cohort dashboard ({dashboard}) beside verdict reads")
    async with console.browser(timeout=1800) as browser:
        home = await console.sign_in(browser, base, tokens["hr"])
        server.window()
        meter = CpuMeter(server, pg_pid)
        seconds = sizes.read_seconds
        reads, pages, boards = await asyncio.gather(
            drive(
                session,
                base,
                verdicts(),
                name="eligibility",
                concurrency=READ_CONCURRENCY,
                max_seconds=seconds,
                handle=expect_status(200),
            ),
            drive(
                browser,
                base,
                learner_pages(),
                name="learner page",
                concurrency=CONSOLE_CONCURRENCY,
                max_seconds=seconds,
                handle=console.check_page,
            ),
            drive(
                browser,
                base,
                dashboards(),
                name="cohort dashboard",
                concurrency=1,
                max_seconds=seconds,
                handle=console.check_page,
            ),
        )
        errors = list(boards.errors)
        log("console: the cohort dashboard alone")
        t0 = time.perf_counter()
        with procs.rss_during(server.pid) as memory:
            try:
                async with browser.get(base + dashboard) as r:
                    status, page = r.status, await r.read()
            except (aiohttp.ClientError, TimeoutError) as error:
                status, page = 0, f"{type(error).__name__}: {error}".encode()
        alone = {"seconds": time.perf_counter() - t0, "status": status, "bytes": len(page), **memory}
        wrong = console.refusal(dashboard, status, page, COHORT_JURISDICTION.encode())
        if wrong:
            errors.append(f"alone: {wrong} {page[:300]!r}")
        log(
            f"cohort dashboard alone: {status} in {alone['seconds']:.1f} s, {len(page):,} bytes; server RSS"
            f" {alone['rss_before_mb']:.0f} → peak {alone['peak_rss_mb']:.0f} → {alone['rss_after_mb']:.0f} MB"
        )
    scen["console"] = {
        "signed_in_to": home,
        "dashboard_path": dashboard,
        "cohort": sizes.cohort,
        "reads": {**reads.summary(), "concurrency": READ_CONCURRENCY},
        "learner_page": {**pages.summary(), "concurrency": CONSOLE_CONCURRENCY},
        "dashboard": {**boards.summary(), "concurrency": 1},
        "dashboard_alone": alone,
        **server.window(),
        "cpu": meter.since(),
    }
    for stats in (reads, pages, boards):
        done = stats.summary()
        log(
            f"{done['name']}: {done['requests']:,} requests in {done['seconds']:.1f} s,"
            f" p50 {done['p50_ms']:.1f} ms, p99 {done['p99_ms']:.1f} ms, errors {done['errors']}"
        )
    if reads.errors or pages.errors:
        raise Failure(f"console pages: {reads.errors + pages.errors}")
    return [f"console cohort dashboard: {e}" for e in errors]


async def cohort_export(
    session: aiohttp.ClientSession,
    server: procs.Server,
    pg_pid: int | None,
    token: str,
    sizes: Sizes,
    workdir: Path,
    scen: dict[str, Any],
) -> None:
    """The cohort district's whole cohort for COHORT_TARGET as CSV, then as xlsx: every row
    read back from the file (the district's ``sizes.cohort`` learners, each once, none from
    elsewhere), the server's memory sampled while each streams."""
    path = f"/v1/eligibility?target={COHORT_TARGET}&jurisdiction={COHORT_JURISDICTION}"
    scen["cohort_export"] = result = {"path": path, "cohort": sizes.cohort}
    for kind in ("csv", "xlsx"):
        log(f"cohort export: {path} as {kind}")
        server.window()
        meter = CpuMeter(server, pg_pid)
        got = await exports.download(session, server.base, path, token, kind, workdir / f"cohort.{kind}", server.pid)
        got["cpu"] = meter.since()
        result[kind] = got
        if got["status"] != 200:
            raise Failure(f"cohort {kind}: HTTP {got['status']} {got['body']}")
        log(
            f"cohort {kind}: {got['rows']:,} rows, {got['bytes'] / 1e6:.1f} MB in {got['seconds']:.1f} s"
            f" (first byte {got['first_byte_s']:.1f} s); server RSS {got['rss_before_mb']:.0f} →"
            f" peak {got['peak_rss_mb']:.0f} → {got['rss_after_mb']:.0f} MB"
        )
        wrong = {d: n for d, n in got["districts"].items() if d != COHORT_JURISDICTION}
        if got["rows"] != sizes.cohort or got["distinct_learners"] != sizes.cohort or wrong:
            raise Failure(
                f"cohort {kind}: {got['rows']} rows for {got['distinct_learners']} learners, expected"
                f" {sizes.cohort} of {COHORT_JURISDICTION}; other districts {wrong}"
            )


async def scenarios(
    server: procs.Server,
    url: str,
    workdir: Path,
    sizes: Sizes,
    args: argparse.Namespace,
    results: dict[str, Any],
) -> None:
    base = server.base
    pg_pid = postgres_pid(workdir)
    providers = provider_ids(sizes.providers)
    specs: dict[str, list[str]] = {
        "admin": ["--role", "admin"],
        "hr": ["--role", "hr", "--jurisdiction", "220000"],
        "auditor": ["--role", "auditor"],
    }
    log(f"minting {len(specs) + len(providers)} tokens with the CLI")
    tokens = procs.mint_tokens(url, workdir, specs)
    scen = results["scenarios"]

    connector = aiohttp.TCPConnector(limit=SINGLE_CONCURRENCY, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # -- setup: providers and learners ------------------------------------------
        for p in providers:
            async with session.post(
                base + "/v1/providers",
                data=dumps(provider_body(p)),
                headers={"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"},
            ) as r:
                if r.status not in (200, 201):
                    raise Failure(f"POST /v1/providers {p}: {r.status} {await r.text()}")
        district = cohort_policy()
        async with session.post(
            base + "/v1/policies",
            data=dumps(district),
            headers={"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"},
        ) as r:
            if r.status not in (200, 201):
                raise Failure(f"POST /v1/policies {district['policy_id']}: {r.status} {await r.text()}")
        # An institution's token names a registered institution, so these come second.
        tokens |= procs.mint_tokens(url, workdir, {p: ["--role", "institution", "--provider", p] for p in providers})

        over_http = min(sizes.learners, sizes.single_learners)
        log(f"registering {over_http:,} learners one per request ({LEARNER_CONCURRENCY} clients)")
        learner_calls = (
            Call("POST", "/v1/learners", tokens["admin"], dumps(learner_body(n, sizes))) for n in range(over_http)
        )
        stats, scen["learners"] = await measured(
            session,
            server,
            pg_pid,
            args,
            learner_calls,
            name="learners",
            concurrency=LEARNER_CONCURRENCY,
            max_seconds=3600,
            handle=expect_status(201),
        )
        log(_line(scen["learners"]))
        if stats.items != over_http:
            raise Failure(f"registered {stats.items} of {over_http} learners: {stats.errors}")
        await roster(session, server, pg_pid, tokens["admin"], sizes, over_http, args, scen)
        drained = await drain(session, base, max_seconds=600)
        if not drained["caught_up"]:
            raise Failure(f"projections did not catch up after registration: {drained}")
        events_before = drained["head"]

        # -- batch ingest -------------------------------------------------------------
        log(
            f"batch ingest: {sizes.completions:,} completions in batches of {sizes.batch} ({BATCH_CONCURRENCY} clients)"
        )
        first_batch: list[Any] = []

        def batch_calls() -> Any:
            for provider_id, items in batches(sizes):
                if not first_batch:
                    first_batch.extend([provider_id, items])
                yield Call(
                    "POST", "/v1/completions", tokens[provider_id], dumps({"completions": items}), context=len(items)
                )

        sampler = ReadyzSampler(session, base)
        sampler.start()
        stats, summary = await measured(
            session,
            server,
            pg_pid,
            args,
            batch_calls(),
            name="batch",
            concurrency=BATCH_CONCURRENCY,
            max_seconds=7200,
            handle=all_recorded("batch"),
        )
        await sampler.stop()
        summary.update(batch=sizes.batch, slices=_slices(stats, sizes.completions))
        projected = [s for s in sampler.samples if s[0] <= stats.seconds + 1]
        if len(projected) >= 2:
            (ta, pa, _), (tb, pb, hb) = projected[0], projected[-1]
            summary["projection_during_ingest"] = {
                "events_per_s": (pb - pa) / (tb - ta) if tb > ta else None,
                "lag_at_end": hb - pb,
            }
        scen["batch"] = summary
        log(_line(summary))
        if stats.items != sizes.completions or stats.error_count:
            raise Failure(f"batch ingest recorded {stats.items} of {sizes.completions}: {stats.errors}")

        # -- projection catch-up after ingest -------------------------------------------
        log("waiting for the read models to reach the head (/readyz lag)")
        server.window()
        meter = CpuMeter(server, pg_pid)
        drained = await drain(session, base, max_seconds=3600)
        drained.update(server.window())
        drained["cpu"] = meter.since()
        scen["catchup"] = drained
        log(f"catch-up: {drained}")
        if not drained["caught_up"]:
            raise Failure(f"projections did not catch up: {drained}")

        # -- idempotency: the first batch again answers duplicates, records nothing ----
        provider_id, items = first_batch
        async with session.post(
            base + "/v1/completions",
            data=dumps({"completions": items}),
            headers={"Authorization": f"Bearer {tokens[provider_id]}", "Content-Type": "application/json"},
        ) as r:
            body = await r.json()
            if r.status != 207 or body["duplicates"] != len(items) or body["recorded"]:
                raise Failure(
                    f"re-posted batch: {r.status} recorded {body.get('recorded')} duplicates {body.get('duplicates')}"
                )
        after_repost = (await readyz(session, base))["head"]

        # -- single-record ingest ---------------------------------------------------------
        log(f"single-record ingest: up to {sizes.single_requests:,} requests at {SINGLE_CONCURRENCY} clients")
        rng = random.Random(64)

        def single_calls() -> Any:
            for n in range(sizes.single_requests):
                p = providers[n % len(providers)]
                yield Call("POST", "/v1/completions", tokens[p], dumps(completion_item(rng, "S", n, sizes.learners)))

        stats, scen["single"] = await measured(
            session,
            server,
            pg_pid,
            args,
            single_calls(),
            name="single",
            concurrency=SINGLE_CONCURRENCY,
            max_seconds=sizes.single_seconds,
            handle=check_single,
        )
        log(_line(scen["single"]))
        if stats.error_count:
            raise Failure(f"single-record ingest: {stats.errors}")
        single_recorded = stats.items
        await drain(session, base, max_seconds=600)

        # -- reads ----------------------------------------------------------------------
        log(f"reads: balance of random learners at {READ_CONCURRENCY} clients")
        rng = random.Random(32)

        def read_calls(path: str) -> Any:
            for _ in range(sizes.read_requests):
                yield Call("GET", path.format(learner_id(rng.randrange(sizes.learners))), tokens["hr"])

        stats, scen["balance"] = await measured(
            session,
            server,
            pg_pid,
            args,
            read_calls("/v1/learners/{}/balance"),
            name="balance",
            concurrency=READ_CONCURRENCY,
            max_seconds=sizes.read_seconds,
            handle=expect_status(200),
        )
        log(_line(scen["balance"]))
        if stats.error_count:
            raise Failure(f"balance reads: {stats.errors}")

        probe = f"/v1/learners/{learner_id(0)}/eligibility?target=teacher_cycle"
        if await _route_missing(session, base, probe, tokens["hr"]):
            scen["eligibility"] = {"skipped": "GET /v1/learners/{id}/eligibility answers 404 (no such route yet)"}
            log("eligibility: skipped, the route does not exist yet")
        else:
            stats, scen["eligibility"] = await measured(
                session,
                server,
                pg_pid,
                args,
                read_calls("/v1/learners/{}/eligibility?target=teacher_cycle"),
                name="eligibility",
                concurrency=READ_CONCURRENCY,
                max_seconds=sizes.read_seconds,
                handle=expect_status(200),
            )
            log(_line(scen["eligibility"]))
            if stats.error_count:
                raise Failure(f"eligibility reads: {stats.errors}")

        # -- the console and the district's cohort, after the reads -------------------------
        dashboard_errors = await console_pages(session, server, pg_pid, tokens, sizes, scen)
        await cohort_export(session, server, pg_pid, tokens["hr"], sizes, workdir, scen)

        # -- audit verification -----------------------------------------------------------
        if await _route_missing(session, base, "/v1/audit/verification?to=1", tokens["auditor"]):
            scen["audit"] = {"skipped": "GET /v1/audit/verification answers 404 (no such route yet)"}
            log("audit verification: skipped, the route does not exist yet")
        else:
            log("audit verification: GET /v1/audit/verification (auditor) over the whole log")
            server.window()
            meter = CpuMeter(server, pg_pid)
            t0 = time.perf_counter()
            async with session.get(
                base + "/v1/audit/verification",
                headers={"Authorization": f"Bearer {tokens['auditor']}"},
                timeout=aiohttp.ClientTimeout(total=3600),
            ) as r:
                raw = await r.read()
                seconds = time.perf_counter() - t0
                if r.status != 200:
                    raise Failure(f"audit verification: {r.status} {raw[:300]!r}")
            report = json.loads(raw)
            if not report.get("ok"):
                raise Failure(f"audit verification: the log does not verify: {report.get('first_break')}")
            checked = int(report["events_checked"])
            scen["audit"] = {
                "events": checked,
                "seconds": seconds,
                "events_per_s": checked / seconds,
                "checkpoints_checked": report.get("checkpoints_checked"),
                **server.window(),
                "cpu": meter.since(),
            }
            log(f"audit (HTTP): {checked:,} events in {seconds:.1f} s = {checked / seconds:,.0f} events/s")
            log("audit verification: creditbank audit verify (CLI)")
            out, cli_seconds, cli_peak, rc = await asyncio.to_thread(
                procs.run_measured,
                [*procs.CREDITBANK_ARGV, "audit", "verify"],
                procs.server_env(url, workdir),
                3600,
            )
            if rc != 0:
                raise Failure(f"creditbank audit verify exited {rc}: {out[-300:]}")
            cli_report = json.loads(out)
            cli_checked = int(cli_report["events_checked"])
            scen["audit"]["cli"] = {
                "events": cli_checked,
                "seconds": cli_seconds,
                "events_per_s": cli_checked / cli_seconds,
                "peak_rss_mb": cli_peak,
            }
            log(
                f"audit (CLI): {cli_checked:,} events in {cli_seconds:.1f} s (whole process)"
                f" = {cli_checked / cli_seconds:,.0f} events/s, peak RSS {cli_peak:.0f} MB"
            )

        final = await readyz(session, base)

    # -- counts: every posted completion recorded exactly once ---------------------------
    posted = sizes.completions + single_recorded
    conn = await asyncpg.connect(**Database.from_url(url).asyncpg_kwargs())
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS events, max(notification_id) AS head,"
            " count(*) FILTER (WHERE topic = 'ledger.completion:Completion.Recorded') AS completions,"
            " count(DISTINCT originator_id) FILTER (WHERE topic = 'ledger.completion:Completion.Recorded')"
            "   AS distinct_completions"
            " FROM creditbank_events"
        )
        projected = await conn.fetchval("SELECT count(*) FROM rm_completions")
        learners = await conn.fetchrow(
            "SELECT count(*) AS learners, count(*) FILTER (WHERE jurisdiction = $1) AS cohort,"
            " (SELECT count(*) FROM creditbank_events WHERE topic = 'ledger.learner:Learner.Registered')"
            "   AS registered"
            " FROM rm_learners",
            COHORT_JURISDICTION,
        )
    finally:
        await conn.close()
    counts = {
        "posted": posted,
        "batch_recorded": sizes.completions,
        "single_recorded": single_recorded,
        "event_rows": row["events"],
        "head": row["head"],
        "completion_events": row["completions"],
        "distinct_completions": row["distinct_completions"],
        "rm_completions": projected,
        "learners": sizes.learners,
        "learner_events": learners["registered"],
        "rm_learners": learners["learners"],
        "rm_learners_in_cohort": learners["cohort"],
        "events_before_ingest": events_before,
        "head_after_repost": after_repost,
        "readyz_head": final["head"],
        "readyz_position": final["position"],
    }
    results["counts"] = counts
    expected_events = events_before + posted
    problems = []
    if row["completions"] != posted or row["distinct_completions"] != posted:
        problems.append(
            f"{row['completions']} completion events ({row['distinct_completions']} distinct) for {posted} posted"
        )
    if row["events"] != expected_events:
        problems.append(f"{row['events']} events, expected {expected_events}")
    if after_repost != events_before + sizes.completions:
        problems.append(f"re-posting a batch moved the head to {after_repost}")
    if final["head"] != row["head"] or final["position"] != row["head"]:
        problems.append(
            f"/readyz says head {final['head']} position {final['position']}, the table's head is {row['head']}"
        )
    if projected != posted:
        problems.append(f"rm_completions holds {projected} rows for {posted} posted")
    if learners["registered"] != sizes.learners or learners["learners"] != sizes.learners:
        problems.append(
            f"{learners['registered']} registrations and {learners['learners']} rows in rm_learners"
            f" for {sizes.learners} learners"
        )
    if learners["cohort"] != sizes.cohort:
        problems.append(f"rm_learners holds {learners['cohort']} learners of {COHORT_JURISDICTION}, not {sizes.cohort}")
    if problems:
        raise Failure("; ".join(problems))
    log(f"counts ok: {counts}")
    if dashboard_errors:
        raise Failure("; ".join(dashboard_errors))


async def _route_missing(session: aiohttp.ClientSession, base: str, path: str, token: str) -> bool:
    async with session.get(base + path, headers={"Authorization": f"Bearer {token}"}) as r:
        if r.status != 404:
            return False
        with contextlib.suppress(Exception):
            return bool((await r.json()).get("code") == "not_found")
        return True


def postgres_pid(workdir: Path) -> int | None:
    """The embedded cluster's postmaster (None for an external PostgreSQL)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((workdir / "pgdata" / "postmaster.pid").read_text().split()[0])
    return None


def _slices(stats: Stats, total: int, parts: int = 10) -> list[float]:
    """Throughput (items/s) over each tenth of the run: flat if nothing grows with the bank."""
    rates: list[float] = []
    edges = [total * k // parts for k in range(parts + 1)]
    timeline = stats.timeline
    i = 0
    t_prev = 0.0
    for k in range(1, parts + 1):
        while i < len(timeline) and timeline[i][1] < edges[k]:
            i += 1
        if i >= len(timeline):
            break
        t = timeline[i][0]
        rates.append((edges[k] - edges[k - 1]) / (t - t_prev) if t > t_prev else float("nan"))
        t_prev = t
    return rates


def _line(s: dict[str, Any]) -> str:
    return (
        f"{s['name']}: {s['items']:,} items / {s['requests']:,} requests in {s['seconds']:.1f} s ="
        f" {s['items_per_s']:,.0f} items/s, {s['requests_per_s']:,.0f} req/s, p50 {s['p50_ms']:.1f} ms,"
        f" p99 {s['p99_ms']:.1f} ms, server peak RSS {s.get('server_peak_rss_mb', 0):.0f} MB,"
        f" client CPU {s['client_cpu_pct']:.0f}%, errors {s['errors']}"
    )


def rebuild(url: str, workdir: Path, results: dict[str, Any]) -> None:
    log("full rebuild: creditbank projections rebuild (server stopped)")
    out, seconds, peak, rc = procs.run_measured(
        [*procs.CREDITBANK_ARGV, "projections", "rebuild"], procs.server_env(url, workdir), timeout=7200
    )
    if rc != 0:
        raise Failure(f"creditbank projections rebuild exited {rc}")
    position = int(out.strip().rsplit(" ", 1)[-1]) if "position" in out else 0
    results["scenarios"]["rebuild"] = {
        "events": position,
        "seconds": seconds,
        "events_per_s": position / seconds,
        "peak_rss_mb": peak,
    }
    log(f"rebuild: {position:,} events in {seconds:.1f} s = {position / seconds:,.0f} events/s, peak RSS {peak:.0f} MB")


def references(ref_url: str, size: str, workdir: Path, results: dict[str, Any]) -> None:
    env = dict(os.environ)
    for which in ("library", "copy"):
        log(f"reference: {which}")
        out, seconds, peak, rc = procs.run_measured(
            [sys.executable, "-m", "bench.refs", which, "--database-url", ref_url, "--size", size],
            env,
            timeout=7200,
        )
        if rc != 0:
            raise Failure(f"reference {which} exited {rc}")
        data = json.loads(out.strip().splitlines()[-1])
        lat = sorted(data.pop("latencies_ms"))
        summary = {
            **data,
            "items_per_s": data["count"] / data["seconds"],
            "p50_ms": lat[len(lat) // 2] if lat else None,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
            "peak_rss_mb": peak,
            "process_seconds": seconds,
        }
        results["scenarios"][f"ref_{which}"] = summary
        log(
            f"{which}: {data['count']:,} rows in {data['seconds']:.1f} s = {summary['items_per_s']:,.0f}/s, "
            f"p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms per {data['per_call']}"
        )


async def postgres_version(db: Database) -> str:
    conn = await asyncpg.connect(**db.asyncpg_kwargs())
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def run(args: argparse.Namespace) -> int:
    size = "quick" if args.quick else args.size
    sizes = SIZES[size]
    workdir = Path(tempfile.mkdtemp(prefix="creditbank-bench-"))
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    results: dict[str, Any] = {
        "size": size,
        "sizes": sizes.__dict__,
        "command": " ".join([".venv/bin/python", "-m", "bench.run", *sys.argv[1:]]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "projections": args.projections,
        "server_workers": args.server_workers,
        "scenarios": {},
        "loadavg_start": procs.loadavg(),
    }
    if args.compare:
        from bench.report import key_figures

        previous = json.loads(Path(args.compare).read_text())
        results["previous"] = {
            "file": args.compare,
            "started": previous.get("started"),
            "size": previous.get("size"),
            "projections": previous.get("projections", "inline"),
            "server_workers": previous.get("server_workers", 1),
            "figures": key_figures(previous),
        }
    ok = False
    log(f"size {size}: {sizes.learners:,} learners, {sizes.completions:,} completions; workdir {workdir}")
    try:
        with procs.postgres(args.database_url, workdir) as (cluster, kind):
            main_db = cluster.with_dbname(f"creditbank_bench_{stamp}")
            ref_db = cluster.with_dbname(f"creditbank_ref_{stamp}")
            for db in (main_db, ref_db):
                db.drop()
                db.ensure_exists()
            results["postgres"] = {"kind": kind, "version": asyncio.run(postgres_version(cluster))}
            url, ref_url = procs.database_url(main_db), procs.database_url(ref_db)
            try:
                workers = args.server_workers
                log(f"starting creditbank serve --workers {workers} (projections: {args.projections})")
                server = procs.start_server(
                    url, workdir, projections=args.projections, serve_args=["--workers", str(workers)]
                )
                results["server_pid"] = server.pid
                try:
                    try:
                        asyncio.run(scenarios(server, url, workdir, sizes, args, results))
                    except Failure as failure:
                        ended = server.exited()
                        if ended:
                            raise Failure(f"{failure} ({ended}: not stopped by the bench)") from failure
                        raise
                finally:
                    server.stop()
                    results["server_peak_rss_mb"] = server.memory.peak_rss_kb / 1024
                    results["server_vmhwm_mb"] = server.memory.hwm_kb / 1024
                    if server.worker is not None:
                        results["worker_peak_rss_mb"] = server.worker.memory.peak_rss_kb / 1024
                        results["worker_vmhwm_mb"] = server.worker.memory.hwm_kb / 1024
                    log(
                        f"server stopped; peak RSS {results['server_peak_rss_mb']:.0f} MB,"
                        f" VmHWM {results['server_vmhwm_mb']:.0f} MB"
                    )
                rebuild(url, workdir, results)
                references(ref_url, size, workdir, results)
                ok = True
            finally:
                if not args.keep:
                    for db in (main_db, ref_db):
                        with contextlib.suppress(Exception):
                            db.drop()
    except Failure as failure:
        results["failure"] = str(failure)
        log(f"FAILED: {failure}")
    finally:
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        results["loadavg_end"] = procs.loadavg()
        if args.out:
            from bench.report import write

            out = Path(args.out)
            raw = (
                Path(__file__).parent / "results" / f"{size}.json"
                if out.name == "BENCHMARKS.md"
                else out.with_suffix(".json")
            )
            raw.parent.mkdir(parents=True, exist_ok=True)
            raw.write_text(json.dumps(results, indent=1, default=str))
            write(results, out)
            log(f"wrote {out} and {raw}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (CI smoke test): ~2k learners, 20k completions"
    )
    parser.add_argument("--size", choices=("1m", "5m"), default="1m", help="1m: 100k learners, 1M completions")
    parser.add_argument("--database-url", help="use this PostgreSQL (fresh databases are created and dropped)")
    parser.add_argument("--out", default="BENCHMARKS.md", help="where to write the report ('' for none)")
    parser.add_argument(
        "--profile",
        help="py-spy record the server during one scenario (--profile-scenario) into this file "
        "(.svg flamegraph, .txt collapsed stacks, .json speedscope)",
    )
    parser.add_argument(
        "--profile-scenario",
        choices=("roster", "batch", "single", "balance", "eligibility"),
        default="batch",
        help="the scenario --profile records (default: batch ingest)",
    )
    parser.add_argument(
        "--projections",
        choices=("inline", "worker"),
        default="worker",
        help="worker (default): the server with CREDITBANK_INLINE_PROJECTIONS=no plus a separate "
        "`creditbank projections run` process (docker/compose.yaml); inline: the projections in the server",
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=1,
        metavar="N",
        help="run the server as `creditbank serve --workers N` (N processes sharing the port; "
        "server CPU and memory are summed over them, and --profile follows them all)",
    )
    parser.add_argument(
        "--compare",
        help="a previous run's results JSON: the report shows its figures next to this run's",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and the temp dir")
    args = parser.parse_args(argv)
    if args.server_workers < 1:
        parser.error("--server-workers must be at least 1")
    if args.profile and _py_spy() is None:
        parser.error(NO_PY_SPY)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
