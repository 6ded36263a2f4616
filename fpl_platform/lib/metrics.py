"""Scoring rules (definitions in DESIGN.md) and paired comparisons with bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTCOMES = ("H", "D", "A")


def outcome_index(home_goals, away_goals) -> np.ndarray:
    """0 = home win, 1 = draw, 2 = away win."""
    difference = np.asarray(home_goals) - np.asarray(away_goals)
    return np.where(difference > 0, 0, np.where(difference == 0, 1, 2))


def one_hot(outcome: np.ndarray) -> np.ndarray:
    return np.eye(3)[np.asarray(outcome, dtype=int)]


def rps(probabilities: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Ranked probability score per match: ½[(p_H − o_H)² + (p_H + p_D − o_H − o_D)²]."""
    p = np.asarray(probabilities, dtype=float)
    o = one_hot(outcome)
    cumulative = np.cumsum(p - o, axis=1)[:, :2]
    return 0.5 * (cumulative**2).sum(axis=1)


def brier(probabilities: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Σ_k (p_k − o_k)² per match (0–2)."""
    return ((np.asarray(probabilities, dtype=float) - one_hot(outcome)) ** 2).sum(axis=1)


def log_loss(probabilities: np.ndarray, outcome: np.ndarray, eps: float = 1e-15) -> np.ndarray:
    """−ln p_outcome per match."""
    p = np.asarray(probabilities, dtype=float)
    return -np.log(np.clip(p[np.arange(len(p)), np.asarray(outcome, dtype=int)], eps, 1.0))


def match_scores(probabilities: np.ndarray, outcome: np.ndarray) -> dict[str, float]:
    """Mean RPS, Brier, log loss and accuracy over matches."""
    p = np.asarray(probabilities, dtype=float)
    return {
        "rps": float(rps(p, outcome).mean()),
        "brier": float(brier(p, outcome).mean()),
        "log_loss": float(log_loss(p, outcome).mean()),
        "accuracy": float((p.argmax(axis=1) == np.asarray(outcome)).mean()),
        "n": len(p),
    }


def regression_scores(predicted, actual) -> dict[str, float]:
    """MAE, RMSE and R² of point predictions."""
    predicted, actual = np.asarray(predicted, dtype=float), np.asarray(actual, dtype=float)
    error = predicted - actual
    total = ((actual - actual.mean()) ** 2).sum()
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "r2": float(1 - (error**2).sum() / total) if total > 0 else float("nan"),
        "n": len(actual),
    }


def bootstrap_mean_difference(
    differences, groups, *, samples: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Mean of paired differences with a percentile CI from resampling whole groups (e.g. gameweeks)."""
    frame = pd.DataFrame({"d": np.asarray(differences, dtype=float), "g": np.asarray(groups)})
    sums = frame.groupby("g")["d"].agg(["sum", "count"])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sums), size=(samples, len(sums)))
    totals = sums["sum"].to_numpy()[picks].sum(axis=1) / sums["count"].to_numpy()[picks].sum(axis=1)
    alpha = (1 - level) / 2
    return {
        "mean_difference": float(frame["d"].mean()),
        "ci_low": float(np.quantile(totals, alpha)),
        "ci_high": float(np.quantile(totals, 1 - alpha)),
        "groups": len(sums),
        "n": len(frame),
    }


def demargin(odds: np.ndarray) -> np.ndarray:
    """Implied probabilities from decimal 1X2 odds, margin removed proportionally (rows with a gap stay NaN)."""
    implied = 1.0 / np.asarray(odds, dtype=float)
    return implied / implied.sum(axis=1, keepdims=True)
