"""Every GET reads from the read pool (``Services.reads``: the hot standbys, else the
primary), so a route added later cannot quietly load the primary.

The few GETs that must stay on the primary say why in ``PRIMARY_ONLY``: they read the
event store, the signed checkpoints or the revocations as they stand, which only the primary's pool serves
(``api.service.replicas``), or report the primary's own state.
"""

from __future__ import annotations

import inspect

from api.service import appointments, audit, certificates, ops
from api.service.routes import ROUTES

PRIMARY_ONLY = {
    # The hash chain is verified over the event store itself.
    audit.get_verification: "reads the event store",
    # Checkpoints are signed over the event store's chain head, beside it on the primary.
    audit.get_checkpoints: "reads the signed checkpoints of the event store",
    # The audit routes stay on the primary (README "Scaling out").
    audit.get_institution_audit: "the audit routes stay on the primary",
    # A revocation must show at once in the list a verifier fetches, not after a lag.
    certificates.get_status_list: "a revocation shows at once",
    # The appointment check is the write's dry run: the ledger judges on the event store.
    appointments.get_appointment_check: "judges on the event store, as the write would",
    # Readiness and metrics report the primary's own state (and the standbys' beside it).
    ops.readyz: "reports whether the primary answers",
    ops.metrics: "reports the primary's positions and pool",
}


def _gets() -> list[tuple[str, object]]:
    return [(route.path, route.handler) for route in ROUTES if route.method == "GET"]


def test_every_get_handler_takes_its_connection_from_the_read_pool() -> None:
    on_primary = [
        path
        for path, handler in _gets()
        if handler not in PRIMARY_ONLY and ".pool.acquire(" in inspect.getsource(handler)  # type: ignore[arg-type]
    ]
    assert on_primary == []


def test_the_primary_only_reads_are_still_gets() -> None:
    handlers = {handler for _, handler in _gets()}
    assert set(PRIMARY_ONLY) <= handlers
