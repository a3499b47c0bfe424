"""Request and response schemas (marshmallow), one module-level instance each.

Invariants:
- unknown fields are refused (``unknown=RAISE``), so a typo never silently drops data;
- hours travel as strings holding exact decimals; a number is accepted on input only
  if it is exactly a two-place decimal (``ledger.hours`` decides);
- codes (category, level, assessment, role, jurisdiction) are checked against the
  vocabulary here, so the ledger only ever sees known codes;
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


_jurisdiction = FullMatch(
    JURISDICTION_PATTERN, error="must be CN or a six-digit GB/T 2260 division code such as 220106"
)


def identifier(max_length: int, pattern: str = IDENTIFIER_PATTERN) -> list[Any]:
    """The validators of an identifier field (``fields.String``) of the ledger's grammar."""
    return [validate.Length(min=1, max=max_length), FullMatch(pattern, error=wording(pattern))]


#: A learner id a registration may take: an identifier without a reserved prefix.
LEARNER_ID = [*identifier(64), NotReserved()]


category = validate.OneOf(CATEGORIES, error="must be one of the category codes: {choices}")
level = validate.OneOf(LEVELS, error="must be one of {choices}")
assessment = validate.OneOf(ASSESSMENTS, error="must be one of {choices}")
role = validate.OneOf(ROLES, error="must be one of {choices}")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ProgrammeSchema(Strict):
    code = Text(required=True, validate=validate.Length(min=1, max=64))
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(required=True, validate=category)
    level = fields.String(required=True, validate=level)


class CompletionSchema(Strict):
    record_id = fields.String(required=True, validate=identifier(128))
    provider_id = fields.String(validate=identifier(64))
    learner_id = fields.String(required=True, validate=identifier(64))
    programme = fields.Nested(ProgrammeSchema, required=True)
    hours = Hours(required=True, metadata={"example": "2.5"})
    assessment = fields.String(required=True, validate=assessment)
    completed_on = Day(required=True)
    started_on = Day(load_default=None, allow_none=True)
    topics = fields.List(
        Text(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=50),
    )


class CompletionBatchSchema(Strict):
    """The envelope of a batch; items are validated one by one (a bad item is rejected
    alone, the rest are recorded)."""

    completions = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(min=1),
        # Each item is a Completion, loaded on its own (a bad one is rejected alone, in the 207);
        # ``each`` tells the OpenAPI document so (``api.openapi``).
        metadata={
            "each": CompletionSchema,
            "description": "one to CREDITBANK_MAX_BATCH (10,000 by default) completions",
        },
    )


class RevocationSchema(Strict):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class AccreditationSchema(Strict):
    categories = fields.List(fields.String(validate=category), required=True, validate=validate.Length(min=1))
    levels = fields.List(fields.String(validate=level), required=True, validate=validate.Length(min=1))
    valid_from = Day(required=True)
    valid_to = Day(load_default=None, allow_none=True)

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise ValidationError("must not be before valid_from", "valid_to")


class ProviderSchema(Strict):
    provider_id = fields.String(required=True, validate=identifier(64))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    jurisdiction = fields.String(required=True, validate=_jurisdiction)
    accreditation = fields.Nested(AccreditationSchema, required=True)


class SuspensionSchema(Strict):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class RoleSpellSchema(Strict):
    role = fields.String(required=True, validate=role)
    since = Day(required=True)


class LearnerSchema(Strict):
    learner_id = fields.String(required=True, validate=LEARNER_ID)
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    jurisdiction = fields.String(required=True, validate=_jurisdiction)
    school = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    hired_on = Day(load_default=None, allow_none=True)
    roles = fields.List(fields.Nested(RoleSpellSchema), load_default=list)


class RoleChangeSchema(Strict):
    role = fields.String(required=True, validate=role)
    since = Day(load_default=None)
    until = Day(load_default=None)

    @validates_schema
    def _one_of_since_until(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("since") is None) == (data.get("until") is None):
            raise ValidationError("give exactly one of since (role starts) or until (role ends)")


