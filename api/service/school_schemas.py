"""Bodies, queries and answers of the school endpoints (``api.service.schools``)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from api.service.schemas import (
    MAX_POSITION,
    Answer,
    Day,
    FullMatch,
    Hours,
    ReadQuerySchema,
    Strict,
    Text,
    Whole,
    identifier,
    jurisdiction,
)
from ledger.grammar import KEY_PATTERN
from ledger.school import SCHOOL_ID_LENGTH, SCHOOL_KINDS

SCHOOL_YEAR_PATTERN = r"^[0-9]{4}-[0-9]{4}$"
TERM_PATTERN = r"^[0-9]{4}-[0-9]{4}-[12]$"
SLOT_PATTERN = r"^(mon|tue|wed|thu|fri|sat|sun)-[1-9][0-9]?$"


def school_id_grammar() -> list[Any]:
    return identifier(SCHOOL_ID_LENGTH, KEY_PATTERN)


class SchoolSchema(Strict):
    school_id = fields.String(required=True, validate=school_id_grammar())
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    kind = fields.String(required=True, validate=validate.OneOf(SCHOOL_KINDS, error="must be one of {choices}"))
    teachers = Whole(required=True, validate=validate.Range(min=0, max=100_000))


class PlanSchema(Strict):
    school_year = fields.String(
        required=True, validate=FullMatch(SCHOOL_YEAR_PATTERN, error="must be a school year YYYY-YYYY")
    )
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    filed_on = Day(required=True)
    document_sha256 = fields.String(
        required=True, validate=FullMatch(r"^[0-9a-f]{64}$", error="must be 64 lower-case hexadecimal digits")
    )


class SessionProgrammeSchema(Strict):
    code = fields.String(required=True, validate=identifier(64))
    title = Text(required=True, validate=validate.Length(min=1, max=200))


class SessionSchema(Strict):
    session_id = fields.String(required=True, validate=identifier(64, KEY_PATTERN))
    held_on = Day(required=True)
    slot = fields.String(required=True, validate=FullMatch(SLOT_PATTERN, error="must be a weekday and period, tue-3"))
    content_key = fields.String(required=True, validate=identifier(64, KEY_PATTERN))
    programme = fields.Nested(SessionProgrammeSchema, required=True)
    hours = Hours(required=True)
    instructor = fields.String(required=True, validate=identifier(64))


class AbsenceSchema(Strict):
    learner_id = fields.String(required=True, validate=identifier(64))
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class AttendanceSchema(Strict):
    present = fields.List(fields.String(validate=identifier(64)), required=True, validate=validate.Length(max=10_000))
    absent = fields.List(fields.Nested(AbsenceSchema), load_default=list, validate=validate.Length(max=10_000))
    reason = Text(
        validate=validate.Length(min=1, max=500),
        metadata={"description": "Why a recorded sheet is corrected: required then, ignored on the first sheet."},
    )


class SchoolsQuerySchema(Strict):
    jurisdiction = fields.String(required=True, validate=jurisdiction)
    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION))


class SchoolReadQuerySchema(Strict):
    min_position = Whole(validate=validate.Range(min=0, max=MAX_POSITION))


class InspectionQuerySchema(ReadQuerySchema):
    """An inspection as the bank knew it (``as_of``/``at_position``), judged on that day."""

    term = fields.String(
        required=True, validate=FullMatch(TERM_PATTERN, error="must be a term YYYY-YYYY-1 (autumn) or -2 (spring)")
    )


class InspectionsQuerySchema(InspectionQuerySchema):
    jurisdiction = fields.String(required=True, validate=jurisdiction)


class AttendanceLineSchema(Answer):
    learner_id = fields.String(required=True)
    status = fields.String(
        required=True, metadata={"enum": ["credited", "duplicate_content", "absent", "withdrawn", "unchanged"]}
    )


class AttendanceResultSchema(Answer):
    status = fields.String(required=True, metadata={"enum": ["recorded", "duplicate"]})
    position = fields.Integer(required=True, allow_none=True)
    results = fields.List(fields.Nested(AttendanceLineSchema), required=True)


class SheetTeacherSchema(Answer):
    learner_id = fields.String(required=True, metadata={"description": "erased:<pseudonym> once erased"})
    name = fields.String(required=True, allow_none=True)


class SheetAbsenceSchema(SheetTeacherSchema):
    reason = fields.String(
        required=True, allow_none=True, metadata={"description": "The absence reason; null once the learner is erased"}
    )


class SheetRecordedSchema(Answer):
    position = fields.Integer(required=True)
    correction_reason = fields.String(required=True, allow_none=True)
    present = fields.Integer(required=True)
    absent = fields.Integer(required=True)


class SessionSheetSchema(Answer):
    """A session and its attendance sheet in force; ``sheets`` empty: no sheet recorded yet."""

    school_id = fields.String(required=True)
    session_id = fields.String(required=True)
    held_on = fields.Date(required=True)
    slot = fields.String(required=True)
    content_key = fields.String(required=True)
    programme = fields.Nested(SessionProgrammeSchema, required=True)
    hours = fields.String(required=True)
    session_position = fields.Integer(required=True)
    sheets = fields.List(fields.Nested(SheetRecordedSchema), required=True)
    present = fields.List(fields.Nested(SheetTeacherSchema), required=True)
    absent = fields.List(fields.Nested(SheetAbsenceSchema), required=True)
    position = fields.Integer(required=True)


class PlanResultSchema(Answer):
    status = fields.String(required=True, metadata={"enum": ["recorded", "duplicate"]})
    position = fields.Integer(required=True, allow_none=True)
    late = fields.Boolean(required=True)
    deadline = fields.Date(required=True)


class SchoolViewSchema(Answer):
    school_id = fields.String(required=True)
    name = fields.String(required=True)
    jurisdiction = fields.String(required=True)
    kind = fields.String(required=True)
    teachers = fields.Integer(required=True)
    registered_position = fields.Integer(required=True)


class SchoolsSchema(Answer):
    jurisdiction = fields.String(required=True)
    schools = fields.List(fields.Nested(SchoolViewSchema), required=True)
    position = fields.Integer(required=True)


class InspectionSchema(Answer):
    school_id = fields.String(required=True)
    term = fields.String(required=True)
    plan = fields.Dict(required=True, allow_none=True)
    sessions = fields.Dict(required=True)
    attendance = fields.Dict(required=True)
    instructors = fields.List(fields.Dict(), required=True)
    position = fields.Integer(required=True)


class InspectionsSchema(Answer):
    jurisdiction = fields.String(required=True)
    term = fields.String(required=True)
    schools = fields.List(fields.Dict(), required=True)
    position = fields.Integer(required=True)


school_schema = SchoolSchema()
plan_schema = PlanSchema()
session_schema = SessionSchema()
attendance_schema = AttendanceSchema()
schools_query_schema = SchoolsQuerySchema()
school_read_query_schema = SchoolReadQuerySchema()
inspection_query_schema = InspectionQuerySchema()
inspections_query_schema = InspectionsQuerySchema()
