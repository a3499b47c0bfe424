"""The read side's decoders, plain and fast, give exactly what the ledger's mapper gives.

``projections.events.EventDecoder.decode`` asks the mapper;
``projections.fast_events.FastEventDecoder.decode`` parses known states with orjson and
applies the transcodings itself. These tests decode the same stored events with both and
with a reference written here (the mapper, as the decoder did before the fast path) and
compare every attribute,
value types and key order included: for every event class of the ledger with generated
states, for states the fast path must leave to the mapper (floats, integers beyond 64 bits,
upcasting, corrupt bytes, unknown topics and transcodings), and for a real demo bank.
The hot-path helpers (``event_uuid``, ``chain_hashes``) are checked against the slow ones.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import TopicError, get_topic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ledger
from ledger.ids import event_uuid as reference_event_uuid
from ledger.store import ledger_mapper, memory_environment
from projections.chain import GENESIS, canonical_bytes, chain_hashes, link
from projections.events import Decoded, EventDecoder
from projections.fast_events import FastEventDecoder, event_uuid

BOOKKEEPING = {"originator_id", "originator_version", "timestamp", "originator_topic"}
MAPPER = ledger_mapper()


def reference_decode(position: int, originator_id: UUID, version: int, topic: str, state: bytes) -> Decoded:
    """``EventDecoder.decode`` as it was before the fast path: the mapper, always."""
    stored = StoredEvent(originator_id=originator_id, originator_version=version, topic=topic, state=state)
    known = True
    try:
        attributes: dict[str, Any] = vars(MAPPER.to_domain_event(stored))
    except TopicError:
        known = False
        try:
            decoded = MAPPER.transcoder.decode(state)
            attributes = decoded if isinstance(decoded, dict) else {}
        except Exception:
            attributes = {}
    except Exception:
        known = False
        attributes = {}
    timestamp = attributes.get("timestamp")
    return Decoded(
        position=position,
        originator_id=originator_id,
        originator_version=version,
        topic=topic,
        state=state,
        fields={k: v for k, v in attributes.items() if k not in BOOKKEEPING},
        recorded_at=timestamp if isinstance(timestamp, datetime) else None,
        known=known,
        event_id=reference_event_uuid(originator_id, version),
    )


def assert_decoded_alike(row: tuple[int, UUID, int, str, bytes]) -> None:
    """Both decoders give the reference's ``Decoded`` for ``row``."""
    expected = reference_decode(*row)
    assert_same(EventDecoder().decode(*row), expected)
    assert_same(FastEventDecoder().decode(*row), expected)


def typed(value: Any) -> Any:
    """A comparable picture of ``value`` that tells types, key order, ``Decimal`` exponents,
    time zones and NaNs apart (plain ``==`` does not)."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def assert_same(fast: Decoded, slow: Decoded) -> None:
    assert typed(fast.fields) == typed(slow.fields)
    assert typed(fast.recorded_at) == typed(slow.recorded_at)
    assert (fast.position, fast.originator_id, fast.originator_version, fast.topic, fast.state, fast.known) == (
        slow.position,
        slow.originator_id,
        slow.originator_version,
        slow.topic,
        slow.state,
        slow.known,
    )
    assert fast.event_id == slow.event_id and str(fast.event_id) == str(slow.event_id)
    assert fast.type == slow.type


def ledger_event_classes() -> list[type]:
    """Every event class of every aggregate in the ledger package."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(ledger.__path__):
        module = importlib.import_module(f"ledger.{info.name}")
        for aggregate in vars(module).values():
            if not (
                isinstance(aggregate, type)
                and issubclass(aggregate, Aggregate)
                and aggregate.__module__ == module.__name__
            ):
                continue
            for name in dir(aggregate):
                event = getattr(aggregate, name)
                if (
                    isinstance(event, type)
                    and issubclass(event, CanMutateAggregate)
                    and event.__qualname__.startswith(aggregate.__qualname__ + ".")
                ):
                    found[get_topic(event)] = event
    return [found[t] for t in sorted(found)]


