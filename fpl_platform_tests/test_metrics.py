"""Scoring rules on hand-computed cases, and the bootstrap comparison."""

from __future__ import annotations

import numpy as np
import pytest

from fpl_platform.lib import metrics

P = np.array([[0.5, 0.3, 0.2]])


@pytest.mark.parametrize(("outcome", "expected"), [(0, 0.145), (1, 0.145), (2, 0.445)])
def test_rps_hand_computed(outcome, expected):
    # H: ½[(0.5−1)² + (0.8−1)²] = 0.145; D: ½[0.5² + (0.8−1)²] = 0.145; A: ½[0.5² + 0.8²] = 0.445
    assert metrics.rps(P, np.array([outcome]))[0] == pytest.approx(expected)


def test_rps_of_a_certain_correct_forecast_is_zero_and_of_a_certain_wrong_one_is_one():
    assert metrics.rps(np.array([[1.0, 0, 0]]), np.array([0]))[0] == 0
    assert metrics.rps(np.array([[1.0, 0, 0]]), np.array([2]))[0] == 1


def test_brier_log_loss_accuracy():
    assert metrics.brier(P, np.array([0]))[0] == pytest.approx(0.25 + 0.09 + 0.04)
    assert metrics.log_loss(P, np.array([1]))[0] == pytest.approx(-np.log(0.3))
    scores = metrics.match_scores(np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]), np.array([0, 0]))
    assert scores["accuracy"] == 0.5 and scores["n"] == 2


def test_outcome_index():
    assert metrics.outcome_index([2, 1, 0], [1, 1, 3]).tolist() == [0, 1, 2]


def test_regression_scores():
    scores = metrics.regression_scores([1, 2, 3], [1, 2, 5])
    assert scores["mae"] == pytest.approx(2 / 3)
    assert scores["rmse"] == pytest.approx(np.sqrt(4 / 3))


def test_bootstrap_interval_brackets_a_clear_effect_and_straddles_zero_for_noise():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(100), 10)
    clear = metrics.bootstrap_mean_difference(-0.01 + rng.normal(0, 0.01, 1000), groups)
    assert clear["ci_high"] < 0 and clear["ci_low"] < clear["mean_difference"] < clear["ci_high"]
    noise = metrics.bootstrap_mean_difference(rng.normal(0, 0.05, 1000), groups)
    assert noise["ci_low"] < 0 < noise["ci_high"]


def test_demargin():
    probabilities = metrics.demargin(np.array([[2.0, 3.5, 4.0]]))
    assert probabilities.sum() == pytest.approx(1)
    assert probabilities[0, 0] == pytest.approx((1 / 2) / (1 / 2 + 1 / 3.5 + 1 / 4))


def test_progress_reports_a_line_every_few_seconds_and_the_last():
    from fpl_platform.lib.progress import Progress

    lines = []
    folds = Progress(lines.append, "fold", 3, every=3600)
    for text in ("a", "b", "c"):
        folds.step(text)
    assert lines == ["fold 3/3: c (0 s)"]
    every = Progress(lines.append, "block", 2, every=0)
    every.step("x")
    every.step("y")
    assert lines[1:] == ["block 1/2: x (0 s)", "block 2/2: y (0 s)"]
    Progress(None, "fold", 1).step("silent")
