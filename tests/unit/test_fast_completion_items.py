"""The compiled completion-item loader against the marshmallow schema it mirrors.

Properties, over generated items of JSON's types (dict, list, str, int, Decimal, the floats
NaN/Infinity that ``json.loads`` also gives, bool, None), valid and invalid in every way the
schema checks (wrong types, missing and unknown fields, null, hours with too many places or
out of range, bad and out-of-range dates, overlong and empty strings, identifiers outside
their alphabet, control/format/surrogate characters, text that NFC changes, whitespace to
trim, unknown codes, too many topics):

- the fast path accepts an item exactly when the schema does, and then returns the same dict
  (same keys in the same order, same values of the same types: ``Decimal('2.50')`` is not
  ``Decimal('2.5')`` here);
- ``load_completion_item`` answers exactly as ``completion_schema.load``: the same dict, or a
  ``ValidationError`` with the same messages;
- the batch envelope check never accepts what the batch schema refuses.
"""

from __future__ import annotations

import json
import os
import random
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from api.service.fast_completion_items import COMPILED, batch_envelope_is_valid, fast_load_item, load_completion_item
from api.service.write_schemas import completion_batch_schema, completion_schema
from bench.data import completion_item
from ledger.vocabulary import ASSESSMENTS, CATEGORIES, LEVELS

MISSING = object()


def canonical(value: Any) -> Any:
    """A form that compares types and key order too."""
    if isinstance(value, dict):
        return ("dict", [(k, canonical(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [canonical(v) for v in value])
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def outcome(load: Any, item: Any) -> Any:
    try:
        return ("loaded", canonical(load(item)))
    except ValidationError as error:
        return ("refused", canonical(error.messages))


# -- strategies -------------------------------------------------------------------------------

#: Characters that matter to ``Text``: controls (Cc), format (Cf), lone surrogates (Cs, which
#: ``json.loads`` produces from "\ud800"), spaces that are trimmed or kept, and characters that
#: NFC composes or replaces.
TRICKY = [
    "\x00",
    "\x1f",
    "\x7f",
    "\x85",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x1c",
    " ",
    "\xa0",
    "\u3000",
    "\u2028",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u00ad",
    "\ud800",
    "\udfff",
    "e\u0301",
    "\u0301",
    "\u212b",
    "\uf900",
    "\u1100\u1161",
    "Å",
    "é",
    "培训",
    "𝔘",
    "\U000e0001",
    "\ue000",
    "\U0010ffff",
    "\u0378",
]
tricky_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=3)), max_size=6).map("".join)
some_text = st.one_of(
    st.text(max_size=8),
    tricky_text,
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "  x  ",
            "课程",
            " 专题培训课程 ",
            "A" * 64,
            "A" * 65,
            "培" * 100,
            "培" * 101,
            "x" * 200,
            "x" * 201,
            " " + "y" * 200 + " ",
        ]
    ),
)
identifier = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,70}", fullmatch=True),
    st.sampled_from(
        [
            "",
            "a",
            "-a",
            "a b",
            "a\n",
            "a\n\n",
            "T0000001",
            "A" * 64,
            "A" * 65,
            "R" * 128,
            "R" * 129,
            "ａ",
            "a_b",
            "2026-PQ-0001",
            "x\t",
        ]
    ),
    st.text(max_size=6),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=4),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=6,
)
hours = st.one_of(
    st.decimals(min_value=Decimal("-1"), max_value=Decimal("2001"), places=2, allow_nan=False, allow_infinity=False),
    st.decimals(places=3, allow_nan=True, allow_infinity=True),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("2000"), places=2).map(str),
    st.integers(-3, 2003),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "2.5",
            " 2.5 ",
            "2.50",
            "2.500",
            "2.505",
            "0",
            "0.00",
            "-1",
            "2000",
            "2000.00",
            "2000.01",
            "1e3",
            "1E+3",
            "NaN",
            "Infinity",
            "-0",
            "0.001",
            "1_000",
            "",
            "abc",
            "2,5",
            "１",
            "0x10",
            "1e999999999",
            "  ",
            "2.5\n",
        ]
    ),
    st.sampled_from(
        [
            Decimal("2.5"),
            Decimal("2.50"),
            Decimal("2.500"),
            Decimal("0.1"),
            Decimal("1E+3"),
            Decimal("2E+3"),
            Decimal("-0"),
            2.5,
            0.1,
            2000.0,
            2000.001,
            True,
            False,
            None,
        ]
    ),
    json_value,
)
day = st.one_of(
    st.dates(min_value=date(1940, 1, 1), max_value=date(2110, 12, 31)).map(date.isoformat),
    st.dates().map(date.isoformat),
    st.sampled_from(
        [
            "1950-01-01",
            "1949-12-31",
            "2100-12-31",
            "2101-01-01",
            "20250101",
            "2025-W01-1",
            "2025-02-29",
            "2024-02-29",
            "2025-1-1",
            " 2025-01-01",
            "2025-01-01 ",
            "2025-01-01T00:00",
            "",
            "２０２５-01-01",
            "2025-001",
        ]
    ),
    json_value,
)
code = st.one_of(
    st.sampled_from([*CATEGORIES, *LEVELS, *ASSESSMENTS, "Pass", "pass ", "", "national\n"]),
    json_value,
)


