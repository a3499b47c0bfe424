"""The fast path of loading completion items: the batch hot path's validator, a compiled
mirror of ``completion_schema.load``.

The marshmallow ``CompletionSchema`` (``api/service/write_schemas.py``) stays the contract and
the plain version: it is what the OpenAPI document shows and the reference for every answer.
Loading it field by field cost about 50 µs per item (28% of the server's time during batch
ingest); the loader compiled here from the same schema objects does the same checks in about 5 µs.

Invariants:
- ``load_completion_item(item)`` returns exactly what ``completion_schema.load(item)`` returns
  (same keys in the same order, same values and types) or raises the ``ValidationError`` it
  raises, with the same messages: the fast path only ever *accepts*; whenever it is not sure an
  item is valid (anything invalid, or a shape it does not handle) it declines and the schema
  itself loads the item, so every error message and field path comes from marshmallow;
- the fast path is compiled from the schema's own field objects (names, required, allow_none,
  load_default, the limits of ``Length``, the pattern of ``Regexp``, the choices of ``OneOf``),
  so a changed limit or vocabulary changes both; a field, validator or hook it does not know
  turns the fast path off for that schema (``COMPILED`` says whether it is on);
- ``Text``, ``Day`` and ``Hours`` are mirrored here (NFC, strip, control characters;
  ``ledger.days.parse_day`` and the 1950–2100 range; ``ledger.hours.parse_hours``): a change to their
  ``_deserialize`` must be made here too, which the property test in
  ``tests/unit/test_fast_completion_items.py`` (both loaders on generated valid and invalid items)
  enforces.
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, fields, missing, validate

from api.service.schemas import Day, FullMatch, Hours, Text
from api.service.write_schemas import completion_schema
from ledger.days import parse_day
from ledger.errors import HoursInvalid
from ledger.grammar import EARLIEST, LATEST, refused_character
from ledger.hours import parse_hours

Loader = Callable[[Any], Any]


class _Declined(Exception):
    """The fast path is not sure: let the schema decide (and word the errors)."""


_DECLINED = _Declined()


class _NotCompilable(Exception):
    """The schema uses something the fast path does not mirror."""


# -- values -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """``Text._deserialize``: NFC, trimmed, no control/format/surrogate characters."""
    if type(value) is not str:
        raise _DECLINED
    if value.isascii():
        # ASCII is already NFC, and its only non-printable characters are its controls (Cc).
        text = value.strip()
        if not text.isprintable():
            raise _DECLINED
        return text
    text = unicodedata.normalize("NFC", value).strip()
    if refused_character(text) is not None:
        raise _DECLINED
    return text


def _day(value: Any) -> date:
    """``Day._deserialize``: ``ledger.days.parse_day`` and the sane range."""
    if type(value) is not str:
        raise _DECLINED
    try:
        day = parse_day(value)
    except ValueError:
        raise _DECLINED from None
    if not EARLIEST <= day <= LATEST:
        raise _DECLINED
    return day


@functools.lru_cache(maxsize=1024)
def _hours_text(value: str) -> Decimal:
    # A pure function of the string, and a batch repeats a handful of amounts ("2.5", "8"):
    # parsing one (Decimal, range, places, quantize) cost 3 µs, half of the whole item.
    # Refusals raise, so they are never cached.
    return parse_hours(value)


def _hours(value: Any) -> Decimal:
    """``Hours._deserialize``: the ledger's own parser; any refusal is worded by the schema."""
    try:
        # Only exact str is cached: equal Decimals or numbers (2.5, 2.50, 5/2) are not the same input.
        return _hours_text(value) if type(value) is str else parse_hours(value)
    except HoursInvalid:
        raise _DECLINED from None


# -- validators -----------------------------------------------------------------------------


def _constraints(validators: list[Any]) -> tuple[int, int | None, Callable[[str], Any] | None, Any]:
    """(least length, greatest length or None, ``re`` match or None, choices or None): the
    verdict of these ``Length``, ``FullMatch`` and ``OneOf`` validators, all of which must pass."""
    low, high, match, choices = 0, None, None, None
    for validator in validators:
        kind = type(validator)
        if kind is validate.Length and validator.equal is None:
            if validator.min is not None:
                low = max(low, validator.min)
            if validator.max is not None:
                high = validator.max if high is None else min(high, validator.max)
        elif kind is FullMatch and match is None:
            match = validator.regex.fullmatch
        elif kind is validate.OneOf and choices is None:
            choices = validator.choices
        else:
            raise _NotCompilable(f"validator {validator!r}")
    return low, high, match, choices


def _validated(parse: Callable[[Any], Any], validators: list[Any]) -> Loader:
    """``parse``, then the validators' checks, in one function (one call per value)."""
    if not validators:
        return parse
    low, high, match, choices = _constraints(validators)
    if high is None:
        high = sys.maxsize

    def checked(value: Any) -> Any:
        loaded = parse(value)
        if (
            not low <= len(loaded) <= high
            or (match is not None and match(loaded) is None)
            or (choices is not None and loaded not in choices)
        ):
            raise _DECLINED
        return loaded

    return checked


