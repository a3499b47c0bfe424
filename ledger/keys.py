"""The bank's Ed25519 signing keys: one current key, older keys kept for verifying.

Invariants:
- a key's id (``kid``) is derived from its public key, so the same key always has the
  same id and two keys never share one;
- the private key lives only in the key directory (PEM, mode 0600); it is never logged,
  returned by an API, or written to the event log;
- rotating adds a new current key and keeps every older one: anything signed with an
  older key still verifies;
- signing and verification use the ``cryptography`` package; nothing here implements
  cryptography itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_jwk(kid: str, public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "alg": "EdDSA", "use": "sig"}


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an Ed25519 JWK")
    return Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))


def verify_with(public_keys: dict[str, Ed25519PublicKey], kid: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` over ``data`` was made by the key ``kid`` of ``public_keys``."""
    public_key = public_keys.get(kid)
    if public_key is None:
        return False
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    created_at: datetime

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


class KeyRing:
    """The keys in one directory: ``<created>-<kid>.pem``, newest is current."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.pem"))

    def _load(self, path: Path) -> SigningKey:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private_key, Ed25519PrivateKey):
            raise ValueError(f"{path.name} is not an Ed25519 key")
        created = datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        return SigningKey(key_id(private_key.public_key()), private_key, created)

    def keys(self) -> list[SigningKey]:
        """Every key, oldest first."""
        return [self._load(path) for path in self._files()]

    def rotate(self, now: datetime | None = None) -> SigningKey:
        """Make a new current key; older keys stay for verification."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        private_key = Ed25519PrivateKey.generate()
        created = now or datetime.now(UTC)
        kid = key_id(private_key.public_key())
        path = self.directory / f"{created.strftime('%Y%m%dT%H%M%S%fZ')}-{kid}.pem"
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Created with 0600 from the start, so the key is never readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return SigningKey(kid, private_key, created)

    def current(self) -> SigningKey:
        """The newest key, made on first use."""
        files = self._files()
        return self._load(files[-1]) if files else self.rotate()

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {key.kid: key.public_key for key in self.keys()}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public key set, as served to verifiers (RFC 8037 OKP keys)."""
        return {"keys": [public_jwk(key.kid, key.public_key) for key in self.keys()]}
