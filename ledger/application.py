"""The credit bank's write side: the ``eventsourcing`` application and its commands.

Invariants:
- every command either records all of its events in one transaction or none;
- a batch of completions, and a roster of learners (``register_learners``), is atomic per
  item: an item is recorded whole, answered as a duplicate, or rejected whole, and one bad
  item never stops the good ones;
- a dry run (``judge_completions``, ``judge_learners``) runs the same checks on the same
  state loaded from the store and saves nothing, in the event store or the vault;
- a learner's details change only by a correction (``correct_learner``), never in place;
- ``(provider_id, record_id)`` names a completion once: the same facts again answer the
  original position and record nothing; other facts under that id are a conflict;
- a concurrent writer elsewhere surfaces as a version conflict in the event store; the
  command evicts what it had cached and runs again, so nothing is lost or doubled;
- every command, here and in ``ledger.certificate_commands``, ``ledger.transfer_commands``, ``ledger.federation``
  and ``ledger.degree_commands``, runs one way: in ``unit_of_work`` (run again from the
  start on a version conflict), loading what it decides on fresh from the event store
  (``get``, ``get_many``, ``standing``, ``policies_for``), never from a read model, asking
  ``today()`` for the day, saving with ``record`` and answering positions found with
  ``position_of``/``creation_positions``; nothing outside this module touches its privates;
- an HR caller's ``scope`` is checked inside the command against the learner's current
  jurisdiction (the open account's once transferred: ``learner_in_scope``, ``Standing``);
- starting the role ``principal`` or ``head_teacher`` is judged inside the command on the
  learner's standing and the policies in force on ``since`` (``ledger.appointments``),
  refused with the verdict unless an admin overrides it; the verdict's summary and the
  override's reason (sealed) are recorded with the role; its dry run (``judge_appointment``)
  loads and judges the same way and saves nothing;
- the application holds no clock of its own: ``today`` is given to it;
- commands take the national teacher number (``learner_id`` at the edge) and turn it into
  the learner's pseudonym through the vault (``ledger.vault``) before anything is recorded:
  no event holds a teacher number or a name unsealed;
- an erasure records ``Learner.Erased`` first and destroys the vault entry second, so a
  crash in between leaves an erased learner whose erasure can simply be asked for again;
  its reason is sealed under the learner's key, so it is unreadable from then on.

Call the commands from one thread at a time (see ``ledger.committer``): cached aggregates
are shared, not copied, for speed.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, ClassVar, Literal, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application, Cache, LRUCache
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording

from ledger import appointments, fast_completion
from ledger.certificate import Certificate
from ledger.completion import Completion, CompletionFacts
from ledger.eligibility import calendar_of
from ledger.errors import (
    CompletionConflict,
    CompletionNotFound,
    ConcurrentWriteConflict,
    DomainError,
    LearnerAlreadyRegistered,
    LearnerErased,
    LearnerNotFound,
    PersonalDataUnreadable,
    PolicyInvalid,
    PolicyNotFound,
    PolicyVersionConflict,
    ProviderNotFound,
    RepeatedInRoster,
)
from ledger.grammar import (
    REASON_LENGTH,
    check_code,
    check_identifier,
    check_jurisdiction,
    check_optional_text,
    check_text,
)
from ledger.ids import completion_uuid, learner_uuid, policy_uuid, provider_uuid, vocabulary_uuid
from ledger.learner import Learner
from ledger.memory import BoundedMemory
from ledger.policy import Policy, PolicyVersion, check_replacements, parse_policy, shipped_policies
from ledger.provider import Accreditation as Accreditation  # commands name it from here
from ledger.provider import Provider
from ledger.school import SchoolRoll, school_roll_uuid
from ledger.school_year import Calendar
from ledger.sealing import seal, unseal
from ledger.standing import Standing, check_scope, current_jurisdiction, standing_of
from ledger.store import jurisdiction_key, learner_key
from ledger.transcodings import register_ledger_transcodings
from ledger.transfer import Account, account_uuid
from ledger.vault import Enrolment
from ledger.vocabulary import CATEGORIES, NATIONAL, ROLES, parent_chain
from ledger.vocabulary_document import Vocabularies, VocabularyDocument, categories_named

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

#: How often a command is run again after another writer won a race for its aggregates.
#: A command that loads much (an appointment judges the learner's whole standing) has a wide
#: window between load and save; against a writer posting for the same learner every few
#: milliseconds it can lose many rounds in a row, so the count is generous and the pause capped.
MAX_ATTEMPTS = 16

#: The longest pause between two attempts, in seconds (the pauses double up to it).
MAX_RETRY_PAUSE = 0.2

#: Registered learner ids remembered by the writer (about 130 bytes each with the set's
#: overhead: 13 MB at most). Past it the set starts again, and a miss costs one ids-only query
#: per batch.
MAX_KNOWN_LEARNERS = 100_000

#: Teacher number -> pseudonym pairs remembered by the writer (about 200 bytes each: 20 MB).
#: Every way a pair is learnt goes through the bound: registrations had kept theirs past it,
#: and a roster of 500,000 took the server to 311 MB, past the 300 MB it must stay under.
MAX_KNOWN_SUBJECTS = 100_000


@dataclass(frozen=True)
class Written:
    """The answer to a write: the position of its last event, and whether it was new."""

    position: int | None
    status: Literal["recorded", "duplicate", "unchanged"]
    #: What the command adds to its answer (an appointment's verdict summary).
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AppointmentJudged:
    """A dry run of an appointment: the verdict it would be judged by (None: the role is
    not judged), on the event store as it stood at ``position`` or later."""

    verdict: Mapping[str, Any] | None
    position: int | None


@dataclass(frozen=True)
class CompletionOutcome:
    record_id: str
    status: Literal["recorded", "duplicate", "rejected"]
    position: int | None = None
    error: DomainError | None = None
    completion_id: UUID | None = None


@dataclass(frozen=True)
class RegistrationOutcome:
    """One item of a batch registration: recorded, a duplicate of the learner as
    registered, or rejected whole (``error``)."""

    learner_id: str
    status: Literal["recorded", "duplicate", "rejected"]
    position: int | None = None
    error: DomainError | None = None


@dataclass(frozen=True)
class LearnerCorrection:
    """A correction of a registration: the fields given (``name``, ``school``, ``hired_on``)
    and why."""

    fields: Mapping[str, Any]
    reason: str

    def check(self) -> None:
        if "name" in self.fields:
            check_text(self.fields["name"], "name", max_length=100)
        if "school" in self.fields:
            check_optional_text(self.fields["school"], "school", max_length=200)
        check_text(self.reason, "reason", max_length=REASON_LENGTH)


@dataclass(frozen=True)
class LearnerRegistration:
    learner_id: str
    name: str
    jurisdiction: str
    school: str | None
    hired_on: date | None
    roles: tuple[tuple[str, date], ...] = ()

    def check(self) -> None:
        """The ledger's grammar (``ledger.grammar``): what the read models can show."""
        check_identifier(self.learner_id, "learner_id", reserved=True)
        check_text(self.name, "name", max_length=100)
        check_optional_text(self.school, "school", max_length=200)
        check_jurisdiction(self.jurisdiction)
        for index, (role, _since) in enumerate(self.roles):
            check_code(role, ROLES, f"roles[{index}].role")


