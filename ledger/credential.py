"""Certificates as W3C Verifiable Credentials 2.0, secured as JWS (VC-JOSE-COSE, ``vc+jwt``).

Invariants:
- a credential is signed as a compact JWS (``alg`` EdDSA, Ed25519, ``kid`` from the bank's
  ``KeyRing``) whose payload is the credential's JSON itself; signing and verification are
  the ``cryptography`` package's, via ``ledger.keys``; nothing here is cryptography;
- verification is strict: every segment must be the canonical base64url of what it
  decodes to, so no character of a signed certificate can change without failing;
- a key that ever signed stays in the key set, so an older certificate verifies after a
  rotation; an unknown ``kid`` fails;
- a status list is a Bitstring Status List (index 0 is the most significant bit of the
  first byte, GZIP then multibase base64url), at least 131,072 entries for herd privacy.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.hours import format_hours
from ledger.keys import SigningKey, b64url, b64url_decode, verify_with
from ledger.vocabulary import CERTIFICATES

CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
STATUS_LIST_SIZE: Final = 131_072
PURPOSES: Final = ("revocation", "suspension")
ISSUER_NAME: Final = "培训学分银行 Creditbank"


class CredentialInvalid(ValueError):
    """A presented credential does not verify; the message says why."""


@dataclass(frozen=True)
class Verified:
    kid: str
    header: dict[str, Any]
    credential: dict[str, Any]


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def status_list_id(purpose: str, index: int) -> str:
    return f"{purpose}-{index // STATUS_LIST_SIZE + 1}"


def certificate_credential(
    *,
    base_url: str,
    certificate_id: str,
    kind: str,
    name: str,
    hours: Decimal,
    valid_from: date,
    valid_until: date | None,
    status_index: int,
) -> dict[str, Any]:
    """The unsecured credential; only the learner's name, the kind and the hours are personal."""
    base = base_url.rstrip("/")
    credential: dict[str, Any] = {
        "@context": [CONTEXT],
        "id": f"{base}/v1/certificates/{certificate_id}",
        "type": ["VerifiableCredential", "TrainingCertificate"],
        "issuer": {"id": base, "name": ISSUER_NAME},
        "validFrom": f"{valid_from.isoformat()}T00:00:00Z",
        "credentialSubject": {
            "type": "CertificateHolder",
            "name": name,
            "certificate": {"kind": kind, "name": CERTIFICATES[kind]},
            "hours": format_hours(hours),
        },
        "credentialStatus": [
            {
                "id": f"{base}/v1/status-lists/{status_list_id(p, status_index)}#{status_index % STATUS_LIST_SIZE}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": p,
                "statusListIndex": str(status_index % STATUS_LIST_SIZE),
                "statusListCredential": f"{base}/v1/status-lists/{status_list_id(p, status_index)}",
            }
            for p in PURPOSES
        ],
    }
    if valid_until is not None:
        credential["validUntil"] = f"{valid_until.isoformat()}T23:59:59Z"
    return credential


def sign(key: SigningKey, credential: Mapping[str, Any]) -> str:
    """The credential as a compact JWS (``typ`` vc+jwt)."""
    header = {"alg": "EdDSA", "kid": key.kid, "typ": "vc+jwt", "cty": "vc"}
    signing_input = f"{b64url(_json(header))}.{b64url(_json(credential))}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def _segment(text: str, what: str) -> bytes:
    try:
        raw = b64url_decode(text)
    except (ValueError, TypeError):
        raise CredentialInvalid(f"the {what} is not base64url") from None
    if b64url(raw) != text:
        raise CredentialInvalid(f"the {what} is not canonical base64url")
    return raw


def _object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError: malformed, or an integer beyond int()'s digit limit; RecursionError:
        # nested too deep. A presented token's header is read before its signature is checked.
        raise CredentialInvalid(f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise CredentialInvalid(f"the {what} is not a JSON object")
    return value


def unverified(token: str) -> dict[str, Any]:
    """The payload of a JWS this bank signed itself (for read models): no checks."""
    return _object(b64url_decode(token.split(".")[1]), "payload")


def verify(token: str, public_keys: Mapping[str, Ed25519PublicKey]) -> Verified:
    """Check a compact JWS against the bank's public keys; raise ``CredentialInvalid``."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise CredentialInvalid("a compact JWS has three dot-separated parts")
    header = _object(_segment(parts[0], "header"), "header")
    payload = _segment(parts[1], "payload")
    signature = _segment(parts[2], "signature")
    if header.get("alg") != "EdDSA":
        raise CredentialInvalid(f"alg {header.get('alg')!r} is not EdDSA")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid not in public_keys:
        raise CredentialInvalid(f"kid {kid!r} is not one of the bank's keys")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    if not verify_with(dict(public_keys), kid, signing_input, signature):
        raise CredentialInvalid("the signature does not match the content")
    credential = _object(payload, "payload")
    if CONTEXT not in (credential.get("@context") or []):
        raise CredentialInvalid("not a Verifiable Credential 2.0 (@context)")
    return Verified(kid, header, credential)


def check_issuer(credential: Mapping[str, Any], base_url: str) -> None:
    """Refuse a credential (signed by one of the bank's keys) that names another issuer or an
    id outside the bank: a copy signed when a caller's ``Host`` header named the bank."""
    base = base_url.rstrip("/")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer_id != base:
        raise CredentialInvalid(f"the issuer {issuer_id!r} is not this bank ({base})")
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not credential_id.startswith(f"{base}/v1/"):
        raise CredentialInvalid(f"the id {credential_id!r} is not under this bank's address ({base})")
    for entry in credential.get("credentialStatus") or []:
        listed = entry.get("statusListCredential") if isinstance(entry, Mapping) else None
        if not isinstance(listed, str) or not listed.startswith(f"{base}/v1/status-lists/"):
            raise CredentialInvalid(f"the status list {listed!r} is not this bank's ({base})")


def encoded_list(indexes: Iterable[int], size: int = STATUS_LIST_SIZE) -> str:
    """The ``encodedList`` of a Bitstring Status List with ``indexes`` set."""
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + b64url(gzip.compress(bytes(bits), mtime=0))


def status_list_credential(
    base_url: str, list_id: str, purpose: str, indexes: Iterable[int], valid_from: str
) -> dict[str, Any]:
    base = base_url.rstrip("/")
    url = f"{base}/v1/status-lists/{list_id}"
    return {
        "@context": [CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": base, "name": ISSUER_NAME},
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list(indexes),
        },
    }
