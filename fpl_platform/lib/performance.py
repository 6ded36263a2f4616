"""Per-gameweek performance with statistical process control against the model's own backtest.

Lower is better for both primary metrics (RPS for matches, RMSE for players), so only upper limits
matter. The centre line and σ come from the walk-forward backtest's per-gameweek values; σ of the
rolling window is measured on the backtest's own rolling windows (not assumed σ/√w), because
gameweeks differ in size and are not independent. CUSUM (one-sided, standardised) flags a sustained
shift that no single gameweek makes obvious.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fpl_platform.lib.metrics import match_scores, outcome_index, regression_scores

STATUSES = ("ok", "warning", "critical", "emergency")
MATCH_METRICS = ("rps", "brier", "log_loss", "accuracy")
PLAYER_METRICS = ("mae", "rmse", "r2")


def match_score(items: pd.DataFrame) -> dict[str, float]:
    """RPS, Brier, log loss, accuracy of rows with p_home/p_draw/p_away and goals."""
    return match_scores(items[["p_home", "p_draw", "p_away"]].to_numpy(), outcome_index(items["home_goals"], items["away_goals"]))


def player_score(items: pd.DataFrame) -> dict[str, float]:
    """MAE, RMSE, R² of rows with predicted_points and actual_points."""
    return regression_scores(items["predicted_points"], items["actual_points"])


def gameweek_series(items: pd.DataFrame, score: Callable[[pd.DataFrame], dict], window: int) -> pd.DataFrame:
    """Per (season, gameweek) in order: the scores of that gameweek and of the pooled last `window` gameweeks."""
    # rows in round order, each round's rows in their given order: a round and a window of rounds are then
    # contiguous slices, the same rows in the same order as concatenating the rounds' groups (same float sums)
    items = items.sort_values(["season", "gameweek"], kind="stable").reset_index(drop=True)
    keys = items["season"].astype(str) + "\0" + items["gameweek"].astype(str)
    starts = np.flatnonzero(keys.ne(keys.shift()).to_numpy())
    ends = np.append(starts[1:], len(items))
    rows = []
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        own, pooled = items.iloc[start:end], items.iloc[starts[max(0, i - window + 1)] : end]
        row = {"season": own["season"].iat[0], "gameweek": int(own["gameweek"].iat[0]), **score(own)}
        row.update({f"rolling_{k}": v for k, v in score(pooled).items() if k != "n"})
        row["rolling_n"] = len(pooled)
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ControlLimits:
    """Centre line and σ of one gameweek and of a rolling window, from the backtest."""

    centre: float
    sigma_gameweek: float
    sigma_rolling: float
    gameweeks: int

    def limits(self, warning_sigma: float, critical_sigma: float, emergency_sigma: float) -> dict[str, float]:
        return {
            "centre": self.centre,
            "sigma_gameweek": self.sigma_gameweek,
            "sigma_rolling": self.sigma_rolling,
            "ucl_gameweek": self.centre + 3 * self.sigma_gameweek,
            "warning_limit": self.centre + warning_sigma * self.sigma_rolling,
            "critical_limit": self.centre + critical_sigma * self.sigma_rolling,
            "emergency_limit": self.centre + emergency_sigma * self.sigma_rolling,
        }


def control_limits(backtest: pd.DataFrame, metric: str) -> ControlLimits:
    """Limits from a backtest series (gameweek_series output): mean and σ of `metric` and of `rolling_<metric>`."""
    values = backtest[metric].to_numpy(dtype=float)
    rolling = backtest[f"rolling_{metric}"].to_numpy(dtype=float)
    if len(values) < 3:
        raise ValueError(f"control limits need at least 3 backtest gameweeks, got {len(values)}")
    sigma = float(np.std(values, ddof=1))
    sigma_rolling = float(np.std(rolling, ddof=1)) if len(rolling) >= 3 else sigma
    return ControlLimits(float(values.mean()), sigma, max(sigma_rolling, 1e-12), len(values))


def cusum(values: np.ndarray, centre: float, sigma: float, k: float) -> np.ndarray:
    """One-sided upper CUSUM of standardised values: S_t = max(0, S_{t-1} + (x_t − centre)/σ − k)."""
    out, total = np.zeros(len(values)), 0.0
    for i, value in enumerate(np.asarray(values, dtype=float)):
        total = max(0.0, total + (value - centre) / sigma - k)
        out[i] = total
    return out


def classify(series: pd.DataFrame, metric: str, limits: ControlLimits, settings: dict) -> pd.DataFrame:
    """Add limits, CUSUM and a status per gameweek to a gameweek_series frame."""
    bounds = limits.limits(settings["warning_sigma"], settings["critical_sigma"], settings["emergency_sigma"])
    out = series.copy()
    for name, value in bounds.items():
        out[name] = value
    out["cusum"] = cusum(out[metric].to_numpy(), limits.centre, limits.sigma_gameweek, settings["cusum_k"])
    value, rolling = out[metric], out[f"rolling_{metric}"]
    emergency = (rolling > bounds["emergency_limit"]) | (
        value > limits.centre + settings["emergency_sigma"] * limits.sigma_gameweek
    )
    critical = (rolling > bounds["critical_limit"]) | (out["cusum"] > settings["cusum_h"])
    warning = (rolling > bounds["warning_limit"]) | (value > bounds["ucl_gameweek"])
    out["status"] = np.select([emergency, critical, warning], ["emergency", "critical", "warning"], default="ok")
    return out


def status_reason(row: pd.Series, metric: str) -> str:
    """Why a row has its status, in words with the numbers (for alerts and run keys)."""
    rolling = row[f"rolling_{metric}"]
    parts = [
        f"{metric} {row[metric]:.4f} in {row['season']} gameweek {int(row['gameweek'])}",
        f"rolling {metric} {rolling:.4f}",
        f"centre {row['centre']:.4f}",
        f"warning > {row['warning_limit']:.4f}",
        f"critical > {row['critical_limit']:.4f}",
        f"CUSUM {row['cusum']:.2f}",
    ]
    return ", ".join(parts)
