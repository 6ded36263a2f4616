"""Forecasting benchmarks: quality of every backtested model (with the betting market when the
football-data.co.uk files are beside the repo), our Dixon-Coles against penaltyblog's on the same
weekly refits, and the wall time of materialising the whole graph from a cold warehouse.

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/bench_forecasting.py
(`make bench` does both.) Prints markdown tables for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
FOOTBALL_DATA = REPO.parent / "shared" / "data" / "football-data-co-uk"
SEASONS = ["2021-22", "2022-23", "2023-24", "2024-25", "2025-26"]
XI, WINDOW_DAYS = 0.0018, 3 * 365


def load_matches() -> pd.DataFrame:
    from fpl_platform.lib.seasons import ALL_SEASONS
    from fpl_platform.lib.sources import BundledSource

    source = BundledSource(REPO / "data")
    frames = [source.matches(s) for s in ALL_SEASONS if s <= SEASONS[-1]]
    matches = pd.concat(frames, ignore_index=True).sort_values("kickoff").reset_index(drop=True)
    matches["kickoff"] = pd.to_datetime(matches["kickoff"], utc=True)
    return matches


def refit_plan(matches: pd.DataFrame):
    """Before every gameweek of the backtest seasons: the history window and the gameweek's matches."""
    from fpl_platform.lib.ratings import rounds

    plan = rounds(matches)
    for r in plan[plan["season"].isin(SEASONS)].itertuples():
        history = matches[(matches["kickoff"] < r.cutoff) & (matches["kickoff"] >= r.cutoff - pd.Timedelta(days=WINDOW_DAYS))]
        targets = matches[(matches["season"] == r.season) & (matches["gameweek"] == r.gameweek)]
        yield r.cutoff, history, targets


def ours(matches: pd.DataFrame) -> tuple[pd.DataFrame, float, int]:
    from fpl_platform.lib.ratings import walk_forward_dixon_coles

    started = time.perf_counter()
    rated = walk_forward_dixon_coles(matches, xi=XI, window_days=WINDOW_DAYS, ridge=5.0, seasons=SEASONS)
    elapsed = time.perf_counter() - started
    return rated[["match_id", "dc_p_home", "dc_p_draw", "dc_p_away"]], elapsed, rated["cutoff"].nunique()


def penaltyblog(matches: pd.DataFrame) -> tuple[pd.DataFrame, float, int]:
    import penaltyblog as pb

    rows, refits, elapsed = [], 0, 0.0
    for cutoff, history, targets in refit_plan(matches):
        started = time.perf_counter()
        weights = pb.models.dixon_coles_weights(
            history["kickoff"].dt.tz_localize(None), xi=XI, base_date=cutoff.tz_localize(None)
        )
        model = pb.models.DixonColesGoalModel(
            history["home_goals"].to_numpy(), history["away_goals"].to_numpy(),
            history["home_team"].to_numpy(), history["away_team"].to_numpy(), weights,
        )  # fmt: skip
        model.fit()
        known = set(history["home_team"]) | set(history["away_team"])
        for m in targets.itertuples():
            if m.home_team in known and m.away_team in known:
                grid = model.predict(m.home_team, m.away_team)
                rows.append((m.match_id, grid.home_win, grid.draw, grid.away_win))
        elapsed += time.perf_counter() - started
        refits += 1
    return pd.DataFrame(rows, columns=["match_id", "dc_p_home", "dc_p_draw", "dc_p_away"]), elapsed, refits


def score(predictions: pd.DataFrame, matches: pd.DataFrame) -> float:
    from fpl_platform.lib.metrics import outcome_index, rps

    joined = predictions.merge(matches, on="match_id")
    return float(
        rps(
            joined[["dc_p_home", "dc_p_draw", "dc_p_away"]].to_numpy(), outcome_index(joined["home_goals"], joined["away_goals"])
        ).mean()
    )


def bench_dixon_coles() -> None:
    matches = load_matches()
    mine, mine_seconds, mine_refits = ours(matches)
    print(
        f"\n## Dixon-Coles walk-forward, {SEASONS[0]} … {SEASONS[-1]} (ξ = {XI}, {WINDOW_DAYS}-day window, refit before every gameweek)\n"
    )
    print(
        "| implementation | refits | seconds | s / refit | RPS (matches both rate) | n | RPS (all matches) |\n|---|---|---|---|---|---|---|"
    )
    try:
        theirs, their_seconds, their_refits = penaltyblog(matches)
    except ImportError:
        print(
            f"| ours | {mine_refits} | {mine_seconds:.2f} | {mine_seconds / mine_refits:.4f} | | | {score(mine, matches):.4f} |"
        )
        print("\n(penaltyblog not installed: `pip install -e '.[bench]'`)")
        return
    common = mine[mine["match_id"].isin(theirs["match_id"])]
    print(
        f"| ours (numpy/scipy, analytic gradient, warm starts) | {mine_refits} | {mine_seconds:.2f} | {mine_seconds / mine_refits:.4f} "
        f"| {score(common, matches):.4f} | {len(common)} | {score(mine, matches):.4f} ({len(mine)}) |"
    )
    print(
        f"| penaltyblog 1.13.1 DixonColesGoalModel | {their_refits} | {their_seconds:.2f} | {their_seconds / their_refits:.4f} "
        f"| {score(theirs, matches):.4f} | {len(theirs)} | (cannot rate a team absent from its window) |"
    )
    print(f"\nspeed-up: {their_seconds / mine_seconds:.1f}×")