def maybe(value: st.SearchStrategy[Any], *, absent: float = 0.1) -> st.SearchStrategy[Any]:
    """A value, or MISSING (the key left out), now and then."""
    return st.one_of(value, st.just(MISSING)) if absent else value


def valid_or(valid: st.SearchStrategy[Any], wild: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # Mostly valid values, so that whole items are often valid and the fast path is exercised.
    return st.one_of(valid, valid, valid, wild)


@st.composite
def programmes(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(json_value)
    fields = {
        "code": draw(maybe(valid_or(st.from_regex(r"[A-Z]{2,4}-[0-9]{1,3}", fullmatch=True), some_text))),
        "title": draw(maybe(valid_or(st.sampled_from(["校长职业道德专题", "Ethics", " 专题 "]), some_text))),
        "category": draw(maybe(valid_or(st.sampled_from(list(CATEGORIES)), code))),
        "level": draw(maybe(valid_or(st.sampled_from(list(LEVELS)), code))),
    }
    if draw(st.integers(0, 9)) == 0:
        fields[draw(st.sampled_from(["extra", "Code", "titel"]))] = draw(json_scalar)
    return {k: v for k, v in fields.items() if v is not MISSING}


valid_day = st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)
topics = st.one_of(
    st.lists(st.sampled_from(["课堂教学", "师德", "reading"]), max_size=4),
    st.lists(some_text, max_size=4),
    st.lists(st.just("t"), min_size=49, max_size=52),
    json_value,
)


@st.composite
def items(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 29)) == 0:
        return draw(json_value)  # not an object at all
    fields = {
        "record_id": draw(maybe(valid_or(st.from_regex(r"R-[0-9]{1,8}", fullmatch=True), identifier))),
        "provider_id": draw(
            maybe(valid_or(st.sampled_from(["cn-principal-academy", "BENCH-P01"]), identifier), absent=0.5)
        ),
        "learner_id": draw(maybe(valid_or(st.from_regex(r"T[0-9]{7}", fullmatch=True), identifier))),
        "programme": draw(maybe(programmes())),
        "hours": draw(maybe(valid_or(st.sampled_from(["1", "2.5", "0.25", "16", "2000"]), hours))),
        "assessment": draw(maybe(valid_or(st.sampled_from(list(ASSESSMENTS)), code))),
        "completed_on": draw(maybe(valid_or(valid_day, day))),
        "started_on": draw(maybe(valid_or(st.one_of(valid_day, st.none()), day), absent=0.5)),
        "topics": draw(
            maybe(valid_or(st.lists(st.sampled_from(["课堂教学", "师德"]), max_size=3), topics), absent=0.5)
        ),
    }
    if draw(st.integers(0, 14)) == 0:
        fields[draw(st.sampled_from(["extra", "recordId", "_schema", "hour"]))] = draw(json_scalar)
    order = draw(st.permutations(list(fields)))
    return {k: fields[k] for k in order if fields[k] is not MISSING}


