"""Checking an audit bundle (see ``projections.bundle``) with no database and no network.

Invariants:
- only the bundle's files (and, if given, a key set the auditor trusts) are read; the
  checks are the documented ones: file digests against the manifest, the manifest's
  signature, every event's link ``sha256(previous_hash || canonical_bytes) == chain_hash``,
  consecutive events' hashes where the log has them adjacent (all of them in a complete
  bundle, which must also start at the genesis hash), checkpoint signatures, and each
  checkpoint's head where the bundle holds the event at its position (every checkpoint
  in a complete bundle);
- balances and verdicts are recomputed with the ledger's own decoding
  (``ledger.store.ledger_mapper`` via ``projections.events``) and eligibility rules
  (``ledger.eligibility.evaluate``), from the bundle's events alone, as known at a
  position: completions recorded by then and not revoked by then, and the learners' service
  record (refusals, appraisals, qualifications, attested prior certificates) by then.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.completion import earns_hours
from ledger.eligibility import CompletionFact, Facts, RoleFact, evaluate
from ledger.hours import format_hours
from ledger.keys import b64url_decode, public_key_from_jwk, verify_with
from ledger.policy import PolicyVersion, parse_policy
from ledger.service_record import Fact, fact_of, with_record
from ledger.vault import tombstone
from projections import core, policies, service_record
from projections.audit import Checkpoint
from projections.bundle import FILES, FORMAT
from projections.chain import GENESIS, canonical_bytes
from projections.events import Decoded
from projections.fast_events import FastEventDecoder


@dataclass
class BundleReport:
    ok: bool = True
    events: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    checkpoints_verified: int = 0
    checkpoint_heads_matched: int = 0
    scope: dict[str, Any] = field(default_factory=dict)
    key_ids: list[str] = field(default_factory=list)

    def fail(self, what: str, detail: str, position: int | None = None) -> None:
        self.ok = False
        if len(self.problems) < 50:
            self.problems.append({"check": what, "position": position, "detail": detail})

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _read_events(folder: Path) -> list[dict[str, Any]]:
    with (folder / "events.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def verify_bundle(folder: Path, trusted_jwks: dict[str, Any] | None = None) -> tuple[BundleReport, list[Any]]:
    """Check the bundle in ``folder``; answer the report and its events (for recomputing)."""
    report = BundleReport()
    body = (folder / "manifest.json").read_bytes()
    manifest = json.loads(body)
    report.scope = manifest.get("scope", {})
    if manifest.get("format") != FORMAT:
        report.fail("format", f"not a {FORMAT} bundle")
    for name in FILES:
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        if digest != manifest["files"].get(name):
            report.fail("file_digest", f"{name} does not match the manifest's sha256")
    jwks = trusted_jwks or json.loads((folder / "keys.json").read_text(encoding="utf-8"))
    keys = {k["kid"]: public_key_from_jwk(k) for k in jwks["keys"]}
    report.key_ids = sorted(keys)
    signature = json.loads((folder / "manifest.sig.json").read_text(encoding="utf-8"))
    if not verify_with(keys, signature["kid"], body, b64url_decode(signature["signature"])):
        report.fail("manifest_signature", f"the manifest is not signed by key {signature['kid']}")
    events = _read_events(folder)
    report.events = len(events)
    if len(events) != manifest["counts"]["events"]:
        report.fail("event_count", f"{len(events)} events, the manifest says {manifest['counts']['events']}")
    complete = bool(manifest.get("complete"))
    hashes: dict[int, str] = {}
    previous: dict[str, Any] | None = None
    for e in events:
        position = e["position"]
        state = base64.b64decode(e["state"])
        canonical = canonical_bytes(position, UUID(e["originator_id"]), e["originator_version"], e["topic"], state)
        if e["chain_hash"] is None:
            report.fail("link", "the bank had not chained this event when it was exported", position)
        elif hashlib.sha256(bytes.fromhex(e["previous_hash"]) + canonical).hexdigest() != e["chain_hash"]:
            report.fail("link", "the event's bytes do not chain to its recorded hash", position)
        if (
            previous is not None
            and e["previous_position"] == previous["position"]
            and e["previous_hash"] != previous["chain_hash"]
        ):
            report.fail("sequence", f"the hash before {position} is not that of {previous['position']}", position)
        if complete and (
            (previous is None and e["previous_hash"] != GENESIS.hex())
            or (previous is not None and e["previous_position"] != previous["position"])
        ):
            report.fail("sequence", "a complete bundle has an event missing before this one", position)
        hashes[position] = e["chain_hash"]
        previous = e
    for data in json.loads((folder / "checkpoints.json").read_text(encoding="utf-8")):
        checkpoint = Checkpoint.from_json(data)
        if not checkpoint.verifies(keys):
            report.fail(
                "checkpoint_signature", f"checkpoint {checkpoint.position} does not verify", checkpoint.position
            )
            continue
        report.checkpoints_verified += 1
        if checkpoint.position in hashes:
            if hashes[checkpoint.position] != checkpoint.chain_head.hex():
                report.fail(
                    "checkpoint_head", "the chain hash here differs from the signed checkpoint", checkpoint.position
                )
            else:
                report.checkpoint_heads_matched += 1
        elif complete and previous is not None and checkpoint.position <= previous["position"]:
            report.fail("checkpoint_head", "the checkpoint signs an event the bundle lacks", checkpoint.position)
    return report, events


def read_learners(folder: Path) -> dict[str, dict[str, Any]]:
    """The bundle's pseudonym -> {learner_id, name} (only learners not erased)."""
    path = folder / "learners.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _decode(
    events: list[dict[str, Any]], at_position: int | None, learners: dict[str, dict[str, Any]]
) -> list[Decoded]:
    decoder = FastEventDecoder()
    decoded = [
        decoder.decode(
            e["position"], UUID(e["originator_id"]), e["originator_version"], e["topic"], base64.b64decode(e["state"])
        )
        for e in events
        if at_position is None or e["position"] <= at_position
    ]
    for d in decoded:
        subject = d.fields.get("learner_id")
        if isinstance(subject, str):
            person = learners.get(subject)
            d.fields["learner_id"] = person["learner_id"] if person else tombstone(subject)
            if d.topic == core.LEARNER_REGISTERED:
                d.fields["name"] = person["name"] if person else None
    return decoded


