"""The tamper-evidence hash chain over the global event log.

Invariants (an auditor can reimplement this from the text alone):
- every stored event has canonical bytes::

      position            8 bytes, big-endian signed (the notification id)
      originator_id      16 bytes (the UUID's bytes)
      originator_version  8 bytes, big-endian signed
      len(topic)          4 bytes, big-endian unsigned, then the topic in UTF-8
      len(state)          4 bytes, big-endian unsigned, then the state bytes as stored

  (lengths make the encoding unambiguous: no two events share canonical bytes);
- ``h_0`` is 32 zero bytes and ``h_n = sha256(h_{n-1} || canonical_bytes(event_n))``,
  taken in global position order over every event, known topic or not;
- changing, removing or inserting any stored byte changes the hash of that event and of
  every event after it.
These are pure functions: no I/O, no clock.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from hashlib import sha256
from typing import Any, Final
from uuid import UUID

GENESIS: Final = bytes(32)

_HEAD: Final = struct.Struct(">q16sqI")
_LEN: Final = struct.Struct(">I")

#: One stored event as the chain sees it: position, originator id, version, topic, state.
ChainRow = tuple[int, UUID, int, str, bytes]


def canonical_bytes(position: int, originator_id: UUID, originator_version: int, topic: str, state: bytes) -> bytes:
    topic_bytes = topic.encode("utf-8")
    return b"".join(
        (
            _HEAD.pack(position, originator_id.bytes, originator_version, len(topic_bytes)),
            topic_bytes,
            _LEN.pack(len(state)),
            state,
        )
    )


def link(previous: bytes, canonical: bytes) -> bytes:
    """The next hash of the chain."""
    return sha256(previous + canonical).digest()


def chain_hashes(rows: Iterable[Sequence[Any]], previous: bytes = GENESIS) -> list[bytes]:
    """The hash of each row (a ``ChainRow``, or any sequence of those five values, such
    as the event table's rows) in turn, continuing the chain from ``previous``.

    The same bytes as ``link(previous, canonical_bytes(*row))``, built in one join with
    each topic encoded once: this runs once per event on the projection's hot path."""
    hashes: list[bytes] = []
    append = hashes.append
    head, length, digest, join = _HEAD.pack, _LEN.pack, sha256, b"".join
    topics: dict[str, bytes] = {}
    for position, originator_id, version, topic, state in rows:
        encoded = topics.get(topic)
        if encoded is None:
            encoded = topics[topic] = topic.encode("utf-8")
        previous = digest(
            join(
                (
                    previous,
                    head(position, originator_id.bytes, version, len(encoded)),
                    encoded,
                    length(len(state)),
                    state,
                )
            )
        ).digest()
        append(previous)
    return hashes


def first_broken_link(
    rows: Iterable[tuple[int, UUID, int, str, bytes, bytes]], previous: bytes = GENESIS
) -> int | None:
    """The position of the first row whose recorded hash (last element) is not the one the
    chain computes from the stored bytes, or ``None`` if every link holds."""
    for position, originator_id, version, topic, state, recorded in rows:
        previous = link(previous, canonical_bytes(position, originator_id, version, topic, state))
        if previous != recorded:
            return position
    return None
