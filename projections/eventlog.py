"""The event log as the read side sees it: its table, its head, the read models' position.

Every reader of the log or of the tracking row names them from here, never by a copied
literal or query.

Invariants:
- ``EVENTS_TABLE`` is the table the event store writes (the library names it after the
  application: ``CreditBank.name.lower() + "_events"``); the store also notifies on a
  channel of that name when it inserts;
- positions are the log's ``notification_id``: gap-free as seen by readers, starting at 1;
  0 means "before the first event";
- the read models' position is the ``rm_tracking`` row of ``PROJECTION``, moved only by the
  transaction that applies the events up to it, so a reader bounded by it sees every read
  model at the same position;
- a topic is ``eventsourcing.utils.get_topic`` of the event class, the string stored in
  every row: derive it from the class (``topic``), never spell it.
"""

from __future__ import annotations

from typing import Any, Final

from eventsourcing.utils import get_topic

from ledger.application import CreditBank

#: The event store's table (and the channel it notifies on when events are inserted).
EVENTS_TABLE: Final = CreditBank.name.lower() + "_events"
#: The read models' position in the log, one row per projection.
TRACKING_TABLE: Final = "rm_tracking"
#: The projection's name in ``rm_tracking``.
PROJECTION: Final = "main"

#: The columns of a stored row, in the order the chain hash and the decoder read them.
ROW_COLUMNS: Final = ("notification_id", "originator_id", "originator_version", "topic", "state")
#: Stored rows, oldest first; callers add their own ``WHERE`` / ``ORDER BY``.
SELECT_ROWS: Final = f"SELECT {', '.join(ROW_COLUMNS)} FROM {EVENTS_TABLE}"
#: The last position written to the log (0 while it is empty).
HEAD_SQL: Final = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"
#: The read models' position (``$1``: the projection).
APPLIED_SQL: Final = f"SELECT position FROM {TRACKING_TABLE} WHERE projection = $1"
#: The read models' position and the chain hash of the event there (``$1``: the projection).
APPLIED_CHAIN_SQL: Final = f"SELECT position, chain_hash FROM {TRACKING_TABLE} WHERE projection = $1"

#: "No bound": larger than any position.
LATEST: Final = 2**63 - 1


def bound(at_position: int | None) -> int:
    """The highest position a read "as of ``at_position``" may see (``None``: all of them)."""
    return LATEST if at_position is None else at_position


def topic(aggregate: type, event: str) -> str:
    """The topic stored with every ``aggregate.<event>`` (``topic(Policy, "Published")``).

    The event classes are made by ``@event`` at import, out of the type checker's sight:
    asking the class for them still fails at import if one is renamed or missing."""
    return get_topic(getattr(aggregate, event))


async def head(conn: Any) -> int:
    """The last position written to the log (0 while it is empty)."""
    return int(await conn.fetchval(HEAD_SQL))


async def applied_position(conn: Any) -> int:
    """The last position the read models have applied (0 before the first)."""
    return int(await conn.fetchval(APPLIED_SQL, PROJECTION) or 0)
