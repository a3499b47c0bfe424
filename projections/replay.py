"""Replay: copy the event log into a fresh database and rebuild every read model there.

Invariants:
- the source is only read; the target must hold no events yet (a replay never mixes
  logs), and receives the stored rows byte for byte, positions included, so its hash
  chain and its read models are those of the source at the copied position;
- the copy stops at the source projection's position (or the one asked), so its read
  model digests can be compared with the live bank's at that same position;
- the target's position sequence is moved past the copied log, so the replayed bank can
  take new writes without reusing a position;
- the learner vault comes along as it is now (keys of erased learners are gone from it),
  so the replica shows exactly what the live bank may show; a replay is the bank's own
  copy (a restore drill, an audit on its premises), not an export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ledger.vault import VAULT_TABLE
from projections.eventlog import EVENTS_TABLE, SELECT_ROWS

_COLUMNS: Final = ("notification_id", "originator_id", "originator_version", "topic", "state")
CHUNK: Final = 20_000

Progress = Callable[[str, int, int], None]


class ReplayError(Exception):
    """The target cannot take a replay (it holds events already)."""


async def copy_log(source: Any, target: Any, upto: int, progress: Progress | None = None) -> int:
    """Copy events at positions ``<= upto`` from ``source`` into the empty ``target``;
    answer how many were copied."""
    if await target.fetchval(f"SELECT EXISTS (SELECT 1 FROM {EVENTS_TABLE})"):
        raise ReplayError("the target database holds events already; replay into a fresh database")
    total = int(await source.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE notification_id <= $1", upto))
    done, after = 0, 0
    while True:
        rows = await source.fetch(
            SELECT_ROWS + " WHERE notification_id > $1 AND notification_id <= $2 ORDER BY notification_id LIMIT $3",
            after,
            upto,
            CHUNK,
        )
        if not rows:
            break
        await target.copy_records_to_table(EVENTS_TABLE, records=rows, columns=list(_COLUMNS))
        done += len(rows)
        after = rows[-1][0]
        if progress is not None:
            progress("copy events", done, total)
    await target.execute(
        f"SELECT setval(pg_get_serial_sequence('{EVENTS_TABLE}', 'notification_id'),"
        f" greatest((SELECT max(notification_id) FROM {EVENTS_TABLE}), 1))"
    )
    vault = await source.fetch(f"SELECT lookup, subject, data_key, enrolled_at FROM {VAULT_TABLE}")
    await target.execute(f"DELETE FROM {VAULT_TABLE}")
    await target.copy_records_to_table(
        VAULT_TABLE, records=vault, columns=["lookup", "subject", "data_key", "enrolled_at"]
    )
    return done
