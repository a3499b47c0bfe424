"""Vocabulary commands of the ``CreditBank``: publish a jurisdiction's vocabulary version.

Invariants:
- like the bank's own commands it runs in ``unit_of_work`` and answers ``Written``;
- the documents of the jurisdictions above are loaded from the event store inside the
  command, so a code a parent added a moment ago is refused, never read from a lagging
  read model;
- the same content again is a duplicate answering the position it was published at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.application import CreditBank, Written
from ledger.vocabulary import parent_chain
from ledger.vocabulary_document import VocabularyDocument, VocabularyVersion, parse_vocabulary


def publish_vocabulary(bank: CreditBank, data: Mapping[str, Any]) -> Written:
    draft = parse_vocabulary(data)

    def command() -> Written:
        vocabularies = bank.vocabularies_for([draft.jurisdiction])
        document = vocabularies.documents.get(draft.jurisdiction)
        if document is not None:
            same = document.find_same(draft)
            if same is not None:
                return Written(_published_at(bank, document, same), "duplicate")
        if document is None:
            document = VocabularyDocument(jurisdiction=draft.jurisdiction)
        above = [d for j, d in vocabularies.documents.items() if j in parent_chain(draft.jurisdiction)[1:]]
        document.publish(draft, above)
        return Written(bank.record(document), "recorded")

    return bank.unit_of_work(command)


def _published_at(bank: CreditBank, document: VocabularyDocument, version: VocabularyVersion) -> int | None:
    rows = bank.recorder.select_with_positions([document.id])  # type: ignore[attr-defined]
    published = [p for s, p in rows if s.topic.endswith(".Published")]
    return published[version.version - 1] if version.version else None
