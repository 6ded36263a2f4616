"""A/B tests of two models in production: deterministic assignment and the analysis of their losses.

Assignment: an item (a fixture for the match model, a player-fixture for the points model) goes to the
treatment when the hash bucket of `<test>:<item>` — a number in [0, 1) from SHA-256 — is below the
traffic split. Deterministic (the same item always gets the same bucket) and monotone (raising the split
only moves control items into the treatment, never back).

Both models predict every item of the test; each item is served by its arm's model. So the analysis
has two views of the same test:
- paired: both models' losses on the same items (paired t, Wilcoxon signed-rank, Diebold-Mariano), the
  strongest comparison, with a 95 % bootstrap CI of the mean difference that resamples whole gameweeks
  (items of one gameweek share its conditions, so they are not independent);
- by arm: what each arm was actually served (Mann-Whitney U, Welch t), the classic A/B view.
Effect sizes are Cohen's d (d_z for the paired differences, pooled-SD d for the arms); power and the
sample size needed are those of the paired t-test at the observed d_z (noncentral t, as statsmodels' TTestPower).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

ARMS = ("control", "treatment")
RECOMMENDATIONS = ("promote", "keep_champion", "continue")


def bucket(test_name: str, item_key: str) -> float:
    """The item's position in [0, 1) for this test: the first 8 bytes of SHA-256 of `<test>:<item>`."""
    digest = hashlib.sha256(f"{test_name}:{item_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def item_keys(frame: pd.DataFrame) -> pd.Series:
    """`<match_id>` for match rows, `<player_id>:<match_id>` for player rows."""
    if "player_id" in frame.columns:
        return frame["player_id"].astype(str) + ":" + frame["match_id"].astype(str)
    return frame["match_id"].astype(str)


def assign(test_name: str, keys, split: float) -> tuple[np.ndarray, np.ndarray]:
    """(buckets, arms) for the items: 'treatment' where the bucket is below `split`."""
    if not 0.0 <= split <= 1.0:
        raise ValueError(f"traffic split {split!r}: expected a share between 0 and 1")
    buckets = np.array([bucket(test_name, str(key)) for key in keys], dtype=float)
    return buckets, np.where(buckets < split, "treatment", "control")


@dataclass(frozen=True)
class Analysis:
    """One evaluation of an A/B test (losses: lower is better; differences are treatment − control)."""

    n_items: int
    n_control: int
    n_treatment: int
    gameweeks: int
    mean_loss_control: float  # both models on every item (paired view)
    mean_loss_treatment: float
    mean_difference: float
    ci_low: float
    ci_high: float
    paired_t: float
    paired_t_p: float
    wilcoxon_statistic: float
    wilcoxon_p: float
    dm_statistic: float
    dm_p_better: float  # one-sided: the treatment's expected loss is lower
    dm_p_worse: float  # one-sided: it is higher
    served_loss_control: float  # what each arm was served (arm view)
    served_loss_treatment: float
    mann_whitney_u: float
    mann_whitney_p: float
    welch_t: float
    welch_p: float
    cohens_d_paired: float
    cohens_d_arms: float
    power: float
    n_needed: float  # items for 80 % power at the observed d_z (inf when there is no effect)
    gameweeks_needed: float  # more gameweeks at the current rate (0 when enough, inf when never)
    recommendation: str
    reason: str

    def as_row(self) -> dict:
        return asdict(self)


def cohens_d_paired(differences) -> float:
    """d_z: mean difference over its standard deviation."""
    d = np.asarray(differences, dtype=float)
    sd = d.std(ddof=1) if len(d) > 1 else float("nan")
    return float(d.mean() / sd) if sd and np.isfinite(sd) and sd > 0 else 0.0


def cohens_d(treatment, control) -> float:
    """Difference of means over the pooled standard deviation."""
    a, b = np.asarray(treatment, dtype=float), np.asarray(control, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def bootstrap_ci_by_group(differences, groups, *, resamples: int = 2000, seed: int = 0, level: float = 0.95):
    """Percentile CI of the mean difference, resampling whole groups (gameweeks) with replacement."""
    frame = pd.DataFrame({"d": np.asarray(differences, dtype=float), "g": np.asarray(groups)})
    per_group = frame.groupby("g")["d"].agg(["sum", "count"])
    sums, counts = per_group["sum"].to_numpy(), per_group["count"].to_numpy()
    if len(sums) < 2:
        return float("nan"), float("nan")
    picks = np.random.default_rng(seed).integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def _t_power(d: float, n: int, alpha: float) -> float:
    """Power of the two-sided one-sample (paired) t-test: the noncentral t, normal approximation where it fails."""
    from scipy import stats

    df, shift = n - 1, d * math.sqrt(n)
    critical = stats.t.ppf(1 - alpha / 2, df)
    power = stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift)
    if not np.isfinite(power):  # scipy's nct loses precision far in the tail; the effect is huge there anyway
        z = stats.norm.ppf(1 - alpha / 2)
        power = stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z)
    return float(min(max(power, 0.0), 1.0))


