"""A jurisdiction's vocabulary document: the categories, roles and certificate kinds it
adds to the national vocabulary (``ledger.vocabulary``), published in versions.

Invariants:
- one document per jurisdiction (aggregate id ``uuid5`` of the jurisdiction); the national
  vocabulary is code (``CN`` publishes no document);
- versions are numbered and start in order by ``ledger.versions``, the rule policies
  follow; the same content again records nothing;
- every added code follows the ledger's grammar of names and carries a Chinese and an
  English label; a code already in the national vocabulary or in a document of a
  jurisdiction above is refused (checked by the command, which loads those documents);
- an added code is in force in the jurisdiction and every one below it, from the version
  that adds it; a later version that drops a code ends it from that version's start.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.days import parse_day
from ledger.errors import (
    CodeNotInForce,
    UnknownCode,
    VocabularyCodeTaken,
    VocabularyInvalid,
    VocabularyVersionConflict,
    VocabularyVersionsOverlap,
)
from ledger.grammar import NAME, check_text
from ledger.ids import vocabulary_uuid
from ledger.versions import next_number, published_as, read_draft
from ledger.vocabulary import CATEGORIES, EXTENSIBLE, LABELS, NATIONAL, Label, covers, is_jurisdiction, parent_chain

_FIELDS = frozenset({"jurisdiction", "version", "effective_from", "categories", "roles", "certificates"})
#: Request field -> vocabulary field.
_SECTIONS = {"categories": "category", "roles": "role", "certificates": "certificate"}
MAX_CODES = 200
LABEL_LENGTH = 100


@dataclass(frozen=True)
class VocabularyVersion:
    jurisdiction: str
    version: int | None  # None until published: the next number
    effective_from: date
    #: vocabulary field (``category``, ``role``, ``certificate``) -> code -> labels
    codes: Mapping[str, Mapping[str, Label]]

    def content(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "effective_from": self.effective_from,
            **{
                section: {code: {"zh": lab.zh, "en": lab.en} for code, lab in sorted(self.codes[field].items())}
                for section, field in _SECTIONS.items()
            },
        }

    def as_data(self) -> dict[str, Any]:
        return {"version": self.version, **self.content()}


def parse_vocabulary(data: Any) -> VocabularyVersion:
    """A vocabulary version from plain data (a request body, an event, a read model)."""
    data, version = read_draft(data, _FIELDS, what="a vocabulary document", error=VocabularyInvalid)
    jurisdiction = data.get("jurisdiction")
    if not isinstance(jurisdiction, str) or not is_jurisdiction(jurisdiction) or jurisdiction == NATIONAL:
        raise UnknownCode("must be a six-digit division code such as 330300", field="jurisdiction")
    raw_from = data.get("effective_from")
    try:
        effective_from = raw_from if isinstance(raw_from, date) else parse_day(str(raw_from))
    except ValueError:
        raise VocabularyInvalid("must be a date YYYY-MM-DD", field="effective_from") from None
    codes: dict[str, dict[str, Label]] = {}
    for section, field in _SECTIONS.items():
        raw = data.get(section, {})
        if not isinstance(raw, Mapping):
            raise VocabularyInvalid("must be an object from code to {zh, en}", field=section)
        if len(raw) > MAX_CODES:
            raise VocabularyInvalid(f"at most {MAX_CODES} codes", field=section)
        codes[field] = {}
        for code, labels in raw.items():
            where = f"{section}.{code}"
            if not isinstance(code, str) or not NAME.fullmatch(code):
                raise VocabularyInvalid("a code is a lower-case name such as special_education", field=where)
            if not isinstance(labels, Mapping) or set(labels) != {"zh", "en"}:
                raise VocabularyInvalid("must be an object with exactly zh and en", field=where)
            zh = check_text(labels["zh"], f"{where}.zh", max_length=LABEL_LENGTH, error=VocabularyInvalid)
            en = check_text(labels["en"], f"{where}.en", max_length=LABEL_LENGTH, error=VocabularyInvalid)
            codes[field][code] = Label(zh.strip(), en.strip())
    if not any(codes.values()):
        raise VocabularyInvalid("add at least one category, role or certificate kind", field="categories")
    return VocabularyVersion(jurisdiction, version, effective_from, codes)


def in_force(versions: Iterable[VocabularyVersion], on: date | None) -> VocabularyVersion | None:
    """The version in force on ``on`` (the latest when ``on`` is None)."""
    started = [v for v in versions if on is None or v.effective_from <= on]
    return max(started, key=lambda v: v.effective_from) if started else None


class VocabularyDocument(Aggregate):
    @staticmethod
    def create_id(jurisdiction: str, **_: Any) -> UUID:
        return vocabulary_uuid(jurisdiction)

    @event("Created")
    def __init__(self, jurisdiction: str) -> None:
        self.jurisdiction = jurisdiction
        self.versions: list[VocabularyVersion] = []

    def find_same(self, draft: VocabularyVersion) -> VocabularyVersion | None:
        return published_as(
            self.versions, draft, name=f"vocabulary {self.jurisdiction}", conflict=VocabularyVersionConflict
        )

    def check(self, draft: VocabularyVersion, above: Iterable[VocabularyDocument]) -> VocabularyVersion:
        """The draft as it would be published (numbered), or the refusal. ``above``: the
        documents of the jurisdictions above this one, loaded by the command."""
        assert draft.jurisdiction == self.jurisdiction
        number = next_number(self.versions, draft, invalid=VocabularyInvalid, overlap=VocabularyVersionsOverlap)
        check_codes_free(draft, above)
        return replace(draft, version=number)

    def publish(self, draft: VocabularyVersion, above: Iterable[VocabularyDocument]) -> None:
        checked = self.check(draft, above)
        self._published(**checked.as_data())

    @event("Published")
    def _published(
        self,
        version: int,
        jurisdiction: str,
        effective_from: date,
        categories: dict[str, dict[str, str]],
        roles: dict[str, dict[str, str]],
        certificates: dict[str, dict[str, str]],
    ) -> None:
        self.versions.append(
            parse_vocabulary(
                {
                    "version": version,
                    "jurisdiction": jurisdiction,
                    "effective_from": effective_from,
                    "categories": categories,
                    "roles": roles,
                    "certificates": certificates,
                }
            )
        )


def check_codes_free(draft: VocabularyVersion, above: Iterable[VocabularyDocument]) -> None:
    """No code of ``draft`` is national or added (in any version) above its jurisdiction."""
    parents = [d for d in above if d.jurisdiction in parent_chain(draft.jurisdiction)[1:]]
    for section, field in _SECTIONS.items():
        for code in draft.codes[field]:
            if code in LABELS[field]:
                raise VocabularyCodeTaken(f"{code} is already a national {field} code", field=f"{section}.{code}")
            for doc in parents:
                if any(code in v.codes[field] for v in doc.versions):
                    raise VocabularyCodeTaken(
                        f"{code} is already a {field} code of {doc.jurisdiction}", field=f"{section}.{code}"
                    )


class OpenCodes(Mapping[str, str]):
    """The national codes of a field, and (by ``in``) any code of the grammar, which a
    jurisdiction's document may add: what a rule or a completion may name when parsed. The
    command using it checks the code is in force where it is used (``Vocabularies``)."""

    def __init__(self, national: Mapping[str, str]) -> None:
        self._national = national

    def __getitem__(self, code: str) -> str:
        return self._national[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._national)

    def __len__(self) -> int:
        return len(self._national)

    def __contains__(self, code: object) -> bool:
        return code in self._national or (isinstance(code, str) and NAME.fullmatch(code) is not None)


#: The categories a policy rule may name: national ones, or codes a document adds.
OPEN_CATEGORIES: Final = OpenCodes(CATEGORIES)


def categories_named(rules: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(code, field path) of every category the rules (as data) name, in order."""
    return [
        (code, f"rules[{index}].categories[{position}]")
        for index, rule in enumerate(rules)
        for position, code in enumerate(rule.get("categories") or ())
    ]