class CreditBank(Application[UUID]):
    name = "CreditBank"
    env: ClassVar[dict[str, str]] = {
        # Safe because one thread per process writes and a second process's write
        # surfaces as an IntegrityError, on which the command evicts and retries.
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    }

    def __init__(self, env: dict[str, str] | None = None, *, today: Callable[[], date]) -> None:
        super().__init__(env)
        self._today = today
        self._known_learners: BoundedMemory[UUID, None] = BoundedMemory(MAX_KNOWN_LEARNERS)
        self._subjects: BoundedMemory[str, str] = BoundedMemory(MAX_KNOWN_SUBJECTS)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    # -- reading aggregates ------------------------------------------------------

    def get_many(self, ids: Iterable[UUID], *, fresh: bool = True) -> dict[UUID, Aggregate]:
        """Aggregates by id, fresh from the store (or, with ``fresh=False``, from the cache
        where it holds them), the rest in one round trip."""
        wanted = set(ids)
        found: dict[UUID, Aggregate] = {}
        cache = self.repository.cache
        if cache is not None and not fresh:
            for aggregate_id in wanted:
                with contextlib.suppress(KeyError):
                    found[aggregate_id] = cast(Aggregate, cache.get(aggregate_id))
        missing = wanted - found.keys()
        if missing:
            for aggregate_id, loaded in self._load(missing).items():
                found[aggregate_id] = loaded
                # A fresh read is never served from the cache, so caching what it loaded
                # (completions checked for duplicates, mostly) would only push out what
                # cached reads use, and grow the process until the cache is full.
                if cache is not None and not fresh:
                    cache.put(aggregate_id, loaded)
        return found

    def _load(self, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        loaded: dict[UUID, Aggregate] = {}
        for stored, _position in self.recorder.select_with_positions(ids):  # type: ignore[attr-defined]
            domain_event = self.mapper.to_domain_event(stored)
            loaded[stored.originator_id] = domain_event.mutate(  # type: ignore[attr-defined]
                loaded.get(stored.originator_id)
            )
        return loaded

    def creation_positions(self, ids: Iterable[UUID]) -> dict[UUID, int]:
        """The position of each of these aggregates' first event."""
        rows = self.recorder.select_with_positions(ids)  # type: ignore[attr-defined]
        return {stored.originator_id: pos for stored, pos in rows if stored.originator_version == 1}

    def get(self, aggregate_id: UUID, kind: type[A], *, fresh: bool = True) -> A | None:
        """The aggregate of this id and kind, fresh from the store unless ``fresh=False``."""
        aggregate = self.get_many([aggregate_id], fresh=fresh).get(aggregate_id)
        if aggregate is not None and not isinstance(aggregate, kind):
            msg = f"{aggregate_id} is a {type(aggregate).__name__}, not a {kind.__name__}"
            raise TypeError(msg)
        return aggregate

    def today(self) -> date:
        """The bank's today (its clock is given to it; see the module invariants)."""
        return self._today()

    def position_of(self, aggregate_id: UUID, suffix: str, **match: Any) -> int | None:
        """The position of this aggregate's first event whose topic ends with ``suffix``
        and whose fields equal ``match``."""
        found = self.event_of(aggregate_id, suffix, **match)
        return found[1] if found is not None else None

    def event_of(
        self, aggregate_id: UUID, suffix: str, *, latest: bool = False, **match: Any
    ) -> tuple[object, int] | None:
        """This aggregate's first (``latest``: last) event whose topic ends with ``suffix``
        and whose fields equal ``match``, with its position."""
        found = None
        for stored, position in self.recorder.select_with_positions([aggregate_id]):  # type: ignore[attr-defined]
            if stored.topic.endswith(suffix):
                decoded = self.mapper.to_domain_event(stored)
                if all(getattr(decoded, k, None) == v for k, v in match.items()):
                    found = decoded, int(position)
                    if not latest:
                        return found
        return found

    def account_of(self, subject: str) -> Account | None:
        """The account of the learner with this pseudonym, if it was ever transferred."""
        return self.get(account_uuid(subject), Account)

    def standing(self, learner_id: str) -> Standing:
        """The learner with this teacher number as the event store records it now: the
        facts a write decides on (see ``ledger.standing``), in two round trips."""
        subject = self.subject_of(learner_id)
        learner_id_ = learner_uuid(subject)
        owned_ids = self.recorder.select_owned([learner_key(subject)])  # type: ignore[attr-defined]
        rows = self.recorder.select_with_positions([learner_id_, account_uuid(subject), *owned_ids])  # type: ignore[attr-defined]
        aggregates: dict[UUID, Aggregate] = {}
        first: dict[UUID, int] = {}
        learner_events: list[tuple[object, int]] = []
        account_events: list[tuple[object, int]] = []
        for stored, position in rows:
            domain_event = self.mapper.to_domain_event(stored)
            aggregate_id = stored.originator_id
            aggregates[aggregate_id] = domain_event.mutate(aggregates.get(aggregate_id))  # type: ignore[attr-defined]
            first.setdefault(aggregate_id, position)
            if aggregate_id == learner_id_:
                learner_events.append((domain_event, position))
            elif aggregate_id == account_uuid(subject):
                account_events.append((domain_event, position))
        learner = aggregates.get(learner_id_)
        if not isinstance(learner, Learner):
            raise LearnerNotFound(f"no learner {learner_id} is registered", field="learner_id")
        learner.check_not_erased()
        account = aggregates.get(account_uuid(subject))
        if isinstance(account, Account):
            account.check_open()
        owned = {i: (aggregates[i], first[i]) for i in owned_ids if i in aggregates}
        return standing_of(
            learner_id,
            learner,
            learner_events,
            account if isinstance(account, Account) else None,
            owned,
            account_events,
        )

    def policies_for(self, jurisdictions: Iterable[str], on: date) -> list[PolicyVersion]:
        """Every published version of these jurisdictions' policies that may be in force on
        ``on`` (``ledger.eligibility`` picks the one in force of each), fresh from the store."""
        ids = self.recorder.select_owned([jurisdiction_key(j) for j in jurisdictions])  # type: ignore[attr-defined]
        policies = [p for p in self.get_many(ids).values() if isinstance(p, Policy)]
        return [v for p in sorted(policies, key=lambda p: p.policy_id) for v in p.versions if v.effective_from <= on]

    def calendar(self, jurisdiction: str, on: date) -> Calendar:
        """The school calendar in force in ``jurisdiction`` on ``on`` (school years, terms, the
        plan deadline), fresh from the store: ``ledger.eligibility.calendar_of``."""
        return calendar_of(self.policies_for(parent_chain(jurisdiction), on), jurisdiction, on)

    def learner(self, learner_id: str, *, fresh: bool = False) -> Learner:
        """The learner with this national teacher number (not erased)."""
        learner = self.get(learner_uuid(self.subject_of(learner_id)), Learner, fresh=fresh)
        if learner is None:
            raise LearnerNotFound(f"no learner {learner_id} is registered", field="learner_id")
        learner.check_not_erased()
        return learner

    # -- pseudonyms and personal data --------------------------------------------

    def subjects_of(self, learner_ids: Iterable[str]) -> dict[str, str]:
        """The pseudonyms of those of these teacher numbers the vault knows. A pair,
        once seen, is kept until an erasure (``forget_learner``), so a batch for known
        learners costs no query."""
        wanted = set(learner_ids)
        found = self._subjects.known(wanted)
        missing = wanted - found.keys()
        if missing:
            fetched = self.recorder.vault_subjects(missing)  # type: ignore[attr-defined]
            self._subjects.keep(fetched)
            found.update(fetched)
        return found

    @property
    def remembered(self) -> tuple[int, int]:
        """How many learner ids and teacher number -> pseudonym pairs this writer remembers."""
        return len(self._known_learners), len(self._subjects)

    def enrol(self, learner_id: str) -> tuple[str, bytes]:
        """The pseudonym and key of this teacher number, made in the vault if it has none."""
        enrolment = self.recorder.vault_enrol([learner_id])[learner_id]  # type: ignore[attr-defined]
        return enrolment.subject, enrolment.key

    def subject_of(self, learner_id: str) -> str:
        subject = self.subjects_of([learner_id]).get(learner_id)
        if subject is None:
            raise LearnerNotFound(f"no learner {learner_id} is registered", field="learner_id")
        return subject

    def forget_learner(self, learner_id: str) -> None:
        """Drop what this process remembers of a teacher number (another process erased it)."""
        subject = self._subjects.pop(learner_id)
        if subject is not None:
            self._evict([learner_uuid(subject)])

    def forget_subject(self, subject: str) -> None:
        """Drop what this process remembers of the learner ``subject`` (another process erased
        them; the notice names the pseudonym, never the teacher number)."""
        for number in self._subjects.keys_with(subject):
            self._subjects.pop(number)
        self._evict([learner_uuid(subject)])

    def forget_all_learners(self) -> None:
        """Drop every teacher number and cached aggregate (erasures may have been missed)."""
        self._subjects.clear()
        cache = self.repository.cache
        if cache is not None:
            # LRUCache.clear() leaves its index behind; a new cache is the only clean one.
            self.repository.cache = type(cache)(cache.maxsize) if isinstance(cache, LRUCache) else Cache()

    def open_personal(self, subject: str, sealed: str) -> dict[str, Any]:
        """A sealed value of the learner ``subject``, opened with the key in the vault."""
        key = self.recorder.vault_keys([subject]).get(subject)  # type: ignore[attr-defined]
        if key is None:
            raise PersonalDataUnreadable("this learner's personal data was erased", field="learner_id")
        return unseal(key, subject, sealed)

    def seal_personal(self, subject: str, data: dict[str, Any]) -> str:
        key = self.recorder.vault_keys([subject]).get(subject)  # type: ignore[attr-defined]
        if key is None:
            raise LearnerErased("this learner's personal data was erased", field="learner_id")
        return seal(key, subject, data)

    def provider(self, provider_id: str) -> Provider:
        provider = self.get(provider_uuid(provider_id), Provider, fresh=True)
        if provider is None:
            raise ProviderNotFound(f"no provider {provider_id} is registered", field="provider_id")
        return provider

    # -- saving ------------------------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's ``save``; new completions, certificates and policies enter the owner
        index in the same transaction, whoever saves them (see ``ledger.store``)."""
        kwargs.setdefault("owners", _owners(o for o in objs if isinstance(o, Aggregate)))
        return super().save(*objs, **kwargs)

    def record(self, *aggregates: Aggregate, **saved: Any) -> int | None:
        """Save these aggregates' pending events in one transaction (with what ``saved``
        gives the event store for the same transaction) and answer the position of the last.
        On any failure forget what this process cached of these aggregates, because their
        in-memory state may now be ahead of the store."""
        try:
            recordings = self.save(*aggregates, **saved)
        except BaseException:
            self._evict(a.id for a in aggregates)
            raise
        return recordings[-1].notification.id if recordings else None

    def _registered_learners(self, ids: set[UUID]) -> set[UUID]:
        """Which of these learners are registered. A learner, once registered, stays
        registered, so a positive answer is kept for good (in a bounded set of ids) and
        only unknown ids cost one ids-only query: no learner is rebuilt to post for it."""
        registered = set(self._known_learners.known(ids))
        unknown = ids - registered
        if unknown:
            # The answer is what was known plus what was found (``ledger.memory``).
            found = self.recorder.select_existing(unknown)  # type: ignore[attr-defined]
            registered |= found
            self._known_learners.keep(dict.fromkeys(registered))
        return registered

    def _save_new_completions(self, completions: list[Completion]) -> list[Recording[UUID]]:
        """``save`` for freshly made completions, without the library's per-object
        protocol checks (``isinstance`` against runtime protocols costs more per event
        than encoding it). New completions are not cached: they are rarely read back, and
        caching them would push learners and providers out of the cache."""
        events = [event for completion in completions for event in completion.collect_events()]
        return self.events.put(events, owners=[(learner_key(c.facts.learner_id), c.id) for c in completions])

    def _evict(self, ids: Iterable[UUID]) -> None:
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate_id in ids:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def unit_of_work(self, command: Callable[[], T]) -> T:
        """Run ``command`` (which loads fresh, checks, then records), again from the start
        when another writer recorded first: every command of the ledger runs this way."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return command()
            except IntegrityError:
                # Another writer recorded first; what we cached is stale (evicted in
                # record), so run the checks again against the store. The pause grows
                # and is jittered so two writers that keep colliding fall out of step.
                time.sleep(random.uniform(0, min(0.005 * 2**attempt, MAX_RETRY_PAUSE)))  # noqa: S311 - not crypto
        raise ConcurrentWriteConflict(
            f"another writer changed the same records {MAX_ATTEMPTS} times in a row; retry shortly"
        )

    # -- learners ----------------------------------------------------------------

    def register_learner(self, registration: LearnerRegistration) -> Written:
        registration.check()

        def command() -> Written:
            enrolment = self.recorder.vault_enrol([registration.learner_id])[registration.learner_id]  # type: ignore[attr-defined]
            subject = enrolment.subject
            existing = self.get(learner_uuid(subject), Learner, fresh=True)
            if existing is not None:
                self._check_same_registration(registration, existing, enrolment.key)
                positions = self.creation_positions([existing.id])
                return Written(positions.get(existing.id), "duplicate")
            refused = self.check_schools_known([registration])
            if refused:
                raise refused[0]
            learner = self.new_learner(registration, subject, enrolment.key)
            position = self.record(learner)
            self._subjects.keep({registration.learner_id: subject})
            return Written(position, "recorded")

        return self.unit_of_work(command)

    @staticmethod
    def new_learner(registration: LearnerRegistration, subject: str, key: bytes) -> Learner:
        personal = seal(key, subject, {"learner_id": registration.learner_id, "name": registration.name})
        return Learner(
            learner_id=subject,
            personal=personal,
            jurisdiction=registration.jurisdiction,
            school=registration.school,
            hired_on=registration.hired_on,
            roles=[{"role": r, "since": s, "until": None} for r, s in registration.roles],
        )

    def register_learners(
        self, registrations: Sequence[LearnerRegistration], *, scope: str | None = None
    ) -> list[RegistrationOutcome]:
        """Register a roster, atomic per item: each learner is recorded, answered as a
        duplicate (the same details again), or rejected alone (bad grammar, outside
        ``scope``, registered with other details, erased, repeated in the roster). One
        vault round trip, one read of those already registered and one insert per call."""
        return self._registered_roster(registrations, scope, save=True)

    def judge_learners(
        self, registrations: Sequence[LearnerRegistration], *, scope: str | None = None
    ) -> list[RegistrationOutcome]:
        """A dry run of ``register_learners``: the same checks on the same state loaded from
        the store, one outcome per item, and nothing saved, not even a vault entry. A learner
        that would be recorded answers ``recorded`` with no position; a duplicate answers the
        original position."""
        return self._registered_roster(registrations, scope, save=False)

    def _registered_roster(
        self, registrations: Sequence[LearnerRegistration], scope: str | None, *, save: bool
    ) -> list[RegistrationOutcome]:
        outcomes: dict[int, RegistrationOutcome] = {}
        candidates: dict[str, int] = {}
        for index, registration in enumerate(registrations):
            try:
                registration.check()
                check_scope(scope, registration.jurisdiction)
            except DomainError as error:
                outcomes[index] = RegistrationOutcome(registration.learner_id, "rejected", error=error)
                continue
            if candidates.setdefault(registration.learner_id, index) != index:
                outcomes[index] = RegistrationOutcome(
                    registration.learner_id,
                    "rejected",
                    error=RepeatedInRoster(
                        f"repeats the learner at index {candidates[registration.learner_id]} of this roster",
                        field="learner_id",
                    ),
                )

        def command() -> dict[int, RegistrationOutcome]:
            # A dry run reads the vault and never enrols: a new number leaves nothing behind.
            enrol = self.recorder.vault_enrol if save else self._enrolled  # type: ignore[attr-defined]
            enrolments = enrol(list(candidates))
            return self._roster_outcomes(registrations, candidates, enrolments, save=save)

        if candidates:
            outcomes.update(self.unit_of_work(command))
        return [outcomes[i] for i in range(len(registrations))]

    def _enrolled(self, learner_ids: Iterable[str]) -> dict[str, Enrolment]:
        """The vault entries of those of these teacher numbers that have one, read only: a
        number without one names no registered learner (``vault_enrol`` would make it)."""
        subjects = self.subjects_of(learner_ids)
        keys = self.recorder.vault_keys(subjects.values())  # type: ignore[attr-defined]
        return {n: Enrolment(s, keys[s]) for n, s in subjects.items() if s in keys}

    def _roster_outcomes(
        self,
        registrations: Sequence[LearnerRegistration],
        candidates: Mapping[str, int],
        enrolments: Mapping[str, Enrolment],
        *,
        save: bool,
    ) -> dict[int, RegistrationOutcome]:
        """By index, the outcome of each candidate (a teacher number's first item): judged
        on the learners loaded fresh, and recorded when ``save``."""
        decided: dict[int, RegistrationOutcome] = {}
        ids = {n: learner_uuid(e.subject) for n, e in enrolments.items()}
        existing = self.get_many(ids.values())
        fresh: list[int] = []
        duplicates: list[tuple[int, UUID]] = []
        for number, index in candidates.items():
            found = existing.get(ids[number]) if number in ids else None
            if not isinstance(found, Learner):
                fresh.append(index)
                continue
            try:
                self._check_same_registration(registrations[index], found, enrolments[number].key)
            except DomainError as error:
                decided[index] = RegistrationOutcome(number, "rejected", error=error)
                continue
            duplicates.append((index, found.id))
        unknown = self.check_schools_known([registrations[i] for i in fresh])
        for n, refusal in unknown.items():
            index = fresh[n]
            decided[index] = RegistrationOutcome(registrations[index].learner_id, "rejected", error=refusal)
        fresh = [index for n, index in enumerate(fresh) if n not in unknown]
        first = self.creation_positions([i for _, i in duplicates]) if duplicates else {}
        for index, learner_id_ in duplicates:
            number = registrations[index].learner_id
            decided[index] = RegistrationOutcome(number, "duplicate", first.get(learner_id_))
        if not save:
            for index in fresh:
                decided[index] = RegistrationOutcome(registrations[index].learner_id, "recorded")
            return decided
        learners = []
        for index in fresh:
            enrolment = enrolments[registrations[index].learner_id]
            learners.append(self.new_learner(registrations[index], enrolment.subject, enrolment.key))
        if learners:
            recordings = self.save(*learners)
            for index, recording in zip(fresh, recordings, strict=True):
                number = registrations[index].learner_id
                decided[index] = RegistrationOutcome(number, "recorded", recording.notification.id)
            numbers = [registrations[index].learner_id for index in fresh]
            self._subjects.keep({number: enrolments[number].subject for number in numbers})
        return decided

    def check_schools_known(self, registrations: Sequence[LearnerRegistration]) -> dict[int, DomainError]:
        """By index, the refusals of those of these new registrations that
        name a school missing from their jurisdiction's roll (``ledger.school``): once a
        school is registered in a jurisdiction, new learners there name registered schools;
        before that, and for learners registered before, any code stands (the migration)."""
        named = {r.jurisdiction for r in registrations if r.school is not None}
        rolls = {
            r.jurisdiction: r
            for r in self.get_many({school_roll_uuid(j) for j in named}).values()
            if isinstance(r, SchoolRoll)
        }
        refused: dict[int, DomainError] = {}
        for index, registration in enumerate(registrations):
            roll = rolls.get(registration.jurisdiction)
            if roll is None:
                continue
            try:
                roll.check_known(registration.school, "school")
            except DomainError as error:
                refused[index] = error
        return refused

    @staticmethod
    def _check_same_registration(registration: LearnerRegistration, existing: Learner, key: bytes) -> None:
        """Refuse unless ``registration`` states the learner as registered (and corrected)."""
        existing.check_not_erased()
        name = unseal(key, existing.learner_id, existing.personal)["name"]
        wanted = (registration.name, registration.jurisdiction, registration.school, registration.hired_on)
        if existing.registration(name) != wanted:
            raise LearnerAlreadyRegistered(
                f"{registration.learner_id} is registered with other details; "
                "correct them with PATCH /v1/learners/{id}, change roles with the roles endpoint",
                field="learner_id",
            )

    def register_new_learners(self, registrations: Sequence[LearnerRegistration]) -> int | None:
        """Register many learners in one transaction (seeding a bank: the demo, the
        benchmark). Any of them registered already makes the whole call fail with
        ``LearnerAlreadyRegistered``; use ``register_learner`` to re-post one."""
        for registration in registrations:
            registration.check()
        enrolments = self.recorder.vault_enrol([r.learner_id for r in registrations])  # type: ignore[attr-defined]
        learners = [
            self.new_learner(r, enrolments[r.learner_id].subject, enrolments[r.learner_id].key) for r in registrations
        ]
        try:
            position = self.record(*learners)
        except IntegrityError as error:
            raise LearnerAlreadyRegistered("one of these learners is registered already", field="learner_id") from error
        self._subjects.keep({r.learner_id: enrolments[r.learner_id].subject for r in registrations})
        return position

    def erase_learner(self, learner_id: str, reason: str) -> Written:
        """Erase a learner's personal data (PIPL art. 47): record ``Learner.Erased``, then
        destroy the vault entry. Afterwards the teacher number leads nowhere, so asking
        again answers ``LearnerNotFound``; hours and verdicts stay, under the pseudonym."""

        def command() -> Written:
            subject = self.subject_of(learner_id)
            learner = self.get(learner_uuid(subject), Learner, fresh=True)
            if learner is None:
                raise LearnerNotFound(f"no learner {learner_id} is registered", field="learner_id")
            position = None
            # The reason may name the person ("request by 欧阳某 220106…"): it enters the log
            # sealed under the key destroyed just after, so nobody reads it once erased.
            check_text(reason, "reason", max_length=REASON_LENGTH)
            if learner.erase(self._today(), self.seal_personal(subject, {"reason": reason})):
                position = self.record(learner)
            self.recorder.vault_destroy(subject)  # type: ignore[attr-defined]
            self.forget_learner(learner_id)
            return Written(position, "recorded" if position is not None else "unchanged")

        return self.unit_of_work(command)

    def correct_learner(self, learner_id: str, correction: LearnerCorrection, *, scope: str | None = None) -> Written:
        """Correct a learner's name, school or hire date (``Learner.Corrected``); the same
        values again answer "unchanged" and record nothing. A new school is one on the roll
        of the learner's current jurisdiction, as for a new registration (``UnknownSchool``;
        none named, or a jurisdiction with no school registered yet, stands)."""
        correction.check()

        def command() -> Written:
            learner = self.learner_in_scope(learner_id, scope)
            if "school" in correction.fields and correction.fields["school"] != learner.school:
                jurisdiction = current_jurisdiction(learner, self.account_of(learner.learner_id))
                roll = self.get(school_roll_uuid(jurisdiction), SchoolRoll, fresh=True)
                if roll is not None:
                    roll.check_known(correction.fields["school"], "school")
            subject = learner.learner_id
            key = self.recorder.vault_keys([subject]).get(subject)  # type: ignore[attr-defined]
            if key is None:
                raise LearnerErased("this learner's personal data was erased", field="learner_id")
            given = correction.fields
            changes = {f: given[f] for f in ("school", "hired_on") if f in given and given[f] != getattr(learner, f)}
            personal = None
            if "name" in given and given["name"] != unseal(key, subject, learner.personal)["name"]:
                personal = seal(key, subject, {"learner_id": learner_id, "name": given["name"]})
            if not changes and personal is None:
                return Written(None, "unchanged")
            reason = seal(key, subject, {"reason": correction.reason})
            learner.correct(personal=personal, changes=changes, reason=reason)
            return Written(self.record(learner), "recorded")

        return self.unit_of_work(command)

    def learner_in_scope(self, learner_id: str, scope: str | None) -> Learner:
        """The learner (fresh), if ``scope`` (an HR caller's jurisdiction; None: any) covers
        the learner's current jurisdiction: the open account's once transferred."""
        learner = self.learner(learner_id, fresh=True)
        account = self.account_of(learner.learner_id)
        if account is not None:
            account.check_open()
        if scope is not None:
            check_scope(scope, current_jurisdiction(learner, account))
        return learner

    def start_role(
        self,
        learner_id: str,
        role: str,
        since: date,
        *,
        scope: str | None = None,
        override_reason: str | None = None,
        recorded_by: Mapping[str, Any] | None = None,
    ) -> Written:
        """Start a role spell. An appointment to principal or head teacher is judged on
        ``since`` (``ledger.appointments``) on the standing and policies loaded here;
        ``override_reason`` (an admin's: ``recorded_by`` role admin, or no caller) lets a
        refused one through, recorded with the verdict."""
        if override_reason is not None:
            check_text(override_reason, "override.reason", max_length=REASON_LENGTH)

        may_override = recorded_by is None or recorded_by.get("role") == "admin"

        def command() -> Written:
            if not appointments.judged(role):
                appointments.check_override(override=override_reason is not None, may_override=may_override)
                learner = self.learner_in_scope(learner_id, scope)
                learner.start_role(role, since, recorded_by=dict(recorded_by) if recorded_by else None)
                return Written(self.record(learner), "recorded")
            standing, policies = self._appointment_case(learner_id, role, since, scope)
            learner = standing.learner
            appointment = appointments.check_appointment(
                role,
                since,
                standing.facts,
                policies,
                override=override_reason is not None,
                may_override=may_override,
            )
            personal = None
            if appointment["overridden"]:
                personal = self.seal_personal(learner.learner_id, {"override_reason": override_reason})
            learner.start_role(
                role,
                since,
                appointment=appointment,
                personal=personal,
                recorded_by=dict(recorded_by) if recorded_by else None,
            )
            return Written(self.record(learner), "recorded", detail={"appointment": appointment})

        return self.unit_of_work(command)

    def _appointment_case(
        self, learner_id: str, role: str, since: date, scope: str | None
    ) -> tuple[Standing, list[PolicyVersion]]:
        """What an appointment to ``role`` from ``since`` is judged on, loaded fresh, once the
        spell itself may start (in scope, not held, no overlap)."""
        standing = self.standing(learner_id)
        standing.check_scope(scope)
        standing.learner.check_start(role, since)
        return standing, self.policies_for(parent_chain(standing.jurisdiction), since)

    def judge_appointment(
        self, learner_id: str, role: str, since: date, *, scope: str | None = None
    ) -> AppointmentJudged:
        """A dry run of ``start_role``: the same checks on the same state loaded the same way,
        and nothing saved. A role that is not judged answers no verdict; what would refuse
        the spell itself (out of scope, held already, overlapping, erased) is raised as the
        write raises it."""
        position = self.recorder.max_notification_id()
        if not appointments.judged(role):
            self.learner_in_scope(learner_id, scope).check_start(role, since)
            return AppointmentJudged(None, position)
        standing, policies = self._appointment_case(learner_id, role, since, scope)
        return AppointmentJudged(appointments.verdict_for(role, since, standing.facts, policies), position)

    def end_role(self, learner_id: str, role: str, until: date, *, scope: str | None = None) -> Written:
        def command() -> Written:
            learner = self.learner_in_scope(learner_id, scope)
            learner.end_role(role, until)
            return Written(self.record(learner), "recorded")

        return self.unit_of_work(command)

    # -- providers ---------------------------------------------------------------

    def accredit_provider(self, accreditation: Accreditation) -> Written:
        """Register an institution, or re-accredit it if it is registered already; it may be
        accredited for the categories its jurisdiction's vocabulary documents add."""

        def command() -> Written:
            vocabularies = self.vocabularies_for([accreditation.jurisdiction])
            accreditation.check(added=vocabularies.codes_in_force("category", accreditation.jurisdiction, None))
            provider = self.get(provider_uuid(accreditation.provider_id), Provider, fresh=True)
            if provider is None:
                provider = Provider(provider_id=accreditation.provider_id, **accreditation.event_fields())
            elif provider.accreditation().same_as(accreditation):
                return Written(None, "unchanged")
            else:
                provider.reaccredit(accreditation)
            return Written(self.record(provider), "recorded")

        return self.unit_of_work(command)

    def suspend_provider(self, provider_id: str, reason: str) -> Written:
        def command() -> Written:
            provider = self.provider(provider_id)
            provider.suspend(reason)
            return Written(self.record(provider), "recorded")

        return self.unit_of_work(command)

    def reinstate_provider(self, provider_id: str) -> Written:
        def command() -> Written:
            provider = self.provider(provider_id)
            provider.reinstate()
            return Written(self.record(provider), "recorded")

        return self.unit_of_work(command)

    # -- completions -------------------------------------------------------------

    def record_completions(self, batch: Sequence[CompletionFacts]) -> list[CompletionOutcome]:
        """Record a batch of completions (from one request or from several grouped
        together); one outcome per item, in order."""
        return self.unit_of_work(lambda: self._record_completions_once(batch))

    def judge_completions(self, batch: Sequence[CompletionFacts]) -> list[CompletionOutcome]:
        """A dry run of ``record_completions``: the same checks on the same state loaded from
        the store, one outcome per item, and nothing saved. An item that would be recorded
        answers ``recorded`` with no position; a duplicate answers the original position."""
        return self._record_completions_once(batch, save=False)

    def _record_completions_once(
        self, batch: Sequence[CompletionFacts], *, save: bool = True
    ) -> list[CompletionOutcome]:
        today = self._today()
        providers = self.get_many({provider_uuid(f.provider_id) for f in batch}, fresh=True)
        subjects = self.subjects_of({f.learner_id for f in batch})
        learners = self._registered_learners({learner_uuid(s) for s in subjects.values()})
        existing = self.get_many({f.completion_id for f in batch}, fresh=True)
        # Accounts closed by a transfer to another jurisdiction; few learners have one, read fresh.
        accounts = self.get_many({account_uuid(s) for s in subjects.values()}, fresh=True)

        # Codes a jurisdiction added are rare: their documents, and the learners they are posted
        # for, are loaded once per batch and only when it names such a code, so the common
        # batch costs one scan of its categories more.
        vocabularies, named = None, {}
        added = [f for f in batch if f.category not in CATEGORIES]
        if added:
            vocabularies = self.vocabularies_for(
                [p.jurisdiction for p in providers.values() if isinstance(p, Provider)]
            )
            named = self.get_many({learner_uuid(subjects[f.learner_id]) for f in added if f.learner_id in subjects})

        outcomes: list[CompletionOutcome | None] = [None] * len(batch)
        new: dict[UUID, tuple[Completion, list[int]]] = {}
        duplicates: dict[int, UUID] = {}
        for index, posted in enumerate(batch):
            facts = posted
            try:
                subject = subjects.get(posted.learner_id)
                if subject is not None:
                    # From here on the learner is the pseudonym, as recorded.
                    facts = fast_completion.with_learner(posted, subject)
                completion_id = posted.completion_id
                recorded = existing.get(completion_id)
                if recorded is None and completion_id in new:
                    recorded = new[completion_id][0]
                # A record id already taken answers first (duplicate or conflict), whoever
                # the learner posted is: an unknown teacher number is never the one recorded.
                if isinstance(recorded, Completion):
                    if subject is None or recorded.facts != facts:
                        raise CompletionConflict(
                            f"record {facts.record_id} of {facts.provider_id} was recorded "
                            "with other facts; a correction is a revocation and a new record",
                            field="record_id",
                        )
                    duplicates[index] = completion_id
                    if completion_id in new:
                        new[completion_id][1].append(index)
                    continue
                provider = providers.get(provider_uuid(facts.provider_id))
                if not isinstance(provider, Provider):
                    raise ProviderNotFound(f"no provider {facts.provider_id} is registered")
                if subject is None or learner_uuid(subject) not in learners:
                    raise LearnerNotFound(f"no learner {posted.learner_id} is registered", field="learner_id")
                facts.check(today)
                if vocabularies is not None and facts.category not in CATEGORIES:
                    self._check_added_category(facts, provider, named, accounts, vocabularies)
                provider.check_may_post(facts.category, facts.level, facts.completed_on)
                account = accounts.get(account_uuid(facts.learner_id))
                if isinstance(account, Account):
                    account.check_may_post(provider.jurisdiction)
                new[completion_id] = (fast_completion.record(facts), [index])
            except DomainError as error:
                outcomes[index] = CompletionOutcome(facts.record_id, "rejected", error=error)

        positions: dict[UUID, int] = {}
        if new and not save:
            for completion_id, (_, indexes) in new.items():
                first = indexes[0]
                outcomes[first] = CompletionOutcome(
                    batch[first].record_id, "recorded", None, completion_id=completion_id
                )
        elif new:
            recordings = self._save_new_completions([completion for completion, _ in new.values()])
            for recording in recordings:
                positions[recording.domain_event.originator_id] = recording.notification.id
            for completion_id, (_, indexes) in new.items():
                first = indexes[0]
                outcomes[first] = CompletionOutcome(
                    batch[first].record_id, "recorded", positions[completion_id], completion_id=completion_id
                )
        earlier = {cid for cid in duplicates.values() if cid not in positions}
        if earlier:
            positions.update(self.creation_positions(earlier))
        for index, completion_id in duplicates.items():
            outcomes[index] = CompletionOutcome(
                batch[index].record_id, "duplicate", positions.get(completion_id), completion_id=completion_id
            )
        return [outcome for outcome in outcomes if outcome is not None]

    @staticmethod
    def _check_added_category(
        facts: CompletionFacts,
        provider: Provider,
        learners: Mapping[UUID, Aggregate],
        accounts: Mapping[UUID, Aggregate],
        vocabularies: Vocabularies,
    ) -> None:
        """A category a jurisdiction added counts only where both the provider and the
        learner (where its account is open now) lie at or under that jurisdiction."""
        account = accounts.get(account_uuid(facts.learner_id))
        learner = learners.get(learner_uuid(facts.learner_id))
        assert isinstance(learner, Learner)  # registered: checked before
        learner_at = current_jurisdiction(learner, account if isinstance(account, Account) else None)
        vocabularies.check_in_force(
            "category", facts.category, [provider.jurisdiction, learner_at], facts.completed_on, "programme.category"
        )

    # -- vocabularies ------------------------------------------------------------

    def vocabularies_for(self, jurisdictions: Iterable[str]) -> Vocabularies:
        """The vocabulary documents of these jurisdictions and of every one above them,
        fresh from the store."""
        chain = {j for code in jurisdictions for j in parent_chain(code) if j != NATIONAL}
        found = self.get_many({vocabulary_uuid(j) for j in chain}, fresh=True).values()
        return Vocabularies({d.jurisdiction: d for d in found if isinstance(d, VocabularyDocument)})

    def revoke_completion(self, provider_id: str, record_id: str, reason: str, *, by_provider: str | None) -> Written:
        """Revoke a completion; ``by_provider`` is the revoking institution, ``None`` for
        an admin. Revoking a revoked completion records nothing and says so."""

        def command() -> Written:
            completion = self.get(completion_uuid(provider_id, record_id), Completion, fresh=True)
            if completion is None:
                raise CompletionNotFound(f"{provider_id} has recorded no completion {record_id}", field="record_id")
            if completion.revoked:
                if by_provider is not None and by_provider != completion.facts.provider_id:
                    completion.revoke(reason, by_provider)  # raises: not theirs to revoke
                rows = self.recorder.select_with_positions([completion.id])  # type: ignore[attr-defined]
                revoked_at = [p for s, p in rows if s.topic.endswith(".Revoked")]
                return Written(revoked_at[0] if revoked_at else None, "unchanged")
            completion.revoke(reason, by_provider)
            position = self.record(completion)
            # ``save`` caches what it saved; completions are only ever read fresh, so the
            # copy would sit in the cache, pushing learners and providers out of it.
            self._evict([completion.id])
            return Written(position, "recorded")

        return self.unit_of_work(command)

    # -- policies ----------------------------------------------------------------

    def policy(self, policy_id: str) -> Policy:
        policy = self.get(policy_uuid(policy_id), Policy, fresh=True)
        if policy is None:
            raise PolicyNotFound(f"no policy {policy_id} is published", field="policy_id")
        return policy

    def _checked_policy(self, data: Mapping[str, Any]) -> tuple[Policy | None, PolicyVersion, PolicyVersion | None]:
        """(the policy if published before, the draft as it would be published, the
        published version it repeats if any)."""
        draft = parse_policy(data)
        policy = self.get(policy_uuid(draft.policy_id), Policy, fresh=True)
        if policy is not None:
            same = policy.find_same(draft)
            if same is not None:
                return policy, same, same
        named = {r.replaces.policy_id for r in draft.rules if r.replaces is not None}
        higher = {
            p.policy_id: p.versions
            for p in self.get_many({policy_uuid(n) for n in named}, fresh=True).values()
            if isinstance(p, Policy)
        }
        check_replacements(draft, higher)
        # A rule may count a category the jurisdiction's vocabulary (or one above) adds.
        vocabularies = self.vocabularies_for([draft.jurisdiction])
        for code, at in categories_named(rule.as_data() for rule in draft.rules):
            vocabularies.check_in_force("category", code, [draft.jurisdiction], draft.effective_from, at)
        if policy is None and draft.version not in (None, 1):
            raise PolicyInvalid(f"{draft.policy_id} is not published yet; its first version is 1", field="version")
        checked = policy.check(draft) if policy is not None else replace(draft, version=1)
        return policy, checked, None

    def check_policy(self, data: Mapping[str, Any]) -> PolicyVersion:
        """Validate a draft version exactly as publishing would, recording nothing."""
        return self._checked_policy(data)[1]

    def publish_policy(self, data: Mapping[str, Any]) -> Written:
        """Publish a policy version; the same content again is a duplicate, not a new version."""

        def command() -> Written:
            policy, checked, same = self._checked_policy(data)
            if same is not None:
                assert policy is not None
                rows = self.recorder.select_with_positions([policy.id])  # type: ignore[attr-defined]
                published = [p for s, p in rows if s.topic.endswith(".Published")]
                return Written(published[same.version - 1] if same.version else None, "duplicate")
            if policy is None:
                policy = Policy(policy_id=checked.policy_id, jurisdiction=checked.jurisdiction)
            policy.publish(checked)
            return Written(self.record(policy), "recorded")

        return self.unit_of_work(command)

    def publish_shipped_policies(self, *, include_districts: bool = False) -> list[Written]:
        """Publish the seed policies shipped with the bank: national, provincial and city
        ones, and the districts' too when asked (the demo); again, it records nothing.

        A shipped document whose version number the store already holds with other content
        (the file was edited in place after an older bank published it) is not published:
        the stored version stays in force, since verdicts were given under it, and its
        answer is ``unchanged`` with ``detail`` naming the policy, the version and what
        differs, for the caller to report. The other documents still publish."""
        written = []
        for data in shipped_policies():
            if not (include_districts or data["jurisdiction"] == "CN" or data["jurisdiction"][4:] == "00"):
                continue
            try:
                written.append(self.publish_policy(data))
            except PolicyVersionConflict:
                written.append(Written(None, "unchanged", self._shipped_difference(data)))
        return written

    def _shipped_difference(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """What a shipped document changes in the stored version of the same number."""
        shipped = parse_policy(data)
        policy = self.get(policy_uuid(shipped.policy_id), Policy, fresh=True)
        assert policy is not None and shipped.version is not None  # a conflict names a stored version
        stored = policy.versions[shipped.version - 1].content()
        new = shipped.content()
        stored_rules = {r["id"]: r for r in stored.pop("rules")}
        new_rules = {r["id"]: r for r in new.pop("rules")}
        return {
            "policy_id": shipped.policy_id,
            "version": shipped.version,
            "fields": sorted(k for k in new if new[k] != stored[k]),
            "rules": sorted(
                r for r in stored_rules.keys() | new_rules.keys() if stored_rules.get(r) != new_rules.get(r)
            ),
        }


def _owners(aggregates: Iterable[Aggregate]) -> list[tuple[str, UUID]]:
    """The owner-index entries of those of these aggregates that are new (see ``ledger.store``)."""
    found = []
    for a in aggregates:
        if a.version != len(a.pending_events):
            continue  # recorded before: indexed with its first event
        if isinstance(a, (Completion, Certificate)):
            found.append((learner_key(a.learner_id if isinstance(a, Certificate) else a.facts.learner_id), a.id))
        elif isinstance(a, Policy):
            found.append((jurisdiction_key(a.jurisdiction), a.id))
    return found


def event_type_name(topic: str) -> str:
    """``ledger.completion:Completion.Recorded`` -> ``CompletionRecorded``."""
    return topic.rsplit(":", 1)[-1].replace(".", "")
