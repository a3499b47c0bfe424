"""Certificates on the in-memory store: issued only when earned, signed, verifiable, with
a status history; the credential format resists tampering with any one character."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import credential
from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.certificate import valid_spans
from ledger.certificate_commands import (
    IssueRequest,
    issue_certificate,
    reinstate_certificate,
    revoke_certificate,
    suspend_certificate,
)
from ledger.completion import CompletionFacts
from ledger.eligibility import CertificateFact, Facts, RoleFact, evaluate
from ledger.errors import CertificateNotEarned, CertificateNotSuspended, CertificateRevoked
from ledger.ids import completion_uuid, event_uuid
from ledger.keys import KeyRing
from ledger.policy import parse_policy, shipped_policies
from tests.unit.ledger_examples import TODAY, new_bank, status_bit, status_bits

POLICIES = [replace(parse_policy(d), version=1) for d in shipped_policies()]
LEARNER = "P220106199001010011"


ACADEMY = "nt-academy"


def _post(bank: CreditBank, *hours: str, prefix: str = "pq") -> list[str]:
    """Record principal-qualification completions of these hours; their event ids."""
    outcomes = bank.record_completions(
        [
            CompletionFacts(
                provider_id=ACADEMY,
                record_id=f"{prefix}-{i}",
                learner_id=LEARNER,
                programme_code="PQ",
                programme_title="任职资格培训",
                category="principal_qualification",
                level="national",
                hours=Decimal(h),
                assessment="pass",
                completed_on=date(2025, 3, 1),
            )
            for i, h in enumerate(hours, 1)
        ]
    )
    assert [o.status for o in outcomes] == ["recorded"] * len(hours), outcomes
    return [str(event_uuid(completion_uuid(ACADEMY, f"{prefix}-{i}"), 1)) for i in range(1, len(hours) + 1)]


@pytest.fixture
def bank() -> CreditBank:
    b = new_bank()
    b.publish_shipped_policies()
    b.accredit_provider(
        Accreditation(
            ACADEMY, "国家教育行政学院", "CN", ("principal_qualification",), ("national",), date(2020, 1, 1), None
        )
    )
    b.register_learner(LearnerRegistration(LEARNER, "李强", "220106", "一小", date(2015, 9, 1)))
    return b


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys")


def _issue(bank: CreditBank, ring: KeyRing, **kw: object) -> credential.Verified:
    req = IssueRequest(LEARNER, "principal_qualification", TODAY, **kw)  # type: ignore[arg-type]
    issued = issue_certificate(bank, req, ring.current(), "https://bank.example")
    assert issued.written.status == "recorded"
    return credential.verify(issued.jws, ring.public_keys())


def test_a_prospective_principal_with_300_hours_gets_a_signed_vc(bank: CreditBank, ring: KeyRing) -> None:
    _post(bank, "150", "150")
    verified = _issue(bank, ring)
    doc = verified.credential
    assert doc["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert doc["credentialSubject"]["name"] == "李强"
    assert doc["credentialSubject"]["hours"] == "300"
    assert doc["credentialSubject"]["certificate"]["name"] == "任职资格证书"
    assert {s["statusPurpose"] for s in doc["credentialStatus"]} == {"revocation", "suspension"}
    assert all(s["type"] == "BitstringStatusListEntry" for s in doc["credentialStatus"])


def test_299_5_hours_is_refused_with_what_is_missing(bank: CreditBank, ring: KeyRing) -> None:
    _post(bank, "150", "149.5")
    req = IssueRequest(LEARNER, "principal_qualification", TODAY)
    with pytest.raises(CertificateNotEarned) as refused:
        issue_certificate(bank, req, ring.current(), "https://bank.example")
    assert refused.value.context["missing"][0]["hours"] == {"principal_qualification": "0.5"}


def test_the_basis_names_the_completions_and_policy_version(bank: CreditBank, ring: KeyRing) -> None:
    event_ids = _post(bank, "200", "100")
    req = IssueRequest(LEARNER, "principal_qualification", TODAY)
    issued = issue_certificate(bank, req, ring.current(), "https://b.example")
    assert issued.verdict is not None
    cert = bank.repository.get(issued.certificate_id)
    assert cert.basis["completions"] == sorted(event_ids)
    assert {"policy_id": "cn-certificates", "version": 1} in cert.basis["policies"]
    again = issue_certificate(bank, req, ring.current(), "https://b.example")
    assert again.written.status == "duplicate" and again.jws == issued.jws


def test_status_history_revoked_stays_revoked(bank: CreditBank, ring: KeyRing) -> None:
    _post(bank, "300")
    req = IssueRequest(LEARNER, "principal_qualification", date(2026, 1, 5))
    cid = issue_certificate(bank, req, ring.current(), "https://b.example").certificate_id
    with pytest.raises(CertificateNotSuspended):
        reinstate_certificate(bank, cid, "nothing to reinstate")
    assert suspend_certificate(bank, cid, "under review", date(2026, 3, 1)).status == "recorded"
    assert suspend_certificate(bank, cid, "again").status == "unchanged"
    assert reinstate_certificate(bank, cid, "review done", date(2026, 4, 1)).status == "recorded"
    assert revoke_certificate(bank, cid, "obtained by fraud", date(2026, 6, 1)).status == "recorded"
    assert revoke_certificate(bank, cid, "twice").status == "unchanged"
    with pytest.raises(CertificateRevoked):
        suspend_certificate(bank, cid, "too late")
    history = [(h["status"], h["since"]) for h in bank.repository.get(cid).history]
    assert history == [
        ("valid", date(2026, 1, 5)),
        ("suspended", date(2026, 3, 1)),
        ("valid", date(2026, 4, 1)),
        ("revoked", date(2026, 6, 1)),
    ]
    spans = valid_spans(date(2026, 1, 5), None, history)
    assert spans == [(date(2026, 1, 5), date(2026, 2, 28)), (date(2026, 4, 1), date(2026, 5, 31))]


def test_each_certificate_has_its_own_status_index(bank: CreditBank, ring: KeyRing) -> None:
    _post(bank, "300")
    indexes = set()
    for n in range(3):
        req = IssueRequest(LEARNER, "principal_qualification", TODAY, issuance_id=f"n{n}")
        issued = issue_certificate(bank, req, ring.current(), "https://b.example")
        indexes.add(bank.repository.get(issued.certificate_id).status_index)
    assert indexes == {0, 1, 2}


def test_an_older_key_still_verifies_after_rotation(bank: CreditBank, ring: KeyRing) -> None:
    _post(bank, "300")
    old = _issue(bank, ring, issuance_id="old")
    ring.rotate()
    new = _issue(bank, ring, issuance_id="new")
    assert old.kid != new.kid
    assert len(ring.jwks()["keys"]) == 2


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_changing_any_one_character_fails_verification(data: st.DataObject) -> None:
    token = _TOKEN
    index = data.draw(st.integers(0, len(token) - 1))
    alphabet = string.ascii_letters + string.digits + "-_."
    char = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[index]))
    tampered = token[:index] + char + token[index + 1 :]
    with pytest.raises(credential.CredentialInvalid):
        credential.verify(tampered, _KEYS)


def test_certificate_held_sees_only_the_valid_spans() -> None:
    cn_head = [p for p in POLICIES if p.policy_id in {"330300-head-teacher", "cn-head-teacher"}]
    held = CertificateFact("head_teacher_post", date(2024, 1, 1), date(2024, 5, 31), "e1", 1)
    facts = Facts("T1", "330302", date(2015, 9, 1), (RoleFact("teacher", date(2015, 9, 1)),), certificates=(held,))
    on = evaluate("head_teacher_post", facts, cn_head, date(2024, 3, 1))
    after = evaluate("head_teacher_post", facts, cn_head, date(2024, 7, 1))
    req = {r["rule"]: r for r in on["requirements"]}
    assert req["pre-post-certificate"]["met"] is True
    assert {r["rule"]: r["met"] for r in after["requirements"]}["pre-post-certificate"] is False


def _fixed_token() -> tuple[str, dict[str, object]]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.keys import SigningKey, key_id

    private = Ed25519PrivateKey.generate()
    key = SigningKey(key_id(private.public_key()), private, TODAY)  # type: ignore[arg-type]
    doc = credential.certificate_credential(
        base_url="https://b.example",
        certificate_id="c1",
        kind="head_teacher_post",
        name="王芳",
        hours=Decimal("24"),
        valid_from=TODAY,
        valid_until=None,
        status_index=7,
    )
    return credential.sign(key, doc), {key.kid: key.public_key}


_TOKEN, _KEYS = _fixed_token()


def test_status_list_bits_are_read_back() -> None:
    encoded = credential.encoded_list([0, 7, 131_071])
    bits = status_bits(encoded)
    assert len(bits) == 16_384
    assert [status_bit(bits, i) for i in (0, 1, 7, 8, 131_071)] == [True, False, True, False, True]