# The bucket's error split into what a perfect playing-time oracle would remove: the oracle keeps our
# E[points | plays] (= predicted_points / p_play) and replaces P(plays) by whether the player actually played.
PLAYER_HAUL_DIAGNOSTIC = """
WITH rows AS (
    SELECT actual_points, minutes, predicted_points,
           CASE WHEN minutes > 0 THEN predicted_points / greatest(p_play, 1e-6) ELSE 0 END AS oracle_minutes
    FROM ml.player_backtest
)
SELECT subset, count(*) AS n, avg(actual_points) AS mean_actual, avg(predicted_points) AS mean_predicted,
       sqrt(avg(power(actual_points - predicted_points, 2))) AS rmse,
       avg(oracle_minutes) AS mean_oracle, sqrt(avg(power(actual_points - oracle_minutes, 2))) AS rmse_oracle
FROM (SELECT *, 'all' AS subset FROM rows UNION ALL SELECT *, '>=5' AS subset FROM rows WHERE actual_points >= 5)
GROUP BY subset ORDER BY subset
"""
# The >=5 bucket rewards predictions that are too high for everyone: scaling ours up trades all-rows RMSE and
# MAE for it. Not served; it shows what meeting that target alone would cost.
PLAYER_HAUL_TRADE_OFF = """
SELECT factor, sqrt(avg(power(actual_points - factor * predicted_points, 2))) AS rmse_all,
       avg(abs(actual_points - factor * predicted_points)) AS mae_all,
       sqrt(avg(power(actual_points - factor * predicted_points, 2)) FILTER (WHERE actual_points >= 5)) AS rmse_ge5
FROM ml.player_backtest CROSS JOIN (VALUES (1.0), (1.1), (1.2), (1.25), (1.3)) AS f(factor)
GROUP BY factor ORDER BY factor
"""


def bench_pipeline() -> None:
    """The whole graph from a cold warehouse (odds from the football-data files when present)."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FPL_PLATFORM_", "DAGSTER_HOME"))}
        env["FPL_PLATFORM_HOME"] = home
        if FOOTBALL_DATA.exists():
            env["FPL_PLATFORM_FOOTBALL_DATA"] = str(FOOTBALL_DATA)
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).with_name("fpl-platform")), "demo"], env=env, check=True, cwd=REPO, capture_output=True
        )
        elapsed = time.perf_counter() - started
        import duckdb

        connection = duckdb.connect(str(Path(home) / "analytics.duckdb"), read_only=True)
        print(
            f"\n## Whole graph from a cold warehouse: {elapsed:.0f} s (`fpl-platform demo`, odds {'loaded' if FOOTBALL_DATA.exists() else 'absent'})\n"
        )
        print("### Matches, walk-forward, pooled\n")
        print(connection.execute(
            "SELECT model, n, round(rps, 4) AS rps, round(brier, 4) AS brier, round(log_loss, 4) AS log_loss, round(accuracy, 3) AS accuracy "
            "FROM ml.backtest_metrics WHERE domain = 'match' AND season = 'pooled' ORDER BY rps"
        ).df().to_markdown(index=False))  # fmt: skip
        print("\n### Matches, RPS per season\n")
        per_season = (
            connection.execute("SELECT season, model, rps FROM ml.backtest_metrics WHERE domain = 'match' AND season <> 'pooled'")
            .df()
            .pivot(index="season", columns="model", values="rps")
        )
        print(per_season.round(4).to_markdown())
        print("\n### Paired comparisons (negative = better than the baseline; 95% bootstrap CI by gameweek)\n")
        print(connection.execute(
            "SELECT domain, model, baseline, metric, n, groups, round(mean_difference, 5) AS mean_difference, "
            "round(ci_low, 5) AS ci_low, round(ci_high, 5) AS ci_high FROM ml.backtest_comparisons ORDER BY domain, model"
        ).df().to_markdown(index=False))  # fmt: skip
        print("\n### FPL player points, 2025-26 walk-forward\n")
        players = connection.execute(
            "SELECT model, subset, n, mae, rmse, r2 FROM ml.backtest_metrics WHERE domain = 'player' AND season = 'pooled'"
        ).df()
        players = players[players["subset"].isin(["all", "minutes>0", ">=5"])]
        print(players.round(3).sort_values(["subset", "rmse"]).to_markdown(index=False))
        print("\n### Where the >=5 bucket error comes from (ours, 2025-26)\n")
        print(connection.execute(PLAYER_HAUL_DIAGNOSTIC).df().round(3).to_markdown(index=False))
        print("\n### Ours scaled by a factor: the >=5 bucket against all rows (not served)\n")
        print(connection.execute(PLAYER_HAUL_TRADE_OFF).df().round(3).to_markdown(index=False))
        chosen = connection.execute("SELECT candidate FROM ml.match_backtest WHERE model = 'ours' LIMIT 1").fetchone()[0]
        print(f"\nmatch model selected on 2018-19 … 2020-21: {chosen}")
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()
    print(f"# fpl_platform forecasting benchmarks ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)")
    bench_dixon_coles()
    if not args.skip_pipeline:
        bench_pipeline()


if __name__ == "__main__":
    main()
