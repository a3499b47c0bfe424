"""The schemas every endpoint shares (marshmallow): the fields (``Text``, ``Day``, ``Hours``,
``Whole``, ``FullMatch``, identifiers and vocabulary codes), the ``Strict`` body and the
open ``Answer``, a problem and a written answer, a reason, and the read queries (time
travel and read-your-writes). Each handler module's own bodies and answers sit beside it in
``<handlers>_schemas.py`` (``write_schemas``, ``transfer_schemas``, ``policy_schemas`` ...).

Invariants:
- unknown fields are refused (``unknown=RAISE``), so a typo never silently drops data;
- hours travel as strings holding exact decimals; a number is accepted on input only
  if it is exactly a two-place decimal (``ledger.hours`` decides);
- codes (level, assessment, role, jurisdiction) are checked against the vocabulary here,
  so the ledger only ever sees known codes; a category only against the grammar of codes,
  since a jurisdiction may add categories (the ledger checks them where they are used);
- strings are NFC-normalised and may not hold control characters; identifiers match their
  pattern in full; both follow the ledger's one grammar (``ledger.grammar``), so what is
  accepted here is what the ledger records and the read models store.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any, cast

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from ledger.days import parse_day
from ledger.errors import HoursInvalid
from ledger.grammar import (
    EARLIEST,
    IDENTIFIER_PATTERN,
    LATEST,
    NAME_PATTERN,
    REFUSED_CATEGORIES,
    refused_character,
    reserved_problem,
    wording,
)
from ledger.hours import format_hours, parse_hours
from ledger.vocabulary import ASSESSMENTS, CATEGORIES, LEVELS, ROLES

#: Positions and counters are PostgreSQL bigints; larger numbers are refused, not overflowed.
MAX_POSITION = 2**62  # headroom for "after + 1" arithmetic below the bigint limit


HOURS = (
    "Exact decimal hours greater than 0 and at most 2000, with at most two decimal places: "
    'a string such as "2.5" (preferred) or a number that is exactly such a decimal; refused with 422 otherwise.'
)


class Hours(fields.Field):  # type: ignore[type-arg]
    """Exact decimal hours: ``"2.5"`` or ``2.5`` in, ``"2.5"`` out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["metadata"] = {"type": ["string", "number"], "description": HOURS, **kwargs.get("metadata", {})}
        super().__init__(*args, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_hours(Decimal(value))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            return parse_hours(value)
        except HoursInvalid as error:
            raise ValidationError(error.detail) from None


def _control_ranges() -> str:
    """The Basic Multilingual Plane's refused characters (``ledger.grammar``: control, format,
    line and paragraph separators) as a regex class body. Surrogates are left out: a
    pattern cannot name them portably, and the grammar refuses them anyway."""
    refused = REFUSED_CATEGORIES - {"Cs"}
    spans: list[tuple[int, int]] = []
    for cp in range(0x10000):
        if unicodedata.category(chr(cp)) in refused:
            if spans and spans[-1][1] == cp - 1:
                spans[-1] = (spans[-1][0], cp)
            else:
                spans.append((cp, cp))
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in spans)


_CONTROL = _control_ranges()
#: What the OpenAPI document says of a ``Text``: some character that is not a space, and
#: no control or format character (leading and trailing spaces are trimmed).
TEXT_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}\\s][^{_CONTROL}]*$"
#: A ``Day`` as the document states it: an ISO date from 1950 to 2100.
DAY_PATTERN = r"^(19[5-9][0-9]|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
JURISDICTION_PATTERN = r"^(CN|[1-9][0-9]{5})$"


class Text(fields.String):
    """A trimmed, NFC-normalised string with no control characters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["metadata"] = {"pattern": TEXT_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(*args, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        text = unicodedata.normalize("NFC", text).strip()
        if refused_character(text) is not None:
            raise ValidationError("control characters are not allowed")
        return text


_WHOLE_TEXT = re.compile(r"[0-9]{1,19}")


class Whole(fields.Integer):
    """A whole number as the contract writes one: ASCII digits in a query parameter, a JSON
    integer in a body; no sign, spaces, underscores, exponent or other scripts' digits
    (``int()`` alone takes ``+5``, `` 5``, ``1_0`` and ``５``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str):
            if _WHOLE_TEXT.fullmatch(value) is None:
                raise ValidationError("must be a whole number written in the digits 0-9, nothing else")
            value = int(value)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be a whole number")
        number: int = super()._deserialize(value, attr, data, **kwargs)
        return number


