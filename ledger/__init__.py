"""The write side of Creditbank: aggregates, events, domain errors and the application.

Nothing in this package knows HTTP or the read side's SQL.

Naming: ``learner_id`` means two things, for history's sake (it is an event field and an
API field, so it keeps its name). At the edge (commands of ``ledger.application``, the
HTTP API) it is the national teacher number an institution or an HR office knows; inside
the ledger (events, aggregates, ``CompletionFacts`` once recorded, owner keys) it is the
learner's pseudonym, the vault's ``subject`` (``ledger.vault``). The commands turn one into
the other (``CreditBank.subjects_of``); a verdict's ``Facts`` name the teacher number again,
as the caller asked. New code names a teacher number ``number``
and a pseudonym ``subject`` where the two meet.

Rooms: aggregates (``completion``, ``learner``, ``provider``, ``policy``, ``certificate``,
``transfer``, ``degree``, ``vocabulary_document``: their module paths are stored event topics, never moved); their
commands (``application``, ``*_commands``); rules and judgement (``rules``, ``rule_parts``,
``facts``, ``eligibility``, ``standing``, ``service_record``, ``appointments``); values
(``hours``, ``grammar``, ``vocabulary``, ``days``, ``ids``); storage (``store``,
``transcodings``, ``vault``, ``keys``, ``sealing``, ``credential``, ``committer``); fast paths
of batch ingest, each tested equal to the plain code it stands in for (``fast_completion``, ``fast_transcoder``).
"""
