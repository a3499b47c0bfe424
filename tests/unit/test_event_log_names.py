"""The read side names the log from the library and the event classes; these are the
strings already stored in every database, so deriving them must not change them."""

from __future__ import annotations

import pytest

from ledger.policy import Policy
from projections import apply, certificates, degree_credits, eventlog, personal, policies, transfers


def test_the_events_table_is_the_one_the_event_store_writes() -> None:
    assert eventlog.EVENTS_TABLE == "creditbank_events"
    assert eventlog.HEAD_SQL == "SELECT coalesce(max(notification_id), 0) FROM creditbank_events"


def test_topics_derived_from_the_event_classes_are_the_stored_ones() -> None:
    assert apply.COMPLETION_RECORDED == "ledger.completion:Completion.Recorded"
    assert apply.ROLE_STARTED == "ledger.learner:Learner.RoleStarted"
    assert apply.PROVIDER_REINSTATED == "ledger.provider:Provider.Reinstated"
    assert personal.CERTIFICATE_ISSUED == "ledger.certificate:Certificate.Issued"
    assert policies.POLICY_PUBLISHED == "ledger.policy:Policy.Published"
    assert certificates.ISSUED == "ledger.certificate:Certificate.Issued"
    assert "ledger.certificate:Certificate.Reinstated" in certificates.STATUS_TOPICS
    assert degree_credits.RECOGNISED == "ledger.degree:Recognitions.Recognised"
    stored = {f"ledger.transfer:Account.{name}" for name in ("Opened", "Transferred", "Reversed")}
    assert set(transfers.TOPICS) == stored


def test_an_event_the_aggregate_does_not_have_has_no_topic() -> None:
    with pytest.raises(AttributeError):
        eventlog.topic(Policy, "Publishd")


def test_no_bound_is_above_every_position() -> None:
    assert eventlog.bound(None) == eventlog.LATEST == 2**63 - 1
    assert eventlog.bound(0) == 0
    assert eventlog.bound(41) == 41