class Day(fields.Date):
    """A calendar date within a sane range."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["metadata"] = {"pattern": DAY_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(*args, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        try:
            day = value if isinstance(value, date) else parse_day(value)
        except ValueError:
            raise ValidationError("must be a date written YYYY-MM-DD") from None
        if not EARLIEST <= day <= LATEST:
            raise ValidationError(f"must lie between {EARLIEST} and {LATEST}")
        return day


class FullMatch(validate.Regexp):
    """``Regexp`` that matches the whole string (``re.match`` with ``$`` lets a trailing
    newline through: ``"r-1\n"`` would be a second record id)."""

    def __call__(self, value: Any) -> Any:
        pattern = cast("re.Pattern[str]", self.regex)
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class NotReserved(validate.Validator):
    """No reserved prefix (``erased:`` names erased learners on the read side)."""

    def __call__(self, value: Any) -> Any:
        problem = reserved_problem(value) if isinstance(value, str) else None
        if problem is not None:
            raise ValidationError(problem)
        return value


jurisdiction = FullMatch(JURISDICTION_PATTERN, error="must be CN or a six-digit GB/T 2260 division code such as 220106")


def identifier(max_length: int, pattern: str = IDENTIFIER_PATTERN) -> list[Any]:
    """The validators of an identifier field (``fields.String``) of the ledger's grammar."""
    return [validate.Length(min=1, max=max_length), FullMatch(pattern, error=wording(pattern))]


#: A learner id a registration may take: an identifier without a reserved prefix.
LEARNER_ID = [*identifier(64), NotReserved()]


#: A category is national or one a jurisdiction's vocabulary document adds: only its grammar is
#: checked here; the ledger checks it is in force where it is used (``ledger.vocabulary_document``).
category = FullMatch(
    NAME_PATTERN,
    error=f"must be a category code: one of {', '.join(CATEGORIES)}, or one a jurisdiction's vocabulary adds",
)
level = validate.OneOf(LEVELS, error="must be one of {choices}")
assessment = validate.OneOf(ASSESSMENTS, error="must be one of {choices}")
role = validate.OneOf(ROLES, error="must be one of {choices}")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class RevocationSchema(Strict):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


AS_OF = (
    "Answer as the bank knew it at the end of this day (Asia/Shanghai). "
    "Mutually exclusive with at_position: giving both is refused with 422."
)
AT_POSITION = (
    "Answer as the bank knew it at this log position. "
    "Mutually exclusive with as_of: giving both is refused with 422. "
    "A position beyond the last one written is refused with 422."
)
SHEET_LANG = (
    "Headers (and yes/no) of a CSV or xlsx answer: zh Chinese, en English; without it the stable "
    "column codes, or Chinese when Accept-Language prefers zh."
)
MIN_POSITION = (
    "Read your writes: wait (at most 5 s, else 503) until the read models reach this position. "
    "A position beyond the last one written is refused with 422."
)


class ReadQuerySchema(Strict):
    """Time travel and read-your-writes on every ledger read."""

    as_of = Day(metadata={"description": AS_OF})
    at_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": AT_POSITION})
    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": MIN_POSITION})

    @validates_schema
    def _one_timeline(self, data: dict[str, Any], **_: Any) -> None:
        if "as_of" in data and "at_position" in data:
            raise ValidationError("give as_of or at_position, not both")


class HistoryQuerySchema(ReadQuerySchema):
    after = Whole(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION))
    limit = Whole(load_default=1000, validate=validate.Range(min=1, max=10_000))


class EventsQuerySchema(Strict):
    after = Whole(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION))
    limit = Whole(load_default=1000, validate=validate.Range(min=1, max=10_000))


# --- responses (documented in the OpenAPI; handlers return plain dicts) -------------


class Answer(Schema):
    """A response body: the fields listed are always of these types; an answer may carry
    more (``additionalProperties`` is open), so a new field never breaks a client."""

    class Meta:
        unknown = INCLUDE


class ProblemSchema(Answer):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    position = fields.Integer(metadata={"description": "the position the read models had reached"})
    incident = fields.Dict(
        metadata={"description": "projection_stuck: the event the read models cannot apply (position, event_id, topic)"}
    )


class WrittenSchema(Answer):
    status = fields.String(required=True, metadata={"enum": ["recorded", "duplicate", "unchanged"]})
    position = fields.Integer(required=True, allow_none=True)


revocation_schema = RevocationSchema()
read_query_schema = ReadQuerySchema()
history_query_schema = HistoryQuerySchema()
events_query_schema = EventsQuerySchema()
