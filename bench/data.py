"""Deterministic benchmark data: providers, learners and completions.

The same seed gives the same rows, so the HTTP scenarios and the two references
(the library's ``Application.save`` and PostgreSQL ``COPY``) save the same facts.

Invariant: of a size's ``learners``, exactly ``cohort`` are in ``COHORT_JURISDICTION``
(spread evenly over the numbers, so every roster batch and every random completion mixes
districts) and the rest round-robin over the other seven districts, so the district cohort
export has a known row count while the HR scope checks still cross districts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.policy import shipped_policies
from ledger.vocabulary import CATEGORIES, LEVELS

#: County-level divisions of 长春市 (all under 220000 吉林省), so one provincial HR token
#: covers every learner while scope checks still run.
JURISDICTIONS = ("220102", "220103", "220104", "220105", "220106", "220112", "220113", "220122")
#: The district of the cohort exports: 绿园区, whose shipped policy defines ``teacher_annual``.
COHORT_JURISDICTION = "220106"
COHORT_TARGET = "teacher_annual"
OTHER_JURISDICTIONS = tuple(j for j in JURISDICTIONS if j != COHORT_JURISDICTION)
HOURS = ("1", "2.5", "4", "8", "12", "16", "24", "40")
ASSESSMENTS = ("pass",) * 8 + ("excellent",) * 1 + ("fail",) * 1
FIRST_DAY = date(2021, 9, 1)
SPAN_DAYS = 5 * 365  # completions fall in 2021-09 .. 2026-08, before "today" (2026-11)


@dataclass(frozen=True)
class Sizes:
    learners: int
    completions: int
    providers: int
    #: Learners in COHORT_JURISDICTION (the district exported whole).
    cohort: int
    batch: int = 1000
    #: Learners registered one per request (the rest in rosters of ``roster_batch``).
    single_learners: int = 2_000
    roster_batch: int = 5_000
    single_requests: int = 20_000
    single_seconds: float = 60.0
    read_requests: int = 30_000
    read_seconds: float = 30.0


SIZES = {
    "quick": Sizes(
        learners=2_000,
        completions=20_000,
        providers=4,
        cohort=1_000,
        single_learners=500,
        roster_batch=250,
        single_requests=2_000,
        single_seconds=10.0,
        read_requests=2_000,
        read_seconds=8.0,
    ),
    # 10,000 learners beyond the district's 100,000 keep seven other districts (1,430 each).
    "1m": Sizes(learners=110_000, completions=1_000_000, providers=8, cohort=100_000),
    # The same 100,000-learner district in a bank five times larger: exports compare across sizes.
    "5m": Sizes(learners=500_000, completions=5_000_000, providers=16, cohort=100_000),
}


def cohort_policy() -> dict[str, Any]:
    """The cohort district's own shipped policy (seed 002), which defines COHORT_TARGET: the
    server publishes only the national, provincial and city ones itself."""
    return next(d for d in shipped_policies() if d["jurisdiction"] == COHORT_JURISDICTION)


def provider_ids(count: int) -> list[str]:
    return [f"BENCH-P{n:02d}" for n in range(count)]


def provider_body(provider_id: str) -> dict[str, Any]:
    return {
        "provider_id": provider_id,
        "name": f"基准测试培训机构 {provider_id}",
        "jurisdiction": "220000",
        "accreditation": {
            "categories": sorted(CATEGORIES),
            "levels": sorted(LEVELS),
            "valid_from": "2020-01-01",
            "valid_to": None,
        },
    }


def learner_id(n: int) -> str:
    return f"T{n:07d}"


def jurisdiction_of(n: int, sizes: Sizes | None) -> str:
    """Learner ``n``'s district: without ``sizes``, round-robin over all eight (the soak);
    with them, ``n`` is in the cohort district when ``n * cohort / learners`` steps past a
    whole number (exactly ``cohort`` of ``learners``, evenly spread), else in another."""
    if sizes is None:
        return JURISDICTIONS[n % len(JURISDICTIONS)]
    if (n + 1) * sizes.cohort // sizes.learners > n * sizes.cohort // sizes.learners:
        return COHORT_JURISDICTION
    return OTHER_JURISDICTIONS[n % len(OTHER_JURISDICTIONS)]


def learner_body(n: int, sizes: Sizes | None = None) -> dict[str, Any]:
    hired = date(2000, 9, 1) + timedelta(days=(n * 37) % 8000)
    return {
        "learner_id": learner_id(n),
        "name": f"教师{n}",
        "jurisdiction": jurisdiction_of(n, sizes),
        "school": f"第{n % 500}实验学校",
        "hired_on": hired.isoformat(),
        "roles": [{"role": "teacher", "since": hired.isoformat()}],
    }


_CATEGORY_CODES = sorted(CATEGORIES)
_LEVEL_CODES = sorted(LEVELS)
PROGRAMMES = [
    {
        "code": f"PRG-{n:03d}",
        "title": f"{CATEGORIES[_CATEGORY_CODES[n % len(_CATEGORY_CODES)]]}课程{n}",
        "category": _CATEGORY_CODES[n % len(_CATEGORY_CODES)],
        "level": _LEVEL_CODES[n % len(_LEVEL_CODES)],
    }
    for n in range(60)
]


def completion_item(rng: random.Random, prefix: str, n: int, learners: int) -> dict[str, Any]:
    completed = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
    item: dict[str, Any] = {
        "record_id": f"{prefix}-{n:08d}",
        "learner_id": learner_id(rng.randrange(learners)),
        "programme": PROGRAMMES[rng.randrange(len(PROGRAMMES))],
        "hours": HOURS[rng.randrange(len(HOURS))],
        "assessment": ASSESSMENTS[rng.randrange(len(ASSESSMENTS))],
        "completed_on": completed.isoformat(),
    }
    if n % 3 == 0:
        item["started_on"] = (completed - timedelta(days=rng.randrange(1, 30))).isoformat()
    if n % 4 == 0:
        item["topics"] = ["课堂教学", "师德"]
    return item


def batches(sizes: Sizes, seed: int = 6) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(provider_id, items) for the batch-ingest scenario: batches round-robin over the
    providers, each item a random learner anywhere in the bank."""
    rng = random.Random(seed)
    providers = provider_ids(sizes.providers)
    n = 0
    batch_no = 0
    while n < sizes.completions:
        size = min(sizes.batch, sizes.completions - n)
        items = [completion_item(rng, "B", n + i, sizes.learners) for i in range(size)]
        yield providers[batch_no % len(providers)], items
        n += size
        batch_no += 1


def facts_of(provider_id: str, item: dict[str, Any]) -> Any:
    """The ledger's ``CompletionFacts`` for one item (what the server would build)."""
    from ledger.completion import CompletionFacts

    programme = item["programme"]
    started = item.get("started_on")
    return CompletionFacts(
        provider_id=provider_id,
        record_id=item["record_id"],
        learner_id=item["learner_id"],
        programme_code=programme["code"],
        programme_title=programme["title"],
        category=programme["category"],
        level=programme["level"],
        hours=Decimal(item["hours"]),
        assessment=item["assessment"],
        completed_on=date.fromisoformat(item["completed_on"]),
        started_on=date.fromisoformat(started) if started else None,
        topics=tuple(item.get("topics", ())),
    )
