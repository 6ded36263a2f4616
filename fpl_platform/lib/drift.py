"""Distribution drift between a reference sample (the champion's training window) and a current one.

PSI uses bins from the reference's quantiles (so every reference bin holds the same share) with a
small floor on empty bins; KS is the two-sample Kolmogorov-Smirnov statistic and its p-value.

Severity has this one definition (`column_severity`, `severity`; thresholds from the drift asset's config,
defaults below); the drift asset's metadata, monitoring.drift, monitoring.drift_reports, the alerts and the
Evidently report all follow it:

- a column (a model input, or the model's prediction) is **drifted** when PSI ≥ `psi_warning` (0.1), or when KS
  is both significant (p < `ks_p_value`, 0.01) and large (D ≥ `ks_statistic`, 0.1). A drifted column's severity
  is **critical** when its PSI ≥ `psi_critical` (0.25), else **warning**; an undrifted column's is **none**;
- a report's **drift share** is the share of the model's input columns that drifted (the prediction is not an
  input and is not counted);
- a report is **critical** when the drift share ≥ `critical_share` (0.4) or the prediction's PSI ≥
  `psi_critical`; **warning** when the share ≥ `warning_share` (0.2) or the prediction's PSI ≥ `psi_warning`;
  else **none**. A critical column alone does not make a critical report: a report asks whether the model's
  inputs as a whole, or its outputs, moved; a few shifted inputs whose predictions stay put are a reason to
  look (they are listed), not to retrain.

Evidently's DataDriftPreset runs with the column rule registered as its stat test (`evidently_rule`: the score
is PSI, the verdict the rule) and its `drift_share` set to `warning_share`, so its drifted-column count and
share are the report's, and its share test fails exactly when the share alone makes the report at least a
warning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fpl_platform.lib.settings import DEFAULTS, EVIDENTLY_POLICIES

if TYPE_CHECKING:
    import pandas as pd

# the defaults of the thresholds, from the settings' drift section (lib/settings.py): written there only
_DEFAULTS = DEFAULTS["drift"]
PSI_WARNING, PSI_CRITICAL = _DEFAULTS["psi_warning"], _DEFAULTS["psi_critical"]
# with thousands of rows a KS p-value flags differences too small to matter: also require an effect size
KS_P_VALUE, KS_STATISTIC = _DEFAULTS["ks_p_value"], _DEFAULTS["ks_statistic"]
# a report's severity from the share of drifted features (see severity)
WARNING_SHARE, CRITICAL_SHARE = _DEFAULTS["warning_share"], _DEFAULTS["critical_share"]
# when drift_table runs Evidently (see evidently_due)
EVIDENTLY_MAX_AGE_DAYS = _DEFAULTS["evidently_max_age_days"]
# rows a side that the statistics compare (a seeded sample of a larger window, see `capped`): at 10,000 rows
# PSI's sampling bias is under (10 - 1)(1/10,000 + 1/m) and KS's noise about sqrt(1/10,000 + 1/m)
MAX_ROWS = _DEFAULTS["max_rows"]
# KS p-values are exact up to this many pairs of rows (see `ks`)
KS_EXACT_MAX_PAIRS = 1_000_000
SEVERITIES = ("none", "warning", "critical")


def capped(frame: pd.DataFrame, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """`frame` itself when it has at most `max_rows` rows, else a seeded sample of them in the frame's order."""
    return frame.sample(max_rows, random_state=0).sort_index() if len(frame) > max_rows else frame


