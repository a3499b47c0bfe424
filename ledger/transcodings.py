"""The ledger's transcodings beyond the library's: how its value types are stored in events.

Invariant: a transcoding registered here is never changed or removed, since stored events
name it (``"_type_": "date_iso"``); a new type gets a new name.
"""

from __future__ import annotations

from datetime import date

from eventsourcing.persistence import JSONTranscoder, Transcoding


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
