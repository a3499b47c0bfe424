"""Exact training hours (学时).

Invariants: an hour amount is a ``Decimal`` greater than 0, with at most two decimal
places, and at most ``MAX_HOURS_PER_COMPLETION``; floats are accepted only when they
are exactly a two-place decimal (``2.5`` yes, ``0.1 + 0.2`` no). Arithmetic on hours is
``Decimal`` arithmetic; a float never enters a total.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

from ledger.errors import HoursInvalid

#: No single programme runs longer than a year of full days; more is a typing error.
MAX_HOURS_PER_COMPLETION: Final = Decimal("2000")
_CENT: Final = Decimal("0.01")


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
                f"{value!r} is not exactly representable with two decimal places; "
                'send hours as a string such as "2.5"',
                field=field,
            )
        amount = rounded.normalize()
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, (str, Decimal)):
        try:
            amount = Decimal(value.strip()) if isinstance(value, str) else value
        except InvalidOperation:
            raise HoursInvalid(f"{value!r} is not a decimal number", field=field) from None
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
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(_CENT):
        raise HoursInvalid(f"{amount} has more than two decimal places", field=field)
    return amount.quantize(_CENT)


def format_hours(amount: Decimal) -> str:
    """Hours as the API shows them: exact, without trailing zeros (``"2.5"``, ``"300"``)."""
    text = format(amount.normalize(), "f")
    return text
