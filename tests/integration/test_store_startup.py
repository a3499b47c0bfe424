"""Worked example: processes that open one event store at the same moment (a server, its
projection worker, a few CLI commands) all start, whether the tables exist yet or not.

The library creates its tables, indexes and functions with ``IF NOT EXISTS`` and ``CREATE OR
REPLACE``, which PostgreSQL does not serialise: two at once fail with "tuple concurrently
updated". The ledger's recorder creates them under one advisory lock.
"""

from __future__ import annotations

import threading

from api.database import Database
from ledger.application import CreditBank
from tests.conftest import TODAY

OPENERS = 8


def _open_together(database: Database) -> list[BaseException]:
    start = threading.Barrier(OPENERS)
    failures: list[BaseException] = []

    def open_bank() -> None:
        start.wait()
        try:
            CreditBank(database.event_store_env(), today=lambda: TODAY).close()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_bank) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_banks_opened_together_on_a_new_database_all_start(database: Database) -> None:
    assert _open_together(database) == []


def test_banks_opened_together_on_an_existing_store_all_start(database: Database) -> None:
    CreditBank(database.event_store_env(), today=lambda: TODAY).close()
    for _ in range(3):
        assert _open_together(database) == []
