"""The one routes table: every endpoint, who may call it, and what it takes and gives.

Invariants: the router, the authorisation middleware and the OpenAPI document are all
built from ``ROUTES``, so they cannot disagree; every path parameter is checked against
its grammar (``PATH_PARAMETERS``, the ledger's grammar of ids) before its handler runs, so a
value no resource can have (a NUL, a newline, a character outside the grammar) answers 404
and never reaches a query.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError, validate

from api.service import (
    appointments,
    audit,
    audit_schemas,
    certificate_schemas,
    certificates,
    degree_credit_schemas,
    degree_credits,
    eligibility,
    evaluation_schemas,
    evaluations,
    federation,
    federation_schemas,
    milestone_schemas,
    milestones,
    ops,
    ops_schemas,
    policy_schemas,
    privacy,
    privacy_schemas,
    provider_completion_schemas,
    provider_completions,
    read_schemas,
    reads,
    record_schemas,
    records,
    schemas,
    school_exports,
    school_schemas,
    schools,
    spreadsheet,
    transfer_schemas,
    transfers,
    vocabularies,
    vocabulary_schemas,
    write_schemas,
    writes,
)
from api.service.problems import Problem
from ledger.grammar import KEY_PATTERN

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ANY_AUTHENTICATED = frozenset({"admin", "institution", "hr", "auditor", "learner", "school"})
LEARNER_READERS = frozenset({"admin", "hr", "auditor", "learner"})
#: A school token reads its own teachers' profile, balance and verdicts (API.md 1.1).
TEACHER_READERS = LEARNER_READERS | {"school"}
SCHOOL_READERS = frozenset({"hr", "auditor", "school"})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    #: Roles allowed; ``None`` means public (no token).
    roles: frozenset[str] | None
    #: The body; several schemas: the body is one of these forms (``oneOf`` in the document).
    body: Schema | tuple[Schema, ...] | None = None
    query: Schema | None = None
    responses: dict[int, tuple[str, Schema | tuple[Schema, ...] | None]] = field(default_factory=dict)
    content_types: tuple[str, ...] = ("application/json",)


#: A move and a degree-credit recognition answer differently; ``type`` tells them apart.
_TRANSFER_ANSWERS = (transfer_schemas.TransferredSchema(), degree_credit_schemas.RecognisedSchema())

ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/v1/providers",
        writes.post_provider,
        "Register or re-accredit a training institution",
        frozenset({"admin"}),
        body=write_schemas.provider_schema,
        responses={201: ("recorded", schemas.WrittenSchema()), 200: ("unchanged", schemas.WrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/providers/{provider_id}",
        reads.get_provider,
        "A training institution and its accreditation",
        frozenset({"admin", "auditor", "institution"}),
        responses={200: ("the institution", None)},
    ),
    Route(
        "GET",
        "/v1/providers/{provider_id}/completions",
        provider_completions.get_provider_completions,
        "The completions the institution posted, newest first (by log position), each recorded or revoked "
        "as of the read's position; from/to filter on completed_on; paged by after/limit (next_after); "
        "Accept: text/csv or the xlsx type for the whole range as a spreadsheet. An institution reads only "
        "its own",
        frozenset({"admin", "auditor", "institution"}),
        query=provider_completion_schemas.provider_completions_query_schema,
        responses={200: ("the postings, or CSV (UTF-8 with BOM), or xlsx", None)},
        content_types=("application/json", "text/csv", spreadsheet.XLSX_TYPE),
    ),
    Route(
        "POST",
        "/v1/providers/{provider_id}/suspension",
        writes.post_suspension,
        "Suspend an institution",
        frozenset({"admin"}),
        body=write_schemas.suspension_schema,
        responses={201: ("suspended", schemas.WrittenSchema())},
    ),
    Route(
        "DELETE",
        "/v1/providers/{provider_id}/suspension",
        writes.delete_suspension,
        "Reinstate a suspended institution",
        frozenset({"admin"}),
        responses={200: ("reinstated", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/learners",
        writes.post_learner,
        "Register a learner, or a roster {learners: [...]} of up to 10,000 (HR: each item's jurisdiction "
        "must be in scope, else that item is rejected with code forbidden); with ?dry_run=true every item "
        "is judged on the ledger as a registration would be and nothing is recorded",
        frozenset({"admin", "hr"}),
        body=(write_schemas.learner_schema, write_schemas.learner_batch_schema),
        query=write_schemas.dry_run_query_schema,
        responses={
            201: ("registered", write_schemas.RegisteredSchema()),
            200: ("already registered, or the verdict of a dry run", write_schemas.RegisteredSchema()),
            207: ("roster: one result per item", write_schemas.LearnerBatchResultSchema()),
        },
    ),
    Route(
        "POST",
        "/v1/learners/{learner_id}/roles",
        writes.post_role,
        "A role starts (since) or ends (until). Starting principal or head_teacher is judged against "
        "principal_appointment / head_teacher_post on since, by the policies in force in the learner's "
        "jurisdiction: if not eligible, 422 appointment_not_eligible with the verdict, unless an admin "
        "passes override {reason}, recorded with the verdict (HR passing override: 403 "
        "appointment_override_not_permitted). Where no policy defines the target the appointment is not "
        "judged (appointment.eligible null). Roles given at registration are not judged.",
        frozenset({"admin", "hr"}),
        body=write_schemas.role_change_schema,
        responses={201: ("recorded", record_schemas.RoleWrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/appointment-check",
        appointments.get_appointment_check,
        "A dry run of starting a role on a day (on, default today): the verdict the appointment check of "
        "POST /v1/learners/{learner_id}/roles would judge it by (principal: principal_appointment, "
        "head_teacher: head_teacher_post), on the event store as that write reads it; nothing is recorded. "
        "may_appoint false: the write would answer 422 appointment_not_eligible. A spell that could not "
        "start at all (role held, overlap, out of scope) is refused as the write refuses it",
        frozenset({"admin", "hr"}),
        query=record_schemas.appointment_check_query_schema,
        responses={200: ("the dry run", record_schemas.AppointmentCheckSchema())},
    ),
    Route(
        "POST",
        "/v1/learners/{learner_id}/refusals",
        records.post_refusal,
        "Record a refusal of a post (head_teacher) for a school year, justified or not, with a reason "
        "(sealed); an unjustified one bars appraisal_excellent, title_promotion and head_teacher_honour "
        "for that school year (seed 001 二(四)9). One per post and school year: the same again answers "
        "duplicate, other content 409 refusal_conflict",
        frozenset({"admin", "hr"}),
        body=record_schemas.refusal_schema,
        responses={201: ("recorded", schemas.WrittenSchema()), 200: ("duplicate", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/learners/{learner_id}/appraisals",
        records.post_appraisal,
        "Record an annual appraisal result (年度考核): school_year, grade, on. One per school year: "
        "the same again answers duplicate, another grade or date 409 appraisal_conflict",
        frozenset({"admin", "hr"}),
        body=record_schemas.appraisal_schema,
        responses={201: ("recorded", schemas.WrittenSchema()), 200: ("duplicate", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/learners/{learner_id}/qualifications",
        records.post_qualification,
        "Record a teaching qualification (教师资格): kind, number (sealed), issued_on. One per kind: "
        "the same again answers duplicate, other content 409 qualification_conflict",
        frozenset({"admin", "hr"}),
        body=record_schemas.qualification_schema,
        responses={201: ("recorded", schemas.WrittenSchema()), 200: ("duplicate", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/learners/{learner_id}/prior-certificates",
        records.post_prior_certificate,
        "Record a certificate issued before the bank (on paper), attested: kind, issuer, number "
        "(sealed), issued_on, attested_by, optional document_sha256. It counts for certificate_held "
        "rules and is shown as attested, not signed by the bank. One per kind and issue date: the "
        "same again answers duplicate, other content 409 prior_certificate_conflict",
        frozenset({"admin", "hr"}),
        body=record_schemas.prior_certificate_schema,
        responses={201: ("recorded", schemas.WrittenSchema()), 200: ("duplicate", schemas.WrittenSchema())},
    ),
    Route(
        "PATCH",
        "/v1/learners/{learner_id}",
        writes.patch_learner,
        "Correct the learner's name, school or hire date, with a reason (HR: within the learner's "
        "current jurisdiction); at least one of name, school and hired_on is given (else 422); "
        "recorded as a correction event, history keeps both values; "
        "the same values again answer 200 unchanged",
        frozenset({"admin", "hr"}),
        body=write_schemas.correction_schema,
        responses={201: ("corrected", schemas.WrittenSchema()), 200: ("nothing to change", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/learners/{learner_id}/erasure",
        privacy.post_erasure,
        "Erase the learner's personal data (PIPL): the name and teacher number become unrecoverable "
        "from the log and every export; hours, verdicts and the audit chain stay, under a pseudonym "
        "(erased:…). Asking again answers 404.",
        frozenset({"admin"}),
        body=schemas.revocation_schema,
        responses={201: ("erased", privacy_schemas.ErasedSchema())},
    ),
    Route(
        "POST",
        "/v1/completions",
        writes.post_completions,
        "Post one completion, or a batch {completions: [...]} of up to 10,000; with ?dry_run=true every item "
        "is judged on the ledger as a post would be and nothing is recorded",
        frozenset({"institution"}),
        body=(write_schemas.completion_schema, write_schemas.completion_batch_schema),
        query=write_schemas.dry_run_query_schema,
        responses={
            201: ("recorded", write_schemas.CompletionResultSchema()),
            200: ("duplicate of an earlier post", write_schemas.CompletionResultSchema()),
            207: ("batch: one result per item", write_schemas.BatchResultSchema()),
        },
    ),
    Route(
        "POST",
        "/v1/completions/{provider_id}/{record_id}/revocation",
        writes.post_revocation,
        "Revoke a completion",
        frozenset({"institution", "admin"}),
        body=schemas.revocation_schema,
        responses={201: ("revoked", schemas.WrittenSchema()), 200: ("already revoked", schemas.WrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}",
        reads.get_learner,
        "Learner profile, roles, certificates",
        TEACHER_READERS,
        query=schemas.read_query_schema,
        responses={200: ("profile", read_schemas.LearnerViewSchema())},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/balance",
        reads.get_balance,
        "Hours by category, year and cycle, each with the events behind it",
        TEACHER_READERS,
        query=schemas.read_query_schema,
        responses={200: ("balance", read_schemas.BalanceSchema())},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/history",
        reads.get_history,
        "Every event about the learner, in order",
        frozenset({"admin", "auditor", "learner"}),
        query=schemas.history_query_schema,
        responses={200: ("events", read_schemas.HistorySchema())},
    ),
    Route(
        "GET",
        "/v1/events",
        reads.get_events,
        "The global event stream, in order",
        frozenset({"admin", "auditor"}),
        query=schemas.events_query_schema,
        responses={200: ("events", read_schemas.EventsPageSchema())},
    ),
    Route(
        "POST",
        "/v1/policies",
        eligibility.post_policy,
        "Publish a policy version (rules as data; refused with field paths if invalid)",
        frozenset({"admin"}),
        body=policy_schemas.PolicyDocSchema(),
        responses={
            201: ("published", schemas.WrittenSchema()),
            200: ("same version published already", schemas.WrittenSchema()),
        },
    ),
    Route(
        "GET",
        "/v1/policies/{policy_id}",
        eligibility.get_policy,
        "Every version of a policy with its effective dates",
        ANY_AUTHENTICATED,
        query=schemas.read_query_schema,
        responses={200: ("the policy's versions", None)},
    ),
    Route(
        "POST",
        "/v1/policies/{policy_id}/impact",
        eligibility.post_impact,
        "Whose verdicts a draft version would flip, and why (nothing is published)",
        frozenset({"admin", "hr"}),
        body=policy_schemas.PolicyDocSchema(),
        query=policy_schemas.impact_query_schema,
        responses={200: ("flips", None)},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/eligibility",
        eligibility.get_eligibility,
        "Verdict for a target, each requirement with its source and evidence",
        TEACHER_READERS,
        query=policy_schemas.verdict_query_schema,
        responses={200: ("verdict", policy_schemas.VerdictSchema())},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/plan",
        eligibility.get_plan,
        "What remains for a target, by category, before which date",
        LEARNER_READERS,
        query=policy_schemas.verdict_query_schema,
        responses={200: ("plan", None)},
    ),
    Route(
        "POST",
        "/v1/vocabularies",
        vocabularies.post_vocabulary,
        "Publish a version of a jurisdiction's vocabulary document: categories, roles and certificate kinds "
        "it adds (each code with zh and en labels), valid in that jurisdiction and below; a code already "
        "national or a parent's is refused (409 vocabulary_code_taken)",
        frozenset({"admin"}),
        body=vocabulary_schemas.vocabulary_doc_schema,
        responses={
            201: ("published", schemas.WrittenSchema()),
            200: ("same version published already", schemas.WrittenSchema()),
        },
    ),
    Route(
        "GET",
        "/v1/vocabulary",
        vocabularies.get_vocabulary,
        "Every code in force in a jurisdiction with its Chinese and English labels and where it comes from "
        "(CN, or the jurisdiction whose vocabulary document added it)",
        ANY_AUTHENTICATED,
        query=vocabulary_schemas.vocabulary_query_schema,
        responses={200: ("codes", vocabulary_schemas.VocabularySchema())},
    ),
    Route(
        "GET",
        "/v1/targets",
        eligibility.get_targets,
        "The targets in force in a jurisdiction (its own policies and those above it) on a day, each with "
        "the policy and rule ids behind it; a verdict for any other target is refused with 422 unknown_target",
        ANY_AUTHENTICATED,
        query=policy_schemas.targets_query_schema,
        responses={200: ("targets", policy_schemas.TargetsSchema())},
    ),
    Route(
        "GET",
        "/v1/eligibility",
        eligibility.get_cohort,
        "Verdicts for every learner in scope, paged; filters role (held on the day judged), school and "
        "applies=true (only learners the target is for); counts (eligible, not eligible, not applicable) over "
        "the whole filtered cohort on the first page or with totals=true, and per school (counts_by_school; "
        'a learner without a school under ""); Accept: text/csv (UTF-8 with BOM) '
        "or the xlsx type for all of them as a spreadsheet (headers by lang or Accept-Language)",
        frozenset({"admin", "hr", "auditor"}),
        query=policy_schemas.cohort_query_schema,
        responses={200: ("a page of verdicts, or CSV, or xlsx", None)},
        content_types=("application/json", "text/csv", spreadsheet.XLSX_TYPE),
    ),
    Route(
        "GET",
        "/v1/milestones",
        milestones.get_milestones,
        "Who reaches each number of years of service in a role during a school year, and on which day "
        "(calendar anniversaries; spells summed; intern service counts where the jurisdiction's "
        "service_milestone rule says so); Accept: text/csv or the xlsx type for a spreadsheet (headers and "
        "the role in the reader's language: ?lang=zh|en or Accept-Language)",
        frozenset({"admin", "hr", "auditor"}),
        query=milestone_schemas.milestones_query_schema,
        responses={200: ("the learners reaching each milestone, or the sheet", None)},
        content_types=("application/json", "text/csv", spreadsheet.XLSX_TYPE),
    ),
    Route(
        "GET",
        "/v1/audit/verification",
        audit.get_verification,
        "Recompute the hash chain over the log (or from/to positions) against stored hashes and signed checkpoints",
        frozenset({"admin", "auditor"}),
        query=audit_schemas.verification_query_schema,
        responses={200: ("ok, or the first broken position and the kind of break", None)},
    ),
    Route(
        "GET",
        "/v1/audit/checkpoints",
        audit.get_checkpoints,
        "Signed checkpoints (position, chain head, time), like a transparency log's signed tree heads",
        None,
        query=audit_schemas.checkpoints_query_schema,
        responses={200: ("checkpoints", None)},
    ),
    Route(
        "GET",
        "/v1/audit/institutions/{provider_id}",
        audit.get_institution_audit,
        "One institution's month: completions posted, revoked, refused, and anomalies; Accept: text/csv "
        "or the xlsx type for a spreadsheet",
        frozenset({"admin", "auditor"}),
        query=audit_schemas.institution_query_schema,
        responses={200: ("the month's audit, or CSV (UTF-8 with BOM), or xlsx", None)},
        content_types=("application/json", "text/csv", spreadsheet.XLSX_TYPE),
    ),
    Route(
        "GET",
        "/v1/keys",
        audit.get_keys,
        "The bank's public Ed25519 keys (JWKS)",
        None,
        responses={200: ("JWKS", None)},
    ),
    # -- certificates --
    Route(
        "POST",
        "/v1/certificates",
        certificates.post_certificate,
        "Issue a certificate of a kind; refused unless the learner meets its rule on the issue date; "
        "the answer carries the signed credential (VC 2.0 as JWS)",
        frozenset({"admin", "hr"}),
        body=certificate_schemas.issue_schema,
        query=certificate_schemas.write_query_schema,
        responses={201: ("issued", None), 200: ("the same issuance, issued before", None)},
    ),
    Route(
        "GET",
        "/v1/certificates/{certificate_id}",
        certificates.get_certificate,
        "A certificate with its basis, signed document and status history",
        LEARNER_READERS,
        query=schemas.read_query_schema,
        responses={200: ("the certificate", certificate_schemas.CertificateRecordSchema())},
    ),
    Route(
        "POST",
        "/v1/certificates/{certificate_id}/revocation",
        certificates.post_revocation,
        "Revoke a certificate (reason, on)",
        frozenset({"admin"}),
        body=certificate_schemas.status_change_schema,
        responses={201: ("revoked", schemas.WrittenSchema()), 200: ("already revoked", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/certificates/{certificate_id}/suspension",
        certificates.post_suspension,
        "Suspend a certificate (reason, on)",
        frozenset({"admin"}),
        body=certificate_schemas.status_change_schema,
        responses={201: ("suspended", schemas.WrittenSchema()), 200: ("already suspended", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/certificates/{certificate_id}/reinstatement",
        certificates.post_reinstatement,
        "Reinstate a suspended certificate (reason, on)",
        frozenset({"admin"}),
        body=certificate_schemas.status_change_schema,
        responses={201: ("reinstated", schemas.WrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/certificates/{certificate_id}/verification",
        certificates.get_verification,
        "Public: valid, revoked, suspended or expired, since when and why; no personal data",
        None,
        query=certificate_schemas.min_position_schema,
        responses={200: ("the status", None)},
    ),
    Route(
        "POST",
        "/v1/certificates/verification",
        certificates.post_verification,
        "Public: verify a presented certificate (its JWS): signature, then status",
        None,
        body=certificate_schemas.presented_schema,
        query=certificate_schemas.min_position_schema,
        responses={200: ("the verdict", None)},
    ),
    Route(
        "GET",
        "/v1/status-lists/{list_id}",
        certificates.get_status_list,
        "Public: a Bitstring Status List credential (revocation-N, suspension-N), signed",
        None,
        responses={200: ("the status list credential and its JWS", None)},
    ),
    # -- credit transfers --
    Route(
        "POST",
        "/v1/transfers",
        transfers.post_transfer,
        "Move a learner's account to another jurisdiction: the origin closes, the destination carries the "
        'hours and a digest of the origin history; or, with type "degree_credit" (transfer_id, learner_id, '
        "mapping_id, completions [{provider_id, record_id, hours?}]), convert those completions' hours into degree "
        "credits under a published mapping (refused if any hour is recognised already, in any programme)",
        frozenset({"admin", "hr"}),
        body=(transfer_schemas.transfer_schema, degree_credit_schemas.recognition_schema),
        query=certificate_schemas.write_query_schema,
        responses={
            201: ("transferred, or credits recognised", _TRANSFER_ANSWERS),
            200: ("the same transfer again", _TRANSFER_ANSWERS),
        },
    ),
    Route(
        "POST",
        "/v1/transfers/{transfer_id}/reversal",
        transfers.post_reversal,
        "Reverse the latest transfer by a compensating event",
        frozenset({"admin", "hr"}),
        body=transfer_schemas.reversal_schema,
        query=certificate_schemas.write_query_schema,
        responses={201: ("reversed", schemas.WrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/transfers",
        transfers.get_transfers,
        "Every move of the learner's account, reversed or not",
        LEARNER_READERS,
        query=schemas.read_query_schema,
        responses={200: ("transfers", None)},
    ),
    # -- moves between provincial banks --
    Route(
        "POST",
        "/v1/learners/{learner_id}/departures",
        federation.post_departure,
        "Close the learner's account in this bank for another provincial bank: answers the departure record "
        "(the counted completions carried, their digest, its position) signed with this bank's key, for the "
        "destination's POST /v1/arrivals; the same departure again answers the same record",
        frozenset({"admin", "hr"}),
        body=federation_schemas.departure_schema,
        responses={
            201: ("departed", federation_schemas.DepartedSchema()),
            200: ("the same departure again", federation_schemas.DepartedSchema()),
        },
    ),
    Route(
        "POST",
        "/v1/arrivals",
        federation.post_arrival,
        "Open a learner's account in this bank from another bank's signed departure record (verified with the "
        "origin's configured public key, addressed to this bank, digest recomputed), registering the learner if "
        "new here; the carried hours count here from then on; the same arrival again answers duplicate",
        frozenset({"admin", "hr"}),
        body=federation_schemas.arrival_schema,
        responses={
            201: ("arrived", federation_schemas.ArrivedSchema()),
            200: ("the same arrival again", federation_schemas.ArrivedSchema()),
        },
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/moves",
        federation.get_moves,
        "The learner's departures to and arrivals from other provincial banks, and whether the account is here",
        LEARNER_READERS,
        query=schemas.read_query_schema,
        responses={200: ("moves", federation_schemas.MovesSchema())},
    ),
    # -- anonymous evaluation of programmes (seed 000 §8) --
    Route(
        "GET",
        "/v1/learners/{learner_id}/evaluations/pending",
        evaluations.get_pending,
        "The learner's own passed, unrevoked completions not yet evaluated",
        frozenset({"learner"}),
        query=certificate_schemas.min_position_schema,
        responses={200: ("pending evaluations", None)},
    ),
    Route(
        "POST",
        "/v1/evaluations",
        evaluations.post_evaluation,
        "Evaluate one of your own passed completions, once and anonymously: scores {content, teaching, "
        "organisation} 1-5 and an optional comment. Nothing stored names you, the completion or the hour; "
        "a completion not passed or revoked is refused (422 completion_not_evaluable), a second evaluation "
        "of the same completion too (409 already_evaluated)",
        frozenset({"learner"}),
        body=evaluation_schemas.evaluation_schema,
        query=certificate_schemas.write_query_schema,
        responses={201: ("recorded", schemas.WrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/providers/{provider_id}/evaluations",
        evaluations.get_provider_evaluations,
        "Per programme (or ?programme=CODE): the count of evaluations, and from 5 published on their averages, "
        "counts per score and comments (sorted by text); with the provider's expert and third-party reviews",
        frozenset({"admin", "hr", "auditor", "institution"}),
        query=evaluation_schemas.provider_evaluations_query_schema,
        responses={200: ("evaluations and reviews", None)},
    ),
    Route(
        "POST",
        "/v1/providers/{provider_id}/reviews",
        evaluations.post_review,
        "Record an expert or third-party review of a provider (kind, on: not after today, findings, "
        "rating 1-5); the same review again is a duplicate, other findings for the same kind and day a 409 "
        "review_conflict",
        frozenset({"auditor"}),
        body=evaluation_schemas.review_schema,
        query=certificate_schemas.write_query_schema,
        responses={201: ("recorded", schemas.WrittenSchema()), 200: ("the same review again", schemas.WrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/evaluations/ranking",
        evaluations.get_ranking,
        "The providers serving a jurisdiction (accredited in, under or above it) ranked by the mean score of "
        "their published evaluations, with their reviews; providers with fewer than 5 published follow unranked",
        frozenset({"admin", "hr", "auditor"}),
        query=evaluation_schemas.ranking_query_schema,
        responses={200: ("the ranking", None)},
    ),
    # -- credit-to-degree mappings --
    Route(
        "POST",
        "/v1/degree-mappings",
        degree_credits.post_mapping,
        "Publish a version of a university's credit-to-degree mapping for a programme: categories and levels "
        "that count, hours per degree credit, caps per category and overall",
        frozenset({"admin"}),
        body=degree_credit_schemas.mapping_schema,
        responses={201: ("published", None), 200: ("the same version, published before", None)},
    ),
    Route(
        "GET",
        "/v1/degree-mappings/{mapping_id}",
        degree_credits.get_mapping,
        "Every version of a mapping (by UUID or university:programme)",
        ANY_AUTHENTICATED,
        query=schemas.read_query_schema,
        responses={200: ("the mapping's versions", None)},
    ),
    Route(
        "GET",
        "/v1/learners/{learner_id}/degree-credits",
        degree_credits.get_degree_credits,
        "Per completion, the degree credits it maps to under a programme's mapping, what is recognised already "
        "(and in which programme), what is still recognisable, totals and caps, each with its events",
        LEARNER_READERS,
        query=degree_credit_schemas.degree_credits_query_schema,
        responses={200: ("degree credits", None)},
    ),
    Route(
        "POST",
        "/v1/schools",
        schools.post_school,
        "Register a school (HR: in its jurisdiction); the same details again answer 200 duplicate, other "
        "details 409. Once a jurisdiction has a school, new learners there must name a registered school",
        frozenset({"admin", "hr"}),
        body=school_schemas.school_schema,
        responses={201: ("registered", schemas.WrittenSchema()), 200: ("registered already", schemas.WrittenSchema())},
    ),
    Route(
        "GET",
        "/v1/schools",
        schools.get_schools,
        "The schools of a jurisdiction and those under it (a school token sees its own)",
        SCHOOL_READERS,
        query=school_schemas.schools_query_schema,
        responses={200: ("schools", school_schemas.SchoolsSchema())},
    ),
    Route(
        "GET",
        "/v1/schools/{school_id}",
        schools.get_school,
        "A school",
        SCHOOL_READERS,
        query=school_schemas.school_read_query_schema,
        responses={200: ("the school", school_schemas.SchoolViewSchema())},
    ),
    Route(
        "POST",
        "/v1/schools/{school_id}/plans",
        schools.post_plan,
        "File the school's training plan for a school year; late when filed after the jurisdiction's "
        "deadline (20 March of the school year's second year by default); a school year whose years are "
        "not consecutive, or filed_on after today, is refused with 422; another plan for the year 409",
        frozenset({"school", "hr"}),
        body=school_schemas.plan_schema,
        responses={
            201: ("filed", school_schemas.PlanResultSchema()),
            200: ("filed already", school_schemas.PlanResultSchema()),
        },
    ),
    Route(
        "POST",
        "/v1/schools/{school_id}/sessions",
        schools.post_session,
        "Record a school-based session (校本培训); the same session again answers 200 duplicate, other "
        "facts under its id 409; a slot naming another weekday than held_on, a day after today or an "
        "instructor not registered is refused with 422",
        frozenset({"school"}),
        body=school_schemas.session_schema,
        responses={201: ("recorded", schemas.WrittenSchema()), 200: ("recorded already", schemas.WrittenSchema())},
    ),
    Route(
        "POST",
        "/v1/schools/{school_id}/sessions/{session_id}/attendance",
        schools.post_attendance,
        "The session's attendance sheet: each present teacher of the school is credited once per content key "
        "(a second attendance of the content answers duplicate_content); the same sheet again records nothing "
        "(200 duplicate); a changed sheet is a correction and needs a reason (else 422); a learner who is "
        "not a teacher of the school is refused with 422 (not_a_teacher_of_school)",
        frozenset({"school"}),
        body=school_schemas.attendance_schema,
        responses={
            201: ("recorded", school_schemas.AttendanceResultSchema()),
            200: ("the same sheet again", school_schemas.AttendanceResultSchema()),
        },
    ),
    Route(
        "GET",
        "/v1/schools/{school_id}/sessions/{session_id}/attendance",
        schools.get_attendance,
        "The session and its attendance sheet in force: who was present, who was absent and the absence "
        "reason (null once the learner is erased), and each sheet recorded (the first, then each correction "
        "with its reason); no sheet yet: empty lists. A session the school did not record answers 404",
        SCHOOL_READERS,
        query=school_schemas.school_read_query_schema,
        responses={200: ("the sheet", school_schemas.SessionSheetSchema())},
    ),
    Route(
        "GET",
        "/v1/schools/{school_id}/inspection",
        schools.get_inspection,
        "The term-end inspection (期末专项检查): plan filed and on time, sessions per week against the "
        "required frequency, each teacher's attendance rate and those below the threshold, who lectured; "
        "JSON, or CSV (Accept: text/csv) or xlsx (Accept: the xlsx media type); a term whose years are "
        "not consecutive is refused with 422",
        SCHOOL_READERS,
        query=school_schemas.inspection_query_schema,
        responses={200: ("the inspection", school_schemas.InspectionSchema())},
        content_types=("application/json", "text/csv", school_exports.XLSX),
    ),
    Route(
        "GET",
        "/v1/inspections",
        schools.get_inspections,
        "Every school of the jurisdiction (and below) side by side for the term, ranked; JSON, CSV or xlsx",
        frozenset({"hr", "auditor"}),
        query=school_schemas.inspections_query_schema,
        responses={200: ("the schools, ranked", school_schemas.InspectionsSchema())},
        content_types=("application/json", "text/csv", school_exports.XLSX),
    ),
    Route("GET", "/healthz", ops.healthz, "Liveness", None, responses={200: ("alive", ops_schemas.HealthSchema())}),
    Route(
        "GET",
        "/readyz",
        ops.readyz,
        "Readiness: database and projection lag",
        None,
        responses={200: ("ready", ops_schemas.ReadinessSchema()), 503: ("not ready", ops_schemas.ReadinessSchema())},
    ),
    Route(
        "GET",
        "/metrics",
        ops.metrics,
        "Prometheus metrics (loopback only)",
        None,
        responses={200: ("metrics", None)},
        content_types=("text/plain",),
    ),
    Route("GET", "/openapi.json", ops.openapi, "This contract", None, responses={200: ("OpenAPI 3.1", None)}),
    Route(
        "GET",
        "/docs",
        ops.docs,
        "A page to read the contract",
        None,
        responses={200: ("HTML", None)},
        content_types=("text/html",),
    ),
    Route(
        "GET",
        "/docs/assets/{asset}",
        ops.docs_asset,
        "The files of the contract's page (Swagger UI, shipped with the bank)",
        None,
        responses={200: ("the file", None)},
        content_types=("text/javascript", "text/css", "text/plain"),
    ),
)


#: The grammar of each path parameter. A learner id may be a tombstone (``erased:<pseudonym>``)
#: here: reading an erased learner's hours is what the tombstone is for.
PATH_PARAMETERS: dict[str, list[Any]] = {
    "learner_id": schemas.identifier(64),
    "provider_id": schemas.identifier(64),
    "record_id": schemas.identifier(128),
    "policy_id": schemas.identifier(64),
    "certificate_id": schemas.identifier(64),
    "list_id": schemas.identifier(64),
    "transfer_id": schemas.identifier(64),
    "mapping_id": degree_credit_schemas.MAPPING_NAME,
    "school_id": school_schemas.school_id_grammar(),
    "session_id": schemas.identifier(64, KEY_PATTERN),
    "asset": [validate.OneOf(ops.DOCS_ASSETS)],
}
_PARAMETER = re.compile(r"{(\w+)}")


def path_parameter_schema(name: str) -> dict[str, Any]:
    """The OpenAPI schema of a path parameter: its grammar's length and pattern."""
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    for validator in PATH_PARAMETERS[name]:
        if getattr(validator, "max", None) is not None:
            schema["maxLength"] = validator.max
        if isinstance(getattr(validator, "regex", None), re.Pattern):
            schema["pattern"] = validator.regex.pattern
        if isinstance(validator, validate.OneOf):
            schema["enum"] = list(validator.choices)
    return schema


def path_problems(match_info: dict[str, str]) -> dict[str, list[str]]:
    """Each path parameter outside its grammar, with why."""
    problems: dict[str, list[str]] = {}
    for name, value in match_info.items():
        for validator in PATH_PARAMETERS[name]:
            try:
                validator(value)
            except ValidationError as error:
                problems.setdefault(name, []).extend(str(m) for m in error.messages)
                break
    return problems


def _checked(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        problems = path_problems(dict(request.match_info))
        if problems:
            names = ", ".join(sorted(problems))
            raise Problem(
                404,
                "not_found",
                "No such resource",
                f"no resource can have this {names}: it is outside the grammar of ids",
                errors=problems,
            )
        return await handler(request)

    return checked


def route_table() -> web.RouteTableDef:
    table = web.RouteTableDef()
    for route in ROUTES:
        names = _PARAMETER.findall(route.path)
        unknown = set(names) - PATH_PARAMETERS.keys()
        if unknown:
            raise AssertionError(f"{route.path}: no grammar for {', '.join(sorted(unknown))}")
        table.route(route.method, route.path)(_checked(route.handler) if names else route.handler)
    return table
