"""Sensors and the schedule stepped through their cursor states against a real Dagster instance, with the
warehouse they read and the webhook receiver their alerts go to."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from fpl_platform.definitions import defs
from fpl_platform.defs.ingestion.sensors import new_data_sensor
from fpl_platform.defs.monitoring.sensors import stale_data_sensor
from fpl_platform.defs.training.schedules import weekly_retrain_schedule
from fpl_platform.defs.training.sensors import drift_retrain_sensor, performance_retrain_sensor
from fpl_platform.lib import schemas
from fpl_platform.lib.run_tags import RETRAIN_MODEL_TAG
from fpl_platform.resources import FplSource, Notifier, RunClock
from fpl_platform_tests.conftest import BUNDLED, materialise, resources_for, table
from fpl_platform_tests.http_server import serve_webhooks


def tick(sensor, instance, cursor, **resources):
    """One evaluation as the daemon does it: the code location's repository, the instance, the stored cursor (and
    the real time, unless `clock` says otherwise)."""
    from fpl_platform.definitions import defs

    resources.setdefault("clock", RunClock())
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources=resources,
        sensor_name=sensor.name,
        repository_def=defs.get_repository_def(),
    )
    return sensor.evaluate_tick(context)


def drift_report(warehouse, model: str, severity: str, share: float) -> str:
    report_id = uuid.uuid4().hex[:12]
    now = pd.Timestamp.now(tz="UTC")
    row = {
        "report_id": report_id, "created_at": now, "model_name": model, "model_version": "1",
        "reference_start": now, "reference_end": now, "current_start": now, "current_end": now,
        "reference_rows": 100, "current_rows": 50, "features": 20, "drifted_features": int(share * 20),
        "drift_share": share, "prediction_psi": 0.3, "severity": severity, "html_report": None,
    }  # fmt: skip
    warehouse.append((schemas.DRIFT_REPORTS, pd.DataFrame([row])))
    return report_id


def record_retrain_run(instance, model: str) -> None:
    """A finished run carrying the retrain tag, as the sensors' cooldown sees one."""

    @dg.asset(name=f"stand_in_{uuid.uuid4().hex[:6]}")
    def stand_in() -> None:
        return None

    assert dg.materialize([stand_in], instance=instance, tags={RETRAIN_MODEL_TAG: model}).success


@pytest.fixture
def settings_file(isolated_home):
    def write(**automation):
        (isolated_home / "fpl_platform.yaml").write_text(json.dumps({"automation": automation}))

    return write


def test_drift_sensor_requests_retrain_then_respects_cooldown_and_cap(warehouse, instance, settings_file):
    resources = {"warehouse": warehouse, "notifier": Notifier(backoff_seconds=0.01)}
    first = tick(drift_retrain_sensor, instance, None, **resources)
    assert not first.run_requests and "does not exist yet" in first.skip_message

    report = drift_report(warehouse, "match_outcome", "critical", 0.5)
    drift_report(warehouse, "player_points", "none", 0.05)
    second = tick(drift_retrain_sensor, instance, first.cursor, **resources)
    [request] = second.run_requests
    assert request.job_name == "retrain_match_outcome_job" and request.run_key == f"drift-match_outcome-{report}"
    assert request.tags["fpl_platform/trigger"] == "drift" and report in request.tags["fpl_platform/evidence"]
    assert json.loads(second.cursor)["attempts"] == {"drift:match_outcome": 1, "drift:player_points": 0}

    idle = tick(drift_retrain_sensor, instance, second.cursor, **resources)
    assert not idle.run_requests and "no drift report since" in idle.skip_message

    # the retrain ran; drift persists an hour later: the 24 h cooldown holds it back, and says so
    record_retrain_run(instance, "match_outcome")
    drift_report(warehouse, "match_outcome", "critical", 0.6)
    cooling = tick(drift_retrain_sensor, instance, idle.cursor, **resources)
    assert not cooling.run_requests
    skipped = table(warehouse, "SELECT * FROM monitoring.retraining_events")
    assert skipped[["model_name", "trigger", "decision"]].values.tolist() == [["match_outcome", "drift", "skipped"]]
    assert "cooldown" in skipped["reason"].iat[0] and "share 0.60" in skipped["evidence"].iat[0]

    # no cooldown, cap of 2: one more attempt, then the trigger needs a person (HIGH alert)
    settings_file(retrain_cooldown_hours=0, max_attempts_per_trigger=2)
    drift_report(warehouse, "match_outcome", "critical", 0.6)
    again = tick(drift_retrain_sensor, instance, cooling.cursor, **resources)
    assert len(again.run_requests) == 1
    drift_report(warehouse, "match_outcome", "critical", 0.7)
    capped = tick(drift_retrain_sensor, instance, again.cursor, **resources)
    assert not capped.run_requests
    alerts = table(warehouse, "SELECT severity, title FROM monitoring.alerts")
    assert alerts.values.tolist() == [["HIGH", "match_outcome: drift persists after 2 retrains"]]

    # drift clears: the trigger's attempts reset
    drift_report(warehouse, "match_outcome", "warning", 0.25)
    cleared = tick(drift_retrain_sensor, instance, capped.cursor, **resources)
    assert json.loads(cleared.cursor)["attempts"]["drift:match_outcome"] == 0


