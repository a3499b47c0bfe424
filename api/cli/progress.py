"""A one-line progress report for long commands (the demo, a rebuild, a replay).

Invariant: writes only to stderr, at most twice a second, so stdout stays the command's answer.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress report with a rate, for long work on a terminal or a log."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-6)
        pct = f"{100 * done / total:5.1f}%" if total else "     "
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{self.label} {stage:<14} {done:>9,}/{total:<9,} {pct} {rate:>9,.0f}/s{end}")
        sys.stderr.flush()
