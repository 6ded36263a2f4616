"""Known answers for the monitoring maths and the automation rules: SPC limits and CUSUM, the gate's
honest windows, settings files, retrain-storm protection, promotion and rollback in a real MLflow registry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from fpl_platform.lib import automation, gate, performance, plots, promotion, settings, tracking
from fpl_platform.lib.errors import DataValidationError
from fpl_platform.lib.significance import promotion_decision

SETTINGS = settings.DEFAULTS["performance"]


def rounds_frame(values: list[float], season: str = "2024-25") -> pd.DataFrame:
    """One item per gameweek whose squared error is `value` (player_score's RMSE of that gameweek = sqrt(value))."""
    return pd.DataFrame(
        {
            "season": season,
            "gameweek": np.arange(1, len(values) + 1),
            "predicted_points": np.sqrt(values),
            "actual_points": 0.0,
        }
    )


def test_gameweek_series_pools_the_rolling_window():
    items = rounds_frame([1.0, 4.0, 9.0, 16.0])
    series = performance.gameweek_series(items, performance.player_score, window=2)
    assert series["rmse"].tolist() == pytest.approx([1, 2, 3, 4])
    # pooled, not averaged: RMSE of {4, 9} squared errors = sqrt(6.5)
    assert series["rolling_rmse"].tolist() == pytest.approx([1, np.sqrt(2.5), np.sqrt(6.5), np.sqrt(12.5)])
    assert series["rolling_n"].tolist() == [1, 2, 2, 2]
    assert series["rolling_gameweeks"].tolist() == [1, 2, 2, 2]


def test_drift_windows_end_at_the_round_predicted_now():
    """The current window is the latest rounds up to the next one (served now), never the scheduled rounds after
    it, whose features are provisional; the reference is the champion's training rounds before the window."""
    from fpl_platform.defs.monitoring.assets import _window_rounds

    kickoffs = pd.date_range("2025-08-15 19:00", periods=38, freq="7D", tz="UTC")
    rounds = pd.DataFrame({"season": "2025-26", "gameweek": range(1, 39), "cutoff": kickoffs})
    config = {"current_gameweeks": 6, "reference_gameweeks": 8}
    now = kickoffs[19] + pd.Timedelta(days=2)  # gameweek 20 played, 21 next
    reference, current = _window_rounds(rounds, kickoffs[10], config, now)
    assert current["gameweek"].tolist() == [16, 17, 18, 19, 20, 21]
    assert reference["gameweek"].tolist() == list(range(3, 11))  # trained before gameweek 11's cutoff
    _, after_the_season = _window_rounds(rounds, kickoffs[10], config, kickoffs[-1] + pd.Timedelta(days=30))
    assert after_the_season["gameweek"].tolist() == list(range(33, 39))


def test_cusum_known_values():
    values = np.array([0.0, 2.0, 2.0, -3.0, 1.0])
    # S = max(0, S + x - 0.5): 0, 1.5, 3.0, 0, 0.5
    assert performance.cusum(values, centre=0.0, sigma=1.0, k=0.5).tolist() == [0.0, 1.5, 3.0, 0.0, 0.5]


def test_control_limits_and_statuses_on_a_shifted_series():
    rng = np.random.default_rng(0)
    items = pd.DataFrame({"season": "2023-24", "gameweek": np.repeat(np.arange(1, 39), 10), "predicted_points": 0.0,
                          "actual_points": rng.normal(0, 2, 380)})  # fmt: skip
    backtest = performance.gameweek_series(items, performance.player_score, window=4)
    limits = performance.control_limits(items, performance.player_score, "rmse", window=4)
    assert limits.centre == pytest.approx(backtest["rmse"].mean())
    assert limits.sigma_gameweek == pytest.approx(backtest["rmse"].std(ddof=1))
    assert limits.sigma_rolling == pytest.approx(backtest["rolling_rmse"].iloc[3:].std(ddof=1))  # full windows only
    # pooling averages noise away: the fewer gameweeks a window holds, the wider its σ
    sigmas = [*limits.sigma_filling, limits.sigma_rolling]
    assert len(sigmas) == 4 and sigmas[0] == limits.sigma_gameweek and sigmas == sorted(sigmas, reverse=True)

    in_control = performance.classify(backtest, "rmse", limits, SETTINGS)
    assert (in_control["status"] == "ok").mean() > 0.8

    # a served season whose errors triple from gameweek 5 on: warning/critical first, then emergency
    served_items = pd.DataFrame(
        {"season": "2025-26", "gameweek": np.repeat(np.arange(1, 11), 10), "predicted_points": 0.0,
         "actual_points": np.r_[rng.normal(0, 2, 40), rng.normal(0, 6, 60)]}
    )  # fmt: skip
    served = performance.classify(
        performance.gameweek_series(served_items, performance.player_score, 4), "rmse", limits, SETTINGS
    )
    assert (served["status"].iloc[:4] != "emergency").all()
    assert served["status"].iloc[-1] == "emergency"
    assert served["cusum"].iloc[-1] > SETTINGS["cusum_h"]
    reason = performance.status_reason(served.iloc[-1], "rmse")
    assert "2025-26 gameweek 10" in reason and "critical >" in reason
    # a first served gameweek is held to one gameweek's limits, not to four pooled gameweeks' narrower ones
    assert served["warning_limit"].iat[0] == pytest.approx(limits.centre + SETTINGS["warning_sigma"] * limits.sigma_gameweek)
    assert served["warning_limit"].iat[0] > served["warning_limit"].iat[1] > served["warning_limit"].iat[3]
    assert served["warning_limit"].iat[3] == served["warning_limit"].iat[-1]


def test_a_first_served_gameweek_as_bad_as_the_backtest_s_worst_raises_no_alarm():
    """One gameweek's score scatters as much as the backtest's gameweeks do: at the backtest's 90th percentile, a
    lone first gameweek is ok, while the same value pooled over a full window would be far out of control."""
    rng = np.random.default_rng(1)
    items = pd.DataFrame({"season": "2023-24", "gameweek": np.repeat(np.arange(1, 39), 10), "predicted_points": 0.0,
                          "actual_points": rng.normal(0, 2, 380)})  # fmt: skip
    limits = performance.control_limits(items, performance.player_score, "rmse", window=6)
    typical_bad = np.quantile(performance.gameweek_series(items, performance.player_score, 1)["rmse"], 0.9)
    first = rounds_frame([typical_bad**2], season="2025-26")
    served = performance.classify(performance.gameweek_series(first, performance.player_score, 6), "rmse", limits, SETTINGS)
    assert served["status"].tolist() == ["ok"]
    assert typical_bad > limits.centre + SETTINGS["critical_sigma"] * limits.sigma_rolling


def test_trend_plot_is_legible_with_its_legend_beside_the_data():
    """About 1000 px wide for a 1600×1000 screen, 10-point text, the legend right of the axes (not over the data)."""
    import struct

    frame = performance.classify(
        performance.gameweek_series(rounds_frame([1.0, 2.0, 1.5, 1.2, 1.1]), performance.player_score, 2),
        "rmse",
        performance.ControlLimits(1.1, 0.1, 0.05, 5, (0.1,)),
        SETTINGS,
    ).assign(source="backtest")
    png = plots.trend_png(frame, "rmse", "test")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 150_000
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 900 and height >= 400
    assert plots.png_markdown(png, "t").startswith("![t](data:image/png;base64,")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = plots.trend_figure(frame, "rmse", "test")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    [axis] = figure.axes
    legend = axis.get_legend().get_window_extent(renderer)
    assert legend.x0 >= axis.get_window_extent(renderer).x1 and legend.x1 <= figure.bbox.x1
    assert min(text.get_fontsize() for text in axis.get_legend().get_texts()) >= 10
    bars = plots.bar_png(["a", "b"], [0.3, 0.05], "psi", threshold=0.25)
    assert bars[:4] == b"\x89PNG" and struct.unpack(">I", bars[16:20])[0] >= 900


class MeanModel:
    """Predicts the mean of the points it was fitted on; remembers what it saw."""

    def __init__(self, rows: pd.DataFrame):
        self.seen = set(rows["key"])
        self.mean = rows["points"].mean()

    def predict(self, frame):
        return np.full(len(frame), self.mean)


def test_gate_windows_never_score_a_row_a_model_was_trained_on():
    history = pd.DataFrame(
        {
            "season": "2025-26",
            "gameweek": np.repeat(np.arange(1, 13), 2),
            "points": np.r_[np.zeros(12), np.full(12, 4.0)],
        }
    )
    history["cutoff"] = pd.Timestamp("2025-08-01", tz="UTC") + pd.to_timedelta(history["gameweek"] * 7, unit="D")
    history["kickoff"] = history["cutoff"] + pd.Timedelta(hours=2)
    history["key"] = np.arange(len(history))
    fits: list[set] = []

    def fit(rows):
        model = MeanModel(rows)
        fits.append(model.seen)
        return model

    frozen = MeanModel(history[history["gameweek"] <= 8])  # the champion was trained through gameweek 8
    rounds = gate.window_rounds(history, 8)
    assert rounds["gameweek"].tolist() == list(range(5, 13))

    def loss(model, frame):
        assert not (set(frame["key"]) & model.seen), "a model scored a row it was trained on"
        return (model.predict(frame) - frame["points"].to_numpy()) ** 2

    # the frozen champion has seen gameweek 5-8 rows: the gate must refit its recipe there, not use it
    losses = gate.paired_losses(
        history,
        rounds,
        refit_every=4,
        fit_challenger=fit,
        fit_champion=None,
        champion_model=frozen,
        champion_trained_until=history.loc[history["gameweek"] == 8, "kickoff"].max(),
        loss=loss,
    )
    assert losses.groupby("gameweek")["champion_source"].first().tolist() == ["refit"] * 4 + ["frozen"] * 4
    assert len(fits) == 2 and len(losses) == 16
    early = losses[losses["gameweek"] <= 8]
    assert (early["challenger_loss"] == early["champion_loss"]).all()  # same recipe, same data: no difference


def test_gate_blocks_are_fixed_so_next_weeks_gate_refits_only_a_new_block(tmp_path):
    """Blocks are gameweeks 1-4, 5-8, 9-12, … of the season, trained before their first gameweek even when it
    is older than the window: a week later, the same blocks train on the same rows and come from the cache."""
    history = pd.DataFrame({"season": "2025-26", "gameweek": np.repeat(np.arange(1, 14), 3), "points": 1.0})
    history["cutoff"] = pd.Timestamp("2025-08-01", tz="UTC") + pd.to_timedelta(history["gameweek"] * 7, unit="D")
    history["kickoff"] = history["cutoff"] + pd.Timedelta(hours=2)
    history["key"] = np.arange(len(history))
    trained_on: list[int] = []

    def fit(rows):
        trained_on.append(int(rows["gameweek"].max()))
        return MeanModel(rows)

    def gate_at(last_gameweek: int) -> pd.DataFrame:
        known = history[history["gameweek"] <= last_gameweek]
        return gate.paired_losses(
            known,
            gate.window_rounds(known, 6),
            refit_every=4,
            fit_challenger=gate.FitCache(fit, directory=tmp_path),  # a new training, as each week's asset makes
            fit_champion=None,
            champion_model=MeanModel(known),
            champion_trained_until=known["kickoff"].max(),
            loss=lambda model, frame: (model.predict(frame) - frame["points"].to_numpy()) ** 2,
        )

    first = gate_at(12)  # window 7-12: blocks 5-8 (trained on 1-4) and 9-12 (trained on 1-8)
    assert sorted(first["gameweek"].unique()) == list(range(7, 13)) and trained_on == [4, 8]
    second = gate_at(13)  # window 8-13: blocks 5-8 and 9-12 come from the cache, 13-16 is new
    assert sorted(second["gameweek"].unique()) == list(range(8, 14)) and trained_on == [4, 8, 12]
    assert (
        second.loc[second["gameweek"] == 9, "challenger_loss"].tolist()
        == first.loc[first["gameweek"] == 9, "challenger_loss"].tolist()
    )


def test_fit_cache_keys_on_the_rows_content_and_the_recipe(tmp_path):
    calls: list[int] = []

    def fit(rows):
        calls.append(len(rows))
        return MeanModel(rows)

    rows = pd.DataFrame({"key": np.arange(10), "points": np.arange(10.0)})
    cache = gate.FitCache(fit, directory=tmp_path)
    model = cache(rows)
    assert cache(rows) is model and calls == [10]  # in memory
    again = gate.FitCache(fit, directory=tmp_path)(rows.set_index(rows["key"] + 100))  # another training: from disk
    assert calls == [10] and again.mean == model.mean
    gate.FitCache(fit, directory=tmp_path)(rows.assign(points=rows["points"] + 1))  # other values: a new fit
    gate.FitCache(fit, directory=tmp_path)(rows.iloc[::-1])  # the same rows in another order: a new fit
    gate.FitCache(fit, recipe="C=1", directory=tmp_path)(rows)  # another recipe: a new fit
    assert calls == [10, 10, 10, 10]
    small = gate.FitCache(fit, directory=tmp_path / "small", keep=2)
    for shift in range(4):
        small(rows.assign(points=rows["points"] + shift))
    assert len(list(small.directory.glob("*.pkl"))) == 2
    other_recipe = gate.FitCache(fit, recipe="other", directory=tmp_path / "small", keep=2)
    other_recipe(rows)  # another recipe's entries do not evict these
    assert len(list(small.directory.glob("*.pkl"))) == 2 and len(list(other_recipe.directory.glob("*.pkl"))) == 1
    small.directory.joinpath(f"{small.key(rows.assign(points=rows['points'] + 3))}.pkl").write_bytes(b"trunc")
    gate.FitCache(fit, directory=tmp_path / "small")(rows.assign(points=rows["points"] + 3))  # a damaged entry is refit
    assert len(calls) == 10


def test_fit_cache_makes_its_missing_fits_side_by_side_and_each_once(tmp_path):
    import threading

    both_running = threading.Barrier(2, timeout=30)  # a fit waits here for the other: they must run at once
    calls: list[int] = []

    def fit(rows):
        calls.append(len(rows))
        both_running.wait()
        return MeanModel(rows)

    rows = pd.DataFrame({"key": np.arange(10), "points": np.arange(10.0)})
    frames = [rows, rows.assign(points=rows["points"] + 1), rows]  # the first and the last are the same fit
    cache = gate.FitCache(fit, directory=tmp_path)
    done: list[int] = []
    models = cache.many(frames, threads=2, done=done.append)
    assert sorted(done) == [0, 1, 2] and models[0] is models[2] and models[1].mean == models[0].mean + 1
    assert cache.counts == {"fitted": 2, "reused": 1} and len(calls) == 2  # the duplicate is fitted once
    again = gate.FitCache(fit, directory=tmp_path).many(frames, threads=2)  # all on disk: nothing waits
    assert [m.mean for m in again] == [m.mean for m in models] and len(calls) == 2


def test_fit_cache_keys_only_on_the_columns_the_fit_reads(tmp_path):
    calls: list[int] = []

    def fit(rows):
        calls.append(len(rows))
        return MeanModel(rows)

    rows = pd.DataFrame({"key": np.arange(10), "points": np.arange(10.0), "name": [f"player {i}" for i in range(10)]})
    cache = gate.FitCache(fit, directory=tmp_path, columns=["points"])
    cache(rows)
    cache(rows.assign(name="renamed", key=rows["key"] + 1))  # columns the fit does not read: the same fit
    assert calls == [10]
    cache(rows.assign(points=rows["points"] * 2))  # a column it reads: a new fit
    assert calls == [10, 10]


def test_the_fits_read_only_their_declared_columns():
    """The fit caches key on `FIT_COLUMNS` / `Candidate.fit_columns`: a fit reading any other column would
    be served a model trained on other data, so each fit must work on exactly those columns."""
    from fpl_platform.lib import match_model, player_model

    rng = np.random.default_rng(0)
    players = pd.DataFrame(rng.normal(size=(300, len(player_model.FEATURES))), columns=player_model.FEATURES)
    players["minutes"] = rng.choice([0.0, 90.0], 300)
    players["points"] = rng.poisson(2, 300).astype(float)
    players["kickoff"] = pd.Timestamp("2025-08-16", tz="UTC") + pd.to_timedelta(np.arange(300), unit="h")
    model = player_model.fit(players[player_model.FIT_COLUMNS], n_estimators=3)
    assert model.training_rows == 300 and model.trained_until == str(players["kickoff"].max())
    for candidate in match_model.CANDIDATES.values():
        matches = pd.DataFrame(rng.normal(size=(120, len(candidate.features))), columns=candidate.features)
        matches[match_model.DC_COLUMNS] = 1 / 3
        matches["home_goals"], matches["away_goals"] = rng.poisson(1.4, 120), rng.poisson(1.1, 120)
        matches["kickoff"] = players["kickoff"].iloc[:120].to_numpy()
        fitted = match_model.fit(candidate, matches[candidate.fit_columns])
        assert fitted.training_rows == 120


def test_promotion_decision_margin_test_and_rmse():
    rng = np.random.default_rng(1)
    champion = rng.normal(1.0, 0.1, 400) ** 2
    better = champion - 0.05
    assert promotion_decision(better, champion, margin=0.01).promote
    assert not promotion_decision(better, champion, margin=0.1).promote  # below the margin
    assert not promotion_decision(champion, champion, margin=0.0).promote  # no evidence
    noisy = champion + rng.normal(-0.002, 0.3, 400)
    verdict = promotion_decision(noisy, champion, margin=0.0)
    assert not verdict.promote and "p =" in verdict.reason
    rmse = promotion_decision(better, champion, margin=0.0, aggregate="rmse", test="wilcoxon")
    assert rmse.score_champion == pytest.approx(np.sqrt(champion.mean())) and rmse.promote
    with pytest.raises(ValueError, match="aggregate"):
        promotion_decision(better, champion, aggregate="median")


def test_settings_file_overrides_defaults_and_names_bad_keys(isolated_home, monkeypatch):
    assert settings.load("gate") == settings.DEFAULTS["gate"]
    path = isolated_home / "fpl_platform.yaml"
    path.write_text("gate:\n  match_margin: 0.002\n  alpha: 0.1\nautomation:\n  retrain_cooldown_hours: 6\n")
    assert settings.load("gate")["match_margin"] == 0.002 and settings.load("gate")["alpha"] == 0.1
    assert settings.load("automation")["retrain_cooldown_hours"] == 6.0
    assert settings.resolve("gate", {"alpha": 0.01, "unrelated": 1, "match_margin": None})["alpha"] == 0.01
    assert settings.resolve("gate", {"match_margin": None})["match_margin"] == 0.002
    # a run's overrides are held to the file's ranges: alpha 2.0 would promote every challenger
    for override, expected in (({"alpha": 2.0}, "gate.alpha = 2.0"), ({"test": "ttest"}, "gate.test = 'ttest'")):
        with pytest.raises(ValueError, match=f"^run config: {re.escape(expected)}: expected"):
            settings.resolve("gate", override)
    # the drift asset's and the backtests' thresholds come from the same file, under a run's overrides
    from fpl_platform.defs.monitoring.assets import DriftConfig
    from fpl_platform.defs.training.assets import MatchBacktestConfig, refit_every

    path.write_text("drift:\n  psi_critical: 0.5\n  evidently: never\ntraining:\n  refit_every_gameweeks: 2\n")
    drift = settings.resolve("drift", DriftConfig().model_dump())
    assert (drift["psi_critical"], drift["evidently"], drift["psi_warning"]) == (0.5, "never", 0.1)
    assert settings.resolve("drift", DriftConfig(evidently="on_change").model_dump())["evidently"] == "on_change"
    assert refit_every(MatchBacktestConfig()) == 2 and refit_every(MatchBacktestConfig(refit_every_gameweeks=8)) == 8
    path.write_text("gate:\n  margin: 0.002\n")
    with pytest.raises(DataValidationError, match=r"fpl_platform.yaml.*gate.margin is not a setting"):
        settings.load("gate")
    path.write_text("performance:\n  rolling_gameweeks: six\n")
    with pytest.raises(DataValidationError, match=r"performance\.rolling_gameweeks = 'six': expected a whole number of"):
        settings.load("performance")
    monkeypatch.setenv("FPL_PLATFORM_CONFIG", str(isolated_home / "missing.yaml"))
    with pytest.raises(DataValidationError, match="does not exist"):
        settings.load("gate")


def test_retrain_storm_protection():
    now = datetime(2026, 1, 5, 23, tzinfo=UTC)
    day = timedelta(hours=24)
    first = automation.decide_retrain(attempts=0, last_retrain=None, now=now, cooldown=day, max_attempts=3)
    assert first.request and first.attempts == 1
    cooling = automation.decide_retrain(attempts=1, last_retrain=now - timedelta(hours=2), now=now, cooldown=day, max_attempts=3)
    assert not cooling.request and "cooldown" in cooling.reason and "22.0 h left" in cooling.reason
    emergency = automation.decide_retrain(
        attempts=1, last_retrain=now - timedelta(hours=2), now=now, cooldown=day, max_attempts=3, emergency=True
    )
    assert emergency.request and emergency.attempts == 2
    capped = automation.decide_retrain(attempts=3, last_retrain=None, now=now, cooldown=day, max_attempts=3, emergency=True)
    assert not capped.request and "needs a person" in capped.reason
    assert automation.load_cursor(None, {"a": {}}) == {"a": {}}
    assert automation.load_cursor('{"b": 1}', {"a": {}}) == {"a": {}, "b": 1}
    with pytest.raises(ValueError):
        automation.load_cursor("[1]", {})


class Registry:
    """The MlflowTracking surface promotion needs, over a real MLflow sqlite registry."""

    def __init__(self, uri: str):
        self.uri = uri

    def aliases(self, name):
        return tracking.aliases(self.uri, name)

    def set_alias(self, name, alias, version):
        tracking.set_alias(self.uri, name, alias, version)

    def delete_alias(self, name, alias):
        tracking.delete_alias(self.uri, name, alias)

    def tag_version(self, name, version, key, value):
        tracking.set_version_tag(self.uri, name, version, key, value)


def test_promotion_and_rollback_move_real_mlflow_aliases(warehouse, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for _ in range(3):
        with tracking.training_run(uri, "match_outcome", str(tmp_path / "artifacts"), "t", {}) as run_id:
            tracking.log_model(uri, {"a": 1}, "match_outcome", run_id=run_id)
    registry = Registry(uri)
    for version, before in (("1", None), ("2", "1"), ("3", "2")):
        assert promotion.promote(registry, "match_outcome", version) == before
        promotion.record_event(
            warehouse, model_name="match_outcome", trigger="scheduled", decision="promoted", reason="test",
            champion_before=before, champion_after=version, created_at=pd.Timestamp.now(tz="UTC"),
        )  # fmt: skip
    assert registry.aliases("match_outcome") == {"champion": "3", "previous": "2"}

    assert promotion.rollback(warehouse, registry, "match_outcome", evidence="test", now=pd.Timestamp.now(tz="UTC")) == ("3", "2")
    assert registry.aliases("match_outcome") == {"champion": "2", "previous": "1", "rolled_back": "3"}
    assert promotion.rollback(warehouse, registry, "match_outcome", evidence="test", now=pd.Timestamp.now(tz="UTC")) == ("2", "1")
    assert registry.aliases("match_outcome") == {"champion": "1", "rolled_back": "2"}
    with pytest.raises(promotion.RollbackError, match="no previous champion"):
        promotion.rollback(warehouse, registry, "match_outcome", evidence="test", now=pd.Timestamp.now(tz="UTC"))
    events = warehouse.read(
        "SELECT decision, champion_before, champion_after FROM monitoring.retraining_events ORDER BY created_at"
    )
    assert events.values.tolist()[-2:] == [["rolled_back", "3", "2"], ["rolled_back", "2", "1"]]
    with pytest.raises(ValueError, match="trigger"):
        promotion.record_event(warehouse, model_name="m", trigger="whim", decision="promoted", reason="", created_at=None)


def test_gate_promotes_a_fresher_model_and_rejects_an_identical_one():
    """Known answers: points jump from 0 to 4 at gameweek 7. A champion frozen at gameweek 6 keeps predicting 0;
    a challenger refit walk-forward learns the new level, so it wins clearly; the same model against itself does not."""
    gameweeks = np.repeat(np.arange(1, 21), 10)
    history = pd.DataFrame({"season": "2025-26", "gameweek": gameweeks, "points": np.where(gameweeks >= 7, 4.0, 0.0)})
    history["cutoff"] = pd.Timestamp("2025-08-01", tz="UTC") + pd.to_timedelta(history["gameweek"] * 7, unit="D")
    history["kickoff"] = history["cutoff"] + pd.Timedelta(hours=2)
    history["key"] = np.arange(len(history))

    class RecentMean(MeanModel):
        def __init__(self, rows):
            super().__init__(rows[rows["gameweek"] > rows["gameweek"].max() - 3])

    frozen = RecentMean(history[history["gameweek"] <= 6])
    assert frozen.mean == 0.0
    kwargs = {
        "refit_every": 2,
        "fit_champion": None,
        "champion_trained_until": history.loc[history["gameweek"] == 6, "kickoff"].max(),
        "loss": lambda model, frame: (model.predict(frame) - frame["points"].to_numpy()) ** 2,
    }
    rounds = gate.window_rounds(history, 8)  # gameweeks 13-20: all after the champion's data
    losses = gate.paired_losses(history, rounds, fit_challenger=RecentMean, champion_model=frozen, **kwargs)
    assert losses["champion_loss"].mean() == 16.0 and losses["challenger_loss"].mean() == 0.0
    verdict = promotion_decision(losses["challenger_loss"], losses["champion_loss"], margin=0.005, aggregate="rmse")
    assert verdict.promote and verdict.improvement == 4.0 and verdict.p_value == 0.0

    fresh = RecentMean(history[history["gameweek"] <= 20])
    same = gate.paired_losses(history, rounds, fit_challenger=lambda rows: fresh, champion_model=fresh, **kwargs)
    verdict = promotion_decision(same["challenger_loss"], same["champion_loss"], margin=0.005, aggregate="rmse")
    assert not verdict.promote and "below the margin" in verdict.reason


def test_served_performance_does_not_depend_on_the_order_rows_were_stored_in(tmp_path):
    """The performance query joins predictions with outcomes; DuckDB's output order follows the storage order
    unless the query fixes it, and pooled float sums over another order differ in the last bits (two replays
    of one season differed so). Two warehouses holding the same rows in opposite orders must score alike."""
    import duckdb

    from fpl_platform.lib.models import served_sql

    rng = np.random.default_rng(11)
    n = 3000
    rows = pd.DataFrame(
        {
            "season": "2025-26",
            "gameweek": np.repeat(np.arange(1, 31), n // 30),
            "player_id": np.tile(np.arange(n // 30), 30),
            "match_id": [f"m{g}" for g in np.repeat(np.arange(1, 31), n // 30)],
            "predicted_points": rng.gamma(1.5, 1.6, n),
            "points": rng.poisson(2.0, n).astype(float),
            "model_version": "1",
            "predicted_at": pd.Timestamp("2025-12-01", tz="UTC"),
        }
    )
    series = []
    for name, order in (("forward", rows), ("backward", rows.iloc[::-1].reset_index(drop=True).copy())):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as connection:
            connection.execute("CREATE SCHEMA predictions; CREATE SCHEMA features")
            connection.register("incoming", order)
            connection.execute(
                "CREATE TABLE predictions.player_points AS SELECT season, gameweek, player_id, match_id, predicted_points,"
                " model_version, predicted_at FROM incoming"
            )
            connection.execute("CREATE TABLE features.player_features AS SELECT player_id, match_id, points FROM incoming")
            served = connection.execute(served_sql("player_points")).df()
        series.append(performance.gameweek_series(served, performance.player_score, 6))
    for column in ("rmse", "mae", "r2", "rolling_rmse", "rolling_mae", "rolling_r2"):
        assert np.array_equal(series[0][column].to_numpy(), series[1][column].to_numpy()), column
