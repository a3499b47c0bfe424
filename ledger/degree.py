"""Credit-to-degree mappings (学分互认) and the recognitions that consume hours under them.

Invariants:
- a ``DegreeMapping`` is identified by (university, programme): its id is ``uuid5`` of the
  pair, so the event store refuses a second mapping for the same programme; it is
  published in numbered versions, each stating which categories and levels count, how
  many hours make one degree credit, a cap per category (optional) and an overall cap,
  in degree credits; a published version never changes, and versions follow the rule
  policies follow (``ledger.versions``);
- credits are exact decimals: a line of ``h`` hours under ``hours_per_credit`` ``k`` earns
  ``h / k`` rounded *down* to 0.01 credit, so a recognition never grants more than its
  hours are worth;
- a ``Recognitions`` aggregate per learner (id from the learner id) holds the hours of
  each completion consumed by live (unreversed) recognitions, in every programme; a
  recognition is refused (``HoursAlreadyRecognised``) if any of its hours would make a
  completion's consumed hours exceed its hours. Every recognition of a learner writes
  this one aggregate, so two concurrent recognitions conflict on its version and the
  loser runs its checks again: an hour is recognised at most once, whatever the programme;
- only a passed, unrevoked completion of a counted category and level, completed on or
  before the recognition day, may be recognised (``CompletionNotRecognisable``);
- per programme, the live recognised credits of a category never exceed that category's
  cap, nor the live credits of the programme its overall cap (``DegreeCapExceeded``),
  under the caps of the version the recognition uses;
- a recognition is reversed by a compensating ``Reversed`` event that releases exactly
  the hours and credits it consumed; a recognition id names one recognition of a learner.
  A completion revoked after its hours were recognised stays consumed until the
  recognition is reversed; the read side flags it (the write side records no revocation
  of its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.completion import earns_hours
from ledger.errors import (
    CompletionNotRecognisable,
    DegreeCapExceeded,
    HoursAlreadyRecognised,
    HoursInvalid,
    MappingInvalid,
    MappingVersionConflict,
    RecognitionAlreadyReversed,
    RecognitionInvalid,
    RecognitionNotFound,
)
from ledger.grammar import EARLIEST, KEY, LATEST, REASON_LENGTH, check_identifier, check_text
from ledger.hours import exact_decimal, format_hours
from ledger.ids import NAMESPACE
from ledger.versions import next_number, published_as
from ledger.vocabulary import CATEGORIES, LEVELS

_CENT: Final = Decimal("0.01")
ZERO: Final = Decimal(0)
#: No programme has more credits than this; more is a typing error.
MAX_CREDITS: Final = Decimal(1000)


def degree_mapping_uuid(university: str, programme: str) -> UUID:
    # The separator cannot occur in the identifiers (validated at the edge).
    return uuid5(NAMESPACE, f"degree-mapping:{university}\x1f{programme}")


def recognitions_uuid(learner_id: str) -> UUID:
    return uuid5(NAMESPACE, f"recognitions:{learner_id}")


def credits_for(hours: Decimal, hours_per_credit: Decimal) -> Decimal:
    """Degree credits ``hours`` are worth: exact, rounded down to 0.01."""
    return (hours / hours_per_credit).quantize(_CENT, rounding=ROUND_DOWN)


def cap_from_fraction(programme_credits: Decimal, fraction: str) -> Decimal:
    """``"1/3"`` of 36 credits -> 12; rounded down to 0.01 when it does not divide."""
    try:
        numerator, denominator = (int(part) for part in fraction.split("/"))
    except ValueError:
        raise MappingInvalid(f"{fraction!r} is not a fraction such as 1/3", field="overall_cap_fraction") from None
    if not 0 < numerator <= denominator:
        raise MappingInvalid("the fraction must lie in (0, 1]", field="overall_cap_fraction")
    return (programme_credits * numerator / denominator).quantize(_CENT, rounding=ROUND_DOWN)


@dataclass(frozen=True)
class MappingVersion:
    """One version of a programme's mapping. Amounts are credits except ``hours_per_credit``."""

    university: str
    programme: str
    title: str
    programme_credits: Decimal
    hours_per_credit: Decimal
    #: (category, cap in credits or None: only the overall cap limits it), sorted.
    categories: tuple[tuple[str, Decimal | None], ...]
    levels: tuple[str, ...]
    overall_cap: Decimal
    effective_from: date
    overall_cap_fraction: str | None = None
    version: int | None = None

    def content(self) -> tuple[Any, ...]:
        return (
            self.title,
            self.programme_credits,
            self.hours_per_credit,
            self.categories,
            self.levels,
            self.overall_cap,
            self.effective_from,
            self.overall_cap_fraction,
        )

    def cap_of(self, category: str) -> Decimal | None:
        return dict(self.categories)[category]

    def counts(self, category: str, level: str) -> str | None:
        """Why a completion of this category and level does not count, or None if it does."""
        if category not in dict(self.categories):
            return f"category {category} does not count toward {self.programme}"
        if level not in self.levels:
            return f"level {level} does not count toward {self.programme}"
        return None

    def as_event(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "programme_credits": self.programme_credits,
            "hours_per_credit": self.hours_per_credit,
            "categories": [{"category": c, "cap": cap} for c, cap in self.categories],
            "levels": list(self.levels),
            "overall_cap": self.overall_cap,
            "overall_cap_fraction": self.overall_cap_fraction,
            "effective_from": self.effective_from,
        }