EVENT_CLASSES = ledger_event_classes()


def test_the_ledger_event_classes_are_all_found() -> None:
    topics = {get_topic(c) for c in EVENT_CLASSES}
    assert {
        "ledger.completion:Completion.Recorded",
        "ledger.learner:Learner.Registered",
        "ledger.policy:Policy.Published",
        "ledger.certificate:Certificate.Issued",
        "ledger.transfer:Account.Transferred",
        "ledger.degree:Recognitions.Recognised",
    } <= topics


# -- generated states, every event class --------------------------------------------------

ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(max_size=12),
    st.decimals(places=None),
    st.dates(),
    st.datetimes(timezones=ZONES),
    st.uuids(),
)
# Rarer shapes, each of which must send the fast path to the mapper or agree with it.
ODD = st.one_of(
    st.floats(),
    st.integers(min_value=2**64),
    st.integers(max_value=-(2**63) - 1),
)


def values(odd: bool) -> st.SearchStrategy[Any]:
    leaves = st.one_of(SCALARS, ODD) if odd else SCALARS
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=6), inner, max_size=3),
            # Plain dicts that look like transcoded values: known and unknown names, any data.
            st.fixed_dictionaries(
                {
                    "_type_": st.sampled_from(["date_iso", "decimal_str", "uuid_hex", "datetime_iso", "nope"]),
                    "_data_": inner,
                }
            ),
        ),
        max_leaves=8,
    )


@st.composite
def stored_events(draw: st.DrawFn, odd: bool) -> tuple[int, UUID, int, str, bytes]:
    cls = draw(st.sampled_from(EVENT_CLASSES))
    names = [f.name for f in dataclasses.fields(cls) if f.name not in BOOKKEEPING]
    state: dict[str, Any] = {"timestamp": draw(st.datetimes(timezones=ZONES))}
    if draw(st.booleans()):
        state["originator_topic"] = get_topic(cls).rsplit(".", 1)[0]
    for name in names:
        state[name] = draw(values(odd))
    if draw(st.integers(0, 9)) == 0:
        state[draw(st.text(max_size=6))] = draw(values(odd))  # a field the class does not declare
    raw = MAPPER.transcoder.encode(state)
    return draw(st.integers(1, 2**40)), draw(st.uuids()), draw(st.integers(1, 10**6)), get_topic(cls), raw


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stored_events(odd=False))
def test_every_event_class_decodes_as_the_mapper_does(row: tuple[int, UUID, int, str, bytes]) -> None:
    assert_decoded_alike(row)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stored_events(odd=True))
def test_odd_values_decode_as_the_mapper_does(row: tuple[int, UUID, int, str, bytes]) -> None:
    assert_decoded_alike(row)


def test_a_completion_takes_the_fast_path_and_keeps_its_types() -> None:
    decoder = FastEventDecoder()
    state = MAPPER.transcoder.encode(
        {
            "timestamp": datetime(2026, 11, 26, 8, 30, 1, 123456, tzinfo=UTC),
            "originator_topic": "ledger.completion:Completion",
            "provider_id": "P1",
            "record_id": "r1",
            "learner_id": "T1",
            "programme_code": "C1",
            "programme_title": "师德",
            "category": "ethics",
            "level": "county",
            "hours": Decimal("2.50"),
            "assessment": "pass",
            "completed_on": date(2024, 3, 15),
            "started_on": None,
            "topics": ["a"],
        }
    )
    topic = "ledger.completion:Completion.Recorded"
    assert decoder._fast(uuid4(), topic, state) is not None  # not the mapper
    row = (7, uuid4(), 1, topic, state)
    fast = decoder.decode(*row)
    assert_same(fast, reference_decode(*row))
    assert_same(EventDecoder().decode(*row), fast)
    assert fast.fields["hours"] == Decimal("2.50") and str(fast.fields["hours"]) == "2.50"
    assert list(fast.fields)[:2] == ["provider_id", "record_id"]


