"""The bodies and answers of the transfer endpoints (``api.service.transfers``): a move of a
learner's account to another jurisdiction and its reversal.

Invariant: a ``degree_credit`` body of ``POST /v1/transfers`` is not a move; it is loaded by
``api.service.degree_credit_schemas``.
"""

from __future__ import annotations

from marshmallow import fields, validate

from api.service.schemas import JURISDICTION_PATTERN, Day, FullMatch, Strict, Text, WrittenSchema, identifier

_ID = identifier(64)


_jurisdiction = FullMatch(JURISDICTION_PATTERN, error="CN or a six-digit division code")


class TransferSchema(Strict):
    transfer_id = fields.String(required=True, validate=_ID)
    learner_id = fields.String(required=True, validate=_ID)
    #: ``jurisdiction``: move the account; ``degree_credit`` bodies go to ``api.degree_credits``.
    type = fields.String(load_default="jurisdiction", validate=validate.OneOf(["jurisdiction"]))
    destination = fields.String(required=True, validate=_jurisdiction)
    on = Day()


class ReversalSchema(Strict):
    learner_id = fields.String(required=True, validate=_ID)
    #: ``degree_credit``: reverse a degree-credit recognition of that id instead of a move.
    type = fields.String(load_default="jurisdiction", validate=validate.OneOf(["jurisdiction", "degree_credit"]))
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class TransferredSchema(WrittenSchema):
    """The answer to a move (``type`` tells it from a degree-credit recognition's answer)."""

    type = fields.String(required=True, metadata={"enum": ["jurisdiction"]})
    transfer_id = fields.String(required=True)
    hours = fields.String(metadata={"description": "the hours carried to the destination"})


transfer_schema = TransferSchema()
reversal_schema = ReversalSchema()