def _positive(value: Any, field: str, limit: Decimal = MAX_CREDITS) -> Decimal:
    out_of_range = MappingInvalid(f"{field} must be an exact decimal above 0 and at most {limit}", field=field)
    if not isinstance(value, Decimal):
        raise out_of_range
    try:
        amount = exact_decimal(value, field=field)
    except HoursInvalid as error:
        raise MappingInvalid(f"{field}: {error.detail}", field=field) from None
    if amount <= 0 or amount > limit:
        raise out_of_range
    return amount.quantize(_CENT)


def parse_mapping(data: Mapping[str, Any]) -> MappingVersion:
    """A draft version from already-typed data (the edge parsed strings and dates), or the
    refusal naming the field."""
    university = check_identifier(data.get("university"), "university", pattern=KEY, error=MappingInvalid)
    programme = check_identifier(data.get("programme"), "programme", pattern=KEY, error=MappingInvalid)
    title = check_text(data.get("title"), "title", max_length=200, error=MappingInvalid)
    programme_credits = _positive(data.get("programme_credits"), "programme_credits")
    hours_per_credit = _positive(data.get("hours_per_credit"), "hours_per_credit")
    fraction = data.get("overall_cap_fraction")
    if (data.get("overall_cap") is None) == (fraction is None):
        raise MappingInvalid(
            "give exactly one of overall_cap (credits) or overall_cap_fraction (such as 1/3)", field="overall_cap"
        )
    overall = (
        _positive(data["overall_cap"], "overall_cap")
        if fraction is None
        else cap_from_fraction(programme_credits, str(fraction))
    )
    if overall <= 0:
        raise MappingInvalid("the overall cap rounds to 0 credits", field="overall_cap_fraction")
    if overall > programme_credits:
        raise MappingInvalid(
            f"the overall cap {format_hours(overall)} exceeds the programme's "
            f"{format_hours(programme_credits)} credits",
            field="overall_cap",
        )
    categories: dict[str, Decimal | None] = {}
    for index, item in enumerate(data.get("categories") or ()):
        code = item.get("category") if isinstance(item, Mapping) else None
        if not isinstance(code, str) or code not in CATEGORIES:
            raise MappingInvalid(
                f"{code!r} is not one of {', '.join(CATEGORIES)}", field=f"categories[{index}].category"
            )
        if code in categories:
            raise MappingInvalid(f"category {code!r} is missing or listed twice", field=f"categories[{index}].category")
        cap = item.get("cap")
        if cap is not None:
            cap = _positive(cap, f"categories[{index}].cap")
            if cap > overall:
                raise MappingInvalid(f"the cap of {code} exceeds the overall cap", field=f"categories[{index}].cap")
        categories[code] = cap
    if not categories:
        raise MappingInvalid("name at least one category that counts", field="categories")
    raw_levels = data.get("levels") or ()
    for index, code in enumerate(raw_levels):
        if not isinstance(code, str) or code not in LEVELS:
            raise MappingInvalid(f"{code!r} is not one of {', '.join(LEVELS)}", field=f"levels[{index}]")
    levels = tuple(sorted(set(raw_levels)))
    if not levels:
        raise MappingInvalid("name at least one level that counts", field="levels")
    effective_from = data.get("effective_from")
    if not isinstance(effective_from, date):
        raise MappingInvalid("effective_from is required", field="effective_from")
    if not EARLIEST <= effective_from <= LATEST:
        raise MappingInvalid(f"must lie between {EARLIEST} and {LATEST}", field="effective_from")
    version = data.get("version")
    return MappingVersion(
        university=university,
        programme=programme,
        title=title,
        programme_credits=programme_credits,
        hours_per_credit=hours_per_credit,
        categories=tuple(sorted(categories.items())),
        levels=levels,
        overall_cap=overall,
        effective_from=effective_from,
        overall_cap_fraction=None if fraction is None else str(fraction),
        version=int(version) if version is not None else None,
    )


