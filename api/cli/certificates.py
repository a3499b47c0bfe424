"""``creditbank keys rotate|list`` and ``creditbank certificates verify FILE``.

Invariants:
- ``certificates verify`` works offline: it needs only the certificate and the bank's
  public keys (a JWKS file as served at ``/v1/keys``, or the key directory); it checks the
  signature and the validity dates (and, given ``--issuer``, that the certificate names that
  address as its issuer and id base), and says that status needs the status list online;
- ``keys rotate`` adds a new current key and keeps the old ones (they still verify).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.settings import Settings, SettingsError
from ledger import credential
from ledger.keys import KeyRing, public_key_from_jwk


def add_parsers(sub: Any) -> None:
    keys = sub.add_parser("keys", help="the bank's Ed25519 signing keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser("rotate", help="make a new current key; older keys keep verifying")
    ksub.add_parser("list", help="print the public key set (JWKS)")
    certs = sub.add_parser("certificates", help="work with issued certificates")
    csub = certs.add_subparsers(dest="certificates_command", required=True)
    verify = csub.add_parser("verify", help="verify a certificate offline with the bank's public keys")
    verify.add_argument("file", help="the certificate: its JWS, or the JSON answer holding 'jws'; - for stdin")
    verify.add_argument("--keys", help="a JWKS file or a key directory (default: the configured key directory)")
    verify.add_argument(
        "--issuer",
        help="the bank's address the certificate must name as its issuer and id base "
        "(as CREDITBANK_PUBLIC_URL); unchecked if not given",
    )


def _public_keys(source: Path) -> dict[str, Ed25519PublicKey]:
    if source.is_dir():
        return KeyRing(source).public_keys()
    data = json.loads(source.read_text(encoding="utf-8"))
    return {str(jwk["kid"]): public_key_from_jwk(jwk) for jwk in data.get("keys", [])}


def _token(text: str) -> str:
    text = text.strip()
    if text.startswith("{"):
        data = json.loads(text)
        return str(data.get("jws") or data.get("certificate") or "")
    return text


def verify_file(
    file: str, keys: dict[str, Ed25519PublicKey], now: datetime | None = None, issuer: str | None = None
) -> tuple[bool, dict[str, Any]]:
    raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        verified = credential.verify(_token(raw), keys)
        if issuer is not None:
            credential.check_issuer(verified.credential, issuer)
    except credential.CredentialInvalid as error:
        return False, {"valid": False, "reason": str(error)}
    doc = verified.credential
    moment = now or datetime.now(UTC)
    until = doc.get("validUntil")
    expired = until is not None and datetime.fromisoformat(until) < moment
    not_yet = datetime.fromisoformat(doc["validFrom"]) > moment
    ok = not expired and not not_yet
    return ok, {
        "valid": ok,
        "signature": {"valid": True, "kid": verified.kid, "alg": "EdDSA"},
        "id": doc.get("id"),
        "kind": doc["credentialSubject"]["certificate"]["kind"],
        "name": doc["credentialSubject"].get("name"),
        "hours": doc["credentialSubject"].get("hours"),
        "validFrom": doc["validFrom"],
        "validUntil": until,
        "reason": "expired" if expired else "not yet valid" if not_yet else None,
        "status": f"not checked offline: see credentialStatus (the status lists) or {doc.get('id')}/verification",
    }


def _no_keys_at(path: Path) -> SettingsError:
    return SettingsError(
        f"there are no signing keys in {path.resolve()}: CREDITBANK_KEY_DIR (default CREDITBANK_DATA_DIR/keys, "
        "read from the current folder) must name the bank's key directory; run this where the bank runs, "
        "or pass --keys with the JWKS from GET /v1/keys"
    )


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    ring = KeyRing(settings.keys_path)
    if args.keys_command != "rotate" and not settings.keys_path.is_dir():
        raise _no_keys_at(settings.keys_path)
    if args.keys_command == "rotate":
        key = ring.rotate()
        print(json.dumps({"kid": key.kid, "created_at": key.created_at.isoformat(), "keys": len(ring.keys())}))
        return 0
    print(json.dumps(ring.jwks(), indent=2))
    return 0


def cmd_certificates(settings: Settings, args: argparse.Namespace) -> int:
    source = Path(args.keys) if args.keys else settings.keys_path
    if not source.exists():
        raise _no_keys_at(source)
    ok, report = verify_file(args.file, _public_keys(source), issuer=args.issuer)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if ok else 1


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "keys": cmd_keys,
    "certificates": cmd_certificates,
}
