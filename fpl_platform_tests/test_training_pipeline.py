"""Features, backtests, the MLflow-registered model and predictions, materialised against a temporary
warehouse, MLflow store and Dagster instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from fpl_platform.definitions import defs
from fpl_platform.defs.training.gating import GATE_CHECK
from fpl_platform.lib import match_model, tracking
from fpl_platform.lib.schemas import ALL_TABLES
from fpl_platform.runtime import LOCATION_NAME, QUICK
from fpl_platform_tests.conftest import failure_message, materialise, resources_for, table

# what `fpl-platform demo --quick` runs (backtests on 2025-26 only), with the plain Elo recipe as the first
# match model: a retrain that chooses its recipe by validation (the threat one) then has a real champion to beat;
# and Evidently's reports, as the demo draws them
MATCH_QUICK = QUICK["ml__match_outcome_model"]["config"]
FAST = {
    "ops": {
        **QUICK,
        "ml__match_outcome_model": {"config": {**MATCH_QUICK, "candidate": "logistic_dc_elo"}},
        "monitoring__drift": {"config": {"evidently": "always"}},
    }
}
FAST_MATCH = {"ops": {"ml__match_outcome_model": FAST["ops"]["ml__match_outcome_model"]}}
FEATURE_CHECKS = ("features_precede_kickoff", "dixon_coles_probabilities_are_complete", "player_features_precede_kickoff")
DOWNSTREAM = [
    "features/team_ratings",
    "features/match_features",
    "ml/match_backtest",
    "ml/backtest_metrics",
    "ml/backtest_comparisons",
    "ml/match_outcome_model",
    "predictions/match_outcomes",
    "features/player_features",
    "ml/player_backtest",
    "ml/player_points_model",
    "predictions/player_points",
    "monitoring/drift",
    "monitoring/performance",
]


@pytest.fixture
def pipeline(warehouse, instance):
    resources = resources_for(warehouse)
    mlflow = resources["mlflow_tracking"]
    materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2019-20", "2025-26"))
    materialise(["raw/fixtures", "raw/teams"], resources, instance)
    return resources, mlflow


def run(selection, resources, instance, raise_on_error=True):
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=dg.AssetSelection.from_coercible(selection),
        resources=resources,
        instance=instance,
        run_config={"ops": {k: v for k, v in FAST["ops"].items() if k.replace("__", "/") in selection}},
        raise_on_error=raise_on_error,
    )


def test_pipeline_end_to_end(pipeline, warehouse, instance):
    resources, mlflow = pipeline
    result = run(DOWNSTREAM, resources, instance)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert {
        "features_precede_kickoff",
        "dixon_coles_probabilities_are_complete",
        "player_features_precede_kickoff",
        "no_leakage_alarm",
    } <= set(checks)
    assert all(checks.values()), checks

    backtest = table(warehouse, "SELECT model, count(*) AS n FROM ml.match_backtest GROUP BY model ORDER BY model")
    assert backtest.values.tolist() == [["climatology", 380], ["dixon_coles", 380], ["ours", 380]]
    pooled = table(
        warehouse, "SELECT model, rps, accuracy FROM ml.backtest_metrics WHERE domain = 'match' AND season = 'pooled'"
    ).set_index("model")
    assert pooled.loc["ours", "rps"] < pooled.loc["climatology", "rps"]
    assert 0.18 < pooled.loc["dixon_coles", "rps"] < 0.23 and pooled["accuracy"].max() < 0.6  # no leakage alarm
    comparison = table(warehouse, "SELECT * FROM ml.backtest_comparisons WHERE domain = 'match' AND model = 'ours'")
    assert comparison["baseline"].iat[0] == "dixon_coles" and comparison["groups"].iat[0] == 38
    assert comparison["ci_low"].iat[0] <= comparison["mean_difference"].iat[0] <= comparison["ci_high"].iat[0]

    runs = tracking.runs(mlflow.uri, "match_outcome")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.tags["dagster_run_id"] == result.run_id
    assert {"candidate", "features", "data_cutoff", "training_rows"} <= set(runs[0].data.params)
    champion = tracking.alias_version(mlflow.uri, "match_outcome", "champion")
    assert champion == "1"

    predictions = table(warehouse, "SELECT * FROM predictions.match_outcomes")
    assert len(predictions) == 10 and set(predictions["gameweek"]) == {38} and set(predictions["as_of"]) == {"2025-26:37"}
    assert set(predictions["model_version"]) == {champion}
    assert ((predictions[["p_home", "p_draw", "p_away"]].sum(axis=1) - 1).abs() < 1e-9).all()
    trainings = table(warehouse, "SELECT * FROM ml.match_outcome_model")
    cutoff = table(warehouse, "SELECT min(kickoff) AS k FROM raw.matches WHERE season = '2025-26' AND gameweek = 38")["k"].iat[0]
    assert trainings["data_cutoff"].iat[0] == cutoff  # trained only on matches before gameweek 38

    # players: walk-forward predictions beat the last-5 mean on the same rows, and the champion serves gameweek 38
    player_scores = table(
        warehouse,
        "SELECT model, rmse, mae FROM ml.backtest_metrics WHERE domain = 'player' AND season = 'pooled' AND subset = 'all'",
    ).set_index("model")
    assert player_scores.loc["ours", "rmse"] < player_scores.loc["last_5_mean", "rmse"]
    assert len(table(warehouse, "SELECT * FROM ml.player_backtest")) == 29_747
    player_runs = tracking.runs(mlflow.uri, "player_points")
    assert [r.info.status for r in player_runs] == ["FINISHED"]
    served = table(warehouse, "SELECT gameweek, model_version, predicted_points, p_play FROM predictions.player_points")
    assert set(served["gameweek"]) == {38} and set(served["model_version"]) == {"1"}
    assert served["predicted_points"].between(-1, 20).all() and served["p_play"].between(0, 1).all()

    # drift: one report per champion, a row per feature plus the prediction, Evidently's HTML on disk
    reports = table(warehouse, "SELECT * FROM monitoring.drift_reports ORDER BY model_name")
    assert reports["model_name"].tolist() == ["match_outcome", "player_points"]
    assert (reports["current_rows"] > 0).all() and (reports["reference_end"] < reports["current_start"]).all()
    assert all(url.startswith("http://") for url in reports["html_report"])  # the report in MLflow's UI
    per_feature = table(warehouse, "SELECT model_name, feature, evidently_method FROM monitoring.drift")
    assert "prediction" in set(per_feature["feature"]) and per_feature["evidently_method"].notna().sum() > 20

    # every example query of docs/tables.md runs on the published analyst copy
    warehouse.publish()
    connection = duckdb.connect(str(warehouse.analytics_file), read_only=True)
    for schema in ALL_TABLES:
        # no odds, no live squad, no alerts, no A/B test in this test: other tests run those
        if schema.name not in ("raw.match_odds", "raw.squad", "monitoring.alerts") and not schema.name.startswith(
            "monitoring.ab_"
        ):
            assert connection.execute(schema.example_sql).fetchall(), schema.name
    connection.close()

    # the same training again (same rows, settings and champion) is a no-op: no MLflow run, version or record
    again = run(["ml/match_outcome_model"], resources, instance)
    unchanged = again.asset_materializations_for_node("ml__match_outcome_model")[0].metadata
    assert unchanged["gate_decision"].value == "unchanged" and unchanged["version"].value == "1"
    assert len(tracking.runs(mlflow.uri, "match_outcome")) == 1
    assert len(table(warehouse, "SELECT * FROM monitoring.retraining_events WHERE model_name = 'match_outcome'")) == 1

    # with another gate setting it trains again: a new MLflow run, tagged with its own Dagster run
    stricter = {
        "ops": {"ml__match_outcome_model": {"config": {**FAST["ops"]["ml__match_outcome_model"]["config"], "gate_alpha": 0.04}}}
    }
    second = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=dg.AssetSelection.assets(["ml", "match_outcome_model"]),
        resources=resources,
        instance=instance,
        run_config=stricter,
    )
    runs = tracking.runs(mlflow.uri, "match_outcome")
    assert len(runs) == 2 and len({r.info.run_id for r in runs}) == 2
    assert {r.data.tags["dagster_run_id"] for r in runs} == {result.run_id, second.run_id}
    assert all(r.info.status == "FINISHED" for r in runs)
    assert len(table(warehouse, "SELECT * FROM ml.match_outcome_model")) == 2
    # ... and a challenger: the same recipe on the same data gains nothing, so the gate rejects it
    assert tracking.alias_version(mlflow.uri, "match_outcome", "champion") == "1"
    assert tracking.alias_version(mlflow.uri, "match_outcome", "challenger") == "2"
    events = table(
        warehouse,
        "SELECT trigger, decision, champion_before, champion_after, challenger_version, n_compared FROM monitoring.retraining_events "
        "WHERE model_name = 'match_outcome' ORDER BY created_at",
    )
    assert events[["trigger", "decision", "champion_after", "challenger_version"]].values.tolist() == [
        ["manual", "promoted", "1", "1"],
        ["manual", "rejected", "1", "2"],
    ]
    assert events["n_compared"].iat[1] == 380  # the last 38 gameweeks before the cutoff
    # the gate is the model's check on the Checks tab: a rejection is a warning naming the numbers it rests on
    [rejected] = second.get_asset_check_evaluations()
    assert (rejected.check_name, rejected.passed, rejected.severity) == (
        "challenger_beats_champion",
        False,
        dg.AssetCheckSeverity.WARN,
    )
    assert rejected.metadata["verdict"].value == "rejected" and rejected.metadata["rows_compared"].value == 380
    assert {"margin", "p_value", "improvement", "test"} <= set(rejected.metadata)
    assert {r.data.tags.get("gate_decision") for r in tracking.runs(mlflow.uri, "match_outcome")} == {"promoted", "rejected"}

    # performance: control limits from the backtest; the served gameweek 38 has its results, so it is scored
    performance = table(warehouse, "SELECT * FROM monitoring.performance")
    served_rows = performance[performance["source"] == "served"]
    assert sorted(map(tuple, served_rows[["model_name", "gameweek"]].values.tolist())) == [
        ("match_outcome", 38),
        ("player_points", 38),
    ]
    backtest = performance[performance["source"] == "backtest"]
    assert set(backtest["model_name"]) == {"match_outcome", "player_points"}
    match_rows = backtest[backtest["model_name"] == "match_outcome"]
    assert len(match_rows) == 38 and (match_rows["critical_limit"] > match_rows["centre"]).all()
    assert match_rows["centre"].iat[0] == pytest.approx(match_rows["rps"].mean())

    # automation on the instance: a critical drift report → the drift sensor's request → that run, choosing
    # its recipe by validation (the threat one, 0.002 RPS better on the gate's rows, p = 0.04), promotes → rollback job restores the previous champion → the sensor refreshes predictions
    from fpl_platform.defs.training.sensors import drift_retrain_sensor, refresh_predictions_after_rollback
    from fpl_platform_tests.test_automation_sensors import drift_report, tick

    report = drift_report(warehouse, "match_outcome", "critical", 0.5)
    evaluation = tick(drift_retrain_sensor, instance, None, warehouse=warehouse, notifier=resources["notifier"])
    [request] = evaluation.run_requests
    job = defs.resolve_job_def(request.job_name)
    challenger = {"ops": {"ml__match_outcome_model": {"config": {**MATCH_QUICK, "gate_alpha": 0.1}}}}
    retrain = job.execute_in_process(instance=instance, tags=request.tags, run_config=challenger, resources=resources)
    assert retrain.success
    assert instance.get_run_by_id(retrain.run_id).tags["fpl_platform/trigger"] == "drift"
    evaluations = {evaluation.check_name: evaluation for evaluation in retrain.get_asset_check_evaluations()}
    assert set(evaluations) == {GATE_CHECK, *FEATURE_CHECKS}  # the retrain ran the feature tables' checks first
    gate = evaluations[GATE_CHECK]
    assert gate.passed and gate.metadata["champion_after"].value == "3" and gate.metadata["p_value"].value < 0.1
    assert tracking.aliases(mlflow.uri, "match_outcome") == {"champion": "3", "previous": "1", "challenger": "3"}
    promoted = table(warehouse, "SELECT * FROM monitoring.retraining_events ORDER BY created_at DESC LIMIT 1").iloc[0]
    assert (promoted["trigger"], promoted["decision"], promoted["champion_before"], promoted["champion_after"]) == (
        "drift",
        "promoted",
        "1",
        "3",
    )
    assert report in promoted["evidence"] and promoted["dagster_run_id"] == retrain.run_id
    served = table(warehouse, "SELECT DISTINCT model_version FROM predictions.match_outcomes WHERE as_of = '2025-26:37'")
    assert served["model_version"].tolist() == ["3"]  # the retrain job refreshed predictions from the new champion
    trainings = table(warehouse, "SELECT version, alias, gate_decision FROM ml.match_outcome_model ORDER BY version")
    assert trainings.values.tolist() == [["1", "previous", "promoted"], ["2", None, "rejected"], ["3", "champion", "promoted"]]

    # a person rolls back with the command line: one line out, predictions refreshed by the command itself
    cli = Path(sys.executable).with_name("fpl-platform")
    done = subprocess.run([str(cli), "rollback", "match_outcome"], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "match_outcome: champion is now version 1 (rolled back: 3)" in done.stdout and done.stderr == ""
    assert tracking.alias_version(mlflow.uri, "match_outcome", "champion") == "1"
    with dg.DagsterInstance.get() as cli_instance:  # the command's runs: in the platform's instance, under the location
        refresh_run, rollback_run = cli_instance.get_runs(limit=2)  # newest first
        assert (rollback_run.job_name, rollback_run.status, refresh_run.status) == (
            "rollback_job",
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.SUCCESS,
        )
        assert {r.remote_job_origin.location_name for r in (rollback_run, refresh_run)} == {LOCATION_NAME}
        # the daemon's sensor sees the run and leaves the refresh to the command that already did it
        success = cli_instance.all_logs(rollback_run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0]
        context = dg.build_run_status_sensor_context(
            sensor_name=refresh_predictions_after_rollback.name, dagster_instance=cli_instance, dagster_run=rollback_run,
            dagster_event=success.dagster_event,
        )  # fmt: skip
        assert isinstance(refresh_predictions_after_rollback(context), dg.SkipReason)
    served = table(warehouse, "SELECT DISTINCT model_version FROM predictions.match_outcomes WHERE as_of = '2025-26:37'")
    assert served["model_version"].tolist() == ["1"]
    # and republished the analyst copy, as the daemon's publish sensor would have
    with duckdb.connect(str(warehouse.analytics_file), read_only=True) as copy:
        query = "SELECT DISTINCT model_version FROM predictions.match_outcomes WHERE as_of = '2025-26:37'"
        assert copy.execute(query).fetchall() == [("1",)]
    last = table(
        warehouse,
        "SELECT trigger, decision, champion_before, champion_after FROM monitoring.retraining_events ORDER BY created_at DESC LIMIT 1",
    )
    assert last.values.tolist() == [["rollback", "rolled_back", "3", "1"]]


def test_failed_training_ends_its_mlflow_run_failed(pipeline, warehouse, instance, monkeypatch):
    resources, mlflow = pipeline
    assert run(["features/team_ratings", "features/match_features"], resources, instance).success
    original = match_model.fit_estimator

    def failing_final_fit(candidate, training):
        if (training["season"] == "2025-26").any():  # only the final fit sees 2025-26 (validation is 2024-25)
            raise RuntimeError("simulated training failure")
        return original(candidate, training)

    monkeypatch.setattr(match_model, "fit_estimator", failing_final_fit)
    result = run(["ml/match_outcome_model"], resources, instance, raise_on_error=False)
    assert not result.success and "simulated training failure" in failure_message(result)
    runs = tracking.runs(mlflow.uri, "match_outcome")
    assert [r.info.status for r in runs] == ["FAILED"]
    assert tracking.alias_version(mlflow.uri, "match_outcome", "champion") is None


def test_a_retrain_on_features_that_fail_a_blocking_check_stops_before_training(pipeline, warehouse, instance):
    """The retrain jobs run the feature tables' checks on the data as it stands: one that fails blocks the model
    step through Dagster's own blocking, so nothing is fitted or registered."""
    resources, mlflow = pipeline
    assert run(["features/team_ratings", "features/match_features"], resources, instance).success
    with duckdb.connect(str(warehouse.file)) as connection:  # a feature row computed after its own kickoff
        connection.execute(
            "UPDATE features.match_features SET cutoff = kickoff + INTERVAL 1 DAY "
            "WHERE match_id = (SELECT min(match_id) FROM features.match_features)"
        )
    retrain = defs.resolve_job_def("retrain_match_outcome_job").execute_in_process(
        instance=instance, resources=resources, run_config=FAST_MATCH, raise_on_error=False
    )
    assert not retrain.success
    failed = {e.check_name: e.passed for e in retrain.get_asset_check_evaluations()}
    assert failed["features_precede_kickoff"] is False
    started = {event.step_key for event in retrain.all_events if event.event_type_value == "STEP_START"}
    assert started == {"feature_invariants"}, started  # the model and its predictions never started
    assert (
        tracking.runs(mlflow.uri, "match_outcome") == []
        and tracking.alias_version(mlflow.uri, "match_outcome", "champion") is None
    )


