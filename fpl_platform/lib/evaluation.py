"""Backtest evaluation: per-season and pooled scores, paired comparisons with bootstrap CIs by gameweek."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fpl_platform.lib.metrics import bootstrap_mean_difference, match_scores, outcome_index, regression_scores, rps

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


PLAYER_MODELS = {"ours": "predicted_points", "last_5_mean": "baseline_last_5", "last_38_mean": "baseline_last_38"}
BUCKETS = [("0", 0, 0), ("1-2", 1, 2), ("3-4", 3, 4), (">=5", 5, 10_000)]


def player_metrics(backtest: pd.DataFrame) -> pd.DataFrame:
    """MAE/RMSE/R² per model on all rows, on minutes > 0, and RMSE per actual-points bucket; per season and pooled."""
    rows = []
    scopes = [*backtest.groupby("season"), ("pooled", backtest)]
    for season, frame in scopes:
        subsets = [("all", frame), ("minutes>0", frame[frame["minutes"] > 0])]
        subsets += [(label, frame[frame["actual_points"].between(low, high)]) for label, low, high in BUCKETS]
        if (frame["actual_points"] < 0).any():
            subsets.append(("<0", frame[frame["actual_points"] < 0]))
        for subset, part in subsets:
            if part.empty:
                continue
            for model, column in PLAYER_MODELS.items():
                scores = regression_scores(part[column], part["actual_points"])
                if subset not in ("all", "minutes>0"):
                    scores["r2"] = np.nan  # within one points bucket the variance is too small for R² to mean anything
                rows.append({"domain": "player", "season": season, "model": model, "subset": subset, **scores})
    frame = pd.DataFrame(rows)
    for column in ("rps", "brier", "log_loss", "accuracy"):
        frame[column] = np.nan
    return frame


def player_comparisons(backtest: pd.DataFrame, baseline: str = "baseline_last_5") -> pd.DataFrame:
    """Paired squared-error differences of our predictions against a rolling-mean baseline, CI by gameweek."""
    ours = (backtest["predicted_points"] - backtest["actual_points"]) ** 2
    reference = (backtest[baseline] - backtest["actual_points"]) ** 2
    groups = backtest["season"] + ":" + backtest["gameweek"].astype(str)
    result = bootstrap_mean_difference(ours - reference, groups)
    name = {v: k for k, v in PLAYER_MODELS.items()}[baseline]
    return pd.DataFrame([{"domain": "player", "model": "ours", "baseline": name, "metric": "squared_error", **result}])