# -- states only the mapper may decide --------------------------------------------------


class Versioned(Aggregate):
    """An event class that upcasts: its states must go through the mapper."""

    class Moved(Aggregate.Event):
        class_version = 2
        where: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["where"] = state.pop("place", "nowhere")


COMPLETION = "ledger.completion:Completion.Recorded"
STAMP = b'{"_type_":"datetime_iso","_data_":"2026-11-26T08:30:01.123456+00:00"}'
ODD_STATES = [
    (COMPLETION, b'{"timestamp":' + STAMP + b',"hours":1.5}'),  # a float
    (COMPLETION, b'{"timestamp":' + STAMP + b',"n":123456789012345678901234567890}'),  # beyond 64 bits
    (COMPLETION, b'{"timestamp":' + STAMP + b',"n":-9223372036854775809}'),
    (COMPLETION, b'{"timestamp":' + STAMP + b',"n":18446744073709551615}'),  # u64 max: exact both ways
    (COMPLETION, b'{"n":1e400}'),
    (COMPLETION, b'{"n":NaN}'),
    (COMPLETION, b'{"n":"\\ud800"}'),  # a lone surrogate
    (COMPLETION, b'{"a":1,"a":2,"b":[1,{"a":3,"a":4}]}'),  # duplicate keys
    (COMPLETION, b'{"class_version":1,"x":1}'),
    (COMPLETION, b'{"class_version":2,"x":1}'),
    (COMPLETION, b'{"_type_":"date_iso","_data_":"2024-01-01"}'),  # the state itself transcoded
    (COMPLETION, b"[1,2]"),
    (COMPLETION, b'"text"'),
    (COMPLETION, b'{"d":{"_type_":"nope","_data_":"x"}}'),  # unknown transcoding
    (COMPLETION, b'{"d":{"_type_":["date_iso"],"_data_":"x"}}'),
    (COMPLETION, b'{"d":{"_type_":"date_iso","_data_":"2024-02-30"}}'),  # invalid date
    (COMPLETION, b'{"d":{"_type_":"decimal_str","_data_":"1.5e3"}}'),
    (COMPLETION, b'{"d":{"_type_":"decimal_str","_data_":12}}'),  # Decimal(int) works
    (COMPLETION, b'{"d":{"_type_":"uuid_hex","_data_":12}}'),
    (COMPLETION, b'{"d":{"_type_":"date_iso","_data_":{"_type_":"decimal_str","_data_":"1"}}}'),
    (COMPLETION, b'{"d":{"_type_":"date_iso","_data_":"2024-01-01","x":1}}'),  # three keys: a plain dict
    (COMPLETION, b'{"d":{"_type_":"date_iso"}}'),
    (COMPLETION, b'{"timestamp":"2026-11-26"}'),  # not an instant
    (COMPLETION, b'\xef\xbb\xbf{"a":1}'),  # a BOM
    (COMPLETION, b'{"a":"\xff"}'),  # not UTF-8
    (COMPLETION, b'{"a":1} '),
    (COMPLETION, b'{"a":1}x'),
    (COMPLETION, b""),
    ("ledger.nowhere:Gone.Event", b'{"a":{"_type_":"date_iso","_data_":"2024-01-01"}}'),  # unknown topic
    ("ledger.nowhere:Gone.Event", b"not json"),
    ("not a topic", b"{}"),
    (get_topic(Versioned.Moved), b'{"timestamp":' + STAMP + b',"place":"Changchun"}'),
    (get_topic(Versioned.Moved), b'{"timestamp":' + STAMP + b',"class_version":2,"where":"Jilin"}'),
]


@pytest.mark.parametrize(("topic", "state"), ODD_STATES)
def test_states_the_fast_path_must_not_decide_decode_as_the_mapper_does(topic: str, state: bytes) -> None:
    row = (11, uuid4(), 3, topic, state)
    assert_decoded_alike(row)


