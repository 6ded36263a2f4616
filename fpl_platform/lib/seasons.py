"""Season naming: partition keys look like "2025-26", source files use "2526"."""

from __future__ import annotations

import datetime as dt

FIRST_SEASON = 2014
LAST_SEASON = 2026  # the season starting in this year is the newest partition ("2026-27")
MATCHES_PER_SEASON = 380
GAMEWEEKS_PER_SEASON = 38


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
