"""Codes and the jurisdiction tree (GB/T 2260), as worked examples."""

from __future__ import annotations

import pytest

from ledger.vocabulary import (
    ASSESSMENTS,
    CATEGORIES,
    LEVELS,
    NATIONAL,
    PASSING_ASSESSMENTS,
    ROLES,
    covers,
    is_jurisdiction,
    parent_chain,
)


def test_nanguan_district_sits_in_changchun_in_jilin_in_china():
    # 220106 南关区 -> 220100 长春市 -> 220000 吉林省 -> CN
    assert parent_chain("220106") == ["220106", "220100", "220000", "CN"]


def test_a_city_has_its_province_and_the_nation_above_it():
    assert parent_chain("220100") == ["220100", "220000", "CN"]


def test_a_province_has_only_the_nation_above_it():
    assert parent_chain("220000") == ["220000", "CN"]


def test_the_nation_is_the_top():
    assert parent_chain(NATIONAL) == ["CN"]


def test_a_beijing_district_follows_the_same_digits_rule():
    # 110101 东城区 -> 110100 -> 110000 北京市 -> CN
    assert parent_chain("110101") == ["110101", "110100", "110000", "CN"]


@pytest.mark.parametrize(
    ("scope", "code", "expected"),
    [
        ("220106", "220106", True),  # a district covers itself
        ("220100", "220106", True),  # Changchun covers Nanguan
        ("220000", "220106", True),  # Jilin covers Nanguan
        ("CN", "220106", True),  # the nation covers everyone
        ("CN", "CN", True),
        ("220106", "220100", False),  # a district does not cover its city
        ("220000", "CN", False),  # a province does not cover the nation
        ("220102", "220106", False),  # a neighbouring district
        ("210000", "220106", False),  # Liaoning does not cover Jilin's districts
        ("220200", "220106", False),  # Jilin City does not cover Changchun's districts
    ],
)
def test_covers(scope, code, expected):
    assert covers(scope, code) is expected


@pytest.mark.parametrize("code", ["CN", "220106", "110000", "650000"])
def test_valid_jurisdictions(code):
    assert is_jurisdiction(code)


@pytest.mark.parametrize("code", ["cn", "022010", "2201", "22010a", "2201060", "", " 220106"])
def test_invalid_jurisdictions(code):
    assert not is_jurisdiction(code)


def test_only_pass_and_excellent_earn_hours_a_fail_counts_for_nothing():
    assert set(PASSING_ASSESSMENTS) == {"pass", "excellent"}
    assert set(ASSESSMENTS) == {"pass", "excellent", "fail"}
    assert ASSESSMENTS["fail"] == "不合格"


def test_the_seed_categories_levels_and_roles_are_present():
    for code in (
        "principal_qualification",
        "principal_improvement",
        "ethics",
        "online",
        "school_based",
        "head_teacher_pre_post",
        "new_teacher",
    ):
        assert code in CATEGORIES
    assert set(LEVELS) == {"national", "provincial", "municipal", "county", "school"}
    assert set(ROLES) == {
        "teacher",
        "head_teacher",
        "intern_head_teacher",
        "principal",
        "prospective_principal",
        "trainer",
        "full_time_trainer",
        "part_time_trainer",
        "school_staff",
    }
