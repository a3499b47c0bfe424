"""Every refusal has a stable code that clients branch on."""

from __future__ import annotations

import re

import ledger.errors
from ledger.errors import DomainError


def all_subclasses(cls):
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(all_subclasses(sub))
    return found


LEDGER_ERRORS = [cls for cls in all_subclasses(DomainError) if cls.__module__ == "ledger.errors"]

#: The codes as published (shared/API.md); changing one breaks clients.
STABLE_CODES = {
    "LearnerNotFound": ("learner_not_found", 404),
    "LearnerAlreadyRegistered": ("learner_already_registered", 409),
    "RoleNotHeld": ("role_not_held", 409),
    "RoleAlreadyHeld": ("role_already_held", 409),
    "RoleDatesOutOfOrder": ("role_dates_out_of_order", 422),
    "ProviderNotFound": ("provider_not_found", 404),
    "ProviderSuspended": ("provider_suspended", 403),
    "ProviderNotSuspended": ("provider_not_suspended", 409),
    "OutsideAccreditation": ("outside_accreditation", 403),
    "AccreditationInvalid": ("accreditation_invalid", 422),
    "CompletionInFuture": ("completion_in_future", 422),
    "CompletionDatesOutOfOrder": ("completion_dates_out_of_order", 422),
    "HoursInvalid": ("hours_invalid", 422),
    "CompletionConflict": ("completion_conflict", 409),
    "CompletionNotFound": ("completion_not_found", 404),
    "RevocationNotPermitted": ("revocation_not_permitted", 403),
    "UnknownCode": ("unknown_code", 422),
}


def test_every_domain_error_has_its_own_code():
    codes = [cls.code for cls in all_subclasses(DomainError)] + [DomainError.code]
    assert len(codes) == len(set(codes)), sorted(codes)


def test_every_code_is_snake_case_and_every_status_a_client_error():
    for cls in [DomainError, *LEDGER_ERRORS]:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.code), cls
        assert 400 <= cls.status < 500, cls
        assert cls.title, cls


def test_the_published_codes_and_statuses_have_not_changed():
    """New errors may be added; a published code or status never changes or disappears."""
    current = {cls.__name__: (cls.code, cls.status) for cls in LEDGER_ERRORS}
    assert {name: current.get(name) for name in STABLE_CODES} == STABLE_CODES


def test_every_error_class_in_the_module_is_a_domain_error():
    classes = [
        obj
        for obj in vars(ledger.errors).values()
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == "ledger.errors"
    ]
    assert all(issubclass(cls, DomainError) for cls in classes)
    assert set(LEDGER_ERRORS) == set(classes) - {DomainError}


def test_an_error_carries_its_detail_field_and_context():
    error = ledger.errors.HoursInvalid("1.234 has more than two decimal places", field="items[2].hours", index=2)

    assert str(error) == "1.234 has more than two decimal places"
    assert error.detail == str(error)
    assert error.field == "items[2].hours"
    assert error.context == {"index": 2}
    assert isinstance(error, DomainError)
