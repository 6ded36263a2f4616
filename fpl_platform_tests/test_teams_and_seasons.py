"""Canonical teams and season naming."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from fpl_platform.lib import seasons, teams
from fpl_platform.lib.errors import UnknownTeamError


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("Man Utd", "Manchester United"),
        ("Man United", "Manchester United"),
        ("MUN", "Manchester United"),
        ("manchester united", "Manchester United"),
        ("Spurs", "Tottenham Hotspur"),
        ("Tottenham", "Tottenham Hotspur"),
        ("Nott'm Forest", "Nottingham Forest"),
        ("Nottingham Forest", "Nottingham Forest"),
        ("Brighton", "Brighton & Hove Albion"),
        ("Brighton and Hove Albion", "Brighton & Hove Albion"),
        ("Wolves", "Wolverhampton Wanderers"),
        ("Sheffield Utd", "Sheffield United"),
        ("West Brom", "West Bromwich Albion"),
        ("QPR", "Queens Park Rangers"),
    ],
)
def test_aliases_resolve(spelling, canonical):
    assert teams.canonical_name(spelling, "test") == canonical


def test_unknown_team_names_the_name_and_the_source():
    with pytest.raises(UnknownTeamError) as error:
        teams.resolve("Real Madrid", "football-data 2526/E0.csv")
    assert "Real Madrid" in str(error.value) and "2526/E0.csv" in str(error.value)


def test_canonicalise_columns_names_the_file_row_and_field():
    frame = pd.DataFrame({"HomeTeam": ["Arsenal", "Atletico"], "AwayTeam": ["Spurs", "Chelsea"], "_source_row": [2, 3]})
    with pytest.raises(UnknownTeamError) as error:
        teams.canonicalise_columns(frame, ["HomeTeam", "AwayTeam"], "E0.csv")
    assert error.value.row == 3 and error.value.field == "HomeTeam"
    assert "'E0.csv'" in str(error.value) and "row 3" in str(error.value)


def test_every_alias_belongs_to_one_team():
    keys = {}
    for team in teams.TEAMS:
        for alias in team.aliases:
            key = teams.normalise_name(alias)
            assert keys.setdefault(key, team.name) == team.name


def test_season_helpers():
    assert seasons.ALL_SEASONS[0] == "2014-15" and seasons.ALL_SEASONS[-1] == "2026-27"
    assert seasons.short_code("2025-26") == "2526"
    assert seasons.from_short_code("1920") == "2019-20"
    assert seasons.start_year("1999-00") == 1999
    with pytest.raises(ValueError, match="YYYY-YY"):
        seasons.start_year("2025-27")
    start, end = seasons.season_window("2019-20")
    assert start <= dt.datetime(2020, 7, 26, tzinfo=dt.UTC) < end  # the Covid-delayed finish
    assert seasons.season_of(dt.datetime(2020, 7, 26)) == "2019-20"
    assert seasons.season_of(dt.datetime(2020, 9, 12)) == "2020-21"
