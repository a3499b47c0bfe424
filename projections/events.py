"""Turning stored events into plain data for the read side.

Invariants:
- decoding never raises: an event whose topic this code does not know (a type added
  after it) or whose state does not decode is still returned, with ``fields`` from the
  raw JSON where possible and ``known=False``, so the runner can index it and move on;
- ``fields`` never holds the library's bookkeeping (originator id/version, timestamp,
  originator topic): those live in their own attributes;
- ``json_ready`` is the one place values become JSON: hours (``Decimal``) as exact strings,
  dates ISO 8601, instants RFC 3339, UUIDs as strings; never a float;
- ``decode`` gives exactly what the ledger's mapper gives (``vars`` of its domain event),
  because it asks the mapper. The read side runs ``projections.fast_events.FastEventDecoder``,
  which gives the same by a faster path where that cannot differ (tested against this one).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import TopicError

from ledger.application import event_type_name
from ledger.hours import format_hours
from ledger.ids import event_uuid
from ledger.store import ledger_mapper

log = logging.getLogger(__name__)

_BOOKKEEPING: Final = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
_OTHER_BOOKKEEPING: Final = tuple(sorted(_BOOKKEEPING - {"timestamp"}))


@dataclass(frozen=True, slots=True)
class Decoded:
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    fields: dict[str, Any]
    recorded_at: datetime | None
    #: False when the topic is unknown here or the state would not decode.
    known: bool
    event_id: UUID

    @property
    def type(self) -> str:
        return event_type_name(self.topic)


def decoded(
    position: int,
    originator_id: UUID,
    version: int,
    topic: str,
    state: bytes,
    attributes: dict[str, Any],
    known: bool,
    event_id: UUID,
) -> Decoded:
    """The ``Decoded`` of a row whose attributes (a dict of the caller's own) are decoded:
    the bookkeeping is stripped in place, which keeps the order of the rest."""
    pop = attributes.pop
    timestamp = pop("timestamp", None)
    for key in _OTHER_BOOKKEEPING:
        pop(key, None)
    # Positional (in field order): keyword passing costs more than the rest of this tail.
    return Decoded(
        position,
        originator_id,
        version,
        topic,
        state,
        attributes,
        timestamp if isinstance(timestamp, datetime) else None,
        known,
        event_id,
    )


class EventDecoder:
    """Decodes stored rows as the ledger's mapper does (upcasting applies)."""

    def __init__(self, mapper: Mapper[UUID] | None = None) -> None:
        self._mapper = mapper or ledger_mapper()

    def decode_rows(self, rows: Iterable[Sequence[Any]]) -> list[Decoded]:
        """``decode`` of each stored row (position, originator id, version, topic, state)."""
        return [self.decode(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def decode(self, position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> Decoded:
        attributes, known = self._by_mapper(position, originator_id, version, topic, state)
        return decoded(
            position, originator_id, version, topic, state, attributes, known, event_uuid(originator_id, version)
        )

    def _by_mapper(
        self, position: int, originator_id: UUID, version: int, topic: str, state: bytes
    ) -> tuple[dict[str, Any], bool]:
        """The attributes the ledger's mapper decodes (upcasting applies), and whether known."""
        stored = StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=state)
        try:
            return vars(self._mapper.to_domain_event(stored)), True
        except TopicError:
            return self._raw(stored), False
        except Exception:
            # A corrupt or unreadable state must not wedge the projection; the hash chain
            # still covers its bytes, so an auditor finds it.
            log.exception("cannot decode event at position %s (%s)", position, topic)
            return {}, False

    def _raw(self, stored: StoredEvent) -> dict[str, Any]:
        try:
            decoded = self._mapper.transcoder.decode(stored.state)
        except Exception:
            log.warning("cannot decode state of unknown event type %s", stored.topic)
            return {}
        return decoded if isinstance(decoded, dict) else {}


def json_ready(value: Any) -> Any:
    """A JSON-serialisable copy of ``value`` (see the module invariants)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Decimal):
        return format_hours(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted(json_ready(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        # Never produced by the ledger; refuse rather than leak an inexact number.
        raise TypeError("floats have no place in ledger data")
    return str(value)
