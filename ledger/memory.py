"""A bounded memory of facts that never change once true (a learner is registered; a teacher
number has this pseudonym), kept by the writer and by the read side to spare a query.

Invariants:
- it holds at most ``bound`` entries, or one call's if that is more: past the bound it starts
  again with what that call keeps;
- a caller answers from what it looked up itself (``known`` before, plus what it found), never
  from what survived the memory starting again: a batch that filled the memory had had its
  own known entries dropped with it (the writer refused registered learners as unknown, the
  read side showed them as erased).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemory(Generic[K, V]):
    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._entries: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def known(self, keys: Iterable[K]) -> dict[K, V]:
        """Those of ``keys`` remembered, with their values."""
        entries = self._entries
        return {k: entries[k] for k in keys if k in entries}

    def keep(self, entries: Mapping[K, V]) -> None:
        """Remember ``entries``; past the bound, only them."""
        if len(self._entries) + len(entries.keys() - self._entries.keys()) > self.bound:
            self._entries = {}
        self._entries.update(entries)

    def pop(self, key: K) -> V | None:
        """Forget ``key``; its value, if it was remembered."""
        return self._entries.pop(key, None)

    def keys_with(self, value: V) -> list[K]:
        """The keys remembered with ``value`` (a scan: for rare events such as an erasure)."""
        return [k for k, v in self._entries.items() if v == value]

    def clear(self) -> None:
        self._entries = {}
