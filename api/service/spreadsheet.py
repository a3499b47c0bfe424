"""CSV lines a spreadsheet opens as data: no cell becomes a formula, no identifier a number.

Invariants (the one rule a reader of the bank's CSV needs, also in the README):
- a text cell that begins with a character a spreadsheet reads as the start of a formula
  (``=``, ``+``, ``-``, ``@``, tab, carriage return, their full-width and small forms; OWASP's
  CSV-injection rule) gets a leading ``'``, so ``=HYPERLINK(...)`` in a name or a reason
  stays text;
- an identifier cell (teacher number, record id) always gets a leading ``'``: a spreadsheet
  keeps it as text with every digit (unquoted, Excel shows ``2.20106E+14`` for a 15-digit
  teacher number and turns 18 digits into zeros);
- a text cell that itself begins with ``'`` gets one more, so the reading is unambiguous:
  every cell that starts with ``'`` carries exactly one the bank added; drop it to get the
  value (``value[1:] if value.startswith("'") else value``);
- numbers (counts, hours, positions) are written as they are: none of them is a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final

#: Leading characters a spreadsheet takes for a formula (ASCII, full-width, small forms),
#: and the apostrophe itself (see the module's reading rule).
_NEEDS_MARK: Final = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b\u2212'")
MARK: Final = "'"


def text(value: Any) -> str:
    """A free-text cell (name, school, reason, detail); a count, hours or position as written."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    shown = str(value)
    return MARK + shown if shown[:1] in _NEEDS_MARK else shown


def identifier(value: Any) -> str:
    """An identifier cell: always marked, so a spreadsheet keeps every digit as text."""
    if value is None or value == "":
        return ""
    return MARK + str(value)


def line(cells: Sequence[str]) -> bytes:
    """One CSV line of cells already made by ``text`` or ``identifier``."""
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode("utf-8")


def document(rows: Iterable[Sequence[str]]) -> bytes:
    """A whole CSV file; the byte order mark makes Excel read it as UTF-8 (Chinese names)."""
    return BOM + b"".join(line(r) for r in rows)


BOM: Final = "\ufeff".encode()