@dataclass(frozen=True)
class Vocabularies:
    """The documents of some jurisdictions, loaded by a command: which added codes are in
    force where. A code is in force for a set of jurisdictions when one document adding it
    lies at or above every one of them."""

    documents: Mapping[str, VocabularyDocument]

    def added_by(self, field: str, code: str, on: date | None) -> str | None:
        """The jurisdiction whose version in force on ``on`` adds ``code``, if any."""
        for jurisdiction, doc in self.documents.items():
            current = in_force(doc.versions, on)
            if current is not None and code in current.codes[field]:
                return jurisdiction
        return None

    def check_in_force(self, field: str, code: str, jurisdictions: Sequence[str], on: date | None, at: str) -> None:
        """Refuse ``code`` unless it is national or added at or above every one of
        ``jurisdictions`` by a version in force on ``on``."""
        if code in LABELS[field]:
            return
        source = self.added_by(field, code, on)
        if source is None:
            raise UnknownCode(
                f"{code!r} is neither a national {field} code nor one a jurisdiction's vocabulary adds", field=at
            )
        outside = [j for j in jurisdictions if not covers(source, j)]
        if outside:
            raise CodeNotInForce(
                f"{code} is a {field} code of {source}, in force there and below; not in {', '.join(outside)}",
                field=at,
            )

    def codes_in_force(self, field: str, jurisdiction: str, on: date | None) -> frozenset[str]:
        """The codes added at or above ``jurisdiction`` by the versions in force on ``on``."""
        found: set[str] = set()
        for source, doc in self.documents.items():
            current = in_force(doc.versions, on)
            if current is not None and covers(source, jurisdiction):
                found |= set(current.codes[field])
        return frozenset(found)

    def listing(self, jurisdiction: str, on: date | None) -> dict[str, dict[str, dict[str, str]]]:
        return listing({j: d.versions for j, d in self.documents.items()}, jurisdiction, on)


def listing(
    versions: Mapping[str, Sequence[VocabularyVersion]], jurisdiction: str, on: date | None
) -> dict[str, dict[str, dict[str, str]]]:
    """Every code in force at ``jurisdiction`` on ``on``: field -> code -> its labels and
    ``source`` (``CN`` or the jurisdiction that added it). ``versions``: the published
    versions of the documents of the jurisdiction and those above it."""
    out: dict[str, dict[str, dict[str, str]]] = {
        field: {code: {"zh": lab.zh, "en": lab.en, "source": NATIONAL} for code, lab in labels.items()}
        for field, labels in LABELS.items()
    }
    for source in reversed(parent_chain(jurisdiction)):
        current = in_force(versions.get(source, ()), on)
        if current is None:
            continue
        for field, codes in current.codes.items():
            for code, lab in codes.items():
                out[field][code] = {"zh": lab.zh, "en": lab.en, "source": source}
    return out


assert set(_SECTIONS.values()) == set(EXTENSIBLE)
