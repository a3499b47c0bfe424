"""Worked examples of the 1m-against-5m table (``bench.sizes``): the cost of the larger run is
judged against the smaller's, and a figure one run lacks is never a pass."""

from __future__ import annotations

from bench.sizes import render


def _run(size: str, balance_per_s: float, server_cores: float, p99: float) -> dict[str, object]:
    return {
        "size": size,
        "scenarios": {"balance": {"requests_per_s": balance_per_s, "p99_ms": p99, "cpu": {"server": server_cores}}},
    }


def _row(table: str, label: str) -> list[str]:
    [line] = [line for line in table.splitlines() if line.startswith(f"| {label} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_read_that_costs_more_cpu_at_the_larger_size_is_not_within():
    # 1,000 req/s on 0.5 of a core is 0.5 ms a request; 900 req/s on 0.54 is 0.6 ms (+20%).
    table = render(_run("1m", 1000, 0.5, 20.0), _run("5m", 900, 0.54, 21.0))

    assert _row(table, "Reads: balance") == ["Reads: balance", "1,000 /s", "900 /s", "0.90×", "within (+11%)"]
    assert _row(table, "Reads: balance: p99")[-1] == "within (+5%)"
    assert _row(table, "Reads: balance: server CPU per request") == [
        "Reads: balance: server CPU per request",
        "0.500 ms",
        "0.600 ms",
        "1.20×",
        "**not within** (+20%)",
    ]


def test_a_figure_one_run_lacks_is_not_measured():
    table = render(_run("1m", 1000, 0.5, 20.0), {"size": "5m", "scenarios": {}})

    assert _row(table, "Reads: balance")[-1] == "not measured"
    assert _row(table, "Batch ingest")[-1] == "not measured"
