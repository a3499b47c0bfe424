"""Credit transfers on the in-memory store: the origin account closes (and refuses new
completions), the destination carries the hours with a digest of the origin history, the
sum of spendable hours over jurisdictions never changes, and a reversal compensates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Accreditation, CreditBank, LearnerRegistration
from ledger.completion import Completion, CompletionFacts
from ledger.errors import AccountClosed, OutsideJurisdiction, TransferInvalid
from ledger.transfer import Carried, history_digest, spendable
from ledger.transfer_commands import account, reverse_transfer, transfer_account
from tests.unit.ledger_examples import new_bank

LEARNER = "T220106198501010021"
PROVIDERS = {"jl": "220000", "wz": "330300", "cn": "CN"}


def _bank() -> CreditBank:
    bank = new_bank()
    for pid, jurisdiction in PROVIDERS.items():
        bank.accredit_provider(
            Accreditation(pid, pid, jurisdiction, ("online",), ("provincial",), date(2020, 1, 1), None)
        )
    bank.register_learner(LearnerRegistration(LEARNER, "王芳", "220106", None, date(2015, 9, 1)))
    return bank


def _post(bank: CreditBank, provider: str, n: int, hours: str) -> str:
    facts = CompletionFacts(
        provider, f"r{n}", LEARNER, "OL", "网络研修", "online", "provincial", Decimal(hours), "pass", date(2025, 5, 1)
    )
    return bank.record_completions([facts])[0].status


def _counted(bank: CreditBank, ids: list[tuple[str, str]]) -> list[Carried]:
    from ledger.ids import completion_uuid, event_uuid

    out = []
    for provider, record in ids:
        c = bank.repository.get(completion_uuid(provider, record))
        assert isinstance(c, Completion)
        if c.earns_hours:
            out.append(Carried(str(event_uuid(c.id, 1)), c.facts.hours, c.facts.category, c.facts.completed_on))
    return out


def test_a_transfer_closes_the_origin_and_carries_the_hours() -> None:
    bank = _bank()
    assert _post(bank, "jl", 1, "40") == "recorded"
    carried = _counted(bank, [("jl", "r1")])
    moved = transfer_account(bank, "t1", LEARNER, "330300")
    again = transfer_account(bank, "t1", LEARNER, "330300")
    assert moved.written.status == "recorded" and moved.hours == Decimal(40)
    assert again.written.status == "duplicate" and again.written.position == moved.written.position
    assert again.hours == Decimal(40)
    acc = account(bank, LEARNER)
    assert acc is not None and acc.jurisdiction == "330300" and acc.closed == ["220106"]
    record = acc.transfers["t1"]
    # The digest names the learner by the pseudonym the ledger knows her by, not her number.
    subject = bank.subject_of(LEARNER)
    assert acc.learner_id == subject
    assert record["hours"] == Decimal("40") and record["digest"] == history_digest(subject, "220106", carried)
    # The Jilin institution posts into the closed account: refused by name.
    outcome = bank.record_completions(
        [
            CompletionFacts(
                "jl", "r2", LEARNER, "OL", "网络研修", "online", "provincial", Decimal(2), "pass", date(2025, 6, 1)
            )
        ]
    )[0]
    assert outcome.status == "rejected" and isinstance(outcome.error, AccountClosed)
    assert _post(bank, "wz", 3, "2") == "recorded"  # the destination accepts
    assert _post(bank, "cn", 4, "2") == "recorded"  # a national provider posts to the open account
    with pytest.raises(TransferInvalid):
        transfer_account(bank, "t2", LEARNER, "330300")
    assert reverse_transfer(bank, LEARNER, "t1", "moved back").status == "recorded"
    assert _post(bank, "jl", 5, "2") == "recorded"
    assert _post(bank, "wz", 6, "2") == "rejected"


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.sampled_from(sorted(PROVIDERS)), st.sampled_from(["1", "2.5", "40"])),
        st.tuples(st.just("move"), st.sampled_from(["220106", "330300", "110000"]), st.just("")),
        st.tuples(st.just("reverse"), st.just(""), st.just("")),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_spendable_hours_summed_over_jurisdictions_never_change_by_a_transfer(
    ops: list[tuple[str, str, str]],
) -> None:
    bank = _bank()
    posted: list[tuple[str, str]] = []
    moves: list[str] = []
    for n, (op, arg, hours) in enumerate(ops):
        acc = account(bank, LEARNER)
        before = sum(spendable(acc.jurisdiction, acc.closed, _total(bank, posted)).values()) if acc else None
        if op == "post":
            status = _post(bank, arg, n, hours)
            if status == "recorded":
                posted.append((arg, f"r{n}"))
            current = acc.jurisdiction if acc else "220106"
            closed = acc.closed if acc else []
            from ledger.vocabulary import covers

            refused = not covers(PROVIDERS[arg], current) and any(covers(PROVIDERS[arg], c) for c in closed)
            assert (status == "rejected") == refused
            continue
        if op == "move":
            current = acc.jurisdiction if acc else "220106"
            if arg == current:
                continue
            transfer_account(bank, f"t{n}", LEARNER, arg)
            moves.append(f"t{n}")
            acc = account(bank, LEARNER)
            assert acc is not None and acc.transfers[f"t{n}"]["hours"] == _total(bank, posted)
        elif op == "reverse":
            live = [t for t in moves if acc is not None and not acc.transfers[t]["reversed"]]
            if not live:
                continue
            reverse_transfer(bank, LEARNER, live[-1], "undo")
        acc = account(bank, LEARNER)
        assert acc is not None
        after = spendable(acc.jurisdiction, acc.closed, _total(bank, posted))
        assert sum(after.values()) == _total(bank, posted)
        if before is not None:
            assert sum(after.values()) == before
        assert all(v == 0 for j, v in after.items() if j != acc.jurisdiction)


def _total(bank: CreditBank, posted: list[tuple[str, str]]) -> Decimal:
    return sum((c.hours for c in _counted(bank, posted)), Decimal(0))


def test_after_a_transfer_the_scope_is_the_destination_s() -> None:
    bank = _bank()
    assert _post(bank, "jl", 1, "40") == "recorded"
    # No carried list is given: the ledger reads the completions itself, the one just posted too.
    moved = transfer_account(bank, "t1", LEARNER, "330300", scope="220106")
    assert moved.written.status == "recorded" and moved.hours == Decimal(40)
    # The origin's HR retrying its own transfer is answered as the first time ...
    assert transfer_account(bank, "t1", LEARNER, "330300", scope="220106").written.status == "duplicate"
    # ... but may no longer move the learner, nor change the roles; the destination's may.
    with pytest.raises(OutsideJurisdiction):
        transfer_account(bank, "t2", LEARNER, "110000", scope="220106")
    with pytest.raises(OutsideJurisdiction):
        bank.start_role(LEARNER, "head_teacher", date(2026, 9, 1), scope="220106")
    with pytest.raises(OutsideJurisdiction):
        reverse_transfer(bank, LEARNER, "t1", "mistake", scope="220000")
    assert bank.start_role(LEARNER, "head_teacher", date(2026, 9, 1), scope="330300").status == "recorded"
    assert bank.start_role(LEARNER, "trainer", date(2026, 9, 1), scope="CN").status == "recorded"
    assert transfer_account(bank, "t2", LEARNER, "110000", scope="330000").written.status == "recorded"