@pytest.mark.parametrize("decoder", [EventDecoder, FastEventDecoder])
def test_upcasting_still_applies(decoder: type[EventDecoder]) -> None:
    decoded = decoder().decode(1, uuid4(), 1, get_topic(Versioned.Moved), b'{"place":"Changchun"}')
    assert decoded.known and decoded.fields == {"where": "Changchun"}


@pytest.mark.parametrize("decoder", [EventDecoder, FastEventDecoder])
def test_a_mapper_with_a_cipher_or_another_transcoder_is_never_bypassed(decoder: type[EventDecoder]) -> None:
    class Own(type(MAPPER.transcoder)):  # type: ignore[misc]
        def decode(self, data: bytes) -> Any:
            decoded = super().decode(data)
            decoded["seen"] = True
            return decoded

    own = Own()
    for name, transcoding in MAPPER.transcoder.names.items():
        own.names[name] = transcoding
    from eventsourcing.persistence import Mapper

    decoded = decoder(Mapper(transcoder=own)).decode(1, uuid4(), 1, COMPLETION, b'{"a":1}')
    assert decoded.fields == {"a": 1, "seen": True}


def test_decode_rows_decodes_each_row_and_leaves_the_collector_as_it_was() -> None:
    import gc

    decoder = FastEventDecoder()
    rows = [(i, uuid4(), 1, COMPLETION, orjson.dumps({"i": i})) for i in range(1, 5)]
    assert gc.isenabled()
    assert [d.fields for d in decoder.decode_rows(rows)] == [{"i": i} for i in range(1, 5)]
    assert [d.fields for d in EventDecoder().decode_rows(rows)] == [{"i": i} for i in range(1, 5)]
    assert gc.isenabled()
    gc.disable()
    try:
        decoder.decode_rows(rows)
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- a real bank ----------------------------------------------------------------------------


def test_a_demo_banks_events_decode_as_the_mapper_does() -> None:
    from api.demo.builder import build_demo
    from ledger.application import CreditBank

    today = date(2026, 11, 26)
    bank = CreditBank(memory_environment(), today=lambda: today)
    try:
        build_demo(bank, today=today, learners=20)
        notifications = bank.recorder.select_notifications(start=1, limit=10**6)
    finally:
        bank.close()
    plain, fast = EventDecoder(), FastEventDecoder()
    topics = set()
    for n in notifications:
        row = (n.id, n.originator_id, n.originator_version, n.topic, n.state)
        expected = reference_decode(*row)
        assert_same(plain.decode(*row), expected)
        assert_same(fast.decode(*row), expected)
        topics.add(n.topic)
    assert {COMPLETION, "ledger.learner:Learner.Registered", "ledger.policy:Policy.Published"} <= topics


# -- the hot path's other helpers ---------------------------------------------------------


@given(st.uuids(), st.integers(min_value=0, max_value=2**63 - 1))
def test_event_uuid_is_the_ledgers(originator_id: UUID, version: int) -> None:
    fast, slow = event_uuid(originator_id, version), reference_event_uuid(originator_id, version)
    assert fast == slow and str(fast) == str(slow) and hash(fast) == hash(slow) and isinstance(fast, UUID)
    assert fast.version == 5 and fast.bytes == slow.bytes


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**62), st.uuids(), st.integers(0, 2**62), st.text(max_size=40), st.binary(max_size=300)
        ),
        max_size=20,
    ),
    st.binary(min_size=32, max_size=32),
)
def test_chain_hashes_are_the_documented_links(rows: list[tuple[int, UUID, int, str, bytes]], start: bytes) -> None:
    expected, head = [], start
    for row in rows:
        head = link(head, canonical_bytes(*row))
        expected.append(head)
    assert chain_hashes(rows, start) == expected
    assert chain_hashes([]) == [] and chain_hashes(rows)[:1] == (
        [link(GENESIS, canonical_bytes(*rows[0]))] if rows else []
    )
