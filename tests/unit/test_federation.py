"""Moves between two provincial banks on the in-memory store: the origin's departure closes
the account and answers a signed record; the destination's arrival carries the hours, is the
same arrival when retried, and refuses a record it cannot trust or whose digest is wrong."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.settings import Settings, SettingsError
from ledger.application import Accreditation, CreditBank, LearnerCorrection, LearnerRegistration
from ledger.completion import CompletionFacts
from ledger.errors import AccountDeparted, ArrivalConflict, DepartureInvalid, FederationNotConfigured
from ledger.federation import arrive_learner, depart_learner, digest_of, sign_record, verify_record
from ledger.keys import KeyRing
from tests.unit.ledger_examples import new_bank

LEARNER = "T220106198501010021"
JILIN, ZHEJIANG = "220000", "330000"


def _bank(jurisdiction: str, provider: str) -> CreditBank:
    bank = new_bank()
    bank.accredit_provider(
        Accreditation(provider, provider, jurisdiction, ("online",), ("provincial",), date(2020, 1, 1), None)
    )
    return bank


def _post(bank: CreditBank, provider: str, n: int, hours: str) -> str:
    facts = CompletionFacts(
        provider, f"r{n}", LEARNER, "OL", "网络研修", "online", "provincial", Decimal(hours), "pass", date(2025, 5, 1)
    )
    return bank.record_completions([facts])[0].status


def _registration(jurisdiction: str = "330106") -> LearnerRegistration:
    return LearnerRegistration(LEARNER, "王芳", jurisdiction, None, date(2015, 9, 1))


def _origin() -> CreditBank:
    bank = _bank(JILIN, "jl")
    bank.register_learner(LearnerRegistration(LEARNER, "王芳", "220106", None, date(2015, 9, 1)))
    return bank


def test_a_departure_closes_the_account_and_a_retry_answers_the_same_record() -> None:
    origin = _origin()
    assert _post(origin, "jl", 1, "40") == "recorded"
    assert _post(origin, "jl", 2, "12.5") == "recorded"
    moved = depart_learner(origin, LEARNER, ZHEJIANG, JILIN)
    again = depart_learner(origin, LEARNER, ZHEJIANG, JILIN)
    assert moved.written.status == "recorded" and again.written.status == "duplicate"
    assert again.record == moved.record and again.written.position == moved.written.position
    record = moved.record
    assert record["hours"] == "52.5" and record["origin"] == JILIN and record["destination"] == ZHEJIANG
    assert record["origin_position"] == moved.written.position and len(record["completions"]) == 2
    # Closed whole: no posting, no other departure, no change of the learner.
    assert origin.record_completions([_facts("jl", 3)])[0].error.__class__ is AccountDeparted
    with pytest.raises(AccountDeparted):
        depart_learner(origin, LEARNER, "440000", JILIN)
    with pytest.raises(AccountDeparted):
        origin.correct_learner(LEARNER, LearnerCorrection({"school": "新校"}, "调入"))


def _facts(provider: str, n: int) -> CompletionFacts:
    return CompletionFacts(
        provider, f"r{n}", LEARNER, "OL", "网络研修", "online", "provincial", Decimal(1), "pass", date(2025, 5, 2)
    )


def test_an_arrival_carries_the_hours_once_and_the_account_posts_there(tmp_path: Path) -> None:
    origin, destination = _origin(), _bank(ZHEJIANG, "zj")
    _post(origin, "jl", 1, "40")
    key = KeyRing(tmp_path / "keys").current()
    token = sign_record(key, depart_learner(origin, LEARNER, ZHEJIANG, JILIN).record)
    record = verify_record(token, {JILIN: {key.kid: key.public_key}})
    first = arrive_learner(destination, record, _registration(), ZHEJIANG)
    retried = arrive_learner(destination, record, _registration(), ZHEJIANG)
    assert first.written.status == "recorded" and retried.written.status == "duplicate"
    assert retried.written.position == first.written.position and first.record["hours"] == "40"
    account = destination.account_of(destination.subject_of(LEARNER))
    assert account is not None and account.jurisdiction == "330106"
    assert [c["hours"] for c in account.carried()] == [Decimal(40)]
    assert _post(destination, "zj", 7, "3") == "recorded"
    # The destination's own standing counts the carried hours with its own.
    assert sum(c.hours for c in destination.standing(LEARNER).facts.completions) == Decimal(43)


def test_a_record_not_signed_by_the_origin_or_with_a_wrong_digest_is_refused(tmp_path: Path) -> None:
    origin, destination = _origin(), _bank(ZHEJIANG, "zj")
    _post(origin, "jl", 1, "40")
    record = depart_learner(origin, LEARNER, ZHEJIANG, JILIN).record
    ours, stranger = KeyRing(tmp_path / "a").current(), KeyRing(tmp_path / "b").current()
    with pytest.raises(DepartureInvalid):
        verify_record(sign_record(stranger, record), {JILIN: {ours.kid: ours.public_key}})
    inflated = {**record, "completions": [{**record["completions"][0], "hours": "400"}]}
    with pytest.raises(DepartureInvalid, match="digest"):
        arrive_learner(destination, inflated, _registration(), ZHEJIANG)
    with pytest.raises(DepartureInvalid, match="not to this bank"):
        arrive_learner(destination, record, _registration(), "440000")
    with pytest.raises(FederationNotConfigured):
        arrive_learner(destination, record, _registration(), None)


def test_an_arrival_for_an_account_open_here_is_refused_and_a_return_reopens_it() -> None:
    origin, destination = _origin(), _bank(ZHEJIANG, "zj")
    destination.register_learner(_registration())
    record = depart_learner(origin, LEARNER, ZHEJIANG, JILIN).record
    with pytest.raises(ArrivalConflict):
        arrive_learner(destination, record, _registration(), ZHEJIANG)
    # Back to the origin after a stay elsewhere: the departed account reopens there.
    fresh = _bank(ZHEJIANG, "zj")
    arrive_learner(fresh, record, _registration(), ZHEJIANG)
    back = depart_learner(fresh, LEARNER, JILIN, ZHEJIANG).record
    reopened = arrive_learner(origin, back, LearnerRegistration(LEARNER, "王芳", "220106", None, None), JILIN)
    assert reopened.written.status == "recorded"
    assert _post(origin, "jl", 9, "2") == "recorded"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hours=st.lists(st.decimals("0.5", "200", places=1), min_size=0, max_size=5))
def test_the_digest_changes_with_any_carried_hour(hours: list[Decimal]) -> None:
    completions = [
        {"event_id": f"e{n}", "hours": h, "category": "online", "completed_on": date(2025, 1, 1)}
        for n, h in enumerate(hours)
    ]
    digest = digest_of(LEARNER, JILIN, completions)
    assert digest == digest_of(LEARNER, JILIN, list(reversed(completions)))
    assert digest != digest_of(LEARNER, ZHEJIANG, completions)
    for n in range(len(completions)):
        changed = [dict(c) for c in completions]
        changed[n]["hours"] += Decimal("0.5")
        assert digest_of(LEARNER, JILIN, changed) != digest


def test_the_trusted_banks_are_read_from_one_file(tmp_path: Path) -> None:
    jwks = KeyRing(tmp_path / "keys").jwks()
    peers = tmp_path / "peers.json"
    peers.write_text(json.dumps({JILIN: jwks}), encoding="utf-8")
    settings = Settings.from_env({"CREDITBANK_BANK_ID": ZHEJIANG, "CREDITBANK_PEER_KEYS_FILE": str(peers)})
    assert settings.bank_id == ZHEJIANG and settings.peer_keys == {JILIN: jwks}
    peers.write_text(json.dumps({JILIN: ["not", "a", "key set"]}), encoding="utf-8")
    with pytest.raises(SettingsError, match="CREDITBANK_PEER_KEYS_FILE"):
        Settings.from_env({"CREDITBANK_PEER_KEYS_FILE": str(peers)})
    assert Settings.from_env({}).bank_id is None