def performance_row(gameweek: int, status: str, rolling: float) -> dict:
    row = {column: None for column in schemas.PERFORMANCE.column_names}
    row.update(
        model_name="match_outcome", source="served", season="2025-26", gameweek=gameweek, model_version="1", n=10,
        rps=rolling, rolling_rps=rolling, rolling_gameweeks=6, metric="rps", centre=0.2, sigma_gameweek=0.03,
        sigma_rolling=0.01, ucl_gameweek=0.29, warning_limit=0.22, critical_limit=0.23, emergency_limit=0.25,
        cusum=0.0, status=status, computed_at=pd.Timestamp.now(tz="UTC"),
    )  # fmt: skip
    return row


def write_performance(warehouse, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    for column in (
        "brier",
        "log_loss",
        "accuracy",
        "mae",
        "rmse",
        "r2",
        *(f"rolling_{m}" for m in ("brier", "log_loss", "accuracy", "mae", "rmse", "r2")),
    ):
        frame[column] = frame[column].astype(float)
    warehouse.write(schemas.PERFORMANCE, frame)


def test_performance_sensor_retrains_on_critical_and_skips_the_cooldown_in_an_emergency(warehouse, instance):
    resources = {"warehouse": warehouse, "notifier": Notifier(backoff_seconds=0.01)}
    assert "does not exist" in tick(performance_retrain_sensor, instance, None, **resources).skip_message
    write_performance(warehouse, [performance_row(1, "ok", 0.2)])
    ok = tick(performance_retrain_sensor, instance, None, **resources)
    assert not ok.run_requests and json.loads(ok.cursor)["seen"] == {"match_outcome": "2025-26:1"}
    assert "no newly served gameweek" in tick(performance_retrain_sensor, instance, ok.cursor, **resources).skip_message

    write_performance(warehouse, [performance_row(1, "ok", 0.2), performance_row(2, "critical", 0.235)])
    critical = tick(performance_retrain_sensor, instance, ok.cursor, **resources)
    [request] = critical.run_requests
    assert request.run_key == "performance-match_outcome-2025-26-gw2-critical"
    assert request.tags["fpl_platform/trigger"] == "performance" and "rolling rps 0.2350" in request.tags["fpl_platform/evidence"]

    record_retrain_run(instance, "all")  # the weekly retrain counts for the cooldown too
    write_performance(
        warehouse, [performance_row(g, s, r) for g, s, r in ((1, "ok", 0.2), (2, "critical", 0.235), (3, "emergency", 0.27))]
    )
    emergency = tick(performance_retrain_sensor, instance, critical.cursor, **resources)
    [request] = emergency.run_requests
    assert request.tags["fpl_platform/trigger"] == "emergency" and request.run_key.endswith("gw3-emergency")

    write_performance(warehouse, [performance_row(4, "critical", 0.24)])
    cooling = tick(performance_retrain_sensor, instance, emergency.cursor, **resources)
    assert not cooling.run_requests
    assert table(warehouse, "SELECT decision FROM monitoring.retraining_events")["decision"].tolist() == ["skipped"]


def test_new_data_sensor_requests_the_newest_season_until_the_warehouse_has_it(warehouse, instance):
    resources = {"warehouse": warehouse, "fpl_source": FplSource(data_dir=str(BUNDLED))}
    empty = tick(new_data_sensor, instance, None, **resources)
    [request] = empty.run_requests
    assert request.partition_key == "2025-26" and request.run_key.startswith("new-data-2025-26-380-")
    assert "warehouse 0 results" in request.tags["fpl_platform/evidence"]

    all_resources = resources_for(warehouse)
    materialise(["raw/matches"], all_resources, instance, seasons=("2025-26", "2025-26"))
    materialise(["raw/fixtures"], all_resources, instance)
    current = tick(new_data_sensor, instance, empty.cursor, **resources)
    assert not current.run_requests and "up to date" in current.skip_message

    # a result the warehouse lost (or never got): the sensor asks again
    import duckdb

    with duckdb.connect(str(warehouse.file)) as connection:
        connection.execute("DELETE FROM raw.matches WHERE season = '2025-26' AND gameweek = 38")
    behind = tick(new_data_sensor, instance, current.cursor, **resources)
    assert len(behind.run_requests) == 1 and "warehouse 370 results" in behind.run_requests[0].tags["fpl_platform/evidence"]

    broken = tick(new_data_sensor, instance, None, warehouse=warehouse, fpl_source=FplSource(mode="bogus"))
    assert not broken.run_requests and "source unavailable" in broken.skip_message


def test_stale_data_alert_reaches_the_webhook(warehouse, instance, monkeypatch):
    now = pd.Timestamp.now(tz="UTC")
    fixtures = pd.DataFrame(
        {"season": "2026-27", "gameweek": [1, 2], "match_id": ["a", "b"], "kickoff": [now - pd.Timedelta(days=30), now + pd.Timedelta(days=2)],
         "finished": [True, False], "home_team": "Arsenal", "away_team": "Chelsea", "home_difficulty": 3, "away_difficulty": 3,
         "fpl_fixture_id": [1, 2], "home_goals": [1, None], "away_goals": [0, None], "source": "test"}
    )  # fmt: skip
    warehouse.write(schemas.FIXTURES, fixtures[schemas.FIXTURES.column_names])
    resources = {"warehouse": warehouse, "notifier": Notifier(backoff_seconds=0.01)}
    assert "does not exist" in tick(stale_data_sensor, instance, None, **resources).skip_message
    materialise(["raw/matches"], resources_for(warehouse), instance, seasons=("2025-26", "2025-26"))
    warehouse.write(
        schemas.MATCHES,
        table(warehouse, "SELECT * FROM raw.matches WHERE season = '2025-26' LIMIT 1").assign(
            season="2026-27", kickoff=now - pd.Timedelta(days=20), match_id="2026-27-x"
        ),
        partitions=["2026-27"],
    )
    with serve_webhooks() as hooks:
        monkeypatch.setenv("FPL_PLATFORM_DISCORD_WEBHOOK", f"{hooks.url}/discord/1/secret")
        result = tick(stale_data_sensor, instance, None, **resources)
    assert "stale data alert raised" in result.skip_message
    [(path, body)] = hooks.bodies
    assert path.startswith("/discord/") and body["content"] == "**No new 2026-27 result for 20 days** (MEDIUM)"
    text = body["embeds"][0]["description"]
    assert "days_since_last_result" in text and "16" in text and "1 fixtures of 2026-27 are still to play" in text
    stored = table(warehouse, "SELECT severity, status, metric FROM monitoring.alerts")
    assert stored.values.tolist() == [["MEDIUM", "sent", "days_since_last_result"]]


def test_weekly_schedule_fires_monday_23_00_london_with_the_evidence(instance):
    tick_time = datetime(2026, 3, 30, 23, 0, tzinfo=ZoneInfo("Europe/London"))  # the Monday after BST starts
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick_time)
    [request] = weekly_retrain_schedule.evaluate_tick(context).run_requests
    assert request.run_key == "weekly-2026-03-30"
    assert (
        request.tags["fpl_platform/trigger"] == "scheduled"
        and "2026-03-30T23:00:00+01:00" in request.tags["fpl_platform/evidence"]
    )
    from dagster._utils.schedules import cron_string_iterator

    fires = cron_string_iterator(datetime(2026, 3, 25).timestamp(), "0 23 * * 1", "Europe/London")
    assert [next(fires).astimezone(ZoneInfo("UTC")).strftime("%a %H:%M") for _ in range(2)] == ["Mon 22:00", "Mon 22:00"]


