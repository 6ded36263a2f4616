"""The bundled snapshot: real rows, typed and repaired as data/PROVENANCE.md says."""

from __future__ import annotations

import pandas as pd
import pytest

from fpl_platform.lib import bundle_builder, bundled
from fpl_platform.lib.sources import BundledSource
from fpl_platform_tests.conftest import BUNDLED


@pytest.fixture(scope="module")
def matches() -> pd.DataFrame:
    return bundled.read(BUNDLED, "matches")


@pytest.fixture(scope="module")
def players() -> pd.DataFrame:
    return bundled.read(BUNDLED, "player_gameweeks")


def test_twelve_full_seasons(matches):
    per_season = matches.groupby("season").size()
    assert list(per_season.index) == [f"{y}-{(y + 1) % 100:02d}" for y in range(2014, 2026)]
    assert (per_season == 380).all()
    assert matches["gameweek"].between(1, 38).all()


def test_real_results_are_typed(matches):
    opener = matches[(matches["season"] == "2025-26") & (matches["home_team"] == "Liverpool") & (matches["gameweek"] == 1)]
    assert opener[["away_team", "home_goals", "away_goals"]].values.tolist() == [["Bournemouth", 4, 2]]
    assert opener["kickoff"].iat[0] == pd.Timestamp("2025-08-15T19:00:00Z")
    assert str(matches["home_goals"].dtype) == "int64"


def test_covid_rounds_are_renumbered_30_to_38(matches):
    late = matches[(matches["season"] == "2019-20") & (matches["kickoff"] >= pd.Timestamp("2020-06-01", tz="UTC"))]
    assert late["gameweek"].min() == 30 and late["gameweek"].max() == 38


def test_2014_15_gameweeks_are_derived_and_2016_17_kickoff_times_recovered(matches):
    first = matches[matches["season"] == "2014-15"].sort_values("kickoff").head(10)
    assert set(first["gameweek"]) == {1}
    assert matches.loc[matches["season"] == "2014-15", "gameweek_derived"].all()
    s1617 = matches[matches["season"] == "2016-17"]
    assert s1617["kickoff_has_time"].all()
    assert (s1617["kickoff"].dt.hour != 0).mean() > 0.95


def test_rearranged_2015_16_match_takes_the_fpl_gameweek(matches):
    row = matches[
        (matches["season"] == "2015-16") & (matches["home_team"] == "West Ham United") & (matches["away_team"] == "Swansea City")
    ]
    assert row["gameweek"].iat[0] == 37  # the results file says 17 (its original round)


def test_player_rows(players):
    assert len(players) == 264_304
    raya = players[(players["season"] == "2025-26") & (players["player_code"] == 154561) & (players["gameweek"] == 1)]
    assert raya[["player_name", "team_name", "opponent_name", "was_home", "points", "saves", "price"]].values.tolist() == [
        ["David Raya Martín", "Arsenal", "Manchester United", False, 10, 7, 5.5]
    ]
    cresswell = players[
        (players["season"] == "2015-16") & (players["source_key"] == "Aaron Cresswell") & (players["gameweek"] == 1)
    ]
    # 2015-16's source puts BPS in the field called bonus
    assert cresswell["bps"].iat[0] == 22 and pd.isna(cresswell["bonus"].iat[0])
    assert cresswell["team_name"].iat[0] == "West Ham United" and cresswell["opponent_name"].iat[0] == "Arsenal"


def test_expected_goals_only_from_2022_23(players):
    has_xg = players.groupby("season")["expected_goals"].apply(lambda s: s.notna().mean())
    assert has_xg["2021-22"] == 0 and has_xg["2022-23"] == 1


def test_player_codes_are_stable_across_seasons(players):
    salah = players[players["player_code"] == 118748]  # Mohamed Salah's FPL code
    assert {"2017-18", "2025-26"} <= set(salah["season"])
    assert set(salah.loc[salah["season"] >= "2018-19", "team_name"]) == {"Liverpool"}


def test_bundled_source_normalises_to_canonical_teams_and_match_keys():
    source = BundledSource(BUNDLED)
    frame = source.matches("2019-20")
    assert "Man Utd" not in set(frame["home_team"]) and "Manchester United" in set(frame["home_team"])
    assert frame["match_id"].str.match(r"^2019-20:[A-Z]{3}-[A-Z]{3}$").all()
    rows = source.player_gameweeks("2019-20")
    assert rows["match_id"].isin(frame["match_id"]).all()
    assert rows["player_id"].str.startswith("fpl:").mean() > 0.99


def test_derive_gameweeks_follows_each_teams_match_order():
    frame = pd.DataFrame(
        {
            "kickoff": pd.to_datetime(["2014-08-16", "2014-08-16", "2014-08-23", "2014-08-30"], utc=True),
            "home_team": ["A", "C", "A", "B"],
            "away_team": ["B", "D", "C", "A"],
        }
    )
    assert bundle_builder.derive_gameweeks(frame).tolist() == [1, 1, 2, 3]


def test_correct_match_gameweeks_prefers_the_fpl_rows():
    matches = pd.DataFrame({"gameweek": [17, 5]})
    players = pd.DataFrame({"match_index": [0, 0, 0, 1], "gameweek": [37, 37, 17, 5]})
    assert bundle_builder.correct_match_gameweeks(matches, players)["gameweek"].tolist() == [37, 5]


def test_a_changed_file_is_read_anew_and_callers_get_their_own_copy(tmp_path):
    """Decoded files are kept per process, keyed by the file's identity: a rewritten file is never served stale,
    and one caller changing its frame changes nobody else's."""
    source = bundled.read(BUNDLED, "matches", "2024-25")
    source.to_parquet(tmp_path / "matches.parquet")
    first = bundled.read(tmp_path, "matches", "2024-25")
    first.loc[first.index[0], "home_goals"] = 99
    again = bundled.read(tmp_path, "matches", "2024-25")
    assert again["home_goals"].iat[0] == source["home_goals"].iat[0]

    source.head(10).to_parquet(tmp_path / "matches.parquet")  # rewritten: another size and mtime
    assert len(bundled.read(tmp_path, "matches", "2024-25")) == 10
