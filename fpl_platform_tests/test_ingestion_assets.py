"""Ingestion assets materialised from the real Definitions against a temporary warehouse and instance."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from fpl_platform_tests.conftest import failure_message, materialise, resources_for, table


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_two_seasons_of_matches_and_players(warehouse, instance):
    result = materialise(
        ["raw/matches", "raw/player_gameweeks"], resources_for(warehouse), instance, seasons=("2023-24", "2024-25")
    )
    assert result.success
    counts = table(warehouse, "SELECT season, count(*) AS n FROM raw.matches GROUP BY season ORDER BY season")
    assert counts.values.tolist() == [["2023-24", 380], ["2024-25", 380]]
    checks = check_results(result)
    assert checks and all(checks.values()), checks
    assert {"unique_match_per_season_home_away", "no_duplicate_player_per_fixture"} <= set(checks)
    players = table(warehouse, "SELECT count(*) AS n, count(DISTINCT player_id) AS players FROM raw.player_gameweeks")
    assert players["n"].iat[0] == 29_761 - 4 + 27_614  # 2023-24 lists one player twice
    salah = table(
        warehouse,
        "SELECT sum(points) AS points FROM raw.player_gameweeks WHERE player_id = 'fpl:118748' AND season = '2024-25'",
    )
    assert salah["points"].iat[0] == 344  # Mohamed Salah's real 2024-25 FPL total
    materialisation = result.asset_materializations_for_node("raw__matches")[0]
    assert materialisation.metadata["dagster/row_count"].value == 760


def test_rerun_is_idempotent_and_partitions_are_independent(warehouse, instance):
    resources = resources_for(warehouse)
    materialise(["raw/matches"], resources, instance, seasons=("2024-25", "2024-25"))
    materialise(["raw/matches"], resources, instance, seasons=("2025-26", "2025-26"))
    before = table(warehouse, "SELECT * FROM raw.matches ORDER BY match_id")
    materialise(["raw/matches"], resources, instance, seasons=("2024-25", "2024-25"))
    after = table(warehouse, "SELECT * FROM raw.matches ORDER BY match_id")
    pd.testing.assert_frame_equal(before, after)
    assert len(after) == 760


def test_fixtures_and_teams(warehouse, instance):
    resources = resources_for(warehouse)
    materialise(["raw/matches"], resources, instance, seasons=("2019-20", "2025-26"))
    result = materialise(["raw/fixtures", "raw/teams"], resources, instance)
    assert result.success and all(check_results(result).values())
    fixtures = table(warehouse, "SELECT season, count(*) AS n FROM raw.fixtures GROUP BY season")
    assert set(fixtures["n"]) == {380}
    aliases = table(warehouse, "SELECT alias, seen_in, seasons FROM raw.teams WHERE team = 'Manchester United'")
    assert {"Man Utd", "Man United", "Manchester United", "MUN"} <= set(aliases["alias"])
    man_utd = aliases.set_index("alias").loc["Man Utd"]
    assert "bundled results" in list(man_utd["seen_in"]) and "2025-26" in list(man_utd["seasons"])


def test_unknown_team_in_bundled_file_fails_and_keeps_the_table(warehouse, instance, data_dir):
    resources = resources_for(warehouse, data_dir)
    materialise(["raw/matches"], resources, instance, seasons=("2024-25", "2024-25"))
    before = table(warehouse, "SELECT * FROM raw.matches ORDER BY match_id")
    matches = pd.read_parquet(data_dir / "matches.parquet")
    season_rows = matches.index[matches["season"] == "2024-25"]
    matches.loc[season_rows[7], "home_team"] = "Atlantis United"
    matches.to_parquet(data_dir / "matches.parquet", index=False)
    result = materialise(["raw/matches"], resources, instance, seasons=("2024-25", "2024-25"), raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert "Atlantis United" in message and "matches.parquet" in message and "row 7" in message and "home_team" in message
    pd.testing.assert_frame_equal(before, table(warehouse, "SELECT * FROM raw.matches ORDER BY match_id"))


def test_non_numeric_goals_in_bundled_file_fail_the_partition(warehouse, instance, data_dir):
    matches = pd.read_parquet(data_dir / "matches.parquet")
    matches["home_goals"] = matches["home_goals"].astype(str)  # a source that stores goals as text
    matches.loc[matches.index[matches["season"] == "2024-25"][3], "home_goals"] = "x"
    matches.to_parquet(data_dir / "matches.parquet", index=False)
    result = materialise(
        ["raw/matches"], resources_for(warehouse, data_dir), instance, seasons=("2024-25", "2024-25"), raise_on_error=False
    )
    assert not result.success
    assert "home_goals is 'x'" in failure_message(result)
    assert not warehouse.exists("raw.matches")


def test_match_odds_is_skipped_without_a_source(warehouse, instance):
    result = materialise(["raw/match_odds"], resources_for(warehouse), instance, seasons=("2024-25", "2024-25"))
    assert result.success
    assert result.asset_materializations_for_node("raw__match_odds") == []
    assert not warehouse.exists("raw.match_odds")
