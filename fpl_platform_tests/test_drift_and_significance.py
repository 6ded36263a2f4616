"""Drift statistics and champion/challenger tests on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from fpl_platform.lib import drift, significance


def test_psi_is_zero_for_the_same_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 20_000)
    assert drift.psi(reference, rng.normal(0, 1, 20_000)) < 0.01
    small, large = drift.psi(reference, rng.normal(0.3, 1, 20_000)), drift.psi(reference, rng.normal(1.0, 1, 20_000))
    assert 0.05 < small < 0.25 < large


def test_psi_known_value_for_two_bins():
    # reference 50/50 across the median; current 80/20: PSI = (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5)
    reference = np.array([0.0, 0.0, 1.0, 1.0])
    current = np.array([0.0] * 8 + [1.0] * 2)
    expected = 0.3 * np.log(0.8 / 0.5) + (-0.3) * np.log(0.2 / 0.5)
    assert drift.psi(reference, current, bins=2) == pytest.approx(expected, rel=1e-6)


def test_feature_drift_severity():
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, 5_000)
    assert drift.feature_drift("x", reference, rng.normal(0, 1, 5_000)).severity == "none"
    critical = drift.feature_drift("x", reference, rng.normal(1.5, 1, 5_000))
    assert critical.severity == "critical" and critical.drifted and critical.ks_p_value < 1e-10


def test_ks_statistic_of_disjoint_samples_is_one():
    statistic, p_value = drift.ks([0, 1, 2, 3], [10, 11, 12, 13])
    assert statistic == 1.0 and p_value < 0.05


def test_diebold_mariano_detects_a_clear_improvement_and_not_noise():
    rng = np.random.default_rng(2)
    champion = rng.uniform(0.1, 0.3, 2_000)
    better = champion - 0.01 + rng.normal(0, 0.02, 2_000)
    statistic, p_value = significance.diebold_mariano(better, champion)
    assert statistic < 0 and p_value < 1e-6
    same = champion + rng.normal(0, 0.02, 2_000)
    assert significance.diebold_mariano(same, champion)[1] > 0.01


def test_diebold_mariano_known_value():
    d = np.array([-1.0, -2.0, 0.0, 1.0, -3.0])  # mean -1, population variance 2
    statistic, _ = significance.diebold_mariano(d, np.zeros(5))
    assert statistic == pytest.approx(-1 / np.sqrt(2 / 5))


def test_promotion_needs_margin_and_significance():
    rng = np.random.default_rng(3)
    champion = rng.uniform(0.1, 0.3, 1_900)
    clearly_better = champion - 0.004 + rng.normal(0, 0.01, 1_900)
    assert significance.promotion_decision(clearly_better, champion, margin=0.001).promote
    tiny = champion - 0.0002 + rng.normal(0, 0.01, 1_900)
    decision = significance.promotion_decision(tiny, champion, margin=0.001)
    assert not decision.promote and "margin" in decision.reason
    # better on average by 0.0026, but matches swing ±0.5 either way (955 better, 945 worse): not significant
    swings = np.array([-0.5] * 955 + [0.5] * 945)
    flat = np.full(1_900, 0.25)  # exact in binary, so every |difference| ties exactly
    decision = significance.promotion_decision(flat + swings, flat, margin=0.001, test="wilcoxon")
    assert decision.improvement == pytest.approx(0.5 * 10 / 1900)
    assert not decision.promote and "wilcoxon" in decision.reason
    assert not significance.promotion_decision(flat + swings, flat, margin=0.001).promote
    with pytest.raises(ValueError, match="same non-zero length"):
        significance.promotion_decision([0.1], [0.1, 0.2])


def test_drift_table_flags_an_injected_shift_and_carries_evidentlys_verdict(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"stable": rng.normal(0, 1, 800), "shifted": rng.normal(0, 1, 800), "sparse": np.nan})
    current = pd.DataFrame({"stable": rng.normal(0, 1, 200), "shifted": rng.normal(1.2, 1, 200), "sparse": np.nan})
    html = tmp_path / "report.html"
    table, skipped, level = drift.drift_table(reference, current, ["stable", "shifted", "sparse"], html_path=str(html))
    rows = table.set_index("feature")
    assert skipped == ["sparse"]
    assert level == "critical"  # one of the two usable features drifted: a share of 0.5 against 0.4
    assert rows.loc["shifted", "severity"] == "critical" and rows.loc["shifted", "evidently_drifted"]
    assert not rows.loc["stable", "drifted"]
    assert html.stat().st_size > 10_000


def test_the_lean_preset_measures_what_evidentlys_data_drift_preset_measures():
    """Only the rendering differs: the same test per column (a categorical one too), threshold and value."""
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 700), "b": rng.poisson(2, 700), "c": rng.choice(["x", "y"], 700)})
    current = pd.DataFrame({"a": rng.normal(0.4, 1, 60), "b": rng.poisson(3, 60), "c": rng.choice(["x", "y"], 60, p=[0.8, 0.2])})

    def values(preset):
        snapshot = Report([preset]).run(reference_data=reference, current_data=current)
        return [(m["config"].get("column"), m["config"].get("method"), str(m["value"])) for m in snapshot.dict()["metrics"]]

    lean = values(drift._lean_preset()())
    assert lean == values(DataDriftPreset())
    assert [column for column, _, _ in lean] == [None, "a", "b", "c"]  # the drifted-column count, then each column


def test_evidently_runs_on_drift_only_when_psi_or_ks_flag_a_feature(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 600), "b": rng.normal(0, 1, 600)})
    stable = pd.DataFrame({"a": rng.normal(0, 1, 200), "b": rng.normal(0, 1, 200)})
    shifted = stable.assign(b=stable["b"] + 1.5)
    quiet_html, loud_html = tmp_path / "quiet.html", tmp_path / "loud.html"
    last = ("none", 7.0)  # the model already has an Evidently report
    quiet, _, _ = drift.drift_table(
        reference, stable, ["a", "b"], html_path=str(quiet_html), evidently="on_drift", last_evidently=last
    )
    assert not quiet["drifted"].any() and quiet["evidently_method"].isna().all() and not quiet_html.exists()
    loud, _, _ = drift.drift_table(
        reference, shifted, ["a", "b"], html_path=str(loud_html), evidently="on_drift", last_evidently=last
    )
    assert loud["drifted"].mean() == 0.5  # one of two features: a critical share
    assert loud.set_index("feature").loc["b", "evidently_drifted"] and loud_html.exists()
    never, _, _ = drift.drift_table(reference, shifted, ["a", "b"], evidently="never")
    assert never["psi"].tolist() == loud["psi"].tolist() and never["evidently_value"].isna().all()
    with pytest.raises(ValueError, match="on_drift"):
        drift.drift_table(reference, stable, ["a"], evidently="sometimes")


def test_evidently_policies_decide_from_severity_and_the_last_report():
    assert drift.severity(0.1, 0.05) == "none"
    assert drift.severity(0.1, 0.12) == "warning"  # the prediction's PSI alone
    assert drift.severity(0.2, 0.0) == "warning" and drift.severity(0.4, 0.0) == "critical"
    assert drift.severity(0.0, 0.3) == "critical"
    assert drift.evidently_due("on_drift", "none", None)  # a model without a report gets one
    assert not drift.evidently_due("on_drift", "none", ("warning", 1.0))
    assert drift.evidently_due("on_drift", "warning", ("warning", 1.0))
    assert drift.evidently_due("always", "none", ("none", 0.0)) and not drift.evidently_due("never", "critical", None)
    # on_change: an escalation at once, persisting drift once the last report is a month old, never when quiet
    assert drift.evidently_due("on_change", "none", None)
    assert drift.evidently_due("on_change", "critical", ("warning", 7.0))
    assert not drift.evidently_due("on_change", "warning", ("warning", 21.0))
    assert not drift.evidently_due("on_change", "warning", ("critical", 7.0))
    assert drift.evidently_due("on_change", "warning", ("critical", 28.0))
    assert not drift.evidently_due("on_change", "none", ("warning", 90.0))
    assert drift.evidently_due("on_change", "warning", ("warning", 10.0), max_age_days=7)
    with pytest.raises(ValueError, match="on_change"):
        drift.evidently_due("sometimes", "none", None)


def test_a_large_window_is_compared_through_a_seeded_sample_in_its_own_order():
    import pandas as pd

    small = pd.DataFrame({"x": np.arange(50)})
    assert drift.capped(small, 100) is small
    large = pd.DataFrame({"x": np.arange(50_000)}, index=np.arange(50_000) * 2)
    sample = drift.capped(large, 10_000)
    assert len(sample) == 10_000 and sample.index.is_monotonic_increasing and sample.index.isin(large.index).all()
    assert sample.equals(drift.capped(large, 10_000))  # the same rows every time
    # a 10,000-row sample reads the same distribution: PSI against the full window is noise only
    rng = np.random.default_rng(6)
    values = pd.DataFrame({"x": rng.normal(0, 1, 50_000)})
    assert drift.psi(values["x"], drift.capped(values)["x"]) < 0.005


def test_ks_p_values_are_exact_for_small_samples_and_asymptotic_for_large_ones():
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(7)
    small, shifted = rng.normal(0, 1, 400), rng.normal(0.2, 1, 60)
    assert drift.ks(small, shifted)[1] == ks_2samp(small, shifted, method="exact").pvalue
    large, current = rng.normal(0, 1, 10_000), rng.normal(0.05, 1, 5_000)  # SciPy alone would go exact here
    statistic, p_value = drift.ks(large, current)
    expected = ks_2samp(large, current, method="asymp")
    assert (statistic, p_value) == (expected.statistic, expected.pvalue)
    assert abs(p_value - ks_2samp(large, current, method="exact").pvalue) < 0.01


def test_one_rule_sets_a_columns_severity_and_flag():
    rule = drift.column_severity
    assert rule(0.3, 0.0, 1.0) == "critical"  # PSI alone
    assert rule(0.12, 0.0, 1.0) == "warning"
    assert rule(0.05, 0.15, 0.001) == "warning"  # KS, significant and large
    assert rule(0.05, 0.05, 1e-9) == "none"  # significant but small: thousands of rows flag trifles
    assert rule(0.05, 0.2, 0.02) == "none"  # large but not significant
    assert rule(0.3, 0.0, 1.0, psi_critical=0.5) == "warning"
    verdict = drift.feature_drift("x", np.zeros(100), np.ones(100))
    assert verdict.severity == "critical" and verdict.drifted
    text = drift.rule_text()
    assert "PSI ≥ 0.1" in text and "share ≥ 0.4" in text and "Critical features alone do not make a critical report" in text


def test_evidently_tests_each_column_with_our_rule_so_its_verdicts_and_share_are_ours(tmp_path):
    """Evidently's default test (Wasserstein distance above 1,000 rows) flags a 0.15 σ nudge that PSI and KS do not;
    configured with our rule it does not, and it flags a shift only KS sees; the HTML opens with the severity."""
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    rng = np.random.default_rng(8)
    reference = pd.DataFrame({c: rng.normal(0, 1, 2000) for c in ("stable", "nudged", "shifted", "ks_only")})
    current = pd.DataFrame(
        {"stable": rng.normal(0, 1, 400), "nudged": rng.normal(0.15, 1, 400), "shifted": rng.normal(1, 1, 400),
         "ks_only": rng.normal(0.25, 1, 400)}
    )  # fmt: skip
    default = Report([DataDriftPreset()]).run(reference_data=reference, current_data=current).dict()["metrics"]
    assert default[0]["value"]["share"] == 0.75  # Evidently's own test: nudged, shifted and ks_only
    html = tmp_path / "report.html"
    table, _, level = drift.drift_table(reference, current, list(reference), html_path=str(html), prediction_psi=0.02)
    rows = table.set_index("feature")
    assert rows.loc["ks_only", "psi"] < 0.1 and rows.loc["ks_only", "drifted"]  # flagged by KS alone
    assert not rows.loc["nudged", "drifted"]
    assert (rows["evidently_drifted"] == rows["drifted"]).all() and (rows["evidently_value"] == rows["psi"]).all()
    assert rows["drifted"].mean() == 0.5 and level == "critical"
    text = html.read_text()
    assert "Severity: critical." in text and "Drift share 0.50 (2 of 4 features)" in text


def test_a_reports_id_names_what_it_compares_not_when():
    args = (
        "match_outcome",
        "3",
        {"current": ["2025-26:33", "2025-26:38", 6]},
        {"psi_warning": 0.1},
        {"current": {"2025-26": "ab12"}},
    )
    same = drift.report_id(*args)
    assert same == drift.report_id(*args) and len(same) == 12
    changed = [
        ("match_outcome", "4", *args[2:]),
        (*args[:2], {"current": ["2025-26:34", "2025-26:38", 5]}, *args[3:]),
        (*args[:3], {"psi_warning": 0.2}, args[4]),
        (*args[:4], {"current": {"2025-26": "ab13"}}),
    ]
    assert len({same, *(drift.report_id(*c) for c in changed)}) == 5
