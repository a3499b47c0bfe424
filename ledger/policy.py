"""Policies as versioned data: the ``Policy`` aggregate and the versions it publishes.

Invariants:
- a policy is identified by ``policy_id`` (aggregate id ``uuid5``) and keeps the
  jurisdiction of its first version;
- versions are numbered 1, 2, ... in publication order, and each starts strictly after
  the one before; a version is in force from its ``effective_from`` until the day before
  the next version starts, or until its own ``effective_to`` (inclusive) if earlier. An
  explicit ``effective_to`` on or after the next version's start is an overlap, refused;
- publishing a version with the content of one already published records nothing (the
  numbering and these two rules are ``ledger.versions``', shared with degree mappings);
- a version's rules are typed (``ledger.rules``) and validated before anything is
  recorded; a rule that replaces a higher-level rule must name it, and must say
  ``loosens: true`` unless it is provably at least as strict;
- a version may state the jurisdiction's school ``calendar`` (``year_starts``,
  ``spring_starts``, ``plan_due`` as ``MM-DD``, ``sessions_per_week`` 1-7 and
  ``attendance_threshold`` a share in (0, 1] such as ``"0.80"``; each omitted one is the
  contract's): spring and the plan deadline fall before the school year's start in the
  calendar year.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.days import parse_day
from ledger.errors import (
    LooseningNotExplicit,
    PolicyInvalid,
    PolicyJurisdictionChanged,
    PolicyVersionConflict,
    PolicyVersionsOverlap,
    ReplacedRuleNotFound,
    RuleInvalid,
    UnknownCode,
)
from ledger.grammar import EARLIEST, LATEST, check_identifier, check_text
from ledger.hours import exact_decimal
from ledger.ids import policy_uuid
from ledger.rule_parts import FieldReader
from ledger.rules import POLICY_ID_LENGTH, Rule, at_least_as_strict, parse_rule
from ledger.school_year import DEFAULT_CALENDAR, Calendar
from ledger.versions import next_number, published_as, read_draft
from ledger.vocabulary import is_jurisdiction, parent_chain

_FIELDS = frozenset(
    {"policy_id", "version", "jurisdiction", "effective_from", "effective_to", "title", "rules", "note", "calendar"}
)
_CALENDAR_DAYS = ("year_starts", "spring_starts", "plan_due")
_CALENDAR = frozenset({*_CALENDAR_DAYS, "sessions_per_week", "attendance_threshold"})


@dataclass(frozen=True)
class PolicyVersion:
    policy_id: str
    version: int | None  # None until published: the next number
    jurisdiction: str
    effective_from: date
    effective_to: date | None
    title: str
    rules: tuple[Rule, ...]
    note: str | None = None
    #: The school calendar the version states for its jurisdiction (None: it states none).
    calendar: Calendar | None = None

    def content(self) -> dict[str, Any]:
        """Everything but the version number: what makes two publications the same."""
        return {
            "jurisdiction": self.jurisdiction,
            "effective_from": self.effective_from,
            "effective_to": self.effective_to,
            "title": self.title,
            "rules": [rule.as_data() for rule in self.rules],
            "note": self.note,
            "calendar": None if self.calendar is None else calendar_data(self.calendar),
        }

    def as_data(self) -> dict[str, Any]:
        return {"policy_id": self.policy_id, "version": self.version, **self.content()}

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def targets(self) -> set[str]:
        return {t for rule in self.rules for t in rule.targets}


def _day(value: Any, field: str) -> date:
    day: date | None = None
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            day = parse_day(value)
    if day is None:
        raise PolicyInvalid("must be a date YYYY-MM-DD", field=field)
    if not EARLIEST <= day <= LATEST:
        raise PolicyInvalid(f"must lie between {EARLIEST} and {LATEST}", field=field)
    return day


def calendar_data(calendar: Calendar) -> dict[str, Any]:
    data: dict[str, Any] = {
        name: f"{month:02d}-{day:02d}"
        for name, (month, day) in ((name, getattr(calendar, name)) for name in _CALENDAR_DAYS)
    }
    data["sessions_per_week"] = calendar.sessions_per_week
    data["attendance_threshold"] = str(calendar.attendance_threshold)
    return data


def _threshold(value: Any) -> Decimal:
    """A share written as an exact decimal string in (0, 1], such as "0.80"."""
    where = "calendar.attendance_threshold"
    if not isinstance(value, str):
        raise PolicyInvalid('must be an exact decimal written as a string, such as "0.80"', field=where)
    share = exact_decimal(value, field=where)
    if not 0 < share <= 1 or share != share.quantize(Decimal("0.01")):
        raise PolicyInvalid("must be a share above 0 and at most 1, with at most two places", field=where)
    return share.quantize(Decimal("0.01"))


def _calendar(value: Any) -> Calendar | None:
    if value is None:
        return None
    r = FieldReader(value, "calendar")
    r.keys(_CALENDAR)
    stated: dict[str, Any] = {name: r.month_day(name) for name in _CALENDAR_DAYS if r.has(name)}
    if r.has("sessions_per_week"):
        stated["sessions_per_week"] = r.integer("sessions_per_week", low=1, high=7)
    if r.has("attendance_threshold"):
        stated["attendance_threshold"] = _threshold(r.data.get("attendance_threshold"))
    calendar = replace(DEFAULT_CALENDAR, **stated)
    for name in ("spring_starts", "plan_due"):
        if getattr(calendar, name) >= calendar.year_starts:
            raise PolicyInvalid(
                f"{name} falls in the school year's second calendar year, before year_starts",
                field=f"calendar.{name}",
            )
    return calendar


def parse_policy(data: Any) -> PolicyVersion:
    """A policy version from plain data (a request body, a shipped file, a read model)."""
    data, version = read_draft(data, _FIELDS, what="a policy version", error=PolicyInvalid)
    policy_id = check_identifier(data.get("policy_id"), "policy_id", max_length=POLICY_ID_LENGTH, error=PolicyInvalid)
    jurisdiction = data.get("jurisdiction")
    if not isinstance(jurisdiction, str) or not is_jurisdiction(jurisdiction):
        raise UnknownCode("must be CN or a six-digit division code such as 220106", field="jurisdiction")
    effective_from = _day(data.get("effective_from"), "effective_from")
    effective_to = None if data.get("effective_to") is None else _day(data["effective_to"], "effective_to")
    if effective_to is not None and effective_to < effective_from:
        raise PolicyInvalid("must not be before effective_from", field="effective_to")
    title = check_text(data.get("title"), "title", max_length=300, error=PolicyInvalid)
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 4000):
        raise PolicyInvalid("must be a string of at most 4000 characters", field="note")
    if note:
        check_text(note, "note", max_length=4000, multiline=True, error=PolicyInvalid)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyInvalid("must be a non-empty list of rules", field="rules")
    rules = tuple(parse_rule(item, f"rules[{index}]") for index, item in enumerate(raw_rules))
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.id in seen:
            raise RuleInvalid(f"rule id {rule.id} is used twice in this version", field=f"rules[{index}].id")
        seen.add(rule.id)
    return PolicyVersion(
        policy_id,
        version,
        jurisdiction,
        effective_from,
        effective_to,
        title.strip(),
        rules,
        note or None,
        _calendar(data.get("calendar")),
    )


def in_force(versions: Sequence[PolicyVersion], on: date) -> PolicyVersion | None:
    """The version of one policy in force on ``on`` (versions in publication order)."""
    started = [v for v in versions if v.effective_from <= on]
    if not started:
        return None
    latest = max(started, key=lambda v: v.effective_from)
    return latest if latest.effective_to is None or on <= latest.effective_to else None


def check_replacements(draft: PolicyVersion, higher: Mapping[str, Sequence[PolicyVersion]]) -> None:
    """Every ``replaces`` names a rule in force, on the draft's start, in a policy of a
    jurisdiction strictly above the draft's; a looser replacement says ``loosens: true``.
    ``higher`` maps the named policy ids to their published versions."""
    above = parent_chain(draft.jurisdiction)[1:]
    for index, rule in enumerate(draft.rules):
        if rule.replaces is None:
            continue
        where = f"rules[{index}].replaces"
        versions = higher.get(rule.replaces.policy_id, ())
        current = in_force(versions, draft.effective_from)
        replaced = current.rule(rule.replaces.rule) if current is not None else None
        if current is None or replaced is None or current.jurisdiction not in above:
            raise ReplacedRuleNotFound(
                f"no rule {rule.replaces.rule} of policy {rule.replaces.policy_id} is in force on "
                f"{draft.effective_from} in a jurisdiction above {draft.jurisdiction}",
                field=where,
            )
        if not set(replaced.targets) <= set(rule.targets):
            raise RuleInvalid(
                f"a replacement keeps every target of the rule it replaces ({', '.join(replaced.targets)})",
                field=f"rules[{index}].targets",
            )
        if not rule.loosens and not at_least_as_strict(rule, replaced):
            raise LooseningNotExplicit(
                f"rule {rule.id} is looser than {rule.replaces.policy_id}#{replaced.id} "
                f"({replaced.source.document} {replaced.source.article}); say loosens: true if that is meant",
                field=f"rules[{index}].loosens",
            )


class Policy(Aggregate):
    @staticmethod
    def create_id(policy_id: str, **_: Any) -> UUID:
        return policy_uuid(policy_id)

    @event("Created")
    def __init__(self, policy_id: str, jurisdiction: str) -> None:
        self.policy_id = policy_id
        self.jurisdiction = jurisdiction
        self.versions: list[PolicyVersion] = []

    def find_same(self, draft: PolicyVersion) -> PolicyVersion | None:
        """The published version ``draft`` repeats, if any (``ledger.versions``)."""
        return published_as(self.versions, draft, name=self.policy_id, conflict=PolicyVersionConflict)

    def check(self, draft: PolicyVersion) -> PolicyVersion:
        """The draft as it would be published (numbered), or the refusal."""
        if draft.jurisdiction != self.jurisdiction:
            raise PolicyJurisdictionChanged(
                f"{self.policy_id} is a policy of {self.jurisdiction}; publish a policy of "
                f"{draft.jurisdiction} under another policy_id",
                field="jurisdiction",
            )
        number = next_number(self.versions, draft, invalid=PolicyInvalid, overlap=PolicyVersionsOverlap)
        if self.versions:
            latest = self.versions[-1]
            if latest.effective_to is not None and latest.effective_to >= draft.effective_from:
                raise PolicyVersionsOverlap(
                    f"version {latest.version} is in force until {latest.effective_to}, "
                    f"on or after {draft.effective_from}",
                    field="effective_from",
                )
        return replace(draft, version=number)

    def publish(self, draft: PolicyVersion) -> None:
        checked = self.check(draft)
        self._published(**checked.as_data())

    @event("Published")
    def _published(
        self,
        policy_id: str,
        version: int,
        jurisdiction: str,
        effective_from: date,
        effective_to: date | None,
        title: str,
        rules: list[dict[str, Any]],
        note: str | None,
        calendar: dict[str, str] | None = None,  # absent from versions published before 1.1
    ) -> None:
        self.versions.append(
            parse_policy(
                {
                    "policy_id": policy_id,
                    "version": version,
                    "jurisdiction": jurisdiction,
                    "effective_from": effective_from,
                    "effective_to": effective_to,
                    "title": title,
                    "rules": rules,
                    "note": note,
                    "calendar": calendar,
                }
            )
        )


# -- shipped policies --------------------------------------------------------------------


def load_policy_file(text: str) -> dict[str, Any]:
    """A policy file's data, numbers as exact decimals."""
    data: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return data


def shipped_policies(jurisdictions: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The seed policies shipped in ``ledger/policies``, national first; only those of
    ``jurisdictions`` when given."""
    wanted = None if jurisdictions is None else set(jurisdictions)
    found = []
    for entry in sorted(resources.files("ledger").joinpath("policies").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = load_policy_file(entry.read_text(encoding="utf-8"))
            if wanted is None or data["jurisdiction"] in wanted:
                found.append(data)
    # Higher levels first, so a lower level's replacements find what they replace.
    return sorted(found, key=lambda d: (len(parent_chain(d["jurisdiction"])), d["policy_id"]))
