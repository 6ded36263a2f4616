"""Dixon-Coles and Elo: analytic gradient, parameter recovery on simulated leagues, promoted teams."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from fpl_platform.lib import ratings


def simulate(seed=0, seasons=6, teams=12, home_advantage=0.3, rho=-0.08):
    rng = np.random.default_rng(seed)
    names = [f"Team {i:02d}" for i in range(teams)]
    attack = rng.normal(0, 0.3, teams)
    attack -= attack.mean()
    defence = rng.normal(0, 0.25, teams)
    defence -= defence.mean()
    rows = []
    for _ in range(seasons):
        for i in range(teams):
            for j in range(teams):
                if i == j:
                    continue
                lam = np.exp(attack[i] + defence[j] + home_advantage)
                mu = np.exp(attack[j] + defence[i])
                # draw from the DC distribution by rejection on the tau-corrected Poisson
                while True:
                    x, y = rng.poisson(lam), rng.poisson(mu)
                    tau = {(0, 0): 1 - lam * mu * rho, (0, 1): 1 + lam * rho, (1, 0): 1 + mu * rho, (1, 1): 1 - rho}.get(
                        (x, y), 1.0
                    )
                    if rng.random() < tau / 2.0:  # tau < 2 for these rates
                        break
                rows.append((names[i], names[j], x, y))
    frame = pd.DataFrame(rows, columns=["home", "away", "hg", "ag"])
    return frame, names, attack, defence


def test_analytic_gradient_matches_numerical():
    frame, names, *_ = simulate(seasons=1, teams=6)
    index = {t: i for i, t in enumerate(names)}
    data = ratings.FitData(
        frame["home"].map(index).to_numpy(), frame["away"].map(index).to_numpy(),
        frame["hg"].to_numpy(float), frame["ag"].to_numpy(float), np.linspace(0.5, 1, len(frame)),
        np.zeros(6), np.zeros(6), 0.7,
    )  # fmt: skip
    rng = np.random.default_rng(3)
    for _ in range(3):
        theta = np.concatenate([rng.normal(0, 0.2, 12), [0.25, -0.05]])
        error = check_grad(
            lambda t: ratings.negative_log_likelihood(t, data)[0], lambda t: ratings.negative_log_likelihood(t, data)[1], theta
        )
        assert error < 1e-5


def test_recovers_known_strengths():
    frame, names, attack, defence = simulate(seasons=25)
    fit = ratings.DixonColes(xi=0.0, ridge=0.01).fit(
        frame["home"].to_numpy(), frame["away"].to_numpy(), frame["hg"], frame["ag"], np.zeros(len(frame))
    )
    index = fit.index()
    fitted_attack = np.array([fit.attack[index[t]] for t in names])
    fitted_defence = np.array([fit.defence[index[t]] for t in names])
    offset = fitted_attack.mean()  # the likelihood fixes attack + defence sums only up to a shift
    assert np.corrcoef(fitted_attack, attack)[0, 1] > 0.95
    assert np.corrcoef(fitted_defence, defence)[0, 1] > 0.9
    assert np.abs(fitted_attack - offset - attack).max() < 0.15
    assert fit.home_advantage == pytest.approx(0.3, abs=0.06)
    assert fit.rho == pytest.approx(-0.08, abs=0.06)


def test_outcome_probabilities_sum_to_one_and_favour_the_stronger_side():
    p = ratings.outcome_probabilities(np.array([2.5, 0.6]), np.array([0.6, 2.5]), -0.05)
    assert np.allclose(p.sum(axis=1), 1)
    assert p[0, 0] > 0.7 and p[1, 2] > 0.7


def league():
    frame, *_ = simulate(seasons=3, teams=8)
    frame["kickoff"] = pd.date_range("2020-08-15", periods=len(frame), freq="6h", tz="UTC")
    frame["season"] = np.repeat(["2020-21", "2021-22", "2022-23"], len(frame) // 3)
    frame["gameweek"] = (np.arange(len(frame)) % (len(frame) // 3)) // 4 + 1
    frame = frame.rename(columns={"home": "home_team", "away": "away_team", "hg": "home_goals", "ag": "away_goals"})
    frame["match_id"] = [f"m{i}" for i in range(len(frame))]
    return frame


def test_promoted_team_gets_the_prior_not_a_crash():
    frame = league()
    last = frame["season"] == "2022-23"
    frame.loc[last & (frame["home_team"] == "Team 00"), "home_team"] = "Newcomers"
    frame.loc[last & (frame["away_team"] == "Team 00"), "away_team"] = "Newcomers"
    rated = ratings.walk_forward_dixon_coles(frame, min_history=20)
    first = rated.merge(frame, on="match_id")
    first = first[(first["season"] == "2022-23") & (first["home_team"] == "Newcomers")].iloc[0]
    assert (first["home_attack"], first["home_defence"]) == ratings.PROMOTED_PRIOR
    assert np.isfinite(rated[["dc_p_home", "dc_p_draw", "dc_p_away"]].to_numpy()).all()


def test_rounds_after_the_last_result_keep_the_latest_fit():
    """Mid-season, the next round is refit on every result so far; the rounds after it, with no result between
    them, keep that fit (provisional), while every played round is rated exactly as before."""
    frame = league()
    unplayed = (frame["season"] == "2022-23") & (frame["gameweek"] >= 11)
    scheduled = frame.copy()
    scheduled.loc[unplayed, ["home_goals", "away_goals"]] = np.nan
    full = ratings.walk_forward_dixon_coles(frame, min_history=20).set_index("match_id")
    rated = ratings.walk_forward_dixon_coles(scheduled, min_history=20).set_index("match_id")
    played = full.index.intersection(frame.loc[~unplayed, "match_id"])
    pd.testing.assert_frame_equal(full.loc[played], rated.loc[played])
    gameweek = frame.set_index("match_id").loc[rated.index, "gameweek"]
    ahead = rated.loc[frame.loc[unplayed, "match_id"]]
    assert ahead["cutoff"].nunique() == frame.loc[unplayed, "gameweek"].nunique() > 2
    fit = ["home_advantage", "rho", "dc_fit_matches"]
    assert (ahead[fit].nunique() == 1).all()  # one fit for all of them
    next_round = rated.index[gameweek.eq(11) & rated.index.isin(ahead.index)]
    assert (rated.loc[next_round, fit] == full.loc[next_round, fit]).all().all()  # the next round's own fit


def test_elo_update_with_goal_margin():
    elo = ratings.Elo(k=20, home_advantage=0)
    table = {"A": 1500.0, "B": 1500.0}
    elo._update(table, "A", "B", 3 - 0)
    expected_change = 20 * (1 + np.log1p(3)) * 0.5
    assert table["A"] == pytest.approx(1500 + expected_change) and table["B"] == pytest.approx(1500 - expected_change)


def test_elo_only_uses_matches_before_the_gameweek():
    frame = league()
    base = ratings.Elo().walk_forward(frame).set_index("match_id")
    changed = frame.copy()
    target = changed.index[(changed["season"] == "2021-22") & (changed["gameweek"] == 10)][0]
    changed.loc[target, ["home_goals", "away_goals"]] = [9, 0]
    after = ratings.Elo().walk_forward(changed).set_index("match_id")
    cutoff_gw = changed.loc[target, "gameweek"]
    same_or_earlier = frame[(frame["season"] < "2021-22") | ((frame["season"] == "2021-22") & (frame["gameweek"] <= cutoff_gw))][
        "match_id"
    ]
    pd.testing.assert_frame_equal(base.loc[same_or_earlier], after.loc[same_or_earlier])
    later = frame[(frame["season"] == "2021-22") & (frame["gameweek"] == cutoff_gw + 1)]["match_id"]
    assert not base.loc[later].equals(after.loc[later])
