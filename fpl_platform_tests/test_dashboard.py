"""The dashboard (`fpl-platform dashboard`) over a demo's analyst copy: every page rendered by Streamlit's AppTest
with the numbers it shows compared to the tables, the empty states, and the real server in headless Chromium
(screenshots in test-artifacts/) while the copy is republished underneath it."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

APP = Path(__file__).resolve().parents[1] / "fpl_platform" / "dashboard" / "app.py"
PAGES = ("next_gameweek", "model_health", "drift", "ab_tests", "backtest")
CLI = Path(sys.executable).with_name("fpl-platform")


def app_on(home: Path, monkeypatch, page: str = "next_gameweek"):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("FPL_PLATFORM_HOME", str(home))
    monkeypatch.delenv("FPL_PLATFORM_ANALYTICS", raising=False)
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    if page != "next_gameweek":
        app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def rows(connection, sql: str, params=()):
    return connection.execute(sql, list(params)).fetchall()


def metric(app, label_start: str):
    [found] = [m for m in app.metric if m.label.startswith(label_start)]
    return found.value


def frame(app, column: str, last: bool = False):
    """The (first, or last) table shown that has `column` (AppTest does not give a table's key)."""
    found = [d.value for d in app.dataframe if column in d.value.columns]
    assert found, f"no table with a column {column!r}"
    return found[-1] if last else found[0]


def charts(app) -> int:
    return len(app.get("vega_lite_chart"))


def test_the_cards_are_the_tables_figures(demo_home, demo_copy, monkeypatch):
    app = app_on(demo_home, monkeypatch)
    newest = rows(demo_copy, "SELECT max(kickoff) FROM raw.matches")[0][0]
    assert metric(app, "Data freshness") == newest.strftime("%d %b %Y")
    for label, table in (("Match champion", "ml.match_outcome_model"), ("Player champion", "ml.player_points_model")):
        [(version,)] = rows(demo_copy, f"SELECT version FROM {table} WHERE alias = 'champion'")
        assert metric(app, label) == f"v{version}"
    [(season, gameweek, rps)] = rows(
        demo_copy,
        "SELECT season, gameweek, rps FROM monitoring.performance WHERE model_name = 'match_outcome' "
        "ORDER BY season DESC, gameweek DESC, source = 'served' DESC LIMIT 1",
    )
    assert metric(app, f"Match RPS, {season} gw {gameweek}") == f"{rps:.4f}"
    [(season, gameweek, rmse)] = rows(
        demo_copy,
        "SELECT season, gameweek, rmse FROM monitoring.performance WHERE model_name = 'player_points' "
        "ORDER BY season DESC, gameweek DESC, source = 'served' DESC LIMIT 1",
    )
    assert metric(app, f"Player RMSE, {season} gw {gameweek}") == f"{rmse:.4f}"
    # open: a model whose latest gameweek is past a limit, or whose latest drift report is not clean
    [(past_limits,)] = rows(
        demo_copy,
        "SELECT count(*) FILTER (status <> 'ok') FROM (SELECT model_name, arg_max(status, (season, gameweek, source = 'served')) "
        "AS status FROM monitoring.performance GROUP BY model_name)",
    )
    [(drifting,)] = rows(
        demo_copy,
        "SELECT count(*) FILTER (severity <> 'none') FROM (SELECT model_name, arg_max(severity, created_at) AS severity "
        "FROM monitoring.drift_reports GROUP BY model_name)",
    )
    assert metric(app, "Open alerts") == str(past_limits + drifting)


def test_next_gameweek_shows_the_rounds_predictions_and_filters_them(demo_home, demo_copy, monkeypatch):
    app = app_on(demo_home, monkeypatch)
    matches = frame(app, "home_team")
    [(as_of, season, gameweek)] = rows(
        demo_copy, "SELECT as_of, season, gameweek FROM predictions.match_outcomes ORDER BY predicted_at DESC LIMIT 1"
    )
    expected = rows(
        demo_copy,
        "SELECT home_team, p_home, p_draw, p_away, model_version FROM predictions.match_outcomes "
        "WHERE as_of = ? AND season = ? AND gameweek = ? ORDER BY kickoff, match_id",
        [as_of, season, gameweek],
    )
    assert [tuple(r) for r in matches[["home_team", "p_home", "p_draw", "p_away", "model_version"]].itertuples(index=False)] == [
        tuple(r) for r in expected
    ]
    assert f"{season} gameweek {gameweek}" in " ".join(h.value for h in app.subheader)
    players = frame(app, "predicted_points")
    [(total, best)] = rows(
        demo_copy,
        "SELECT count(*), max(predicted_points) FROM predictions.player_points WHERE as_of = ? AND season = ? AND gameweek = ?",
        [as_of, season, gameweek],
    )
    assert len(players) == total and players["predicted_points"].iloc[0] == pytest.approx(best)
    assert players["price"].notna().all()  # the forecast's own price where FPL's live one is absent
    app.multiselect(key="position").set_value(["FWD"]).run()
    app.slider(key="min_p_play").set_value(0.5).run()
    forwards = frame(app, "predicted_points")
    [(count,)] = rows(
        demo_copy,
        "SELECT count(*) FROM predictions.player_points "
        "WHERE as_of = ? AND season = ? AND gameweek = ? AND position = 'FWD' AND p_play >= 0.5",
        [as_of, season, gameweek],
    )
    assert len(forwards) == count > 0 and set(forwards["position"]) == {"FWD"}


def test_fpls_live_price_and_availability_status_show_beside_the_forecast(tmp_path, demo_home, demo_copy, monkeypatch):
    """In live mode raw.squad holds FPL's price, status and chance of playing: the table shows them, one row per
    player-fixture still."""
    home = tmp_path / "live-home"
    home.mkdir()
    shutil.copy(demo_home / "analytics.duckdb", home / "analytics.duckdb")
    with duckdb.connect(str(home / "analytics.duckdb")) as connection:
        connection.execute(
            "INSERT INTO raw.squad BY NAME SELECT p.season, p.gameweek, p.match_id, p.kickoff, p.player_id, 0 AS player_code, "
            "p.player_name, p.position, p.team, p.opponent, true AS was_home, 9.9 AS price, 1000 AS selected, "
            "0 AS transfers_balance, 25 AS chance_of_playing, 'd' AS status, 'fpl-api' AS source "
            "FROM predictions.player_points p ORDER BY p.predicted_points DESC LIMIT 3"
        )
    app = app_on(home, monkeypatch)
    players = frame(app, "predicted_points")
    flagged = players[players["status"] == "d"]
    assert len(flagged) == 3 and set(flagged["price"]) == {9.9} and set(flagged["chance_of_playing"]) == {25}
    [(total,)] = rows(
        demo_copy,
        "SELECT count(*) FROM predictions.player_points WHERE (as_of, season, gameweek) = "
        "(SELECT (as_of, season, gameweek) FROM predictions.player_points ORDER BY predicted_at DESC LIMIT 1)",
    )
    assert len(players) == total


def test_model_health_shows_the_monitoring_history_and_decisions(demo_home, demo_copy, monkeypatch):
    app = app_on(demo_home, monkeypatch, "model_health")
    history = frame(app, "gate_decision")
    expected = rows(demo_copy, "SELECT version, alias FROM ml.match_outcome_model ORDER BY trained_at DESC")
    assert [(v, a or "") for v, a in expected] == list(zip(history["version"], history["alias"], strict=True))
    events = frame(app, "trigger")
    [(count,)] = rows(demo_copy, "SELECT count(*) FROM monitoring.retraining_events WHERE model_name = 'match_outcome'")
    assert len(events) == count
    assert charts(app) >= 3  # the metric with its limits, CUSUM, the decisions
    app.button_group[0].set_value("player_points").run()
    assert not app.exception
    assert any(s.value.startswith("Player points: gameweek RMSE") for s in app.subheader)
    history = frame(app, "gate_decision")
    assert list(history["version"]) == [
        v for (v,) in rows(demo_copy, "SELECT version FROM ml.player_points_model ORDER BY trained_at DESC")
    ]


def test_drift_shows_the_latest_report_feature_by_feature(demo_home, demo_copy, monkeypatch):
    app = app_on(demo_home, monkeypatch, "drift")
    latest = frame(app, "ks_p_value")
    expected = dict(
        rows(
            demo_copy,
            "SELECT feature, psi FROM monitoring.drift d JOIN monitoring.drift_reports r USING (report_id) "
            "WHERE r.model_name = 'match_outcome' AND feature <> 'prediction' AND created_at = "
            "(SELECT max(created_at) FROM monitoring.drift_reports WHERE model_name = 'match_outcome')",
        )
    )
    assert dict(zip(latest["feature"], latest["psi"], strict=True)) == pytest.approx(expected)
    assert any("No Evidently report" in i.value for i in app.info)  # a --quick demo draws none


def test_an_evidently_report_is_served_from_the_page(tmp_path, demo_home, demo_copy, monkeypatch):
    home = tmp_path / "dashboard-home"
    (home / "reports").mkdir(parents=True)
    shutil.copy(demo_home / "analytics.duckdb", home / "analytics.duckdb")
    [(report_id,)] = rows(
        demo_copy,
        "SELECT report_id FROM monitoring.drift_reports WHERE model_name = 'match_outcome' ORDER BY created_at DESC LIMIT 1",
    )
    (home / "reports" / f"drift_match_outcome_{report_id}.html").write_text("<html><body><h1>Evidently</h1></body></html>")
    app = app_on(home, monkeypatch, "drift")
    assert report_id in app.selectbox(key="evidently_report").value
    assert not any("No Evidently report" in i.value for i in app.info)
    app.toggle(key="show_report").set_value(True).run()
    assert not app.exception


def test_the_backtest_page_is_the_backtest_tables(demo_home, demo_copy, monkeypatch):
    app = app_on(demo_home, monkeypatch, "backtest")
    shown = frame(app, "dixon_coles").set_index("season")
    for season, model, rps in rows(demo_copy, "SELECT season, model, rps FROM ml.backtest_metrics WHERE domain = 'match'"):
        assert shown.loc[season, model] == pytest.approx(rps)
    errors = frame(app, "mae ours").set_index("season")
    for season, model, mae, rmse in rows(
        demo_copy, "SELECT season, model, mae, rmse FROM ml.backtest_metrics WHERE domain = 'player' AND subset = 'all'"
    ):
        assert (errors.loc[season, f"mae {model}"], errors.loc[season, f"rmse {model}"]) == pytest.approx((mae, rmse), abs=5e-5)
    paired = frame(app, "baseline", last=True)
    expected = rows(demo_copy, "SELECT model, baseline, ci_low, ci_high FROM ml.backtest_comparisons WHERE domain = 'player'")
    shown = {
        (m, b): (lo, hi)
        for m, b, lo, hi in zip(paired["model"], paired["baseline"], paired["ci_low"], paired["ci_high"], strict=True)
    }
    assert shown.keys() == {(m, b) for m, b, _, _ in expected}
    for model, baseline, low, high in expected:
        assert shown[model, baseline] == pytest.approx((low, high))


def with_an_ab_test(demo_home: Path, home: Path) -> None:
    """A copy of the demo's analyst copy holding one A/B test over the predicted round: each match served by an
    arm, and two evaluations (what the A/B assets write; the dashboard reads only these tables)."""
    home.mkdir(parents=True)
    shutil.copy(demo_home / "analytics.duckdb", home / "analytics.duckdb")
    with duckdb.connect(str(home / "analytics.duckdb")) as connection:
        now = dt.datetime.now(dt.UTC)
        connection.execute(
            "INSERT INTO monitoring.ab_tests (test_name, model_name, treatment_version, traffic_split, rollout_steps, "
            "min_gameweeks_per_step, alpha, status, created_at) VALUES ('xgb-vs-champion', 'match_outcome', '2', 0.25, "
            "'0.25,0.5', 2, 0.05, 'running', ?)",
            [now],
        )
        connection.execute(
            "INSERT INTO monitoring.ab_assignments (test_name, item_key, model_name, season, gameweek, match_id, bucket, "
            "traffic_split, arm, control_version, treatment_version, as_of, assigned_at) "
            "SELECT 'xgb-vs-champion', match_id, 'match_outcome', season, gameweek, match_id, (row_number() OVER ()) / 10.0, 0.25, "
            "CASE WHEN (row_number() OVER ()) % 4 = 0 THEN 'treatment' ELSE 'control' END, '1', '2', as_of, ? "
            "FROM predictions.match_outcomes",
            [now],
        )
        for as_of, difference in (("2025-26:37", -0.004), ("2025-26:38", -0.006)):
            connection.execute(
                "INSERT INTO monitoring.ab_results (test_name, as_of, evaluated_at, model_name, metric, treatment_version, "
                "traffic_split, n_items, n_control, n_treatment, gameweeks, mean_loss_control, mean_loss_treatment, "
                "mean_difference, ci_low, ci_high, dm_p_better, dm_p_worse, cohens_d_paired, recommendation, reason, action) "
                "VALUES ('xgb-vs-champion', ?, ?, 'match_outcome', 'rps', '2', 0.25, 40, 30, 10, 4, 0.21, ?, ?, ?, ?, 0.2, 0.8, "
                "-0.1, 'continue', 'not significant yet', 'none')",
                [as_of, now, 0.21 + difference, difference, difference - 0.01, difference + 0.01],
            )


def test_the_ab_page_shows_an_empty_state_then_a_tests_arms_and_statistics(tmp_path, demo_home, monkeypatch):
    empty = app_on(demo_home, monkeypatch, "ab_tests")
    assert any("fpl-platform ab-test create" in i.value for i in empty.info)
    home = tmp_path / "dashboard-home"
    with_an_ab_test(demo_home, home)
    app = app_on(home, monkeypatch, "ab_tests")
    assert metric(app, "Recommendation") == "continue"
    assert metric(app, "Difference (treatment − control)") == "-0.0060"
    assert metric(app, "Items compared") == "40"
    statistics = frame(app, "paired_t_p")
    assert list(statistics["as_of"]) == ["2025-26:37", "2025-26:38"]
    assert charts(app) == 2  # the traffic share and the interval over time


def test_every_documented_table_is_in_every_published_copy(warehouse):
    """A run publishes before any alert or A/B test was written: the copy still has those tables, empty, so a
    page's (or an analyst's) query finds them."""
    from fpl_platform.lib import schemas

    warehouse.ensure(schemas.MATCHES)
    warehouse.publish()
    with duckdb.connect(str(warehouse.analytics_file), read_only=True) as connection:
        present = {f"{s}.{t}" for s, t in connection.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    assert {table.name for table in schemas.ALL_TABLES} <= present


def test_without_a_copy_every_page_says_what_to_run(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    for page in PAGES:
        app = app_on(tmp_path / "empty", monkeypatch, page)
        assert any("No analyst copy yet" in i.value and "make demo" in i.value for i in app.info), page


def test_the_dashboard_command_serves_every_page_in_a_browser_while_the_copy_is_republished(tmp_path, demo_home):
    """The real server in headless Chromium: each page's charts drawn and no error element, a screenshot of each;
    then the copy is published over three times while the page is reloaded, and every load still draws."""
    from selenium.webdriver.common.by import By

    from fpl_platform.resources import Warehouse
    from fpl_platform_tests.browser import artifacts_dir, chromium, free_port, wait_for

    home = tmp_path / "dashboard-home"
    home.mkdir()
    for name in ("warehouse.duckdb", "analytics.duckdb"):
        shutil.copy(demo_home / name, home / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FPL_PLATFORM_")} | {"FPL_PLATFORM_HOME": str(home)}
    bad = subprocess.run([str(CLI), "dashboard", "--port", "0x"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "fpl-platform dashboard: error: argument --port: '0x' is not a port number (1-65535) (--help shows the usage)"
    ]
    port = free_port()
    server = subprocess.Popen(
        [str(CLI), "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert server.poll() is None, server.stderr.read().decode()[-2000:]
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                return response.read() == b"ok"
        except OSError:
            return False

    driver = chromium()
    try:
        assert wait_for(healthy, timeout=120), "the dashboard did not answer within 120 s"
        driver.set_window_size(1600, 2200)

        def drawn(page: str, charts: int) -> None:
            driver.get(f"{url}/{'' if page == 'next_gameweek' else page}")
            assert wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid="stHeading"]'), timeout=90), page
            wait_for(
                lambda: len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"] svg.marks')) >= charts, 60
            )
            wait_for(lambda: not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSkeleton"]'), 30)
            assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), page
            assert len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"] svg.marks')) >= charts, page
            assert len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]')) >= 7, page

        charts = {"next_gameweek": 1, "model_health": 3, "drift": 3, "ab_tests": 0, "backtest": 4}
        for page in PAGES:
            drawn(page, charts[page])
            time.sleep(1)  # the charts' last frame
            driver.save_screenshot(str(artifacts_dir() / f"dashboard_{page}.png"))
        warehouse = Warehouse(path=str(home / "warehouse.duckdb"), analytics_path=str(home / "analytics.duckdb"))
        done = threading.Event()
        published: list[int] = []

        def republish() -> None:
            for _ in range(3):
                warehouse.publish()
                published.append(os.stat(home / "analytics.duckdb").st_ino)
                time.sleep(0.5)
            done.set()

        publisher = threading.Thread(target=republish)
        publisher.start()
        loads = 0
        while not done.is_set() or loads < 3:
            drawn("next_gameweek", 1)
            loads += 1
        publisher.join()
        assert len(published) == 3 and loads >= 3
        busy = subprocess.run([str(CLI), "dashboard", "--port", str(port)], env=env, capture_output=True, text=True, timeout=60)
        assert busy.returncode == 1 and busy.stderr.strip().splitlines() == [
            f"fpl-platform dashboard: cannot serve on 127.0.0.1:{port}: Address already in use"
        ]
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)