def _string_field(validators: list[Any]) -> Loader:
    """``fields.String`` with its validators, specialised: identifiers and codes are most of
    an item's fields."""
    low, high, match, choices = _constraints(validators)
    if high is None:
        high = sys.maxsize

    def string(value: Any) -> str:
        # JSON gives exactly str; marshmallow's bytes and subclasses are left to marshmallow.
        if (
            type(value) is not str
            or not low <= len(value) <= high
            or (match is not None and match(value) is None)
            or (choices is not None and value not in choices)
        ):
            raise _DECLINED
        return value

    return string


# -- fields and schemas ------------------------------------------------------------------


def _field(field: Any) -> Loader:
    """The loader of one present, non-null value of ``field``."""
    if field.pre_load or field.post_load:
        raise _NotCompilable(f"{field!r} has field-level hooks")
    kind = type(field)
    if kind is fields.String:
        return _string_field(field.validators)
    if kind is Text:
        return _validated(_text, field.validators)
    if kind is Day and not field.validators and field.format in {"iso", "iso8601"}:  # not a Meta dateformat
        return _day
    if kind is Hours and not field.validators:
        return _hours
    if kind is fields.List:
        item = _field(field.inner)
        if field.inner.allow_none:
            raise _NotCompilable("a list of nullable items")

        def items(value: Any) -> list[Any]:
            if type(value) is not list:
                raise _DECLINED
            return [item(v) for v in value]

        return _validated(items, field.validators)
    if kind is fields.Nested and not field.validators and not field.many and field.unknown is None:
        return compile_schema(field.schema)
    raise _NotCompilable(f"field {field!r}")


def compile_schema(schema: Schema) -> Loader:
    """A loader that accepts what ``schema.load`` accepts, returning the same dict, and
    raises ``_Declined`` otherwise. ``_NotCompilable`` if the schema is beyond it."""
    # marshmallow keeps a schema's pre/post hooks only in ``_hooks``; a hook would change what
    # ``load`` returns, so a schema with one is left to marshmallow.
    hooks = schema._hooks  # noqa: SLF001
    if schema.opts.unknown != RAISE or schema.many or schema.partial or any(hooks.values()):
        raise _NotCompilable(f"{type(schema).__name__}: unknown/many/partial/hooks")
    if set(schema.load_fields) != set(schema.fields):
        raise _NotCompilable(f"{type(schema).__name__}: dump-only fields")
    if type(schema).dict_class is not dict:
        raise _NotCompilable(f"{type(schema).__name__}: dict_class")
    specs: list[tuple[str, Loader, bool, bool, Any]] = []
    for name, field in schema.load_fields.items():
        if field.data_key is not None or field.attribute is not None or "." in name:
            raise _NotCompilable(f"{name}: data_key/attribute")
        specs.append((name, _field(field), field.required, field.allow_none, field.load_default))
    names = frozenset(name for name, *_ in specs)

    def load(data: Any) -> dict[str, Any]:
        if type(data) is not dict or not data.keys() <= names:
            raise _DECLINED  # not an object, or an unknown field
        loaded: dict[str, Any] = {}
        for name, parse, required, allow_none, default in specs:
            value = data.get(name, missing)
            if value is missing:
                if required:
                    raise _DECLINED
                if default is not missing:
                    loaded[name] = default() if callable(default) else default
            elif value is None:
                if not allow_none:
                    raise _DECLINED
                loaded[name] = None
            else:
                loaded[name] = parse(value)
        return loaded

    return load


def _compile(schema: Schema) -> Loader | None:
    try:
        return compile_schema(schema)
    except _NotCompilable:
        return None


_fast_item = _compile(completion_schema)
#: Whether the completion schema could be compiled (the tests insist that it is).
COMPILED = _fast_item is not None


def fast_load_item(item: Any) -> dict[str, Any] | None:
    """The fast path alone: the loaded item, or ``None`` where the schema must decide."""
    if _fast_item is None:
        return None
    try:
        loaded: dict[str, Any] = _fast_item(item)
    except _Declined:
        return None
    return loaded


def load_completion_item(item: Any) -> dict[str, Any]:
    """``completion_schema.load(item)``, fast when the item is valid."""
    if _fast_item is not None:
        try:
            fast: dict[str, Any] = _fast_item(item)
        except _Declined:
            pass
        else:
            return fast
    loaded: dict[str, Any] = completion_schema.load(item)
    return loaded


def batch_envelope_is_valid(body: Any) -> bool:
    """True when ``completion_batch_schema`` surely accepts ``body`` (a non-empty list of
    objects under ``completions`` and nothing else); False means: ask the schema."""
    if type(body) is not dict or len(body) != 1:
        return False
    items = body.get("completions")
    if type(items) is not list or not items:
        return False
    return all(type(item) is dict for item in items)
