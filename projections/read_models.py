"""Every read model, in one list: its tables, their DDL, and the events it applies.

Invariants:
- a read model is derived from the event log alone: ``schema.reset`` empties every table
  listed here and the runner rebuilds them from position 0; a table that is not derived
  from the log (``rm_incidents``, ``audit_rejections``, ``rm_tracking``) is not listed;
- models are applied in this order inside the runner's transaction for a batch; the first
  two are written by ``projections.apply`` in its single pass (the hot path), each later
  one by its own ``apply`` after them, over the same batch;
- ``learner_topics`` are the events whose ``learner_id`` field names the learner they
  concern, for the event index (the core models' learners are worked out by ``apply``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from projections import (
    balance_answer,
    certificates,
    core,
    degree_credits,
    evaluations,
    moves,
    policies,
    schools,
    service_record,
    transfers,
    vocabularies,
)
from projections.events import Decoded


@dataclass(frozen=True)
class ReadModel:
    name: str
    tables: tuple[str, ...]
    ddl: str
    #: The topics it applies (others pass it by).
    topics: frozenset[str]
    learner_topics: frozenset[str] = frozenset()
    #: Applies a batch, in event order, inside the caller's transaction; ``None`` for the
    #: models ``projections.apply`` writes in its own pass.
    apply: Callable[[Any, Sequence[Decoded]], Awaitable[None]] | None = None


READ_MODELS: Final = (
    ReadModel("core", core.TABLES, core.DDL, core.TOPICS),
    ReadModel("policies", policies.TABLES, policies.DDL, frozenset({policies.POLICY_PUBLISHED})),
    ReadModel(
        "certificates",
        certificates.TABLES,
        certificates.DDL,
        certificates.LEARNER_TOPICS,
        certificates.LEARNER_TOPICS,
        certificates.apply,
    ),
    ReadModel("transfers", transfers.TABLES, transfers.DDL, transfers.TOPICS, transfers.TOPICS, transfers.apply),
    ReadModel("moves", moves.TABLES, moves.DDL, moves.TOPICS, moves.TOPICS, moves.apply),
    # Reads the completions ``projections.apply`` and the arrivals (``moves``) have just
    # written for the batch, so it comes after both.
    ReadModel(
        "balance answers", balance_answer.TABLES, balance_answer.DDL, balance_answer.TOPICS, apply=balance_answer.apply
    ),
    ReadModel(
        "degree credits",
        degree_credits.TABLES,
        degree_credits.DDL,
        degree_credits.LEARNER_TOPICS | {degree_credits.PUBLISHED},
        degree_credits.LEARNER_TOPICS,
        degree_credits.apply,
    ),
    ReadModel("vocabularies", vocabularies.TABLES, vocabularies.DDL, vocabularies.TOPICS, apply=vocabularies.apply),
    ReadModel(
        "service record",
        service_record.TABLES,
        service_record.DDL,
        service_record.TOPICS,
        service_record.TOPICS,
        service_record.apply,
    ),
    # No learner topics: nothing of an evaluation names a learner, by design.
    ReadModel("evaluations", evaluations.TABLES, evaluations.DDL, evaluations.TOPICS, apply=evaluations.apply),
    ReadModel("schools", schools.TABLES, schools.DDL, schools.TOPICS, apply=schools.apply),
)

#: Every read-model table, in the order of the list (reset, digests).
TABLES: Final = tuple(table for model in READ_MODELS for table in model.tables)
#: The ``apply`` of the models applied after ``projections.apply``'s own pass, in order.
APPLIED_AFTER: Final = tuple(model.apply for model in READ_MODELS if model.apply is not None)

_LEARNER_TOPICS: Final = frozenset().union(*(model.learner_topics for model in READ_MODELS))


def provider_of(e: Decoded) -> str | None:
    """The provider an event of the later models concerns (a school's own), for the event index."""
    return schools.provider_of(e)


def learner_of(e: Decoded) -> str | None:
    """The learner an event of the later models concerns, for the event index."""
    if e.topic not in _LEARNER_TOPICS:
        return None
    learner = e.fields.get("learner_id")
    return str(learner) if learner is not None else None
