"""Hours (学时) are exact decimals: worked examples of what ``parse_hours`` accepts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import HoursInvalid
from ledger.hours import MAX_HOURS_PER_COMPLETION, format_hours, parse_hours


def test_a_two_and_a_half_hour_session_sent_as_text_is_exactly_2_50():
    assert parse_hours("2.5") == Decimal("2.50")
    assert parse_hours("2.5").as_tuple().exponent == -2


def test_the_float_2_5_is_accepted_because_it_is_exactly_two_and_a_half():
    amount = parse_hours(2.5)
    assert amount == Decimal("2.5")
    assert isinstance(amount, Decimal)


def test_a_float_that_only_looks_like_0_3_is_refused_and_the_message_says_send_a_string():
    with pytest.raises(HoursInvalid) as refused:
        parse_hours(0.1 + 0.2)
    assert refused.value.field == "hours"
    assert "0.30000000000000004" in refused.value.detail
    assert 'send hours as a string such as "2.5"' in refused.value.detail


@pytest.mark.parametrize("value", [0, "0", "0.00", -1, "-1", "-0.5", Decimal("-2.5"), -0.0])
def test_zero_or_negative_hours_are_refused(value):
    with pytest.raises(HoursInvalid, match="greater than 0") as refused:
        parse_hours(value)
    assert refused.value.field == "hours"


def test_three_decimal_places_are_refused_because_hours_have_two():
    with pytest.raises(HoursInvalid, match=r"1\.234 has more than two decimal places"):
        parse_hours("1.234")


def test_two_places_means_two_written_places_even_trailing_zeros():
    assert parse_hours("2.50") == Decimal("2.50")
    for value in ("2.500", "300.0000", Decimal("2.500")):
        with pytest.raises(HoursInvalid):
            parse_hours(value)


def test_whole_hours_as_int_or_text():
    assert parse_hours(300) == Decimal("300.00")
    assert parse_hours("90") == Decimal("90.00")
    assert parse_hours(Decimal("0.01")) == Decimal("0.01")


@pytest.mark.parametrize(
    "value",
    [
        " 90 ",
        "90\n",
        "1_000",
        "+5",
        "1e3",
        "1E3",
        ".5",
        "5.",
        "0x10",
        "NaN",
        "Infinity",
        "1,5",
        "",
        "１０",
        "٣",
        "१२",
        "1" + "0" * 24,
        Decimal("1E+3"),
    ],
)
def test_hours_are_written_as_the_contract_writes_them_ascii_digits_and_at_most_two_places(value):
    """Only what ``Decimal()`` or ``int()`` would read: full-width, Arabic-Indic or
    Devanagari digits, underscores, signs, exponents and spaces are not the contract's hours."""
    with pytest.raises(HoursInvalid) as refused:
        parse_hours(value)
    assert refused.value.field == "hours"


def test_the_largest_completion_is_2000_hours_one_cent_more_is_a_typing_error():
    assert parse_hours("2000") == MAX_HOURS_PER_COMPLETION
    with pytest.raises(HoursInvalid, match="check the unit") as refused:
        parse_hours("2000.01")
    assert "more than 2000 h" in refused.value.detail


@pytest.mark.parametrize("value", [10**40, 1e20, "18000", 120_000, Decimal("1" + "0" * 30)])
def test_huge_amounts_are_refused(value):
    with pytest.raises(HoursInvalid, match="more than 2000 h"):
        parse_hours(value)


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_hours(value):
    with pytest.raises(HoursInvalid, match="not a boolean"):
        parse_hours(value)


@pytest.mark.parametrize("value", [None, [2.5], {"hours": 2}, b"2.5"])
def test_none_and_other_shapes_are_not_hours(value):
    with pytest.raises(HoursInvalid, match="decimal string or a number"):
        parse_hours(value)


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", Decimal("NaN")])
def test_not_a_number_and_infinity_as_text_are_refused(value):
    with pytest.raises(HoursInvalid):
        parse_hours(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_not_a_number_and_infinity_as_floats_are_refused(value):
    with pytest.raises(HoursInvalid):
        parse_hours(value)


@pytest.mark.parametrize("value", ["abc", "", "  ", "2,5", "二点五"])
def test_text_that_is_not_a_number_is_refused_with_the_text_quoted(value):
    with pytest.raises(HoursInvalid, match="is not a decimal number"):
        parse_hours(value)


def test_the_error_names_the_field_it_was_asked_to_check():
    with pytest.raises(HoursInvalid) as refused:
        parse_hours("-3", field="items[4].hours")
    assert refused.value.field == "items[4].hours"
    assert refused.value.code == "hours_invalid"
    assert refused.value.status == 422


@pytest.mark.parametrize("value", ["111111111111111111111111111111.001", 1e300])
def test_a_huge_amount_with_many_digits_is_refused_as_invalid_hours(value):
    with pytest.raises(HoursInvalid):
        parse_hours(value)


def test_format_hours_shows_exact_hours_without_trailing_zeros():
    assert format_hours(parse_hours("2.50")) == "2.5"
    assert format_hours(parse_hours("300")) == "300"
    assert format_hours(parse_hours("0.25")) == "0.25"


two_place_hours = st.decimals(
    min_value=Decimal("0.01"),
    max_value=MAX_HOURS_PER_COMPLETION,
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@given(two_place_hours)
def test_any_two_place_amount_in_range_round_trips_through_text(amount):
    assert parse_hours(str(amount)) == amount
    assert parse_hours(format_hours(amount)) == amount


@given(
    st.floats(min_value=-1e6, max_value=1e6)
    | st.sampled_from([float("nan"), float("inf"), float("-inf")])
    | st.decimals(min_value=0, max_value=3000, places=2).map(float)
)
def test_a_float_is_accepted_only_when_it_is_exactly_the_decimal_returned(value):
    try:
        amount = parse_hours(value)
    except HoursInvalid:
        return
    assert Decimal(value) == amount
    assert 0 < amount <= MAX_HOURS_PER_COMPLETION
