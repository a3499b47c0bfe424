"""The cast of the ledger's worked examples, shared by the unit and integration tests.

One training college in Jilin (吉林省教育学院, ``jl-college``) accredited for ethics and
online training at provincial level from 2024 to 2028; one district school-based
training centre in Changchun's Nanguan district (``cc-nanguan``); one teacher, Li Hua,
employed since 2015 at a Nanguan middle school. "Today" is 2026-11-26.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.keys import b64url_decode
from ledger.store import ledger_mapper, memory_environment

TODAY = date(2026, 11, 26)

COLLEGE = "jl-college"
DISTRICT_CENTRE = "cc-nanguan"
LI_HUA = "T220106198501010021"
WANG_FANG = "T220106199003150042"


def new_bank(env: dict[str, str] | None = None, today: date = TODAY) -> CreditBank:
    return CreditBank(env if env is not None else memory_environment(), today=lambda: today)


def college_accreditation(**changes: Any) -> Accreditation:
    fields: dict[str, Any] = {
        "provider_id": COLLEGE,
        "name": "吉林省教育学院",
        "jurisdiction": "220000",
        "categories": ("ethics", "online"),
        "levels": ("provincial",),
        "valid_from": date(2024, 1, 1),
        "valid_to": date(2028, 12, 31),
    }
    fields.update(changes)
    return Accreditation(**fields)


def district_accreditation(**changes: Any) -> Accreditation:
    fields: dict[str, Any] = {
        "provider_id": DISTRICT_CENTRE,
        "name": "南关区教师进修学校",
        "jurisdiction": "220102",
        "categories": ("school_based", "ethics"),
        "levels": ("county", "school"),
        "valid_from": date(2020, 9, 1),
        "valid_to": None,
    }
    fields.update(changes)
    return Accreditation(**fields)


def li_hua(**changes: Any) -> LearnerRegistration:
    fields: dict[str, Any] = {
        "learner_id": LI_HUA,
        "name": "李华",
        "jurisdiction": "220106",
        "school": "长春市南关区第一中学",
        "hired_on": date(2015, 9, 1),
        "roles": (("teacher", date(2015, 9, 1)),),
    }
    fields.update(changes)
    return LearnerRegistration(**fields)


def wang_fang(**changes: Any) -> LearnerRegistration:
    fields: dict[str, Any] = {
        "learner_id": WANG_FANG,
        "name": "王芳",
        "jurisdiction": "220106",
        "school": "长春市南关区第一中学",
        "hired_on": date(2019, 9, 1),
        "roles": (("teacher", date(2019, 9, 1)), ("head_teacher", date(2020, 9, 1))),
    }
    fields.update(changes)
    return LearnerRegistration(**fields)


def ethics_course(record_id: str = "2026-ETH-0001", **changes: Any) -> CompletionFacts:
    """Li Hua passes the college's 12-hour professional-ethics course in June 2026."""
    fields: dict[str, Any] = {
        "provider_id": COLLEGE,
        "record_id": record_id,
        "learner_id": LI_HUA,
        "programme_code": "ETH-2026",
        "programme_title": "师德师风专题研修",
        "category": "ethics",
        "level": "provincial",
        "hours": Decimal("12"),
        "assessment": "pass",
        "completed_on": date(2026, 6, 30),
        "started_on": date(2026, 6, 28),
        "topics": ("师德",),
    }
    fields.update(changes)
    return CompletionFacts(**fields)


def school_session(record_id: str, **changes: Any) -> CompletionFacts:
    """A 2.5-hour school-based session run by the district centre."""
    fields: dict[str, Any] = {
        "provider_id": DISTRICT_CENTRE,
        "record_id": record_id,
        "learner_id": LI_HUA,
        "programme_code": "SB-2026-AUTUMN",
        "programme_title": "校本研修: 大单元教学设计",
        "category": "school_based",
        "level": "school",
        "hours": Decimal("2.5"),
        "assessment": "pass",
        "completed_on": date(2026, 10, 15),
        "started_on": None,
        "topics": (),
    }
    fields.update(changes)
    return CompletionFacts(**fields)


def opened_bank() -> CreditBank:
    """A bank with both institutions accredited and Li Hua and Wang Fang registered."""
    bank = new_bank()
    bank.accredit_provider(college_accreditation())
    bank.accredit_provider(district_accreditation())
    bank.register_learner(li_hua())
    bank.register_learner(wang_fang())
    return bank


def last_position(bank: CreditBank) -> int:
    return bank.recorder.max_notification_id() or 0


def all_notifications(bank: CreditBank) -> Iterator[Any]:
    start = 1
    while True:
        page = bank.recorder.select_notifications(start, 500)
        if not page:
            return
        yield from page
        start = page[-1].id + 1


def topics(bank: CreditBank, after: int = 0) -> list[str]:
    """The event types recorded after position ``after``, e.g. ``Completion.Recorded``."""
    return [n.topic.rsplit(":", 1)[-1] for n in all_notifications(bank) if n.id > after]


def replay_all(bank: CreditBank) -> dict[UUID, Any]:
    """Every aggregate rebuilt from the raw log with a mapper of our own (no cache)."""
    mapper = ledger_mapper()
    aggregates: dict[UUID, Any] = {}
    for notification in all_notifications(bank):
        domain_event = mapper.to_domain_event(notification)
        aggregates[domain_event.originator_id] = domain_event.mutate(aggregates.get(domain_event.originator_id))
    return aggregates


def reloaded(bank: CreditBank, aggregate_id: UUID) -> Any:
    """The aggregate as the store has it: evicted from the cache, then replayed."""
    cache = bank.repository.cache
    if cache is not None:
        with contextlib.suppress(KeyError):
            cache.get(aggregate_id, evict=True)
    return bank.repository.get(aggregate_id)


def state_of(aggregate: Any) -> dict[str, Any]:
    """An aggregate's state for comparison (pending events are not state)."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def hours(text: str) -> Decimal:
    return Decimal(text)


def status_bits(encoded: str) -> bytes:
    """A status list's bits, as a verifier reads its ``encodedList`` (multibase base64url, gzip)."""
    assert encoded.startswith("u"), "encodedList is not multibase base64url"
    return gzip.decompress(b64url_decode(encoded[1:]))


def status_bit(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
