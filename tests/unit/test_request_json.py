"""Request bodies are JSON as RFC 8259 has it, within bounds: worked examples of what
``api.service.http.parse_json`` refuses (400) and accepts, and of the whole numbers and days the
schemas take (``Whole``, ``Day``)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from api.service.http import MAX_JSON_DEPTH, MAX_NUMBER_CHARS, parse_json
from api.service.problems import Problem
from api.service.schemas import Day, Whole
from ledger.days import parse_day


def _refused(raw: bytes) -> Problem:
    with pytest.raises(Problem) as refused:
        parse_json(raw)
    assert refused.value.status_code == 400 and refused.value.code == "malformed_json"
    return refused.value


def test_exact_decimals_and_ordinary_bodies_are_read_as_before() -> None:
    assert parse_json(b'{"hours": 2.5, "n": 3, "ok": true, "none": null, "list": [1, "x"]}') == {
        "hours": Decimal("2.5"),
        "n": 3,
        "ok": True,
        "none": None,
        "list": [1, "x"],
    }
    assert parse_json('["王芳"]'.encode()) == ["王芳"]


def test_nesting_is_bounded_at_the_depth_no_request_of_the_contract_needs() -> None:
    def nested(depth: int) -> bytes:
        return b"[" * depth + b"]" * depth

    assert parse_json(nested(MAX_JSON_DEPTH)) == parse_json(nested(MAX_JSON_DEPTH))
    assert "nests too deep" in _refused(nested(MAX_JSON_DEPTH + 1)).title
    # Deep enough for the parser itself to give up (RecursionError before): the same answer.
    assert "nests too deep" in _refused(nested(100_000)).title
    assert "nests too deep" in _refused(b'{"a": ' + b'{"b": ' * 40 + b"1" + b"}" * 41).title


@pytest.mark.parametrize(
    "literal", [b"1" * (MAX_NUMBER_CHARS + 1), b"1" * 5000, b"0." + b"1" * 5000, b"1e" + b"9" * 50]
)
def test_number_literals_are_bounded_before_int_or_decimal_reads_them(literal: bytes) -> None:
    assert "characters" in _refused(b'{"a": ' + literal + b"}").detail


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(constant: bytes) -> None:
    assert "not a JSON number" in _refused(b"[" + constant + b"]").detail


def test_a_key_twice_in_one_object_is_refused_at_any_depth() -> None:
    assert "'a' appears twice" in _refused(b'{"a": 1, "a": 2}').detail
    assert "'code' appears twice" in _refused(b'{"p": {"code": "x", "code": "y"}}').detail
    assert parse_json(b'{"a": {"a": 1}}') == {"a": {"a": 1}}  # the same key in two objects is fine


def test_a_body_that_is_not_utf8_or_not_json_is_refused() -> None:
    assert "UTF-8" in _refused(b"\xff\xfe{}").title
    assert "line 1 column" in _refused(b'{"a":}').detail


def test_a_batch_of_ten_thousand_completions_is_read_whole() -> None:
    # How fast it is read is the batch-ingest benchmark's figure (server CPU per completion),
    # not a test's: a timed assertion fails on a busy machine and proves nothing on a quiet one.
    item = {
        "record_id": "R-1",
        "learner_id": "T-1",
        "programme": {"code": "C", "title": "师德", "category": "ethics", "level": "county"},
        "hours": "2.5",
        "assessment": "pass",
        "completed_on": "2025-01-01",
        "topics": ["a"],
    }
    raw = json.dumps({"completions": [item] * 10_000}, ensure_ascii=False).encode()
    completions = parse_json(raw)["completions"]
    assert len(completions) == 10_000
    assert all(c == item for c in completions)


@pytest.mark.parametrize("value", ["+5", " 5", "5 ", "1_0", "５", "٥", "5.0", "1e1", "-1", "", "0x5", "9" * 20])
def test_a_whole_number_in_a_query_is_ascii_digits_only(value: str) -> None:
    with pytest.raises(ValidationError):
        Whole().deserialize(value)


def test_a_whole_number_is_digits_or_a_json_integer() -> None:
    assert Whole().deserialize("0042") == 42
    assert Whole().deserialize(7) == 7
    for value in (True, Decimal("7.0"), 7.0, None, [7]):
        with pytest.raises(ValidationError):
            Whole().deserialize(value)


@pytest.mark.parametrize(
    "value",
    [
        "20261101",
        "2026-W01-1",
        "2026-335",
        "2026-11-1",
        "２０２６-１１-０１",
        "2026-11-01T00:00",
        "2026-11-01 ",
        "2026-02-30",
        20261101,
    ],
)
def test_a_day_is_yyyy_mm_dd_only(value: object) -> None:
    with pytest.raises(ValueError):
        parse_day(value)
    with pytest.raises(ValidationError):
        Day().deserialize(value)


def test_a_day_as_the_contract_writes_it() -> None:
    assert parse_day("2026-11-01") == date(2026, 11, 1)
    assert Day().deserialize("2026-11-01") == date(2026, 11, 1)
