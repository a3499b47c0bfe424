"""What a running server holds, under typed application keys.

Invariant: handlers reach every resource through these keys; resources are opened and
closed by the app factory's ``cleanup_ctx`` and by nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from api.auth import Principal, TokenVerifier
from api.database import Database
from api.service.notifications import Notifications
from api.service.replicas import ReadPools
from api.settings import Settings
from ledger.application import CreditBank
from ledger.committer import Committer
from projections.fast_eligibility import PolicyCache
from projections.runner import ProjectionRunner


@dataclass
class Metrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    completions: Counter[str] = field(default_factory=Counter)


@dataclass
class Services:
    settings: Settings
    database: Database
    #: The primary's pool: writes, decisions, tokens, projections.
    pool: asyncpg.Pool
    #: Where HTTP reads run: the standbys in turn, else the primary.
    reads: ReadPools
    bank: CreditBank
    committer: Committer
    runner: ProjectionRunner
    tokens: TokenVerifier
    notifications: Notifications
    zone: ZoneInfo
    metrics: Metrics
    #: The one clock: the ``today`` given to ``create_app`` (else the local date in ``zone``),
    #: shared with the ledger, so every read and write that asks for today gets the same day.
    clock: Callable[[], date]
    #: The published policy versions, in memory for verdicts (``projections.fast_eligibility``).
    policies: PolicyCache = field(default_factory=PolicyCache)

    async def hear_erasures(self) -> None:
        """Before a write: every erasure committed by another process before now has
        reached this process's writer (the notice's handler queues the forgetting ahead
        of the write). When that cannot be known, the writer forgets every number."""
        if not await self.notifications.barrier():
            self.committer.submit(lambda bank: bank.forget_all_learners())

    def today(self) -> date:
        return self.clock()


SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
PRINCIPAL = web.RequestKey("principal", Principal)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]
