"""No feature or prediction for a match may depend on its own result or any later one."""

from __future__ import annotations

import pandas as pd
import pytest

from fpl_platform.lib import match_model
from fpl_platform.lib.features import build_match_features
from fpl_platform.lib.sources import BundledSource
from fpl_platform_tests.conftest import BUNDLED

SEASONS = ["2020-21", "2021-22", "2022-23", "2023-24", "2024-25"]


@pytest.fixture(scope="module")
def real_data():
    source = BundledSource(BUNDLED)
    matches = pd.concat([source.matches(s) for s in SEASONS], ignore_index=True)
    players = pd.concat([source.player_gameweeks(s) for s in SEASONS], ignore_index=True)
    players = players[["match_id", "team", "minutes", "price", "expected_goals", "threat"]]
    return matches, players


def changed_result(matches: pd.DataFrame, players: pd.DataFrame, match_id: str):
    """The same data with one match's result (and its players' xG and threat) turned upside down."""
    matches = matches.copy()
    row = matches.index[matches["match_id"] == match_id][0]
    matches.loc[row, ["home_goals", "away_goals"]] = [7, 0] if matches.loc[row, "home_goals"] < 3 else [0, 7]
    players = players.copy()
    players.loc[players["match_id"] == match_id, ["expected_goals", "threat"]] = [5.0, 500.0]
    return matches, players


def test_changing_a_result_changes_nothing_for_that_match_or_earlier(real_data):
    matches, players = real_data
    target = matches[(matches["season"] == "2024-25") & (matches["gameweek"] == 20)].iloc[0]
    before = build_match_features(matches, players).set_index("match_id")
    after = build_match_features(*changed_result(matches, players, target["match_id"])).set_index("match_id")
    cutoff = before.loc[target["match_id"], "cutoff"]
    features = [c for c in before.columns if c not in ("home_goals", "away_goals")]
    same_round_or_earlier = before.index[before["cutoff"] <= cutoff]
    pd.testing.assert_frame_equal(before.loc[same_round_or_earlier, features], after.loc[same_round_or_earlier, features])
    # and the change does reach later gameweeks, so the comparison above can fail
    later = before.index[before["cutoff"] > cutoff]
    assert not before.loc[later, features].equals(after.loc[later, features])


def test_walk_forward_predictions_do_not_see_their_own_gameweek(real_data):
    matches, players = real_data
    target = matches[(matches["season"] == "2024-25") & (matches["gameweek"] == 20)].iloc[0]
    candidate = match_model.CANDIDATES["logistic_dc_elo_threat"]
    base = build_match_features(matches, players)
    changed = build_match_features(*changed_result(matches, players, target["match_id"]))
    before = match_model.walk_forward(base, candidate, ["2024-25"], refit_every=1).set_index("match_id")
    after = match_model.walk_forward(changed, candidate, ["2024-25"], refit_every=1).set_index("match_id")
    gameweeks = base.set_index("match_id")["gameweek"]
    up_to = before.index[gameweeks.loc[before.index] <= 20]
    pd.testing.assert_frame_equal(before.loc[up_to], after.loc[up_to])
    beyond = before.index[gameweeks.loc[before.index] > 20]
    assert not before.loc[beyond].equals(after.loc[beyond])


def test_team_ratings_recompute_only_from_the_first_changed_season(warehouse, instance):
    """Walk-forward makes incremental recomputation exact: a corrected 2025-26 result leaves earlier seasons'
    stored rows as they were and gives the newest season exactly the ratings a full recomputation gives (each
    season's first refit starts cold), so rounds before the corrected one keep their values bit for bit."""
    import duckdb

    from fpl_platform.defs.features.assets import matches_and_fixtures
    from fpl_platform.lib.features import build_team_ratings
    from fpl_platform_tests.conftest import materialise, resources_for, table

    resources = resources_for(warehouse)
    materialise(["raw/matches"], resources, instance, seasons=("2021-22", "2025-26"))
    materialise(["raw/fixtures"], resources, instance)
    first = materialise(["features/team_ratings"], resources, instance)
    assert (
        first.asset_materializations_for_node("features__team_ratings")[0]
        .metadata["recomputed_seasons"]
        .value.startswith("2021-22")
    )
    before = table(warehouse, "SELECT * FROM features.team_ratings ORDER BY match_id")

    with duckdb.connect(str(warehouse.file)) as connection:
        connection.execute(
            "UPDATE raw.matches SET home_goals = 6, away_goals = 0 WHERE match_id = "
            "(SELECT min(match_id) FROM raw.matches WHERE season = '2025-26' AND gameweek = 10)"
        )
    second = materialise(["features/team_ratings"], resources, instance)
    assert second.asset_materializations_for_node("features__team_ratings")[0].metadata["recomputed_seasons"].value == "2025-26"
    after = table(warehouse, "SELECT * FROM features.team_ratings ORDER BY match_id")
    earlier = before["season"] < "2025-26"
    pd.testing.assert_frame_equal(
        before[earlier].reset_index(drop=True), after[after["season"] < "2025-26"].reset_index(drop=True)
    )

    full = build_team_ratings(matches_and_fixtures(warehouse)).set_index("match_id")
    newest = after[after["season"] == "2025-26"].set_index("match_id")
    for column in ("dc_p_home", "home_attack", "elo_home"):
        assert (newest[column].to_numpy() == full.loc[newest.index, column].to_numpy()).all(), column
    moved = (newest["dc_p_home"] - before[~earlier].set_index("match_id")["dc_p_home"]).abs()
    # the corrected result is in the fits of the rounds after gameweek 10 only
    assert moved[newest["gameweek"] <= 10].max() == 0 and moved[newest["gameweek"] > 10].max() > 1e-3


