"""What a running server holds, under typed application keys.

Invariant: handlers reach every resource through these keys; resources are opened and
closed by the app factory's ``cleanup_ctx`` and by nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web

from api.auth import Principal, TokenVerifier
from api.database import Database
from api.settings import Settings
from ledger.application import CreditBank
from ledger.committer import Committer
from projections.runner import ProjectionRunner


@dataclass
class Metrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    completions: Counter[str] = field(default_factory=Counter)


@dataclass
class Services:
    settings: Settings
    database: Database
    pool: asyncpg.Pool
    bank: CreditBank
    committer: Committer
    runner: ProjectionRunner
    tokens: TokenVerifier
    zone: ZoneInfo
    metrics: Metrics

    def today(self) -> date:
        return datetime.now(self.zone).date()


SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
PRINCIPAL = web.RequestKey("principal", Principal)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]
