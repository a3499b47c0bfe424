"""The cohort chart counts teachers: its value axis shows whole numbers only (never 0.5)."""

from __future__ import annotations

from typing import Any

from tests.e2e.console.conftest import Console, signed_in
from tests.e2e.console.test_console_hr import _hours


async def test_the_cohort_chart_ticks_are_whole_numbers(browser: Any, bank: Console) -> None:
    await _hours(bank)
    page = await signed_in(browser, bank, "hr")
    await page.wait_for_function("document.querySelector('#school-chart').width > 0")
    ticks = await page.evaluate(
        "Chart.getChart(document.querySelector('#school-chart')).scales.x.ticks.map(t => t.value)"
    )
    counts = await page.evaluate(
        "Chart.getChart(document.querySelector('#school-chart')).data.datasets.flatMap(d => d.data)"
    )
    assert max(counts) <= 2  # few teachers: Chart.js alone would put ticks at 0.5, 1.5
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    await page.context.close()
