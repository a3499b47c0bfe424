"""Schemas of the policy and eligibility endpoints (marshmallow, module-level instances).

Invariants: unknown query fields are refused; a policy body is validated by the ledger
itself (``ledger.policy.parse_policy``), so the field paths of its refusals
(``rules[2].hours``) are the ledger's and the schema here only documents the shape.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.service.schemas import (
    AS_OF,
    AT_POSITION,
    MAX_POSITION,
    MIN_POSITION,
    SHEET_LANG,
    Answer,
    Day,
    FullMatch,
    Strict,
    Text,
    Whole,
    jurisdiction,
)
from ledger.grammar import NAME_PATTERN
from ledger.rules import KINDS

_TARGET = FullMatch(NAME_PATTERN, error="a target is a name such as teacher_cycle")


class VerdictQuerySchema(Strict):
    target = fields.String(required=True, validate=_TARGET)
    as_of = Day(metadata={"description": AS_OF + " Judged on that day; mutually exclusive with on too."})
    #: Judge on this date; ``knowledge`` says with what the bank knew then or knows now.
    on = Day(
        metadata={
            "description": "Judge on this day (with knowledge); "
            "mutually exclusive with as_of: giving both is refused with 422."
        }
    )
    knowledge = fields.String(
        validate=validate.OneOf(["recorded", "current"]),
        metadata={
            "description": "With on only: as recorded by the end of that day, or as the bank knows it now (default)."
        },
    )
    at_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": AT_POSITION})
    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": MIN_POSITION})
    years = Whole(
        validate=validate.Range(min=1, max=60),
        metadata={
            "description": "For targets judged at a number of years of service (head_teacher_honour): the "
            "milestone asked, e.g. 25. Without it, the highest milestone reached, else the next one."
        },
    )

    @validates_schema
    def _one_timeline(self, data: dict[str, Any], **_: Any) -> None:
        if "as_of" in data and "at_position" in data:
            raise ValidationError("give as_of or at_position, not both")
        if "as_of" in data and "on" in data:
            raise ValidationError("give as_of (judged that day, as known that day) or on (with knowledge), not both")


class CohortQuerySchema(VerdictQuerySchema):
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    school = Text(validate=validate.Length(min=1, max=200))
    eligible = fields.Boolean(truthy={"true"}, falsy={"false"})
    role = fields.String(
        validate=FullMatch(NAME_PATTERN, error="a role is a code such as head_teacher"),
        metadata={"description": "Only learners holding this role on the day judged."},
    )
    applies = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        metadata={"description": "true: only learners the target applies to (some rule of it applies to them)."},
    )
    totals = fields.Boolean(
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "Whether the page carries counts over the whole filtered cohort (eligible, not "
            "eligible, not applicable): judging every learner in scope. Default: on the first page (no after) only."
        },
    )
    #: The cursor: the last learner id of the page before (an identifier, or nothing).
    after = fields.String(
        load_default="", validate=[validate.Length(max=64), FullMatch(r"^([A-Za-z0-9][A-Za-z0-9._:/-]*)?$")]
    )
    limit = Whole(load_default=100, validate=validate.Range(min=1, max=1000))
    lang = fields.String(validate=validate.OneOf(["zh", "en"]), metadata={"description": SHEET_LANG})


class ImpactQuerySchema(Strict):
    on = Day()
    limit = Whole(load_default=1000, validate=validate.Range(min=1, max=10_000))


class TargetsQuerySchema(Strict):
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    on = Day(metadata={"description": "The targets in force on this day (default today)."})
    at_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": AT_POSITION})
    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION), metadata={"description": MIN_POSITION})


class RuleDocSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    targets = fields.List(fields.String(), required=True)
    source = fields.Dict(required=True, metadata={"description": "{document, article}"})
    applies_to = fields.Dict(
        metadata={
            "description": "{roles[], hired_within_months, years_in_role {role, at_least}, hired_on_or_after, "
            "hired_before}; any other key is refused with its field path"
        }
    )
    window = fields.Dict(
        metadata={
            "description": "{kind: calendar_year|cycle|after_hire|before_date|school_year|term, ...}; "
            "school_year and term take period: current|previous and follow the jurisdiction's calendar"
        }
    )
    topics = fields.List(
        fields.String(),
        metadata={"description": "words a completion's topics may contain to count beside categories (职业道德)"},
    )
    assumed = fields.String(
        metadata={"description": "the project's assumption the rule rests on, where no seed gives the figure"}
    )
    hours = fields.String(metadata={"example": "90"})
    categories = fields.List(fields.String())
    levels = fields.List(fields.String())
    replaces = fields.Dict(metadata={"description": "{policy_id, rule} of a higher-level rule"})
    loosens = fields.Boolean()
    note = fields.String()


class PolicyDocSchema(Schema):
    policy_id = fields.String(required=True)
    version = Whole()
    jurisdiction = fields.String(required=True)
    effective_from = fields.Date(required=True)
    effective_to = fields.Date(allow_none=True)
    title = fields.String(required=True)
    note = fields.String()
    calendar = fields.Dict(
        metadata={
            "description": "the jurisdiction's school calendar: {year_starts, spring_starts, plan_due} as MM-DD "
            "(defaults 09-01, 02-01, 03-20), sessions_per_week 1-7 (default 2) and attendance_threshold "
            'a share such as "0.80" (the default) for school-based training'
        }
    )
    rules = fields.List(fields.Nested(RuleDocSchema), required=True)


class VerdictSchema(Answer):
    learner_id = fields.String()
    target = fields.String()
    on = fields.Date()
    eligible = fields.Boolean(allow_none=True)
    policies = fields.List(fields.Dict())
    requirements = fields.List(fields.Dict())
    missing = fields.List(fields.Dict())
    position = fields.Integer()


class TargetRuleSchema(Answer):
    policy_id = fields.String(required=True)
    version = fields.Integer(required=True)
    jurisdiction = fields.String(required=True)
    rule = fields.String(required=True)
    kind = fields.String(required=True)


class TargetSchema(Answer):
    target = fields.String(required=True)
    label = fields.Dict(allow_none=True, metadata={"description": "{zh, en}"})
    asks = fields.List(fields.String(), metadata={"description": "query parameters the target's verdict takes (years)"})
    assumed = fields.Boolean(metadata={"description": "some rule of it rests on the project's assumption"})
    rules = fields.List(
        fields.Nested(TargetRuleSchema),
        required=True,
        metadata={"description": "the rules in force that define the target, national first"},
    )


class TargetsSchema(Answer):
    jurisdiction = fields.String(required=True)
    on = fields.Date(required=True)
    position = fields.Integer(required=True)
    targets = fields.List(fields.Nested(TargetSchema), required=True)


verdict_query_schema = VerdictQuerySchema()
targets_query_schema = TargetsQuerySchema()
cohort_query_schema = CohortQuerySchema()
impact_query_schema = ImpactQuerySchema()
