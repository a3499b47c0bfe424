"""The fast path of ``projections.events.EventDecoder``: the same ``Decoded`` for every row,
sooner. It is what the read side runs; the plain decoder beside it is the reference.

Invariants:
- ``FastEventDecoder.decode`` gives exactly what ``EventDecoder.decode`` gives (tested for
  every event class of the ledger). The fast path (orjson, then the mapper's own
  transcodings applied bottom-up to every ``{"_type_", "_data_"}`` object, as
  ``JSONTranscoder`` does) is taken only where it cannot differ: a plain ``Mapper`` with a
  ``JSONTranscoder`` and no cipher or compressor, a topic that resolves to a class without
  ``class_version`` (no upcasting), a state without ``class_version``, no float anywhere
  (orjson turns integers beyond 64 bits into floats; the stdlib keeps them exact) and
  nothing that raises. Anything else goes through the mapper, so its errors, logging and
  upcasts are unchanged;
- ``event_uuid`` equals ``ledger.ids.event_uuid`` (tested).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from hashlib import sha1
from typing import Any, Final
from uuid import UUID

import orjson
from asyncpg.pgproto.pgproto import UUID as _PgUUID
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
    find_id_convertor,
    pass_through_convertor,
)
from eventsourcing.utils import resolve_topic

from ledger.store import DateAsISO
from projections.events import Decoded, EventDecoder, decoded

# uuid5's version and variant bits (RFC 4122), as ``uuid.UUID(bytes=..., version=5)`` sets them.
_V5_CLEAR: Final = ~((0xF000 << 64) | (0xC000 << 48))
_V5_SET: Final = (5 << 76) | (0x8000 << 48)
_new = object.__new__
_set = object.__setattr__


def event_uuid(originator_id: UUID, originator_version: int) -> UUID:
    """``ledger.ids.event_uuid`` (``uuid5(originator_id, str(version))``), equal to it
    (tested), as asyncpg's ``UUID`` (a ``uuid.UUID`` subclass, the type the event table's
    ids come back as): made from its 16 bytes in C without ``uuid.UUID``'s checks, and
    written to the read models without the ``.bytes`` property per row."""
    digest = sha1(originator_id.bytes + str(originator_version).encode(), usedforsecurity=False).digest()
    made: UUID = _PgUUID(((int.from_bytes(digest[:16], "big") & _V5_CLEAR) | _V5_SET).to_bytes(16, "big"))
    return made


class _Fallback(Exception):
    """The fast path met something only the mapper may decide."""


def _fast_decoders(transcoder: JSONTranscoder) -> dict[str, Callable[[Any], Any]]:
    """The transcoder's decoding per name; the library's own transcodings as the C
    functions they call (same results, same exceptions for non-strings)."""
    direct: dict[type, Callable[[Any], Any]] = {
        UUIDAsHex: UUID,
        DecimalAsStr: Decimal,
        DatetimeAsISO: datetime.fromisoformat,
        DateAsISO: date.fromisoformat,
    }
    return {name: direct.get(type(t), t.decode) for name, t in transcoder.names.items()}


def _reviver(decoders: dict[str, Callable[[Any], Any]]) -> Callable[[dict[str, Any]], None]:
    """Revive a parsed state in place the way ``JSONTranscoder``'s object hook does:
    every JSON object, innermost first, that has exactly the keys ``_type_`` and
    ``_data_`` becomes its decoded value. Raises on a float (see the module invariants)."""

    def members(d: dict[str, Any]) -> None:
        for k, v in d.items():
            t = type(v)
            if t is str:
                continue
            if t is dict:
                # Replacing a value keeps the dict's size: safe while iterating.
                if len(v) == 2:
                    name, data = v.get("_type_"), v.get("_data_")
                    if type(name) is str and type(data) is str:
                        # The common case, inline: nothing inside to revive first.
                        d[k] = decoders[name](data)
                        continue
                d[k] = obj(v)
            elif t is list:
                items(v)
            elif t is float:
                raise _Fallback

    def items(s: list[Any]) -> None:
        for i, v in enumerate(s):
            t = type(v)
            if t is dict:
                s[i] = obj(v)
            elif t is list:
                items(v)
            elif t is float:
                raise _Fallback

    def obj(d: dict[str, Any]) -> Any:
        members(d)
        if len(d) == 2 and "_type_" in d and "_data_" in d:
            return decoders[d["_type_"]](d["_data_"])
        return d

    def state(d: dict[str, Any]) -> None:
        members(d)
        if "class_version" in d or (len(d) == 2 and "_type_" in d and "_data_" in d):
            raise _Fallback

    return state


def _plain_class(cls: Any) -> bool:
    """Whether the mapper turns every state of ``cls`` into ``vars`` without more: no
    upcast (``class_version`` at most 1), the originator id passed through, and an
    instance whose ``__dict__`` may be set (what ``Mapper.to_domain_event`` does)."""
    class_version = getattr(cls, "class_version", 1)
    if type(class_version) is not int or class_version > 1:
        return False
    try:
        if find_id_convertor(cls, UUID) is not pass_through_convertor:
            return False
        _set(_new(cls), "__dict__", {})
    except Exception:
        return False
    return True


class FastEventDecoder(EventDecoder):
    """``EventDecoder`` by the fast path where that cannot differ (see the module invariants)."""

    def __init__(self, mapper: Mapper[UUID] | None = None) -> None:
        super().__init__(mapper)
        transcoder = self._mapper.transcoder
        plain = type(self._mapper) is Mapper and self._mapper.cipher is None and self._mapper.compressor is None
        #: ``None`` when only the mapper may decode (see the module invariants).
        self._revive = (
            _reviver(_fast_decoders(transcoder))
            if plain and isinstance(transcoder, JSONTranscoder) and type(transcoder) is JSONTranscoder
            else None
        )
        #: Topics whose class the fast path may decode (resolved once, no upcasting).
        self._fast_topics: dict[str, bool] = {}

    def _fast(self, originator_id: UUID, topic: str, state: bytes) -> dict[str, Any] | None:
        """The mapper's ``vars(event)`` by the fast path, or ``None``: use the mapper."""
        revive = self._revive
        if revive is None or isinstance(originator_id, str):
            return None
        fast = self._fast_topics.get(topic)
        if fast is None:
            try:
                cls = resolve_topic(topic)
            except Exception:
                return None  # the mapper says what an unknown topic is, every time
            fast = self._fast_topics[topic] = _plain_class(cls)
        if not fast:
            return None
        try:
            attributes = orjson.loads(state)
            if type(attributes) is not dict:
                return None
            revive(attributes)
        except Exception:
            return None
        return attributes

    def decode_rows(self, rows: Iterable[Sequence[Any]]) -> list[Decoded]:
        """``decode`` of each stored row (position, originator id, version, topic, state).

        The cyclic garbage collector is paused meanwhile (no await, so only this batch runs):
        a batch allocates tens of thousands of acyclic dicts, and each generation-0
        collection they trigger would traverse the young batch again; one runs after."""
        decode = self.decode
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return [decode(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        finally:
            if paused:
                gc.enable()

    def decode(self, position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> Decoded:
        known = True
        attributes = self._fast(originator_id, topic, state)
        if attributes is None:
            attributes, known = self._by_mapper(position, originator_id, version, topic, state)
        return decoded(
            position, originator_id, version, topic, state, attributes, known, event_uuid(originator_id, version)
        )
