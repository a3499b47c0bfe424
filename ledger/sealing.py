"""Sealing a learner's personal data under that learner's own key.

Invariants:
- personal data (the national teacher number, the name, a credential that states the name)
  enters the event log only sealed: AES-256-GCM under a key that belongs to one learner and
  lives outside the log, in the learner vault (``ledger.vault``);
- a sealed value is bound to its learner's pseudonym (the GCM associated data), so a sealed
  value copied onto another learner's event does not open;
- destroying the key (erasure) makes every sealed value of that learner unreadable for good,
  while the sealed bytes stay in the log, so the hash chain over the log still verifies.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.errors import PersonalDataUnreadable

#: Marks the format, so a later scheme can be told apart from this one.
PREFIX = "s1."
KEY_BYTES = 32
_NONCE_BYTES = 12


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal(key: bytes, subject: str, data: dict[str, Any]) -> str:
    """``data`` (plain JSON values) sealed under ``key`` for the learner ``subject``."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, orjson.dumps(data), subject.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, subject: str, token: str) -> dict[str, Any]:
    """What ``seal`` sealed; ``PersonalDataUnreadable`` if the key or subject is wrong."""
    if not token.startswith(PREFIX):
        raise PersonalDataUnreadable("not a sealed value of this bank")
    try:
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
        opened = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], subject.encode())
    except (InvalidTag, ValueError) as error:
        raise PersonalDataUnreadable("the sealed personal data does not open with this key") from error
    data = orjson.loads(opened)
    if not isinstance(data, dict):
        raise PersonalDataUnreadable("the sealed personal data is not a record")
    return data
