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

from bench.report import key_figures

#: How much worse the larger run may be (the issue: "5m figures within 15% of 1m").
WITHIN: Final = 0.15

#: (scenario, label, unit of one item): its throughput and p99 are ``key_figures``'.
_SCENARIOS: Final = (
    ("roster", "Roster registration", "learner"),
    ("batch", "Batch ingest", "completion"),
    ("single", "Single-record ingest", "request"),
    ("balance", "Reads: balance", "request"),
    ("eligibility", "Reads: eligibility", "request"),
)
#: The other figures judged, by their ``key_figures`` key: (key, label, unit, digits, higher is better).
_FIGURES: Final = (
    ("rebuild", "Projection rebuild from zero", "events/s", 0, True),
    ("audit", "Audit verification (HTTP)", "events/s", 0, True),
    ("console_learner_p99", "Console learner page p99", "ms", 1, False),
    ("console_dashboard_p99", "Console cohort dashboard p99", "ms", 1, False),
    ("cohort_csv", "Cohort CSV (same district), to the last byte", "s", 1, False),
    ("cohort_xlsx", "Cohort xlsx (same district), to the last byte", "s", 1, False),
    ("server_rss", "Server peak RSS, whole run", "MB", 0, False),
    ("worker_rss", "Projection worker peak RSS, whole run", "MB", 0, False),
)
_REFERENCES: Final = (("ref_library", "Reference: library `save`"), ("ref_copy", "Reference: PostgreSQL COPY"))


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _verdict(small: float | None, large: float | None, *, higher_is_better: bool) -> str:
    if not small or large is None:
        return "not measured"
    worse = (small / large - 1) if higher_is_better else (large / small - 1)
    return f"within ({worse:+.0%})" if worse <= WITHIN else f"**not within** ({worse:+.0%})"


def _ratio(small: float | None, large: float | None) -> str:
    return f"{large / small:.2f}×" if small and large is not None else "–"


def _cpu_per_item(results: dict[str, Any], key: str, rate: float | None) -> float | None:
    cpu = ((results.get("scenarios", {}).get(key) or {}).get("cpu") or {}).get("server")
    return cpu / rate * 1000 if rate and cpu is not None else None


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

    a_figures, b_figures = key_figures(small), key_figures(large)
    for key, label, item in _SCENARIOS:
        x, y = a_figures.get(key), b_figures.get(key)
        row(label, x, y, "/s", 0, True)
        row(f"{label}: p99", a_figures.get(f"{key}_p99"), b_figures.get(f"{key}_p99"), "ms", 1, False)
        cpu = (_cpu_per_item(small, key, x), _cpu_per_item(large, key, y))
        row(f"{label}: server CPU per {item}", *cpu, "ms", 3, False)
    for key, label, unit, digits, higher in _FIGURES:
        row(label, a_figures.get(key), b_figures.get(key), unit, digits, higher)
    for key, label in _REFERENCES:
        x, y = a_figures.get(key), b_figures.get(key)
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
