"""Writes the figures of one ``bench.run`` to Markdown: a table per scenario with the
target from issue 6, met or missed and by how much, and the machine it ran on.

``python -m bench.report RESULTS.json [--out BENCHMARKS.md]`` rewrites the report from
a saved run. Hand-written analysis (where the time goes, what would close each gap)
lives in ``bench/NOTES.md`` and is appended verbatim.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

NOTES = Path(__file__).with_name("NOTES.md")


def machine_table(results: dict[str, Any], code: bool = False) -> list[str]:
    """The "Machine" section's table (without the load-average row), for every report."""
    out = ["## Machine", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in _machine()]
    pg = results.get("postgres", {})
    out.append(f"| PostgreSQL | {pg.get('version', '?')} ({pg.get('kind', '?')}; default settings) |")
    if code:
        out.append(f"| code | {results.get('git')} |")
    out.append(f"| date | {results.get('started')} → {results.get('finished')} (UTC) |")
    return out


def _machine() -> list[tuple[str, str]]:
    model = "unknown"
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = "hypervisor" if "hypervisor" in line.split() else "bare metal"
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    versions = []
    for pkg in ("aiohttp", "eventsourcing", "psycopg", "psycopg-binary", "asyncpg", "marshmallow"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{pkg} {metadata.version(pkg)}")
    return [
        ("CPU", f"{model} ({flags})" if flags else model),
        ("nproc", str(os.cpu_count())),
        ("memory", mem),
        ("kernel", platform.release()),
        ("Python", platform.python_version()),
        ("libraries", ", ".join(versions)),
    ]


def _n(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _at_least(actual: float | None, target: float, unit: str) -> str:
    if actual is None:
        return "not measured"
    if actual >= target:
        return f"**met** ({actual / target:.2f}× the target)"
    short = 100 * (1 - actual / target)
    return f"**missed** by {target - actual:,.0f} {unit} ({short:.0f}% short; {actual / target:.2f}× the target)"


def _at_most(actual: float | None, limit: float, unit: str) -> str:
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return "not measured"
    if actual < limit:
        return f"**met** ({actual:,.1f} {unit} < {limit:,.0f} {unit})"
    return f"**missed** by {actual - limit:,.1f} {unit} ({actual / limit:.1f}× the limit)"


def _load_table(s: dict[str, Any], unit: str, rows: list[tuple[str, str, str]]) -> list[str]:
    lines = ["| figure | measured | target | verdict |", "|---|---|---|---|"]
    lines.append(
        f"| throughput | {_n(s['items_per_s'])} {unit}/s ({_n(s['requests'])} requests,"
        f" {_n(s['items'])} {unit}s in {_n(s['seconds'], 1)} s) | {rows[0][1]} | {rows[0][2]} |"
    )
    lines.append(f"| requests/s | {_n(s['requests_per_s'])} | | |")
    lines.append(
        f"| latency p50 / p99 / max | {_n(s['p50_ms'], 1)} / {_n(s['p99_ms'], 1)} /"
        f" {_n(s['max_ms'], 1)} ms | {rows[1][1] if len(rows) > 1 else ''} |"
        f" {rows[1][2] if len(rows) > 1 else ''} |"
    )
    lines.append(
        f"| server peak RSS | {_n(s.get('server_peak_rss_mb'))} MB | < 300 MB |"
        f" {_at_most(s.get('server_peak_rss_mb'), 300, 'MB')} |"
    )
    if s.get("worker_peak_rss_mb") is not None:
        lines.append(f"| projection worker peak RSS | {_n(s['worker_peak_rss_mb'])} MB | | |")
    if s.get("cpu"):
        lines.append(f"| CPU used, in cores | {_cpu(s)} | | |")
        per = s["cpu"].get("server", 0) / s["items_per_s"] if s.get("items_per_s") else 0
        if per:
            lines.append(
                f"| server CPU per {unit} | {per * 1000:.2f} ms (one core would give at most"
                f" {_n(1 / per)} {unit}s/s; less load-dependent than the throughput) | | |"
            )
    cpu = s.get("client_cpu_pct", 0)
    note = " (**the client saturates a core**: the figure is a floor)" if cpu >= 90 else ""
    lines.append(f"| load client CPU | {_n(cpu)}% of one core{note} | | |")
    lines.append(f"| concurrency | {s.get('concurrency', '–')} client connections | | |")
    lines.append(f"| errors | {s['errors']} | 0 | {'ok' if not s['errors'] else '**failed**'} |")
    return lines


def _rss(s: dict[str, Any], key: str = "server_peak_rss_mb") -> str:
    """The server's peak RSS, and the projection worker's beside it when there is one."""
    text = f"{_n(s.get(key))} MB"
    if s.get("worker_peak_rss_mb") is not None:
        text += f" + worker {_n(s['worker_peak_rss_mb'])} MB"
    return text


def _cpu(s: dict[str, Any]) -> str:
    c = s.get("cpu")
    if not c:
        return "–"
    parts = [f"server {c.get('server', 0):.2f}"]
    if "worker" in c:
        parts.append(f"worker {c['worker']:.2f}")
    if "postgres" in c:
        parts.append(f"PostgreSQL {c['postgres']:.2f}")
    parts.append(f"load client {c.get('bench', 0):.2f}")
    parts.append(f"**others {c.get('other', 0):.2f}**")
    return f"{' · '.join(parts)} (machine {c.get('machine', 0):.2f} of 2; load avg {c.get('loadavg', 0):.1f})"


#: (key, label, unit, higher is better) of the figures compared across runs.
KEY_FIGURES = (
    ("roster", "Roster registration", "learners/s", True),
    ("roster_p99", "Roster registration p99 per roster", "ms", False),
    ("batch", "Batch ingest", "completions/s", True),
    ("batch_p99", "Batch ingest p99 per batch", "ms", False),
    ("single", "Single-record ingest", "req/s", True),
    ("single_p99", "Single-record ingest p99", "ms", False),
    ("balance", "Reads: balance", "req/s", True),
    ("balance_p99", "Reads: balance p99", "ms", False),
    ("eligibility", "Reads: eligibility", "req/s", True),
    ("eligibility_p99", "Reads: eligibility p99", "ms", False),
    ("projection_during_ingest", "Projections applied during batch ingest", "events/s", True),
    ("rebuild", "Projection rebuild from zero", "events/s", True),
    ("audit", "Audit verification (HTTP)", "events/s", True),
    ("console_learner_p99", "Console learner page p99", "ms", False),
    ("console_dashboard_p99", "Console cohort dashboard p99", "ms", False),
    ("cohort_csv", "Cohort export CSV, to the last byte", "s", False),
    ("cohort_xlsx", "Cohort export xlsx, to the last byte", "s", False),
    ("cohort_rss", "Server peak RSS during the cohort exports", "MB", False),
    ("server_rss", "Server peak RSS, whole run", "MB", False),
    ("worker_rss", "Projection worker peak RSS, whole run", "MB", False),
    ("ref_library", "Reference: library `save`", "events/s", True),
    ("ref_copy", "Reference: PostgreSQL COPY", "events/s", True),
)


def key_figures(results: dict[str, Any]) -> dict[str, float | None]:
    """The headline figures of a run, to compare with another run."""
    sc = results.get("scenarios", {})

    def get(key: str, field: str) -> float | None:
        s = sc.get(key) or {}
        value = s.get(field)
        return None if "skipped" in s or value is None else float(value)

    pdi = (sc.get("batch") or {}).get("projection_during_ingest") or {}
    pages = sc.get("console") or {}
    export = sc.get("cohort_export") or {}
    kinds = [export[k] for k in ("csv", "xlsx") if k in export]
    return {
        "roster": get("roster", "items_per_s"),
        "roster_p99": get("roster", "p99_ms"),
        "batch": get("batch", "items_per_s"),
        "batch_p99": get("batch", "p99_ms"),
        "single": get("single", "requests_per_s"),
        "single_p99": get("single", "p99_ms"),
        "balance": get("balance", "requests_per_s"),
        "balance_p99": get("balance", "p99_ms"),
        "eligibility": get("eligibility", "requests_per_s"),
        "eligibility_p99": get("eligibility", "p99_ms"),
        "projection_during_ingest": pdi.get("events_per_s"),
        "rebuild": get("rebuild", "events_per_s"),
        "audit": get("audit", "events_per_s"),
        "console_learner_p99": (pages.get("learner_page") or {}).get("p99_ms"),
        "console_dashboard_p99": (pages.get("dashboard") or {}).get("p99_ms"),
        "cohort_csv": (export.get("csv") or {}).get("seconds"),
        "cohort_xlsx": (export.get("xlsx") or {}).get("seconds"),
        "cohort_rss": max((k["peak_rss_mb"] for k in kinds), default=None),
        "server_rss": results.get("server_peak_rss_mb"),
        "worker_rss": results.get("worker_peak_rss_mb"),
        "ref_library": get("ref_library", "items_per_s"),
        "ref_copy": get("ref_copy", "items_per_s"),
    }


def _comparison(results: dict[str, Any]) -> list[str]:
    prev = results.get("previous")
    if not prev:
        return []
    now = key_figures(results)
    before = prev.get("figures", {})
    out = [
        "## Previous run",
        "",
        f"The previous full run (`{prev.get('file')}`, started {prev.get('started')}, projections "
        f"{prev.get('projections', 'inline')}, server workers {prev.get('server_workers', 1)}, "
        f"size `{prev.get('size')}`) against this one (projections {results.get('projections', 'inline')}, "
        f"server workers {results.get('server_workers', 1)}, size `{results.get('size')}`)"
        + (":" if prev.get("size") == results.get("size") else "; **the sizes differ**, so compare with care:"),
        "",
        "| figure | previous run | this run | change |",
        "|---|---|---|---|",
    ]
    for key, label, unit, higher in KEY_FIGURES:
        a, b = before.get(key), now.get(key)
        if a is None and b is None:
            continue
        if a and b:
            ratio = b / a
            better = ratio > 1 if higher else ratio < 1
            change = f"{ratio:.2f}× ({'better' if better else 'worse' if ratio != 1 else 'same'})"
        else:
            change = "–"
        digits = 1 if unit in ("ms", "s") else 0
        out.append(
            f"| {label} | {_n(a, digits)} {unit if a is not None else ''} | {_n(b, digits)} "
            f"{unit if b is not None else ''} | {change} |"
        )
    out.append("")
    return out


#: A summary row: scenario, throughput, latency, peak RSS (MB, or text), target, verdict.
Row = tuple[str, str, str, Any, str, str]


def render(results: dict[str, Any]) -> str:
    sc = results.get("scenarios", {})
    sizes = results.get("sizes", {})
    out: list[str] = ["# Benchmarks", ""]
    out.append(
        f"Size `{results.get('size')}`: {_n(sizes.get('learners'))} learners"
        + (f" ({_n(sizes['cohort'])} of them in one district, exported whole)" if sizes.get("cohort") else "")
        + ", "
        f"{_n(sizes.get('completions'))} completions through `POST /v1/completions`, "
        "run against the real server (`creditbank serve`, a subprocess) and real PostgreSQL "
        "over loopback. "
        + (
            "Projections ran in their own process (`CREDITBANK_INLINE_PROJECTIONS=no` plus "
            "`creditbank projections run`, the deployment of docker/compose.yaml). "
            if results.get("projections") == "worker"
            else "Projections ran inline, in the server process. "
        )
        + (
            f"The server ran as `creditbank serve --workers {results['server_workers']}` "
            f"({results['server_workers']} processes sharing the port; its CPU and memory are their sum). "
            if results.get("server_workers", 1) > 1
            else "The server ran as one process (`creditbank serve --workers 1`). "
        )
        + "Produced by:"
    )
    out += ["", "```", results.get("command", ".venv/bin/python -m bench.run"), "```", ""]
    if results.get("failure"):
        out += [f"**The run FAILED:** {results['failure']}", ""]
    out += machine_table(results)
    if results.get("loadavg_start") is not None:
        out.append(
            f"| load average (1 min) | {_n(results.get('loadavg_start'), 2)} at the start, "
            f"{_n(results.get('loadavg_end'), 2)} at the end |"
        )
    out.append("")

    out += [
        "## Summary",
        "",
        "| scenario | throughput | p50 / p99 | peak RSS | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    summary_rows: list[Row] = []
    if "roster" in sc:
        s = sc["roster"]
        summary_rows.append(
            (
                f"Roster registration ({_n(s.get('batch'))}/roster, {s.get('concurrency')} clients)",
                f"{_n(s['items_per_s'])} learners/s",
                f"{_n(s['p50_ms'])} / {_n(s['p99_ms'])} ms per roster",
                _rss(s),
                "≥ 5,000 learners/s",
                _at_least(s["items_per_s"], 5_000, "learners/s"),
            )
        )
    if "batch" in sc:
        s = sc["batch"]
        summary_rows.append(
            (
                "Batch ingest (1,000/batch)",
                f"{_n(s['items_per_s'])} completions/s",
                f"{_n(s['p50_ms'])} / {_n(s['p99_ms'])} ms per batch",
                _rss(s),
                "≥ 10,000 completions/s",
                _at_least(s["items_per_s"], 10_000, "completions/s"),
            )
        )
    if "single" in sc:
        s = sc["single"]
        verdicts = [_at_least(s["requests_per_s"], 2000, "req/s"), _at_most(s["p99_ms"], 50, "ms")]
        summary_rows.append(
            (
                "Single-record ingest (64 clients)",
                f"{_n(s['requests_per_s'])} req/s",
                f"{_n(s['p50_ms'], 1)} / {_n(s['p99_ms'], 1)} ms",
                _rss(s),
                "≥ 2,000 req/s, p99 < 50 ms",
                "; ".join(verdicts),
            )
        )
    for key, label in (("balance", "Reads: balance (32 clients)"), ("eligibility", "Reads: eligibility (32 clients)")):
        s = sc.get(key)
        if s is None:
            continue
        if "skipped" in s:
            summary_rows.append((label, "–", "–", None, "≥ 4,000 req/s, p99 < 10 ms", f"skipped: {s['skipped']}"))
            continue
        verdicts = [_at_least(s["requests_per_s"], 4000, "req/s"), _at_most(s["p99_ms"], 10, "ms")]
        summary_rows.append(
            (
                label,
                f"{_n(s['requests_per_s'])} req/s",
                f"{_n(s['p50_ms'], 1)} / {_n(s['p99_ms'], 1)} ms",
                _rss(s),
                "≥ 4,000 req/s, p99 < 10 ms",
                "; ".join(verdicts),
            )
        )
    summary_rows += _console_summary(sc.get("console"))
    summary_rows += _export_summary(sc.get("cohort_export"))
    if "rebuild" in sc:
        s = sc["rebuild"]
        limit = 60 * max(s["events"], 1) / 1_000_000
        summary_rows.append(
            (
                "Projection catch-up from zero (rebuild)",
                f"{_n(s['events_per_s'])} events/s",
                "–",
                s.get("peak_rss_mb"),
                "≥ 30,000 events/s",
                _at_least(s["events_per_s"], 30_000, "events/s"),
            )
        )
        summary_rows.append(
            (
                f"Full rebuild of {_n(s['events'])} events",
                f"{_n(s['seconds'], 1)} s",
                "–",
                s.get("peak_rss_mb"),
                f"< {limit:.0f} s (60 s per million)",
                _at_most(s["seconds"], limit, "s"),
            )
        )
    if "catchup" in sc:
        s = sc["catchup"]
        summary_rows.append(
            (
                "Projection drain after ingest (/readyz lag)",
                f"{_n(s.get('events_per_s'))} events/s",
                "–",
                _rss(s),
                "≥ 30,000 events/s",
                _at_least(s.get("events_per_s"), 30_000, "events/s")
                if s.get("lag_at_start", 0) > 10_000
                else f"lag was only {s.get('lag_at_start')}",
            )
        )
    if "audit" in sc:
        s = sc["audit"]
        if "skipped" in s:
            summary_rows.append(
                ("Audit verification", "–", "–", None, "≥ 200,000 events/s", f"skipped: {s['skipped']}")
            )
        else:
            summary_rows.append(
                (
                    "Audit verification (`GET /v1/audit/verification`)",
                    f"{_n(s['events_per_s'])} events/s ({_n(s['events'])} events in {_n(s['seconds'], 1)} s)",
                    "–",
                    _rss(s),
                    "≥ 200,000 events/s",
                    _at_least(s["events_per_s"], 200_000, "events/s"),
                )
            )
            cli = s.get("cli")
            if cli:
                summary_rows.append(
                    (
                        "Audit verification (`creditbank audit verify`, whole process)",
                        f"{_n(cli['events_per_s'])} events/s ({_n(cli['events'])} events in {_n(cli['seconds'], 1)} s)",
                        "–",
                        cli.get("peak_rss_mb"),
                        "≥ 200,000 events/s",
                        _at_least(cli["events_per_s"], 200_000, "events/s"),
                    )
                )
    if "server_peak_rss_mb" in results:
        summary_rows.append(
            (
                "Server memory, whole run",
                f"peak RSS {_n(results['server_peak_rss_mb'])} MB",
                f"VmHWM {_n(results.get('server_vmhwm_mb'))} MB",
                results["server_peak_rss_mb"],
                "< 300 MB throughout",
                _at_most(results["server_peak_rss_mb"], 300, "MB"),
            )
        )
    if results.get("worker_peak_rss_mb") is not None:
        both = results["server_peak_rss_mb"] + results["worker_peak_rss_mb"]
        summary_rows.append(
            (
                "Projection worker memory, whole run",
                f"peak RSS {_n(results['worker_peak_rss_mb'])} MB",
                f"VmHWM {_n(results.get('worker_vmhwm_mb'))} MB",
                results["worker_peak_rss_mb"],
                "(the target is the server's)",
                f"server + worker ≤ {_n(both)} MB "
                + ("(also under 300 MB)" if both < 300 else "(**over 300 MB together**)"),
            )
        )
    for key, label in (
        ("ref_library", "Reference: eventsourcing `Application.save`, 100 per call"),
        ("ref_copy", "Reference: PostgreSQL COPY, 1,000 rows per COPY"),
    ):
        s = sc.get(key)
        if s:
            summary_rows.append(
                (
                    label,
                    f"{_n(s['items_per_s'])} events/s",
                    f"{_n(s['p50_ms'], 1)} / {_n(s['p99_ms'], 1)} ms per call",
                    s.get("peak_rss_mb"),
                    "–",
                    "reference",
                )
            )
    for name, thr, lat, rss, target, verdict in summary_rows:
        rss_text = rss if isinstance(rss, str) else f"{_n(rss)} MB"
        out.append(f"| {name} | {thr} | {lat} | {rss_text} | {target} | {verdict} |")
    out.append("")
    out += _comparison(results)

    if "batch" in sc and "ref_library" in sc:
        b, lib = sc["batch"]["items_per_s"], sc["ref_library"]["items_per_s"]
        cp = sc.get("ref_copy", {}).get("items_per_s")
        out.append(
            f"Batch ingest runs at **{b / lib:.2f}×** the library baseline"
            + (f" and **{b / cp:.2f}×** PostgreSQL COPY" if cp else "")
            + " (the issue asks for at least 1.0× the library baseline)."
        )
        out.append("")

    out += ["## Scenarios", ""]
    if "learners" in sc:
        out += ["### Setup: learner registration one per request (`POST /v1/learners`, no target)", ""]
        out += _load_table(sc["learners"], "learner", [("", "–", "setup, no target")])
        out.append("")
    out += _roster_section(sc.get("roster"))
    if "batch" in sc:
        s = sc["batch"]
        out += [
            "### Batch ingest",
            "",
            f'`POST /v1/completions` with `{{"completions": [...]}}` of {s.get("batch")} items, '
            "learners drawn at random over the whole bank, providers round-robin, "
            f"{s.get('concurrency')} concurrent connections; every answer checked (207, all `recorded`).",
            "",
        ]
        out += _load_table(s, "completion", [("", "≥ 10,000/s", _at_least(s["items_per_s"], 10_000, "completions/s"))])
        slices = s.get("slices") or []
        if slices:
            out.append(
                f"| throughput per tenth of the run | {' · '.join(_n(x) for x in slices)} | flat | "
                f"last/first = {slices[-1] / slices[0]:.2f} |"
            )
        pdi = s.get("projection_during_ingest")
        if pdi:
            out.append(
                f"| projections during ingest | applied {_n(pdi.get('events_per_s'))} events/s; "
                f"lag at the end {_n(pdi.get('lag_at_end'))} | | |"
            )
        lib = sc.get("ref_library")
        if lib:
            out.append(
                f"| vs. library baseline | {s['items_per_s'] / lib['items_per_s']:.2f}× "
                f"({_n(lib['items_per_s'])}/s) | ≥ 1.0× | "
                f"{'**met**' if s['items_per_s'] >= lib['items_per_s'] else '**missed**'} |"
            )
        out.append("")
    if "single" in sc:
        s = sc["single"]
        out += [
            "### Single-record ingest",
            "",
            f"One completion per `POST /v1/completions`, {s.get('concurrency')} concurrent connections, "
            "bounded in count and time; every answer checked (201 `recorded`).",
            "",
        ]
        out += _load_table(
            s,
            "completion",
            [
                ("", "≥ 2,000 req/s", _at_least(s["requests_per_s"], 2000, "req/s")),
                ("", "p99 < 50 ms", _at_most(s["p99_ms"], 50, "ms")),
            ],
        )
        out.append("")
    for key, title in (("balance", "Reads: balance"), ("eligibility", "Reads: eligibility")):
        s = sc.get(key)
        if s is None:
            continue
        out += [f"### {title}", ""]
        if "skipped" in s:
            out += [f"Skipped: {s['skipped']}.", ""]
            continue
        out += [
            f"`GET /v1/learners/{{id}}/{key}` for random learners with an HR token (scope checks run), "
            f"{s.get('concurrency')} concurrent connections, after ingest (the bank holds "
            f"{_n(results.get('counts', {}).get('event_rows'))} events).",
            "",
        ]
        out += _load_table(
            s,
            "request",
            [
                ("", "≥ 4,000 req/s", _at_least(s["requests_per_s"], 4000, "req/s")),
                ("", "p99 < 10 ms", _at_most(s["p99_ms"], 10, "ms")),
            ],
        )
        out.append("")
    out += _console_section(sc.get("console"))
    out += _export_section(sc.get("cohort_export"))
    if "catchup" in sc or "rebuild" in sc:
        out += ["### Projections", "", "| figure | measured | target | verdict |", "|---|---|---|---|"]
        c = sc.get("catchup")
        if c:
            rated = (
                _at_least(c.get("events_per_s"), 30_000, "events/s")
                if c["lag_at_start"] > 10_000
                else "lag too small to rate"
            )
            out.append(
                f"| drain after batch ingest (poll `/readyz` until lag 0) | lag {_n(c['lag_at_start'])} events"
                f" drained in {_n(c['seconds'], 1)} s = {_n(c.get('events_per_s'))} events/s | ≥ 30,000 events/s"
                f" | {rated} |"
            )
            if c.get("cpu"):
                out.append(f"| CPU used during the drain, in cores | {_cpu(c)} | | |")
        r = sc.get("rebuild")
        if r:
            limit = 60 * max(r["events"], 1) / 1_000_000
            out.append(
                f"| `creditbank projections rebuild` (server stopped, from zero) | {_n(r['events'])} events in"
                f" {_n(r['seconds'], 1)} s = {_n(r['events_per_s'])} events/s | ≥ 30,000 events/s |"
                f" {_at_least(r['events_per_s'], 30_000, 'events/s')} |"
            )
            out.append(
                f"| rebuild time | {_n(r['seconds'], 1)} s | < {limit:.0f} s | {_at_most(r['seconds'], limit, 's')} |"
            )
            out.append(f"| rebuild process peak RSS | {_n(r['peak_rss_mb'])} MB | | |")
        out.append("")
    if "audit" in sc:
        s = sc["audit"]
        out += ["### Audit verification", ""]
        if "skipped" in s:
            out += [f"Skipped: {s['skipped']}.", ""]
        else:
            out += [
                "The hash chain over the whole log, after ingest and reads: `GET /v1/audit/verification` "
                "with an auditor token (the server recomputes the chain; `events_checked` of the answer), "
                "then `creditbank audit verify` from the CLI (a new process: start-up included).",
                "",
                "| figure | measured | target | verdict |",
                "|---|---|---|---|",
                f"| `GET /v1/audit/verification` | {_n(s['events'])} events in {_n(s['seconds'], 1)} s ="
                f" {_n(s['events_per_s'])} events/s | ≥ 200,000 events/s |"
                f" {_at_least(s['events_per_s'], 200_000, 'events/s')} |",
            ]
            if s.get("server_peak_rss_mb") is not None:
                out.append(
                    f"| server peak RSS while verifying | {_rss(s)} | < 300 MB |"
                    f" {_at_most(s.get('server_peak_rss_mb'), 300, 'MB')} |"
                )
            if s.get("cpu"):
                out.append(f"| CPU used, in cores | {_cpu(s)} | | |")
            cli = s.get("cli")
            if cli:
                out.append(
                    f"| `creditbank audit verify` (whole process) | {_n(cli['events'])} events in"
                    f" {_n(cli['seconds'], 1)} s = {_n(cli['events_per_s'])} events/s | ≥ 200,000 events/s |"
                    f" {_at_least(cli['events_per_s'], 200_000, 'events/s')} |"
                )
                out.append(f"| CLI process peak RSS | {_n(cli['peak_rss_mb'])} MB | | |")
            out.append("")
    refs = [(k, sc[k]) for k in ("ref_library", "ref_copy") if k in sc]
    if refs:
        out += [
            "### References (same run, same completion events, a separate fresh database)",
            "",
            "| reference | rows | throughput | p50 / p99 per call | process peak RSS |",
            "|---|---|---|---|---|",
        ]
        for key, s in refs:
            label = (
                "eventsourcing `CreditBank.save(*aggregates)`, 100 new `Completion` aggregates per call "
                "(throughput includes creating the aggregates)"
                if key == "ref_library"
                else "asyncpg `copy_records_to_table` of the library's rows into `LIKE creditbank_events "
                "INCLUDING ALL`, 1,000 rows per COPY"
            )
            out.append(
                f"| {label} | {_n(s['count'])} | {_n(s['items_per_s'])}/s | {_n(s['p50_ms'], 1)} /"
                f" {_n(s['p99_ms'], 1)} ms | {_n(s['peak_rss_mb'])} MB |"
            )
        out.append("")
    counts = results.get("counts")
    if counts:
        out += [
            "### Correctness checks of this run",
            "",
            f"Every posted completion recorded exactly once: {_n(counts['posted'])} posted "
            f"({_n(counts['batch_recorded'])} in batches, {_n(counts['single_recorded'])} single), "
            f"{_n(counts['completion_events'])} `Completion.Recorded` events for "
            f"{_n(counts['distinct_completions'])} distinct completions, {_n(counts['rm_completions'])} rows "
            f"in `rm_completions`; event head {_n(counts['head'])} = `/readyz` head and position; re-posting "
            "the first batch answered 1,000 duplicates and recorded nothing."
            + (
                f" Every learner registered once: {_n(counts['learners'])} learners,"
                f" {_n(counts['learner_events'])} `Learner.Registered` events, {_n(counts['rm_learners'])} rows in"
                f" `rm_learners`, {_n(counts['rm_learners_in_cohort'])} of them in the exported district."
                if "learners" in counts
                else ""
            ),
            "",
        ]
    if NOTES.exists():
        out += [NOTES.read_text().rstrip(), ""]
    return "\n".join(out) + "\n"


def _console_summary(c: dict[str, Any] | None) -> list[Row]:
    if not c:
        return []
    rows: list[Row] = []
    for key, label in (
        ("learner_page", f"Console: learner page ({c['learner_page'].get('concurrency')} clients)"),
        ("dashboard", f"Console: cohort dashboard of {_n(c.get('cohort'))} learners (1 client)"),
    ):
        s = c[key]
        rows.append(
            (
                label + f", beside {c['reads'].get('concurrency')} verdict readers",
                f"{_n(s['requests_per_s'], 1)} pages/s ({_n(s['requests'])} pages)",
                f"{_n(s['p50_ms'], 1)} / {_n(s['p99_ms'], 1)} ms",
                _rss(c),
                "p99 < 200 ms",
                _page_verdict(s),
            )
        )
    alone = c.get("dashboard_alone")
    if alone:
        rows.append(
            (
                "Console: cohort dashboard alone, after the load",
                f"HTTP {alone['status']}, {_bytes(alone['bytes'])}",
                f"{_n(alone['seconds'] * 1000, 1)} ms",
                alone["peak_rss_mb"],
                "< 200 ms; server < 300 MB",
                _at_most(alone["seconds"] * 1000, 200, "ms") + "; " + _at_most(alone["peak_rss_mb"], 300, "MB"),
            )
        )
    return rows


def _page_verdict(s: dict[str, Any]) -> str:
    if s.get("errors"):
        sample = (s.get("error_samples") or [""])[0]
        return f"**failed**: {s['errors']} of {s['requests']} pages ({sample[:200]})"
    return _at_most(s["p99_ms"], 200, "ms")


def _export_summary(e: dict[str, Any] | None) -> list[Row]:
    if not e:
        return []
    rows: list[Row] = []
    for kind in ("csv", "xlsx"):
        k = e.get(kind)
        if not k:
            continue
        rows.append(
            (
                f"Cohort export {kind} ({_n(k.get('rows'))} learners of one district)",
                f"{_n(k['seconds'], 1)} s to the last byte ({_n(k.get('rows_per_s'))} rows/s, {_bytes(k['bytes'])})",
                f"first byte {_n(k.get('first_byte_s'), 1)} s",
                k["peak_rss_mb"],
                "server < 300 MB throughout",
                _at_most(k["peak_rss_mb"], 300, "MB"),
            )
        )
    return rows


def _cpu_per_row(k: dict[str, Any]) -> str:
    used = (k.get("cpu") or {}).get("server", 0) * k["seconds"]
    return f"{used / k['rows'] * 1000:.3f} ms" if k.get("rows") else "–"


def _bytes(size: float) -> str:
    return f"{_n(size / 1e6, 1)} MB" if size >= 1e6 else f"{_n(size / 1e3)} kB"


def _roster_section(s: dict[str, Any] | None) -> list[str]:
    if not s:
        return []
    out = [
        "### Roster registration",
        "",
        f'`POST /v1/learners` with `{{"learners": [...]}}` of {_n(s.get("batch"))} learners each, '
        f"{s.get('concurrency')} rosters in flight: the bank's learners but those registered one per request "
        f"({_n(s['items'])}); every answer checked (207, every learner `recorded`), then the first roster "
        "posted again.",
        "",
    ]
    out += _load_table(s, "learner", [("", "≥ 5,000/s", _at_least(s["items_per_s"], 5_000, "learners/s"))])
    cpu = s.get("cpu") or {}
    if cpu.get("postgres") is not None and s.get("items_per_s"):
        out.append(f"| PostgreSQL CPU per learner | {cpu['postgres'] / s['items_per_s'] * 1000:.3f} ms | | |")
    again = s.get("repost")
    if again:
        out.append(
            f"| the first roster again | {_n(again['duplicates'])} of {_n(again['learners'])} duplicates in"
            f" {_n(again['seconds'], 2)} s, head moved by {again['moved']} | all duplicates, nothing recorded |"
            f" {'ok' if again['duplicates'] == again['learners'] and not again['moved'] else '**failed**'} |"
        )
    out.append("")
    return out


def _console_section(c: dict[str, Any] | None) -> list[str]:
    if not c:
        return []
    reads = c["reads"]
    out = [
        "### Console pages under the read load",
        "",
        f"An HR console session (signed in over plain HTTP: the form's CSRF field, `POST /console/login`, "
        f"the session cookie) asks for `/console/learners/{{id}}` (random learners, "
        f"{c['learner_page'].get('concurrency')} clients) and `{c.get('dashboard_path')}` (the whole "
        f"{_n(c.get('cohort'))}-learner district, 1 client) while {reads.get('concurrency')} clients read "
        "`GET /v1/learners/{id}/eligibility?target=teacher_cycle`; a page counts only if it came back signed "
        "in and showing what was asked.",
        "",
        "| page | pages | pages/s | p50 / p99 / max | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("learner_page", "learner page"), ("dashboard", "cohort dashboard")):
        s = c[key]
        out.append(
            f"| {label} | {_n(s['requests'])} | {_n(s['requests_per_s'], 1)} | {_n(s['p50_ms'], 1)} /"
            f" {_n(s['p99_ms'], 1)} / {_n(s['max_ms'], 1)} ms | p99 < 200 ms | {_page_verdict(s)} |"
        )
    alone = c.get("dashboard_alone")
    if alone:
        took = alone["seconds"] * 1000
        out.append(
            f"| cohort dashboard alone, after the load (HTTP {alone['status']}, {_bytes(alone['bytes'])}; server RSS"
            f" {_n(alone['rss_before_mb'])} → peak {_n(alone['peak_rss_mb'])} → {_n(alone['rss_after_mb'])} MB)"
            f" | 1 | | {_n(took, 1)} ms | < 200 ms | {_at_most(took, 200, 'ms')} |"
        )
    out.append(
        f"| verdict reads beside them | {_n(reads['requests'])} | {_n(reads['requests_per_s'])} |"
        f" {_n(reads['p50_ms'], 1)} / {_n(reads['p99_ms'], 1)} / {_n(reads['max_ms'], 1)} ms | | |"
    )
    out += [
        "",
        f"Server peak RSS meanwhile {_rss(c)}; CPU used, in cores: {_cpu(c)}.",
        "",
    ]
    return out


def _export_section(e: dict[str, Any] | None) -> list[str]:
    if not e:
        return []
    out = [
        "### Cohort export of one district",
        "",
        f"`GET {e.get('path')}` with `Accept: text/csv`, then with the xlsx type, read to the last byte "
        f"into a file; the rows are counted by reading the file back (csv; openpyxl read-only) and must be "
        f"the district's {_n(e.get('cohort'))} learners, each once; the server's resident memory (its "
        "processes summed) sampled every 0.2 s while each streams.",
        "",
        "| figure | CSV | xlsx | target |",
        "|---|---|---|---|",
    ]
    kinds = [e.get("csv") or {}, e.get("xlsx") or {}]

    def row(label: str, cell: Any, target: str = "") -> None:
        out.append(f"| {label} | {' | '.join(cell(k) if k else '–' for k in kinds)} | {target} |")

    row("seconds to the first / last byte", lambda k: f"{_n(k['first_byte_s'], 2)} / {_n(k['seconds'], 2)} s")
    row("bytes", lambda k: f"{_n(k['bytes'])} ({_bytes(k['bytes'])})")
    row("rows read back (header + learners)", lambda k: f"1 + {_n(k.get('rows'))}", f"1 + {_n(e.get('cohort'))}")
    row("rows per second", lambda k: _n(k.get("rows_per_s")))
    row("server CPU per row (the least load-dependent figure)", _cpu_per_row)
    row(
        "server RSS before → peak → after",
        lambda k: f"{_n(k['rss_before_mb'])} → {_n(k['peak_rss_mb'])} → {_n(k['rss_after_mb'])} MB",
    )
    row(
        "growth while streaming (peak − before) / kept (after − before)",
        lambda k: f"{_n(k['growth_mb'])} / {_n(k['kept_mb'])} MB",
    )
    row("verdict", lambda k: _at_most(k["peak_rss_mb"], 300, "MB"), "< 300 MB throughout")
    row("CPU used, in cores", lambda k: _cpu(k))
    out.append("")
    return out


def write(results: dict[str, Any], out: Path) -> None:
    out.write_text(render(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report")
    parser.add_argument("results", help="the JSON a bench.run wrote next to its report")
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args(argv)
    write(json.loads(Path(args.results).read_text()), Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
