"""Paired tests for champion/challenger decisions on the same matches (or player-fixtures).

Diebold-Mariano compares mean loss with a HAC (Newey-West) variance; Wilcoxon signed-rank is the
distribution-free alternative. `promotion_decision` promotes only when the challenger is better by
the margin and the paired test supports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def diebold_mariano(challenger_loss, champion_loss, *, lags: int = 0) -> tuple[float, float]:
    """DM statistic and one-sided p-value for H1: the challenger's expected loss is lower."""
    from scipy.stats import norm

    d = np.asarray(challenger_loss, dtype=float) - np.asarray(champion_loss, dtype=float)
    n = len(d)
    if n < 2:
        return float("nan"), float("nan")
    centred = d - d.mean()
    variance = centred @ centred / n
    for lag in range(1, lags + 1):
        weight = 1 - lag / (lags + 1)
        variance += 2 * weight * (centred[lag:] @ centred[:-lag]) / n
    if variance <= 0:
        return float("nan"), float("nan")
    statistic = d.mean() / np.sqrt(variance / n)
    return float(statistic), float(norm.cdf(statistic))


def wilcoxon_one_sided(challenger_loss, champion_loss) -> tuple[float, float]:
    """Wilcoxon signed-rank statistic and one-sided p-value for H1: challenger losses are lower."""
    from scipy.stats import wilcoxon

    d = np.asarray(challenger_loss, dtype=float) - np.asarray(champion_loss, dtype=float)
    if np.allclose(d, 0):
        return float("nan"), 1.0
    result = wilcoxon(d, alternative="less", zero_method="wilcox")
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class Decision:
    """A champion/challenger verdict with the evidence behind it."""

    promote: bool
    reason: str
    score_challenger: float
    score_champion: float
    improvement: float
    p_value: float
    test: str
    n: int


def promotion_decision(
    challenger_loss,
    champion_loss,
    *,
    margin: float = 0.0005,
    alpha: float = 0.05,
    test: str = "diebold_mariano",
    aggregate: str = "mean",
) -> Decision:
    """Promote only if the score improves by at least `margin` and the one-sided paired test has p < alpha.

    The score is the mean loss, or with aggregate="rmse" the root of the mean squared error (losses are
    then squared errors); the paired test always runs on the per-item losses.
    """
    if aggregate not in ("mean", "rmse"):
        raise ValueError(f"aggregate must be 'mean' or 'rmse', not {aggregate!r}")
    if test not in ("diebold_mariano", "wilcoxon"):
        raise ValueError(f"test must be 'diebold_mariano' or 'wilcoxon', not {test!r}")
    challenger = np.asarray(challenger_loss, dtype=float)
    champion = np.asarray(champion_loss, dtype=float)
    if challenger.shape != champion.shape or len(challenger) == 0:
        raise ValueError(f"paired losses must have the same non-zero length ({challenger.shape} vs {champion.shape})")
    score = np.mean if aggregate == "mean" else (lambda x: float(np.sqrt(np.mean(x))))
    improvement = float(score(champion) - score(challenger))
    _, p_value = diebold_mariano(challenger, champion) if test == "diebold_mariano" else wilcoxon_one_sided(challenger, champion)
    if p_value != p_value:  # no variance in the differences: certain if they all favour the challenger, else no evidence
        p_value = 0.0 if improvement > 0 else 1.0
    if improvement < margin:
        promote, reason = False, f"improvement {improvement:.5f} is below the margin {margin:.5f}"
    elif not p_value < alpha:
        promote, reason = False, f"{test} p = {p_value:.4f} is not below {alpha}"
    else:
        promote, reason = True, f"improvement {improvement:.5f} ≥ {margin:.5f} and {test} p = {p_value:.4f} < {alpha}"
    return Decision(
        promote, reason, float(score(challenger)), float(score(champion)), improvement, float(p_value), test, len(challenger)
    )