def psi(reference, current, *, bins: int | None = None, floor: float = 1e-4) -> float:
    """Population stability index of `current` against `reference` (NaNs dropped).

    Without `bins`, the number of bins follows the smaller sample (one per 25 rows, 2 to 10): PSI's
    sampling bias is about (bins − 1)(1/n + 1/m), so ten bins on six gameweeks (60 matches) would read
    0.15 from noise alone.
    """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if len(reference) == 0 or len(current) == 0:
        return float("nan")
    if bins is None:
        bins = int(np.clip(min(len(reference), len(current)) // 25, 2, 10))
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
    """Two-sample Kolmogorov-Smirnov statistic and p-value (NaNs dropped).

    The p-value is exact for small samples (n·m up to `KS_EXACT_MAX_PAIRS`) and asymptotic above. SciPy's
    own rule (exact while both have at most 10,000 rows) spends about 30 ms a feature on 10,000 against
    5,000 rows, where the asymptotic value agrees to well below any threshold.
    """
    from scipy.stats import ks_2samp

    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    reference, current = reference[~np.isnan(reference)], current[~np.isnan(current)]
    method = "auto" if len(reference) * len(current) <= KS_EXACT_MAX_PAIRS else "asymp"
    result = ks_2samp(reference, current, method=method)
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


def column_severity(
    psi_value: float,
    ks_statistic_value: float,
    ks_p: float,
    *,
    psi_warning: float = PSI_WARNING,
    psi_critical: float = PSI_CRITICAL,
    ks_p_value: float = KS_P_VALUE,
    ks_statistic: float = KS_STATISTIC,
) -> str:
    """A column's severity (the module docstring's rule): "critical", "warning" or "none"."""
    drifted = psi_value >= psi_warning or (ks_p < ks_p_value and ks_statistic_value >= ks_statistic)
    if not drifted:
        return "none"
    return "critical" if psi_value >= psi_critical else "warning"


def feature_drift(
    feature: str,
    reference,
    current,
    *,
    psi_warning: float = PSI_WARNING,
    psi_critical: float = PSI_CRITICAL,
    ks_p_value: float = KS_P_VALUE,
    ks_statistic: float = KS_STATISTIC,
) -> FeatureDrift:
    """PSI, KS and the column's severity (`column_severity`) for one feature."""
    value = psi(reference, current)
    statistic, p_value = ks(reference, current)
    level = column_severity(
        value,
        statistic,
        p_value,
        psi_warning=psi_warning,
        psi_critical=psi_critical,
        ks_p_value=ks_p_value,
        ks_statistic=ks_statistic,
    )
    return FeatureDrift(feature, value, statistic, p_value, level)


def rule_lines(
    *,
    psi_warning: float = PSI_WARNING,
    psi_critical: float = PSI_CRITICAL,
    ks_p_value: float = KS_P_VALUE,
    ks_statistic: float = KS_STATISTIC,
    warning_share: float = WARNING_SHARE,
    critical_share: float = CRITICAL_SHARE,
) -> list[str]:
    """The severity rule with its thresholds in lines of at most 40 characters (Dagster's metadata column shows
    about 45), which read as one paragraph when joined with spaces (`rule_text`)."""
    return [
        f"Feature: drifted if PSI ≥ {psi_warning:g},",
        f"or KS p < {ks_p_value:g} with D ≥ {ks_statistic:g};",
        f"critical if drifted and PSI ≥ {psi_critical:g}.",
        "Share = drifted inputs / inputs",
        "(the prediction is not an input).",
        f"Report: critical if share ≥ {critical_share:g}",
        f"or prediction PSI ≥ {psi_critical:g};",
        f"warning if share ≥ {warning_share:g}",
        f"or prediction PSI ≥ {psi_warning:g}; else none.",
        "Critical features alone do not make",
        "a critical report.",
    ]


def rule_text(**thresholds) -> str:
    """`rule_lines` as one paragraph."""
    return " ".join(rule_lines(**thresholds))


@functools.cache
def evidently_rule(
    psi_warning: float = PSI_WARNING,
    psi_critical: float = PSI_CRITICAL,
    ks_p_value: float = KS_P_VALUE,
    ks_statistic: float = KS_STATISTIC,
) -> str:
    """The name of an Evidently stat test that is our column rule (score: PSI; drifted: `column_severity` is not
    "none"), registered with Evidently once per set of thresholds. Give it as a preset's `method` with
    `threshold=psi_warning`."""
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    thresholds = {
        "psi_warning": psi_warning,
        "psi_critical": psi_critical,
        "ks_p_value": ks_p_value,
        "ks_statistic": ks_statistic,
    }

    def rule(reference, current, _feature_type, _threshold) -> tuple[float, bool]:
        verdict = feature_drift("", reference, current, **thresholds)
        return verdict.psi, verdict.drifted

    name = f"fpl_platform_psi_ks_{psi_warning:g}_{psi_critical:g}_{ks_p_value:g}_{ks_statistic:g}"
    register_stattest(
        StatTest(
            name=name,
            display_name=f"fpl_platform's rule, score PSI (drift: PSI ≥ {psi_warning:g}, or KS p < {ks_p_value:g} "
            f"with D ≥ {ks_statistic:g})",
            allowed_feature_types=[ColumnType.Numerical, ColumnType.Categorical],
            default_threshold=psi_warning,
        ),
        rule,
    )
    return name


def report_id(model_name: str, model_version: str, windows: dict, settings: dict, data: dict) -> str:
    """A report's id: a digest of what it compares (the model version, the windows' rounds, the settings and a
    digest of the windows' rows), never of when it runs, so a re-run with unchanged inputs has the same id."""
    import hashlib
    import json

    parts = {"model": model_name, "version": str(model_version), "windows": windows, "settings": settings, "data": data}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


@functools.cache
def _lean_preset() -> type:
    """DataDriftPreset, rendered as its own metrics' widgets (the drifted-column count, then each column's drift),
    after an optional markdown `note` (how fpl_platform reads the report).

    The preset's metrics are unchanged: the same test per column, thresholds and values. Its own `render`
    instead recomputes every column's drift through Evidently's legacy DataDriftTable to draw one table,
    about 40 % of the report's time (25 features: 3.7 → 2.6 s, and half the HTML).
    """
    from evidently.core.container import MetricContainer
    from evidently.legacy.renderers.html_widgets import text_widget
    from evidently.presets import DataDriftPreset

    class LeanDataDriftPreset(DataDriftPreset):
        note: str | None = None

        def __init__(self, note: str | None = None, **kwargs):
            self.note = note  # set before the preset's own fields, as DataDriftPreset's __init__ does its own
            super().__init__(**kwargs)

        def render(self, context, child_widgets=None):
            widgets = MetricContainer.render(self, context, child_widgets)
            if self.note:
                widgets = [text_widget(title="How fpl_platform reads this report", text=self.note), *widgets]
            return widgets

    return LeanDataDriftPreset


def evidently_feature_drift(
    reference,
    current,
    features: list[str],
    html_path: str | None = None,
    *,
    note: str | None = None,
    warning_share: float = WARNING_SHARE,
    **thresholds,
):
    """Evidently's DataDriftPreset per feature, its stat test being our column rule (`evidently_rule`) and its
    drift share `warning_share`: the method, its value (PSI) and threshold, and Evidently's verdict.

    Writes Evidently's HTML report to `html_path` when given, with `note` (markdown) at its top. Evidently is
    imported here: it takes seconds.
    """
    import pandas as pd
    from evidently import Report

    columns = dict(psi_warning=PSI_WARNING, psi_critical=PSI_CRITICAL, ks_p_value=KS_P_VALUE, ks_statistic=KS_STATISTIC)
    columns.update(thresholds)
    preset = _lean_preset()(
        note=note, method=evidently_rule(**columns), threshold=columns["psi_warning"], drift_share=warning_share
    )
    snapshot = Report([preset], include_tests=True).run(reference_data=reference[features], current_data=current[features])
    if html_path:
        snapshot.save_html(html_path)
    result = snapshot.dict()
    verdicts = {
        test["metric_config"]["params"]["column"]: test["status"] == "FAIL"
        for test in result["tests"]
        if str(test["metric_config"]["params"].get("type", "")).endswith("ValueDrift")
    }
    rows = []
    for metric in result["metrics"]:
        config = metric["config"]
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        rows.append(
            {
                "feature": config["column"],
                "evidently_method": config["method"],
                "evidently_value": float(metric["value"]),
                "evidently_threshold": float(config["threshold"]),
                "evidently_drifted": verdicts[config["column"]],
            }
        )
    return pd.DataFrame(rows)


def severity(
    drifted_share: float,
    prediction_psi: float,
    *,
    warning_share: float = WARNING_SHARE,
    critical_share: float = CRITICAL_SHARE,
    psi_warning: float = PSI_WARNING,
    psi_critical: float = PSI_CRITICAL,
) -> str:
    """A report's severity (the module docstring's rule): the drift share or the prediction's PSI against their
    thresholds."""
    if drifted_share >= critical_share or prediction_psi >= psi_critical:
        return "critical"
    if drifted_share >= warning_share or prediction_psi >= psi_warning:
        return "warning"
    return "none"


def evidently_due(
    policy: str, severity: str, last_report: tuple[str, float] | None, *, max_age_days: float = EVIDENTLY_MAX_AGE_DAYS
) -> bool:
    """Whether to run Evidently's report, given this report's severity and the model's last Evidently report
    (its severity and age in days; None when the model has none).

    - "always" and "never" mean what they say.
    - "on_drift": the report is at least a warning, or the model has no Evidently report yet.
    - "on_change": the model has no Evidently report yet, or the severity rose above its last one's, or drift
      persists (at least a warning) and that report is `max_age_days` old. A season of the same warning gets
      a fresh report monthly instead of weekly; an escalation gets one at once.
    """
    if policy not in EVIDENTLY_POLICIES:
        raise ValueError(f"evidently={policy!r}: expected one of {EVIDENTLY_POLICIES}")
    if policy in ("always", "never"):
        return policy == "always"
    if last_report is None:
        return True
    if policy == "on_drift":
        return severity != "none"
    last_severity, age_days = last_report
    rose = SEVERITIES.index(severity) > SEVERITIES.index(last_severity)
    return rose or (severity != "none" and age_days >= max_age_days)


def drift_table(
    reference,
    current,
    features: list[str],
    *,
    html_path: str | None = None,
    min_rows: int = 20,
    evidently_max_rows: int = MAX_ROWS,
    evidently: str = "always",
    prediction_psi: float = 0.0,
    last_evidently: tuple[str, float] | None = None,
    warning_share: float = WARNING_SHARE,
    critical_share: float = CRITICAL_SHARE,
    max_age_days: float = EVIDENTLY_MAX_AGE_DAYS,
    **thresholds,
) -> tuple[pd.DataFrame, list[str], str]:
    """One row per feature: our PSI, KS and severity, plus Evidently's verdict; features too sparse on either side
    are left out.

    Returns the table, the features left out, and the report's severity (`severity` of the drift share and
    `prediction_psi`).

    PSI and KS use every row given (the drift asset gives at most `MAX_ROWS` a side, see `capped`); Evidently
    sees at most `evidently_max_rows` per side (a seeded sample) and applies the same rule (`evidently_rule`), so
    its verdicts are ours whenever it sees the same rows. Evidently renders a plot per feature whether or not
    the HTML is saved (seconds a model), so `evidently` says when to pay for it: `evidently_due` decides from
    this report's severity and the model's last Evidently report (`last_evidently`: its severity and age in
    days, None when there is none). Skipped, its columns are NULL and no HTML is written. The HTML opens with
    the report's severity, share and prediction PSI, and the rule (`rule_text`).
    """
    if evidently not in EVIDENTLY_POLICIES:
        raise ValueError(f"evidently={evidently!r}: expected one of {EVIDENTLY_POLICIES}")
    import pandas as pd

    columns = dict(psi_warning=PSI_WARNING, psi_critical=PSI_CRITICAL, ks_p_value=KS_P_VALUE, ks_statistic=KS_STATISTIC)
    columns.update(thresholds)
    usable = [f for f in features if reference[f].notna().sum() >= min_rows and current[f].notna().sum() >= min_rows]
    ours = pd.DataFrame(
        [
            {
                "feature": d.feature,
                "psi": d.psi,
                "ks_statistic": d.ks_statistic,
                "ks_p_value": d.ks_p_value,
                "severity": d.severity,
            }
            for d in (feature_drift(f, reference[f], current[f], **columns) for f in usable)
        ],
        columns=["feature", "psi", "ks_statistic", "ks_p_value", "severity"],
    )
    ours["drifted"] = ours["severity"] != "none"
    share = float(ours["drifted"].mean()) if len(ours) else 0.0
    level = severity(
        share,
        prediction_psi,
        warning_share=warning_share,
        critical_share=critical_share,
        psi_warning=columns["psi_warning"],
        psi_critical=columns["psi_critical"],
    )
    if evidently_due(evidently, level, last_evidently, max_age_days=max_age_days):
        rule = rule_text(**columns, warning_share=warning_share, critical_share=critical_share)
        note = (
            f"**Severity: {level}.** Drift share {share:.2f} ({int(ours['drifted'].sum())} of {len(ours)} features), "
            f"prediction PSI {prediction_psi:.3f} (the prediction is not a column below).\n\n{rule}\n\n"
            f"Each column below is tested with this rule (score: PSI); the drifted-column share test uses "
            f"{warning_share:g}, the warning share."
        )
        found = evidently_feature_drift(
            capped(reference, evidently_max_rows),
            capped(current, evidently_max_rows),
            usable,
            html_path,
            note=note,
            warning_share=warning_share,
            **columns,
        )
        table = ours.merge(found, on="feature", how="left")
    else:
        table = ours.assign(evidently_method=None, evidently_value=np.nan, evidently_threshold=np.nan, evidently_drifted=None)
    return table, sorted(set(features) - set(usable)), level
