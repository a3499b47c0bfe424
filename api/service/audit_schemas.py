"""The queries of the audit endpoints (``api.service.audit``): a range of the log to verify,
a page of checkpoints, an institution's month.
"""

from __future__ import annotations

from marshmallow import fields, validate

from api.service.schemas import MAX_POSITION, SHEET_LANG, FullMatch, Strict, Whole


class VerificationQuerySchema(Strict):
    # ``from`` is a Python keyword: the field is named by data_key.
    start = Whole(data_key="from", load_default=1, validate=validate.Range(min=1, max=MAX_POSITION))
    end = Whole(data_key="to", validate=validate.Range(min=1, max=MAX_POSITION))


class CheckpointsQuerySchema(Strict):
    after = Whole(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION))
    limit = Whole(load_default=100, validate=validate.Range(min=1, max=1000))


verification_query_schema = VerificationQuerySchema()
checkpoints_query_schema = CheckpointsQuerySchema()


class InstitutionQuerySchema(Strict):
    month = fields.String(
        required=True,
        validate=FullMatch(
            r"^(19[5-9][0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])$", error="YYYY-MM, from 1950-01 to 2100-12"
        ),
    )
    backdated_days = Whole(load_default=90, validate=validate.Range(min=1, max=3650))
    burst = Whole(load_default=20, validate=validate.Range(min=1, max=100_000))
    lang = fields.String(validate=validate.OneOf(["zh", "en"]), metadata={"description": SHEET_LANG})


institution_query_schema = InstitutionQuerySchema()
