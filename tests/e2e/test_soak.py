"""The soak of issue 7 (``bench.soak``), shortened to about twenty seconds of load so that
every piece of it runs in the normal test run: real ``creditbank serve --workers 2`` and
projection worker processes, every kind of request the soak sends, and its end checks
(nothing lost or doubled, balances equal to the answers, the chain verifies).

No speed thresholds: the test must not depend on the machine. The memory-flatness
verdict is skipped in this short mode (``judge_memory=False``): twenty seconds is all
warm-up (caches, PostgreSQL's shared buffers and the allocator's arenas are still
filling), so the samples are only reported. The full ten-minute soak, which judges
memory, is the last step of ``tests/run.sh``.
"""

from __future__ import annotations

import pytest

from api.database import Database
from bench import procs
from bench.soak import EXPECTED, SoakConfig, run_soak

SECONDS = 20.0


@pytest.mark.slow
def test_a_short_mixed_soak_ends_with_zero_errors_and_nothing_lost(postgres_server: Database) -> None:
    config = SoakConfig(
        minutes=SECONDS / 60,
        learners=200,
        providers=3,
        token_every=4.0,
        audit_every=6.0,
        csv_every=5.0,
        balance_sample=100,
        judge_memory=False,
    )
    result = run_soak(config, database_url=procs.database_url(postgres_server))

    tally = result.results["tally"]
    # Every error counts, the two races this soak once found included: a token used right
    # after its revocation (tests/e2e/test_faults.py asks it of 200 in a row) and /readyz
    # answering 503 while every pooled connection was busy.
    assert result.errors == 0, tally.samples
    assert not [f for f in result.failures if not f.endswith(" errors")], result.failures
    checks = result.results["checks"]
    assert checks and all(ok for *_, ok in checks), checks
    # Every kind of request was sent and answered as expected (the rare kinds too).
    missing = [kind for kind in EXPECTED if tally.requests(kind) == 0]
    assert not missing, missing
    assert result.results["model"].recorded > 0
    # Memory was sampled for every process, though not judged.
    names = {v.name for v in result.results["memory"]}
    assert {"server", "server 2", "worker"} <= names
    assert all(v.flat is None for v in result.results["memory"])
    assert "# Soak (issue 7)" in result.report
    assert result.ok, result.failures
