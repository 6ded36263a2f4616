"""Per-gameweek performance with statistical process control against the model's own backtest.

Lower is better for both primary metrics (RPS for matches, RMSE for players), so only upper limits
matter. The centre line and σ come from the walk-forward backtest's per-gameweek values; σ of the
rolling window is measured on the backtest's own rolling windows (not assumed σ/√w), because
gameweeks differ in size and are not independent. While a served window is still filling (the first
gameweeks served), its limits are those of a window of that many gameweeks, each σ measured the same way:
one gameweek's score scatters more than six pooled, and held to the six-gameweek limits it would raise
false alarms. CUSUM (one-sided, standardised) flags a sustained
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


def _rounds(items: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Rows in round order, each round's rows in their given order, and each round's first and end row."""
    # a round and a window of rounds are then contiguous slices: the same rows in the same order as
    # concatenating the rounds' groups (the same float sums)
    items = items.sort_values(["season", "gameweek"], kind="stable").reset_index(drop=True)
    keys = items["season"].astype(str) + "\0" + items["gameweek"].astype(str)
    starts = np.flatnonzero(keys.ne(keys.shift()).to_numpy())
    return items, starts, np.append(starts[1:], len(items))


def gameweek_series(items: pd.DataFrame, score: Callable[[pd.DataFrame], dict], window: int) -> pd.DataFrame:
    """Per (season, gameweek) in order: the scores of that gameweek and of the pooled last `window` gameweeks."""
    items, starts, ends = _rounds(items)
    rows = []
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        own, pooled = items.iloc[start:end], items.iloc[starts[max(0, i - window + 1)] : end]
        row = {"season": own["season"].iat[0], "gameweek": int(own["gameweek"].iat[0]), **score(own)}
        row.update({f"rolling_{k}": v for k, v in score(pooled).items() if k != "n"})
        row["rolling_n"] = len(pooled)
        row["rolling_gameweeks"] = i + 1 - max(0, i - window + 1)
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ControlLimits:
    """Centre line and σ of one gameweek and of a rolling window, from the backtest."""

    centre: float
    sigma_gameweek: float
    sigma_rolling: float  # the full window's
    gameweeks: int
    sigma_filling: tuple[float, ...] = ()  # a window of 1, 2, ... gameweeks (fewer than the full window)

    def sigma_for(self, filled) -> np.ndarray:
        """σ of the rolling score of a window holding `filled` gameweeks (an array)."""
        sigmas = np.array([*self.sigma_filling, self.sigma_rolling])
        return sigmas[np.clip(np.asarray(filled, dtype=int), 1, len(sigmas)) - 1]

    def limits(self, warning_sigma: float, critical_sigma: float, emergency_sigma: float, filled=None) -> dict:
        """The limits, per row when `filled` (the gameweeks in each row's window) is given."""
        sigma = self.sigma_rolling if filled is None else self.sigma_for(filled)
        return {
            "centre": self.centre,
            "sigma_gameweek": self.sigma_gameweek,
            "sigma_rolling": sigma,
            "ucl_gameweek": self.centre + 3 * self.sigma_gameweek,
            "warning_limit": self.centre + warning_sigma * sigma,
            "critical_limit": self.centre + critical_sigma * sigma,
            "emergency_limit": self.centre + emergency_sigma * sigma,
        }


def control_limits(items: pd.DataFrame, score: Callable[[pd.DataFrame], dict], metric: str, window: int) -> ControlLimits:
    """Limits from a backtest's items: mean and σ of a gameweek's `metric`, and σ of `metric` pooled over windows
    of 1 to `window` gameweeks, each measured on the backtest's full windows of that size."""
    items, starts, ends = _rounds(items)
    if len(starts) < 3:
        raise ValueError(f"control limits need at least 3 backtest gameweeks, got {len(starts)}")
    sigmas, centre = [], 0.0
    for size in range(1, window + 1):
        pooled = np.array([score(items.iloc[starts[i - size + 1] : ends[i]])[metric] for i in range(size - 1, len(starts))])
        if size == 1:
            centre = float(pooled.mean())
        # too short a backtest for windows this long: the longest measured stands in
        sigmas.append(max(float(np.std(pooled, ddof=1)), 1e-12) if len(pooled) >= 3 else sigmas[-1])
    return ControlLimits(centre, sigmas[0], sigmas[-1], len(starts), tuple(sigmas[:-1]))


def cusum(values: np.ndarray, centre: float, sigma: float, k: float) -> np.ndarray:
    """One-sided upper CUSUM of standardised values: S_t = max(0, S_{t-1} + (x_t − centre)/σ − k)."""
    out, total = np.zeros(len(values)), 0.0
    for i, value in enumerate(np.asarray(values, dtype=float)):
        total = max(0.0, total + (value - centre) / sigma - k)
        out[i] = total
    return out


def classify(series: pd.DataFrame, metric: str, limits: ControlLimits, settings: dict) -> pd.DataFrame:
    """Add limits, CUSUM and a status per gameweek to a gameweek_series frame."""
    filled = series.get("rolling_gameweeks")
    bounds = limits.limits(settings["warning_sigma"], settings["critical_sigma"], settings["emergency_sigma"], filled)
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
