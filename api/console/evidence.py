"""The evidence index of the learner page: each record its verdicts and service record cite,
described from what the page's own API answers hold, so a reader who may not read the
learner's history (HR) still follows a figure to the records behind it.

Invariants: nothing is read here: the index is made of the verdicts' evidence and the
profile's service record and certificates as the API answered them to the page's token, so
it shows nothing that token could not read; one entry per event id, its fields merged from
every answer that cites it; entries in log position order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from api.console import labels

#: The profile's service-record sections, and what each record is.
SECTIONS: Final = {
    "refusals": "refusal",
    "appraisals": "appraisal",
    "qualifications": "qualification",
    "prior_certificates": "certificate",
}


def _what(item: Mapping[str, Any]) -> str:
    """What a verdict's evidence item is, by the fields the ledger's rules give it."""
    if "hours" in item and "category" in item:
        return "completion"
    if "role" in item and "since" in item:
        return "role"
    if "post" in item and "justified" in item:
        return "refusal"
    return "record"


def _text(what: str, e: Mapping[str, Any], lang: str) -> str:
    def lab(field: str, key: str) -> str:
        return labels.label(field, e.get(key), lang)

    if what == "completion":
        hours = f"{e['hours']} {labels.word('unit_hours', lang)}"
        return f"{lab('category', 'category')} {hours} · {e.get('completed_on', '')}"
    if what == "role":
        return f"{lab('role', 'role')} {e['since']} – {e.get('until') or labels.word('in_post', lang)}"
    if what == "refusal":
        why = labels.word("justified" if e.get("justified") else "unjustified", lang)
        return f"{lab('post', 'post')} {e.get('school_year', '')} · {e.get('on', '')} · {why}"
    if what == "appraisal":
        return f"{e.get('school_year', '')} {lab('appraisal_grade', 'grade')}"
    if what == "qualification":
        return f"{lab('qualification', 'kind')} · {e.get('issued_on', '')}"
    if what == "certificate":
        day = e.get("valid_from") or e.get("issued_on") or ""
        attested = f" ({labels.word('attested', lang)})" if e.get("attested") else ""
        return f"{lab('certificate', 'kind')} · {day}{attested}"
    return ""


def index(verdicts: Iterable[Mapping[str, Any]], profile: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """Every record the verdicts and the service record cite: event id, position, what it
    is, and its description in the page's language."""
    found: dict[str, dict[str, Any]] = {}

    def add(item: Any, what: str | None = None) -> None:
        if isinstance(item, Mapping) and item.get("event_id"):
            entry = found.setdefault(str(item["event_id"]), {})
            entry.update({k: v for k, v in item.items() if v is not None})
            if what is not None or "what" not in entry:
                entry["what"] = what or _what(item)

    for v in verdicts:
        for r in v.get("requirements") or []:
            for e in r.get("evidence") or []:
                add(e)
    record = profile.get("service_record") or {}
    for section, what in SECTIONS.items():
        for item in record.get(section) or []:
            add(item, what)
    for c in profile.get("certificates") or []:
        add(c, "certificate")
    entries = [
        {"event_id": i, "position": e.get("position"), "what": e["what"], "text": _text(e["what"], e, lang)}
        for i, e in found.items()
    ]
    return sorted(entries, key=lambda e: (e["position"] is None, e["position"] or 0))
