"""The data cutoff: which results count as known, and which gameweek to predict next.

The cutoff `2025-26:37` (a run's clock: FPL_PLATFORM_AS_OF, or a replay's tag) means "results up to and
including gameweek 37 of 2025-26 are known; predict gameweek 38". Without one: in a season still being played, the last gameweek whose matches
are all finished; in a completed season (the bundled data), its gameweek 37, so the demo predicts a
real gameweek whose results can be checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from fpl_platform.lib.seasons import GAMEWEEKS_PER_SEASON


@dataclass(frozen=True)
class AsOf:
    """Results through `gameweek` of `season` are known; the next gameweek is predicted."""

    season: str
    gameweek: int

    @property
    def label(self) -> str:
        return f"{self.season}:{self.gameweek}"

    @property
    def next_gameweek(self) -> int:
        if self.gameweek >= GAMEWEEKS_PER_SEASON:
            raise ValueError(
                f"as-of {self.label} is the season's last gameweek: there is no next gameweek to predict in {self.season}"
            )
        return self.gameweek + 1


def parse(text: str) -> AsOf:
    """ "2025-26:37" -> AsOf("2025-26", 37)."""
    match = re.fullmatch(r"(\d{4}-\d{2}):(\d{1,2})", text.strip())
    if not match or not 0 <= int(match.group(2)) <= GAMEWEEKS_PER_SEASON:
        raise ValueError(
            f"FPL_PLATFORM_AS_OF is {text!r}; expected '<season>:<gameweek>' with a gameweek from 0 to "
            f"{GAMEWEEKS_PER_SEASON}, e.g. '2025-26:37'"
        )
    return AsOf(match.group(1), int(match.group(2)))


def validate(text: str, seasons: Sequence[str], *, setting: str = "FPL_PLATFORM_AS_OF") -> AsOf:
    """`text` as the cutoff of a run that predicts, checked before the run starts.

    Valid: '<season>:<gameweek>' with a season of `seasons` (those the source has data for) and a gameweek
    from 0 (before the season's first) to 37 (38 is the last: there would be nothing left to predict).
    Otherwise a SettingError names the setting, the value and what is expected.
    """
    from fpl_platform.lib.errors import SettingError
    from fpl_platform.lib.seasons import span

    last = GAMEWEEKS_PER_SEASON - 1
    match = re.fullmatch(r"(\d{4}-\d{2}):(\d+)", text.strip())
    if not match or match.group(1) not in seasons or not 0 <= int(match.group(2)) <= last:
        example = f"{seasons[-1]}:{last}" if seasons else f"2025-26:{last}"
        raise SettingError(
            setting,
            text,
            f"'<season>:<gameweek>', a season with data ({span(list(seasons))}) and a gameweek from 0 to {last} "
            f"(results through it are known; the next of the season's {GAMEWEEKS_PER_SEASON} is predicted), e.g. '{example}'",
        )
    return AsOf(match.group(1), int(match.group(2)))


def resolve(matches: pd.DataFrame, fixtures: pd.DataFrame | None = None, text: str = "") -> AsOf:
    """The cutoff `text` names, or the default described in the module docstring when it is empty."""
    if text:
        return parse(text)
    season = matches["season"].max()
    if fixtures is not None and len(fixtures):
        season = max(season, fixtures["season"].max())  # a new season's fixtures arrive before its first result
        pending = fixtures[(fixtures["season"] == season) & ~fixtures["finished"].astype(bool)]
        if len(pending) and pending["gameweek"].notna().any():
            return AsOf(season, int(pending["gameweek"].min()) - 1)
    played = matches[matches["season"] == season]
    last = int(played["gameweek"].max())
    return AsOf(season, min(last, GAMEWEEKS_PER_SEASON - 1))