def recompute(
    events: list[dict[str, Any]],
    on: date,
    at_position: int | None = None,
    people: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Each learner's balance and verdicts from the bundle's events as known at ``at_position``;
    learners are named by teacher number where ``people`` (``read_learners``) has them,
    by tombstone (``erased:<pseudonym>``) where not."""
    decoded = _decode(events, at_position, people or {})
    profiles: dict[UUID, dict[str, Any]] = {}
    roles: dict[str, list[RoleFact]] = defaultdict(list)
    completions: dict[UUID, Decoded] = {}
    revoked: set[UUID] = set()
    versions: list[PolicyVersion] = []
    record: dict[str, list[Fact]] = defaultdict(list)
    for e in decoded:
        f = e.fields
        if e.topic == core.LEARNER_REGISTERED:
            profiles[e.originator_id] = f
            for spell in f.get("roles") or ():
                roles[f["learner_id"]].append(
                    RoleFact(spell["role"], spell["since"], spell.get("until"), str(e.event_id), e.position)
                )
        elif e.topic == core.LEARNER_CORRECTED and e.originator_id in profiles:
            profiles[e.originator_id] = {**profiles[e.originator_id], "school": f["school"], "hired_on": f["hired_on"]}
        elif e.topic in (core.ROLE_STARTED, core.ROLE_ENDED) and e.originator_id in profiles:
            learner = profiles[e.originator_id]["learner_id"]
            if e.topic == core.ROLE_STARTED:
                roles[learner].append(RoleFact(f["role"], f["since"], None, str(e.event_id), e.position))
            else:
                roles[learner] = [
                    RoleFact(r.role, r.since, f["until"], r.event_id, r.position)
                    if r.role == f["role"] and r.until is None
                    else r
                    for r in roles[learner]
                ]
        elif e.topic == core.COMPLETION_RECORDED:
            completions[e.originator_id] = e
        elif e.topic == core.COMPLETION_REVOKED:
            revoked.add(e.originator_id)
        elif e.topic == policies.POLICY_PUBLISHED:
            versions.append(parse_policy(json.loads(policies.row(e)[6])))
        elif e.topic in service_record.EVENT_OF and e.originator_id in profiles:
            fact = fact_of(service_record.EVENT_OF[e.topic], f, str(e.event_id), e.position)
            if fact is not None:
                record[profiles[e.originator_id]["learner_id"]].append(fact)
    facts: dict[str, list[CompletionFact]] = defaultdict(list)
    for oid, e in completions.items():
        f = e.fields
        if earns_hours(f["assessment"], revoked=oid in revoked):
            facts[f["learner_id"]].append(
                CompletionFact(
                    str(e.event_id), e.position, f["category"], f["level"], Decimal(f["hours"]), f["completed_on"]
                )
            )
    targets = sorted({t for v in versions for t in v.targets()})
    learners: dict[str, Any] = {}
    for profile in sorted(profiles.values(), key=lambda p: p["learner_id"]):
        learner_id = profile["learner_id"]
        counted = [c for c in facts[learner_id] if c.completed_on <= on]
        by_category: dict[str, Decimal] = defaultdict(Decimal)
        for c in counted:
            by_category[c.category] += c.hours
        subject = with_record(
            Facts(
                learner_id,
                profile["jurisdiction"],
                profile.get("hired_on"),
                tuple(roles[learner_id]),
                tuple(facts[learner_id]),
                name=profile.get("name"),
                school=profile.get("school"),
            ),
            record[learner_id],
        )
        learners[learner_id] = {
            "total": format_hours(sum(by_category.values(), Decimal(0))),
            "by_category": {k: format_hours(v) for k, v in sorted(by_category.items())},
            "verdicts": {t: evaluate(t, subject, versions, on)["eligible"] for t in targets},
        }
    return {
        "on": on.isoformat(),
        "at_position": at_position,
        "learners": learners,
        "policies": sorted({f"{v.policy_id}@{v.version}" for v in versions}),
    }
