"""Backtest evaluation: per-season and pooled scores, paired comparisons with bootstrap CIs by gameweek."""

from __future__ import annotations

import pandas as pd

from fpl_platform.lib.metrics import bootstrap_mean_difference, match_scores, outcome_index, rps

PROBABILITIES = ["p_home", "p_draw", "p_away"]


def match_metrics(backtest: pd.DataFrame) -> pd.DataFrame:
    """One row per (season or 'pooled', model) with RPS, Brier, log loss and accuracy."""
    rows = []
    groups = [*backtest.groupby(["model", "season"]), *(((model, "pooled"), g) for model, g in backtest.groupby("model"))]
    for (model, season), group in groups:
        scores = match_scores(group[PROBABILITIES].to_numpy(), outcome_index(group["home_goals"], group["away_goals"]))
        rows.append({"domain": "match", "season": season, "model": model, "subset": "all", **scores})
    frame = pd.DataFrame(rows)
    for column in ("mae", "rmse", "r2"):
        frame[column] = float("nan")
    return frame


def match_comparisons(backtest: pd.DataFrame, baseline: str = "dixon_coles") -> pd.DataFrame:
    """Paired RPS differences of each model against `baseline` on the matches both predicted."""
    wide = backtest.assign(
        loss=rps(backtest[PROBABILITIES].to_numpy(), outcome_index(backtest["home_goals"], backtest["away_goals"]))
    )
    reference = wide[wide["model"] == baseline][["match_id", "loss"]].rename(columns={"loss": "baseline_loss"})
    rows = []
    for model, group in wide[wide["model"] != baseline].groupby("model"):
        paired = group.merge(reference, on="match_id")
        result = bootstrap_mean_difference(
            paired["loss"] - paired["baseline_loss"], paired["season"] + ":" + paired["gameweek"].astype(str)
        )
        rows.append({"domain": "match", "model": model, "baseline": baseline, "metric": "rps", **result})
    return pd.DataFrame(rows)