def test_player_features_rebuild_only_from_the_first_changed_round(warehouse, instance):
    """A corrected 2025-26 gameweek-10 player row rebuilds only the rounds from gameweek 10 on, and they equal a
    full rebuild's; a round that is gone from the inputs is deleted."""
    import duckdb
    import numpy as np

    from fpl_platform.lib.player_model import FEATURES, build_player_features
    from fpl_platform_tests.conftest import materialise, resources_for, table

    def rebuilt(result, what: str = "rounds") -> str:
        return result.asset_materializations_for_node("features__player_features")[0].metadata[f"rebuilt_{what}"].value

    resources = resources_for(warehouse)
    materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2024-25", "2025-26"))
    materialise(["raw/fixtures"], resources, instance)
    materialise(["features/team_ratings"], resources, instance)
    first = materialise(["features/player_features"], resources, instance)
    assert rebuilt(first, "seasons") == "2024-25, 2025-26"
    before = table(warehouse, "SELECT * FROM features.player_features ORDER BY player_id, match_id")
    last = int(before.loc[before["season"] == "2025-26", "gameweek"].max())
    assert rebuilt(materialise(["features/player_features"], resources, instance)) == "none"

    with duckdb.connect(str(warehouse.file)) as connection:
        connection.execute(
            "UPDATE raw.player_gameweeks SET points = points + 10 WHERE season = '2025-26' AND gameweek = 10 AND minutes > 0"
        )
    second = materialise(["features/player_features"], resources, instance)
    assert rebuilt(second) == f"2025-26 gameweeks 10-{last}" and rebuilt(second, "seasons") == "2025-26"
    assert second.asset_materializations_for_node("features__player_features")[0].metadata["rebuilt_rows"].value == int(
        ((before["season"] == "2025-26") & (before["gameweek"] >= 10)).sum()
    )
    after = table(warehouse, "SELECT * FROM features.player_features ORDER BY player_id, match_id")
    kept = (before["season"] < "2025-26") | (before["gameweek"] < 10)
    pd.testing.assert_frame_equal(before[kept].reset_index(drop=True), after[kept].reset_index(drop=True))
    late = after[(after["season"] == "2025-26") & (after["gameweek"] > 10)]
    assert (late["points_last_38"].to_numpy() != before.loc[late.index, "points_last_38"].to_numpy()).any()

    players = table(warehouse, "SELECT * FROM raw.player_gameweeks")
    ratings = table(warehouse, "SELECT * FROM features.team_ratings")
    full = build_player_features(players, ratings).sort_values(["player_id", "match_id"]).reset_index(drop=True)
    assert len(full) == len(after) and (full["match_id"].to_numpy() == after["match_id"].to_numpy()).all()
    for column in FEATURES:  # form from the kept tail of earlier rows equals form from all of them
        assert np.allclose(after[column].astype(float), full[column].astype(float), equal_nan=True), column

    with duckdb.connect(str(warehouse.file)) as connection:  # the last round leaves both inputs
        for source in ("raw.player_gameweeks", "features.team_ratings"):
            connection.execute(f"DELETE FROM {source} WHERE season = '2025-26' AND gameweek = {last}")
    third = materialise(["features/player_features"], resources, instance)
    assert rebuilt(third) == "none" and rebuilt(third, "seasons") == "none"
    gone = table(warehouse, f"SELECT count(*) AS n FROM features.player_features WHERE season = '2025-26' AND gameweek = {last}")
    assert gone["n"].iat[0] == 0
    assert len(table(warehouse, "SELECT * FROM features.player_features")) == len(after) - int(
        ((after["season"] == "2025-26") & (after["gameweek"] == last)).sum()
    )


def test_rounds_to_rebuild_from_the_earliest_changed_round():
    """From the earliest changed round's first instant on (the earlier of its two, when it moved); gone rounds
    are listed for deletion; per-season digests of an earlier release mean a full rebuild."""
    from fpl_platform.lib.features import rounds_to_rebuild

    def digest(day: int, content: str) -> str:
        return f"2025-08-{day:02d}T19:00:00+00:00|{content}|-"

    before = {"2025-26:01": digest(15, "a"), "2025-26:02": digest(22, "b"), "2025-26:03": digest(29, "c")}
    assert rounds_to_rebuild(before, before) == ([], [], None)
    changed = {**before, "2025-26:02": digest(22, "B")}
    assert rounds_to_rebuild(changed, before)[:2] == (["2025-26:02", "2025-26:03"], [])
    moved = {**before, "2025-26:03": digest(30, "c")}
    moved.pop("2025-26:02")
    rebuilt, gone, since = rounds_to_rebuild(moved, before)
    assert (rebuilt, gone, since) == (["2025-26:03"], ["2025-26:02"], pd.Timestamp("2025-08-22T19:00:00Z"))
    assert rounds_to_rebuild(before, {"2025-26": "1/2|3/4"}) == (sorted(before), [], None)
    assert rounds_to_rebuild(before, {}) == (sorted(before), [], None)