def test_leakage_alarm_fires_on_an_implausibly_good_model(warehouse):
    import pandas as pd

    from fpl_platform.defs.training.checks import no_leakage_alarm
    from fpl_platform.lib import schemas

    rows = pd.DataFrame(
        [
            {"domain": "match", "season": "2024-25", "model": "ours", "subset": "all", "n": 380, "rps": 0.17, "accuracy": 0.66},
            {"domain": "match", "season": "2024-25", "model": "market", "subset": "all", "n": 380, "rps": 0.19, "accuracy": 0.56},
        ]
    ).assign(brier=0.5, log_loss=0.9, mae=None, rmse=None, r2=None)
    warehouse.write(schemas.BACKTEST_METRICS, rows)
    result = no_leakage_alarm(warehouse=warehouse)
    assert not result.passed and result.metadata["suspicious_rows"].value == 1
    warehouse.write(schemas.BACKTEST_METRICS, rows.assign(rps=0.2, accuracy=0.53))
    assert no_leakage_alarm(warehouse=warehouse).passed


def test_a_new_mlflow_store_is_a_copy_of_an_empty_one_with_its_own_default_experiment(tmp_path, monkeypatch):
    """A new sqlite store is seeded from the cache's empty store (no migrations), and ends up as MLflow makes one."""
    import sqlite3

    import mlflow

    monkeypatch.setenv("FPL_PLATFORM_CACHE", str(tmp_path / "cache"))  # a cold cache: the template is made here

    def schema(database: Path) -> dict:
        """Each table's and index's definition, as a set of lines (MLflow's migrations order constraints by chance)."""
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT name, sql FROM sqlite_master").fetchall()
        return {name: sorted(line.strip(" ,") for line in (sql or "").splitlines()) for name, sql in rows}

    made = tmp_path / "made" / "mlflow.db"  # by MLflow itself, migrations and all
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{made}").search_experiments()
    for name in ("first", "second"):  # the first makes the template, the second only copies it
        seeded = tmp_path / name / "mlflow.db"
        assert tracking.experiment_id(f"sqlite:///{seeded}", "match_outcome", str(tmp_path / name / "artifacts")) == "1"
        assert schema(seeded) == schema(made)
        experiments = mlflow.MlflowClient(tracking_uri=f"sqlite:///{seeded}").search_experiments()
        assert sorted(e.name for e in experiments) == ["Default", "match_outcome"]
        assert [e.artifact_location for e in experiments if e.name == "match_outcome"] == [
            (tmp_path / name / "artifacts" / "match_outcome").resolve().as_uri()
        ]
    assert [path.name for path in (tmp_path / "cache" / "mlflow").iterdir()] == [f"empty-store-{mlflow.__version__}.db"]
