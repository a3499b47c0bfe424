"""Exact training hours (学时).

Invariants: an hour amount is a ``Decimal`` greater than 0, with at most two decimal
places, and at most ``MAX_HOURS_PER_COMPLETION``; floats are accepted only when they
are exactly a two-place decimal (``2.5`` yes, ``0.1 + 0.2`` no). Arithmetic on hours is
``Decimal`` arithmetic; a float never enters a total.

An exact decimal is written as the contract writes one (``exact_decimal``): text of ASCII
digits with at most two decimal places (``"2.5"``; no plus sign, exponent, spaces, underscores,
full-width or other scripts' digits), or a JSON number that is such a decimal; at most
``MAX_WHOLE_DIGITS`` digits before the point, so no amount reaches the limits of
``Decimal`` arithmetic.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from ledger.errors import HoursInvalid

#: No single programme runs longer than a year of full days; more is a typing error.
MAX_HOURS_PER_COMPLETION: Final = Decimal("2000")
_CENT: Final = Decimal("0.01")
#: Digits before the point: no amount of hours, credits or ratios needs more.
MAX_WHOLE_DIGITS: Final = 9
# The sign is let through so that "-1" is refused by the range ("greater than 0").
_DECIMAL_TEXT: Final = re.compile(rf"-?[0-9]{{1,{MAX_WHOLE_DIGITS}}}(?:\.[0-9]{{1,2}})?")
_PLACES_TEXT: Final = re.compile(rf"-?[0-9]{{1,{MAX_WHOLE_DIGITS}}}\.[0-9]{{3,20}}")
_LIMIT: Final = Decimal(10) ** MAX_WHOLE_DIGITS


def exact_decimal(value: object, *, field: str) -> Decimal:
    """A decimal as the contract writes one (see the module invariants), not yet checked
    for range; raises ``HoursInvalid`` saying why not. Floats are the caller's business."""
    if isinstance(value, bool):
        raise HoursInvalid("must be a decimal number, not a boolean", field=field)
    if isinstance(value, str):
        if _DECIMAL_TEXT.fullmatch(value) is None:
            if _PLACES_TEXT.fullmatch(value) is not None:
                raise HoursInvalid(f"{value} has more than two decimal places", field=field)
            raise HoursInvalid(
                f'{value[:40]!r} is not a decimal number written like "2.5": ASCII digits 0-9, at '
                f"most {MAX_WHOLE_DIGITS} before the point and two after it, nothing else",
                field=field,
            )
        return Decimal(value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int):
            raise HoursInvalid("must be a finite number", field=field)
        if exponent < -2:
            raise HoursInvalid(f"{value} has more than two decimal places", field=field)
        if exponent > 0:
            raise HoursInvalid(f"write {value} without an exponent", field=field)
        amount = value
    else:
        raise HoursInvalid("must be a decimal string or a number", field=field)
    if abs(amount) >= _LIMIT:
        raise HoursInvalid(f"must have at most {MAX_WHOLE_DIGITS} digits before the point", field=field)
    return amount


def parse_hours(value: object, *, field: str = "hours") -> Decimal:
    """Turn an input value into exact hours, or raise ``HoursInvalid`` saying why."""
    if isinstance(value, bool):
        raise HoursInvalid("hours must be a decimal number, not a boolean", field=field)
    if isinstance(value, float):
        exact = Decimal(value)
        if exact.is_finite() and abs(exact) > MAX_HOURS_PER_COMPLETION:
            return check_hours(exact, field=field)
        rounded = exact.quantize(_CENT) if exact.is_finite() else exact
        if not exact.is_finite() or exact != rounded:
            # Binary floats such as 0.1 are not the decimal the sender meant.
            raise HoursInvalid(
                f'{value!r} is not exactly representable with two decimal places; send hours as a string such as "2.5"',
                field=field,
            )
        amount = rounded.normalize()
    elif isinstance(value, (str, int, Decimal)):
        try:
            amount = exact_decimal(value, field=field)
        except HoursInvalid:
            # Say "more than 2000 h" of a long number rather than "too many digits".
            if not isinstance(value, str) and Decimal(value).is_finite() and value > MAX_HOURS_PER_COMPLETION:
                return check_hours(Decimal(value), field=field)
            raise
    else:
        raise HoursInvalid("hours must be a decimal string or a number", field=field)
    return check_hours(amount, field=field)


def check_hours(amount: Decimal, *, field: str = "hours") -> Decimal:
    if not amount.is_finite():
        raise HoursInvalid("hours must be a finite number", field=field)
    if amount <= 0:
        raise HoursInvalid("hours must be greater than 0", field=field)
    if amount > MAX_HOURS_PER_COMPLETION:
        # Checked before quantize(), which fails on numbers with more digits than the
        # decimal context holds.
        raise HoursInvalid(
            f"{amount} h is more than {MAX_HOURS_PER_COMPLETION} h for one completion; "
            "check the unit (hours, not minutes)",
            field=field,
        )
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise HoursInvalid(f"{amount} has more than two decimal places", field=field)
    return amount.quantize(_CENT)


def format_hours(amount: Decimal) -> str:
    """Hours as the API shows them: exact, without trailing zeros (``"2.5"``, ``"300"``)."""
    text = format(amount.normalize(), "f")
    return text