def test_weekly_schedule_skips_a_tick_with_no_new_training_data_since_the_last_weekly_retrain(instance):
    """The second Monday of an international break: nothing the models train on was materialised since the
    last weekly retrain, so the tick skips with the reason; new features (or no successful retrain) retrain."""
    from fpl_platform.defs.training.schedules import TRAINING_INPUTS

    def tick(day: int):
        when = datetime(2025, 10, day, 23, 0, tzinfo=ZoneInfo("Europe/London"))
        return weekly_retrain_schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))

    @dg.op
    def noop() -> None:
        pass

    @dg.job(name="weekly_retrain_job")  # stands in for a finished weekly retrain run of that job
    def finished_retrain():
        noop()

    for key in TRAINING_INPUTS:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    assert len(tick(6).run_requests) == 1  # no weekly retrain has run yet
    assert finished_retrain.execute_in_process(instance=instance).success
    skipped = tick(13)
    assert not skipped.run_requests and "no training input" in skipped.skip_message
    instance.report_runless_asset_event(dg.AssetMaterialization(TRAINING_INPUTS[1]))  # new player features
    assert [r.run_key for r in tick(13).run_requests] == ["weekly-2025-10-13"]


def synthetic_season(season: str, gameweeks: int, rng) -> pd.DataFrame:
    """Ten matches per gameweek with results drawn from fixed probabilities (home 0.45, draw 0.27, away 0.28)."""
    rows = []
    for gameweek in range(1, gameweeks + 1):
        kickoff = pd.Timestamp(f"{season[:4]}-08-10", tz="UTC") + pd.Timedelta(days=7 * gameweek)
        for i in range(10):
            outcome = rng.choice(3, p=[0.45, 0.27, 0.28])
            rows.append(
                {"season": season, "gameweek": gameweek, "kickoff": kickoff, "match_id": f"{season}-{gameweek}-{i}",
                 "home_team": "Arsenal", "away_team": "Chelsea", "home_goals": [2, 1, 0][outcome], "away_goals": [0, 1, 2][outcome]}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_performance_asset_flags_a_collapse_alerts_and_the_sensor_retrains_at_once(warehouse, instance, monkeypatch):
    """Served predictions that turn confidently wrong: the rolling RPS leaves the backtest's control limits,
    the asset records an emergency and sends the alert, and the performance sensor requests a retrain."""
    import duckdb

    rng = np.random.default_rng(7)
    backtest = pd.concat([synthetic_season(s, 38, rng) for s in ("2023-24", "2024-25")], ignore_index=True)
    backtest = backtest.assign(model="ours", candidate="test", p_home=0.45, p_draw=0.27, p_away=0.28)
    warehouse.write(schemas.MATCH_BACKTEST, backtest[schemas.MATCH_BACKTEST.column_names])
    served = synthetic_season("2025-26", 8, rng)
    wrong = served["home_goals"] > served["away_goals"]  # from gameweek 5 on, certain of the opposite result
    late = served["gameweek"] >= 5
    served = served.assign(p_home=0.45, p_draw=0.27, p_away=0.28)
    served.loc[late, ["p_home", "p_draw", "p_away"]] = np.where(
        wrong[late].to_numpy()[:, None], [0.0, 0.02, 0.98], [0.98, 0.02, 0.0]
    )
    predictions = served.assign(
        dc_p_home=0.45, model_name="match_outcome", model_version="7", as_of=[f"2025-26:{g - 1}" for g in served["gameweek"]],
        predicted_at=pd.Timestamp.now(tz="UTC"),
    )  # fmt: skip
    warehouse.write(schemas.MATCH_PREDICTIONS, predictions[schemas.MATCH_PREDICTIONS.column_names])
    with duckdb.connect(str(warehouse.file)) as connection:
        connection.register(
            "played", pd.concat([backtest, served])[["season", "gameweek", "kickoff", "match_id", "home_goals", "away_goals"]]
        )
        connection.execute("CREATE SCHEMA features; CREATE TABLE features.match_features AS SELECT * FROM played")

    with serve_webhooks() as hooks:
        monkeypatch.setenv("FPL_PLATFORM_SLACK_WEBHOOK", f"{hooks.url}/slack/T0/B0/secret-token")
        result = dg.materialize(
            [*defs.assets, *defs.asset_checks],
            selection=dg.AssetSelection.assets(["monitoring", "performance"]),
            resources=resources_for(warehouse),
            instance=instance,
            run_config={"ops": {"monitoring__performance": {"config": {"as_of": "2025-26:8", "backtest_seasons": 2}}}},
        )
    assert result.success
    rows = table(warehouse, "SELECT * FROM monitoring.performance WHERE source = 'served' ORDER BY gameweek")
    assert rows["gameweek"].tolist() == list(range(1, 9)) and set(rows["model_version"]) == {"7"}
    assert (rows["status"].iloc[:4] == "ok").all() and rows["status"].iat[-1] == "emergency"
    assert rows["rps"].iat[-1] > rows["emergency_limit"].iat[-1]
    metadata = result.asset_materializations_for_node("monitoring__performance")[0].metadata
    assert metadata["trend_match_outcome"].value.startswith("![match_outcome rps trend](data:image/png;base64,")
    [body] = [b for _, b in hooks.bodies if "gameweek 8" in b["text"]]
    assert "match_outcome performance emergency after 2025-26 gameweek 8" in body["text"] and "(CRITICAL)" in body["text"]
    assert "rolling_rps = " in body["text"] and "threshold" in body["text"] and "secret-token" not in json.dumps(body)

    evaluation = tick(performance_retrain_sensor, instance, None, warehouse=warehouse, notifier=Notifier(backoff_seconds=0.01))
    [request] = evaluation.run_requests
    assert request.job_name == "retrain_match_outcome_job" and request.tags["fpl_platform/trigger"] == "emergency"
    assert request.run_key == "performance-match_outcome-2025-26-gw8-emergency"
