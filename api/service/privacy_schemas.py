"""The answer of an erasure (``api.service.privacy``); its body is a reason
(``api.service.schemas.RevocationSchema``).
"""

from __future__ import annotations

from marshmallow import fields

from api.service.schemas import WrittenSchema


class ErasedSchema(WrittenSchema):
    tokens_revoked = fields.Integer(required=True, metadata={"description": "the learner's own tokens revoked"})
