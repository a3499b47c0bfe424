"""Two runs of the suite at different sizes, side by side: does a read or a write cost more
when the log, the roster or a learner's history is larger?

``.venv/bin/python -m bench.sizes bench/results/1m.json bench/results/5m.json`` prints a
Markdown table: each figure at both sizes, the larger run's against the smaller's, and whether
it is within the issue's 15%. The server's CPU per item (its share of the cores over the
throughput) is the figure a busy machine moves least, so it is judged beside the throughput.

Invariants:
- a figure missing from either run is shown as missing, never as a pass;
- "within" compares the cost of the larger run with the smaller's: a slower throughput, a
  longer p99 or more server CPU per item is the direction judged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

#: How much worse the larger run may be (the issue: "5m figures within 15% of 1m").
WITHIN: Final = 0.15

#: (scenario, label, throughput field, unit of one item).
_SCENARIOS: Final = (
    ("roster", "Roster registration", "items_per_s", "learner"),
    ("batch", "Batch ingest", "items_per_s", "completion"),
    ("single", "Single-record ingest", "requests_per_s", "request"),
    ("balance", "Reads: balance", "requests_per_s", "request"),
    ("eligibility", "Reads: eligibility", "requests_per_s", "request"),
)


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _verdict(small: float | None, large: float | None, *, higher_is_better: bool) -> str:
    if not small or large is None:
        return "not measured"
    worse = (small / large - 1) if higher_is_better else (large / small - 1)
    return f"within ({worse:+.0%})" if worse <= WITHIN else f"**not within** ({worse:+.0%})"


def _ratio(small: float | None, large: float | None) -> str:
    return f"{large / small:.2f}×" if small and large is not None else "–"


def _cpu_per_item(s: dict[str, Any], field: str) -> float | None:
    rate, cpu = s.get(field), (s.get("cpu") or {}).get("server")
    return cpu / rate * 1000 if rate and cpu is not None else None


def _get(results: dict[str, Any], path: str) -> Any:
    value: Any = results
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def render(small: dict[str, Any], large: dict[str, Any]) -> str:
    a, b = small.get("size", "?"), large.get("size", "?")
    out = [
        f"| figure | {a} | {b} | {b} / {a} | within {WITHIN:.0%} of {a} |",
        "|---|---|---|---|---|",
    ]

    def row(label: str, x: float | None, y: float | None, unit: str, digits: int, higher: bool) -> None:
        out.append(
            f"| {label} | {_n(x, digits)} {unit} | {_n(y, digits)} {unit} | {_ratio(x, y)} |"
            f" {_verdict(x, y, higher_is_better=higher)} |"
        )

    for key, label, field, item in _SCENARIOS:
        s, t = small.get("scenarios", {}).get(key) or {}, large.get("scenarios", {}).get(key) or {}
        row(label, s.get(field), t.get(field), "/s", 0, True)
        row(f"{label}: p99", s.get("p99_ms"), t.get("p99_ms"), "ms", 1, False)
        row(f"{label}: server CPU per {item}", _cpu_per_item(s, field), _cpu_per_item(t, field), "ms", 3, False)
    figures: tuple[tuple[str, str, str, int, bool], ...] = (
        ("Projection rebuild from zero", "scenarios.rebuild.events_per_s", "events/s", 0, True),
        ("Audit verification (HTTP)", "scenarios.audit.events_per_s", "events/s", 0, True),
        ("Console learner page p99", "scenarios.console.learner_page.p99_ms", "ms", 1, False),
        ("Console cohort dashboard p99", "scenarios.console.dashboard.p99_ms", "ms", 1, False),
        ("Cohort CSV (same district), to the last byte", "scenarios.cohort_export.csv.seconds", "s", 1, False),
        ("Cohort xlsx (same district), to the last byte", "scenarios.cohort_export.xlsx.seconds", "s", 1, False),
        ("Server peak RSS, whole run", "server_peak_rss_mb", "MB", 0, False),
        ("Projection worker peak RSS, whole run", "worker_peak_rss_mb", "MB", 0, False),
    )
    for label, path, unit, digits, higher in figures:
        row(label, _get(small, path), _get(large, path), unit, digits, higher)
    references: tuple[tuple[str, str], ...] = (
        ("Reference: library `save`", "scenarios.ref_library.items_per_s"),
        ("Reference: PostgreSQL COPY", "scenarios.ref_copy.items_per_s"),
    )
    for label, path in references:
        x, y = _get(small, path), _get(large, path)
        out.append(f"| {label} | {_n(x)} /s | {_n(y)} /s | {_ratio(x, y)} | (the machine, not the bank) |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None, *, write: Callable[[str], Any] = sys.stdout.write) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sizes")
    parser.add_argument("small", help="the smaller run's results JSON (1m)")
    parser.add_argument("large", help="the larger run's results JSON (5m)")
    args = parser.parse_args(argv)
    write(render(json.loads(Path(args.small).read_text()), json.loads(Path(args.large).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