class DegreeMapping(Aggregate):
    @staticmethod
    def create_id(university: str, programme: str, **_: Any) -> UUID:
        return degree_mapping_uuid(university, programme)

    @event("Created")
    def __init__(self, university: str, programme: str) -> None:
        self.university = university
        self.programme = programme
        self.versions: list[MappingVersion] = []

    def find_same(self, draft: MappingVersion) -> MappingVersion | None:
        """The published version ``draft`` repeats, if any (``ledger.versions``)."""
        return published_as(self.versions, draft, name=self.programme, conflict=MappingVersionConflict)

    def publish(self, draft: MappingVersion) -> None:
        number = next_number(self.versions, draft, invalid=MappingInvalid, overlap=MappingInvalid)
        self._published(version=number, university=self.university, programme=self.programme, **draft.as_event())

    def in_force(self, on: date) -> MappingVersion | None:
        """The latest published version that has started by ``on``."""
        started = [v for v in self.versions if v.effective_from <= on]
        return started[-1] if started else None

    @event("Published")
    def _published(
        self,
        version: int,
        university: str,
        programme: str,
        title: str,
        programme_credits: Decimal,
        hours_per_credit: Decimal,
        categories: list[dict[str, Any]],
        levels: list[str],
        overall_cap: Decimal,
        overall_cap_fraction: str | None,
        effective_from: date,
    ) -> None:
        self.versions.append(
            MappingVersion(
                university=university,
                programme=programme,
                title=title,
                programme_credits=programme_credits,
                hours_per_credit=hours_per_credit,
                categories=tuple((c["category"], c["cap"]) for c in categories),
                levels=tuple(levels),
                overall_cap=overall_cap,
                effective_from=effective_from,
                overall_cap_fraction=overall_cap_fraction,
                version=version,
            )
        )


@dataclass(frozen=True)
class Offer:
    """A completion offered for recognition, as the write side knows it now, and the hours
    asked of it (``None``: all that is still recognisable)."""

    completion_id: str
    event_id: str
    provider_id: str
    record_id: str
    learner_id: str
    category: str
    level: str
    hours: Decimal
    assessment: str
    completed_on: date
    revoked: bool
    wanted: Decimal | None = None


