"""The mixed soak of issue 7: ``.venv/bin/python -m bench.soak --minutes 10
[--database-url URL] [--out SOAK.md]``.

It starts PostgreSQL (the embedded binaries in a temp dir, or a fresh database on
``--database-url``), ``creditbank serve --workers 2`` with the projections in a separate
``creditbank projections run`` worker (the bench's default deployment), registers
learners and institutions over HTTP, and for ``--minutes`` runs a mixed load at modest
concurrency: batch posts, single posts, re-posts (must answer duplicate), completion
revocations, token minting and revocation (a revoked token must get 401 at once),
balance / eligibility / history / profile reads, HR cohort reads and an auditor's chain
verification now and then. Every answer is checked: any 5xx, any unexpected status, any
connection error or any wrong count is an error.

Meanwhile it samples the memory of the server processes, the worker and PostgreSQL every
few seconds. Memory is *flat* when, after a warm-up (the first 20% of the run), each
process grows by less than ``max(25 MB, 10%)`` between the median of the first and of
the last quarter of the remaining samples (see ``MEMORY_BOUND_MB``).

At the end, once the projections have caught up, nothing may be lost or doubled: the
``Completion.Recorded`` events are exactly the items answered ``recorded`` (count,
distinct ids and the sum of the ids), the revocations answered ``recorded`` are the
revoked rows of the read model, every event is indexed once, the balances of a sample of
learners equal the sums recomputed from the answers, and the whole chain verifies.

It writes a Markdown report (``--out``) and exits non-zero on any error or failed check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg

from api import auth
from api.database import Database
from bench import procs
from bench.data import cohort_policy, completion_item, learner_body, learner_id, provider_body, provider_ids
from bench.load import Call, Stats, drive, dumps
from bench.report import machine_table
from bench.run import expect_status, log, postgres_pid, postgres_version
from ledger.hours import format_hours
from ledger.vocabulary import PASSING_ASSESSMENTS

REPO = Path(__file__).resolve().parent.parent
RECORDED_TOPIC = "ledger.completion:Completion.Recorded"
REVOKED_TOPIC = "ledger.completion:Completion.Revoked"
#: Flat memory: after the warm-up, growth below the larger of these. 25 MB is 15–20% of
#: a server process here (120–150 MB with a few thousand learners), above the steps of
#: the garbage collector, of a 1,000-item batch or a 20,000-event chain verification in
#: flight (a few MB each) and of bounded caches still settling, yet small enough to catch
#: a leak of ~50 bytes per completion posted or ~1 KB per request over ten minutes (the
#: report computes these from the run); 10% for the larger processes (PostgreSQL's
#: resident size is mostly its shared buffers).
MEMORY_BOUND_MB = 25.0
MEMORY_BOUND_FRACTION = 0.10
#: Runs shorter than this are too short to judge memory by (caches, PostgreSQL's shared
#: buffers and the allocator's arenas are still filling): the samples are only reported.
MIN_MINUTES_FOR_MEMORY = 3.0
#: Sampled beside the memory of the service's processes, but not judged for flatness.
NOT_JUDGED = frozenset({"soak client", "load average", "projection lag", "requests", "recorded"})
#: Expected status of each kind of request the soak sends.
EXPECTED = {
    "batch": 207,
    "single": 201,
    "repost_batch": 207,
    "repost_single": 200,
    "revoke": 201,
    "revoke_admin": 201,
    "revoke_again": 200,
    "revoke_foreign": 403,
    "balance": 200,
    "eligibility": 200,
    "history": 200,
    "profile": 200,
    "learner_own": 200,
    "learner_other": 403,
    "cohort": 200,
    "cohort_csv": 200,
    "token_use": 200,
    "token_revoked": 401,
    "token_revoked_1s": 401,
    "audit_window": 200,
    "audit_full": 200,
    "final_balance": 200,
    "readyz": 200,
}
#: (kind, weight) of the three groups of clients.
INGEST_MIX = (("batch", 90), ("repost_batch", 10))
WRITE_MIX = (
    ("single", 62),
    ("repost_single", 8),
    ("revoke", 18),
    ("revoke_admin", 4),
    ("revoke_again", 4),
    ("revoke_foreign", 4),
)
READ_MIX = (
    ("balance", 30),
    ("eligibility", 22),
    ("history", 14),
    ("profile", 10),
    ("learner_own", 10),
    ("learner_other", 6),
    ("cohort", 8),
)


@dataclass
class SoakConfig:
    minutes: float = 10.0
    learners: int = 3_000
    providers: int = 4
    #: ``creditbank serve --workers N`` (server processes sharing the port).
    server_workers: int = 2
    ingest_clients: int = 2
    write_clients: int = 6
    read_clients: int = 16
    batch_min: int = 100
    batch_max: int = 1_000
    sample_seconds: float = 5.0
    token_every: float = 10.0
    audit_every: float = 60.0
    csv_every: float = 30.0
    #: Learners whose balance is compared with the answers at the end.
    balance_sample: int = 300
    warmup_fraction: float = 0.2
    #: None: judge memory when the run lasts at least ``MIN_MINUTES_FOR_MEMORY``.
    judge_memory: bool | None = None
    seed: int = 7

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def memory_judged(self) -> bool:
        return self.minutes >= MIN_MINUTES_FOR_MEMORY if self.judge_memory is None else self.judge_memory


@dataclass
class Tally:
    """Answers by kind and status, and the errors: every request the soak sends."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def count(self, kind: str, status: int) -> None:
        self.statuses.setdefault(kind, Counter())[status] += 1

    def error(self, kind: str, message: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 30:
            self.samples.append(f"{kind}: {message}")

    def requests(self, kind: str) -> int:
        return sum(self.statuses.get(kind, Counter()).values())


@dataclass(frozen=True)
class Posted:
    """A completion answered ``recorded``: what the end checks need of it."""

    provider_id: str
    record_id: str
    learner_id: str
    hours: Decimal
    passing: bool


@dataclass
class Model:
    """What the answers said: the basis of the end checks. Bounded in memory whatever the
    length of the run (ids are summed, not kept; a sample of recorded items is kept)."""

    recorded: int = 0
    recorded_by_batch: int = 0
    #: Sum of the completion ids answered ``recorded``, mod 2**128.
    id_sum: int = 0
    duplicates_answered: int = 0
    hours: dict[str, Decimal] = field(default_factory=dict)
    candidates: list[Posted] = field(default_factory=list)
    revoked: dict[tuple[str, str], Posted] = field(default_factory=dict)
    revoked_keys: list[tuple[str, str]] = field(default_factory=list)
    batches: deque[tuple[str, bytes, int]] = field(default_factory=lambda: deque(maxlen=12))
    singles: deque[tuple[str, bytes]] = field(default_factory=lambda: deque(maxlen=200))

    def record(self, posted: Posted, completion_id: str, rng: random.Random) -> None:
        self.recorded += 1
        self.id_sum = (self.id_sum + UUID(completion_id).int) % 2**128
        if posted.passing:
            self.hours[posted.learner_id] = self.hours.get(posted.learner_id, Decimal(0)) + posted.hours
        if len(self.candidates) < 20_000:
            self.candidates.append(posted)
        else:
            self.candidates[rng.randrange(len(self.candidates))] = posted

    def take_candidate(self, rng: random.Random) -> Posted | None:
        if not self.candidates:
            return None
        i = rng.randrange(len(self.candidates))
        self.candidates[i], self.candidates[-1] = self.candidates[-1], self.candidates[i]
        return self.candidates.pop()

    def revoke(self, posted: Posted) -> None:
        key = (posted.provider_id, posted.record_id)
        self.revoked[key] = posted
        self.revoked_keys.append(key)
        if posted.passing:
            self.hours[posted.learner_id] -= posted.hours


# -- memory and CPU ------------------------------------------------------------------


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Processes:
    """The processes whose memory and CPU the soak follows, by name: ``server`` (the
    first server process), ``server 2``… (the further ``serve --workers`` processes),
    ``worker`` (the projections) and ``postgres`` (the embedded cluster: the postmaster
    and all its children, by PSS so that the shared buffers count once)."""

    def __init__(self, server: procs.Server, pg_pid: int | None) -> None:
        self.server, self.pg_pid = server, pg_pid
        self.servers: list[int] = []

    def groups(self) -> dict[str, list[int]]:
        children = [p for p in procs.descendants(self.server.pid) if "spawn_main" in _cmdline(p)]
        for pid in children:
            if pid not in self.servers:
                self.servers.append(pid)
        found: dict[str, list[int]] = {"server": [self.server.pid]}
        for n, pid in enumerate(self.servers, start=2):
            found[f"server {n}"] = [pid]
        if self.server.worker is not None:
            found["worker"] = [self.server.worker.pid]
        if self.pg_pid is not None:
            found["postgres"] = [self.pg_pid, *procs.descendants(self.pg_pid)]
        return found

    def memory_mb(self) -> dict[str, float]:
        out = {}
        for name, pids in self.groups().items():
            size = procs.pss_kb if name == "postgres" else procs.rss_kb
            out[name] = sum(size(p) for p in pids) / 1024
        out["soak client"] = procs.rss_kb(os.getpid()) / 1024
        return out

    def cpu_seconds(self) -> dict[str, float]:
        used = {name: sum(procs.process_cpu_seconds(p) for p in pids) for name, pids in self.groups().items()}
        used["soak client"] = time.process_time()
        busy, _ = procs.machine_cpu()
        used["machine"] = busy / os.sysconf("SC_CLK_TCK")
        return used


def cpu_cores(start: dict[str, float], end: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores used per process between two ``cpu_seconds`` snapshots; ``others`` is what
    the rest of the machine used meanwhile (other users' work: an upper bound, since
    PostgreSQL backends that ended are not counted as ours)."""
    cores = {k: max(0.0, end[k] - start.get(k, 0.0)) / seconds for k in end if seconds > 0}
    ours = sum(v for k, v in cores.items() if k != "machine")
    cores["others"] = max(0.0, cores.get("machine", 0.0) - ours)
    return {k: round(v, 2) for k, v in cores.items()}


@dataclass
class MemoryVerdict:
    name: str
    first: float
    peak: float
    last: float
    baseline: float | None = None
    end: float | None = None
    bound: float | None = None
    #: MB per minute over the last half of the run after the warm-up (least squares):
    #: near 0 once bounded caches have filled, positive for a leak.
    slope: float | None = None

    @property
    def growth(self) -> float | None:
        return None if self.baseline is None or self.end is None else self.end - self.baseline

    @property
    def flat(self) -> bool | None:
        growth = self.growth
        return None if growth is None or self.bound is None else growth < self.bound


def judge_memory(samples: list[tuple[float, dict[str, float]]], warmup: float, judged: bool) -> list[MemoryVerdict]:
    """Per process: first, peak and last sample; when ``judged``, the growth after the
    warm-up (median of the last quarter of the later samples minus median of the first
    quarter) against ``max(MEMORY_BOUND_MB, MEMORY_BOUND_FRACTION × baseline)``."""
    names = [n for n in samples[0][1] if n not in NOT_JUDGED] if samples else []
    verdicts = []
    for name in names:
        series = [(t, mb[name]) for t, mb in samples if mb.get(name)]
        if not series:
            continue
        verdict = MemoryVerdict(name, series[0][1], max(v for _, v in series), series[-1][1])
        later = [v for t, v in series if t >= warmup]
        if judged and len(later) >= 4:
            quarter = max(1, len(later) // 4)
            verdict.baseline = statistics.median(later[:quarter])
            verdict.end = statistics.median(later[-quarter:])
            verdict.bound = max(MEMORY_BOUND_MB, MEMORY_BOUND_FRACTION * verdict.baseline)
            half = [(t, v) for t, v in series if t >= warmup][len(later) // 2 :]
            with contextlib.suppress(statistics.StatisticsError):
                fit = statistics.linear_regression([t / 60 for t, _ in half], [v for _, v in half])
                verdict.slope = fit.slope
        verdicts.append(verdict)
    return verdicts


# -- the load --------------------------------------------------------------------------


class Soak:
    """The clients' shared state: tokens, learners, the model of what was answered."""

    def __init__(
        self,
        config: SoakConfig,
        session: aiohttp.ClientSession,
        base: str,
        url: str,
        workdir: Path,
        tokens: dict[str, str],
        providers: list[str],
        learners: list[str],
    ) -> None:
        self.config, self.session, self.base, self.url, self.workdir = config, session, base, url, workdir
        self.tokens, self.providers, self.learners = tokens, providers, learners
        self.rng = random.Random(config.seed)
        self.tally = Tally()
        self.model = Model()
        self.batch_no = 0
        self.single_no = 0
        self.own_learners = [k.removeprefix("learner:") for k in tokens if k.startswith("learner:")]
        self.tokens_churned = 0
        self.audit_windows: list[dict[str, Any]] = []
        #: The projection's lag (events) at the latest /readyz.
        self.lag = 0

    # -- calls ------------------------------------------------------------------------

    def _pick(self, mix: tuple[tuple[str, int], ...]) -> str:
        return self.rng.choices([k for k, _ in mix], [w for _, w in mix])[0]

    def ingest_calls(self) -> Iterator[Call]:
        while True:
            kind = self._pick(INGEST_MIX)
            if kind == "repost_batch" and self.model.batches:
                provider, body, n = self.rng.choice(self.model.batches)
                yield Call("POST", "/v1/completions", self.tokens[provider], body, context=(kind, n))
                continue
            provider = self.providers[self.batch_no % len(self.providers)]
            size = self.rng.randint(self.config.batch_min, self.config.batch_max)
            items = [completion_item(self.rng, f"SB{self.batch_no:05d}", i, len(self.learners)) for i in range(size)]
            self.batch_no += 1
            body = dumps({"completions": items})
            context = ("batch", (provider, items, body))
            yield Call("POST", "/v1/completions", self.tokens[provider], body, context=context)

    def write_calls(self) -> Iterator[Call]:
        while True:
            kind = self._pick(WRITE_MIX)
            call = self._revocation(kind) if kind.startswith("revoke") else None
            if call is None and kind == "repost_single" and self.model.singles:
                provider, body = self.rng.choice(self.model.singles)
                call = Call("POST", "/v1/completions", self.tokens[provider], body, context=(kind, None))
            if call is None:
                provider = self.providers[self.single_no % len(self.providers)]
                item = completion_item(self.rng, "SS", self.single_no, len(self.learners))
                self.single_no += 1
                body = dumps(item)
                context = ("single", (provider, item))
                call = Call("POST", "/v1/completions", self.tokens[provider], body, context=context)
            yield call

    def _revocation(self, kind: str) -> Call | None:
        model = self.model
        if kind == "revoke_again":
            if not model.revoked_keys:
                return None
            posted = model.revoked[self.rng.choice(model.revoked_keys)]
            token = self.tokens[posted.provider_id]
        elif kind == "revoke_foreign":
            if not model.candidates or len(self.providers) < 2:
                return None
            posted = self.rng.choice(model.candidates)  # stays a candidate: this must be refused
            token = self.tokens[self.rng.choice([p for p in self.providers if p != posted.provider_id])]
        else:
            taken = model.take_candidate(self.rng)
            if taken is None:
                return None
            posted = taken
            token = self.tokens["admin"] if kind == "revoke_admin" else self.tokens[posted.provider_id]
        path = f"/v1/completions/{posted.provider_id}/{posted.record_id}/revocation"
        body = dumps({"reason": f"soak: {kind}"})
        return Call("POST", path, token, body, context=(kind, posted))

    def read_calls(self) -> Iterator[Call]:
        while True:
            kind = self._pick(READ_MIX)
            n = self.rng.randrange(len(self.learners))
            learner = self.learners[n]
            if kind == "balance":
                yield Call("GET", f"/v1/learners/{learner}/balance", self.tokens["hr"], context=(kind, learner))
            elif kind == "eligibility":
                target = "teacher_annual" if learner_body(n)["jurisdiction"] == "220106" else "teacher_cycle"
                path = f"/v1/learners/{learner}/eligibility?target={target}"
                yield Call("GET", path, self.tokens["hr"], context=(kind, learner))
            elif kind == "history":
                path = f"/v1/learners/{learner}/history?limit=200"
                yield Call("GET", path, self.tokens["auditor"], context=(kind, learner))
            elif kind == "profile":
                yield Call("GET", f"/v1/learners/{learner}", self.tokens["hr"], context=(kind, learner))
            elif kind in ("learner_own", "learner_other"):
                own = self.rng.choice(self.own_learners)
                if kind == "learner_own":
                    target = own
                else:  # anyone else: refused
                    target = learner if learner != own else self.learners[(n + 1) % len(self.learners)]
                path = f"/v1/learners/{target}/{self.rng.choice(['balance', 'history'])}"
                yield Call("GET", path, self.tokens[f"learner:{own}"], context=(kind, target))
            else:
                path = "/v1/eligibility?target=teacher_annual&jurisdiction=220106&limit=50&totals=false"
                yield Call("GET", path, self.tokens["hr"], context=(kind, None))

    # -- answers ----------------------------------------------------------------------

    def handle(self, call: Call, status: int, raw: bytes, stats: Stats) -> None:
        """Check one answer (``bench.load.drive``'s handler); connection errors are counted
        by ``drive`` itself, in the group's ``Stats``."""
        kind, payload = call.context
        self.tally.count(kind, status)
        if status != EXPECTED[kind]:
            self.tally.error(kind, f"{call.method} {call.path}: HTTP {status} {raw[:300]!r}")
            return
        try:
            problem = self._check(kind, payload, json.loads(raw))
        except (ValueError, KeyError, TypeError) as error:
            problem = f"unreadable answer ({type(error).__name__}: {error}): {raw[:300]!r}"
        if problem:
            self.tally.error(kind, f"{call.method} {call.path}: {problem}")
        else:
            stats.items += 1

    def _check(self, kind: str, payload: Any, body: Any) -> str | None:
        model = self.model
        if kind == "batch":
            provider, items, raw = payload
            results = body["results"]
            if len(results) != len(items):
                return f"{len(results)} results for {len(items)} items"
            for item, result in zip(items, results, strict=True):
                if result["status"] == "recorded" and result["record_id"] == item["record_id"]:
                    model.record(_posted(provider, item), result["completion_id"], self.rng)
                    model.recorded_by_batch += 1
            if body["recorded"] != len(items) or body["duplicates"] or body["rejected"]:
                bad = [r for r in results if r["status"] != "recorded"][:3]
                return f"recorded {body['recorded']}/{len(items)}: {bad}"
            model.batches.append((provider, raw, len(items)))
            return None
        if kind == "repost_batch":
            model.duplicates_answered += body["duplicates"]
            if body["duplicates"] != payload or body["recorded"] or body["rejected"]:
                return f"re-post: recorded {body['recorded']}, duplicates {body['duplicates']}/{payload}"
            return None
        if kind == "single":
            provider, item = payload
            if body.get("status") != "recorded" or body.get("record_id") != item["record_id"]:
                return f"answered {body}"
            model.record(_posted(provider, item), body["completion_id"], self.rng)
            model.singles.append((provider, dumps(item)))
            return None
        if kind == "repost_single":
            model.duplicates_answered += body.get("status") == "duplicate"
            return None if body.get("status") == "duplicate" else f"answered {body}"
        if kind in ("revoke", "revoke_admin"):
            if body.get("status") != "recorded":
                return f"answered {body}"
            model.revoke(payload)
            return None
        if kind == "revoke_again":
            return None if body.get("status") == "unchanged" else f"answered {body}"
        if kind == "revoke_foreign":
            return None if body.get("code") == "revocation_not_permitted" else f"answered {body}"
        if kind in ("balance", "eligibility", "history", "profile", "learner_own"):
            return None if body.get("learner_id") == payload else f"answered for {body.get('learner_id')}"
        if kind == "learner_other":
            return None if body.get("code") == "forbidden" else f"answered {body}"
        if kind == "cohort":
            rows = body["learners"]
            if len(rows) > 50 or any(r["jurisdiction"] != "220106" for r in rows):
                return f"{len(rows)} rows, jurisdictions {sorted({r['jurisdiction'] for r in rows})}"
            return None
        return None

    # -- requests outside the groups ----------------------------------------------------

    async def request(
        self,
        kind: str,
        method: str,
        path: str,
        token: str | None,
        *,
        headers: dict[str, str] | None = None,
        note: str = "",
    ) -> tuple[int, bytes] | None:
        """One request, counted and checked for its expected status; None on an error
        (``note`` says what it was, in the error's message)."""
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        sent.update(headers or {})
        try:
            async with self.session.request(method, self.base + path, headers=sent) as r:
                raw = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as error:
            self.tally.error(kind, f"{note}{': ' if note else ''}{method} {path}: {type(error).__name__}: {error}")
            return None
        self.tally.count(kind, status)
        if status != EXPECTED[kind]:
            self.tally.error(kind, f"{note}{': ' if note else ''}{method} {path}: HTTP {status} {raw[:300]!r}")
            return None
        return status, raw

    async def churn_token(self, conn: asyncpg.Connection) -> None:
        """Mint a token, use it until it is surely cached, revoke it, and check that it is
        refused with 401 at once and a second later. Every third revocation goes
        through ``creditbank tokens revoke``, the others through ``api.auth``."""
        n = self.tokens_churned
        self.tokens_churned += 1
        role = ("institution", "hr", "learner", "auditor", "admin")[n % 5]
        provider = self.providers[n % len(self.providers)]
        own = self.own_learners[n % len(self.own_learners)]
        token = await auth.mint(
            conn,
            role,
            label=f"soak churn {n}",
            provider_id=provider if role == "institution" else None,
            jurisdiction="220000" if role == "hr" else None,
            learner_id=own if role == "learner" else None,
        )
        path = {
            "institution": f"/v1/providers/{provider}",
            "hr": f"/v1/learners/{self.rng.choice(self.learners)}/balance",
            "learner": f"/v1/learners/{own}/balance",
            "auditor": "/v1/events?after=0&limit=1",
            "admin": f"/v1/providers/{provider}",
        }[role]
        for _ in range(4):
            if await self.request("token_use", "GET", path, token) is None:
                return
        token_id = token.split("_")[1]
        how = "creditbank tokens revoke" if n % 3 == 2 else "api.auth.revoke"
        if n % 3 == 2:
            await asyncio.to_thread(procs.cli, self.url, self.workdir, "tokens", "revoke", token_id)
        elif not await auth.revoke(conn, token_id):
            self.tally.error("token_revoked", f"auth.revoke({token_id}) found no active token")
        note = f"{role} token {token_id} revoked by {how}, used"
        await self.request("token_revoked", "GET", path, token, note=f"{note} at once")
        await asyncio.sleep(1.0)
        await self.request("token_revoked_1s", "GET", path, token, note=f"{note} 1 s later")

    async def ready(self) -> dict[str, Any] | None:
        """/readyz, counted like any request: a 503 is an error."""
        got = await self.request("readyz", "GET", "/readyz", None)
        if got is None:
            return None
        body: dict[str, Any] = json.loads(got[1])
        self.lag = int(body["lag"])
        return body

    async def watch_ready(self, stop: asyncio.Event) -> None:
        """/readyz once a second, as a load balancer's probe would: the projection's lag."""
        while not stop.is_set():
            await self.ready()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def caught_up(self, max_seconds: float) -> dict[str, Any] | None:
        """/readyz once the read models have applied every event (None if they did not)."""
        deadline = time.perf_counter() + max_seconds
        while time.perf_counter() < deadline:
            body = await self.ready()
            if body is not None and body["lag"] == 0:
                return body
            await asyncio.sleep(0.25)
        return None

    async def audit_window(self) -> None:
        """The auditor verifies the chain over the last 20,000 indexed events."""
        ready = await self.ready()
        if ready is None:
            return
        to = int(ready["position"])
        start = max(1, to - 20_000)
        t0 = time.perf_counter()
        got = await self.request(
            "audit_window", "GET", f"/v1/audit/verification?from={start}&to={to}", self.tokens["auditor"]
        )
        if got is None:
            return
        report = json.loads(got[1])
        self.audit_windows.append(
            {"from": start, "to": to, "events": report.get("events_checked"), "seconds": time.perf_counter() - t0}
        )
        if not report.get("ok"):
            self.tally.error("audit_window", f"the chain does not verify: {report.get('first_break')}")

    async def cohort_csv(self) -> None:
        got = await self.request(
            "cohort_csv",
            "GET",
            "/v1/eligibility?target=teacher_cycle&jurisdiction=220106&limit=200",
            self.tokens["hr"],
            headers={"Accept": "text/csv"},
        )
        if got is not None and len(got[1].decode("utf-8-sig").splitlines()) < 2:
            self.tally.error("cohort_csv", f"no rows: {got[1][:200]!r}")

    async def control(self, deadline: float) -> None:
        """Token churn, audit windows and CSV cohorts, each at its own pace."""
        conn = await asyncpg.connect(**Database.from_url(self.url).asyncpg_kwargs())
        cfg = self.config
        t0 = time.perf_counter()
        due = {
            "token": t0 + min(2.0, cfg.token_every),
            "audit": t0 + min(30.0, cfg.audit_every),
            "csv": t0 + min(5.0, cfg.csv_every),
        }
        try:

            async def churn() -> None:
                await self.churn_token(conn)

            steps: dict[str, tuple[float, str, Callable[[], Awaitable[None]]]] = {
                "token": (cfg.token_every, "token_revoked", churn),
                "audit": (cfg.audit_every, "audit_window", self.audit_window),
                "csv": (cfg.csv_every, "cohort_csv", self.cohort_csv),
            }
            while time.perf_counter() < deadline:
                for name, (every, kind, step) in steps.items():
                    now = time.perf_counter()
                    if now < due[name]:
                        continue
                    due[name] = now + every
                    try:
                        await step()
                    except Exception as error:  # counted, and the soak goes on
                        self.tally.error(kind, f"{type(error).__name__}: {error}")
                await asyncio.sleep(min(0.5, max(0.0, deadline - time.perf_counter())))
        finally:
            await conn.close()


def _posted(provider: str, item: dict[str, Any]) -> Posted:
    return Posted(
        provider,
        item["record_id"],
        item["learner_id"],
        Decimal(item["hours"]),
        item["assessment"] in PASSING_ASSESSMENTS,
    )


async def sample_memory(
    run: Soak, processes: Processes, t0: float, stop: asyncio.Event, samples: list[tuple[float, dict[str, float]]]
) -> None:
    """Every ``sample_seconds``: memory per process, and beside it the load average, the
    projection lag (events) and the requests and completions answered so far."""
    every = run.config.sample_seconds
    while True:
        mb = processes.memory_mb()
        mb["load average"] = procs.loadavg()
        mb["projection lag"] = float(run.lag)
        mb["requests"] = float(sum(run.tally.requests(k) for k in run.tally.statuses))
        mb["recorded"] = float(run.model.recorded)
        samples.append((time.perf_counter() - t0, mb))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
            return


# -- the run ---------------------------------------------------------------------------


async def setup(
    config: SoakConfig, session: aiohttp.ClientSession, base: str, url: str, workdir: Path
) -> tuple[Soak, dict[str, Any]]:
    """Tokens (``api.auth``, as ``creditbank tokens create`` mints them), institutions and
    learners (HTTP); the projections caught up."""
    providers = provider_ids(config.providers)
    learners = [learner_id(n) for n in range(config.learners)]
    conn = await asyncpg.connect(**Database.from_url(url).asyncpg_kwargs())
    try:
        tokens = {
            "admin": await auth.mint(conn, "admin", label="soak"),
            "hr": await auth.mint(conn, "hr", jurisdiction="220000", label="soak"),
            "auditor": await auth.mint(conn, "auditor", label="soak"),
        }
        for p in providers:
            tokens[p] = await auth.mint(conn, "institution", provider_id=p, label="soak")
        for own in learners[:3]:
            tokens[f"learner:{own}"] = await auth.mint(conn, "learner", learner_id=own, label="soak")
    finally:
        await conn.close()
    admin = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"}
    for p in providers:
        async with session.post(base + "/v1/providers", data=dumps(provider_body(p)), headers=admin) as r:
            if r.status not in (200, 201):
                raise RuntimeError(f"POST /v1/providers {p}: {r.status} {await r.text()}")
    # The district's own policy, which defines the teacher_annual target the cohort and
    # verdict reads ask for.
    district = cohort_policy()
    async with session.post(base + "/v1/policies", data=dumps(district), headers=admin) as r:
        if r.status not in (200, 201):
            raise RuntimeError(f"POST /v1/policies {district['policy_id']}: {r.status} {await r.text()}")
    log(f"registering {config.learners:,} learners over HTTP (16 clients)")
    calls = (Call("POST", "/v1/learners", tokens["admin"], dumps(learner_body(n))) for n in range(config.learners))
    stats = await drive(
        session, base, calls, name="learners", concurrency=16, max_seconds=3600, handle=expect_status(201)
    )
    if stats.items != config.learners:
        raise RuntimeError(f"registered {stats.items} of {config.learners} learners: {stats.errors}")
    run = Soak(config, session, base, url, workdir, tokens, providers, learners)
    ready = await run.caught_up(max_seconds=600)
    if ready is None:
        raise RuntimeError(f"the projections did not catch up after registration: {run.tally.samples}")
    return run, {**stats.summary(), "head": ready["head"]}


async def soak(config: SoakConfig, server: procs.Server, url: str, workdir: Path, results: dict[str, Any]) -> None:
    base = server.base
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        run, results["registration"] = await setup(config, session, base, url, workdir)
        results["tally"], results["model"] = run.tally, run.model
        processes = Processes(server, postgres_pid(workdir))
        samples: list[tuple[float, dict[str, float]]] = []
        results["samples"] = samples
        stop = asyncio.Event()
        log(
            f"mixed load for {config.minutes:g} min: {config.ingest_clients} batch clients,"
            f" {config.write_clients} write clients, {config.read_clients} read clients, 1 control client"
        )
        t0 = time.perf_counter()
        cpu0 = processes.cpu_seconds()
        memory = asyncio.create_task(sample_memory(run, processes, t0, stop, samples))
        watch = asyncio.create_task(run.watch_ready(stop))
        progress = asyncio.create_task(_progress(run, t0, config.seconds, samples))
        groups = await asyncio.gather(
            drive(
                session,
                base,
                run.ingest_calls(),
                name="ingest",
                concurrency=config.ingest_clients,
                max_seconds=config.seconds,
                handle=run.handle,
            ),
            drive(
                session,
                base,
                run.write_calls(),
                name="writes",
                concurrency=config.write_clients,
                max_seconds=config.seconds,
                handle=run.handle,
            ),
            drive(
                session,
                base,
                run.read_calls(),
                name="reads",
                concurrency=config.read_clients,
                max_seconds=config.seconds,
                handle=run.handle,
            ),
            run.control(t0 + config.seconds),
        )
        load_seconds = time.perf_counter() - t0
        cpu = cpu_cores(cpu0, processes.cpu_seconds(), load_seconds)
        stop.set()
        await memory
        await watch
        progress.cancel()
        stats: list[Stats] = [g for g in groups if isinstance(g, Stats)]
        log(f"load over after {load_seconds:.0f} s; waiting for the projections to catch up")
        results.update(
            load_seconds=load_seconds,
            cpu=cpu,
            groups=[s.summary() for s in stats],
            audit_windows=run.audit_windows,
            tokens_churned=run.tokens_churned,
            max_lag=max((mb["projection lag"] for _, mb in samples), default=0),
        )
        for s in stats:
            for message in s.errors:
                run.tally.error(f"{s.name} (connection)", message)
            for _ in range(s.error_count - len(s.errors)):
                run.tally.errors[f"{s.name} (connection)"] += 1
        await end_checks(run, results)


async def _progress(run: Soak, t0: float, seconds: float, samples: list[tuple[float, dict[str, float]]]) -> None:
    while True:
        await asyncio.sleep(60)
        mem = samples[-1][1] if samples else {}
        sizes = ", ".join(f"{k} {v:.0f} MB" for k, v in mem.items() if k not in NOT_JUDGED or k == "soak client")
        log(
            f"{time.perf_counter() - t0:.0f}/{seconds:.0f} s: {run.model.recorded:,} recorded,"
            f" {len(run.model.revoked):,} revoked, {sum(run.tally.requests(k) for k in run.tally.statuses):,}"
            f" requests, {sum(run.tally.errors.values())} errors; {sizes}; lag {mem.get('projection lag', 0):.0f}"
        )


async def end_checks(run: Soak, results: dict[str, Any]) -> None:
    """Nothing lost, nothing doubled: the log, the read models and the balances against
    the answers; then the whole chain verifies."""
    checks: list[tuple[str, Any, Any]] = []
    ready = await run.caught_up(max_seconds=900)
    if ready is None:
        raise RuntimeError("the projections did not catch up within 15 minutes of the load's end")
    checks.append(("projections caught up (/readyz lag)", 0, ready["lag"]))
    model = run.model
    conn = await asyncpg.connect(**Database.from_url(run.url).asyncpg_kwargs())
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS events, coalesce(max(notification_id), 0) AS head,"
            " count(*) FILTER (WHERE topic = $1) AS recorded,"
            " count(DISTINCT originator_id) FILTER (WHERE topic = $1) AS recorded_distinct,"
            " count(*) FILTER (WHERE topic = $2) AS revoked,"
            " count(DISTINCT originator_id) FILTER (WHERE topic = $2) AS revoked_distinct"
            " FROM creditbank_events",
            RECORDED_TOPIC,
            REVOKED_TOPIC,
        )
        id_sum = 0
        async with conn.transaction():
            cursor = conn.cursor(
                "SELECT originator_id FROM creditbank_events WHERE topic = $1", RECORDED_TOPIC, prefetch=20_000
            )
            async for record in cursor:
                id_sum = (id_sum + record[0].int) % 2**128
        projected = await conn.fetchval("SELECT count(*) FROM rm_completions")
        revoked_rows = {
            (r[0], r[1])
            for r in await conn.fetch(
                "SELECT provider_id, record_id FROM rm_completions WHERE revoked_position IS NOT NULL"
            )
        }
        indexed = await conn.fetchval("SELECT count(*) FROM rm_event_index")
    finally:
        await conn.close()
    revoked = set(model.revoked)
    checks += [
        ("Completion.Recorded events = items answered recorded", model.recorded, row["recorded"]),
        ("distinct completion ids in those events", model.recorded, row["recorded_distinct"]),
        ("sum of those ids = sum of the ids answered (mod 2^128)", f"{model.id_sum:032x}", f"{id_sum:032x}"),
        ("rm_completions rows", model.recorded, projected),
        ("Completion.Revoked events = revocations answered recorded", len(revoked), row["revoked"]),
        ("distinct completions in those events", len(revoked), row["revoked_distinct"]),
        (
            "revoked rows in rm_completions = those revocations (same records)",
            len(revoked),
            len(revoked_rows) if revoked_rows == revoked else f"{len(revoked_rows)}, other records",
        ),
        ("rm_event_index rows = events (each applied once)", row["events"], indexed),
        ("/readyz head = the table's head", row["head"], ready["head"]),
    ]
    head = int(row["head"])
    sample = run.rng.sample(run.learners, min(run.config.balance_sample, len(run.learners)))
    sample += [p.learner_id for p in list(model.revoked.values())[:100] if p.learner_id not in sample]
    wrong = []
    for learner in sample:
        got = await run.request(
            "final_balance", "GET", f"/v1/learners/{learner}/balance?min_position={head}", run.tokens["hr"]
        )
        if got is None:
            continue
        hours = json.loads(got[1])["total"]["hours"]
        expected = format_hours(model.hours.get(learner, Decimal(0)))
        if hours != expected:
            wrong.append(f"{learner}: {hours} h, the answers say {expected} h")
    for message in wrong[:10]:
        run.tally.error("final_balance", message)
    run.tally.errors["final_balance"] += max(0, len(wrong) - 10)
    checks.append((f"balances of {len(sample)} learners = sums of the answers", len(sample), len(sample) - len(wrong)))
    t0 = time.perf_counter()
    got = await run.request("audit_full", "GET", "/v1/audit/verification", run.tokens["auditor"])
    if got is not None:
        report = json.loads(got[1])
        results["audit_full"] = {"events": report.get("events_checked"), "seconds": time.perf_counter() - t0}
        checks.append(("the whole chain verifies (auditor)", True, bool(report.get("ok"))))
    results["checks"] = [(name, expected, actual, expected == actual) for name, expected, actual in checks]
    results["events"] = row["events"]


def _git() -> str:
    """The commit under test, and the tracked files changed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    if not changed:
        return f"{commit} (clean checkout of {REPO})"
    names = [line[3:] for line in changed]
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"{commit} + uncommitted changes to {shown} ({REPO})"


@dataclass
class SoakResult:
    ok: bool
    errors: int
    failures: list[str]
    results: dict[str, Any]
    report: str


def run_soak(config: SoakConfig, database_url: str | None = None, out: Path | None = None) -> SoakResult:
    """The whole soak: processes up, setup, load, end checks, report; processes down."""
    workdir = Path(tempfile.mkdtemp(prefix="creditbank-soak-"))
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    results: dict[str, Any] = {
        "config": config,
        "command": " ".join([".venv/bin/python", "-m", "bench.soak", *sys.argv[1:]])
        if Path(sys.argv[0]).name in ("soak.py", "__main__.py")
        else f"run_soak({config})",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_start": procs.loadavg(),
        "git": _git(),
    }
    failures: list[str] = []
    log(f"soak: {config.minutes:g} min; workdir {workdir}")
    try:
        with procs.postgres(database_url, workdir) as (cluster, kind):
            db = cluster.with_dbname(f"creditbank_soak_{stamp}_{os.getpid()}")
            db.drop()
            db.ensure_exists()
            results["postgres"] = {"kind": kind, "version": asyncio.run(postgres_version(cluster))}
            url = procs.database_url(db)
            try:
                serve_args = ("--workers", str(config.server_workers)) if config.server_workers > 1 else ()
                log(f"starting creditbank serve {' '.join(serve_args)} and a projections worker")
                server = procs.start_server(url, workdir, projections="worker", serve_args=serve_args)
                try:
                    asyncio.run(soak(config, server, url, workdir, results))
                except Exception as error:
                    ended = server.exited()
                    failures.append(f"{type(error).__name__}: {error}" + (f" ({ended})" if ended else ""))
                finally:
                    ended = server.exited()
                    if ended:
                        failures.append(f"a process ended during the soak: {ended}")
                    server.stop()
            finally:
                with contextlib.suppress(Exception):
                    db.drop()
    except Exception as error:  # the database or the server did not start
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["loadavg_end"] = procs.loadavg()
    tally: Tally = results.get("tally", Tally())
    errors = sum(tally.errors.values())
    for name, expected, actual, ok in results.get("checks", []):
        if not ok:
            failures.append(f"{name}: expected {expected}, got {actual}")
    warmup = config.seconds * config.warmup_fraction
    verdicts = judge_memory(results.get("samples", []), warmup, config.memory_judged)
    results["memory"] = verdicts
    for v in verdicts:
        if v.flat is False:
            failures.append(f"memory of {v.name} grew {v.growth:.1f} MB after the warm-up (bound {v.bound:.1f} MB)")
    if errors:
        failures.insert(0, f"{errors} errors")
    ok = not failures and "checks" in results
    report = render(results, ok, errors, failures)
    if out is not None:
        out.write_text(report, encoding="utf-8")
        log(f"wrote {out}")
    return SoakResult(ok, errors, failures, results, report)


# -- the report ------------------------------------------------------------------------


def render(results: dict[str, Any], ok: bool, errors: int, failures: list[str]) -> str:
    config: SoakConfig = results["config"]
    tally: Tally = results.get("tally", Tally())
    model: Model = results.get("model", Model())
    seconds = results.get("load_seconds") or float("nan")
    lines = ["# Soak (issue 7)", ""]
    lines.append(
        f"**{'PASSED' if ok else 'FAILED'}**: {config.minutes:g} minutes of mixed load, {errors} errors"
        + ("; memory flat" if ok and config.memory_judged else "")
        + ("" if config.memory_judged else f"; memory not judged (run shorter than {MIN_MINUTES_FOR_MEMORY:g} min)")
        + "."
    )
    lines.append("")
    for failure in failures:
        lines.append(f"- {failure}")
    if failures:
        lines.append("")
    lines += [
        "```",
        results["command"],
        "```",
        "",
        f"`creditbank serve --workers {config.server_workers}` (server processes sharing the port) with the "
        "projections in a separate `creditbank projections run` worker, on a fresh database; "
        f"{config.learners:,} learners and {config.providers} institutions registered over HTTP. Clients: "
        f"{config.ingest_clients} posting batches of {config.batch_min}–{config.batch_max} (and re-posting "
        f"earlier ones), {config.write_clients} posting single completions, re-posts and revocations, "
        f"{config.read_clients} reading, and one control client minting and revoking a token every "
        f"{config.token_every:g} s, verifying the last 20,000 events of the chain every "
        f"{config.audit_every:g} s and reading a CSV cohort every {config.csv_every:g} s.",
        "",
    ]
    lines += machine_table(results, code=True)
    lines.append(
        f"| load average (1 min) | {results.get('loadavg_start', 0):.2f} at the start, "
        f"{results.get('loadavg_end', 0):.2f} at the end (samples below) |"
    )
    cpu = results.get("cpu", {})
    if cpu:
        parts = " · ".join(f"{k} {v:.2f}" for k, v in cpu.items() if k != "machine")
        lines.append(
            f"| CPU during the load (cores) | {parts} (machine {cpu.get('machine', 0):.2f} of {os.cpu_count()}) |"
        )
    lines.append("")

    recorded = model.recorded
    total = sum(tally.requests(k) for k in tally.statuses)
    lines += [
        "## Requests",
        "",
        f"{total:,} requests in {seconds:.0f} s of load ({total / seconds:,.1f}/s); "
        f"{recorded:,} completions recorded ({recorded / seconds:,.0f}/s: {model.recorded_by_batch:,} in "
        f"batches, {recorded - model.recorded_by_batch:,} single), {model.duplicates_answered:,} items "
        f"answered duplicate on re-posts, {len(model.revoked):,} completions revoked, "
        f"{results.get('tokens_churned', 0)} tokens minted and revoked; {results.get('events', 0):,} events "
        "in the log at the end.",
        "",
        "| kind | expected | requests | answers | errors |",
        "|---|---|---|---|---|",
    ]
    kinds = [k for k in EXPECTED if k in tally.statuses or tally.errors.get(k)]
    kinds += [k for k in tally.errors if k not in EXPECTED]
    for kind in kinds:
        answers = ", ".join(f"{s}×{n:,}" for s, n in sorted(tally.statuses.get(kind, Counter()).items()))
        lines.append(
            f"| {kind} | {EXPECTED.get(kind, '–')} | {tally.requests(kind):,} | {answers or '–'} | "
            f"{tally.errors.get(kind, 0)} |"
        )
    lines.append("")
    groups = results.get("groups", [])
    if groups:
        lines += ["| client group | clients | requests | req/s | p50 | p99 | max |", "|---|---|---|---|---|---|---|"]
        clients = {"ingest": config.ingest_clients, "writes": config.write_clients, "reads": config.read_clients}
        for g in groups:
            lines.append(
                f"| {g['name']} | {clients.get(g['name'], '')} | {g['requests']:,} | "
                f"{g['requests_per_s']:,.1f} | {g['p50_ms']:.0f} ms | {g['p99_ms']:.0f} ms | "
                f"{g['max_ms']:.0f} ms |"
            )
        lines.append("")
    windows = results.get("audit_windows", [])
    if windows:
        lines.append(
            f"Audit windows: {len(windows)} verifications of ≤ 20,000 events, "
            f"{max(w['seconds'] for w in windows):.1f} s at most."
        )
    if results.get("audit_full"):
        a = results["audit_full"]
        lines.append(f"Whole chain at the end: {a['events']:,} events in {a['seconds']:.1f} s.")
    lines.append(f"Projection lag (events behind the head, sampled): {results.get('max_lag', 0):,.0f} at most.")
    lines.append("")
    if tally.samples:
        lines += ["### Errors (first 30)", ""]
        lines += [f"- `{s[:400]}`" for s in tally.samples]
        lines.append("")

    lines += ["## Nothing lost, nothing doubled", "", "| check | expected | actual | |", "|---|---|---|---|"]
    for name, expected, actual, good in results.get("checks", []):
        lines.append(f"| {name} | {expected} | {actual} | {'ok' if good else '**WRONG**'} |")
    lines.append("")

    verdicts: list[MemoryVerdict] = results.get("memory", [])
    warmup = config.seconds * config.warmup_fraction
    lines += [
        "## Memory",
        "",
        f"Resident set size (PSS summed over the cluster's processes for PostgreSQL, so its shared buffers "
        f"count once), sampled every {config.sample_seconds:g} s. Flat means: after the warm-up (the first "
        f"{warmup:.0f} s, {config.warmup_fraction:.0%} of the run) the median of the last quarter of the "
        f"samples exceeds the median of the first quarter by less than max({MEMORY_BOUND_MB:g} MB, "
        f"{MEMORY_BOUND_FRACTION:.0%} of it) per process: above the steps of the garbage collector, of a "
        "large batch or a chain verification in flight and of bounded caches settling"
        + _leak_size(results.get("samples", []), warmup)
        + ". The slope (least squares over the last half "
        "after the warm-up) shows whether a process is still growing at the end."
        + ("" if config.memory_judged else " **Not judged in this run: it is too short.**"),
        "",
        "| process | first | peak | last | after warm-up: start → end | growth | bound | slope (last half) | flat |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        judged = "– | – | – | – | not judged"
        if v.baseline is not None and v.end is not None and v.growth is not None and v.bound is not None:
            slope = "–" if v.slope is None else f"{v.slope:+.1f} MB/min"
            judged = (
                f"{v.baseline:.0f} → {v.end:.0f} MB | {v.growth:+.1f} MB | {v.bound:.0f} MB | {slope} | "
                f"{'yes' if v.flat else '**NO**'}"
            )
        lines.append(f"| {v.name} | {v.first:.0f} MB | {v.peak:.0f} MB | {v.last:.0f} MB | {judged} |")
    lines.append("")
    samples: list[tuple[float, dict[str, float]]] = results.get("samples", [])
    if samples:
        names = list(samples[0][1])
        step = max(1, len(samples) // 20)
        shown = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
        lines += ["| t (s) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for t, mb in shown:
            cells = [f"{mb.get(n, 0):.2f}" if n == "load average" else f"{mb.get(n, 0):,.0f}" for n in names]
            lines.append(f"| {t:.0f} | " + " | ".join(cells) + " |")
        lines += ["", "(MB; load average; projection lag in events; requests and completions recorded so far.)", ""]
    return "\n".join(lines)


def _leak_size(samples: list[tuple[float, dict[str, float]]], warmup: float) -> str:
    """What a leak as large as the bound would be per request and per completion posted
    after the warm-up of this run."""
    later = [mb for t, mb in samples if t >= warmup]
    if len(later) < 2:
        return ""
    requests = later[-1]["requests"] - later[0]["requests"]
    recorded = later[-1]["recorded"] - later[0]["recorded"]
    if requests <= 0 or recorded <= 0:
        return ""
    size = MEMORY_BOUND_MB * 2**20
    return (
        f"; {MEMORY_BOUND_MB:g} MB is what a leak of {size / requests:,.0f} bytes per request, or of "
        f"{size / recorded:,.0f} bytes per completion recorded, would add over the "
        f"{requests:,.0f} requests and {recorded:,.0f} completions of this run after the warm-up"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("CREDITBANK_SOAK_MINUTES", "10")),
        help="how long the mixed load runs (default 10, or $CREDITBANK_SOAK_MINUTES)",
    )
    parser.add_argument("--database-url", help="use this PostgreSQL (a fresh database is created and dropped)")
    parser.add_argument("--out", default=str(REPO / "SOAK.md"), help="where to write the report ('' for none)")
    parser.add_argument("--learners", type=int, default=SoakConfig.learners)
    parser.add_argument(
        "--server-workers", type=int, default=SoakConfig.server_workers, help="creditbank serve --workers N (default 2)"
    )
    args = parser.parse_args(argv)
    config = SoakConfig(minutes=args.minutes, learners=args.learners, server_workers=args.server_workers)
    try:
        result = run_soak(config, args.database_url, Path(args.out) if args.out else None)
    except KeyboardInterrupt:
        return 130
    model: Model = result.results.get("model", Model())
    print(
        f"soak {'PASSED' if result.ok else 'FAILED'}: {config.minutes:g} min, {result.errors} errors, "
        f"{model.recorded:,} completions recorded, {len(model.revoked):,} revoked"
    )
    for v in result.results.get("memory", []):
        growth = f", growth after warm-up {v.growth:+.1f} MB (bound {v.bound:.0f})" if v.growth is not None else ""
        print(f"  {v.name}: RSS first {v.first:.0f} MB, peak {v.peak:.0f} MB, last {v.last:.0f} MB{growth}")
    for failure in result.failures:
        print(f"  FAILED: {failure}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
