"""The grammar of what the ledger records: identifiers and text, defined once.

Invariants:
- an identifier matches its pattern in full (``fullmatch``: a trailing newline is not
  "the end of the line"), is 1 to ``max_length`` characters long, and is ASCII;
- a learner's id never starts with a reserved prefix (``erased:``: the read side shows an
  erased learner under ``erased:<pseudonym>``, so such an id would collide with a tombstone);
- text is a string of at most ``max_length`` characters with something in it besides
  spaces, and holds no control, format or surrogate character (no NUL, no lone surrogate:
  PostgreSQL and UTF-8 cannot store them); multi-line text may hold newlines and tabs;
- the HTTP edge (``api.schemas``) and the ledger's own checks (commands, policy and
  mapping documents) ask these same functions, so whatever the edge accepts the ledger
  accepts, and whatever the ledger records the read models can store.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Final

from ledger.errors import DomainError, IdentifierInvalid, IdentifierReserved, TextInvalid, UnknownCode
from ledger.vocabulary import is_jurisdiction

#: Learner, provider and record ids: letters, digits and ``. _ : / -``.
IDENTIFIER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
#: Ids that are joined with ``:`` elsewhere (a degree mapping's university and programme).
KEY_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
#: Lower-case names: rule ids and targets.
NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

IDENTIFIER: Final = re.compile(IDENTIFIER_PATTERN)
KEY: Final = re.compile(KEY_PATTERN)
NAME: Final = re.compile(NAME_PATTERN)

#: The days the ledger records and judges on: a date outside is a typing error, and date
#: arithmetic on it (a cycle's end, the day after a version) could leave the calendar.
EARLIEST: Final = date(1950, 1, 1)
LATEST: Final = date(2100, 12, 31)

#: The longest reason (a revocation, a suspension, an erasure) the ledger records.
REASON_LENGTH: Final = 500
#: A certificate's status reason may quote a revocation's reason (the cascade's).
CERTIFICATE_REASON_LENGTH: Final = 2000

#: Prefixes no learner id may take (compared case-insensitively).
RESERVED_PREFIXES: Final = ("erased:",)

_WORDING: Final = {
    IDENTIFIER_PATTERN: "letters, digits and . _ : / - only",
    KEY_PATTERN: "letters, digits and . _ - only",
    NAME_PATTERN: "lower-case letters, digits and _ . - only",
}

#: Control (Cc), format (Cf) and surrogate (Cs) characters, and the line and paragraph
#: separators (Zl, Zp, line breaks in disguise): never in text.
REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_LINE_BREAKS: Final = frozenset("\n\t")


def wording(pattern: str) -> str:
    """How a refusal of ``pattern`` is worded."""
    return _WORDING.get(pattern, f"must match {pattern}")


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character ``text`` may not hold, or None."""
    if text.isprintable():
        return None  # every character of the refused categories is non-printable
    for ch in text:
        if unicodedata.category(ch) in REFUSED_CATEGORIES and not (multiline and ch in _LINE_BREAKS):
            return ch
    return None


def identifier_problem(
    value: object, *, max_length: int = 64, pattern: re.Pattern[str] = IDENTIFIER, reserved: bool = False
) -> str | None:
    """Why ``value`` is not an identifier of this grammar, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if not 1 <= len(value) <= max_length:
        return f"must be 1 to {max_length} characters"
    if pattern.fullmatch(value) is None:
        return wording(pattern.pattern)
    if reserved:
        return reserved_problem(value)
    return None


def reserved_problem(value: str) -> str | None:
    lowered = value.lower()
    for prefix in RESERVED_PREFIXES:
        if lowered.startswith(prefix):
            return f"ids starting with {prefix} are reserved for erased learners"
    return None


def text_problem(value: object, *, max_length: int, multiline: bool = False) -> str | None:
    """Why ``value`` is not text of this grammar, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    bad = refused_character(value, multiline=multiline)
    if bad is not None:
        return f"control characters are not allowed (U+{ord(bad):04X})"
    return None


def check_identifier(
    value: object,
    field: str,
    *,
    max_length: int = 64,
    pattern: re.Pattern[str] = IDENTIFIER,
    reserved: bool = False,
    error: type[DomainError] = IdentifierInvalid,
) -> str:
    """``value`` if it is an identifier; else the refusal naming ``field``."""
    problem = identifier_problem(value, max_length=max_length, pattern=pattern)
    if problem is not None:
        raise error(problem, field=field)
    assert isinstance(value, str)
    if reserved:
        problem = reserved_problem(value)
        if problem is not None:
            raise IdentifierReserved(problem, field=field)
    return value


def check_text(
    value: object, field: str, *, max_length: int, multiline: bool = False, error: type[DomainError] = TextInvalid
) -> str:
    """``value`` if it is text; else the refusal naming ``field``."""
    problem = text_problem(value, max_length=max_length, multiline=multiline)
    if problem is not None:
        raise error(problem, field=field)
    assert isinstance(value, str)
    return value


def check_optional_text(
    value: object, field: str, *, max_length: int, multiline: bool = False, error: type[DomainError] = TextInvalid
) -> str | None:
    return None if value is None else check_text(value, field, max_length=max_length, multiline=multiline, error=error)


def check_code(value: object, known: Mapping[str, str], field: str) -> None:
    """Refuse ``value`` unless it is one of the vocabulary's ``known`` codes."""
    if not isinstance(value, str) or value not in known:
        raise UnknownCode(f"{value!r} is not one of {', '.join(known)}", field=field)


def check_jurisdiction(value: object) -> None:
    if not isinstance(value, str) or not is_jurisdiction(value):
        raise UnknownCode("must be CN or a six-digit division code such as 220106", field="jurisdiction")