class Recognitions(Aggregate):
    @staticmethod
    def create_id(learner_id: str, **_: Any) -> UUID:
        return recognitions_uuid(learner_id)

    @event("Started")
    def __init__(self, learner_id: str) -> None:
        self.learner_id = learner_id
        #: completion id -> hours consumed by live recognitions (every programme).
        self.consumed: dict[str, Decimal] = {}
        self.recognitions: dict[str, dict[str, Any]] = {}

    # -- reading -------------------------------------------------------------------

    def live(self) -> list[dict[str, Any]]:
        return [r for r in self.recognitions.values() if not r["reversed"]]

    def consumers(self, completion_id: str) -> list[dict[str, Any]]:
        """Live recognitions consuming hours of a completion, with their programme."""
        return [
            {
                "recognition_id": r["recognition_id"],
                "programme": r["programme"],
                "university": r["university"],
                "hours": line["hours"],
            }
            for r in self.live()
            for line in r["lines"]
            if line["completion_id"] == completion_id
        ]

    def credits_in(self, mapping_id: str, category: str | None = None) -> Decimal:
        return sum(
            (
                line["credits"]
                for r in self.live()
                if r["mapping_id"] == mapping_id
                for line in r["lines"]
                if category is None or line["category"] == category
            ),
            ZERO,
        )

    # -- commands --------------------------------------------------------------------

    def recognise(
        self, recognition_id: str, mapping_id: str, mapping: MappingVersion, on: date, offers: Sequence[Offer]
    ) -> None:
        check_identifier(recognition_id, "transfer_id")
        if recognition_id in self.recognitions:
            raise RecognitionInvalid(f"recognition {recognition_id} exists already", field="transfer_id")
        if not offers:
            raise RecognitionInvalid("name at least one completion", field="completions")
        if mapping.version is None:
            raise RecognitionInvalid("the mapping version is not published", field="mapping_version")
        if on < mapping.effective_from:
            raise RecognitionInvalid(
                f"version {mapping.version} of the mapping starts on {mapping.effective_from}", field="on"
            )
        seen: set[str] = set()
        lines: list[dict[str, Any]] = []
        for index, offer in enumerate(offers):
            field = f"completions[{index}]"
            if offer.completion_id in seen:
                raise RecognitionInvalid("a completion is named twice", field=field)
            seen.add(offer.completion_id)
            lines.append(self._line(offer, mapping, on, field))
        for category in sorted({line["category"] for line in lines}):
            cap = mapping.cap_of(category)
            if cap is None:
                continue
            used = self.credits_in(mapping_id, category)
            asked = sum((line["credits"] for line in lines if line["category"] == category), ZERO)
            if used + asked > cap:
                raise DegreeCapExceeded(
                    f"{category}: {format_hours(used)} credits recognised already + {format_hours(asked)} asked "
                    f"exceeds the cap of {format_hours(cap)} in {mapping.programme}",
                    field="completions",
                    category=category,
                    cap=format_hours(cap),
                    recognised=format_hours(used),
                    asked=format_hours(asked),
                )
        used = self.credits_in(mapping_id)
        asked = sum((line["credits"] for line in lines), ZERO)
        if used + asked > mapping.overall_cap:
            raise DegreeCapExceeded(
                f"{format_hours(used)} credits recognised already + {format_hours(asked)} asked exceeds the overall "
                f"cap of {format_hours(mapping.overall_cap)} in {mapping.programme}",
                field="completions",
                category=None,
                cap=format_hours(mapping.overall_cap),
                recognised=format_hours(used),
                asked=format_hours(asked),
            )
        self._recognised(
            recognition_id=recognition_id,
            learner_id=self.learner_id,
            mapping_id=mapping_id,
            university=mapping.university,
            programme=mapping.programme,
            mapping_version=mapping.version,
            hours_per_credit=mapping.hours_per_credit,
            on=on,
            hours=sum((line["hours"] for line in lines), ZERO),
            credits=asked,
            lines=lines,
        )

    def _line(self, offer: Offer, mapping: MappingVersion, on: date, field: str) -> dict[str, Any]:
        if offer.learner_id != self.learner_id:
            raise RecognitionInvalid(
                f"{offer.provider_id}/{offer.record_id} is another learner's completion", field=field
            )
        if offer.revoked:
            raise CompletionNotRecognisable(
                f"{offer.provider_id}/{offer.record_id} is revoked",
                field=field,
                reason="revoked",
                event_id=offer.event_id,
            )
        if not earns_hours(offer.assessment, revoked=False):
            raise CompletionNotRecognisable(
                f"{offer.provider_id}/{offer.record_id} was assessed {offer.assessment}",
                field=field,
                reason="failed",
                event_id=offer.event_id,
            )
        why = mapping.counts(offer.category, offer.level)
        if why is not None:
            raise CompletionNotRecognisable(
                f"{offer.provider_id}/{offer.record_id}: {why}",
                field=field,
                reason="not_counted",
                event_id=offer.event_id,
            )
        if offer.completed_on > on:
            raise RecognitionInvalid(f"{offer.provider_id}/{offer.record_id} was completed after {on}", field=field)
        already = self.consumed.get(offer.completion_id, ZERO)
        remaining = offer.hours - already
        wanted = remaining if offer.wanted is None else offer.wanted
        if wanted <= 0 or wanted > remaining:
            raise HoursAlreadyRecognised(
                f"{offer.provider_id}/{offer.record_id} has {format_hours(offer.hours)} h, "
                f"{format_hours(already)} h recognised already; {format_hours(max(remaining, ZERO))} h remain",
                field=field,
                event_id=offer.event_id,
                recognised_in=self.consumers(offer.completion_id),
            )
        credits = credits_for(wanted, mapping.hours_per_credit)
        if credits <= 0:
            raise RecognitionInvalid(f"{format_hours(wanted)} h is worth less than 0.01 credit", field=field)
        return {
            "completion_id": offer.completion_id,
            "event_id": offer.event_id,
            "provider_id": offer.provider_id,
            "record_id": offer.record_id,
            "category": offer.category,
            "level": offer.level,
            "hours": wanted,
            "credits": credits,
        }

    def reverse(self, recognition_id: str, reason: str, on: date) -> None:
        check_text(reason, "reason", max_length=REASON_LENGTH)
        record = self.recognitions.get(recognition_id)
        if record is None:
            raise RecognitionNotFound(f"this learner has no recognition {recognition_id}", field="transfer_id")
        if record["reversed"]:
            raise RecognitionAlreadyReversed(f"recognition {recognition_id} was reversed already")
        self._reversed(
            recognition_id=recognition_id,
            learner_id=self.learner_id,
            mapping_id=record["mapping_id"],
            reason=reason,
            on=on,
            hours=record["hours"],
            credits=record["credits"],
            lines=[
                {"completion_id": line["completion_id"], "hours": line["hours"], "credits": line["credits"]}
                for line in record["lines"]
            ],
        )

    # -- events ------------------------------------------------------------------------

    @event("Recognised")
    def _recognised(
        self,
        recognition_id: str,
        learner_id: str,
        mapping_id: str,
        university: str,
        programme: str,
        mapping_version: int,
        hours_per_credit: Decimal,
        on: date,
        hours: Decimal,
        credits: Decimal,
        lines: list[dict[str, Any]],
    ) -> None:
        for line in lines:
            self.consumed[line["completion_id"]] = self.consumed.get(line["completion_id"], ZERO) + line["hours"]
        self.recognitions[recognition_id] = {
            "recognition_id": recognition_id,
            "mapping_id": mapping_id,
            "university": university,
            "programme": programme,
            "mapping_version": mapping_version,
            "on": on,
            "hours": hours,
            "credits": credits,
            "lines": lines,
            "reversed": False,
        }

    @event("Reversed")
    def _reversed(
        self,
        recognition_id: str,
        learner_id: str,
        mapping_id: str,
        reason: str,
        on: date,
        hours: Decimal,
        credits: Decimal,
        lines: list[dict[str, Any]],
    ) -> None:
        for line in lines:
            left = self.consumed.get(line["completion_id"], ZERO) - line["hours"]
            if left > 0:
                self.consumed[line["completion_id"]] = left
            else:
                self.consumed.pop(line["completion_id"], None)
        self.recognitions[recognition_id]["reversed"] = True
