"""Progress lines for long loops (walk-forward folds, gate blocks): one short line per step with elapsed time."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    """`step(text)` sends "<what> <i>/<n>: <text> (<elapsed> s)" to `report` (a step's log), at most one line every
    `every` seconds and always the last; silent without a `report`."""

    def __init__(self, report: Callable[[str], None] | None, what: str, total: int, every: float = 5.0):
        self.report, self.what, self.total, self.every = report, what, total, every
        self.done, self.started = 0, time.perf_counter()
        self.reported = self.started

    def step(self, text: str) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.report is not None and (now - self.reported >= self.every or self.done == self.total):
            self.reported = now
            self.report(f"{self.what} {self.done}/{self.total}: {text} ({now - self.started:.0f} s)")


def rounds_text(block) -> str:
    """A block of (season, gameweek) rows as "2025-26 gw 5-8"."""
    seasons, weeks = block["season"], block["gameweek"]
    first, last = int(weeks.iat[0]), int(weeks.iat[-1])
    span = f"{first}" if first == last else f"{first}-{last}"
    return f"{seasons.iat[0]} gw {span}" if seasons.iat[0] == seasons.iat[-1] else f"{seasons.iat[0]}..{seasons.iat[-1]}"