AS_OF = (
    "Answer as the bank knew it at the end of this day (Asia/Shanghai). "
    "Mutually exclusive with at_position: giving both is refused with 422."
)
AT_POSITION = (
    "Answer as the bank knew it at this log position. "
    "Mutually exclusive with as_of: giving both is refused with 422. "
    "A position beyond the last one written is refused with 422."
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


class WrittenSchema(Answer):
    status = fields.String(required=True, metadata={"enum": ["recorded", "duplicate", "unchanged"]})
    position = fields.Integer(required=True, allow_none=True)


class CompletionResultSchema(Answer):
    #: null for a rejected batch item that had no usable record_id
    record_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["recorded", "duplicate", "rejected"]})
    position = fields.Integer(allow_none=True)
    completion_id = fields.String()
    code = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class BatchResultSchema(Answer):
    results = fields.List(fields.Nested(CompletionResultSchema))
    recorded = fields.Integer()
    duplicates = fields.Integer()
    rejected = fields.Integer()
    position = fields.Integer(allow_none=True)


class TotalSchema(Answer):
    hours = fields.String()
    events = fields.List(fields.String())
    positions = fields.List(fields.Integer())


class BalanceSchema(Answer):
    learner_id = fields.String()
    position = fields.Integer()
    total = fields.Nested(TotalSchema)
    by_category = fields.Dict(keys=fields.String(), values=fields.Nested(TotalSchema))
    by_year = fields.Dict(keys=fields.String(), values=fields.Nested(TotalSchema))
    cycles = fields.List(fields.Dict())


class EventSchema(Answer):
    position = fields.Integer(required=True)
    event_id = fields.String(required=True)
    type = fields.String(required=True)
    recorded_at = fields.String(required=True)
    data = fields.Dict(required=True)
    hash = fields.String(required=True, allow_none=True, metadata={"description": "null until indexed"})


class HistorySchema(Answer):
    learner_id = fields.String(required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)
    position = fields.Integer(required=True)
    timeline = fields.String(required=True, metadata={"enum": ["current", "as_known_on", "at_position"]})
    as_of = fields.String()


class EventsPageSchema(Answer):
    events = fields.List(fields.Nested(EventSchema), required=True)
    after = fields.Integer(required=True)
    next_after = fields.Integer(required=True)


class HealthSchema(Answer):
    status = fields.String(required=True)


class ReadinessSchema(Answer):
    status = fields.String(required=True, metadata={"enum": ["ready", "unavailable"]})
    database = fields.String(required=True, metadata={"enum": ["ok", "unreachable"]})
    position = fields.Integer()
    head = fields.Integer()
    lag = fields.Integer()
    projection = fields.String(metadata={"enum": ["stuck"], "description": "only while an event cannot be applied"})
    incident = fields.Dict(
        metadata={
            "description": "the event the read models cannot apply: position, event_id, "
            "topic, error, description, attempts, first/last_failed_at"
        }
    )


class LearnerViewSchema(Answer):
    learner_id = fields.String(metadata={"description": "the teacher number; erased:<pseudonym> once erased"})
    name = fields.String(allow_none=True, metadata={"description": "null once the learner's personal data is erased"})
    jurisdiction = fields.String()
    school = fields.String(allow_none=True)
    hired_on = fields.String(allow_none=True)
    roles = fields.List(fields.Dict())
    certificates = fields.List(fields.Dict())
    position = fields.Integer()


completion_schema = CompletionSchema()
completion_batch_schema = CompletionBatchSchema()
revocation_schema = RevocationSchema()
provider_schema = ProviderSchema()
suspension_schema = SuspensionSchema()
learner_schema = LearnerSchema()
role_change_schema = RoleChangeSchema()
read_query_schema = ReadQuerySchema()
history_query_schema = HistoryQuerySchema()
events_query_schema = EventsQuerySchema()
