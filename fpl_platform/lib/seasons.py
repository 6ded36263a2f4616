"""Season naming: partition keys look like "2025-26", source files use "2526"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

FIRST_SEASON = 2014
LAST_SEASON = 2026  # the season starting in this year is the newest partition ("2026-27")
MATCHES_PER_SEASON = 380
GAMEWEEKS_PER_SEASON = 38
# a replay's bootstrap backtests at least the season before the replayed one, and its backtests start at the
# third season of results (replay.Replay._bootstrap): the replayed season needs three seasons before it
REPLAY_SEASONS_BEFORE = 3


def season_key(start_year: int) -> str:
    """2025 -> "2025-26"."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


ALL_SEASONS: list[str] = [season_key(y) for y in range(FIRST_SEASON, LAST_SEASON + 1)]


def start_year(season: str) -> int:
    """ "2025-26" -> 2025; also accepts "2526"."""
    if len(season) == 4 and season.isdigit():
        return 2000 + int(season[:2])
    try:
        first, second = season.split("-")
        year = int(first)
        if (year + 1) % 100 != int(second):
            raise ValueError
    except ValueError:
        raise ValueError(f"season {season!r} is not of the form 'YYYY-YY' (e.g. '2025-26')") from None
    return year


def short_code(season: str) -> str:
    """ "2025-26" -> "2526" (football-data.co.uk and airsenal file naming)."""
    year = start_year(season)
    return f"{year % 100:02d}{(year + 1) % 100:02d}"


def from_short_code(code: str) -> str:
    """ "2526" -> "2025-26"."""
    return season_key(start_year(code))


def season_window(season: str) -> tuple[dt.datetime, dt.datetime]:
    """[1 July of the start year, 1 August of the next year) in UTC: every kickoff of the season lies inside.

    The window reaches into July because 2019-20 finished on 26 July 2020.
    """
    year = start_year(season)
    return (
        dt.datetime(year, 7, 1, tzinfo=dt.UTC),
        dt.datetime(year + 1, 8, 1, tzinfo=dt.UTC),
    )


def season_of(kickoff: dt.datetime) -> str:
    """The season a kickoff date belongs to (July belongs to the season that ends then only before August)."""
    year = kickoff.year if kickoff.month >= 8 else kickoff.year - 1
    return season_key(year)


def seasons_with_results(data_dir: str | Path) -> list[str]:
    """The seasons whose results the snapshot in `data_dir` holds (its matches.parquet), oldest first."""
    from fpl_platform.lib import bundled

    matches = bundled.read(data_dir, "matches")
    return sorted(str(s) for s in matches.loc[matches["home_goals"].notna(), "season"].unique())


def replayable_seasons(data_dir: str | Path) -> list[str]:
    """The seasons `fpl-platform replay` can live through with the snapshot in `data_dir`.

    A season needs its results and fixtures (the replay's new-data sensor watches the newest season's
    fixtures), and REPLAY_SEASONS_BEFORE seasons of results before it. The bundled snapshot has fixtures
    from 2019-20 on, so 2019-20 to 2025-26.
    """
    from fpl_platform.lib import bundled

    with_results = seasons_with_results(data_dir)
    with_fixtures = set(bundled.read(data_dir, "fixtures")["season"].astype(str))
    return [
        season
        for season in with_results
        if season in with_fixtures and sum(earlier < season for earlier in with_results) >= REPLAY_SEASONS_BEFORE
    ]


def span(seasons: list[str]) -> str:
    """["2019-20", "2020-21", "2021-22"] -> "2019-20 to 2021-22"; seasons with a gap between them are listed."""
    if len(seasons) <= 2:
        return ", ".join(seasons) or "none"
    years = [start_year(season) for season in seasons]
    if years == list(range(years[0], years[0] + len(years))):
        return f"{seasons[0]} to {seasons[-1]}"
    return ", ".join(seasons)
