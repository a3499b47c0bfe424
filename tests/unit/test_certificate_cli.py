"""``creditbank keys rotate`` and ``creditbank certificates verify FILE``, offline."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from api.cli.main import main
from ledger import credential
from ledger.keys import KeyRing


def _signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str) -> tuple[KeyRing, Path]:
    """A certificate signed with the configured key directory's current key, in a file."""
    keys = tmp_path / "keys"
    monkeypatch.setenv("CREDITBANK_KEY_DIR", str(keys))
    ring = KeyRing(keys)
    doc = credential.certificate_credential(
        base_url=base_url,
        certificate_id="c1",
        kind="continuing_education",
        name="王芳",
        hours=Decimal("360"),
        valid_from=date(2026, 1, 1),
        valid_until=None,
        status_index=3,
    )
    cert = tmp_path / "cert.jwt"
    cert.write_text(credential.sign(ring.current(), doc))
    return ring, cert


def test_rotate_then_verify_a_certificate_signed_with_the_older_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ring, cert = _signed(tmp_path, monkeypatch, "https://b.example")
    assert main(["keys", "rotate"]) == 0
    assert len(ring.keys()) == 2
    capsys.readouterr()
    assert main(["certificates", "verify", str(cert)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and report["kind"] == "continuing_education"
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(ring.jwks()))
    assert main(["certificates", "verify", str(cert), "--keys", str(jwks)]) == 0
    text = cert.read_text()
    cert.write_text(text[:-3] + ("x" if text[-3] != "x" else "y") + text[-2:])
    assert main(["certificates", "verify", str(cert), "--keys", str(jwks)]) == 1


def test_verify_with_an_issuer_refuses_a_certificate_signed_under_another_address(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, cert = _signed(tmp_path, monkeypatch, "http://evil.example")
    assert main(["certificates", "verify", str(cert), "--issuer", "http://evil.example"]) == 0
    capsys.readouterr()
    assert main(["certificates", "verify", str(cert), "--issuer", "https://credits.example.cn"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and "is not this bank" in report["reason"]
