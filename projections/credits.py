"""The read models of issue 4 (certificates, transfers, degree credits), as one hook.

Invariant: ``projections.apply`` and ``projections.schema`` know only this module; each
read model here is applied in event order inside the runner's transaction, after the
core tables of the same batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from projections import certificates, degree_credits, transfers
from projections.events import Decoded

DDL: Final = certificates.DDL + transfers.DDL + degree_credits.DDL
TABLES: Final = (*certificates.TABLES, *transfers.TABLES, *degree_credits.TABLES)


_LEARNER_TOPICS: Final = certificates.LEARNER_TOPICS | transfers.TOPICS | degree_credits.LEARNER_TOPICS


def learner_of(e: Decoded) -> str | None:
    """The learner an event of these read models concerns, for the event index."""
    if e.topic not in _LEARNER_TOPICS:
        return None
    learner = e.fields.get("learner_id")
    return str(learner) if learner is not None else None


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    await certificates.apply(conn, events)
    await transfers.apply(conn, events)
    await degree_credits.apply(conn, events)
