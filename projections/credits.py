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


def learner_of(e: Decoded) -> str | None:
    """The learner an event of these read models concerns, for the event index."""
    return certificates.learner_of(e) or transfers.learner_of(e) or degree_credits.learner_of(e)


async def apply(conn: Any, events: Sequence[Decoded]) -> None:
    await certificates.apply(conn, events)
    await transfers.apply(conn, events)
    await degree_credits.apply(conn, events)