def paired_power(effect_size: float, n: int, alpha: float, target: float = 0.8) -> tuple[float, float]:
    """(achieved power at n, items needed for `target` power) of a two-sided paired t-test at |d_z|.

    The same quantities as statsmodels' TTestPower (which returns NaN for large d·√n): the noncentral t
    distribution, and the smallest n reaching the target found by doubling then bisection.
    """
    d = abs(effect_size)
    if n < 2:
        return float("nan"), float("inf")
    if not np.isfinite(d) or d < 1e-9:
        return float(alpha), float("inf")
    power = _t_power(d, n, alpha)
    high = 2
    while _t_power(d, high, alpha) < target:
        high *= 2
        if high > 10**9:
            return power, float("inf")
    low = max(high // 2, 2)
    while low < high:
        middle = (low + high) // 2
        if _t_power(d, middle, alpha) >= target:
            high = middle
        else:
            low = middle + 1
    return power, float(high)


def analyse(
    losses: pd.DataFrame,
    *,
    alpha: float = 0.05,
    target_size: int | None = None,
    ended: bool = False,
    resamples: int = 2000,
    seed: int = 0,
) -> Analysis:
    """The analysis of one test from its per-item losses.

    `losses` has one row per item: gameweek (any hashable label of the gameweek), arm, control_loss and
    treatment_loss (both models on the item). Recommendation:
    - keep_champion when the treatment is significantly worse (DM one-sided p < alpha);
    - promote when it is significantly better (DM p < alpha, the gameweek-bootstrap CI below zero) and
      the target sample size, if any, is reached;
    - keep_champion when the target is reached or the test ended without that evidence;
    - otherwise continue, with the gameweeks still needed for 80 % power at the observed effect.
    """
    from scipy import stats

    from fpl_platform.lib.significance import diebold_mariano

    if losses.empty:
        raise ValueError("no evaluated items yet: nothing to analyse")
    control, treatment = losses["control_loss"].to_numpy(float), losses["treatment_loss"].to_numpy(float)
    difference = treatment - control
    n = len(difference)
    gameweeks = int(losses["gameweek"].nunique())
    served_c = control[losses["arm"].to_numpy() == "control"]
    served_t = treatment[losses["arm"].to_numpy() == "treatment"]
    constant = np.allclose(difference, difference[0])
    paired = stats.ttest_rel(treatment, control) if n > 1 and not constant else None
    wilcoxon = stats.wilcoxon(difference) if n > 1 and not np.allclose(difference, 0) else None
    dm_statistic, dm_better = diebold_mariano(treatment, control)
    _, dm_worse = diebold_mariano(control, treatment)
    both_arms = len(served_c) > 1 and len(served_t) > 1
    mann_whitney = stats.mannwhitneyu(served_t, served_c, alternative="two-sided") if both_arms else None
    welch = stats.ttest_ind(served_t, served_c, equal_var=False) if both_arms else None
    ci_low, ci_high = bootstrap_ci_by_group(difference, losses["gameweek"], resamples=resamples, seed=seed)
    d_z = cohens_d_paired(difference)
    power, needed = paired_power(d_z, n, alpha)
    per_gameweek = n / max(gameweeks, 1)
    more = max(needed - n, 0) if np.isfinite(needed) else float("inf")
    gameweeks_needed = math.ceil(more / per_gameweek) if np.isfinite(more) else float("inf")
    dm_better = 1.0 if np.isnan(dm_better) else dm_better
    dm_worse = 1.0 if np.isnan(dm_worse) else dm_worse
    reached = target_size is not None and n >= target_size

    if dm_worse < alpha:
        recommendation, reason = "keep_champion", f"the treatment is significantly worse (DM p = {dm_worse:.4f} < {alpha})"
    elif dm_better < alpha and ci_high < 0 and (target_size is None or reached):
        recommendation, reason = (
            "promote",
            f"the treatment is significantly better (DM p = {dm_better:.4f}, 95 % CI of the difference "
            f"[{ci_low:.5f}, {ci_high:.5f}] below zero) on {n} items",
        )
    elif reached or ended:
        recommendation, reason = (
            "keep_champion",
            f"{'target sample reached' if reached else 'test ended'} ({n} items) without a significant improvement "
            f"(DM p = {dm_better:.4f})",
        )
    else:
        wait = "an unknown number of" if not np.isfinite(gameweeks_needed) else str(max(int(gameweeks_needed), 1))
        if target_size is not None:
            wait = str(max(math.ceil((target_size - n) / per_gameweek), 1))
        recommendation, reason = (
            "continue",
            f"no decision on {n} items over {gameweeks} gameweeks (DM p = {dm_better:.4f}, power {power:.2f}); "
            f"about {wait} more gameweek(s) needed",
        )
    nan = float("nan")
    return Analysis(
        n_items=n,
        n_control=len(served_c),
        n_treatment=len(served_t),
        gameweeks=gameweeks,
        mean_loss_control=float(control.mean()),
        mean_loss_treatment=float(treatment.mean()),
        mean_difference=float(difference.mean()),
        ci_low=ci_low,
        ci_high=ci_high,
        paired_t=float(paired.statistic) if paired else nan,
        paired_t_p=float(paired.pvalue) if paired else nan,
        wilcoxon_statistic=float(wilcoxon.statistic) if wilcoxon else nan,
        wilcoxon_p=float(wilcoxon.pvalue) if wilcoxon else nan,
        dm_statistic=dm_statistic,
        dm_p_better=float(dm_better),
        dm_p_worse=float(dm_worse),
        served_loss_control=float(served_c.mean()) if len(served_c) else nan,
        served_loss_treatment=float(served_t.mean()) if len(served_t) else nan,
        mann_whitney_u=float(mann_whitney.statistic) if mann_whitney else nan,
        mann_whitney_p=float(mann_whitney.pvalue) if mann_whitney else nan,
        welch_t=float(welch.statistic) if welch else nan,
        welch_p=float(welch.pvalue) if welch else nan,
        cohens_d_paired=d_z,
        cohens_d_arms=cohens_d(served_t, served_c),
        power=float(power),
        n_needed=float(needed),
        gameweeks_needed=float(gameweeks_needed),
        recommendation=recommendation,
        reason=reason,
    )


def next_split(current: float, steps: list[float]) -> float | None:
    """The rollout step after `current` (None at the last step or without steps)."""
    later = sorted(step for step in steps if step > current + 1e-12)
    return later[0] if later else None


def parse_steps(text: str) -> list[float]:
    """'0.1,0.25,0.5' → [0.1, 0.25, 0.5]; each a share in (0, 1], increasing."""
    try:
        steps = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise ValueError(f"traffic steps {text!r}: expected shares like '0.1,0.25,0.5'") from error
    if not steps or any(not 0 < s <= 1 for s in steps) or steps != sorted(set(steps)):
        raise ValueError(f"traffic steps {text!r}: expected increasing shares in (0, 1], like '0.1,0.25,0.5'")
    return steps


def test_frame(row: dict) -> pd.DataFrame:
    """One monitoring.ab_tests row as a frame, with SQL NULLs for missing values (NaN, NaT, None)."""
    from fpl_platform.lib import schemas

    def value(column: str):
        item = row.get(column)
        return None if item is None or (not isinstance(item, str) and pd.isna(item)) else item

    frame = pd.DataFrame([{column: value(column) for column in schemas.AB_TESTS.column_names}])
    for column in ("created_at", "started_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["target_size"] = frame["target_size"].astype("Int64")
    return frame
