"""What an operator sees of monitoring/drift and monitoring/performance, materialised twice against a small
synthetic warehouse and a real MLflow store: numeric metadata Dagster can plot, one severity everywhere, the
Evidently report behind a URL of the MLflow UI, every served gameweek with results scored, short log lines,
and a second run with unchanged inputs that changes no table and raises no alert."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from fpl_platform.lib import drift as drift_lib
from fpl_platform.lib import tracking
from fpl_platform.lib.features import MODEL_FEATURES
from fpl_platform.lib.player_model import FEATURES as PLAYER_FEATURES
from fpl_platform.resources import RunClock, Warehouse
from fpl_platform_tests.conftest import materialise, resources_for

MONITORING_TABLES = ("monitoring.drift", "monitoring.drift_reports", "monitoring.performance", "monitoring.alerts")
MLFLOW_UI = "http://mlflow.test:5055"
# match inputs moved by 1.5 σ over the last six gameweeks: 12 of 25 drift, a critical share (≥ 0.4)
SHIFTED_MATCH = [f for f in MODEL_FEATURES if not f.startswith("dc_")][:12]
# two player inputs the stand-in model ignores moved by 2 σ: critical features in a report that is not critical
SHIFTED_PLAYER = ["days_since_last", "price"]


class MatchStandIn:
    """Predicts the Dixon-Coles probabilities it is given (the served model's interface, nothing learnt)."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[["dc_p_home", "dc_p_draw", "dc_p_away"]].to_numpy()


class PlayerStandIn:
    """Predicts points from recent form only."""

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return 1.0 + 0.5 * frame["points_last_5"].to_numpy()


def _rounds(season: str, start: str) -> pd.DataFrame:
    kickoffs = pd.date_range(start, periods=38, freq="7D", tz="UTC")
    return pd.DataFrame({"season": season, "gameweek": np.arange(1, 39), "kickoff": kickoffs, "cutoff": kickoffs})


def synthetic_warehouse(warehouse: Warehouse, mlflow_uri: str, artifacts: str) -> None:
    """Two seasons of match and player features (the last six gameweeks shifted), a backtest season, the served
    predictions of 2025-26 gameweeks 33-38 (whose results are all in the features) and two champions."""
    import duckdb

    rng = np.random.default_rng(11)
    rounds = pd.concat([_rounds("2024-25", "2024-08-16 19:00"), _rounds("2025-26", "2025-08-15 19:00")], ignore_index=True)
    late = lambda frame: (frame["season"] == "2025-26") & (frame["gameweek"] >= 33)  # noqa: E731

    matches = rounds.loc[rounds.index.repeat(10)].reset_index(drop=True)
    matches["match_id"] = matches["season"] + ":" + matches["gameweek"].astype(str) + "-" + (matches.index % 10).astype(str)
    for feature in MODEL_FEATURES:
        matches[feature] = rng.normal(0, 1, len(matches))
    probabilities = rng.dirichlet([9, 5.5, 5.5], len(matches))
    matches[["dc_p_home", "dc_p_draw", "dc_p_away"]] = probabilities
    outcomes = np.array([rng.choice(3, p=p) for p in probabilities])
    matches["home_goals"], matches["away_goals"] = np.choose(outcomes, [2, 1, 0]), np.choose(outcomes, [0, 1, 2])
    matches.loc[late(matches), SHIFTED_MATCH] += 1.5

    players = rounds.loc[rounds.index.repeat(40)].reset_index(drop=True)
    players["player_id"] = players.index % 40
    players["match_id"] = (
        players["season"] + ":" + players["gameweek"].astype(str) + "-" + (players["player_id"] // 4).astype(str)
    )
    for feature in PLAYER_FEATURES:
        players[feature] = rng.normal(0, 1, len(players))
    players["points"] = np.round(PlayerStandIn().predict(players) + rng.normal(0, 2, len(players)))
    players["minutes"] = 90.0
    players.loc[late(players), SHIFTED_PLAYER] += 2.0

    backtest = matches[matches["season"] == "2024-25"].assign(model="ours")
    backtest[["p_home", "p_draw", "p_away"]] = backtest[["dc_p_home", "dc_p_draw", "dc_p_away"]]
    player_backtest = players[players["season"] == "2024-25"].assign(
        predicted_points=lambda f: PlayerStandIn().predict(f), actual_points=lambda f: f["points"]
    )
    served = matches[late(matches)].assign(model_version="1", predicted_at=pd.Timestamp("2026-05-01", tz="UTC"))
    served[["p_home", "p_draw", "p_away"]] = served[["dc_p_home", "dc_p_draw", "dc_p_away"]]
    # the served model is confidently wrong in gameweeks 37 and 38: the rolling RPS leaves the control limits
    wrong = served["gameweek"] >= 37
    served.loc[wrong, ["p_home", "p_draw", "p_away"]] = np.where(
        (served.loc[wrong, "home_goals"] > served.loc[wrong, "away_goals"]).to_numpy()[:, None],
        [0.02, 0.03, 0.95],
        [0.95, 0.03, 0.02],
    )
    served_players = players[late(players)].assign(
        predicted_points=lambda f: PlayerStandIn().predict(f),
        model_version="1",
        predicted_at=pd.Timestamp("2026-05-01", tz="UTC"),
    )
    cutoff = rounds.loc[(rounds["season"] == "2025-26") & (rounds["gameweek"] == 33), "cutoff"].iat[0]
    champion = pd.DataFrame({"version": ["1"], "data_cutoff": [cutoff], "alias": ["champion"]})
    with duckdb.connect(str(warehouse.file)) as connection:
        for schema in ("features", "ml", "predictions"):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, frame in {
            "features.match_features": matches,
            "features.player_features": players,
            "ml.match_backtest": backtest,
            "ml.player_backtest": player_backtest,
            "predictions.match_outcomes": served,
            "predictions.player_points": served_players,
            "ml.match_outcome_model": champion,
            "ml.player_points_model": champion,
        }.items():
            connection.register("frame", frame)
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            connection.unregister("frame")
    for name, model in (("match_outcome", MatchStandIn()), ("player_points", PlayerStandIn())):
        with tracking.training_run(mlflow_uri, name, artifacts, f"{name} stand-in", {}) as run_id:
            version = tracking.log_model(mlflow_uri, model, name, run_id=run_id)
        tracking.set_alias(mlflow_uri, name, "champion", version)


def _tables(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    out = {}
    for name in MONITORING_TABLES:
        frame = warehouse.read(f"SELECT * FROM {name}") if warehouse.exists(name) else pd.DataFrame()
        out[name] = frame.sort_values(list(frame.columns)[:4]).reset_index(drop=True) if len(frame) else frame
    return out


def _metadata(instance, key: list[str]) -> dict:
    return dict(instance.get_latest_materialization_event(dg.AssetKey(key)).asset_materialization.metadata)


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """The synthetic warehouse, monitoring/drift and monitoring/performance materialised, then materialised again."""
    home = tmp_path_factory.mktemp("monitoring_home")
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test() as instance:
        patch.setenv("FPL_PLATFORM_HOME", str(home))  # the Evidently HTML is written under it
        patch.setenv("FPL_PLATFORM_MLFLOW_UI", MLFLOW_UI)
        for name in ("FPL_PLATFORM_AS_OF", "FPL_PLATFORM_WAREHOUSE"):
            patch.delenv(name, raising=False)
        warehouse = Warehouse(path=str(home / "warehouse.duckdb"), analytics_path=str(home / "analytics.duckdb"))
        resources = resources_for(warehouse)
        mlflow = resources["mlflow_tracking"]
        synthetic_warehouse(warehouse, mlflow.uri, mlflow.artifacts)
        selection = ["monitoring/drift", "monitoring/performance"]
        first = materialise(selection, resources, instance)
        after_first = _tables(warehouse)
        first_metadata = {k: _metadata(instance, ["monitoring", k]) for k in ("drift", "performance")}
        second = materialise(selection, resources, instance)
        yield SimpleNamespace(
            home=home,
            instance=instance,
            warehouse=warehouse,
            resources=resources,
            mlflow=mlflow,
            runs=(first, second),
            tables=(after_first, _tables(warehouse)),
            metadata=(first_metadata, {k: _metadata(instance, ["monitoring", k]) for k in ("drift", "performance")}),
        )


def test_a_second_run_with_unchanged_inputs_changes_no_table_and_raises_no_alert(monitored):
    first, second = monitored.tables
    for name in MONITORING_TABLES:
        assert len(first[name]), f"{name} is empty: the comparison below would prove nothing"
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)
    reports = first["monitoring.drift_reports"]
    assert sorted(reports["model_name"]) == ["match_outcome", "player_points"]
    alerts = first["monitoring.alerts"]
    assert sorted(alerts["alert_key"]) == ["drift:match_outcome", "performance:match_outcome:emergency"]
    assert monitored.metadata[1]["drift"]["new_reports"].value == 0
    # the second run read the stored report: the same numbers, the same link
    for key, value in monitored.metadata[0]["drift"].items():
        if key.split("/")[-1] in ("drift_share", "max_psi", "severity", "report_id", "evidently_report"):
            assert monitored.metadata[1]["drift"][key] == value, key


def test_headline_numbers_are_numeric_metadata_under_stable_keys(monitored):
    for metadata in monitored.metadata:
        drift, performance = metadata["drift"], metadata["performance"]
        assert isinstance(drift["dagster/row_count"], dg.IntMetadataValue)
        assert isinstance(performance["dagster/row_count"], dg.IntMetadataValue)
        for model in ("match_outcome", "player_points"):
            for name in ("drift_share", "max_psi", "prediction_psi"):
                assert isinstance(drift[f"{model}/{name}"], dg.FloatMetadataValue), (model, name)
            for name in ("drifted_features", "critical_features", "features", "severity_level"):
                assert isinstance(drift[f"{model}/{name}"], dg.IntMetadataValue), (model, name)
            metric = "rps" if model == "match_outcome" else "rmse"
            for name in (metric, f"rolling_{metric}", "cusum", "centre", "warning_limit", "critical_limit"):
                assert isinstance(performance[f"{model}/{name}"], dg.FloatMetadataValue), (model, name)
            assert isinstance(performance[f"{model}/status_level"], dg.IntMetadataValue)
        # a plot and a table a person reads in the UI: legible, and no column pushed out of view
        assert performance["trend_match_outcome"].value.startswith("![match_outcome rps trend](data:image/png;base64,")
        # (Dagster's metadata column shows about 50 characters on a 1600 px screen)
        for table in (drift["player_points/top_drift"].value, performance["latest_served"].value):
            lines = table.splitlines()
            assert lines[0].count("|") == 5 and max(len(line) for line in lines) <= 56, table
        assert max(len(line.rstrip()) for line in drift["severity_rule"].value.splitlines()) <= 45


def test_every_served_gameweek_with_results_is_scored(monitored):
    """The predictions of 2025-26 gameweek 38 were served and its results are in the features: it is scored
    although the season's default as-of (a completed season's gameweek 37) lies before it."""
    performance = monitored.tables[0]["monitoring.performance"]
    served = performance[performance["source"] == "served"]
    for model in ("match_outcome", "player_points"):
        rows = served[served["model_name"] == model]
        assert sorted(rows["gameweek"]) == [33, 34, 35, 36, 37, 38] and set(rows["season"]) == {"2025-26"}
        metadata = monitored.metadata[0]["performance"]
        assert metadata[f"{model}/gameweek"].value == "2025-26:38"
    match = served[served["model_name"] == "match_outcome"].set_index("gameweek")
    assert match.loc[38, "status"] == "emergency"  # confidently wrong twice
    assert monitored.metadata[0]["performance"]["match_outcome/rolling_rps"].value == pytest.approx(match.loc[38, "rolling_rps"])


def test_one_severity_rule_across_reports_features_metadata_alerts_and_evidently(monitored):
    tables, metadata = monitored.tables[0], monitored.metadata[0]["drift"]
    reports = tables["monitoring.drift_reports"].set_index("model_name")
    features = tables["monitoring.drift"]
    thresholds = dict(psi_warning=0.1, psi_critical=0.25, ks_p_value=0.01, ks_statistic=0.1)
    for model in ("match_outcome", "player_points"):
        report = reports.loc[model]
        rows = features[features["model_name"] == model]
        inputs = rows[rows["feature"] != "prediction"]
        # each row's severity and flag follow the column rule
        for row in rows.itertuples():
            assert row.severity == drift_lib.column_severity(row.psi, row.ks_statistic, row.ks_p_value, **thresholds)
            assert row.drifted == (row.severity != "none")
        # the share is the share of drifted inputs; the report's severity follows from it and the prediction's PSI
        assert report["features"] == len(inputs) and report["drifted_features"] == inputs["drifted"].sum()
        assert report["drift_share"] == pytest.approx(inputs["drifted"].mean())
        prediction_psi = rows.loc[rows["feature"] == "prediction", "psi"].iat[0]
        assert report["prediction_psi"] == pytest.approx(prediction_psi)
        assert report["severity"] == drift_lib.severity(report["drift_share"], prediction_psi)
        # Evidently tested each input with the same rule: its verdicts, and so its count and share, are ours
        assert (inputs["evidently_drifted"] == inputs["drifted"]).all()
        assert (inputs["evidently_value"] == inputs["psi"]).all()
        # the metadata says the same
        assert metadata[f"{model}/severity"].value == report["severity"]
        assert metadata[f"{model}/drift_share"].value == pytest.approx(report["drift_share"])
        assert metadata[f"{model}/drifted_features"].value == report["drifted_features"]
        assert metadata[f"{model}/critical_features"].value == (inputs["severity"] == "critical").sum()
    assert reports.loc["match_outcome", "severity"] == "critical"
    assert set(SHIFTED_MATCH) <= set(features.loc[features["drifted"], "feature"])
    # critical features in a report that is not critical: the rule in the metadata says why
    assert reports.loc["player_points", "severity"] == "none"
    assert metadata["player_points/critical_features"].value >= len(SHIFTED_PLAYER)
    assert "Critical features alone do not make a critical report." in " ".join(metadata["severity_rule"].value.split())
    # the one alert: the critical report's, naming it
    [alert] = tables["monitoring.alerts"].query("alert_key == 'drift:match_outcome'").itertuples()
    assert reports.loc["match_outcome", "report_id"] in alert.message and alert.severity == "CRITICAL"


def test_the_evidently_report_opens_from_a_url_of_the_mlflow_ui(monitored):
    from mlflow import MlflowClient

    reports = monitored.tables[0]["monitoring.drift_reports"].set_index("model_name")
    client = MlflowClient(tracking_uri=monitored.mlflow.uri)
    for model in ("match_outcome", "player_points"):
        link = monitored.metadata[0]["drift"][f"{model}/evidently_report"]
        assert isinstance(link, dg.UrlMetadataValue)
        assert link.url == reports.loc[model, "html_report"]  # the table stores the same URL
        prefix = f"{MLFLOW_UI}/#/experiments/"
        assert link.url.startswith(prefix)
        experiment_id, _, run_id, _, artifact = link.url.removeprefix(prefix).split("/", 4)
        run = client.get_run(run_id)
        assert run.info.experiment_id == experiment_id and run.info.status == "FINISHED"
        assert client.get_experiment(experiment_id).name == "drift_reports"
        assert run.data.tags["report_id"] == reports.loc[model, "report_id"] and run.data.tags["model_name"] == model
        assert run.data.metrics["drift_share"] == pytest.approx(reports.loc[model, "drift_share"])
        html = Path(client.download_artifacts(run_id, artifact, str(monitored.home / f"download_{model}")))
        text = html.read_text()
        assert len(text) > 10_000 and "How fpl_platform reads this report" in text
        assert f"Severity: {reports.loc[model, 'severity']}." in text
    # one MLflow run per report: the second materialisation logged nothing new
    assert len(tracking.runs(monitored.mlflow.uri, "drift_reports")) == 2


def test_log_lines_are_short(monitored):
    for result in monitored.runs:
        messages = [
            entry.user_message
            for entry in monitored.instance.all_logs(result.run_id)
            if entry.dagster_event is None and entry.step_key in ("monitoring__drift", "monitoring__performance")
        ]
        assert messages, "the assets logged nothing"
        assert max(len(m) for m in messages) <= 90, max(messages, key=len)


def test_the_drift_sensor_acts_once_on_a_report_the_second_run_did_not_append(monitored):
    from fpl_platform.defs.training.sensors import drift_retrain_sensor
    from fpl_platform_tests.test_automation_sensors import tick

    resources = {"warehouse": monitored.warehouse, "notifier": monitored.resources["notifier"], "clock": RunClock()}
    report_id = monitored.tables[1]["monitoring.drift_reports"].set_index("model_name").loc["match_outcome", "report_id"]
    evaluation = tick(drift_retrain_sensor, monitored.instance, None, **resources)
    [request] = evaluation.run_requests
    assert request.run_key == f"drift-match_outcome-{report_id}"
    again = tick(drift_retrain_sensor, monitored.instance, evaluation.cursor, **resources)
    assert not again.run_requests


def test_nothing_trained_or_served_reads_the_performance_table():
    """monitoring.performance scores served predictions against results; it is evaluation only: no feature,
    training or prediction asset depends on it, and no module behind them reads it."""
    from fpl_platform.definitions import defs
    from fpl_platform_tests.conftest import REPO

    graph = defs.resolve_asset_graph()
    performance = dg.AssetKey(["monitoring", "performance"])
    for key in graph.get_all_asset_keys():
        if key.path[0] in ("raw", "features", "ml", "predictions"):
            upstream = dg.AssetSelection.assets(key).upstream().resolve(graph)
            assert performance not in upstream, key
    readers = [
        *(REPO / "fpl_platform" / "defs" / domain for domain in ("ingestion", "features", "training", "serving")),
        *(
            REPO / "fpl_platform" / "lib" / f"{name}.py"
            for name in ("features", "match_model", "player_model", "gate", "ratings")
        ),
    ]
    for path in readers:
        # training's retrain sensor reads monitoring's evidence to decide when to retrain, never what to fit on
        for source in [path] if path.is_file() else sorted(p for p in path.glob("*.py") if p.name != "sensors.py"):
            assert "monitoring.performance" not in source.read_text(), source
