"""Calendar days as the contract writes them.

Invariant: a day is ``YYYY-MM-DD`` in ASCII digits and nothing else. ``date.fromisoformat``
alone is looser (``20261101``, ``2026-W01-1`` and, in other scripts' digits, more), so every
day that comes from outside is parsed here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

DAY_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(value: object) -> date:
    """The day ``value`` writes, or ``ValueError`` if it is not ``YYYY-MM-DD`` or no such day."""
    if not isinstance(value, str) or DAY_TEXT.fullmatch(value) is None:
        raise ValueError("not a date written YYYY-MM-DD")
    return date.fromisoformat(value)
