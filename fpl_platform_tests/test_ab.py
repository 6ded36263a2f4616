"""A/B testing: assignment determinism, and the statistics on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fpl_platform.lib import ab


def test_assignment_is_deterministic_uniform_and_monotone_in_the_split():
    keys = [str(1_000_000 + i) for i in range(20_000)]
    buckets, arms = ab.assign("exp-1", keys, 0.1)
    again, arms_again = ab.assign("exp-1", keys, 0.1)
    assert np.array_equal(buckets, again) and np.array_equal(arms, arms_again)
    assert ab.bucket("exp-1", "1000000") == buckets[0]  # a pure function of test and item
    assert abs((arms == "treatment").mean() - 0.1) < 0.01
    assert abs(np.mean(buckets < 0.5) - 0.5) < 0.015
    _, wider = ab.assign("exp-1", keys, 0.25)
    assert set(np.flatnonzero(arms == "treatment")) <= set(np.flatnonzero(wider == "treatment"))  # raising keeps arms
    _, other = ab.assign("exp-2", keys, 0.1)
    overlap = np.mean((arms == "treatment") & (other == "treatment"))
    assert abs(overlap - 0.01) < 0.004  # another test's assignment is independent of this one's
    with pytest.raises(ValueError, match="between 0 and 1"):
        ab.assign("exp-1", keys, 1.5)


def test_item_keys_for_matches_and_players():
    assert ab.item_keys(pd.DataFrame({"match_id": ["m1", "m2"]})).tolist() == ["m1", "m2"]
    players = pd.DataFrame({"match_id": ["m1"], "player_id": [7]})
    assert ab.item_keys(players).tolist() == ["7:m1"]


def test_effect_sizes_and_power_have_their_textbook_values():
    assert ab.cohens_d([2, 4, 6], [1, 3, 5]) == pytest.approx(0.5)  # mean difference 1, pooled SD 2
    assert ab.cohens_d_paired([1, 2, 3]) == pytest.approx(2.0)  # mean 2, SD 1
    # one-sample / paired t, two-sided, alpha 0.05, d = 0.5: 34 items for 80 % power (Cohen 1988; G*Power)
    power, needed = ab.paired_power(0.5, 34, 0.05)
    assert needed == 34 and power == pytest.approx(0.808, abs=0.005)
    assert ab.paired_power(0.0, 100, 0.05)[1] == float("inf")


def test_gameweek_bootstrap_ci():
    low, high = ab.bootstrap_ci_by_group([0.2] * 30, np.repeat([1, 2, 3], 10))
    assert low == pytest.approx(0.2) and high == pytest.approx(0.2)
    # two gameweeks at -1 and +1: resampling gameweeks (not items) gives the full range
    low, high = ab.bootstrap_ci_by_group([-1.0] * 50 + [1.0] * 50, [1] * 50 + [2] * 50)
    assert low == pytest.approx(-1.0) and high == pytest.approx(1.0)


def _losses(control, treatment, gameweeks, arms=None):
    n = len(control)
    return pd.DataFrame(
        {
            "gameweek": gameweeks,
            "arm": arms if arms is not None else np.where(np.arange(n) % 2 == 0, "control", "treatment"),
            "control_loss": control,
            "treatment_loss": treatment,
        }
    )


def test_paired_and_arm_tests_match_hand_computed_values():
    control = np.zeros(5)
    treatment = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    a = ab.analyse(_losses(control, treatment, [1, 1, 2, 2, 3]), resamples=200)
    # t = 3 / (sd 1.5811 / √5) = 4.2426 with 4 df: two-sided p = 0.01324
    assert a.paired_t == pytest.approx(4.2426, abs=1e-4) and a.paired_t_p == pytest.approx(0.01324, abs=1e-4)
    # all five differences positive: exact two-sided Wilcoxon p = 2 / 2^5
    assert a.wilcoxon_p == pytest.approx(0.0625)
    assert a.mean_difference == pytest.approx(3.0) and a.dm_p_worse < 0.01
    assert a.recommendation == "keep_champion" and "significantly worse" in a.reason
    # arms: control served items 0, 2, 4 (losses 0), treatment items 1, 3 (losses 2 and 4)
    assert a.n_control == 3 and a.n_treatment == 2
    assert a.served_loss_control == 0.0 and a.served_loss_treatment == pytest.approx(3.0)


def test_recommendations_promote_keep_and_continue():
    rng = np.random.default_rng(11)
    gameweeks = np.repeat(np.arange(30), 10)
    control = rng.gamma(4.0, 0.05, size=300)
    better = control - 0.02 + rng.normal(0, 0.01, size=300)
    promote = ab.analyse(_losses(control, better, gameweeks), resamples=500)
    assert promote.recommendation == "promote" and promote.ci_high < 0 and promote.dm_p_better < 0.001
    assert promote.power > 0.99 and promote.gameweeks_needed == 0

    same = control + rng.normal(0, 0.02, size=300)
    ended = ab.analyse(_losses(control, same, gameweeks), ended=True, resamples=500)
    assert ended.recommendation == "keep_champion" and "test ended" in ended.reason

    # a small true improvement on few items: undecided, with the gameweeks still needed
    slightly = control[:40] + np.tile([-0.021, 0.019], 20)  # mean difference -0.001, SD 0.02: d_z = -0.05
    early = ab.analyse(_losses(control[:40], slightly, gameweeks[:40]), resamples=500)
    assert early.recommendation == "continue" and early.n_needed > 40 and early.gameweeks_needed >= 1
    assert "more gameweek" in early.reason
    # with a target size, it waits for the target even when already significant
    waiting = ab.analyse(_losses(control, better, gameweeks), target_size=1000, resamples=500)
    assert waiting.recommendation == "continue" and "70 more gameweek" in waiting.reason


def test_rollout_steps():
    assert ab.parse_steps("0.1,0.25,0.5") == [0.1, 0.25, 0.5]
    assert ab.next_split(0.1, [0.1, 0.25, 0.5]) == 0.25 and ab.next_split(0.5, [0.1, 0.25, 0.5]) is None
    for bad in ("0.5,0.25", "0,0.5", "x", "1.5"):
        with pytest.raises(ValueError, match="traffic steps"):
            ab.parse_steps(bad)


def test_ab_test_lifecycle_and_refusals(warehouse):
    """create validates before touching the registry; start/stop follow created → running → stopped → running."""
    from fpl_platform import ab_tests
    from fpl_platform.lib import schemas
    from fpl_platform.resources import MlflowTracking

    tracking = MlflowTracking(tracking_uri=f"sqlite:///{warehouse.file.parent / 'mlflow.db'}")
    for arguments, message in (
        ({"name": "Bad Name", "model": "match_outcome"}, "lower-case"),
        ({"name": "t1", "model": "goals"}, "expected one of"),
        ({"name": "t1", "model": "match_outcome", "split": 0.0}, "share in \\(0, 1\\]"),
        ({"name": "t1", "model": "match_outcome", "end_as_of": "gw30"}, "<season>:<gameweek>"),
        ({"name": "t1", "model": "match_outcome", "rollout": "0.5,0.2"}, "increasing shares"),
    ):
        name = arguments.pop("name")
        with pytest.raises(ab_tests.AbTestError, match=message):
            ab_tests.create(warehouse, tracking, name, **arguments)
    with pytest.raises(ab_tests.AbTestError, match="no version with alias 'challenger'"):
        ab_tests.create(warehouse, tracking, "t1", model="match_outcome")

    row = {
        "test_name": "t1",
        "model_name": "match_outcome",
        "treatment_version": "2",
        "traffic_split": 0.1,
        "min_gameweeks_per_step": 2,
        "alpha": 0.05,
        "status": "created",
        "created_at": pd.Timestamp("2025-08-01", tz="UTC"),
    }
    warehouse.upsert((schemas.AB_TESTS, ab.test_frame(row)))
    with pytest.raises(ab_tests.AbTestError, match="created, not running"):
        ab_tests.stop(warehouse, "t1")
    started = ab_tests.start(warehouse, "t1", as_of="2025-26:3")
    assert started["status"] == "running" and started["start_as_of"] == "2025-26:3"
    warehouse.upsert((schemas.AB_TESTS, ab.test_frame({**row, "test_name": "t2"})))
    with pytest.raises(ab_tests.AbTestError, match="'t1' is already running on match_outcome"):
        ab_tests.start(warehouse, "t2")
    assert ab_tests.stop(warehouse, "t1")["status"] == "stopped"
    again = ab_tests.start(warehouse, "t1", as_of="2025-26:9")
    assert again["start_as_of"] == "2025-26:3"  # a restart keeps the first start
    assert "no evaluated item yet" in ab_tests.report(warehouse, "t1")
    with pytest.raises(ab_tests.AbTestError, match="no A/B test named 'nope'"):
        ab_tests.get(warehouse, "nope")
