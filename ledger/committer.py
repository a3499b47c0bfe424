"""Group commit: one writer thread per process, many callers.

Invariants:
- every write command of this process runs on the one writer thread, in arrival
  order, so cached aggregates are never mutated by two threads at once;
- completions posted concurrently (single posts and batches alike) that are waiting
  when the writer becomes free are recorded together in one transaction, so the
  event table's one-writer-at-a-time lock is paid per group, not per request;
- each caller gets exactly its own outcomes back, in its own order; a failure of a
  group is the failure of every caller in it, never a partial answer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ledger.application import CompletionOutcome, CreditBank
from ledger.completion import CompletionFacts

T = TypeVar("T")

#: The most completions recorded in one transaction (keeps one group's latency bounded).
MAX_GROUP = 5000


@dataclass
class _Completions:
    batch: Sequence[CompletionFacts]
    future: Future[list[CompletionOutcome]] = field(default_factory=Future)


@dataclass
class _Command:
    run: Callable[[CreditBank], Any]
    future: Future[Any] = field(default_factory=Future)


_STOP = object()


class Committer:
    """Runs the bank's commands on one thread, grouping completions."""

    def __init__(self, bank: CreditBank) -> None:
        self.bank = bank
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="creditbank-writer", daemon=True)
        self._thread.start()

    def record_completions(self, batch: Sequence[CompletionFacts]) -> Future[list[CompletionOutcome]]:
        item = _Completions(batch)
        self._queue.put(item)
        return item.future

    def submit(self, run: Callable[[CreditBank], T]) -> Future[T]:
        item = _Command(run)
        self._queue.put(item)
        return item.future

    def close(self) -> None:
        """Finish what is queued, then stop the writer thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _work(self) -> None:
        pending: list[Any] = []
        while True:
            item = pending.pop(0) if pending else self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, _Command):
                self._run_command(item)
                continue
            group = [item]
            size = len(item.batch)
            # Take whatever else is already waiting, up to the group limit.
            while size < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(nxt, _Completions) and size + len(nxt.batch) <= MAX_GROUP:
                    group.append(nxt)
                    size += len(nxt.batch)
                else:
                    pending.append(nxt)
                    break
            self._run_group(group)

    def _run_command(self, item: _Command) -> None:
        if not item.future.set_running_or_notify_cancel():
            return
        try:
            item.future.set_result(item.run(self.bank))
        except BaseException as error:
            item.future.set_exception(error)

    def _run_group(self, group: list[_Completions]) -> None:
        live = [g for g in group if g.future.set_running_or_notify_cancel()]
        if not live:
            return
        merged = [facts for g in live for facts in g.batch]
        try:
            outcomes = self.bank.record_completions(merged)
        except BaseException as error:
            for g in live:
                g.future.set_exception(error)
            return
        start = 0
        for g in live:
            g.future.set_result(outcomes[start : start + len(g.batch)])
            start += len(g.batch)
