"""Distribution drift between a reference sample (the champion's training window) and a current one.

PSI uses bins from the reference's quantiles (so every reference bin holds the same share) with a
small floor on empty bins; KS is the two-sample Kolmogorov-Smirnov statistic and its p-value.
Conventional PSI reading: < 0.1 stable, 0.1–0.25 warning, > 0.25 critical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PSI_WARNING = 0.1
PSI_CRITICAL = 0.25
KS_P_VALUE = 0.01


def psi(reference, current, *, bins: int = 10, floor: float = 1e-4) -> float:
    """Population stability index of `current` against `reference` (NaNs dropped)."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if len(reference) == 0 or len(current) == 0:
        return float("nan")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:  # a constant reference: compare the share equal to that constant
        same_ref, same_cur = 1.0, float(np.mean(current == edges[0]))
        expected, actual = np.array([same_ref, 1 - same_ref]), np.array([same_cur, 1 - same_cur])
    else:
        edges[0], edges[-1] = -np.inf, np.inf
        expected = np.histogram(reference, edges)[0] / len(reference)
        actual = np.histogram(current, edges)[0] / len(current)
    expected, actual = np.clip(expected, floor, None), np.clip(actual, floor, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks(reference, current) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (NaNs dropped)."""
    from scipy.stats import ks_2samp

    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    result = ks_2samp(reference[~np.isnan(reference)], current[~np.isnan(current)])
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature: PSI, KS, and the verdict."""

    feature: str
    psi: float
    ks_statistic: float
    ks_p_value: float
    severity: str  # "none", "warning" or "critical"

    @property
    def drifted(self) -> bool:
        return self.severity != "none"


def feature_drift(
    feature: str,
    reference,
    current,
    *,
    psi_warning: float = PSI_WARNING,
    psi_critical: float = PSI_CRITICAL,
    ks_p_value: float = KS_P_VALUE,
) -> FeatureDrift:
    """PSI and KS for one feature; critical when PSI passes the critical level, warning when PSI or KS flags it."""
    value = psi(reference, current)
    statistic, p_value = ks(reference, current)
    if value >= psi_critical:
        severity = "critical"
    elif value >= psi_warning or p_value < ks_p_value:
        severity = "warning"
    else:
        severity = "none"
    return FeatureDrift(feature, value, statistic, p_value, severity)
