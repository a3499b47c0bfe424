"""The write side's orjson transcoder against the library's ``JSONTranscoder``.

Properties: for any value an event could hold (and many it could not), ``LedgerTranscoder``
encodes to the same bytes as ``JSONTranscoder`` with the same transcodings, or fails the same
way; what it encodes decodes to what the library's encoding decodes to; and events stored by
the library decode unchanged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.fast_transcoder import LedgerTranscoder
from ledger.store import ledger_mapper
from ledger.transcodings import DateAsISO
from tests.unit.ledger_examples import new_bank


def registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


LIBRARY = registered(JSONTranscoder())
OURS = registered(LedgerTranscoder())


class Colour(Enum):
    RED = "red"


class Size(IntEnum):
    BIG = 2


class Text(str):
    pass


def encoded(transcoder: JSONTranscoder, value: Any) -> tuple[str, Any]:
    try:
        return ("bytes", transcoder.encode(value))
    except Exception as error:  # the same failure, of the same type
        return ("error", type(error).__name__)


#: Every code point class that JSON escaping treats differently, lone surrogates included.
any_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3000)),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Zs", "Co", "Cn"])),
    st.sampled_from(["", "\x00", "\x1f", "\x7f", '"', "\\", "\u2028\u2029", "\ud800", "师德", "𝔘", "\b\f\n\r\t/"]),
)
aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(minutes=-150))]))
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**64), max_value=2**64),
    any_text,
    st.decimals(),
    st.decimals(places=2, allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(),
    aware,
    st.floats(),
    st.uuids(),
    st.times(),
    st.sampled_from([Colour.RED, Size.BIG, Text("x"), b"bytes", {1, 2}, frozenset(), 2**63, 2**64, -(2**63) - 1]),
)
values = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(any_text, inner, max_size=4),
        st.dictionaries(st.one_of(st.integers(), st.booleans(), st.none(), st.floats()), inner, max_size=2),
    ),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(values)
def test_same_bytes_or_same_failure_as_the_library(value: Any) -> None:
    assert encoded(OURS, value) == encoded(LIBRARY, value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(any_text, values, max_size=6))
def test_what_it_encodes_decodes_as_the_library_encoding_does(state: dict[str, Any]) -> None:
    ours = encoded(OURS, state)
    if ours[0] == "bytes":
        # Compared through the library's encoding, where NaN equals NaN.
        assert LIBRARY.encode(OURS.decode(ours[1])) == LIBRARY.encode(LIBRARY.decode(LIBRARY.encode(state)))


def test_a_completion_event_state_takes_orjson_and_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    state = {
        "timestamp": datetime(2026, 11, 26, 8, 30, 1, 123456, tzinfo=UTC),
        "originator_topic": "ledger.completion:Completion",
        "provider_id": "jl-college",
        "record_id": "a\n",
        "hours": Decimal("2.50"),
        "completed_on": date(2026, 6, 30),
        "started_on": None,
        "topics": ["师德", "x\u2028"],
        "count": 3,
        "flag": True,
    }
    expected = LIBRARY.encode(state)

    def library_encode(self: JSONTranscoder, obj: Any) -> bytes:
        raise AssertionError("the library's encoder was used")

    # The fast path really runs for such a state: the library's encoder is never asked.
    monkeypatch.setattr(JSONTranscoder, "encode", library_encode)
    data = OURS.encode(state)
    assert data == expected
    assert OURS.decode(data) == state


def test_the_application_writes_with_it_and_the_read_side_decodes_with_the_library() -> None:
    bank = new_bank()
    assert type(bank.mapper.transcoder) is LedgerTranscoder
    assert set(bank.mapper.transcoder.types) == {UUID, Decimal, datetime, date}
    # projections/events.py takes its fast decoder only for exactly JSONTranscoder.
    assert type(ledger_mapper().transcoder) is JSONTranscoder


def test_events_stored_by_the_library_decode_unchanged() -> None:
    stored = (
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-26T08:30:01.123456+00:00"},'
        b'"originator_topic":"ledger.completion:Completion","id":{"_type_":"uuid_hex",'
        b'"_data_":"5a93f34b092c53028ba103efeba9f970"},"hours":{"_type_":"decimal_str","_data_":"12"},'
        b'"on":{"_type_":"date_iso","_data_":"2026-06-30"},"t":"\\u0000\\n\xe5\xb8\x88","n":1.5}'
    )
    expected = {
        "timestamp": datetime(2026, 11, 26, 8, 30, 1, 123456, tzinfo=UTC),
        "originator_topic": "ledger.completion:Completion",
        "id": UUID("5a93f34b-092c-5302-8ba1-03efeba9f970"),
        "hours": Decimal("12"),
        "on": date(2026, 6, 30),
        "t": "\x00\n师",
        "n": 1.5,
    }
    assert OURS.decode(stored) == LIBRARY.decode(stored) == expected
    assert OURS.encode(expected) == LIBRARY.encode(expected) == stored


class DecimalAsParts(DecimalAsStr):
    """A transcoding of Decimal whose data is not a string (as another application might register)."""

    name = "decimal_parts"

    def encode(self, obj: Decimal) -> Any:  # type: ignore[override]
        sign, digits, exponent = obj.as_tuple()
        return {"sign": sign, "digits": list(digits), "exponent": exponent, "uuid": UUID(int=1)}


class DecimalAsFixed(DecimalAsStr):
    """A subclass of the library's transcoding that encodes differently."""

    def encode(self, obj: Decimal) -> str:
        return format(obj, "f")


@pytest.mark.parametrize(
    "transcodings",
    [(), (DecimalAsParts(),), (DecimalAsFixed(), DateAsISO()), (UUIDAsHex(), DatetimeAsISO())],
    ids=["none", "non-string data", "subclass", "no decimal"],
)
def test_other_registrations_are_honoured_alike(transcodings: tuple[Any, ...]) -> None:
    ours, library = LedgerTranscoder(), JSONTranscoder()
    for transcoding in transcodings:
        ours.register(transcoding)
        library.register(transcoding)
    for value in ({"h": Decimal("1E+3")}, {"d": date(2026, 1, 2), "t": datetime(2026, 1, 2, tzinfo=UTC)}, [1, "x"]):
        assert encoded(ours, value) == encoded(library, value)