# -- properties ---------------------------------------------------------------------------------


def test_the_completion_schema_compiles() -> None:
    # If this fails, the schema gained something the fast path does not mirror and every item
    # now goes through marshmallow: correct, but slow. Teach api/service/fast_completion_items.py about it.
    assert COMPILED


#: 600 examples take ~8 s; CREDITBANK_ITEM_EXAMPLES=20000 for a longer hunt.
ITEM_EXAMPLES = int(os.environ.get("CREDITBANK_ITEM_EXAMPLES", "600"))


@settings(max_examples=ITEM_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items())
@example(
    {
        "record_id": "a\n",
        "learner_id": "T1",
        "programme": {"code": "C", "title": "e\u0301", "category": "ethics", "level": "school"},
        "hours": Decimal("2.5"),
        "assessment": "pass",
        "completed_on": "20250101",
    }
)
@example(
    {
        "record_id": "R1",
        "learner_id": "T1",
        "programme": {"code": " \u212b ", "title": "\u3000课\u3000", "category": "ethics", "level": "school"},
        "hours": " 2.50 ",
        "assessment": "pass",
        "completed_on": "2025-W01-1",
        "started_on": None,
        "topics": [],
    }
)
@example(
    {
        "record_id": "R1",
        "learner_id": "T1",
        "programme": {"code": "C", "title": "x\u200by", "category": "ethics", "level": "school"},
        "hours": 2.5,
        "assessment": "pass",
        "completed_on": "2025-01-01",
    }
)
@example(
    {
        "record_id": "R1",
        "learner_id": "T1",
        "programme": {"code": "C", "title": "x\ud800", "category": "ethics", "level": "school"},
        "hours": "1",
        "assessment": "pass",
        "completed_on": "2025-01-01",
    }
)
def test_fast_path_accepts_exactly_what_the_schema_accepts(item: Any) -> None:
    reference = outcome(completion_schema.load, item)
    fast = fast_load_item(item)
    if reference[0] == "loaded":
        assert fast is not None, f"the fast path declined a valid item: {item!r}"
        assert canonical(fast) == reference[1]
    else:
        assert fast is None, f"the fast path accepted what the schema refuses ({reference[1]}): {item!r}"
    assert outcome(load_completion_item, item) == reference


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(items(), st.just({})), max_size=4), st.booleans(), json_value)
def test_the_envelope_check_never_accepts_a_refused_batch(entries: list[Any], extra: bool, value: Any) -> None:
    body: dict[str, Any] = {"completions": entries}
    if extra:
        body["x"] = value
    for candidate in (body, {"completions": value}, value):
        if batch_envelope_is_valid(candidate):
            completion_batch_schema.load(candidate)  # must not raise


def test_the_benchmark_items_take_the_fast_path_through_json() -> None:
    rng = random.Random(6)
    for n in range(500):
        raw = completion_item(rng, "B", n, 1000)
        # As the server sees it: numbers become Decimals (api/service/http.py read_json).
        item = json.loads(json.dumps(raw), parse_float=Decimal)
        fast = fast_load_item(item)
        assert fast is not None
        assert canonical(fast) == canonical(completion_schema.load(item))


def test_errors_keep_the_schema_wording() -> None:
    item = {
        "record_id": "",
        "learner_id": "T1",
        "programme": {"code": "C", "title": "\x00", "category": "X y"},
        "hours": "2.505",
        "assessment": "pass",
        "completed_on": "2101-01-01",
        "extra": 1,
    }
    try:
        load_completion_item(item)
    except ValidationError as error:
        assert error.messages == {
            "record_id": ["Length must be between 1 and 128.", "letters, digits and . _ : / - only"],
            "programme": {
                "title": ["control characters are not allowed"],
                "category": [
                    f"must be a category code: one of {', '.join(CATEGORIES)}, or one a jurisdiction's vocabulary adds"
                ],
                "level": ["Missing data for required field."],
            },
            "hours": ["2.505 has more than two decimal places"],
            "completed_on": ["must lie between 1950-01-01 and 2100-12-31"],
            "extra": ["Unknown field."],
        }
    else:
        raise AssertionError("accepted an invalid item")
