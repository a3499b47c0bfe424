"""Settings the service cannot use are refused when read, with the variable named."""

from __future__ import annotations

import pytest

from api.settings import Settings, SettingsError


def test_the_public_url_defaults_to_host_and_port_and_is_normalised() -> None:
    assert Settings.from_env({}).public_base == "http://127.0.0.1:8080"
    assert Settings.from_env({"CREDITBANK_HOST": "::1", "CREDITBANK_PORT": "9000"}).public_base == "http://[::1]:9000"
    given = Settings.from_env({"CREDITBANK_PUBLIC_URL": "https://credits.example.cn/bank/"})
    assert given.public_base == "https://credits.example.cn/bank"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://credits.example.cn",
        "credits.example.cn",
        "https://",
        "https://x/?a=1",
        "https://x/#f",
        "https://user:pw@x",
        "https://x:port",
    ],
)
def test_a_public_url_that_cannot_name_the_bank_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="CREDITBANK_PUBLIC_URL"):
        Settings.from_env({"CREDITBANK_PUBLIC_URL": url})


@pytest.mark.parametrize("seconds", ["0", "-1", "inf", "nan", "soon"])
def test_the_body_timeout_must_be_a_positive_number_of_seconds(seconds: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"CREDITBANK_BODY_TIMEOUT_SECONDS": seconds})
    assert Settings.from_env({"CREDITBANK_BODY_TIMEOUT_SECONDS": "2.5"}).body_timeout_seconds == 2.5


def test_read_standbys_are_one_or_more_postgresql_urls_separated_by_commas() -> None:
    assert Settings.from_env({}).read_database_urls == ()
    one = "postgresql://creditbank@standby-1:5432/creditbank"
    two = "postgres://creditbank@standby-2/creditbank"
    assert Settings.from_env({"CREDITBANK_READ_DATABASE_URL": f" {one} , {two},"}).read_database_urls == (one, two)


@pytest.mark.parametrize("value", ["http://standby/creditbank", "standby:5432", "postgresql://a/b,mysql://c/d"])
def test_a_read_standby_that_is_not_a_postgresql_url_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="CREDITBANK_READ_DATABASE_URL"):
        Settings.from_env({"CREDITBANK_READ_DATABASE_URL": value})


@pytest.mark.parametrize("seconds", ["0", "-1", "inf", "nan", "soon"])
def test_the_header_timeout_must_be_a_positive_number_of_seconds(seconds: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"CREDITBANK_HEADER_TIMEOUT_SECONDS": seconds})
    assert Settings.from_env({"CREDITBANK_HEADER_TIMEOUT_SECONDS": "2.5"}).header_timeout_seconds == 2.5
    assert Settings.from_env({}).header_timeout_seconds == 30.0