def test_a_players_form_is_bit_for_bit_independent_of_other_players_rows():
    """Rolling form of a row depends only on that player's earlier rows, exactly: the weekly retrain's fit cache
    finds last week's block fits only if unchanged rows hash the same after a week of new rows for everyone."""
    import numpy as np

    from fpl_platform.lib.player_model import ROLLING_STATS, player_history

    rng = np.random.default_rng(3)

    def rows(player_id: int, n: int, scale: float) -> pd.DataFrame:
        frame = pd.DataFrame({s: np.round(rng.uniform(0, scale, n), 2) for s in ROLLING_STATS})
        frame["player_id"], frame["season"] = player_id, "2025-26"
        frame["kickoff"] = pd.Timestamp("2025-08-15", tz="UTC") + pd.to_timedelta(np.arange(n) * 7, unit="D")
        frame["minutes"] = rng.choice([0.0, 30.0, 90.0], n)
        return frame

    player = rows(2, 40, 1.0)
    alone = player_history(player)
    crowded = player_history(pd.concat([rows(1, 400, 1e6), player, rows(3, 50, 7.0)], ignore_index=True))
    mine = crowded[crowded["player_id"] == 2].reset_index(drop=True)
    form = [c for c in alone.columns if "_last_" in c]
    assert np.array_equal(alone[form].to_numpy(), mine[form].to_numpy(), equal_nan=True)


ELO_SCRIPT = """
import sys
import pandas as pd
from fpl_platform.lib.ratings import Elo
from fpl_platform.lib.sources import BundledSource
from fpl_platform_tests.conftest import BUNDLED
source = BundledSource(BUNDLED)
matches = pd.concat([source.matches(s) for s in sys.argv[1].split(",")], ignore_index=True)
Elo().walk_forward(matches).to_parquet(sys.argv[2])
"""


def test_elo_is_bit_for_bit_the_same_in_every_process(tmp_path):
    """Two processes with different string-hash seeds (as two replays, or a replay and its resume, are) rate
    every match identically: no result may depend on the iteration order of a set of team names."""
    import os
    import subprocess
    import sys

    import numpy as np

    frames = []
    for seed in ("1", "2", "3"):
        out = tmp_path / f"elo_{seed}.parquet"
        subprocess.run(
            [sys.executable, "-c", ELO_SCRIPT, ",".join(SEASONS), str(out)],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        frames.append(pd.read_parquet(out))
    for other in frames[1:]:
        assert other["match_id"].equals(frames[0]["match_id"])
        for column in ("elo_home", "elo_away", "elo_expected_home"):
            assert np.array_equal(other[column].to_numpy(), frames[0][column].to_numpy()), column


def _pandas_team_stats(players: pd.DataFrame) -> pd.DataFrame:
    """An independent reference for `TEAM_STATS_SQL`: the same figures with pandas' group sums."""
    sums = (
        players.groupby(["match_id", "team"], as_index=False)[["expected_goals", "threat"]]
        .sum(min_count=1)
        .rename(columns={"expected_goals": "xg_for", "threat": "threat_for"})
    )
    lineup = (
        players[players["minutes"] > 0]
        .sort_values(["match_id", "team", "minutes", "price"], ascending=[True, True, False, False], kind="stable")
        .groupby(["match_id", "team"])
        .head(11)
        .groupby(["match_id", "team"], as_index=False)["price"]
        .sum(min_count=1)
        .rename(columns={"price": "lineup_value"})
    )
    return sums.merge(lineup, on=["match_id", "team"], how="left")


def test_team_stats_in_duckdb_are_the_pandas_ones(real_data):
    """The match-features asset sums the players' rows in DuckDB (`TEAM_STATS_SQL`, also behind `team_stats`);
    an independent pandas computation gives the same groups, NULLs and fielded XIs, sums equal to the last bit
    or two."""
    import numpy as np

    from fpl_platform.lib.features import TEAM_PLAYER_STATS, team_stats

    _, players = real_data
    players = players.sample(frac=1.0, random_state=3)  # the row order must not matter
    expected = _pandas_team_stats(players).sort_values(["match_id", "team"]).reset_index(drop=True)
    found = team_stats(players)
    assert found[["match_id", "team"]].equals(expected[["match_id", "team"]])
    for column in TEAM_PLAYER_STATS:
        want, got = expected[column].to_numpy(float), found[column].to_numpy(float)
        assert (np.isnan(want) == np.isnan(got)).all(), column
        assert np.allclose(want[~np.isnan(want)], got[~np.isnan(got)], rtol=1e-12, atol=0), column
    assert expected["lineup_value"].notna().sum() > 0.9 * len(expected)
